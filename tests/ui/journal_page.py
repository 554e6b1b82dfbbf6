#!/usr/bin/env python3
"""The live journal page in a real browser: headless Chromium driven by Selenium through the
page's data-testids, against running understudy servers.

Run by tests/it/ui.rs (`the_journal_page_works_in_a_real_browser`), which starts the servers:

  --base URL         a server without an admin token, serving tests/it/ui.rs's `users` scenario
                     and started with --journal-size 20000
  --token-base URL   a server started with --admin-token TOKEN (same scenario)
  --token TOKEN      that token
  --screenshots DIR  where to write PNG screenshots (a CI artifact)
  --chromedriver P   chromedriver binary;  --chromium P  the browser binary

Prints `ok: STEP` per passed step, `measure: …` lines, and `ALL OK` last; exits non-zero with
the reason otherwise.
"""

import argparse
import json
import os
import sys
import threading
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

# Hang guards, not timing assertions: the contract's "within a second" is measured and
# checked separately (LIVE_BOUND).
WAIT = 10.0
LIVE_BOUND = 1.0


def tid(name):
    return f'[data-testid="{name}"]'


def send(base, method, path, body=None, headers=None, token=None):
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers or {})
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def admin_json(base, method, path, body=None, token=None):
    status, raw = send(base, method, "/__understudy/admin" + path,
                       None if body is None else json.dumps(body), token=token)
    return status, json.loads(raw or b"null")


def wait_for(what, probe, timeout=WAIT):
    """Polls `probe` until it returns something truthy; returns it and the seconds it took."""
    start = time.monotonic()
    last_err = None
    while time.monotonic() - start < timeout:
        try:
            got = probe()
            if got:
                return got, time.monotonic() - start
        except Exception as err:  # stale elements while the list redraws
            last_err = err
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last error: {last_err!r})")


def rows(driver):
    return driver.find_elements(By.CSS_SELECTOR, tid("journal-row"))


def row_facts(row):
    def part(name):
        return row.find_element(By.CSS_SELECTOR, tid(name)).text.strip()
    return {
        "method": part("row-method"),
        "path": part("row-path"),
        "status": part("row-status"),
        "route": part("row-route"),
    }


def first_row_with(driver, **want):
    for row in rows(driver):
        facts = row_facts(row)
        if all(facts.get(k) == v for k, v in want.items()):
            return row
    return None


def scenario_state(driver, name):
    for row in driver.find_elements(By.CSS_SELECTOR, tid("scenario-row")):
        if row.find_element(By.CSS_SELECTOR, tid("scenario-name")).text.strip() == name:
            return row.find_element(By.CSS_SELECTOR, tid("scenario-state")).text.strip()
    return None


def scenario_row(driver, name):
    for row in driver.find_elements(By.CSS_SELECTOR, tid("scenario-row")):
        if row.find_element(By.CSS_SELECTOR, tid("scenario-name")).text.strip() == name:
            return row
    raise AssertionError(f"no scenario-row for {name}")


def wait_live(driver):
    wait_for("the live indicator", lambda: driver.find_element(By.CSS_SELECTOR, tid("live-status")).text == "Live")


def ok(step):
    print(f"ok: {step}", flush=True)


def shot(driver, out, name):
    path = os.path.join(out, name)
    driver.save_screenshot(path)
    print(f"screenshot: {path}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--token-base", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--screenshots", required=True)
    ap.add_argument("--chromedriver", required=True)
    ap.add_argument("--chromium", required=True)
    ap.add_argument("--rows", type=int, default=10000)
    args = ap.parse_args()
    os.makedirs(args.screenshots, exist_ok=True)
    base, page = args.base, args.base + "/__understudy/ui"

    opts = webdriver.ChromeOptions()
    opts.binary_location = args.chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1360,900", "--hide-scrollbars", "--force-color-profile=srgb",
                 "--no-first-run", "--disable-extensions", "--lang=en-US"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(args.chromedriver), options=opts)
    driver.set_page_load_timeout(30)
    try:
        run(driver, args, base, page)
    finally:
        driver.quit()
    print("ALL OK", flush=True)


