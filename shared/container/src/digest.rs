//! Content digests (`algorithm:hex`). sha256 and sha512 are supported, as OCI 1.1 asks.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256, Sha512};

use crate::RegistryError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Digest {
    pub algorithm: Algorithm,
    pub hex: String,
}

impl Digest {
    /// The digest of `data` with `algorithm`.
    pub fn of(algorithm: Algorithm, data: &[u8]) -> Self {
        let hex = match algorithm {
            Algorithm::Sha256 => hex::encode(Sha256::digest(data)),
            Algorithm::Sha512 => hex::encode(Sha512::digest(data)),
        };
        Digest { algorithm, hex }
    }

    /// What bytes with this digest (and `size`, if known) must be, for artifact checks.
    pub fn expected(&self, size: Option<u64>) -> depot_core::artifacts::Expected {
        use depot_core::checksums::Algorithm as Checksum;
        let alg = match self.algorithm {
            Algorithm::Sha256 => Checksum::Sha256,
            Algorithm::Sha512 => Checksum::Sha512,
        };
        depot_core::artifacts::Expected {
            size,
            digests: vec![(alg, self.hex.clone())],
        }
    }

    /// Whether `s` looks like a digest rather than a tag (tags cannot contain `:`).
    pub fn is_digest_like(s: &str) -> bool {
        s.contains(':')
    }
}

impl FromStr for Digest {
    type Err = RegistryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || RegistryError::DigestInvalid(format!("'{s}' is not a valid digest"));
        let (alg, hex) = s.split_once(':').ok_or_else(invalid)?;
        let algorithm = match alg {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            other
                if !other.is_empty()
                    && other.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c)
                    }) =>
            {
                return Err(RegistryError::Unsupported(format!(
                    "digest algorithm '{other}' is not supported"
                )));
            }
            _ => return Err(invalid()),
        };
        if hex.len() != algorithm.hex_len()
            || !hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        {
            return Err(invalid());
        }
        Ok(Digest {
            algorithm,
            hex: hex.to_string(),
        })
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        let d: Digest = format!("sha256:{}", "a".repeat(64)).parse().unwrap();
        assert_eq!(d.algorithm, Algorithm::Sha256);
        assert!(
            format!("sha512:{}", "0".repeat(128))
                .parse::<Digest>()
                .is_ok()
        );
        for bad in [
            "sha256:abc",
            "sha256",
            "",
            ":aa",
            &format!("sha256:{}", "A".repeat(64)),
        ] {
            assert!(
                matches!(bad.parse::<Digest>(), Err(RegistryError::DigestInvalid(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            format!("md5:{}", "a".repeat(32)).parse::<Digest>(),
            Err(RegistryError::Unsupported(_))
        ));
        assert_eq!(
            Digest::of(Algorithm::Sha256, b"").to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
