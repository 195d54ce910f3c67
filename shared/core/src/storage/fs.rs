//! The local filesystem backend: bytes are staged in a temporary file and renamed into place, so
//! a half-written file is never visible.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::task::JoinHandle;

use super::{ByteStream, StagedFile, Storage, check_key};

pub struct FsStorage {
    root: PathBuf,
    small: SmallFiles,
}

impl FsStorage {
    pub fn new(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(root.join("tmp"))?;
        Ok(Self {
            root,
            small: SmallFiles::default(),
        })
    }

    fn path(&self, key: &str) -> io::Result<PathBuf> {
        key_path(&self.root, key)
    }
}

fn key_path(root: &Path, key: &str) -> io::Result<PathBuf> {
    check_key(key)?;
    Ok(root.join(key))
}

/// Files up to this size are kept in memory once read whole ...
const SMALL_FILE: u64 = 64 * 1024;
/// ... up to this much in all (then the memory starts over).
const SMALL_FILES_BUDGET: usize = 32 * 1024 * 1024;

/// Small files kept in memory, as a web server leans on the page cache: what a small download
/// costs is otherwise mostly the trip to the blocking pool. A key is never rewritten with other
/// bytes (keys name content, and commit keeps what is there), so an entry is right until its
/// file is deleted.
#[derive(Default)]
struct SmallFiles {
    entries: Mutex<(HashMap<String, Bytes>, usize)>,
}

impl SmallFiles {
    fn get(&self, key: &str) -> Option<Bytes> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.0.get(key).cloned()
    }

    fn put(&self, key: &str, bytes: Bytes) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.1 + bytes.len() > SMALL_FILES_BUDGET {
            *entries = Default::default();
        }
        entries.1 += bytes.len();
        if let Some(old) = entries.0.insert(key.to_string(), bytes) {
            entries.1 -= old.len();
        }
    }

    fn forget(&self, key: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = entries.0.remove(key) {
            entries.1 -= old.len();
        }
    }
}

/// Bytes a stream reads from a file at a time.
const CHUNK: u64 = 512 * 1024;

/// `len` bytes of `file` from where it stands, in chunks, each read on the blocking pool while
/// the one before is being sent (tokio's File reads only when polled, through a buffer of its
/// own, so a large download would wait on every read and copy every byte twice).
fn read_ahead(file: Arc<std::fs::File>, len: u64) -> ByteStream {
    fn read_chunk(file: Arc<std::fs::File>, remaining: u64) -> JoinHandle<io::Result<Bytes>> {
        tokio::task::spawn_blocking(move || {
            use std::io::Read;
            let n = remaining.min(CHUNK);
            let mut buf = Vec::with_capacity(n as usize);
            // One read at a time, in order, so the file's own position is the stream's.
            (&*file).take(n).read_to_end(&mut buf)?;
            if (buf.len() as u64) < n {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the stored file is shorter than its recorded size",
                ));
            }
            Ok(Bytes::from(buf))
        })
    }
    let first = (len > 0).then(|| read_chunk(file.clone(), len));
    Box::pin(futures_util::stream::unfold(
        (first, len),
        move |(pending, remaining)| {
            let file = file.clone();
            async move {
                let chunk = match pending?.await {
                    Ok(Ok(chunk)) => chunk,
                    Ok(Err(e)) => return Some((Err(e), (None, 0))),
                    Err(e) => return Some((Err(io::Error::other(e)), (None, 0))),
                };
                let left = remaining - chunk.len() as u64;
                let next = (left > 0).then(|| read_chunk(file, left));
                Some((Ok(chunk), (next, left)))
            }
        },
    ))
}

