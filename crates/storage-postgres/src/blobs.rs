//! File bytes in PostgreSQL ([`PgBlobs`]): what lets several instances share
//! uploads and avatars with nothing but the database between them.
//!
//! A blob is stored as chunks of [`CHUNK`] bytes in `blob_chunks` and listed
//! in `blobs` once complete. Writing streams the body chunk by chunk under a
//! staging key, each chunk its own short statement on a pooled connection
//! (a slow client never holds a connection, let alone a transaction, for
//! the length of its upload); one transaction then moves the chunks under
//! the real key and lists the blob. Readers look up the listing first, so
//! they never see a half-written blob. Reading streams one chunk per
//! statement, so neither side ever holds a whole file in memory.

use crate::db;
use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use deadpool_postgres::Pool;
use futures_util::StreamExt;
use threadsync_domain::{id, Timestamp};
use threadsync_storage::{Blob, BlobError, BlobStore, ByteStream, StorageError, StorageResult};

/// Bytes per stored chunk: big enough that a chunk costs one round trip
/// per 256 KiB, small enough that a reader's memory stays flat.
pub const CHUNK: usize = 256 * 1024;

/// Staging chunks older than this are a crash's leftovers (no upload takes
/// a day), removed when a store is opened.
const STAGING_MAX_AGE_MS: i64 = 24 * 60 * 60 * 1000;

/// The PostgreSQL blob store. Cheap to clone (the pool is shared with the
/// [`PgStore`](crate::PgStore) it came from).
#[derive(Clone)]
pub struct PgBlobs {
    pool: Pool,
}

fn store_error(e: StorageError) -> BlobError {
    BlobError::Store(e.to_string())
}

impl PgBlobs {
    pub(crate) async fn open(pool: Pool) -> StorageResult<PgBlobs> {
        let client = pool.get().await.map_err(db::pool_err)?;
        let cutoff = Timestamp::now().millis() - STAGING_MAX_AGE_MS;
        client
            .execute("DELETE FROM blob_chunks WHERE key LIKE '~%' AND written_at < $1", &[&cutoff])
            .await
            .map_err(db::err)?;
        Ok(PgBlobs { pool })
    }

    async fn write_chunk(&self, key: &str, seq: i32, data: &[u8]) -> StorageResult<()> {
        let client = self.pool.get().await.map_err(db::pool_err)?;
        client
            .execute(
                "INSERT INTO blob_chunks (key, seq, data, written_at) VALUES ($1, $2, $3, $4)",
                &[&key, &seq, &data, &Timestamp::now().millis()],
            )
            .await
            .map_err(db::err)?;
        Ok(())
    }

    async fn drop_chunks(&self, key: &str) {
        // Best effort: what stays is removed by age at the next open.
        if let Ok(client) = self.pool.get().await {
            let _ = client.execute("DELETE FROM blob_chunks WHERE key = $1", &[&key]).await;
        }
    }

    /// Streams the body into staging chunks; the size, or why not.
    async fn stage(
        &self,
        staging: &str,
        body: &mut ByteStream<'_>,
        limit: Option<u64>,
    ) -> Result<u64, BlobError> {
        let mut pending = BytesMut::with_capacity(CHUNK);
        let (mut size, mut seq) = (0u64, 0i32);
        while let Some(part) = body.next().await {
            let part = part.map_err(BlobError::Incoming)?;
            size += part.len() as u64;
            if let Some(limit) = limit.filter(|limit| size > *limit) {
                return Err(BlobError::TooLarge { limit });
            }
            pending.extend_from_slice(&part);
            while pending.len() >= CHUNK {
                let chunk = pending.split_to(CHUNK);
                self.write_chunk(staging, seq, &chunk).await.map_err(store_error)?;
                seq += 1;
            }
        }
        if !pending.is_empty() {
            self.write_chunk(staging, seq, &pending).await.map_err(store_error)?;
        }
        Ok(size)
    }

    /// Moves the staged chunks under `key` and lists the blob, replacing
    /// what was there, in one transaction.
    async fn promote(&self, key: &str, staging: &str, size: u64) -> StorageResult<()> {
        let mut client = self.pool.get().await.map_err(db::pool_err)?;
        let tx = client.transaction().await.map_err(db::err)?;
        // Two writers of one key take turns: without the lock the second's
        // DELETE would not see the rows the first moved under the key in a
        // transaction that committed after the second's snapshot, and the
        // chunks of both files would mix.
        tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))", &[&key])
            .await
            .map_err(db::err)?;
        tx.execute("DELETE FROM blob_chunks WHERE key = $1", &[&key]).await.map_err(db::err)?;
        tx.execute("UPDATE blob_chunks SET key = $1 WHERE key = $2", &[&key, &staging])
            .await
            .map_err(db::err)?;
        let size = i64::try_from(size).map_err(|_| StorageError::Invalid("blob size"))?;
        tx.execute(
            "INSERT INTO blobs (key, size, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET size = EXCLUDED.size, updated_at = EXCLUDED.updated_at",
            &[&key, &size, &Timestamp::now().millis()],
        )
        .await
        .map_err(db::err)?;
        tx.commit().await.map_err(db::err)
    }
}

