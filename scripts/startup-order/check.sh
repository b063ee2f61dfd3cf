#!/usr/bin/env bash
# Reports how much of crates/threadsync/startup-order.txt a release binary
# still has. The list names symbols of the build it was collected from
# (scripts/startup-order/collect.sh); code changed since renames some
# (new functions, and the `.llvm.<hash>` suffixes of functions in a changed
# code unit), and a function the start-up runs that the list lacks is
# mapped with its own folio of code wherever the default layout put it
# (BENCHMARKS.md, "Idle RSS below issue 7's build"). A stale
# list costs memory, never correctness: this warns, it does not fail.
#
#   scripts/startup-order/check.sh [BINARY]   (default target/release/threadsync)
set -eu
cd "$(dirname "$0")/../.."
BIN=${1:-target/release/threadsync}
LIST=crates/threadsync/startup-order.txt
if ! command -v nm > /dev/null 2>&1; then
    echo "start-up order: nm not found, not checked"
    exit 0
fi
listed=$(grep -vc '^#' "$LIST")
missing=$(comm -23 <(grep -v '^#' "$LIST" | sort -u) <(nm --defined-only "$BIN" | awk '{print $3}' | sort -u) | wc -l)
echo "start-up order: $((listed - missing)) of $listed listed functions found in $BIN"
# A few percent is the drift of ordinary changes; more means the idle
# server maps noticeably more code than the list was measured with.
if [ $((missing * 100)) -gt $((listed * 5)) ]; then
    echo "warning: $missing of the start-up order's $listed names are missing from this build;" \
        "run scripts/startup-order/collect.sh to collect it again"
fi
