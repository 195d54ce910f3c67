//! Digests computed while bytes stream past, limited to the allowed algorithms.

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Algorithm {
    pub const ALL: [Algorithm; 6] = [
        Algorithm::Md5,
        Algorithm::Sha1,
        Algorithm::Sha224,
        Algorithm::Sha256,
        Algorithm::Sha384,
        Algorithm::Sha512,
    ];
    pub const DEFAULT_ALLOWED: [Algorithm; 4] = [
        Algorithm::Sha224,
        Algorithm::Sha256,
        Algorithm::Sha384,
        Algorithm::Sha512,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "md5",
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha224 => "sha224",
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha384 => "sha384",
            Algorithm::Sha512 => "sha512",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Length of the hex digest, used to validate user-given digests.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Md5 => 32,
            Algorithm::Sha1 => 40,
            Algorithm::Sha224 => 56,
            Algorithm::Sha256 => 64,
            Algorithm::Sha384 => 96,
            Algorithm::Sha512 => 128,
        }
    }
}

/// True when `s` is a lowercase hex digest of the right length for `alg`.
pub fn is_hex_digest(alg: Algorithm, s: &str) -> bool {
    s.len() == alg.hex_len()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The digests of one file; algorithms that are not allowed stay `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Digests {
    pub size: u64,
    pub md5: Option<String>,
    pub sha1: Option<String>,
    pub sha224: Option<String>,
    pub sha256: String,
    pub sha384: Option<String>,
    pub sha512: Option<String>,
}

impl Digests {
    pub fn get(&self, alg: Algorithm) -> Option<&str> {
        match alg {
            Algorithm::Md5 => self.md5.as_deref(),
            Algorithm::Sha1 => self.sha1.as_deref(),
            Algorithm::Sha224 => self.sha224.as_deref(),
            Algorithm::Sha256 => Some(&self.sha256),
            Algorithm::Sha384 => self.sha384.as_deref(),
            Algorithm::Sha512 => self.sha512.as_deref(),
        }
    }
}

pub struct Hasher {
    size: u64,
    md5: Option<Md5>,
    sha1: Option<Sha1>,
    sha224: Option<Sha224>,
    sha256: Sha256,
    sha384: Option<Sha384>,
    sha512: Option<Sha512>,
}

impl Hasher {
    pub fn new(allowed: &[Algorithm]) -> Self {
        let on = |a| allowed.contains(&a);
        Self {
            size: 0,
            md5: on(Algorithm::Md5).then(Md5::new),
            sha1: on(Algorithm::Sha1).then(Sha1::new),
            sha224: on(Algorithm::Sha224).then(Sha224::new),
            sha256: Sha256::new(),
            sha384: on(Algorithm::Sha384).then(Sha384::new),
            sha512: on(Algorithm::Sha512).then(Sha512::new),
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        self.size += data.len() as u64;
        self.sha256.update(data);
        if let Some(h) = &mut self.md5 {
            h.update(data);
        }
        if let Some(h) = &mut self.sha1 {
            h.update(data);
        }
        if let Some(h) = &mut self.sha224 {
            h.update(data);
        }
        if let Some(h) = &mut self.sha384 {
            h.update(data);
        }
        if let Some(h) = &mut self.sha512 {
            h.update(data);
        }
    }

    pub fn finish(self) -> Digests {
        Digests {
            size: self.size,
            md5: self.md5.map(|h| hex::encode(h.finalize())),
            sha1: self.sha1.map(|h| hex::encode(h.finalize())),
            sha224: self.sha224.map(|h| hex::encode(h.finalize())),
            sha256: hex::encode(self.sha256.finalize()),
            sha384: self.sha384.map(|h| hex::encode(h.finalize())),
            sha512: self.sha512.map(|h| hex::encode(h.finalize())),
        }
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_allowed_digests_are_computed() {
        let mut h = Hasher::new(&Algorithm::DEFAULT_ALLOWED);
        h.update(b"ab");
        h.update(b"c");
        let d = h.finish();
        assert_eq!(d.size, 3);
        assert_eq!(
            d.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(d.md5.is_none());
        assert!(d.sha512.is_some());
        assert!(is_hex_digest(Algorithm::Sha256, &d.sha256));
        assert!(!is_hex_digest(Algorithm::Sha256, "abc"));
    }
}
