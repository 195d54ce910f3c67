//! An export's bytes on disk: one file, or chunks of a fixed size named `<base>.0000`,
//! `<base>.0001`... as Pulp splits them, each with its CRC32 (Pulp's `Crc32Hasher` hex). The
//! writer hashes as it writes; the reader reads the chunks back as one stream and can skip
//! forward without reading (an import's tasks each look for their own entries).

use std::io::SeekFrom;
use std::path::{Path, PathBuf};

use tokio::fs::File;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// Bytes gathered before a write to disk.
const BUFFER: usize = 256 * 1024;
/// The most chunks one export writes (a tiny `chunk_size` must not make millions of files).
pub const MAX_CHUNKS: usize = 100_000;

/// Pulp's CRC32 hex: lowercase, without leading zeros.
pub fn crc32_hex(h: crc32fast::Hasher) -> String {
    format!("{:x}", h.finalize())
}

/// Writes one file, or chunks of `chunk_size` bytes, hashing each.
pub struct ChunkWriter {
    base: PathBuf,
    chunk_size: u64,
    index: usize,
    file: Option<(PathBuf, File, crc32fast::Hasher, u64)>,
    buffer: Vec<u8>,
    done: Vec<(PathBuf, String)>,
}

impl ChunkWriter {
    /// Writes `base` itself when `chunk_size` is 0, else `base.0000`, `base.0001`...
    pub fn new(base: PathBuf, chunk_size: u64) -> Self {
        Self {
            base,
            chunk_size,
            index: 0,
            file: None,
            buffer: Vec::with_capacity(BUFFER),
            done: Vec::new(),
        }
    }

    /// The files written so far, finished ones only.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.done
            .iter()
            .map(|(p, _)| p.as_path())
            .chain(self.file.as_ref().map(|(p, ..)| p.as_path()))
    }

    pub async fn write(&mut self, mut data: &[u8]) -> std::io::Result<()> {
        while !data.is_empty() {
            let room = BUFFER - self.buffer.len();
            let n = room.min(data.len());
            self.buffer.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.buffer.len() == BUFFER {
                self.flush_buffer().await?;
            }
        }
        Ok(())
    }

    async fn flush_buffer(&mut self) -> std::io::Result<()> {
        let buffer = std::mem::take(&mut self.buffer);
        let mut data = buffer.as_slice();
        while !data.is_empty() {
            if self.file.is_none() {
                self.open_next().await?;
            }
            let Some((_, file, hasher, written)) = self.file.as_mut() else {
                return Err(std::io::Error::other("no open chunk"));
            };
            let n = match self.chunk_size {
                0 => data.len(),
                size => ((size - *written) as usize).min(data.len()),
            };
            file.write_all(&data[..n]).await?;
            hasher.update(&data[..n]);
            *written += n as u64;
            data = &data[n..];
            if self.chunk_size > 0 && *written == self.chunk_size {
                self.close_current().await?;
            }
        }
        self.buffer = buffer;
        self.buffer.clear();
        Ok(())
    }

    async fn open_next(&mut self) -> std::io::Result<()> {
        if self.index >= MAX_CHUNKS {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "the export would need more than {MAX_CHUNKS} chunks: ask for a larger chunk_size"
                ),
            ));
        }
        let path = match self.chunk_size {
            0 => self.base.clone(),
            _ => {
                let mut name = self.base.as_os_str().to_owned();
                name.push(format!(".{:04}", self.index));
                PathBuf::from(name)
            }
        };
        self.index += 1;
        let file = File::create(&path).await?;
        self.file = Some((path, file, crc32fast::Hasher::new(), 0));
        Ok(())
    }

    async fn close_current(&mut self) -> std::io::Result<()> {
        if let Some((path, mut file, hasher, _)) = self.file.take() {
            file.flush().await?;
            file.sync_all().await?;
            self.done.push((path, crc32_hex(hasher)));
        }
        Ok(())
    }

    /// Writes what is buffered and closes the last file: the files in order, with their CRC32s.
    pub async fn finish(mut self) -> std::io::Result<Vec<(PathBuf, String)>> {
        self.flush_buffer().await?;
        if self.file.is_none() && self.done.is_empty() {
            self.open_next().await?;
        }
        self.close_current().await?;
        Ok(self.done)
    }
}

