"""What one chat.search costs SQLite, path by path (BENCHMARKS.md, "Issue 13").

Times, one search at a time on a seeded dataset, 150 searches of the 100
commonest words: the room's capped match count, the index-first statement,
and two room-first walks until 20 matches or 5,000 messages: each message
tested against the index by rowid, and chunks of messages tested with one
query each (as the server does: 128 rows, doubling up to 4,096).

    python3 scripts/search-bench/probe.py DATA_DIR
"""
import json
import random
import sqlite3
import sys
import time

data = sys.argv[1]
manifest = json.load(open(f"{data}/manifest.json"))
vocabulary = manifest["vocabulary"]
rooms = [r["_id"] for r in manifest["rooms"]]
c = sqlite3.connect(f"file:{data}/threadsync.db?mode=ro", uri=True)
sizes = {r: c.execute("SELECT count(*) FROM messages WHERE rid = ?", (r,)).fetchone()[0] for r in rooms}
random.seed(1)
rows = []
for _ in range(150):
    rid = random.choice(rooms)
    words = [random.choice(vocabulary[:100])]
    if random.random() < 0.25:
        words.append(random.choice(vocabulary[:100]))
    text = " AND ".join(f'"{w}"' for w in words)
    room_expr = f'rid : "{rid}" AND msg : ({text})'
    t = time.perf_counter()
    matches = c.execute(
        "SELECT count(*) FROM (SELECT 1 FROM messages_search WHERE messages_search MATCH ? LIMIT 30000)",
        (room_expr,),
    ).fetchone()[0]
    t_count = time.perf_counter() - t
    t = time.perf_counter()
    c.execute(
        "SELECT d.doc FROM (SELECT m.rowid AS rowid, m.ts AS ts, m.id AS mid FROM messages_search "
        "JOIN messages AS m ON m.rowid = messages_search.rowid WHERE messages_search MATCH ? "
        "AND m.rid = ? AND m.t IS NOT 'rm' ORDER BY m.ts DESC, m.id DESC LIMIT 20) AS p "
        "JOIN messages AS d ON d.rowid = p.rowid ORDER BY p.ts DESC, p.mid DESC",
        (room_expr, rid),
    ).fetchall()
    t_index = time.perf_counter() - t
    t = time.perf_counter()
    found = visited = 0
    for (hit,) in c.execute(
        "SELECT CASE WHEN m.t IS NOT 'rm' AND EXISTS (SELECT 1 FROM messages_search "
        "WHERE messages_search MATCH ? AND messages_search.rowid = m.rowid) THEN 1 END "
        "FROM messages AS m WHERE m.rid = ? ORDER BY m.ts DESC, m.id DESC",
        (f"msg : ({text})", rid),
    ):
        visited += 1
        found += 1 if hit else 0
        if found == 20 or visited == 5000:
            break
    t_walk = time.perf_counter() - t
    t = time.perf_counter()
    cur = c.execute(
        "SELECT m.rowid, m.t IS NOT 'rm' FROM messages AS m WHERE m.rid = ? ORDER BY m.ts DESC, m.id DESC",
        (rid,),
    )
    found = chunked = 0
    size = 128
    while found < 20 and chunked < 5000:
        chunk = cur.fetchmany(size)
        if not chunk:
            break
        low, high = min(r for r, _ in chunk), max(r for r, _ in chunk)
        hits = {
            r
            for (r,) in c.execute(
                "SELECT rowid FROM messages_search WHERE messages_search MATCH ? AND rowid BETWEEN ? AND ?",
                (f"msg : ({text})", low, high),
            )
        }
        for r, ok in chunk:
            chunked += 1
            if ok and r in hits:
                found += 1
                if found == 20:
                    break
        size = min(size * 2, 4096)
    t_chunks = time.perf_counter() - t
    rows.append(
        (matches, sizes[rid], t_count * 1e3, t_index * 1e3, t_walk * 1e3, visited, t_chunks * 1e3, chunked, words)
    )
for r in sorted(rows)[::10]:
    print(
        "matches=%d room=%d count=%.1fms index-first=%.1fms walk-by-row=%.1fms (%d rows) "
        "walk-by-chunk=%.1fms (%d rows) %s" % r
    )
