//! The local filesystem backend: bytes are staged in a temporary file and renamed into place, so
//! a half-written file is never visible.

use std::io;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use super::{ByteStream, StagedFile, Storage, check_key};

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
        check_key(key)?;
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
