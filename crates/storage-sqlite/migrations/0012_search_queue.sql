-- The search index learns of a batch's messages once, at the end of the
-- batch, instead of once per message.
--
-- FTS5 keeps what a transaction adds to its index in memory and writes it
-- out as one new segment when the transaction ends, but also at every
-- savepoint opened after the write: the writer runs each job under its own
-- savepoint, and SQLite opens a statement savepoint for many statements, so
-- with triggers writing the index directly every message became a segment
-- of its own, written, then merged again. In the profile of `s4` (replies
-- sent as fast as they are accepted) those flushes and the pages they wrote
-- were about a quarter of the writer thread's time.
--
-- Now the triggers only queue the index's changes here, in order, with the
-- exact values the index needs (an external-content index must be told a
-- removed row's old values); writer.rs applies the queue to the index with
-- one statement right before each COMMIT (`search::apply_queued`). Search
-- reads committed data only, and the queue is empty in every commit, so a
-- search sees the index exactly as before. A job rolled back to its
-- savepoint takes its queued rows with it.
CREATE TABLE messages_search_queue (
    seq    INTEGER PRIMARY KEY,
    -- 'delete' to remove the row's entry (with its old values); NULL to add.
    op     TEXT CHECK (op IS NULL OR op = 'delete'),
    row_id INTEGER NOT NULL,
    rid    TEXT,
    msg    TEXT
) STRICT;

DROP TRIGGER messages_search_insert;
DROP TRIGGER messages_search_update;
DROP TRIGGER messages_search_delete;

CREATE TRIGGER messages_search_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_search_queue (op, row_id, rid, msg) VALUES (NULL, NEW.rowid, NEW.rid, NEW.msg);
END;

CREATE TRIGGER messages_search_update AFTER UPDATE OF doc, rid ON messages
    WHEN OLD.msg IS NOT NEW.msg OR OLD.rid IS NOT NEW.rid
BEGIN
    INSERT INTO messages_search_queue (op, row_id, rid, msg) VALUES ('delete', OLD.rowid, OLD.rid, OLD.msg);
    INSERT INTO messages_search_queue (op, row_id, rid, msg) VALUES (NULL, NEW.rowid, NEW.rid, NEW.msg);
END;

CREATE TRIGGER messages_search_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_search_queue (op, row_id, rid, msg) VALUES ('delete', OLD.rowid, OLD.rid, OLD.msg);
END;