def run(driver, args, base, page):
    # -- rows appear live, newest first ------------------------------------------------------
    driver.get(page)
    wait_live(driver)
    sent = time.monotonic()
    assert send(base, "GET", "/users/42")[0] == 200
    row, _ = wait_for("the /users/42 row", lambda: first_row_with(driver, path="/users/42"))
    took = time.monotonic() - sent
    print(f"measure: a request shows as a row {took * 1000:.0f} ms after it was sent", flush=True)
    assert took < LIVE_BOUND, f"row took {took:.3f} s"
    facts = row_facts(row)
    assert facts == {"method": "GET", "path": "/users/42", "status": "200", "route": "users/ada"}, facts
    ok("a request shows as a row within a second, with method, path, status and route")

    assert send(base, "POST", "/users?dry=1", '{"nam":"Bob"}', {"Content-Type": "application/json"})[0] == 404
    wait_for("the unmatched row on top", lambda: row_facts(rows(driver)[0])["route"] == "UNMATCHED")
    top = row_facts(rows(driver)[0])
    assert top["method"] == "POST" and top["status"] == "404", top
    assert top["path"] == "/users?dry=1", top
    ok("newest first; an unmatched request says UNMATCHED")

    # -- details ------------------------------------------------------------------------------
    rows(driver)[0].find_element(By.CSS_SELECTOR, ".summary").click()
    misses, _ = wait_for("near misses", lambda: driver.find_elements(By.CSS_SELECTOR, tid("near-miss")))
    texts = [m.text for m in misses]
    assert any("users/create" in t and "json" in t for t in texts), texts
    body = driver.find_element(By.CSS_SELECTOR, tid("request-body")).text
    assert json.loads(body) == {"nam": "Bob"} and "\n" in body, body
    resp = driver.find_element(By.CSS_SELECTOR, tid("detail-response")).text
    assert "404" in resp and "no route matched" in resp, resp
    ok("an unmatched row opens its body (pretty JSON), the 404 sent and its near misses")

    matched = first_row_with(driver, path="/users/42")
    matched.find_element(By.CSS_SELECTOR, ".summary").click()
    body, _ = wait_for("the response body", lambda: driver.find_element(By.CSS_SELECTOR, tid("response-body")).text)
    assert json.loads(body) == {"id": 42, "name": "Ada"} and "\n" in body, body
    headers = driver.find_element(By.CSS_SELECTOR, tid("detail-response")).text
    assert "content-type" in headers and "application/json" in headers, headers
    assert not driver.find_elements(By.CSS_SELECTOR, tid("near-miss")), "one detail open at a time"
    driver.find_element(By.CSS_SELECTOR, tid("copy-curl")).click()
    wait_for("copy feedback", lambda: driver.find_element(By.CSS_SELECTOR, ".actions .note").text)
    cmd = driver.execute_script("return document.querySelector('[data-testid=curl-command]').textContent")
    assert cmd.startswith("curl ") and "/users/42" in cmd, cmd
    ok("a matched row opens the response sent (status, headers, pretty JSON body) and copies as curl")

    # The screenshot docs/ui.md shows: a few kinds of rows, an unmatched one open.
    send(base, "POST", "/users", '{"name":"Ada"}', {"Content-Type": "application/json"})
    send(base, "GET", "/users/42?fields=name,email", headers={"Accept": "application/json"})
    send(base, "DELETE", "/users/7")
    send(base, "GET", "/users/42")
    wait_for("six rows", lambda: len(rows(driver)) >= 6)
    first_row_with(driver, path="/users?dry=1").find_element(By.CSS_SELECTOR, ".summary").click()
    wait_for("near misses", lambda: driver.find_elements(By.CSS_SELECTOR, tid("near-miss")))
    driver.execute_script("window.scrollTo(0, 0)")
    shot(driver, args.screenshots, "journal-wide.png")

    # binary and truncated bodies
    send(base, "POST", "/bin", bytes(range(256)) * 2, {"Content-Type": "application/octet-stream"})
    row, _ = wait_for("the binary row", lambda: first_row_with(driver, path="/bin"))
    row.find_element(By.CSS_SELECTOR, ".summary").click()
    detail, _ = wait_for("the binary detail", lambda: driver.find_element(By.CSS_SELECTOR, tid("detail-request")).text)
    assert "base64" in detail and "Truncated" in detail, detail
    ok("a binary body shows as base64 and a cut body is marked truncated")

    # -- keyboard -----------------------------------------------------------------------------
    driver.find_element(By.CSS_SELECTOR, "body").send_keys(Keys.ESCAPE)
    wait_for("the detail to close", lambda: not driver.find_elements(By.CSS_SELECTOR, tid("detail")))
    first = rows(driver)[0].find_element(By.CSS_SELECTOR, ".summary")
    driver.execute_script("arguments[0].focus()", first)
    wait_for("the first row focused", lambda: driver.execute_script(
        "return document.activeElement === arguments[0]", first))
    first.send_keys(Keys.ARROW_DOWN)
    second = rows(driver)[1].get_attribute("data-id")
    wait_for("the second row focused", lambda: driver.execute_script(
        "return document.activeElement.parentElement.dataset.id") == second)
    active = driver.switch_to.active_element
    active.send_keys(Keys.ENTER)
    wait_for("the detail of the second row", lambda: rows(driver)[1].find_elements(By.CSS_SELECTOR, tid("detail")))
    driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait_for("the detail to close", lambda: not driver.find_elements(By.CSS_SELECTOR, tid("detail")))
    ok("rows are keyboard navigable (arrows, Enter, Escape)")

    # -- scenarios ----------------------------------------------------------------------------
    state, _ = wait_for("users in state seen", lambda: scenario_state(driver, "users") == "seen")
    broken = scenario_row(driver, "broken")
    assert "error" in broken.find_element(By.CSS_SELECTOR, tid("scenario-file-status")).text
    assert broken.find_element(By.CSS_SELECTOR, tid("scenario-errors")).text.strip()
    ok("scenarios are listed with their state, file status and errors")

    assert admin_json(base, "POST", "/scenarios/users/reset")[0] == 200
    wait_for("users back in start", lambda: scenario_state(driver, "users") == "start")
    sent = time.monotonic()
    send(base, "GET", "/users/42")
    wait_for("users in seen again", lambda: scenario_state(driver, "users") == "seen")
    took = time.monotonic() - sent
    print(f"measure: a state changed by a request shows {took * 1000:.0f} ms later", flush=True)
    assert took < LIVE_BOUND, took
    ok("a state changed by a request shows within a second")

    row = scenario_row(driver, "users")
    box = row.find_element(By.CSS_SELECTOR, tid("scenario-state-input"))
    box.send_keys("checked-out")
    row.find_element(By.CSS_SELECTOR, tid("scenario-set-state")).click()
    wait_for("users in checked-out", lambda: scenario_state(driver, "users") == "checked-out")
    assert admin_json(base, "GET", "/scenarios/users")[1]["state"] == "checked-out"
    scenario_row(driver, "users").find_element(By.CSS_SELECTOR, tid("scenario-reset")).click()
    wait_for("users reset to start", lambda: scenario_state(driver, "users") == "start")
    assert admin_json(base, "GET", "/scenarios/users")[1]["state"] == "start"
    ok("the page sets a scenario's state and resets it")

    # -- filters in the URL ---------------------------------------------------------------------
    driver.find_element(By.CSS_SELECTOR, tid("filter-unmatched")).click()
    wait_for("only unmatched rows", lambda: rows(driver) and all(row_facts(r)["route"] == "UNMATCHED" for r in rows(driver)))
    assert "unmatched=1" in driver.current_url, driver.current_url
    send(base, "GET", "/users/42")
    send(base, "GET", "/nowhere")
    wait_for("the new unmatched row", lambda: first_row_with(driver, path="/nowhere"))
    assert all(row_facts(r)["route"] == "UNMATCHED" for r in rows(driver))
    driver.refresh()
    wait_live(driver)
    wait_for("rows after the reload", lambda: rows(driver))
    assert driver.find_element(By.CSS_SELECTOR, tid("filter-unmatched")).is_selected()
    shown = [row_facts(r) for r in rows(driver)]
    assert shown and all(f["route"] == "UNMATCHED" for f in shown), shown
    ok("the unmatched filter hides matched rows and survives a reload through the URL")

    driver.find_element(By.CSS_SELECTOR, tid("filter-unmatched")).click()
    Select(driver.find_element(By.CSS_SELECTOR, tid("filter-method"))).select_by_value("POST")
    wait_for("only POST rows", lambda: rows(driver) and all(row_facts(r)["method"] == "POST" for r in rows(driver)))
    Select(driver.find_element(By.CSS_SELECTOR, tid("filter-method"))).select_by_value("")
    driver.find_element(By.CSS_SELECTOR, tid("filter-route")).send_keys("users")
    wait_for("only users rows", lambda: rows(driver) and all(row_facts(r)["route"].startswith("users/") for r in rows(driver)))
    assert "route=users" in driver.current_url
    driver.find_element(By.CSS_SELECTOR, tid("filter-route")).clear()
    driver.find_element(By.CSS_SELECTOR, tid("filter-route")).send_keys(Keys.BACKSPACE)
    driver.find_element(By.CSS_SELECTOR, tid("filter-text")).send_keys("nowhere")
    wait_for("only the /nowhere row", lambda: [row_facts(r)["path"] for r in rows(driver)] == ["/nowhere"])
    assert "q=nowhere" in driver.current_url
    driver.get(page)
    wait_live(driver)
    ok("method, route and text filters work and live in the URL")

    # -- pause and clear --------------------------------------------------------------------------
    wait_for("rows", lambda: rows(driver))
    driver.find_element(By.CSS_SELECTOR, tid("pause")).click()
    send(base, "GET", "/while-paused")
    time.sleep(0.6)
    assert not first_row_with(driver, path="/while-paused")
    assert "1 new" in driver.find_element(By.CSS_SELECTOR, tid("live-status")).text
    driver.find_element(By.CSS_SELECTOR, tid("pause")).click()
    wait_for("the paused row", lambda: first_row_with(driver, path="/while-paused"))
    driver.find_element(By.CSS_SELECTOR, tid("clear")).click()
    wait_for("an empty view", lambda: not rows(driver))
    send(base, "GET", "/after-clear")
    wait_for("the row after clear", lambda: [row_facts(r)["path"] for r in rows(driver)] == ["/after-clear"])
    ok("pause holds new rows back until resumed; clear empties the view")

    # -- small and dark screens ---------------------------------------------------------------------
    driver.get(page)
    wait_live(driver)
    wait_for("rows", lambda: rows(driver))
    driver.set_window_size(375, 812)
    width = driver.execute_script("return document.documentElement.clientWidth")
    wait_for("no sideways scrolling at 375 px",
             lambda: driver.execute_script("return document.documentElement.scrollWidth") <= width + 1)
    first_row_with(driver, path="/users?dry=1").find_element(By.CSS_SELECTOR, ".summary").click()
    wait_for("near misses", lambda: driver.find_elements(By.CSS_SELECTOR, tid("near-miss")))
    assert driver.execute_script("return document.documentElement.scrollWidth") <= width + 1
    shot(driver, args.screenshots, "journal-375px.png")
    ok("the page fits 375 px without sideways scrolling")
    driver.set_window_size(1360, 900)
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    bg = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
    shot(driver, args.screenshots, "journal-dark.png")
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "light"}]})
    bg_light = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
    assert bg != bg_light, (bg, bg_light)
    ok("dark and light follow prefers-color-scheme")

    # -- 10,000 rows ------------------------------------------------------------------------------
    many(driver, base, args.rows)

    # -- the admin token --------------------------------------------------------------------------
    token_flow(driver, args)


