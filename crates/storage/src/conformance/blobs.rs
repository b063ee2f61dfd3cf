//! Conformance of [`BlobStore`](crate::BlobStore): the bytes of uploaded
//! files and avatars. Every blob store (the local disk, PostgreSQL) runs
//! these same bodies.

use crate::{Blob, BlobError, BlobStore, ByteStream};
use bytes::Bytes;
use futures_util::StreamExt;

/// A stream of these parts, as a client's body arrives.
pub fn chunks(parts: &[&[u8]]) -> ByteStream<'static> {
    let items: Vec<std::io::Result<Bytes>> = parts.iter().map(|p| Ok(Bytes::copy_from_slice(p))).collect();
    Box::pin(futures_util::stream::iter(items))
}

/// Everything a blob yields.
pub async fn read_all(blob: Blob) -> Vec<u8> {
    let mut out = Vec::new();
    let mut body = blob.body;
    while let Some(chunk) = body.next().await {
        out.extend_from_slice(&chunk.expect("chunk"));
    }
    out
}

/// Put, open, delete, and delete again (not an error); an unknown key has
/// no blob; a second put under a key replaces the first whole.
pub async fn blobs_round_trip(blobs: &dyn BlobStore) {
    let size = blobs.put("F1", chunks(&[b"hello ", b"world"]), Some(11)).await.expect("put");
    assert_eq!(size, 11);
    let blob = blobs.open("F1").await.expect("open").expect("present");
    assert_eq!(blob.size, 11);
    assert_eq!(read_all(blob).await, b"hello world");
    blobs.put("F1", chunks(&[b"bye"]), None).await.expect("replace");
    assert_eq!(read_all(blobs.open("F1").await.expect("open").expect("present")).await, b"bye");
    blobs.delete("F1").await.expect("delete");
    assert!(blobs.open("F1").await.expect("open").is_none());
    blobs.delete("F1").await.expect("deleting twice is fine");
    assert!(blobs.open("nope").await.expect("open").is_none());
    // An empty file is a file.
    assert_eq!(blobs.put("F0", chunks(&[]), None).await.expect("put"), 0);
    let empty = blobs.open("F0").await.expect("open").expect("present");
    assert_eq!(empty.size, 0);
    assert!(read_all(empty).await.is_empty());
}

/// A range reads only its bytes; the size is always the whole file's.
pub async fn blobs_ranges(blobs: &dyn BlobStore) {
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

/// A file of a few megabytes, arriving in odd-sized parts, comes back byte
/// for byte, whole and in ranges that cross any internal chunking.
pub async fn blobs_large_files_and_ranges(blobs: &dyn BlobStore) {
    let data: Vec<u8> = (0..3_000_017u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let parts: Vec<&[u8]> = data.chunks(70_001).collect();
    let size = blobs.put("BIG", chunks(&parts), Some(data.len() as u64)).await.expect("put");
    assert_eq!(size, data.len() as u64);
    assert_eq!(read_all(blobs.open("BIG").await.expect("open").expect("present")).await, data);
    for (start, len) in
        [(0u64, 1u64), (262_143, 2), (262_144, 262_144), (1_000_000, 1_500_000), (2_999_000, 5_000)]
    {
        let blob = blobs.open_range("BIG", start, len).await.expect("open").expect("present");
        assert_eq!(blob.size, data.len() as u64);
        let from = start as usize;
        let to = (start + len).min(data.len() as u64) as usize;
        assert_eq!(read_all(blob).await, &data[from..to], "{start}+{len}");
    }
    blobs.delete("BIG").await.expect("delete");
    assert!(blobs.open("BIG").await.expect("open").is_none());
}

/// A body over the limit, and one that breaks off, keep nothing (and leave
/// what was stored under the key before).
pub async fn blobs_refused_bodies_keep_nothing(blobs: &dyn BlobStore) {
    let err = blobs.put("F3", chunks(&[b"12345", b"6"]), Some(5)).await.expect_err("too large");
    assert!(matches!(err, BlobError::TooLarge { limit: 5 }), "{err}");
    let broken: Vec<std::io::Result<Bytes>> =
        vec![Ok(Bytes::from_static(b"abc")), Err(std::io::Error::other("client went away"))];
    let err = blobs.put("F4", Box::pin(futures_util::stream::iter(broken)), None).await.expect_err("broken");
    assert!(matches!(err, BlobError::Incoming(_)), "{err}");
    assert!(blobs.open("F3").await.expect("open").is_none());
    assert!(blobs.open("F4").await.expect("open").is_none());
    blobs.put("F5", chunks(&[b"kept"]), None).await.expect("put");
    blobs.put("F5", chunks(&[b"much too long"]), Some(5)).await.expect_err("too large");
    assert_eq!(read_all(blobs.open("F5").await.expect("open").expect("kept")).await, b"kept");
}
