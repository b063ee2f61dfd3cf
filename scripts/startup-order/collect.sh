#!/usr/bin/env bash
# Regenerates crates/threadsync/startup-order.txt: the functions the server
# runs from `serve` until it is idle, then those its common requests run,
# which the link lays out together in that order (crates/threadsync/build.rs,
# BENCHMARKS.md "Idle RSS: the start-up code laid out together").
#
#   scripts/startup-order/collect.sh [POSTGRES_URL]
#
# Builds the release binaries, then runs the server under valgrind's
# callgrind up to five ways: a first start on a new SQLite directory
# (migrations, bootstrap), a second start on it, a start on a small seeded
# dataset, and, given a PostgreSQL URL, a start on a new schema of that
# database and one on a small seeded schema. Each run
# is dumped 10 s after "listening on" (idle RSS is measured 5 s after it,
# natively; under valgrind the start-up's background tasks, the event
# listener's and the pools' first connections, run many times slower and a
# 3 s dump missed some of them, which an idle server then mapped from
# scattered folios of code), then
# again after a round of common requests (log in, post, reply, edit, sync,
# history, search, listings) and, on the seeded dataset, short runs of the
# load tool's scenarios (BENCHMARKS.md measures those), and killed.
# Needs valgrind, curl and python3.
set -eu
cd "$(dirname "$0")/../.."
URL=${1:-}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
# Two builds: built together, the two packages would share one set of
# dependency features, and the server's symbol names (their hashes) would
# not be those of `cargo build --release`, which builds the server alone.
cargo build --release -p threadsync-load
cargo build --release -p threadsync
BIN=$(pwd)/target/release/threadsync LOAD=$(pwd)/target/release/threadsync-load
profile() { # name, then the serve options
  local name=$1; shift
  ADMIN_USERNAME=admin ADMIN_PASS=change-me ADMIN_EMAIL=admin@example.com RUST_LOG=warn \
    valgrind --tool=callgrind --demangle=no --dump-instr=no --callgrind-out-file="$OUT/$name" \
    "$BIN" serve --listen 127.0.0.1:0 "$@" > "$OUT/$name.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 600); do grep -q "^listening on" "$OUT/$name.log" && break; sleep 0.2; done
  grep -q "^listening on" "$OUT/$name.log" || { cat "$OUT/$name.log"; exit 1; }
  sleep 10
  callgrind_control --dump "$pid" > /dev/null 2>&1
  local url
  url=$(sed -n 's/^listening on //p' "$OUT/$name.log")
  if [ -f "$OUT/$name-data/manifest.json" ]; then
    for scenario in s1 s2 s4 search; do
      "$LOAD" --target "$url" --manifest "$OUT/$name-data/manifest.json" --scenario $scenario \
        --connections 4 --threads 4 --duration 3 --warmup 1 > "$OUT/$name-$scenario.txt" 2>&1 \
        || { cat "$OUT/$name-$scenario.txt"; exit 1; }
    done
  else
    requests "$url"
  fi
  callgrind_control --dump "$pid" > /dev/null 2>&1
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true
}
json() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }
requests() { # the server's URL
  local url=$1/api/v1 auth me token mid
  auth=$(curl -sf "$url/login" -H 'Content-Type: application/json' -d '{"user":"admin","password":"change-me"}')
  me=$(json "['data']['userId']" <<< "$auth"); token=$(json "['data']['authToken']" <<< "$auth")
  local h=(-H "X-User-Id: $me" -H "X-Auth-Token: $token" -H 'Content-Type: application/json')
  for round in 1 2; do
    mid=$(curl -sf "${h[@]}" "$url/chat.sendMessage" -d '{"message":{"rid":"GENERAL","msg":"hello **world**"}}' | json "['message']['_id']")
    curl -sf "${h[@]}" "$url/chat.sendMessage" -d "{\"message\":{\"rid\":\"GENERAL\",\"tmid\":\"$mid\",\"msg\":\"a reply $round\"}}" > /dev/null
    curl -sf "${h[@]}" "$url/chat.update" -d "{\"roomId\":\"GENERAL\",\"msgId\":\"$mid\",\"text\":\"hello again\"}" > /dev/null
    for get in "chat.syncThreadMessages?tmid=$mid&updatedSince=2020-01-01T00:00:00.000Z" \
      "chat.getThreadMessages?tmid=$mid" "chat.getThreadsList?rid=GENERAL" \
      "chat.syncMessages?roomId=GENERAL&lastUpdate=2020-01-01T00:00:00.000Z" \
      "channels.history?roomId=GENERAL" "channels.messages?roomId=GENERAL" \
      "chat.search?roomId=GENERAL&searchText=hello" "subscriptions.get" "rooms.get" \
      "me" "settings.public" "permissions.listAll" "users.info?userId=$me"; do
      curl -sf "${h[@]}" "$url/$get" > /dev/null
    done
  done
}
profile sqlite-first --data "$OUT/data"
profile sqlite-again --data "$OUT/data"
"$BIN" seed --data "$OUT/seeded-data" --messages 20000 --threads 200 --rooms 4 --users 20 --seed 1 2> /dev/null
profile seeded --data "$OUT/seeded-data"
if [ -n "$URL" ]; then
  schema="startup_order_$$"
  profile postgres --database-url "$URL" --pg-schema "$schema"
  "$BIN" seed --database-url "$URL" --pg-schema "${schema}_seeded" --data "$OUT/pgseeded-data" \
    --messages 20000 --threads 200 --rooms 4 --users 20 --seed 1 2> /dev/null
  profile pgseeded --database-url "$URL" --pg-schema "${schema}_seeded"
  PGOPTIONS="-c client_min_messages=warning" psql "$URL" -qc "DROP SCHEMA $schema CASCADE" || true
  PGOPTIONS="-c client_min_messages=warning" psql "$URL" -qc "DROP SCHEMA ${schema}_seeded CASCADE" || true
fi
{
  echo "# The functions \`threadsync serve\` runs until it is idle, then those of its"
  echo "# common requests, laid out together by the link (crates/threadsync/build.rs)."
  echo "# Generated by scripts/startup-order/collect.sh; names missing from a later"
  echo "# build are skipped."
  # The idle servers' functions first (each profile's first dump), then
  # the requests' (the second).
  python3 scripts/startup-order/functions.py "/threadsync" "$OUT"/*.1 "$OUT"/*.2
} > crates/threadsync/startup-order.txt
wc -l crates/threadsync/startup-order.txt
