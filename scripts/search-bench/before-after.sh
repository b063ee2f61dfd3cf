#!/usr/bin/env bash
# chat.search on a seeded SQLite dataset (BENCHMARKS.md, "Issue 13"):
# two server builds one after the other on the same data, typical and hard
# searches each, then the store-only ceiling, back to back.
#
#   scripts/search-bench/before-after.sh DATA BEFORE_BIN AFTER_BIN [OUT]
#
# DATA: a `threadsync seed` directory (with manifest.json); the binaries:
# `threadsync` builds to compare. `threadsync-load` and
# `threadsync-search-ceiling` come from target/release.
set -u
DATA=$1 BEFORE=$2 AFTER=$3 OUT=${4:-target/search-bench}
LOAD=target/release/threadsync-load CEILING=target/release/threadsync-search-ceiling
mkdir -p "$OUT"
run_server() { # name binary
  ADMIN_USERNAME=admin ADMIN_PASS=unused ADMIN_EMAIL=a@example.com RUST_LOG=warn \
    "$2" serve --listen 127.0.0.1:0 --data "$DATA" > "$OUT/$1-server.out" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do grep -q "^listening on" "$OUT/$1-server.out" && break; sleep 0.2; done
  local url
  url=$(sed -n 's/^listening on //p' "$OUT/$1-server.out")
  for mode in typical hard; do
    local extra=""
    [ "$mode" = hard ] && extra="--search-top 100"
    # shellcheck disable=SC2086
    "$LOAD" --target "$url" --manifest "$DATA/manifest.json" --scenario search --connections 16 \
      --duration 30 --warmup 5 --server-pid $pid $extra > "$OUT/$1-$mode.txt" 2>&1
  done
  kill $pid; wait $pid 2>/dev/null
}
uptime > "$OUT/uptime.txt"
run_server before "$BEFORE"
run_server after "$AFTER"
for mode in typical hard; do
  extra=""
  [ "$mode" = hard ] && extra="--search-top 100"
  # shellcheck disable=SC2086
  "$CEILING" --db "$DATA/threadsync.db" --manifest "$DATA/manifest.json" --threads 16 \
    --duration 30 --warmup 5 $extra > "$OUT/ceiling-$mode.txt" 2>&1
done
uptime >> "$OUT/uptime.txt"
grep -hE "search ceiling:|chat.search " "$OUT"/*.txt
