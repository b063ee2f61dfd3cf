"""Latency percentiles of a pgbench run from its per-transaction logs (`-l --log-prefix=PREFIX`).

    python3 scripts/search-bench/pgbench-percentiles.py PREFIX
"""
import glob
import sys

latencies = []
for path in glob.glob(sys.argv[1] + "*"):
    for line in open(path):
        fields = line.split()
        if len(fields) >= 3:
            latencies.append(int(fields[2]))  # microseconds
latencies.sort()


def at(q):
    return latencies[min(len(latencies) - 1, int(q * len(latencies)))] / 1000


print(f"transactions {len(latencies)} p50 {at(0.5):.1f} ms p99 {at(0.99):.1f} ms p99.9 {at(0.999):.1f} ms")
