//! Core metadata (the `METADATA` / `PKG-INFO` format): read from the distribution file itself,
//! never from what an uploader claims. A wheel's is `<name>.dist-info/METADATA` at its top, an
//! sdist's `<name>-<version>/PKG-INFO`.

use std::io::Read;
use std::path::Path;

use depot_core::{CoreError, CoreResult};
use serde_json::{Map, Value, json};

use crate::filename::DistFile;

/// The biggest metadata file read.
const MAX_METADATA: u64 = 16 * 1024 * 1024;

/// Fields that may appear more than once; they are lists in the JSON forms.
const MULTIPLE: &[&str] = &[
    "platform",
    "supported-platform",
    "classifier",
    "requires-dist",
    "requires-external",
    "project-url",
    "provides-extra",
    "provides-dist",
    "obsoletes-dist",
    "dynamic",
    "license-file",
    "requires",
    "provides",
    "obsoletes",
];

#[derive(Debug, Clone)]
pub struct CoreMetadata {
    /// Header fields in order, names lower-cased.
    pub fields: Vec<(String, String)>,
    pub description: Option<String>,
    /// The file as it was in the archive (a wheel's is served as `<file>.metadata`, PEP 658).
    pub raw: Vec<u8>,
}

impl CoreMetadata {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty() && *v != "UNKNOWN")
    }

    pub fn all(&self, key: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn name(&self) -> &str {
        self.get("name").unwrap_or_default()
    }

    pub fn version(&self) -> &str {
        self.get("version").unwrap_or_default()
    }

    /// The metadata as pulp_python shows it on a package: snake_case names, lists for fields
    /// that may repeat, `project_urls` as an object.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut out = Map::new();
        for (key, value) in &self.fields {
            let name = match key.as_str() {
                "classifier" => "classifiers".to_string(),
                "home-page" => "home_page".to_string(),
                other => other.replace('-', "_"),
            };
            if key == "project-url" {
                let (label, url) = value.split_once(',').unwrap_or(("", value));
                let urls = out
                    .entry("project_urls")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(m) = urls {
                    m.insert(label.trim().to_string(), json!(url.trim()));
                }
            } else if MULTIPLE.contains(&key.as_str()) {
                let list = out.entry(name).or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(a) = list {
                    a.push(json!(value));
                }
            } else {
                out.insert(name, json!(value));
            }
        }
        if let Some(d) = &self.description {
            out.entry("description").or_insert_with(|| json!(d));
        }
        out
    }
}

/// Parses the header block (and the description body after it).
pub fn parse(raw: Vec<u8>) -> CoreResult<CoreMetadata> {
    let text = String::from_utf8_lossy(&raw).replace("\r\n", "\n");
    let (head, body) = match text.split_once("\n\n") {
        Some((h, b)) => (h.to_string(), Some(b.to_string())),
        None => (text.clone(), None),
    };
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with(' ') || line.starts_with('\t') {
            // A continuation of the previous field (old-style multi-line descriptions).
            if let Some((_, v)) = fields.last_mut() {
                v.push('\n');
                v.push_str(line.trim_start_matches([' ', '\t', '|']).trim_start());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            fields.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let meta = CoreMetadata {
        fields,
        description: body.filter(|b| !b.trim().is_empty()),
        raw,
    };
    if meta.get("metadata-version").is_none()
        || meta.get("name").is_none()
        || meta.get("version").is_none()
    {
        return Err(CoreError::invalid(
            "The package metadata lacks Metadata-Version, Name or Version.",
        ));
    }
    Ok(meta)
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> CoreError {
    CoreError::invalid(format!("The file is not a valid {what}: {e}."))
}

fn read_limited(r: impl Read, what: &str) -> CoreResult<Vec<u8>> {
    let mut buf = Vec::new();
    r.take(MAX_METADATA + 1)
        .read_to_end(&mut buf)
        .map_err(|e| corrupt(what, e))?;
    if buf.len() as u64 > MAX_METADATA {
        return Err(CoreError::invalid("The package metadata is too large."));
    }
    Ok(buf)
}

/// The core metadata of the distribution file at `path`, checked against its file name: the
/// project and version it declares must be the ones the name says.
pub fn read(path: &Path, dist: &DistFile, filename: &str) -> CoreResult<CoreMetadata> {
    let raw = if dist.packagetype == "bdist_wheel" {
        from_zip(path, ".dist-info/METADATA", "wheel")?
    } else if filename.ends_with(".zip") {
        from_zip(path, "/PKG-INFO", "sdist")?
    } else {
        from_tar_gz(path)?
    };
    let meta = parse(raw)?;
    let same_name = crate::names::normalize(meta.name()) == crate::names::normalize(&dist.name);
    if !same_name || !crate::filename::same_version(meta.version(), &dist.version) {
        return Err(CoreError::invalid(format!(
            "The file name says {} {}, but the package metadata says {} {}.",
            dist.name,
            dist.version,
            meta.name(),
            meta.version()
        )));
    }
    Ok(meta)
}

/// The shallowest entry `<top>/<...suffix>` of a zip archive.
fn from_zip(path: &Path, suffix: &str, what: &str) -> CoreResult<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| CoreError::Internal(e.to_string()))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| corrupt(what, e))?;
    let name = zip
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .filter(|n| n.ends_with(suffix) && n.matches('/').count() == 1)
        .min_by_key(|n| n.len())
        .ok_or_else(|| corrupt(what, format!("it has no top-level *{suffix}")))?;
    let entry = zip.by_name(&name).map_err(|e| corrupt(what, e))?;
    read_limited(entry, what)
}