/// Where a chunked read is: the next chunk, the offset in it, the bytes
/// still wanted.
struct Cursor {
    pool: Pool,
    key: String,
    seq: i32,
    offset: usize,
    left: u64,
}

impl Cursor {
    /// The next piece, or `None` once the range is read.
    async fn next(mut self) -> Option<(std::io::Result<Bytes>, Cursor)> {
        if self.left == 0 {
            return None;
        }
        let want = (CHUNK - self.offset).min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let read = async {
            let client =
                self.pool.get().await.map_err(|e| std::io::Error::other(db::pool_err(e).to_string()))?;
            // substring's offsets count from 1.
            let from = i32::try_from(self.offset + 1).map_err(std::io::Error::other)?;
            let len = i32::try_from(want).map_err(std::io::Error::other)?;
            let row = client
                .query_opt(
                    "SELECT substring(data FROM $3 FOR $4) FROM blob_chunks WHERE key = $1 AND seq = $2",
                    &[&self.key, &self.seq, &from, &len],
                )
                .await
                .map_err(|e| std::io::Error::other(db::err(e).to_string()))?;
            match row {
                Some(row) => Ok(Bytes::from(row.get::<_, Vec<u8>>(0))),
                // Deleted while being read.
                None => Err(std::io::Error::new(std::io::ErrorKind::NotFound, "the file was removed")),
            }
        }
        .await;
        match read {
            Ok(bytes) if bytes.is_empty() => None,
            Ok(bytes) => {
                self.left -= bytes.len() as u64;
                self.seq += 1;
                self.offset = 0;
                Some((Ok(bytes), self))
            }
            Err(e) => {
                self.left = 0;
                Some((Err(e), self))
            }
        }
    }
}

#[async_trait]
impl BlobStore for PgBlobs {
    async fn put(&self, key: &str, mut body: ByteStream<'_>, limit: Option<u64>) -> Result<u64, BlobError> {
        let staging = format!("~{}", id::new_id());
        let size = match self.stage(&staging, &mut body, limit).await {
            Ok(size) => size,
            Err(e) => {
                self.drop_chunks(&staging).await;
                return Err(e);
            }
        };
        if let Err(e) = self.promote(key, &staging, size).await {
            self.drop_chunks(&staging).await;
            return Err(store_error(e));
        }
        Ok(size)
    }

    async fn open(&self, key: &str) -> StorageResult<Option<Blob>> {
        self.open_range(key, 0, u64::MAX).await
    }

    async fn open_range(&self, key: &str, start: u64, len: u64) -> StorageResult<Option<Blob>> {
        let client = self.pool.get().await.map_err(db::pool_err)?;
        let row =
            client.query_opt("SELECT size FROM blobs WHERE key = $1", &[&key]).await.map_err(db::err)?;
        drop(client);
        let Some(row) = row else { return Ok(None) };
        let size = u64::try_from(row.get::<_, i64>(0)).map_err(|_| StorageError::Invalid("blob size"))?;
        let start = start.min(size);
        let chunk = CHUNK as u64;
        let cursor = Cursor {
            pool: self.pool.clone(),
            key: key.to_owned(),
            seq: i32::try_from(start / chunk).map_err(|_| StorageError::Invalid("blob offset"))?,
            offset: usize::try_from(start % chunk).unwrap_or(0),
            left: len.min(size - start),
        };
        let body = futures_util::stream::unfold(cursor, Cursor::next);
        Ok(Some(Blob { size, body: Box::pin(body) }))
    }

    async fn delete(&self, key: &str) -> StorageResult<()> {
        let mut client = self.pool.get().await.map_err(db::pool_err)?;
        let tx = client.transaction().await.map_err(db::err)?;
        tx.execute("DELETE FROM blobs WHERE key = $1", &[&key]).await.map_err(db::err)?;
        tx.execute("DELETE FROM blob_chunks WHERE key = $1", &[&key]).await.map_err(db::err)?;
        tx.commit().await.map_err(db::err)
    }
}
