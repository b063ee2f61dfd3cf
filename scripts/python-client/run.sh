#!/usr/bin/env bash
# Runs the published Python client library `rocketchat_API` (PyPI) and its
# own test suite, unchanged, against a threadsync server, and writes which
# of its tests pass (docs/python-client.md).
#
# The suite talks to http://127.0.0.1:3000 (its default server address),
# registers `user1` and expects it to be the workspace's admin (as the
# first user of a fresh Rocket.Chat is); this script starts threadsync with
# that admin on a fresh data directory. Port 3000 must be free.
#
#   scripts/python-client/run.sh [path/to/threadsync]   (default: target/release/threadsync)
#
# Output: target/python-client/junit.xml and summary.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=3.7.1
BIN=${1:-target/release/threadsync}
OUT=target/python-client
rm -rf "$OUT/data" "$OUT/src"
mkdir -p "$OUT"
if [ ! -x "$OUT/venv/bin/pytest" ]; then
  python3 -m venv "$OUT/venv"
fi
# The suite's own test dependencies (its pyproject's `test` extra) that the
# tests run here import: pytest, and semver for its version-gated fixture.
"$OUT/venv/bin/pip" install -q "pytest==8.3.5" "semver==3.1.2"
# The sdist carries the library's tests; the wheel does not.
"$OUT/venv/bin/pip" download -q --no-deps --no-binary :all: -d "$OUT/dist" "rocketchat_API==$VERSION"
"$OUT/venv/bin/pip" install -q "$OUT/dist/rocketchat_api-$VERSION.tar.gz"
mkdir -p "$OUT/src"
tar xzf "$OUT/dist/rocketchat_api-$VERSION.tar.gz" -C "$OUT/src"
SRC="$OUT/src/rocketchat_api-$VERSION"

# CREATE_TOKENS_FOR_USERS: as the suite's own Rocket.Chat deployment runs
# (its users.createToken test needs it).
CREATE_TOKENS_FOR_USERS=true ADMIN_USERNAME=user1 ADMIN_PASS='yoZy4mN3B83SoKOD2PP1U8PoTUnBlukQ7ac6RlsgR$A' ADMIN_EMAIL=email@domain.com \
  "$BIN" serve --listen 127.0.0.1:3000 --data "$OUT/data" > "$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf http://127.0.0.1:3000/api/info > /dev/null && break
  sleep 0.2
done

# test_banners.py reads Rocket.Chat's MongoDB directly (pymongo): not a
# client call, left out. Everything else runs as published.
set +e
(cd "$SRC" && "$OLDPWD/$OUT/venv/bin/pytest" tests -p no:cacheprovider -q -rA \
  --ignore=tests/test_banners.py --junitxml="$OLDPWD/$OUT/junit.xml") > "$OUT/pytest.txt" 2>&1
set -e
grep -E "^(PASSED|FAILED|ERROR) " "$OUT/pytest.txt" | sort > "$OUT/summary.txt" || true
tail -n 1 "$OUT/pytest.txt"
echo "per-test results: $OUT/summary.txt"
