# Shared helpers for the shell benchmarks: start a real `atomcut serve` on a free loopback port
# with a fresh data dir, create an API key, stop it on exit.
set -euo pipefail
bench_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ATOMCUT_BIN="${ATOMCUT_BIN:-$bench_root/build/atomcut}"
[ -x "$ATOMCUT_BIN" ] || { echo "build first: bash scripts/setup.sh" >&2; exit 2; }
BENCH_TMP="$(mktemp -d /tmp/atomcut-bench-XXXXXX)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$BENCH_TMP"
}
trap cleanup EXIT

# start_server [extra serve flags...]: sets PORT, KEY, SERVER_PID, BASE, AUTH_HEADERS.
start_server() {
  "$ATOMCUT_BIN" serve --listen 127.0.0.1:0 --port-file "$BENCH_TMP/port" \
    --data-dir "$BENCH_TMP/data" "$@" >"$BENCH_TMP/server.out" 2>"$BENCH_TMP/server.err" &
  SERVER_PID=$!
  for _ in $(seq 1 300); do [ -s "$BENCH_TMP/port" ] && break; sleep 0.02; done
  PORT="$(cat "$BENCH_TMP/port")"
  BASE="http://127.0.0.1:$PORT"
  KEY="$("$ATOMCUT_BIN" keys create --tenant t_bench --env dev --data-dir "$BENCH_TMP/data" | awk 'END {print $NF}')"
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
