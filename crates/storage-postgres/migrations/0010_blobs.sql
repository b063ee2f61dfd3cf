-- File bytes in the database (uploads, avatars), so that several instances
-- serve every file without sharing a disk. A blob is its chunks of at most
-- 256 KiB (one row each, read one at a time: a download never holds a
-- whole file in memory), listed in `blobs` once complete.
CREATE TABLE blobs (
    key        TEXT COLLATE "C" NOT NULL,
    size       BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,         -- ms since the epoch
    CONSTRAINT blobs_pkey PRIMARY KEY (key)
);
-- Chunks of a blob being written carry a staging key ('~' + a random id)
-- until the whole body arrived; then one transaction moves them under the
-- blob's key. Staging chunks a crash left behind are removed later by age.
CREATE TABLE blob_chunks (
    key        TEXT COLLATE "C" NOT NULL,
    seq        INTEGER NOT NULL,
    data       BYTEA NOT NULL,
    written_at BIGINT NOT NULL,         -- ms since the epoch
    CONSTRAINT blob_chunks_pkey PRIMARY KEY (key, seq)
);
-- Uploads are mostly compressed already (images, archives, video): do not
-- spend CPU trying to compress them again, store them out of line as-is.
ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
