//! Pulp's `pulp_import`: checks the table of contents and its chunks, stores the export's
//! artifacts (each checked against the sha256 its path names before it is kept), then
//! dispatches one task per exported repository, in the import's task group, which makes the
//! repository's new version from the content rows.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::chunks::{ChunkReader, MAX_CHUNKS, crc32_of};
use super::rows::{self, ContentArtifactRow};
use super::tar::TarReader;
use crate::artifacts::{Expected, ingest_staged};
use crate::checksums::Hasher;
use crate::models::importer;
use crate::models::repository::{self, NewRepository};
use crate::models::version::{self, Change};
use crate::models::{artifact, task};
use crate::plugin::{self, Family};
use crate::tasks::args::{PulpImport, PulpImportRepository};
use crate::tasks::{Dispatch, TaskContext};
use crate::{CoreError, CoreResult};

/// The group progress report over an import's repositories.
const REPO_VERSIONS: &str = "import.repo.versions";
/// The largest table of contents read.
const MAX_TOC: u64 = 16 * 1024 * 1024;

/// A table of contents: the chunk files in order, and how they are checked.
#[derive(Debug)]
pub struct Toc {
    /// (path, expected checksum), sorted by name as Pulp reassembles them.
    pub chunks: Vec<(PathBuf, String)>,
    pub checksum_type: String,
}

/// Reads a table of contents. Chunk names must be plain file names in its folder.
pub async fn read_toc(toc: &Path) -> CoreResult<Toc> {
    let bad = |why: String| CoreError::invalid(why);
    let len = tokio::fs::metadata(toc)
        .await
        .map_err(|e| bad(format!("The table of contents cannot be read: {e}")))?
        .len();
    if len > MAX_TOC {
        return Err(bad("The table of contents is too large.".into()));
    }
    let bytes = tokio::fs::read(toc).await?;
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| bad(format!("The table of contents is not JSON: {e}")))?;
    let (Some(Value::Object(files)), Some(Value::Object(meta))) = (v.get("files"), v.get("meta"))
    else {
        return Err(bad(
            "Missing 'files' or 'meta' keys in table-of-contents!".into()
        ));
    };
    if files.is_empty() || files.len() > MAX_CHUNKS {
        return Err(bad(
            "The table of contents names no chunks, or too many.".into()
        ));
    }
    let dir = toc.parent().unwrap_or(Path::new("/"));
    let mut chunks = Vec::with_capacity(files.len());
    for (name, sum) in files {
        let plain =
            !name.is_empty() && !name.contains(['/', '\\', '\0']) && name != "." && name != "..";
        let Some(sum) = sum.as_str().filter(|_| plain) else {
            return Err(bad(format!(
                "The table of contents names '{}', which is not a chunk file name.",
                name.escape_debug()
            )));
        };
        chunks.push((dir.join(name), sum.to_string()));
    }
    chunks.sort();
    let checksum_type = meta
        .get("checksum_type")
        .and_then(Value::as_str)
        .unwrap_or("sha256")
        .to_string();
    if !matches!(checksum_type.as_str(), "crc32" | "sha256") {
        return Err(bad(format!("Unknown checksum_type '{checksum_type}'.")));
    }
    Ok(Toc {
        chunks,
        checksum_type,
    })
}

/// Checks that every chunk exists and has its checksum (Pulp's `validate_chunks`).
async fn validate_chunks(ctx: &TaskContext, toc: &Toc) -> CoreResult<()> {
    let missing: Vec<String> = toc
        .chunks
        .iter()
        .filter(|(p, _)| !p.is_file())
        .map(|(p, _)| p.to_string_lossy().into_owned())
        .collect();
    if !missing.is_empty() {
        return Err(CoreError::invalid(format!(
            "Missing import-chunks named in table-of-contents: {missing:?}."
        )));
    }
    let code = "validate.chunks";
    ctx.progress
        .start(code, "Validating Chunks", Some(toc.chunks.len() as i64))
        .await;
    let mut errors = Vec::new();
    for (path, expected) in &toc.chunks {
        let got = match toc.checksum_type.as_str() {
            "crc32" => crc32_of(path).await?,
            _ => sha256_of(path).await?,
        };
        if &got != expected {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            errors.push(format!(
                "File {name} expected checksum : {expected}, computed checksum : {got}"
            ));
        }
        ctx.progress.advance(code, 1).await;
    }
    ctx.progress.complete(code).await;
    match errors.is_empty() {
        true => Ok(()),
        false => Err(CoreError::invalid(format!(
            "Import chunk hash mismatch: {errors:?})."
        ))),
    }
}

