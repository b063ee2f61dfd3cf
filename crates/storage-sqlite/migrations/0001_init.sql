-- threadsync schema, version 1.
--
-- Conventions:
-- * Timestamps are INTEGER milliseconds since the Unix epoch.
-- * Rooms, subscriptions and messages keep their full domain document as
--   JSON text in `doc` (the document is the truth, so fields we do not model
--   round-trip); the other columns are copies extracted for indexes and
--   filters and are rewritten together with `doc` on every write.
-- * Lower-cased copies (`*_lower`) carry the case-insensitive uniqueness
--   rules; they are computed by the application, never by SQL `lower()`, so
--   every backend folds case the same way.
-- * This file runs inside one transaction (see migrations.rs); it must not
--   contain BEGIN/COMMIT.

CREATE TABLE users (
    id             TEXT PRIMARY KEY NOT NULL,
    username       TEXT NOT NULL,
    username_lower TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    emails         TEXT NOT NULL,            -- JSON array of {address, verified}
    password_hash  TEXT,
    roles          TEXT NOT NULL,            -- JSON array of strings
    active         INTEGER NOT NULL,
    status         TEXT NOT NULL,
    utc_offset     REAL NOT NULL,
    kind           TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;

-- One row per address: makes every address unique case-insensitively across
-- all users (a user may have several).
CREATE TABLE user_emails (
    address_lower TEXT PRIMARY KEY NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE
) STRICT;
CREATE INDEX user_emails_user ON user_emails(user_id);

-- Only hashes of login tokens are ever stored.
CREATE TABLE login_tokens (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, token_hash)
) STRICT;
-- `login {resume}` knows the token but not its user.
CREATE INDEX login_tokens_hash ON login_tokens(token_hash);

CREATE TABLE rooms (
    id         TEXT PRIMARY KEY NOT NULL,
    t          TEXT NOT NULL CHECK (t IN ('c', 'p', 'd')),
    name       TEXT,
    name_lower TEXT,
    -- Direct messages: JSON array of the members' ids, sorted and deduplicated.
    dm_key     TEXT,
    is_default INTEGER NOT NULL DEFAULT 0,
    ts         INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    -- THE ROOM CLOCK: the last tick handed out to a document of this room.
    -- Only clock.rs changes it, inside the writing transaction.
    clock      INTEGER NOT NULL DEFAULT 0,
    doc        TEXT NOT NULL
) STRICT;
-- Channel and group names are unique case-insensitively; DMs have no name.
CREATE UNIQUE INDEX rooms_name_lower ON rooms(name_lower) WHERE t IN ('c', 'p');
CREATE INDEX rooms_dm_key ON rooms(dm_key) WHERE t = 'd';
CREATE INDEX rooms_default ON rooms(is_default) WHERE is_default = 1;

CREATE TABLE subscriptions (
    id         TEXT PRIMARY KEY NOT NULL,
    rid        TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    doc        TEXT NOT NULL,
    UNIQUE (rid, user_id)
) STRICT;
-- A user's rooms; also "subscriptions changed since" per user.
CREATE INDEX subscriptions_user ON subscriptions(user_id, updated_at);

CREATE TABLE messages (
    id         TEXT PRIMARY KEY NOT NULL,
    rid        TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    tmid       TEXT,
    ts         INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    tlm        INTEGER,
    tcount     INTEGER,
    u_id       TEXT NOT NULL,
    t          TEXT,
    doc        TEXT NOT NULL
) STRICT;
-- chat.syncThreadMessages: replies of a thread changed since a stamp.
CREATE INDEX messages_tmid_updated ON messages(tmid, updated_at);
-- chat.getThreadMessages: replies of a thread in `ts` order.
CREATE INDEX messages_tmid_ts ON messages(tmid, ts);
-- chat.syncMessages: messages of a room changed since a stamp.
CREATE INDEX messages_rid_updated ON messages(rid, updated_at);
-- Room history in `ts` order (also serves the rooms(id) foreign key).
CREATE INDEX messages_rid_ts ON messages(rid, ts);
-- chat.getThreadsList: thread parents of a room by last reply.
CREATE INDEX messages_threads_tlm ON messages(rid, tlm) WHERE tcount IS NOT NULL;
-- chat.syncThreadsList: thread parents of a room changed since a stamp.
CREATE INDEX messages_threads_updated ON messages(rid, updated_at) WHERE tcount IS NOT NULL;

-- What remains of a removed message, for sync (`remove` / `deleted` lists).
CREATE TABLE tombstones (
    id         TEXT PRIMARY KEY NOT NULL,
    rid        TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    tmid       TEXT,
    deleted_at INTEGER NOT NULL
) STRICT;
CREATE INDEX tombstones_tmid_deleted ON tombstones(tmid, deleted_at);
CREATE INDEX tombstones_rid_deleted ON tombstones(rid, deleted_at);

-- Settings that differ from the defaults; `value` is JSON.
CREATE TABLE settings (
    id    TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;