/// Reads chunk files back as one stream.
pub struct ChunkReader {
    files: Vec<(PathBuf, u64)>,
    current: usize,
    file: Option<File>,
    /// Position in the current file.
    offset: u64,
}

impl ChunkReader {
    /// The files, in order. Their sizes are taken now.
    pub async fn open(paths: Vec<PathBuf>) -> std::io::Result<Self> {
        let mut files = Vec::with_capacity(paths.len());
        for p in paths {
            let len = tokio::fs::metadata(&p).await?.len();
            files.push((p, len));
        }
        Ok(Self {
            files,
            current: 0,
            file: None,
            offset: 0,
        })
    }

    /// Fills `buf` as far as the data goes; fewer bytes only at the end.
    pub async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut filled = 0;
        while filled < buf.len() && self.current < self.files.len() {
            if self.file.is_none() {
                let mut f = File::open(&self.files[self.current].0).await?;
                f.seek(SeekFrom::Start(self.offset)).await?;
                self.file = Some(f);
            }
            let Some(f) = self.file.as_mut() else { break };
            let n = f.read(&mut buf[filled..]).await?;
            if n == 0 {
                self.next_file();
                continue;
            }
            filled += n;
            self.offset += n as u64;
            if self.offset >= self.files[self.current].1 {
                self.next_file();
            }
        }
        Ok(filled)
    }

    fn next_file(&mut self) {
        self.current += 1;
        self.file = None;
        self.offset = 0;
    }

    /// Skips `n` bytes without reading them.
    pub async fn skip(&mut self, mut n: u64) -> std::io::Result<()> {
        while n > 0 && self.current < self.files.len() {
            let left = self.files[self.current].1 - self.offset;
            if n < left {
                self.offset += n;
                if let Some(f) = self.file.as_mut() {
                    f.seek(SeekFrom::Start(self.offset)).await?;
                }
                return Ok(());
            }
            n -= left;
            self.next_file();
        }
        match n {
            0 => Ok(()),
            _ => Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the export ends early",
            )),
        }
    }
}

/// The CRC32 of a file, as Pulp checks a chunk named in a table of contents.
pub async fn crc32_of(path: &Path) -> std::io::Result<String> {
    let mut f = File::open(path).await?;
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = vec![0u8; BUFFER];
    loop {
        let n = f.read(&mut buf).await?;
        if n == 0 {
            return Ok(crc32_hex(hasher));
        }
        hasher.update(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chunks_split_hash_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        let mut w = ChunkWriter::new(dir.path().join("export.tar"), 300);
        w.write(&data[..10]).await.unwrap();
        w.write(&data[10..]).await.unwrap();
        let files = w.finish().await.unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "export.tar.0000",
                "export.tar.0001",
                "export.tar.0002",
                "export.tar.0003"
            ]
        );
        for (p, crc) in &files {
            assert_eq!(&crc32_of(p).await.unwrap(), crc);
        }
        assert_eq!(std::fs::metadata(&files[0].0).unwrap().len(), 300);
        assert_eq!(std::fs::metadata(&files[3].0).unwrap().len(), 100);

        let paths = files.iter().map(|(p, _)| p.clone()).collect();
        let mut r = ChunkReader::open(paths).await.unwrap();
        let mut head = [0u8; 5];
        assert_eq!(r.read(&mut head).await.unwrap(), 5);
        assert_eq!(&head, &data[..5]);
        r.skip(590).await.unwrap();
        let mut rest = vec![0u8; 2000];
        let n = r.read(&mut rest).await.unwrap();
        assert_eq!(&rest[..n], &data[595..]);
        assert!(r.skip(1).await.is_err());
    }

    #[tokio::test]
    async fn unchunked_is_one_file_even_when_empty() {
        let dir = tempfile::tempdir().unwrap();
        let files = ChunkWriter::new(dir.path().join("e.tar"), 0)
            .finish()
            .await
            .unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].1, "0");
        assert!(files[0].0.ends_with("e.tar"));
    }
}