async fn sha256_of(path: &Path) -> CoreResult<String> {
    use sha2::Digest;
    use tokio::io::AsyncReadExt;
    let mut f = tokio::fs::File::open(path).await?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf).await?;
        if n == 0 {
            return Ok(hex::encode(h.finalize()));
        }
        h.update(&buf[..n]);
    }
}

/// A tar that cannot be read is the export's fault, not storage's: a 400-kind error.
fn unreadable(e: std::io::Error) -> CoreError {
    match e.kind() {
        std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof => {
            CoreError::invalid(format!("The export cannot be read: {e}"))
        }
        _ => CoreError::Storage(e),
    }
}

/// The files of an export: the one tar file, or the chunks a table of contents names.
async fn open_export(path: &Option<String>, toc: &Option<String>) -> CoreResult<TarReader> {
    let files = match (path, toc) {
        (_, Some(toc)) => read_toc(Path::new(toc))
            .await?
            .chunks
            .into_iter()
            .map(|(p, _)| p)
            .collect(),
        (Some(path), None) => vec![PathBuf::from(path)],
        (None, None) => {
            return Err(CoreError::invalid(
                "One of 'path' or 'toc' must be specified.",
            ));
        }
    };
    Ok(TarReader::new(ChunkReader::open(files).await?))
}

