//! Where artifact bytes live. The interface is shaped for object storage (stage, then commit
//! under a key). Two backends: the local filesystem (the default) and S3-compatible object
//! storage. Writes are atomic on both: nothing is visible under a key until it is complete.

pub mod domains;
mod fs;
mod s3;

use std::io;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::Stream;

pub use fs::FsStorage;
pub use s3::S3Storage;

use crate::config::StorageSettings;

pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

#[async_trait]
pub trait Storage: Send + Sync {
    /// Starts writing a new file; nothing is visible until [`StagedFile::commit`].
    async fn stage(&self) -> io::Result<Box<dyn StagedFile>>;
    async fn exists(&self, key: &str) -> io::Result<bool>;
    /// Reads `len` bytes (or to the end) from `offset`.
    async fn open(&self, key: &str, offset: u64, len: Option<u64>) -> io::Result<ByteStream>;
    /// Reads `len` bytes from `offset` into memory: for small files, where a stream's
    /// bookkeeping costs more than the bytes.
    async fn read(&self, key: &str, offset: u64, len: u64) -> io::Result<Bytes> {
        use futures_util::TryStreamExt;
        let chunks: Vec<Bytes> = self
            .open(key, offset, Some(len))
            .await?
            .try_collect()
            .await?;
        Ok(chunks.concat().into())
    }
    async fn delete(&self, key: &str) -> io::Result<()>;
    /// The size and free space of the disk holding the files, in bytes; `None` where there is
    /// no such disk (object storage).
    async fn space(&self) -> io::Result<Option<Space>> {
        Ok(None)
    }
    /// Domain `domain_id`'s storage changed: a backend kept for it is stale.
    fn forget(&self, _domain_id: &str) {}
    /// Removes staged files nobody has written to for `idle` (a process killed while writing
    /// leaves them; a live writer touches its file far more often). Returns how many went.
    async fn sweep_staged(&self, idle: std::time::Duration) -> io::Result<u64>;
    /// A time-limited URL from which a client can fetch the file itself (object storage only).
    /// `head` signs a HEAD request instead of a GET; the URL names the file `filename`.
    async fn presigned_url(
        &self,
        _key: &str,
        _head: bool,
        _filename: &str,
        _content_type: &str,
    ) -> io::Result<Option<String>> {
        Ok(None)
    }
}

/// A disk's figures, as Python's `shutil.disk_usage` gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    pub total: u64,
    pub used: u64,
    pub free: u64,
}

#[async_trait]
pub trait StagedFile: Send {
    async fn write(&mut self, data: &[u8]) -> io::Result<()>;
    /// Makes the bytes visible under `key`. If `key` already exists the staged copy is dropped:
    /// keys are content addresses, so the existing file holds the same bytes.
    async fn commit(self: Box<Self>, key: &str) -> io::Result<()>;
}

/// Content-addressed key of an artifact of the domain in force, as Pulp lays them out:
/// `artifact/ab/cdef...` in `default`, `artifact/<domain id>/ab/cdef...` in the others (no
/// domain's files are another's, whether they share a storage or not).
pub fn artifact_key(sha256: &str) -> String {
    let domain = crate::domain::id();
    match &*domain == crate::domain::DEFAULT_ID {
        true => format!("artifact/{}/{}", &sha256[..2], &sha256[2..]),
        false => format!("artifact/{domain}/{}/{}", &sha256[..2], &sha256[2..]),
    }
}

/// Refuses keys that could escape the storage root. Keys are made by Depot, never by users,
/// but a wrong one must not touch anything outside.
fn check_key(key: &str) -> io::Result<()> {
    if key
        .split('/')
        .any(|p| p.is_empty() || p == "." || p == "..")
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "bad storage key",
        ));
    }
    Ok(())
}

/// Opens the configured backend; object storage is checked to be reachable, so that a wrong
/// bucket, endpoint or credentials fail at start-up with the setting's name.
pub async fn open(settings: &StorageSettings) -> Result<Arc<dyn Storage>, String> {
    Ok(match settings {
        StorageSettings::Fs { root } => Arc::new(FsStorage::new(root).map_err(|e| {
            format!(
                "cannot use the storage folder {} (DEPOT_STORAGE_URL / DEPOT_DATA_DIR): {e}",
                root.display()
            )
        })?),
        StorageSettings::S3(s3) => Arc::new(S3Storage::connect(s3).await?),
    })
}
