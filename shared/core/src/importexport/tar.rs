//! Tar streams, written and read asynchronously so that artifact bytes go between storage and
//! the export without a blocking thread. Only what exports hold: regular files. Long names are
//! written as GNU long-name entries; on reading, GNU and PAX long names (Python's `tarfile`
//! writes PAX) are understood, and everything else but regular files is skipped.

use std::io::{Error, ErrorKind, Result};
use std::path::PathBuf;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use super::chunks::{ChunkReader, ChunkWriter};

const BLOCK: usize = 512;
/// The longest name or PAX header accepted.
const MAX_META: u64 = 64 * 1024;

fn padding(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

/// Writes a tar stream into an export's files.
pub struct TarWriter {
    out: ChunkWriter,
    mtime: u64,
}

impl TarWriter {
    pub fn new(out: ChunkWriter) -> Self {
        let mtime = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Self { out, mtime }
    }

    /// The files written so far.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.out.paths().map(|p| p.to_path_buf()).collect()
    }

    async fn header(&mut self, path: &str, size: u64) -> Result<()> {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_mtime(self.mtime);
        h.set_uid(0);
        h.set_gid(0);
        let name = path.as_bytes();
        if name.len() > 100 {
            let mut long = tar::Header::new_gnu();
            long.set_entry_type(tar::EntryType::GNULongName);
            long.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
            long.set_mode(0o644);
            long.set_size(name.len() as u64 + 1);
            long.set_cksum();
            self.out.write(long.as_bytes()).await?;
            self.out.write(name).await?;
            self.out.write(&[0]).await?;
            self.pad(name.len() as u64 + 1).await?;
            h.as_old_mut().name.copy_from_slice(&name[..100]);
        } else {
            h.as_old_mut().name[..name.len()].copy_from_slice(name);
        }
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(size);
        h.set_cksum();
        self.out.write(h.as_bytes()).await
    }

    async fn pad(&mut self, size: u64) -> Result<()> {
        let n = padding(size) as usize;
        self.out.write(&[0u8; BLOCK][..n]).await
    }

    pub async fn append_bytes(&mut self, path: &str, data: &[u8]) -> Result<()> {
        self.header(path, data.len() as u64).await?;
        self.out.write(data).await?;
        self.pad(data.len() as u64).await
    }

    /// Appends a file of `size` bytes read from `body`; a body of another length fails.
    pub async fn append_stream<S>(&mut self, path: &str, size: u64, body: S) -> Result<()>
    where
        S: Stream<Item = Result<Bytes>>,
    {
        self.header(path, size).await?;
        let mut written = 0u64;
        let mut body = std::pin::pin!(body);
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            written += chunk.len() as u64;
            if written > size {
                break;
            }
            self.out.write(&chunk).await?;
        }
        if written != size {
            return Err(Error::new(
                ErrorKind::InvalidData,
                format!("{path}: {written} bytes stored where {size} were expected"),
            ));
        }
        self.pad(size).await
    }

    /// Ends the archive: the files written, with their CRC32s.
    pub async fn finish(mut self) -> Result<Vec<(PathBuf, String)>> {
        self.out.write(&[0u8; BLOCK * 2]).await?;
        self.out.finish().await
    }
}

/// One regular file in a tar stream.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: String,
    pub size: u64,
}

/// Reads the regular files of a tar stream in order.
pub struct TarReader {
    r: ChunkReader,
    /// Bytes of the current entry not read yet, and its padding.
    left: u64,
    pad: u64,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidData, msg.into())
}

impl TarReader {
    pub fn new(r: ChunkReader) -> Self {
        Self { r, left: 0, pad: 0 }
    }

    async fn block(&mut self) -> Result<Option<[u8; BLOCK]>> {
        let mut b = [0u8; BLOCK];
        match self.r.read(&mut b).await? {
            0 => Ok(None),
            BLOCK => Ok(Some(b)),
            _ => Err(bad("the export ends in the middle of a tar header")),
        }
    }

    async fn read_meta(&mut self, size: u64) -> Result<Vec<u8>> {
        if size > MAX_META {
            return Err(bad("a tar header is too long"));
        }
        let mut data = vec![0u8; size as usize];
        if self.r.read(&mut data).await? != data.len() {
            return Err(bad("the export ends early"));
        }
        self.r.skip(padding(size)).await?;
        Ok(data)
    }