/// The import task: stores the artifacts and dispatches the repositories' tasks.
pub async fn run(ctx: &TaskContext, args: PulpImport) -> CoreResult<()> {
    let core = &ctx.core;
    let allowed = &core.settings.allowed_import_paths;
    for p in args.path.iter().chain(args.toc.iter()) {
        if super::is_allowed(p, allowed).is_none() {
            return Err(CoreError::invalid(format!(
                "'{p}' is not an allowed import path"
            )));
        }
    }
    if let Some(toc) = &args.toc {
        validate_chunks(ctx, &read_toc(Path::new(toc)).await?).await?;
    }
    let the_importer = importer::get(&core.db, &args.importer_id).await?;
    let mut params = Map::new();
    let shown = args.toc.clone().or(args.path.clone()).unwrap_or_default();
    params.insert("path".into(), Value::String(shown));
    let the_import =
        importer::create_import(&core.db, &the_importer.id, Some(&ctx.task.id), &params).await?;
    ctx.created_with(
        the_importer.import_href(&the_import.id),
        format!("prn:core.pulpimport:{}", the_import.id),
    );

    let mut tar = open_export(&args.path, &args.toc).await?;
    let mut repositories = None;
    let mut versions_checked = false;
    let code = "import.artifacts";
    ctx.progress.start(code, "Importing Artifacts", None).await;
    while let Some(entry) = tar.next().await.map_err(unreadable)? {
        if entry.path == rows::VERSIONS_FILE {
            rows::check_versions(&tar.read_all(rows::MAX_JSON).await.map_err(unreadable)?)?;
            versions_checked = true;
        } else if entry.path == rows::REPOSITORY_FILE {
            let bytes = tar.read_all(rows::MAX_JSON).await.map_err(unreadable)?;
            repositories = Some(rows::parse_rows(rows::REPOSITORY_FILE, &bytes)?);
        } else if let Some(sha256) = rows::sha256_of_path(&entry.path) {
            store_artifact(ctx, &mut tar, &sha256).await?;
            ctx.progress.advance(code, 1).await;
        }
    }
    ctx.progress.complete(code).await;
    if !versions_checked {
        return Err(CoreError::invalid("The export has no versions.json."));
    }
    let repositories = repositories.unwrap_or_default();

    let group = ctx.task.task_group_id.clone();
    if let Some(g) = &group {
        let message = "Importing repository versions";
        task::start_group_progress(
            &core.db,
            g,
            REPO_VERSIONS,
            message,
            repositories.len() as i64,
        )
        .await?;
    }
    for src in &repositories {
        let (Some(name), Some(pulp_type)) = (rows::text(src, "name"), rows::text(src, "pulp_type"))
        else {
            return Err(CoreError::invalid(
                "A repository row of the export has no name or type.",
            ));
        };
        let kind = plugin::find(Family::Repository, &pulp_type).map_err(|_| {
            CoreError::invalid(format!(
                "Repositories of type {pulp_type} cannot be imported here."
            ))
        })?;
        let (dest_name, dest_id) = importer::destination(&core.db, &the_importer.id, &name).await?;
        if dest_id.is_none() && !args.create_repositories {
            tracing::warn!(repository = %name, "no destination repository for it: skipped");
            continue;
        }
        let repo_args = PulpImportRepository {
            importer_id: the_importer.id.clone(),
            src_repo_name: name,
            src_repo_type: pulp_type,
            dest_repo_name: dest_name.clone(),
            dest_repo_id: dest_id.clone(),
            path: args.path.clone(),
            toc: args.toc.clone(),
        };
        let mut d = Dispatch::new(
            "pulpcore.app.tasks.importer.import_repository_version",
            &repo_args,
        )
        // A repository to be made is reserved by its name, so that two imports making
        // it wait for each other.
        .exclusive([match &dest_id {
            Some(id) => kind.prn(id),
            None => format!("import-repository:{}:{dest_name}", crate::domain::id()),
        }]);
        d.task_group = group.clone();
        if let Some(user) = &ctx.task.created_by {
            d = d.requested_by(user, &ctx.task.logging_cid);
        }
        crate::tasks::dispatch(core, d).await?;
    }
    if let Some(g) = &group {
        task::finish_group_dispatch(&core.db, g).await?;
    }
    Ok(())
}

/// Stores the current tar entry as the artifact `sha256`, unless it is stored already. The
/// bytes must hash to the sha256 the path names.
async fn store_artifact(ctx: &TaskContext, tar: &mut TarReader, sha256: &str) -> CoreResult<()> {
    let core = &ctx.core;
    if let Some(a) = artifact::find_by_sha256(&core.db, sha256).await?
        && core.storage.exists(&a.file).await?
    {
        return Ok(());
    }
    let mut staged = core.storage.stage().await?;
    let mut hasher = Hasher::new(&core.settings.allowed_checksums);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = tar.read(&mut buf).await.map_err(unreadable)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        staged.write(&buf[..n]).await?;
    }
    ingest_staged(core, staged, hasher.finish(), &Expected::sha256(sha256)).await?;
    Ok(())
}

/// What an export holds for one repository: the rows of its version folder.
#[derive(Default)]
struct VersionFiles {
    files: HashMap<String, Vec<u8>>,
}

/// Reads the version folder of repository `name` (`repository-<name>_<n>/`).
async fn read_version_files(tar: &mut TarReader, name: &str) -> CoreResult<VersionFiles> {
    let prefix = format!("repository-{name}_");
    let mut out = VersionFiles::default();
    while let Some(entry) = tar.next().await.map_err(unreadable)? {
        let Some(rest) = entry.path.strip_prefix(&prefix) else {
            continue;
        };
        let Some((number, file)) = rest.split_once('/') else {
            continue;
        };
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) || file.contains('/') {
            continue;
        }
        let bytes = tar.read_all(rows::MAX_JSON).await.map_err(unreadable)?;
        out.files.insert(file.to_string(), bytes);
    }
    Ok(out)
}

