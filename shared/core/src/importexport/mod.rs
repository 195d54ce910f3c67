//! Import and export in Pulp's format, so that an export made here imports into Pulp and one
//! made by Pulp imports here (for the air-gapped sites that carry repositories across on
//! disks). An export is a tar stream, in one file or in chunks, next to a table of contents
//! naming the chunks with their CRC32s:
//!
//! - `versions.json`: the components and their versions;
//! - `artifact/xx/yyyy...`: each artifact's bytes under its sha256;
//! - `pulpcore.app.modelresource.ArtifactResource.json`, `...RepositoryResource.json`: the
//!   artifacts' digests and the repositories, as Django's import-export writes rows;
//! - `repository-<name>_<number>/`: per exported version, the plugin's content rows
//!   ([`crate::plugin::Exportable`]) and `pulpcore.app.modelresource.ContentArtifactResource.json`.
//!
//! Paths are the operator's: exports only go under `PULP_ALLOWED_EXPORT_PATHS` and imports
//! only read under `PULP_ALLOWED_IMPORT_PATHS`. An import never writes what the tar names
//! anywhere: artifacts go to storage under their checked sha256, rows are read into memory
//! (bounded), and everything else is skipped.

pub mod chunks;
pub mod filesystem;
pub mod pulp_export;
pub mod pulp_import;
pub mod rows;
pub mod tar;

use std::path::{Component, Path, PathBuf};

use crate::{CoreError, CoreResult};

/// Resolves `path` as Python's `os.path.realpath` does (symlinks of the part that exists, the
/// rest as written) and says whether it lies under one of `allowed`.
pub fn real_path(path: &str) -> Option<PathBuf> {
    let p = Path::new(path);
    if !p.is_absolute() || path.contains('\0') || path.len() > 4096 {
        return None;
    }
    // Walk up to the deepest part that exists, canonicalize it, append the rest.
    let mut existing = p.to_path_buf();
    let mut rest: Vec<std::ffi::OsString> = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            let mut out = real;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return normalize(&out);
        }
        let name = existing.file_name()?.to_os_string();
        rest.push(name);
        existing = existing.parent()?.to_path_buf();
    }
}

/// Removes `.` and resolves `..` lexically (after symlinks were resolved for what exists).
fn normalize(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::RootDir => out.push("/"),
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// Whether `path` (absolute) resolves under one of `allowed`, compared by whole components
/// (`/tmpfoo` is not under `/tmp`).
pub fn is_allowed(path: &str, allowed: &[PathBuf]) -> Option<PathBuf> {
    let real = real_path(path)?;
    allowed
        .iter()
        .any(|a| real.starts_with(real_path(&a.to_string_lossy()).unwrap_or_else(|| a.clone())))
        .then_some(real)
}

/// The export path check Pulp makes on an exporter's `path`.
pub fn check_export_path(path: &str, allowed: &[PathBuf]) -> CoreResult<PathBuf> {
    is_allowed(path, allowed).ok_or_else(|| {
        CoreError::field(
            "path",
            format!("Path '{path}' is not an allowed export path"),
        )
    })
}

/// Parses `PULP_ALLOWED_EXPORT_PATHS` / `PULP_ALLOWED_IMPORT_PATHS`: a list (JSON or a Python
/// literal, Pulp's forms) or paths separated by commas; each must be absolute.
pub fn parse_allowed_paths(v: &str) -> Result<Vec<PathBuf>, String> {
    crate::config::list_or_commas(v)
        .into_iter()
        .map(|p| match Path::new(&p).is_absolute() {
            true => Ok(PathBuf::from(p)),
            false => Err(format!("'{p}' is not an absolute path")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_paths_compare_whole_components_after_resolving() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let allowed = vec![root.join("exports")];
        std::fs::create_dir(root.join("exports")).unwrap();
        let ok = |p: &str| is_allowed(p, &allowed).is_some();
        let r = root.to_string_lossy();
        assert!(ok(&format!("{r}/exports")));
        assert!(ok(&format!("{r}/exports/new/deeper/")));
        assert!(!ok(&format!("{r}/exportsfoo")));
        assert!(!ok(&format!("{r}/exports/../elsewhere")));
        assert!(!ok("relative/path"));
        // A symlink inside that points outside is outside.
        std::os::unix::fs::symlink("/etc", root.join("exports/link")).unwrap();
        assert!(!ok(&format!("{r}/exports/link/passwd")));
        assert_eq!(
            parse_allowed_paths(r#"["/tmp", "/var/tmp"]"#).unwrap(),
            vec![PathBuf::from("/tmp"), PathBuf::from("/var/tmp")]
        );
        assert_eq!(parse_allowed_paths("/a, /b").unwrap().len(), 2);
        assert!(parse_allowed_paths("tmp").is_err());
    }
}
