"""The PostgreSQL ceiling of `threadsync-load --scenario search` (BENCHMARKS.md, "Issue 13").

Writes N pgbench scripts, each the statement `chat.search` runs on
PostgreSQL (crates/storage-postgres/src/search.rs: newest first, the
default order, 20 results) for one search drawn as the load tool draws
them: a random room of the seeded dataset and one word (one time in four,
two) drawn uniformly among the TOP most frequent words of its vocabulary
(0: all of them). Words are SQL literals here (pgbench has no string
variables); the server binds them as parameters of an unnamed statement,
which PostgreSQL plans with their values all the same. pgbench takes at
most 128 scripts.

    python3 scripts/search-bench/pg-ceiling-scripts.py MANIFEST TOP N OUT_DIR
    PGOPTIONS="-c search_path=SCHEMA" pgbench -n -c 16 -j 2 -T 30 -f OUT_DIR/q0.sql ... -l --log-prefix=L DB
    python3 scripts/search-bench/pgbench-percentiles.py L
"""
import json
import random
import sys

manifest, top, n, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
m = json.load(open(manifest))
rooms = [r["_id"] for r in m["rooms"]]
vocabulary = m["vocabulary"]
pool = len(vocabulary) if top == 0 else min(top, len(vocabulary))
rng = random.Random(1)


def literal(text):
    return "'" + text.replace("'", "''") + "'"


for i in range(n):
    rid = rng.choice(rooms)
    words = [vocabulary[rng.randrange(pool)]]
    if rng.randrange(4) == 0:
        words.append(vocabulary[rng.randrange(pool)])
    tsquery = " && ".join(f"phraseto_tsquery('simple', search_fold({literal(w)}))" for w in words)
    sql = (
        f"SELECT doc FROM messages WHERE rid = {literal(rid)} AND t IS DISTINCT FROM 'rm' "
        f"AND search @@ ({tsquery}) AND (TRUE) ORDER BY ts DESC, id DESC LIMIT 20 OFFSET 0;"
    )
    with open(f"{out}/q{i}.sql", "w") as f:
        f.write(sql + "\n")