/// The task of one repository: its new version holds what the export's version held.
pub async fn run_repository(ctx: &TaskContext, args: PulpImportRepository) -> CoreResult<()> {
    let core = &ctx.core;
    let db = &core.db;
    let code = "import.repo.version.content";
    let message = format!("Importing content for {}", args.dest_repo_name);
    ctx.progress.start(code, &message, None).await;
    let kind = plugin::find(Family::Repository, &args.src_repo_type)?;
    let exportable = plugin::owner_of(kind)
        .and_then(|p| p.exportable)
        .ok_or_else(|| {
            CoreError::invalid(format!(
                "Repositories of type {} cannot be imported.",
                args.src_repo_type
            ))
        })?;
    let mut tar = open_export(&args.path, &args.toc).await?;
    let found = read_version_files(&mut tar, &args.src_repo_name).await?;
    if found.files.is_empty() {
        return Err(CoreError::invalid(format!(
            "No RepositoryVersion found for {}",
            args.src_repo_name
        )));
    }
    if found.files.contains_key(rows::CONTENT_MAPPING_FILE) {
        return Err(CoreError::invalid(
            "The export maps content to sub-repositories, which Depot's plugins do not have.",
        ));
    }
    let json_of = |name: String| found.files.get(&format!("{name}.json"));

    let repository_id = match &args.dest_repo_id {
        Some(id) => id.clone(),
        None => {
            let row = match json_of(exportable.repository_resource.to_string()) {
                Some(bytes) => rows::parse_rows(exportable.repository_resource, bytes)?
                    .into_iter()
                    .next()
                    .unwrap_or_default(),
                None => Map::new(),
            };
            let r = repository::create(
                db,
                NewRepository {
                    pulp_type: kind.pulp_type,
                    name: args.dest_repo_name.clone(),
                    description: rows::text(&row, "description"),
                    pulp_labels: Default::default(),
                    retain_repo_versions: rows::number(&row, "retain_repo_versions"),
                    retain_checkpoints: rows::number(&row, "retain_checkpoints"),
                    remote_id: None,
                    autopublish: rows::boolean(&row, "autopublish"),
                    manifest: rows::text(&row, "manifest"),
                },
            )
            .await?;
            ctx.made(kind, &r.id).await?;
            r.id
        }
    };

    // Each upstream unit's files, with the artifacts stored here.
    let mut files: HashMap<String, Vec<(String, String)>> = HashMap::new();
    if let Some(bytes) = found.files.get(rows::CONTENT_ARTIFACT_FILE) {
        let mut ids: HashMap<String, String> = HashMap::new();
        for ContentArtifactRow {
            artifact: sha256,
            content,
            relative_path,
        } in rows::parse_content_artifacts(bytes)?
        {
            let id =
                match ids.get(&sha256) {
                    Some(id) => id.clone(),
                    None => {
                        let a = artifact::find_by_sha256(db, &sha256).await?.ok_or_else(|| {
                        CoreError::invalid(format!(
                            "The artifact {sha256} is neither in the export nor stored here."
                        ))
                    })?;
                        ids.insert(sha256.clone(), a.id.clone());
                        a.id
                    }
                };
            files.entry(content).or_default().push((relative_path, id));
        }
    }
    let content_rows = match json_of(exportable.content_resource.to_string()) {
        Some(bytes) => rows::parse_rows(exportable.content_resource, bytes)?,
        None => Vec::new(),
    };
    let count = content_rows.len() as i64;
    let ids = (exportable.import_rows)(core.clone(), content_rows, files).await?;
    if let Some(v) = version::create_next(db, &repository_id, Change::synced(ids, true)).await? {
        ctx.new_version(&v).await?;
    }
    ctx.progress.set_total(code, count).await;
    ctx.progress.advance(code, count).await;
    ctx.progress.complete(code).await;
    if let Some(g) = &ctx.task.task_group_id {
        task::advance_group_progress(db, g, REPO_VERSIONS).await?;
    }
    Ok(())
}
