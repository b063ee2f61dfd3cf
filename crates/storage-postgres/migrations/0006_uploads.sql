-- Uploaded files (their bytes are in the blob store, under the id).
-- message_id: the message sharing the file; NULL while a rooms.media upload
-- waits for its confirmation, until expires_at (ms since the epoch).
CREATE TABLE uploads (
    id           TEXT PRIMARY KEY,
    rid          TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    size         BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    type_group   TEXT NOT NULL,
    description  TEXT,
    uploaded_at  BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    message_id   TEXT,
    expires_at   BIGINT
);
-- A room's shared files, newest first (channels.files).
CREATE INDEX uploads_by_room ON uploads (rid, uploaded_at DESC) WHERE message_id IS NOT NULL;
-- Unconfirmed uploads to discard.
CREATE INDEX uploads_expiring ON uploads (expires_at) WHERE expires_at IS NOT NULL;

-- Users' uploaded pictures (users.setAvatar): the bytes are in the blob
-- store under key; no row: the drawn initials.
CREATE TABLE avatars (
    user_id      TEXT PRIMARY KEY,
    key          TEXT NOT NULL,
    content_type TEXT NOT NULL,
    updated_at   BIGINT NOT NULL
);