/// `len` bytes from `offset` of a whole file in memory (an error if the file is shorter).
fn slice(whole: &Bytes, offset: u64, len: u64) -> io::Result<Bytes> {
    let end = offset
        .checked_add(len)
        .filter(|end| *end <= whole.len() as u64);
    match end {
        Some(end) => Ok(whole.slice(offset as usize..end as usize)),
        None => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the stored file is shorter than its recorded size",
        )),
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
        let path = self.path(key)?;
        let (file, len) = tokio::task::spawn_blocking(move || {
            use std::io::Seek;
            let mut file = std::fs::File::open(path)?;
            let len = match len {
                Some(n) => n,
                None => file.metadata()?.len().saturating_sub(offset),
            };
            file.seek(io::SeekFrom::Start(offset))?;
            Ok::<_, io::Error>((file, len))
        })
        .await
        .map_err(io::Error::other)??;
        Ok(read_ahead(Arc::new(file), len))
    }

    async fn read(&self, key: &str, offset: u64, len: u64) -> io::Result<Bytes> {
        if let Some(whole) = self.small.get(key) {
            return slice(&whole, offset, len);
        }
        // One trip to the blocking pool for open, seek and read (tokio's File makes one each).
        let path = self.path(key)?;
        let (part, whole) = tokio::task::spawn_blocking(move || {
            use std::io::{Read, Seek};
            let mut file = std::fs::File::open(path)?;
            if file.metadata()?.len() <= SMALL_FILE {
                let mut whole = Vec::new();
                file.read_to_end(&mut whole)?;
                let whole = Bytes::from(whole);
                return Ok::<_, io::Error>((slice(&whole, offset, len)?, Some(whole)));
            }
            if offset > 0 {
                file.seek(io::SeekFrom::Start(offset))?;
            }
            let mut buf = vec![0; len as usize];
            file.read_exact(&mut buf)?;
            Ok((Bytes::from(buf), None))
        })
        .await
        .map_err(io::Error::other)??;
        if let Some(whole) = whole {
            self.small.put(key, whole);
        }
        Ok(part)
    }

    async fn space(&self) -> io::Result<Option<super::Space>> {
        let root = self.root.clone();
        let st = tokio::task::spawn_blocking(move || rustix::fs::statvfs(&root))
            .await
            .map_err(io::Error::other)??;
        let block = st.f_frsize;
        Ok(Some(super::Space {
            total: st.f_blocks * block,
            used: st.f_blocks.saturating_sub(st.f_bfree) * block,
            free: st.f_bavail * block,
        }))
    }

    async fn delete(&self, key: &str) -> io::Result<()> {
        self.small.forget(key);
        let path = self.path(key)?;
        match tokio::fs::remove_file(&path).await {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            other => other?,
        }
        // A folder of one owner (an upload's chunks) goes with its last file. The artifact
        // fan-out folders stay: other writers rename files into them at any time.
        if !key.starts_with("artifact/")
            && let Some(parent) = path.parent()
            && parent != self.root
        {
            let _ = tokio::fs::remove_dir(parent).await; // fails while not empty
        }
        Ok(())
    }

    async fn sweep_staged(&self, idle: std::time::Duration) -> io::Result<u64> {
        let dir = self.root.join("tmp");
        tokio::task::spawn_blocking(move || {
            let mut removed = 0;
            for entry in std::fs::read_dir(&dir)? {
                let entry = entry?;
                let unused = entry.metadata()?.modified()?.elapsed().unwrap_or_default();
                if unused >= idle && std::fs::remove_file(entry.path()).is_ok() {
                    removed += 1;
                }
            }
            Ok(removed)
        })
        .await
        .map_err(io::Error::other)?
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
        let dest = key_path(&self.root, key)?;
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
    async fn small_reads_come_from_memory_until_the_file_is_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let storage = FsStorage::new(dir.path()).unwrap();
        for (key, len) in [("artifact/ab/small", 1000), ("artifact/ab/large", 100_000)] {
            let mut staged = storage.stage().await.unwrap();
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            staged.write(&data).await.unwrap();
            staged.commit(key).await.unwrap();
            // A range first: the whole file is what is kept, not the range.
            assert_eq!(storage.read(key, 10, 5).await.unwrap(), data[10..15]);
            assert_eq!(storage.read(key, 0, len).await.unwrap(), data[..]);
            assert!(storage.read(key, 1, len).await.is_err(), "past the end");
        }
        assert!(storage.small.get("artifact/ab/small").is_some());
        assert!(storage.small.get("artifact/ab/large").is_none());
        storage.delete("artifact/ab/small").await.unwrap();
        assert!(storage.small.get("artifact/ab/small").is_none());
        assert!(storage.read("artifact/ab/small", 0, 10).await.is_err());
    }

    #[tokio::test]
    async fn streams_cross_chunks_and_stop_at_the_range() {
        let dir = tempfile::tempdir().unwrap();
        let storage = FsStorage::new(dir.path()).unwrap();
        let data: Vec<u8> = (0..(2 * CHUNK + 12_345)).map(|i| (i % 253) as u8).collect();
        let mut staged = storage.stage().await.unwrap();
        staged.write(&data).await.unwrap();
        staged.commit("artifact/cd/big").await.unwrap();
        for (offset, len) in [
            (0, None),
            (100, Some(CHUNK + 7)),
            (CHUNK, None),
            (5, Some(0)),
        ] {
            let mut stream = storage.open("artifact/cd/big", offset, len).await.unwrap();
            let mut got = Vec::new();
            while let Some(chunk) = stream.next().await {
                got.extend_from_slice(&chunk.unwrap());
            }
            let end = len.map_or(data.len(), |n| (offset + n) as usize);
            assert_eq!(
                got,
                data[offset as usize..end],
                "offset {offset}, len {len:?}"
            );
        }
        // Asked for more than there is: the stream ends in an error, not short and quiet.
        let mut stream = storage
            .open("artifact/cd/big", 10, Some(data.len() as u64))
            .await
            .unwrap();
        let mut failed = false;
        while let Some(chunk) = stream.next().await {
            failed |= chunk.is_err();
        }
        assert!(failed);
    }

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
