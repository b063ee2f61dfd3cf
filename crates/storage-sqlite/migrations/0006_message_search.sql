-- Full-text search of messages (chat.search): an FTS5 index over each
-- message's text and room.
--
-- `msg` is a virtual generated column (computed when read, stored nowhere):
-- the text stays in the document, the index reads it from there. The
-- index is an external-content FTS5 table over `messages` (it stores only
-- the inverted index; the text is read back from `messages` by rowid). The
-- room id is indexed too, so a search reads the postings of the room and
-- of each word and intersects them, instead of visiting every message in
-- the store that has the word.
--
-- `unicode61 remove_diacritics 2` folds case and diacritics on both the
-- text and the query (`Cafe` finds `café`).
--
-- The triggers keep the index equal to the table whatever statement writes
-- it (the writer's inserts, edits, placeholders and deletions, imports,
-- a room's deletion by cascade): an external-content index must be told
-- the exact old values of a row it removes, which OLD carries. Only a
-- change of the text or the room re-indexes a row: reactions, stars and
-- thread counters rewrite the document without touching the index.
ALTER TABLE messages ADD COLUMN msg TEXT GENERATED ALWAYS AS (json_extract(doc, '$.msg')) VIRTUAL;

CREATE VIRTUAL TABLE messages_search USING fts5(
    rid, msg,
    content = 'messages', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);

-- The messages already stored.
INSERT INTO messages_search (messages_search) VALUES ('rebuild');

CREATE TRIGGER messages_search_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_search (rowid, rid, msg) VALUES (NEW.rowid, NEW.rid, NEW.msg);
END;

CREATE TRIGGER messages_search_update AFTER UPDATE OF doc, rid ON messages
    WHEN OLD.msg IS NOT NEW.msg OR OLD.rid IS NOT NEW.rid
BEGIN
    INSERT INTO messages_search (messages_search, rowid, rid, msg) VALUES ('delete', OLD.rowid, OLD.rid, OLD.msg);
    INSERT INTO messages_search (rowid, rid, msg) VALUES (NEW.rowid, NEW.rid, NEW.msg);
END;

CREATE TRIGGER messages_search_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_search (messages_search, rowid, rid, msg) VALUES ('delete', OLD.rowid, OLD.rid, OLD.msg);
END;
