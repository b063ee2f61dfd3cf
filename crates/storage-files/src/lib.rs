//! File bytes on the local disk ([`DiskBlobs`]), the default
//! [`BlobStore`]: one file per key under a directory (`<data>/uploads`).
//!
//! A `put` streams into a temporary file in the same directory and renames
//! it over the key's file only once every byte arrived and was flushed, so
//! a reader never sees half a file and a failed or oversized upload leaves
//! nothing behind. Keys are server-made ids; anything else is refused, so
//! no key can name a path outside the directory.

use async_trait::async_trait;
use futures_util::StreamExt;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use threadsync_storage::{Blob, BlobError, BlobStore, ByteStream, StorageError, StorageResult};
use tokio::io::AsyncWriteExt;

/// Bytes under a directory of the local disk.
pub struct DiskBlobs {
    dir: PathBuf,
}

/// The prefix of files being written (never a key's: keys start with a letter or digit).
const PARTIAL: &str = ".partial-";

impl DiskBlobs {
    /// Opens (creating if needed) the directory, and removes partial files a
    /// crash left behind.
    pub async fn open(dir: impl Into<PathBuf>) -> std::io::Result<DiskBlobs> {
        let dir = dir.into();
        tokio::fs::create_dir_all(&dir).await?;
        let mut entries = tokio::fs::read_dir(&dir).await?;
        while let Some(entry) = entries.next_entry().await? {
            if entry.file_name().to_string_lossy().starts_with(PARTIAL) {
                let _ = tokio::fs::remove_file(entry.path()).await;
            }
        }
        Ok(DiskBlobs { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_of(&self, key: &str) -> StorageResult<PathBuf> {
        let valid = !key.is_empty()
            && key.len() <= 128
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && key.as_bytes()[0].is_ascii_alphanumeric();
        if valid {
            Ok(self.dir.join(key))
        } else {
            Err(StorageError::Backend(format!("not a blob key: {key:?}")))
        }
    }
}

fn store_error(e: std::io::Error) -> BlobError {
    BlobError::Store(e.to_string())
}

#[async_trait]
impl BlobStore for DiskBlobs {
    async fn put(&self, key: &str, mut body: ByteStream<'_>, limit: Option<u64>) -> Result<u64, BlobError> {
        let target = self.path_of(key).map_err(|e| BlobError::Store(e.to_string()))?;
        let partial = self.dir.join(format!("{PARTIAL}{key}-{}", std::process::id()));
        let mut file = tokio::fs::File::create(&partial).await.map_err(store_error)?;
        let written = async {
            let mut size: u64 = 0;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(BlobError::Incoming)?;
                size += chunk.len() as u64;
                if let Some(limit) = limit.filter(|limit| size > *limit) {
                    return Err(BlobError::TooLarge { limit });
                }
                file.write_all(&chunk).await.map_err(store_error)?;
            }
            // Durable before it is visible: the record that will name this
            // file is committed after `put` returns.
            file.sync_all().await.map_err(store_error)?;
            Ok(size)
        }
        .await;
        drop(file);
        match written {
            Ok(size) => match tokio::fs::rename(&partial, &target).await {
                Ok(()) => Ok(size),
                Err(e) => {
                    let _ = tokio::fs::remove_file(&partial).await;
                    Err(store_error(e))
                }
            },
            Err(e) => {
                let _ = tokio::fs::remove_file(&partial).await;
                Err(e)
            }
        }
    }

    async fn open(&self, key: &str) -> StorageResult<Option<Blob>> {
        self.open_range(key, 0, u64::MAX).await
    }

    async fn open_range(&self, key: &str, start: u64, len: u64) -> StorageResult<Option<Blob>> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let path = self.path_of(key)?;
        let failed = |what: &str, e: std::io::Error| {
            StorageError::Backend(format!("cannot {what} {}: {e}", path.display()))
        };
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(failed("open", e)),
        };
        let size = file.metadata().await.map_err(|e| failed("stat", e))?.len();
        if start > 0 {
            file.seek(std::io::SeekFrom::Start(start.min(size))).await.map_err(|e| failed("seek in", e))?;
        }
        let body = tokio_util::io::ReaderStream::with_capacity(file.take(len), 64 * 1024);
        Ok(Some(Blob { size, body: Box::pin(body) }))
    }

