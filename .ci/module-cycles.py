#!/usr/bin/env python3
"""Fails when understudy's library modules import each other in a cycle.

Reads every file under src/ that belongs to the library (src/lib.rs and the modules it
declares; the binary's files are left out), collects the paths each one names through
`crate::…` and `super::…` (in `use` lines and in code, `#[cfg(test)]` modules left out: a unit
test may reach anywhere), resolves each to the module that defines it, and looks for cycles in
the graph of modules. Two kinds of edge are checked:

- between files (`scenario::compile` -> `scenario::load`): every cycle is reported;
- a parent module's own file counts as the folder's front door, so `http` -> `http::answer` is
  normal, but a child importing its parent's items and the parent importing the child is a
  cycle like any other.

Usage: .ci/module-cycles.py [SRC_DIR]    (exit 1 and one line per cycle when there are any)
"""

import os
import re
import sys

SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "src")

# Files of the binary (src/main.rs and the cli/ folder it declares) are not library modules.
BINARY = {"main", "cli"}


def modules(src):
    """Module path (tuple) -> file, for every .rs file of the library."""
    found = {}
    for root, _, files in os.walk(src):
        for name in files:
            if not name.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(root, name), src)[:-3].split(os.sep)
            if rel[-1] == "mod":
                rel = rel[:-1]
            if rel == ["lib"]:
                rel = []
            if rel and rel[0] in BINARY:
                continue
            found[tuple(rel)] = os.path.join(root, name)
    return found


def strip_tests(text):
    """The text without `#[cfg(test)] mod … { … }` blocks and comments."""
    text = re.sub(r"//[^\n]*", "", text)
    out = []
    i = 0
    pattern = re.compile(r"#\[cfg\(test\)\]\s*(pub(\([^)]*\))?\s+)?mod\s+\w+\s*\{")
    while True:
        m = pattern.search(text, i)
        if not m:
            out.append(text[i:])
            break
        out.append(text[i : m.start()])
        depth = 1
        j = m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    return "".join(out)


def expand_braces(path):
    """`a::{b, c::d}` -> [`a::b`, `a::c::d`] (one level is enough for module resolution)."""
    m = re.match(r"^(.*?)\{(.*)\}$", path)
    if not m:
        return [path]
    head, body = m.group(1), m.group(2)
    parts, depth, cur = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        p = p.strip()
        if p:
            out.extend(expand_braces(head + p))
    return out


def references(text):
    """Every `crate::…` or `super::…` path named in the text."""
    refs = []
    for m in re.finditer(r"\buse\s+((?:crate|super)(?:::[\w{}, :*]+?)?)\s*;", text, re.S):
        refs.extend(expand_braces(re.sub(r"\s+", "", m.group(1))))
    for m in re.finditer(r"\b((?:crate|super)(?:::(?:super|\w+))+)", text):
        refs.append(m.group(1))
    return refs


def resolve(ref, here, known):
    """The module a path lands in, seen from module `here` (a file's module path)."""
    parts = ref.replace(" ", "").split("::")
    if parts[0] == "crate":
        base, rest = [], parts[1:]
    else:
        base = list(here)
        rest = parts
        while rest and rest[0] == "super":
            base = base[:-1]
            rest = rest[1:]
    target = tuple(base)
    for p in rest:
        if p in ("self", "*", ""):
            break
        if target + (p,) in known:
            target = target + (p,)
        else:
            break
    return target


def main():
    known = modules(SRC)
    graph = {m: set() for m in known}
    for mod, path in known.items():
        with open(path, encoding="utf-8") as f:
            text = strip_tests(f.read())
        for ref in references(text):
            target = resolve(ref, mod, known)
            # A module naming its own descendants (declaring or re-exporting them) is the
            # folder's front door, not a dependency.
            if target != mod and target[: len(mod)] != mod:
                graph[mod].add(target)
    cycles = []
    index, low, stack, on = {}, {}, [], set()
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    name = lambda m: "crate::" + "::".join(m) if m else "crate"
    edges = sum(len(e) for e in graph.values())
    if cycles:
        for comp in cycles:
            members = set(comp)
            inner = [
                f"{name(a)} -> {name(b)}" for a in comp for b in sorted(graph[a]) if b in members
            ]
            print("import cycle among " + ", ".join(name(m) for m in comp) + ":")
            for e in inner:
                print("    " + e)
        sys.exit(1)
    print(f"no import cycles: {len(graph)} library modules, {edges} imports between them")


if __name__ == "__main__":
    main()
