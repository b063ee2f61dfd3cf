-- threadsync schema for PostgreSQL, version 1. Mirrors the SQLite schema
-- (crates/storage-sqlite/migrations) table for table and index for index.
--
-- Conventions:
-- * Timestamps are BIGINT milliseconds since the Unix epoch.
-- * Rooms, subscriptions and messages keep their full domain document in
--   `doc` (JSONB; the document is the truth, so fields we do not model
--   round-trip); the other columns are copies extracted for indexes and
--   filters, rewritten together with `doc` on every write.
-- * Lower-cased copies (`*_lower`) carry the case-insensitive uniqueness
--   rules; they are computed by the application (Rust `to_lowercase`),
--   never by SQL `lower()`, so every backend folds case the same way.
-- * Identifier and key columns use the "C" collation: comparisons and
--   ORDER BY are by byte (= code point) order, as in SQLite, whatever the
--   database's default collation.
-- * Constraint names are explicit: the backend maps a unique violation to
--   the rule it breaks by the constraint's name (db.rs).
-- * This file runs inside one transaction (see migrations.rs); it must not
--   contain BEGIN/COMMIT.

CREATE TABLE users (
    id             TEXT COLLATE "C" NOT NULL,
    username       TEXT NOT NULL,
    username_lower TEXT COLLATE "C" NOT NULL,
    name           TEXT NOT NULL,
    emails         JSONB NOT NULL,            -- array of {address, verified}
    password_hash  TEXT,
    roles          JSONB NOT NULL,            -- array of strings
    active         BOOLEAN NOT NULL,
    status         TEXT NOT NULL,
    utc_offset     DOUBLE PRECISION NOT NULL,
    kind           TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_username_lower_key UNIQUE (username_lower)
);

-- One row per address: makes every address unique case-insensitively across
-- all users (a user may have several).
CREATE TABLE user_emails (
    address_lower TEXT COLLATE "C" NOT NULL,
    user_id       TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    CONSTRAINT user_emails_pkey PRIMARY KEY (address_lower)
);
CREATE INDEX user_emails_user ON user_emails(user_id);

-- Only hashes of login tokens are ever stored.
CREATE TABLE login_tokens (
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT login_tokens_pkey PRIMARY KEY (user_id, token_hash)
);
-- `login {resume}` knows the token but not its user.
CREATE INDEX login_tokens_hash ON login_tokens(token_hash);

CREATE TABLE rooms (
    id         TEXT COLLATE "C" NOT NULL,
    t          TEXT NOT NULL CHECK (t IN ('c', 'p', 'd')),
    name       TEXT,
    name_lower TEXT COLLATE "C",
    -- Direct messages: JSON array (as text) of the members' ids, sorted and
    -- deduplicated.
    dm_key     TEXT COLLATE "C",
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    ts         BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    -- THE ROOM CLOCK: the last tick handed out to a document of this room.
    -- Only clock.rs changes it, inside the writing transaction; the row
    -- lock its UPDATE takes serialises every writer of the room.
    clock      BIGINT NOT NULL DEFAULT 0,
    doc        JSONB NOT NULL,
    CONSTRAINT rooms_pkey PRIMARY KEY (id)
);
-- Channel and group names are unique case-insensitively; DMs have no name.
CREATE UNIQUE INDEX rooms_name_lower ON rooms(name_lower) WHERE t IN ('c', 'p');
CREATE INDEX rooms_dm_key ON rooms(dm_key) WHERE t = 'd';
CREATE INDEX rooms_default ON rooms(is_default) WHERE is_default;

CREATE TABLE subscriptions (
    id         TEXT COLLATE "C" NOT NULL,
    rid        TEXT COLLATE "C" NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user_id    TEXT COLLATE "C" NOT NULL,
    updated_at BIGINT NOT NULL,
    doc        JSONB NOT NULL,
    CONSTRAINT subscriptions_pkey PRIMARY KEY (id),
    CONSTRAINT subscriptions_rid_user_id_key UNIQUE (rid, user_id)
);
-- A user's rooms; also "subscriptions changed since" per user.
CREATE INDEX subscriptions_user ON subscriptions(user_id, updated_at);

CREATE TABLE messages (
    id         TEXT COLLATE "C" NOT NULL,
    rid        TEXT COLLATE "C" NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    tmid       TEXT COLLATE "C",
    ts         BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    tlm        BIGINT,
    tcount     BIGINT,
    u_id       TEXT COLLATE "C" NOT NULL,
    t          TEXT,
    doc        JSONB NOT NULL,
    CONSTRAINT messages_pkey PRIMARY KEY (id)
);
-- chat.syncThreadMessages: replies of a thread changed since a stamp.
CREATE INDEX messages_tmid_updated ON messages(tmid, updated_at);
-- chat.getThreadMessages: replies of a thread in `ts` order, `_id` breaking
-- ties (listings sort by a key then `_id`, so the index serves the exact
-- ORDER BY, forwards or backwards).
CREATE INDEX messages_tmid_ts ON messages(tmid, ts, id);
-- chat.syncMessages: messages of a room changed since a stamp.
CREATE INDEX messages_rid_updated ON messages(rid, updated_at);
-- Room history in `ts` order (also serves the rooms(id) foreign key).
CREATE INDEX messages_rid_ts ON messages(rid, ts);
-- chat.getThreadsList: thread parents of a room by last reply. `tlm` is
-- nullable: NULLS FIRST makes a forward scan `tlm ASC NULLS FIRST` and a
-- backward one `tlm DESC NULLS LAST`, the order SQLite (and MongoDB) give.
CREATE INDEX messages_threads_tlm ON messages(rid, tlm NULLS FIRST, id) WHERE tcount IS NOT NULL;
-- chat.syncThreadsList: thread parents of a room changed since a stamp.
CREATE INDEX messages_threads_updated ON messages(rid, updated_at) WHERE tcount IS NOT NULL;

-- What remains of a removed message, for sync (`remove` / `deleted` lists).
CREATE TABLE tombstones (
    id         TEXT COLLATE "C" NOT NULL,
    rid        TEXT COLLATE "C" NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    tmid       TEXT COLLATE "C",
    deleted_at BIGINT NOT NULL,
    -- Whether the removed message had been a thread parent (had `tcount`):
    -- chat.syncThreadsList reports those.
    was_thread BOOLEAN NOT NULL DEFAULT FALSE,
    CONSTRAINT tombstones_pkey PRIMARY KEY (id)
);
CREATE INDEX tombstones_tmid_deleted ON tombstones(tmid, deleted_at);
CREATE INDEX tombstones_rid_deleted ON tombstones(rid, deleted_at);
CREATE INDEX tombstones_threads_deleted ON tombstones(rid, deleted_at) WHERE was_thread;
-- Pruning old tombstones (when a retention is configured) scans by age.
CREATE INDEX tombstones_deleted ON tombstones(deleted_at);

-- Settings that differ from the defaults.
CREATE TABLE settings (
    id    TEXT COLLATE "C" NOT NULL,
    value JSONB NOT NULL,
    CONSTRAINT settings_pkey PRIMARY KEY (id)
);

-- Server facts that are not settings (e.g. the tombstone pruning horizon).
CREATE TABLE meta (
    key   TEXT COLLATE "C" NOT NULL,
    value TEXT NOT NULL,
    CONSTRAINT meta_pkey PRIMARY KEY (key)
);
