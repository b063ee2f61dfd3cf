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
    use bytes::Bytes;

    fn chunks(parts: &[&'static [u8]]) -> ByteStream<'static> {
        let items: Vec<std::io::Result<Bytes>> = parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
        Box::pin(futures_util::stream::iter(items))
    }

    async fn read_all(blob: Blob) -> Vec<u8> {
        let mut out = Vec::new();
        let mut body = blob.body;
        while let Some(chunk) = body.next().await {
            out.extend_from_slice(&chunk.expect("chunk"));
        }
        out
    }

    #[tokio::test]
    async fn put_open_delete_round_trip() {
        let dir = tempfile::tempdir().expect("dir");
        let blobs = DiskBlobs::open(dir.path().join("uploads")).await.expect("open");
        let size = blobs.put("F1", chunks(&[b"hello ", b"world"]), Some(11)).await.expect("put");
        assert_eq!(size, 11);
        let blob = blobs.open("F1").await.expect("open").expect("present");
        assert_eq!(blob.size, 11);
        assert_eq!(read_all(blob).await, b"hello world");
        blobs.delete("F1").await.expect("delete");
        assert!(blobs.open("F1").await.expect("open").is_none());
        blobs.delete("F1").await.expect("deleting twice is fine");
    }

    #[tokio::test]
    async fn ranges_read_only_their_bytes() {
        let dir = tempfile::tempdir().expect("dir");
        let blobs = DiskBlobs::open(dir.path().join("uploads")).await.expect("open");
        blobs.put("F2", chunks(&[b"0123456789"]), None).await.expect("put");
        for (start, len, want) in
            [(0, 3, &b"012"[..]), (4, 2, b"45"), (7, 100, b"789"), (9, 1, b"9"), (10, 5, b""), (50, 5, b"")]
        {
            let blob = blobs.open_range("F2", start, len).await.expect("open").expect("present");
            assert_eq!(blob.size, 10, "the size is the whole file's");
            assert_eq!(read_all(blob).await, want, "{start}+{len}");
        }
        assert!(blobs.open_range("nope", 0, 1).await.expect("open").is_none());
    }

    #[tokio::test]
    async fn too_large_and_broken_streams_keep_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let blobs = DiskBlobs::open(dir.path()).await.expect("open");
        let err = blobs.put("F2", chunks(&[b"12345", b"6"]), Some(5)).await.expect_err("too large");
        assert!(matches!(err, BlobError::TooLarge { limit: 5 }));
        let broken: Vec<std::io::Result<Bytes>> =
            vec![Ok(Bytes::from_static(b"abc")), Err(std::io::Error::other("client went away"))];
        let err =
            blobs.put("F3", Box::pin(futures_util::stream::iter(broken)), None).await.expect_err("broken");
        assert!(matches!(err, BlobError::Incoming(_)));
        assert!(blobs.open("F2").await.expect("open").is_none());
        assert!(blobs.open("F3").await.expect("open").is_none());
        let left = std::fs::read_dir(dir.path()).expect("list").count();
        assert_eq!(left, 0, "no partial file is left behind");
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
}
