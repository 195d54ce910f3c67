//! Secrets at rest: the remote fields Pulp encrypts (credentials, proxy credentials, the client
//! key) are stored as Fernet tokens made with the key file `PULP_DB_ENCRYPTION_KEY` names, as
//! Pulp stores them, so a database moved from Pulp stays readable and one moved to Pulp too.
//!
//! The file holds one key per line (32 bytes, URL-safe base64); the first encrypts, every one
//! decrypts (Pulp's key rotation). A token is `0x80 | time (8) | IV (16) | AES-128-CBC
//! ciphertext | HMAC-SHA256 (32)` in URL-safe base64; the HMAC is checked, in constant time,
//! before anything is decrypted.

use std::path::Path;

use aws_lc_rs::cipher::{
    AES_128, DecryptionContext, EncryptionContext, PaddedBlockDecryptingKey,
    PaddedBlockEncryptingKey, UnboundCipherKey,
};
use aws_lc_rs::hmac;
use aws_lc_rs::iv::FixedLength;
use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};

use crate::{CoreError, CoreResult};

const VERSION: u8 = 0x80;
/// Version, timestamp and IV before the ciphertext; the HMAC after it.
const HEADER: usize = 1 + 8 + 16;
const MAC: usize = 32;
/// The longest token read: far beyond any credential or PEM key (bounds a bad row's cost).
const MAX_TOKEN: usize = 1 << 20;

/// One Fernet key: 16 bytes that sign, 16 that encrypt.
#[derive(Clone)]
struct Key {
    signing: hmac::Key,
    encryption: [u8; 16],
}

/// The keys of the key file.
#[derive(Clone)]
pub struct Secrets {
    keys: Vec<Key>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read the key file {0}: {1}")]
    Read(String, std::io::Error),
    #[error("cannot write a new key file {0}: {1}")]
    Write(String, std::io::Error),
    #[error("the key file {0} holds no key")]
    Empty(String),
    #[error("line {line} of the key file {file} is not a Fernet key (32 bytes, URL-safe base64)")]
    BadKey { file: String, line: usize },
}

impl Secrets {
    /// The keys of `path`, one per line.
    pub fn load(path: &Path) -> Result<Self, KeyFileError> {
        let file = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| KeyFileError::Read(file.clone(), e))?;
        let mut keys = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let key = Self::parse_key(line).ok_or_else(|| KeyFileError::BadKey {
                file: file.clone(),
                line: n + 1,
            })?;
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(KeyFileError::Empty(file));
        }
        Ok(Self { keys })
    }

    /// The keys of `path`, after writing a new key there (readable by its owner only) when the
    /// file does not exist: for the embedded default, whose data directory is its own.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyFileError> {
        if !path.exists() {
            let file = path.display().to_string();
            let mut key = [0u8; 32];
            aws_lc_rs::rand::fill(&mut key).map_err(|_| {
                KeyFileError::Write(file.clone(), std::io::Error::other("no randomness"))
            })?;
            let line = format!("{}\n", URL_SAFE.encode(key));
            write_private(path, line.as_bytes()).map_err(|e| KeyFileError::Write(file, e))?;
        }
        Self::load(path)
    }

    fn parse_key(line: &str) -> Option<Key> {
        let raw = URL_SAFE
            .decode(line)
            .or_else(|_| URL_SAFE_NO_PAD.decode(line))
            .ok()?;
        let raw: [u8; 32] = raw.try_into().ok()?;
        let mut encryption = [0u8; 16];
        encryption.copy_from_slice(&raw[16..]);
        Some(Key {
            signing: hmac::Key::new(hmac::HMAC_SHA256, &raw[..16]),
            encryption,
        })
    }

    /// `plain` as a token of the first key.
    pub fn encrypt(&self, plain: &str) -> CoreResult<String> {
        let failed = || CoreError::Internal("encrypting a secret failed".into());
        let key = &self.keys[0];
        let mut iv = [0u8; 16];
        aws_lc_rs::rand::fill(&mut iv).map_err(|_| failed())?;
        let cipher = UnboundCipherKey::new(&AES_128, &key.encryption).map_err(|_| failed())?;
        let cipher = PaddedBlockEncryptingKey::cbc_pkcs7(cipher).map_err(|_| failed())?;
        let mut body = plain.as_bytes().to_vec();
        cipher
            .less_safe_encrypt(&mut body, EncryptionContext::Iv128(FixedLength::from(iv)))
            .map_err(|_| failed())?;
        let mut token = Vec::with_capacity(HEADER + body.len() + MAC);
        token.push(VERSION);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        token.extend_from_slice(&now.to_be_bytes());
        token.extend_from_slice(&iv);
        token.extend_from_slice(&body);
        let tag = hmac::sign(&key.signing, &token);
        token.extend_from_slice(tag.as_ref());
        Ok(URL_SAFE.encode(token))
    }

    /// Whether `v` has the shape of a token (of whichever key): such a value is never taken for
    /// a secret stored in plain text.
    pub fn is_token(v: &str) -> bool {
        token_bytes(v).is_some()
    }

    /// The text of `token`, with whichever key made it; `None` when no key did (or it is not a
    /// token at all).
    pub fn decrypt(&self, token: &str) -> Option<String> {
        let raw = token_bytes(token)?;
        let (signed, tag) = raw.split_at(raw.len() - MAC);
        let key = self
            .keys
            .iter()
            .find(|k| hmac::verify(&k.signing, signed, tag).is_ok())?;
        let iv: [u8; 16] = signed[9..HEADER].try_into().ok()?;
        let cipher = UnboundCipherKey::new(&AES_128, &key.encryption).ok()?;
        let cipher = PaddedBlockDecryptingKey::cbc_pkcs7(cipher).ok()?;
        let mut body = signed[HEADER..].to_vec();
        let plain = cipher
            .decrypt(&mut body, DecryptionContext::Iv128(FixedLength::from(iv)))
            .ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}