    async fn delete(&self, key: &str) -> StorageResult<()> {
        let path = self.path_of(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StorageError::Backend(format!("cannot remove {}: {e}", path.display()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use threadsync_storage::conformance::blobs::{self, chunks, read_all};

    async fn fresh() -> (tempfile::TempDir, DiskBlobs) {
        let dir = tempfile::tempdir().expect("dir");
        let blobs = DiskBlobs::open(dir.path().join("uploads")).await.expect("open");
        (dir, blobs)
    }

    // The bodies every blob store runs.
    #[tokio::test]
    async fn round_trip() {
        blobs::blobs_round_trip(&fresh().await.1).await;
    }

    #[tokio::test]
    async fn ranges() {
        blobs::blobs_ranges(&fresh().await.1).await;
    }

    #[tokio::test]
    async fn large_files_and_ranges() {
        blobs::blobs_large_files_and_ranges(&fresh().await.1).await;
    }

    #[tokio::test]
    async fn refused_bodies_keep_nothing_and_leave_no_partial_file() {
        let (dir, store) = fresh().await;
        blobs::blobs_refused_bodies_keep_nothing(&store).await;
        let left: Vec<String> = std::fs::read_dir(dir.path().join("uploads"))
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, vec!["F5".to_owned()], "no partial file is left behind");
    }

    #[tokio::test]
    async fn keys_cannot_leave_the_directory() {
        let dir = tempfile::tempdir().expect("dir");
        let blobs = DiskBlobs::open(dir.path()).await.expect("open");
        for key in ["../x", "a/b", "", ".partial-x", "a\\b"] {
            assert!(blobs.open(key).await.is_err(), "{key:?}");
            assert!(blobs.put(key, chunks(&[b"x"]), None).await.is_err(), "{key:?}");
        }
    }

    #[tokio::test]
    async fn a_crash_s_partial_files_are_removed_on_open() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join(".partial-F9-1"), b"half").expect("write");
        std::fs::write(dir.path().join("F8"), b"whole").expect("write");
        let blobs = DiskBlobs::open(dir.path()).await.expect("open");
        assert!(!dir.path().join(".partial-F9-1").exists());
        assert_eq!(read_all(blobs.open("F8").await.expect("open").expect("kept")).await, b"whole");
    }

    /// A store in front of an older one: new bytes go to the front, old
    /// ones are still read from behind, removal removes both copies.
    #[tokio::test]
    async fn a_fallback_reads_the_older_store_and_removes_from_both() {
        use std::sync::Arc;
        use threadsync_storage::FallbackBlobs;
        let (_front_dir, front) = fresh().await;
        let (_back_dir, back) = fresh().await;
        let (front, back) = (Arc::new(front), Arc::new(back));
        back.put("OLD", chunks(&[b"from before"]), None).await.expect("put");
        let both = FallbackBlobs::new(front.clone(), back.clone());
        assert_eq!(
            read_all(both.open("OLD").await.expect("open").expect("found behind")).await,
            b"from before"
        );
        let part = both.open_range("OLD", 5, 3).await.expect("open").expect("found behind");
        assert_eq!(read_all(part).await, b"bef");
        both.put("NEW", chunks(&[b"new"]), None).await.expect("put");
        assert!(front.open("NEW").await.expect("open").is_some(), "new bytes go to the front");
        assert!(back.open("NEW").await.expect("open").is_none());
        both.delete("OLD").await.expect("delete");
        assert!(both.open("OLD").await.expect("open").is_none());
        assert!(back.open("OLD").await.expect("open").is_none());
        // The bodies every store runs, through the pair.
        blobs::blobs_round_trip(&both).await;
    }
}