def many(driver, base, n):
    started = time.monotonic()
    per = n // 8

    def worker(k):
        import http.client
        host = base.split("//", 1)[1]
        conn = http.client.HTTPConnection(host, timeout=10)
        for i in range(per):
            path = f"/bulk/{k}/{i}" if i % 10 else f"/users/42?bulk={k}-{i}"
            conn.request("GET", path)
            conn.getresponse().read()
        conn.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = per * 8
    print(f"measure: sent {total} requests in {time.monotonic() - started:.1f} s", flush=True)
    count = driver.find_element(By.CSS_SELECTOR, tid("journal-count"))
    _, took = wait_for(f"{total} more rows counted", lambda: int(count.text.split()[-1]) >= total, timeout=60)
    print(f"measure: the page counted them {took * 1000:.0f} ms after the last was answered", flush=True)
    drawn = len(rows(driver))
    assert drawn <= 400, f"{drawn} rows drawn"
    box = driver.find_element(By.CSS_SELECTOR, tid("filter-unmatched"))
    ms = driver.execute_script(
        "const t = performance.now(); arguments[0].click(); return performance.now() - t;", box)
    print(f"measure: the unmatched filter over {count.text} entries redrew in {ms:.0f} ms", flush=True)
    assert ms < 1000, ms
    ms_back = driver.execute_script(
        "const t = performance.now(); arguments[0].click(); return performance.now() - t;", box)
    print(f"measure: and back in {ms_back:.0f} ms", flush=True)
    older = driver.find_element(By.CSS_SELECTOR, tid("load-older"))
    before = len(rows(driver))
    older.click()
    wait_for("older rows", lambda: len(rows(driver)) > before)
    ok(f"{total} rows: a capped list with a load-older control stays responsive")