/// The bytes of a token: a version byte, a timestamp, an IV, whole cipher blocks and a MAC.
fn token_bytes(token: &str) -> Option<Vec<u8>> {
    if token.len() > MAX_TOKEN {
        return None;
    }
    let token = token.trim();
    let raw = URL_SAFE
        .decode(token)
        .or_else(|_| URL_SAFE_NO_PAD.decode(token))
        .ok()?;
    let blocks = raw.len().checked_sub(HEADER + MAC)?;
    (raw[0] == VERSION && blocks >= 16 && blocks.is_multiple_of(16)).then_some(raw)
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(lines: &str) -> Secrets {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, lines).unwrap();
        Secrets::load(&path).unwrap()
    }

    const KEY: &str = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";

    #[test]
    fn round_trip_and_tamper() {
        let s = secrets(KEY);
        let token = s.encrypt("hunter2").unwrap();
        assert!(token.starts_with("gAAAAA"));
        assert_eq!(s.decrypt(&token).as_deref(), Some("hunter2"));
        // One changed byte anywhere fails the HMAC.
        let mut raw = URL_SAFE.decode(&token).unwrap();
        raw[30] ^= 1;
        assert_eq!(s.decrypt(&URL_SAFE.encode(&raw)), None);
        assert_eq!(s.decrypt("hunter2"), None);
        assert_eq!(s.decrypt(""), None);
        assert!(Secrets::is_token(&token) && !Secrets::is_token("hunter2"));
        // Another key cannot read it; a file listing both (rotation) can.
        let other = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        assert_eq!(secrets(other).decrypt(&token), None);
        let both = secrets(&format!("{other}\n{KEY}\n"));
        assert_eq!(both.decrypt(&token).as_deref(), Some("hunter2"));
    }

    /// The token of the Fernet specification's test vector (made by Python's reference
    /// implementation, which Pulp uses).
    #[test]
    fn reads_the_reference_token() {
        let token = "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==";
        assert_eq!(secrets(KEY).decrypt(token).as_deref(), Some("hello"));
    }

    #[test]
    fn bad_key_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "not a key\n").unwrap();
        assert!(matches!(
            Secrets::load(&path),
            Err(KeyFileError::BadKey { line: 1, .. })
        ));
        std::fs::write(&path, "\n").unwrap();
        assert!(matches!(Secrets::load(&path), Err(KeyFileError::Empty(_))));
        let made = dir.path().join("sub").join("new.key");
        let s = Secrets::load_or_create(&made).unwrap();
        let again = Secrets::load_or_create(&made).unwrap();
        assert_eq!(
            again.decrypt(&s.encrypt("x").unwrap()).as_deref(),
            Some("x")
        );
    }
}