    /// The next regular file; what was not read of the one before is skipped.
    pub async fn next(&mut self) -> Result<Option<Entry>> {
        self.r.skip(self.left + self.pad).await?;
        self.left = 0;
        self.pad = 0;
        let mut long_name: Option<String> = None;
        loop {
            let Some(block) = self.block().await? else {
                return Ok(None);
            };
            if block.iter().all(|b| *b == 0) {
                return Ok(None);
            }
            let h = tar::Header::from_byte_slice(&block);
            let sum: u32 = block
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    if (148..156).contains(&i) {
                        32
                    } else {
                        *b as u32
                    }
                })
                .sum();
            if h.cksum().ok() != Some(sum) {
                return Err(bad("a tar header's checksum does not match"));
            }
            let size = h
                .entry_size()
                .map_err(|_| bad("a tar header's size is unreadable"))?;
            match h.entry_type() {
                tar::EntryType::GNULongName => {
                    let data = self.read_meta(size).await?;
                    let name = data.split(|b| *b == 0).next().unwrap_or_default();
                    long_name = Some(String::from_utf8_lossy(name).into_owned());
                }
                tar::EntryType::XHeader => {
                    let data = self.read_meta(size).await?;
                    if let Some(p) = pax_path(&data) {
                        long_name = Some(p);
                    }
                }
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    let path = match long_name.take() {
                        Some(p) => p,
                        None => String::from_utf8_lossy(&h.path_bytes()).into_owned(),
                    };
                    self.left = size;
                    self.pad = padding(size);
                    return Ok(Some(Entry { path, size }));
                }
                _ => {
                    long_name = None;
                    self.r.skip(size + padding(size)).await?;
                }
            }
        }
    }

    /// Reads on in the current entry; 0 at its end.
    pub async fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        let want = (buf.len() as u64).min(self.left) as usize;
        if want == 0 {
            return Ok(0);
        }
        let n = self.r.read(&mut buf[..want]).await?;
        if n == 0 {
            return Err(bad("the export ends in the middle of a file"));
        }
        self.left -= n as u64;
        Ok(n)
    }

    /// The whole current entry, which must be at most `limit` bytes.
    pub async fn read_all(&mut self, limit: u64) -> Result<Vec<u8>> {
        if self.left > limit {
            return Err(bad(format!(
                "a file in the export is larger than {limit} bytes"
            )));
        }
        let mut data = vec![0u8; self.left as usize];
        let mut filled = 0;
        while filled < data.len() {
            filled += self.read(&mut data[filled..]).await?;
        }
        Ok(data)
    }
}

/// The `path` record of a PAX extended header (`<len> path=<value>\n` records).
fn pax_path(data: &[u8]) -> Option<String> {
    let mut rest = data;
    while !rest.is_empty() {
        let space = rest.iter().position(|b| *b == b' ')?;
        let len: usize = std::str::from_utf8(&rest[..space]).ok()?.parse().ok()?;
        if len <= space || len > rest.len() {
            return None;
        }
        let record = &rest[space + 1..len];
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(value) = record.strip_prefix(b"path=") {
            return String::from_utf8(value.to_vec()).ok();
        }
        rest = &rest[len..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn written_entries_read_back_with_long_names() {
        let dir = tempfile::tempdir().unwrap();
        let long = format!("repository-{}_1/file.json", "n".repeat(150));
        let mut w = TarWriter::new(ChunkWriter::new(dir.path().join("t.tar"), 1000));
        w.append_bytes("versions.json", b"[]").await.unwrap();
        let body = futures_util::stream::iter([
            Ok(Bytes::from_static(b"hello ")),
            Ok(Bytes::from_static(b"world")),
        ]);
        w.append_stream(&long, 11, body).await.unwrap();
        let short = futures_util::stream::iter([Ok(Bytes::from_static(b"hi"))]);
        assert!(w.append_stream("x", 3, short).await.is_err());
        let files = w.finish().await.unwrap();
        assert!(files.len() > 1);

        // The tar crate (as any tar reader) reads what was written.
        let mut all = Vec::new();
        for (p, _) in &files {
            all.extend(std::fs::read(p).unwrap());
        }
        let mut archive = tar::Archive::new(all.as_slice());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names[..2], ["versions.json".to_string(), long.clone()]);

        let paths = files.iter().map(|(p, _)| p.clone()).collect();
        let mut r = TarReader::new(ChunkReader::open(paths).await.unwrap());
        let e = r.next().await.unwrap().unwrap();
        assert_eq!((e.path.as_str(), e.size), ("versions.json", 2));
        let e = r.next().await.unwrap().unwrap();
        assert_eq!(e.path, long);
        assert_eq!(r.read_all(100).await.unwrap(), b"hello world");
    }

    #[tokio::test]
    async fn pax_names_as_python_writes_them_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.tar");
        let long = format!("repository-{}_0/x.json", "p".repeat(120));
        let mut b = tar::Builder::new(Vec::new());
        let record = format!(" path={long}\n");
        let len = record.len() + (record.len() + 3).to_string().len();
        let pax = format!("{len}{record}");
        let mut xh = tar::Header::new_ustar();
        xh.set_entry_type(tar::EntryType::XHeader);
        xh.set_path("PaxHeader").unwrap();
        xh.set_size(pax.len() as u64);
        xh.set_cksum();
        b.append(&xh, pax.as_bytes()).unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_path("short-name").unwrap();
        h.set_size(3);
        h.set_cksum();
        b.append(&h, &b"abc"[..]).unwrap();
        std::fs::write(&path, b.into_inner().unwrap()).unwrap();
        let mut r = TarReader::new(ChunkReader::open(vec![path]).await.unwrap());
        let e = r.next().await.unwrap().unwrap();
        assert_eq!(e.path, long);
        assert_eq!(r.read_all(10).await.unwrap(), b"abc");
        assert!(r.next().await.unwrap().is_none());
    }

    #[test]
    fn pax_records_are_bounded() {
        assert_eq!(pax_path(b"12 path=abc\n").as_deref(), Some("abc"));
        assert_eq!(pax_path(b"999 path=abc\n"), None);
        assert_eq!(pax_path(b"x"), None);
    }
}
