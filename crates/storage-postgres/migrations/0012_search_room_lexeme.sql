-- The message's room as one more lexeme of its `tsvector`, so that the GIN
-- index answers "this word, in this room" by itself (search.rs).
--
-- A search runs in one room. Before, the index could only give a word's
-- matches in every room: for a word of middle frequency PostgreSQL ANDed
-- that bitmap with a bitmap of the room's whole `(rid, ts)` range (its
-- index pages, then the heap pages of the other rooms' matches), and those
-- page reads were the slow searches (BENCHMARKS.md, issue 13). With the
-- room in the vector, the search's tsquery ANDs the room's lexeme with the
-- words, and GIN's AND scan walks the rarer posting list and only probes
-- the room's, so it reads the room's matches alone. (A multicolumn GIN
-- index on `(rid, search)` does the same, but needs the `btree_gin`
-- extension: installed once per database, in one schema, by a role that
-- may lack the right on a managed PostgreSQL.)
--
-- The lexeme is a space followed by the MD5 of the room id, in hex: any id,
-- however long or whatever its characters, gives one lexeme of 33 bytes
-- (a lexeme is at most 2,047 bytes, and the id is not parsed). Lexemes of
-- the text never hold a space (the parser splits words on it), and the
-- client's words reach the query only through `phraseto_tsquery` and
-- `to_tsquery` of letters and digits, so no search can name or
-- prefix-match a room's lexeme: it only ever comes from the server, which
-- also checks `rid` itself. `array_to_tsvector` makes it without a
-- position, so phrase searches and `ts_rank` (which ranks by the client's
-- words only) are unchanged.
--
-- PostgreSQL 15 cannot change a generated column's expression in place:
-- the column is dropped and added again, which rewrites the table and
-- rebuilds its indexes once (19 s for a million messages on the
-- development machine).
DROP INDEX messages_search;
ALTER TABLE messages DROP COLUMN search;
ALTER TABLE messages ADD COLUMN search tsvector
    GENERATED ALWAYS AS (
        to_tsvector('simple'::regconfig, coalesce(search_fold(doc->>'msg'), ''))
        || array_to_tsvector(ARRAY[' ' || md5(rid)])
    ) STORED;
CREATE INDEX messages_search ON messages USING gin (search);
-- The new column has no statistics until ANALYZE samples it, and
-- autovacuum would only do so after a tenth of the table has changed;
-- search.rs chooses each search's path from them, so a table already
-- holding messages is sampled now (at most 30,000 rows: about a second
-- for a million messages). Not an empty or small one (a new database):
-- statistics saying "empty" make the planner choose sequential scans for
-- the statements each connection prepares while the table fills, until
-- autovacuum samples it again (measured: a new database's sends into one
-- room at 0.4 of their rate, BENCHMARKS.md, issue 14); and small tables
-- have no slow search path.
DO $analyze$
BEGIN
    IF EXISTS (SELECT 1 FROM messages OFFSET 999) THEN
        ANALYZE messages;
    END IF;
END
$analyze$;
