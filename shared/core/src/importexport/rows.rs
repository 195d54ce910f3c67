//! The JSON files of Pulp's export format, written as Django's import-export writes them
//! (numbers and booleans as strings, missing values as `""`) and read leniently (either form).

use serde_json::{Map, Value, json};

use crate::models::artifact::Artifact;
use crate::models::repository::Repository;
use crate::{CoreError, CoreResult};

pub const VERSIONS_FILE: &str = "versions.json";
pub const ARTIFACT_FILE: &str = "pulpcore.app.modelresource.ArtifactResource.json";
pub const REPOSITORY_FILE: &str = "pulpcore.app.modelresource.RepositoryResource.json";
pub const CONTENT_ARTIFACT_FILE: &str = "pulpcore.app.modelresource.ContentArtifactResource.json";
/// Plugins with sub-repositories map content to them here; Depot's plugins have none.
pub const CONTENT_MAPPING_FILE: &str = "content_mapping.json";

/// The Pulp release whose format Depot writes (and that checks it on import: same X.Y).
pub const FORMAT_VERSION: &str = "3.123.1";

/// The largest JSON file an import reads into memory.
pub const MAX_JSON: u64 = 256 * 1024 * 1024;

/// `repository-<name>_<number>`: the folder of one exported version.
pub fn version_dir(name: &str, number: i64) -> String {
    format!("repository-{name}_{number}")
}

/// The path of an artifact in the tar: `artifact/xx/yyyy...`, without any domain (Pulp's
/// importer puts it into its own domain).
pub fn artifact_path(sha256: &str) -> String {
    format!("artifact/{}/{}", &sha256[..2], &sha256[2..])
}

/// The sha256 an artifact's tar path names: `artifact/xx/yyyy...`, or with a domain
/// (`artifact/<domain id>/xx/...`, `artifact/DOMAIN/xx/...`) as domain-enabled Pulps write it.
pub fn sha256_of_path(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').collect();
    let (head, tail) = match parts.as_slice() {
        ["artifact", h, t] | ["artifact", _, h, t] => (*h, *t),
        _ => return None,
    };
    let sha = format!("{head}{tail}");
    let hex = sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit());
    (head.len() == 2 && hex).then(|| sha.to_ascii_lowercase())
}

fn or_blank(v: &Option<String>) -> Value {
    json!(v.as_deref().unwrap_or(""))
}

/// An artifact's row.
pub fn artifact_row(a: &Artifact) -> Value {
    let d = &a.digests;
    json!({
        "file": artifact_path(&d.sha256),
        "size": d.size.to_string(),
        "md5": or_blank(&d.md5),
        "sha1": or_blank(&d.sha1),
        "sha224": or_blank(&d.sha224),
        "sha256": d.sha256,
        "sha384": or_blank(&d.sha384),
        "sha512": or_blank(&d.sha512),
        "pulp_domain": crate::domain::id().to_string(),
    })
}

/// A repository's core row (the plugin adds its own fields in the version folders).
pub fn repository_row(r: &Repository) -> Map<String, Value> {
    let num = |n: Option<i64>| json!(n.map(|n| n.to_string()).unwrap_or_default());
    let mut m = Map::new();
    m.insert("pulp_type".into(), json!(r.pulp_type));
    m.insert("name".into(), json!(r.name));
    m.insert(
        "description".into(),
        json!(r.description.as_deref().unwrap_or("")),
    );
    m.insert("retain_repo_versions".into(), num(r.retain_repo_versions));
    m.insert("retain_checkpoints".into(), num(r.retain_checkpoints));
    m.insert("user_hidden".into(), json!("0"));
    m.insert("pulp_domain".into(), json!(crate::domain::id().to_string()));
    m
}

/// One file of a content unit: its artifact's sha256, the unit's id in the exporting Pulp.
#[derive(Debug, Clone)]
pub struct ContentArtifactRow {
    pub artifact: String,
    pub content: String,
    pub relative_path: String,
}

pub fn content_artifact_row(r: &ContentArtifactRow) -> Value {
    json!({"artifact": r.artifact, "content": r.content, "relative_path": r.relative_path})
}