def token_flow(driver, args):
    page = args.token_base + "/__understudy/ui"
    send(args.token_base, "GET", "/users/42")
    driver.get(page)
    box, _ = wait_for("the token prompt", lambda: driver.find_element(By.CSS_SELECTOR, tid("token-input")))
    assert box.is_displayed()
    assert not rows(driver) and not driver.find_elements(By.CSS_SELECTOR, tid("scenario-row"))
    assert not driver.find_element(By.ID, "app").is_displayed()
    box.send_keys("wrong-token", Keys.ENTER)
    wait_for("the refusal", lambda: driver.find_element(By.CSS_SELECTOR, tid("token-error")).text)
    assert not rows(driver)
    ok("with --admin-token, nothing shows before the token is given; a wrong one is refused")

    box = driver.find_element(By.CSS_SELECTOR, tid("token-input"))
    box.send_keys(args.token, Keys.ENTER)
    wait_live(driver)
    wait_for("the row", lambda: first_row_with(driver, path="/users/42"))
    wait_for("the scenario", lambda: scenario_state(driver, "users") == "seen")
    send(args.token_base, "GET", "/token-live")
    wait_for("a live row", lambda: first_row_with(driver, path="/token-live"))
    row = scenario_row(driver, "users")
    row.find_element(By.CSS_SELECTOR, tid("scenario-reset")).click()
    wait_for("reset with the token", lambda: scenario_state(driver, "users") == "start")
    seen = driver.execute_script(
        "return [location.href, JSON.stringify(Object.assign({}, localStorage)),"
        " JSON.stringify(Object.assign({}, sessionStorage)), document.cookie,"
        " performance.getEntries().map(e => e.name).join(' ')]")
    for where, text in zip(["URL", "localStorage", "sessionStorage", "cookies", "fetched URLs"], seen):
        assert args.token not in text, f"the token is in {where}: {text[:300]}"
    assert seen[1] == "{}" and seen[2] == "{}", seen
    shot(driver, args.screenshots, "journal-token.png")
    ok("the token unlocks the page, travels as a header and never lands in a URL or storage")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as err:
        print(f"FAILED: {err}", file=sys.stderr, flush=True)
        raise
