//! Where artifact bytes live. The interface is shaped for object storage (stage, then commit
//! under a key); the default backend is the local filesystem. Writes are atomic: bytes are
//! staged in a temporary file and renamed into place, so a half-written file is never visible.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::Stream;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

#[async_trait]
pub trait Storage: Send + Sync {
    /// Starts writing a new file; nothing is visible until [`StagedFile::commit`].
    async fn stage(&self) -> io::Result<Box<dyn StagedFile>>;
    async fn exists(&self, key: &str) -> io::Result<bool>;
    /// Reads `len` bytes (or to the end) from `offset`.
    async fn open(&self, key: &str, offset: u64, len: Option<u64>) -> io::Result<ByteStream>;
    async fn delete(&self, key: &str) -> io::Result<()>;
    /// The file's path when the backend is a local filesystem (lets the content app serve it
    /// directly).
    fn local_path(&self, key: &str) -> Option<PathBuf>;
}

#[async_trait]
pub trait StagedFile: Send {
    async fn write(&mut self, data: &[u8]) -> io::Result<()>;
    /// Makes the bytes visible under `key`. If `key` already exists the staged copy is dropped:
    /// keys are content addresses, so the existing file holds the same bytes.
    async fn commit(self: Box<Self>, key: &str) -> io::Result<()>;
}

/// Content-addressed key of an artifact: `artifact/ab/cdef...`.
pub fn artifact_key(sha256: &str) -> String {
    format!("artifact/{}/{}", &sha256[..2], &sha256[2..])
}

pub struct FsStorage {
    root: PathBuf,
}

impl FsStorage {
    pub fn new(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(root.join("tmp"))?;
        Ok(Self { root })
    }

    fn path(&self, key: &str) -> io::Result<PathBuf> {
        // Keys are made by Depot, never by users, but refuse anything that could escape anyway.
        if key
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "bad storage key",
            ));
        }
        Ok(self.root.join(key))
    }
}

#[async_trait]
impl Storage for FsStorage {
    async fn stage(&self) -> io::Result<Box<dyn StagedFile>> {
        let path = self.root.join("tmp").join(uuid::Uuid::new_v4().to_string());
        let file = tokio::fs::File::create(&path).await?;
        Ok(Box::new(FsStaged {
            root: self.root.clone(),
            path: Some(path),
            file: Some(tokio::io::BufWriter::with_capacity(256 * 1024, file)),
        }))
    }

    async fn exists(&self, key: &str) -> io::Result<bool> {
        tokio::fs::try_exists(self.path(key)?).await
    }

    async fn open(&self, key: &str, offset: u64, len: Option<u64>) -> io::Result<ByteStream> {
        use tokio::io::AsyncReadExt;
        let mut file = tokio::fs::File::open(self.path(key)?).await?;
        if offset > 0 {
            file.seek(io::SeekFrom::Start(offset)).await?;
        }
        let reader: Box<dyn tokio::io::AsyncRead + Send + Unpin> = match len {
            Some(n) => Box::new(file.take(n)),
            None => Box::new(file),
        };
        Ok(Box::pin(tokio_util::io::ReaderStream::with_capacity(
            reader,
            64 * 1024,
        )))
    }

    async fn delete(&self, key: &str) -> io::Result<()> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    fn local_path(&self, key: &str) -> Option<PathBuf> {
        self.path(key).ok()
    }
}

struct FsStaged {
    root: PathBuf,
    path: Option<PathBuf>,
    file: Option<tokio::io::BufWriter<tokio::fs::File>>,
}

#[async_trait]
impl StagedFile for FsStaged {
    async fn write(&mut self, data: &[u8]) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.write_all(data).await,
            None => Err(io::Error::other("staged file already closed")),
        }
    }

    async fn commit(mut self: Box<Self>, key: &str) -> io::Result<()> {
        let mut file = self.file.take().expect("commit once");
        file.flush().await?;
        file.get_mut().sync_data().await?;
        drop(file);
        let src = self.path.take().expect("commit once");
        let dest = FsStorage {
            root: self.root.clone(),
        }
        .path(key)?;
        if tokio::fs::try_exists(&dest).await? {
            tokio::fs::remove_file(&src).await?;
            return Ok(());
        }
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        tokio::fs::rename(&src, &dest).await
    }
}

impl Drop for FsStaged {
    fn drop(&mut self) {
        // Not committed: throw the partial bytes away.
        if let Some(path) = self.path.take() {
            remove_quietly(&path);
        }
    }
}

fn remove_quietly(path: &Path) {
    let _ = std::fs::remove_file(path);
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[tokio::test]
    async fn staged_files_appear_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let storage = FsStorage::new(dir.path()).unwrap();
        let mut staged = storage.stage().await.unwrap();
        staged.write(b"hello ").await.unwrap();
        staged.write(b"world").await.unwrap();
        assert!(!storage.exists("artifact/ab/c").await.unwrap());
        staged.commit("artifact/ab/c").await.unwrap();
        let mut s = storage.open("artifact/ab/c", 6, Some(3)).await.unwrap();
        let mut out = Vec::new();
        while let Some(chunk) = s.next().await {
            out.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(out, b"wor");

        let mut dropped = storage.stage().await.unwrap();
        dropped.write(b"partial").await.unwrap();
        drop(dropped);
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
        assert!(storage.open("../etc/passwd", 0, None).await.is_err());
    }
}
