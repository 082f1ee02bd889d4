#!/usr/bin/env bash
# API throughput: GET /media-v2/assets/{id} (API key check, SQLite read of the asset and its
# artifacts, JSON) with wrk on loopback, 64 connections, 2 threads; reference: GET /healthz on
# the same server in the same run (the HTTP stack alone). Goal: >= 15,000 req/s, p99 < 10 ms.
#   BENCH_DURATION=10 (seconds per run)
source "$(dirname "$0")/bench_lib.sh"
dur="${BENCH_DURATION:-10}"
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 2; }
start_server --access-log "${BENCH_ACCESS_LOG:-off}" --http-threads 96
ffmpeg -v error -f lavfi -i testsrc2=d=1:s=320x240:r=25 -f lavfi -i sine=d=1 -c:v libx264 -c:a aac \
  "$BENCH_TMP/v.mp4"
id="$(curl -s -H "Authorization: Bearer $KEY" -H "X-Tenant-Id: t_bench" -H "X-Env: dev" \
  -F file=@"$BENCH_TMP/v.mp4" "$BASE/media-v2/assets" | grep -o '"id":"ast_[a-z0-9]*"' | head -1 | cut -d'"' -f4)"
[ -n "$id" ] || { echo "upload failed" >&2; cat "$BENCH_TMP/server.err" >&2; exit 1; }

run_wrk() {  # url -> "req_per_s p99_ms"
  wrk -t2 -c64 -d"${dur}s" --latency -H "Authorization: Bearer $KEY" -H "X-Tenant-Id: t_bench" \
    -H "X-Env: dev" "$1" >"$BENCH_TMP/wrk.out"
  local rps p99
  rps="$(awk '/^Requests\/sec:/ {print $2}' "$BENCH_TMP/wrk.out")"
  p99="$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; print v}' "$BENCH_TMP/wrk.out")"
  local errors
  errors="$(awk '/Non-2xx|Socket errors/ {print}' "$BENCH_TMP/wrk.out")"
  [ -z "$errors" ] || echo "  wrk reported: $errors" >&2
  echo "$rps $p99"
}

read -r ref_rps ref_p99 < <(run_wrk "$BASE/healthz")
read -r rps p99 < <(run_wrk "$BASE/media-v2/assets/$id")
awk -v nproc="$(nproc)" -v rps="$rps" -v p99="$p99" -v rrps="$ref_rps" -v rp99="$ref_p99" -v d="$dur" 'BEGIN {
  printf "api_bench: GET /media-v2/assets/{id}, wrk -t2 -c64 -d%ss, loopback, %s cores\n", d, nproc
  printf "  GET /media-v2/assets/{id}: %.0f req/s, p99 %.2f ms\n", rps, p99
  printf "  reference GET /healthz:    %.0f req/s, p99 %.2f ms\n", rrps, rp99
  printf "  ratio asset/healthz: %.2f of the reference throughput\n", rps / rrps
  printf "  goal >= 15000 req/s: %.2fx of goal (%s); goal p99 < 10 ms: %s\n", rps / 15000, (rps >= 15000 ? "met" : "NOT met"), (p99 < 10 ? "met" : "NOT met")
}'
