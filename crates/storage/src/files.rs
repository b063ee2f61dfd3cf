//! Uploaded files: their records ([`UploadStore`], part of every database
//! backend) and their bytes ([`BlobStore`], a separate backend: the local
//! disk by default, an object store later).
//!
//! The two are written in this order, and removed in the reverse one: the
//! bytes first, then the record that points to them; the record first, then
//! the bytes. A crash in between leaves at worst bytes no record names,
//! never a record whose bytes are missing.

use crate::{Page, StorageResult};
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::Stream;
use std::pin::Pin;
use threadsync_domain::{Timestamp, Upload};

/// A user's uploaded picture: its bytes are in the blob store under `key`
/// (a new key per picture, so a reader of the old one never sees the new
/// one half written, and caches keyed by it stay right).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Avatar {
    pub user_id: String,
    pub key: String,
    pub content_type: String,
    pub updated_at: Timestamp,
}

/// The bytes of a file as they arrive or leave: chunks, or the I/O error
/// that ended the stream.
pub type ByteStream<'a> = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send + 'a>>;

/// Why a [`BlobStore::put`] kept nothing.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The stream had more than the allowed bytes.
    #[error("the file is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    /// The incoming stream failed (the client went away, a bad multipart body).
    #[error("the upload did not arrive whole: {0}")]
    Incoming(std::io::Error),
    /// The store could not write.
    #[error("the file store failed: {0}")]
    Store(String),
}

/// A file's bytes as they are served.
pub struct Blob {
    pub size: u64,
    pub body: ByteStream<'static>,
}

/// Where file bytes live, by key (an upload's id, an avatar's key).
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores what `body` yields under `key`, replacing what was there
    /// only once the whole stream arrived; at most `limit` bytes (`None`:
    /// no limit). Returns the size. On any error nothing is kept.
    async fn put(&self, key: &str, body: ByteStream<'_>, limit: Option<u64>) -> Result<u64, BlobError>;
    /// The bytes under `key`, streamed, or `None` if there are none.
    async fn open(&self, key: &str) -> StorageResult<Option<Blob>>;
    /// At most `len` bytes under `key` from byte `start` on (a ranged
    /// download), streamed without reading what comes before; `size` is
    /// still the size of the whole. `None` if there are none.
    async fn open_range(&self, key: &str, start: u64, len: u64) -> StorageResult<Option<Blob>>;
    /// Removes the bytes under `key` (nothing there is not an error).
    async fn delete(&self, key: &str) -> StorageResult<()>;
}

/// A blob store in front of an older one: new bytes go to `primary`; a key
/// `primary` lacks is read from `legacy`; removal removes from both. What
/// lets a deployment move its files' home (the data directory's disk to the
/// database) without losing the files it already has.
pub struct FallbackBlobs {
    primary: std::sync::Arc<dyn BlobStore>,
    legacy: std::sync::Arc<dyn BlobStore>,
}

impl FallbackBlobs {
    pub fn new(
        primary: std::sync::Arc<dyn BlobStore>,
        legacy: std::sync::Arc<dyn BlobStore>,
    ) -> FallbackBlobs {
        FallbackBlobs { primary, legacy }
    }
}

#[async_trait]
impl BlobStore for FallbackBlobs {
    async fn put(&self, key: &str, body: ByteStream<'_>, limit: Option<u64>) -> Result<u64, BlobError> {
        self.primary.put(key, body, limit).await
    }

    async fn open(&self, key: &str) -> StorageResult<Option<Blob>> {
        match self.primary.open(key).await? {
            Some(blob) => Ok(Some(blob)),
            None => self.legacy.open(key).await,
        }
    }

    async fn open_range(&self, key: &str, start: u64, len: u64) -> StorageResult<Option<Blob>> {
        match self.primary.open_range(key, start, len).await? {
            Some(blob) => Ok(Some(blob)),
            None => self.legacy.open_range(key, start, len).await,
        }
    }

    async fn delete(&self, key: &str) -> StorageResult<()> {
        // The primary first: once it is gone there, a failure to remove the
        // legacy copy leaves bytes no record names, never the reverse.
        self.primary.delete(key).await?;
        self.legacy.delete(key).await
    }
}

/// Which uploads a [`UploadStore::room_uploads`] lists: those a message
/// shares, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UploadListQuery {
    pub rid: String,
    /// Only names containing this text, ignoring case.
    pub name: Option<String>,
    /// Only this type group (`image`, `application`...).
    pub type_group: Option<String>,
    pub offset: u64,
    pub count: u64,
}

/// Which uploads [`UploadStore::delete_uploads`] removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UploadSelection<'a> {
    /// These ids (unknown ones are skipped).
    Ids(&'a [String]),
    /// Every upload of a room (the room is being deleted).
    Room(&'a str),
    /// At most `limit` uploads whose `expires_at` is before `now`.
    Expired { now: Timestamp, limit: u64 },
}

/// The records of uploaded files.
#[async_trait]
pub trait UploadStore: Send + Sync {
    /// Keeps a new upload's record (its bytes are already stored).
    async fn insert_upload(&self, upload: &Upload) -> StorageResult<()>;
    async fn upload_by_id(&self, id: &str) -> StorageResult<Option<Upload>>;
    /// Links an upload no message shares yet to `message_id`, with its
    /// description, and ends its expiry. `false` when there is no such
    /// upload or a message already shares it.
    async fn attach_upload(
        &self,
        id: &str,
        message_id: &str,
        description: Option<&str>,
        now: Timestamp,
    ) -> StorageResult<bool>;
    /// A room's uploads that a message shares, newest first, paged.
    async fn room_uploads(&self, query: &UploadListQuery) -> StorageResult<Page<Upload>>;
    /// Removes records and returns them, so their bytes can go too.
    async fn delete_uploads(&self, which: UploadSelection<'_>) -> StorageResult<Vec<Upload>>;
}

/// Users' uploaded pictures (`users.setAvatar`); no row: the drawn initials.
#[async_trait]
pub trait AvatarStore: Send + Sync {
    /// Sets (or replaces) a user's picture; returns the one it replaced, so
    /// its bytes can go.
    async fn set_avatar(&self, avatar: &Avatar) -> StorageResult<Option<Avatar>>;
    async fn avatar_of(&self, user_id: &str) -> StorageResult<Option<Avatar>>;
    /// Removes a user's picture; returns it, so its bytes can go.
    async fn remove_avatar(&self, user_id: &str) -> StorageResult<Option<Avatar>>;
}