fn unreadable(file: &str, why: impl std::fmt::Display) -> CoreError {
    CoreError::invalid(format!("The export's {file} cannot be read: {why}"))
}

/// A JSON file of rows: a list of objects.
pub fn parse_rows(file: &str, bytes: &[u8]) -> CoreResult<Vec<Map<String, Value>>> {
    let v: Vec<Value> = serde_json::from_slice(bytes).map_err(|e| unreadable(file, e))?;
    v.into_iter()
        .map(|row| match row {
            Value::Object(m) => Ok(m),
            _ => Err(unreadable(file, "a row is not an object")),
        })
        .collect()
}

/// A text field of a row; `""` and null read as absent.
pub fn text(row: &Map<String, Value>, field: &str) -> Option<String> {
    match row.get(field) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// A number field written as a number or as text.
pub fn number(row: &Map<String, Value>, field: &str) -> Option<i64> {
    text(row, field).and_then(|t| t.parse().ok())
}

/// A boolean field: `"1"`/`"0"`, `true`/`false`, `"True"`/`"False"`.
pub fn boolean(row: &Map<String, Value>, field: &str) -> bool {
    match row.get(field) {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        Some(Value::String(s)) => matches!(s.as_str(), "1" | "true" | "True"),
        _ => false,
    }
}

pub fn parse_content_artifacts(bytes: &[u8]) -> CoreResult<Vec<ContentArtifactRow>> {
    parse_rows(CONTENT_ARTIFACT_FILE, bytes)?
        .iter()
        .map(|r| {
            let field = |f: &str| {
                text(r, f)
                    .ok_or_else(|| unreadable(CONTENT_ARTIFACT_FILE, format!("a row has no {f}")))
            };
            Ok(ContentArtifactRow {
                artifact: field("artifact")?,
                content: field("content")?,
                relative_path: field("relative_path")?,
            })
        })
        .collect()
}

/// `versions.json`: the components an export needs, each installed here and of Pulp 3.
pub fn check_versions(bytes: &[u8]) -> CoreResult<()> {
    let rows = parse_rows(VERSIONS_FILE, bytes)?;
    let mut problems = Vec::new();
    for r in &rows {
        let component = text(r, "component").unwrap_or_default();
        let version = text(r, "version").unwrap_or_default();
        let known = component == "core" || crate::plugin::exportable(&component).is_some();
        if !known {
            problems.push(format!("Export uses {component} which is not installed."));
        } else if version.split('.').next() != FORMAT_VERSION.split('.').next() {
            problems.push(format!(
                "Export version {version} of {component} incompatible with installed version {FORMAT_VERSION}."
            ));
        }
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(CoreError::invalid(problems.join(" "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_paths_name_their_sha256_with_or_without_domains() {
        let sha = "b6a98d9ce9a2d9149288fa3df42d377c3e42737afdcdaf714e33c0a100b51060";
        assert_eq!(sha256_of_path(&artifact_path(sha)).as_deref(), Some(sha));
        let with_domain = format!("artifact/DOMAIN/b6/{}", &sha[2..]);
        assert_eq!(sha256_of_path(&with_domain).as_deref(), Some(sha));
        assert_eq!(sha256_of_path("artifact/b6/short"), None);
        assert_eq!(
            sha256_of_path(&format!("artifact/../b6/{}", &sha[2..])).as_deref(),
            Some(sha)
        );
        assert_eq!(sha256_of_path("versions.json"), None);
        assert_eq!(
            sha256_of_path(&format!("x/artifact/b6/{}", &sha[2..])),
            None
        );
    }

    #[test]
    fn rows_read_in_either_form() {
        let rows = parse_rows("x", br#"[{"size": "6", "n": 6, "b": "1", "e": ""}]"#).unwrap();
        assert_eq!(number(&rows[0], "size"), Some(6));
        assert_eq!(number(&rows[0], "n"), Some(6));
        assert!(boolean(&rows[0], "b"));
        assert_eq!(text(&rows[0], "e"), None);
        assert!(parse_rows("x", b"[1]").is_err());
        assert!(parse_rows("x", b"{").is_err());
    }
}