/// `<top>/PKG-INFO` of a gzipped tar archive.
fn from_tar_gz(path: &Path) -> CoreResult<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| CoreError::Internal(e.to_string()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let entries = archive.entries().map_err(|e| corrupt("sdist", e))?;
    for entry in entries {
        let entry = entry.map_err(|e| corrupt("sdist", e))?;
        let path = entry.path().map_err(|e| corrupt("sdist", e))?.into_owned();
        let parts: Vec<_> = path.components().collect();
        if parts.len() == 2 && path.ends_with("PKG-INFO") {
            return read_limited(entry, "sdist");
        }
    }
    Err(corrupt("sdist", "it has no top-level PKG-INFO"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_headers_lists_and_body() {
        let raw = b"Metadata-Version: 2.1\nName: Tiny_Pkg\nVersion: 1.0\nSummary: A demo\n\
Requires-Dist: requests>=2\nRequires-Dist: idna\nClassifier: A\nProject-URL: Home, https://x\n\
Requires-Python: >=3.8\n\nLong text\nmore\n"
            .to_vec();
        let m = parse(raw).unwrap();
        assert_eq!(m.name(), "Tiny_Pkg");
        assert_eq!(m.all("requires-dist"), vec!["requests>=2", "idna"]);
        let j = m.to_json();
        assert_eq!(j["requires_dist"], json!(["requests>=2", "idna"]));
        assert_eq!(j["classifiers"], json!(["A"]));
        assert_eq!(j["project_urls"], json!({"Home": "https://x"}));
        assert_eq!(j["requires_python"], json!(">=3.8"));
        assert_eq!(j["description"], json!("Long text\nmore\n"));
        assert!(parse(b"Name: x\n".to_vec()).is_err());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn metadata_text() -> impl Strategy<Value = Vec<u8>> {
            let header = prop_oneof![
                "(Metadata-Version|Name|Version|Requires-Python|Requires-Dist|Summary|Classifier): [ -~]{0,30}",
                "[ -~]{0,40}",
                "\\s[ -~]{0,20}",
            ];
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..300),
                (proptest::collection::vec(header, 0..10), "[ -~\\n]{0,60}")
                    .prop_map(|(hs, body)| format!("{}\n\n{body}", hs.join("\n")).into_bytes()),
            ]
        }

        proptest! {
            #[test]
            fn any_metadata_parses_or_not_without_panic(raw in metadata_text()) {
                let _ = parse(raw);
            }

            /// Archives that are no archives, or truncated ones: refused, never a panic.
            #[test]
            fn any_archive_reads_or_not_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), wheel in any::<bool>()) {
                let dir = tempfile::tempdir().unwrap();
                let name = if wheel { "pkg-1.0-py3-none-any.whl" } else { "pkg-1.0.tar.gz" };
                let path = dir.path().join(name);
                std::fs::write(&path, &bytes).unwrap();
                let dist = crate::filename::parse(name).unwrap();
                let _ = read(&path, &dist, name);
            }
        }
    }
}
