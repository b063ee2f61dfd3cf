-- Thread and sync read paths.

-- chat.syncThreadsList reports removed thread parents: a tombstone records
-- whether the message it replaces had been a thread parent (had `tcount`).
ALTER TABLE tombstones ADD COLUMN was_thread INTEGER NOT NULL DEFAULT 0;
CREATE INDEX tombstones_threads_deleted ON tombstones(rid, deleted_at) WHERE was_thread = 1;

-- Server facts that are not settings (e.g. the tombstone pruning horizon).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;

-- Pruning old tombstones (when a retention is configured) scans by age.
CREATE INDEX tombstones_deleted ON tombstones(deleted_at);

-- Listings sort by a key then `_id` (stable paging): the id in the index
-- lets SQLite walk the index in that exact order instead of sorting.
DROP INDEX messages_tmid_ts;
CREATE INDEX messages_tmid_ts ON messages(tmid, ts, id);
DROP INDEX messages_threads_tlm;
CREATE INDEX messages_threads_tlm ON messages(rid, tlm, id) WHERE tcount IS NOT NULL;
