#!/usr/bin/env bash
# Upload: throughput and the server's peak memory for one large multipart upload
# (default 1 GiB; UPLOAD_MB to change). Reference: cp of the same file on the same disk, with
# sync, measured in the same run. Goal: the upload grows the server's memory by a few MB at most.
source "$(dirname "$0")/bench_lib.sh"
mb="${UPLOAD_MB:-1024}"
start_server --access-log off
head -c "$((mb * 1024 * 1024))" /dev/urandom >"$BENCH_TMP/big.bin"
sync
before_kb="$(hwm_kb "$SERVER_PID")"
t0="$(date +%s.%N)"
code="$(curl -s -o "$BENCH_TMP/resp.json" -w '%{http_code}' -H "Authorization: Bearer $KEY" \
  -H "X-Tenant-Id: t_bench" -H "X-Env: dev" -F file=@"$BENCH_TMP/big.bin" "$BASE/media-v2/assets")"
t1="$(date +%s.%N)"
after_kb="$(hwm_kb "$SERVER_PID")"
[ "$code" = "201" ] || { echo "upload failed: HTTP $code $(cat "$BENCH_TMP/resp.json")" >&2; exit 1; }
sha_server="$(grep -o '"sha256":"[0-9a-f]*"' "$BENCH_TMP/resp.json" | cut -d'"' -f4)"
t2="$(date +%s.%N)"
cp "$BENCH_TMP/big.bin" "$BENCH_TMP/copy.bin" && sync
t3="$(date +%s.%N)"
sha_local="$(sha256sum "$BENCH_TMP/big.bin" | cut -d' ' -f1)"
awk -v mb="$mb" -v up="$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" \
    -v cp="$(awk -v a="$t2" -v b="$t3" 'BEGIN {print b - a}')" \
    -v b="$before_kb" -v a="$after_kb" -v ok="$([ "$sha_server" = "$sha_local" ] && echo yes || echo NO)" 'BEGIN {
  printf "upload_bench: one %d MiB multipart upload over loopback (curl -F)\n", mb
  printf "  upload: %.2f s, %.0f MiB/s (sha256 matches: %s)\n", up, mb / up, ok
  printf "  reference cp + sync of the same file: %.2f s, %.0f MiB/s\n", cp, mb / cp
  printf "  ratio upload/cp throughput: %.2f\n", cp / up
  printf "  server peak RSS: %.1f MiB before, %.1f MiB after; growth %.1f MiB (goal: a few MiB)\n", b / 1024, a / 1024, (a - b) / 1024
}'
