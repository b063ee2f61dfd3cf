"""The PostgreSQL ceiling of `threadsync-load --scenario search` (BENCHMARKS.md, "Issue 13").

Writes N pgbench scripts, each the statements `chat.search` runs on
PostgreSQL (crates/storage-postgres/src/search.rs: newest first, the
default order, 20 results) for one search drawn as the load tool draws
them: a random room of the seeded dataset and one word (one time in four,
two) drawn uniformly among the TOP most frequent words of its vocabulary
(0: all of them). The path is chosen as the server chooses it, from the
words' shares in `pg_stats` (read here once, from the database given):
the walk of the room newest first (followed by the index path where the
walk does not fill its page: found out here, once), or the index path. Words are SQL literals here (pgbench
has no string variables); the server binds them as parameters of an
unnamed statement, which PostgreSQL plans with their values all the same.
pgbench takes at most 128 scripts. `before-12` writes the single
statement of the builds before migration 12 instead.

    python3 scripts/search-bench/pg-ceiling-scripts.py MANIFEST TOP N OUT_DIR DB SCHEMA [before-12]
    PGOPTIONS="-c search_path=SCHEMA" pgbench -n -c 16 -j 2 -T 30 -f OUT_DIR/q0.sql ... -l --log-prefix=L DB
    python3 scripts/search-bench/pgbench-percentiles.py L
"""
import json
import os
import random
import subprocess
import sys

manifest, top, n, out, db, schema = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
before_12 = sys.argv[7:] == ["before-12"]
m = json.load(open(manifest))
rooms = [r["_id"] for r in m["rooms"]]
vocabulary = m["vocabulary"]
pool = len(vocabulary) if top == 0 else min(top, len(vocabulary))
rng = random.Random(1)
WALK_FROM_ONE_IN = 125
WALK_ROWS = 20 * 250


def literal(text):
    return "'" + text.replace("'", "''") + "'"


def scalar(sql):
    env = dict(os.environ, PGOPTIONS=f"-c search_path={schema}")
    run = subprocess.run(["psql", "-X", "-At", "-c", sql, db], capture_output=True, text=True, env=env, check=True)
    return run.stdout.strip()


share = {}
if not before_12:
    rows = scalar(
        "SELECT e || ' ' || f FROM pg_stats AS s, unnest(s.most_common_elems::text::text[], "
        "s.most_common_elem_freqs) AS u(e, f) WHERE s.schemaname = current_schema() "
        "AND s.tablename = 'messages' AND s.attname = 'search' AND e IS NOT NULL"
    )
    for line in rows.splitlines():
        e, _, f = line.rpartition(" ")
        share[e] = float(f)

for i in range(n):
    rid = rng.choice(rooms)
    words = [vocabulary[rng.randrange(pool)]]
    if rng.randrange(4) == 0:
        words.append(vocabulary[rng.randrange(pool)])
    tsquery = " && ".join(f"phraseto_tsquery('simple', search_fold({literal(w)}))" for w in words)
    rest = "t IS DISTINCT FROM 'rm' AND (TRUE) ORDER BY ts DESC, id DESC LIMIT 20 OFFSET 0"
    if before_12:
        statements = [f"SELECT doc FROM messages WHERE rid = {literal(rid)} AND search @@ ({tsquery}) AND {rest};"]
    else:
        lexeme = f"(''' ' || md5({literal(rid)}) || '''')::tsquery"
        index = (
            f"SELECT doc FROM (SELECT * FROM messages WHERE search @@ (({tsquery}) && {lexeme}) OFFSET 0) AS m "
            f"WHERE rid = {literal(rid)} AND {rest};"
        )
        walk = (
            f"SELECT doc FROM (SELECT * FROM messages WHERE rid = {literal(rid)} ORDER BY ts DESC, id DESC "
            f"LIMIT {WALK_ROWS}) AS m WHERE search @@ ({tsquery}) AND {rest};"
        )
        expected = 1.0
        for w in words:
            expected *= share.get(w, 0.0) if w.isascii() else 0.0
        if expected * WALK_FROM_ONE_IN >= 1:
            statements = [walk]
            if int(scalar(f"SELECT count(*) FROM ({walk[:-1]}) AS p")) < 20:
                statements.append(index)
        else:
            statements = [index]
    with open(f"{out}/q{i}.sql", "w") as f:
        f.write("\n".join(statements) + "\n")
