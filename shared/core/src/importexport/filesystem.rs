//! Pulp's filesystem export: the files of a publication or a repository version laid out at
//! their relative paths in the exporter's folder, written, hard-linked or symlinked. With a
//! starting version, only files whose artifacts it does not hold (and a publication's
//! metadata). Files never downloaded are exported from their `file://` source when that lies
//! under `PULP_ALLOWED_IMPORT_PATHS`, as Pulp does for local mirrors.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use sqlx::{AssertSqlSafe, Row};
use tokio::io::AsyncWriteExt;

use crate::config::StorageSettings;
use crate::models::exporter::{self, ExportedResource, Method};
use crate::models::{artifact, publication, version};
use crate::tasks::TaskContext;
use crate::tasks::args::FilesystemExport;
use crate::{CoreError, CoreResult};

/// Where one exported file's bytes come from.
#[derive(Debug, Clone)]
enum Source {
    Artifact(String),
    LocalFile(PathBuf),
}

pub async fn run(ctx: &TaskContext, args: FilesystemExport) -> CoreResult<()> {
    let core = &ctx.core;
    let db = &core.db;
    let e = exporter::get(db, &args.exporter_id).await?;
    let dir = super::check_export_path(&e.path, &core.settings.allowed_export_paths)?;
    let (resource, files) = match (&args.publication_id, &args.version_id) {
        (Some(p), _) => {
            let p = publication::get(db, p).await?;
            let href = p.kind.href(&p.id);
            let files = publication_files(ctx, &p).await?;
            (
                ExportedResource {
                    href,
                    id: p.id.clone(),
                    repository_id: Some(p.repository_id.clone()),
                },
                files,
            )
        }
        (None, Some(v)) => {
            let v = version::get_by_id(db, v).await?;
            let files = version_files(ctx, &v.repository_id, v.number).await?;
            let r = ExportedResource {
                href: v.href(),
                id: v.id.clone(),
                repository_id: Some(v.repository_id.clone()),
            };
            (r, files)
        }
        (None, None) => {
            return Err(CoreError::invalid(
                "publication or repository_version must either be supplied but not both.",
            ));
        }
    };
    let export =
        exporter::create_export(db, &e.id, Some(&ctx.task.id), &args.params, &[resource]).await?;
    ctx.created_with(e.export_href(&export.id), e.export_prn(&export.id));

    // Only what the starting version's artifacts do not hold (metadata always goes).
    let skip: HashSet<String> = match &args.start_version_id {
        Some(id) => {
            let start = version::get_by_id(db, id).await?;
            version_files(ctx, &start.repository_id, start.number)
                .await?
                .into_values()
                .filter_map(|(s, _)| match s {
                    Some(Source::Artifact(a)) => Some(a),
                    _ => None,
                })
                .collect()
        }
        None => HashSet::new(),
    };
    if dir.exists() {
        let mut entries = tokio::fs::read_dir(&dir).await?;
        if !dir.is_dir() || entries.next_entry().await?.is_some() {
            return Err(CoreError::invalid(
                "Cannot export to directories that contain existing data.",
            ));
        }
    }
    let method = e.method.unwrap_or(Method::Write);
    let media_root = match (
        &core.settings.storage,
        &*crate::domain::id() == crate::domain::DEFAULT_ID,
    ) {
        (StorageSettings::Fs { root }, true) => Some(root.clone()),
        _ => None,
    };
    if method != Method::Write && media_root.is_none() {
        return Err(CoreError::invalid(
            "Only write is supported for non-filesystem storage.",
        ));
    }
    tokio::fs::create_dir_all(&dir).await?;
    for (relative_path, (source, metadata)) in files {
        let source = match source {
            Some(s) => s,
            None => {
                return Err(CoreError::invalid(
                    "Cannot export artifacts that haven't been downloaded.",
                ));
            }
        };
        if let (Source::Artifact(a), false) = (&source, metadata)
            && skip.contains(a)
        {
            continue;
        }
        if relative_path.starts_with('/')
            || relative_path
                .split('/')
                .any(|s| s.is_empty() || s == "." || s == "..")
        {
            return Err(CoreError::invalid(format!(
                "'{}' is not a relative path.",
                relative_path.escape_debug()
            )));
        }
        let dest = dir.join(&relative_path);
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        place(ctx, &source, &dest, method, media_root.as_deref()).await?;
    }
    Ok(())
}

/// Puts one file at `dest` by `method`.
async fn place(
    ctx: &TaskContext,
    source: &Source,
    dest: &Path,
    method: Method,
    media_root: Option<&Path>,
) -> CoreResult<()> {
    let local = match source {
        Source::LocalFile(p) => Some(p.clone()),
        Source::Artifact(id) => match (method, media_root) {
            (Method::Write, _) | (_, None) => None,
            (_, Some(root)) => Some(root.join(artifact::get(&ctx.core.db, id).await?.file)),
        },
    };
    let _ = tokio::fs::remove_file(dest).await;
    match (method, local) {
        (Method::Symlink, Some(src)) => tokio::fs::symlink(src, dest).await?,
        (Method::Hardlink, Some(src)) => {
            if tokio::fs::hard_link(&src, dest).await.is_err() {
                // Another filesystem: a copy, as Pulp falls back to.
                tokio::fs::copy(&src, dest).await?;
            }
        }
        (_, Some(src)) => {
            tokio::fs::copy(&src, dest).await?;
        }
        (_, None) => {
            let Source::Artifact(id) = source else {
                return Err(CoreError::Internal("no source for an exported file".into()));
            };
            let a = artifact::get(&ctx.core.db, id).await?;
            let mut body = ctx.core.storage.open(&a.file, 0, None).await?;
            let mut out = tokio::fs::File::create(dest).await?;
            while let Some(chunk) = body.next().await {
                out.write_all(&chunk?).await?;
            }
            out.flush().await?;
        }
    }
    Ok(())
}

/// relative path -> (where its bytes are, whether it is generated metadata).
type Files = BTreeMap<String, (Option<Source>, bool)>;

/// The files of version `number` of a repository, by the content artifacts' relative paths.
async fn version_files(ctx: &TaskContext, repository_id: &str, number: i64) -> CoreResult<Files> {
    let sql = format!(
        "SELECT ca.relative_path, ca.artifact_id, ca.id FROM repository_contents rc \
         JOIN content_artifacts ca ON ca.content_id = rc.content_id WHERE {}",
        version::present_condition(1, 2)
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(repository_id)
        .bind(number)
        .fetch_all(ctx.core.db.pool())
        .await?;
    let mut out = Files::new();
    for r in rows {
        let artifact: Option<String> = r.try_get(1)?;
        let source = match artifact {
            Some(a) => Some(Source::Artifact(a)),
            None => local_source(ctx, &r.try_get::<String, _>(2)?).await?,
        };
        out.insert(r.try_get(0)?, (source, false));
    }
    Ok(out)
}

/// A never-downloaded file's `file://` source, when it lies under the allowed import paths.
async fn local_source(ctx: &TaskContext, content_artifact_id: &str) -> CoreResult<Option<Source>> {
    let urls: Vec<String> =
        sqlx::query_scalar("SELECT url FROM remote_artifacts WHERE content_artifact_id = $1")
            .bind(content_artifact_id)
            .fetch_all(ctx.core.db.pool())
            .await?;
    for url in urls {
        let Some(path) = url.strip_prefix("file://") else {
            continue;
        };
        let path = percent_encoding::percent_decode_str(path)
            .decode_utf8_lossy()
            .into_owned();
        if let Some(real) = super::is_allowed(&path, &ctx.core.settings.allowed_import_paths)
            && real.is_file()
        {
            return Ok(Some(Source::LocalFile(real)));
        }
    }
    Ok(None)
}

/// A publication's files: what it publishes (content and metadata), and with pass-through the
/// version's content too.
async fn publication_files(ctx: &TaskContext, p: &publication::Publication) -> CoreResult<Files> {
    let mut out = match p.pass_through {
        true => version_files(ctx, &p.repository_id, p.number).await?,
        false => Files::new(),
    };
    let rows = sqlx::query(
        "SELECT pf.relative_path, pf.artifact_id, ca.artifact_id, pf.content_artifact_id FROM published_files pf \
         LEFT JOIN content_artifacts ca ON ca.id = pf.content_artifact_id WHERE pf.publication_id = $1",
    )
    .bind(&p.id)
    .fetch_all(ctx.core.db.pool())
    .await?;
    for r in rows {
        let metadata: Option<String> = r.try_get(1)?;
        let content: Option<String> = r.try_get(2)?;
        let ca_id: Option<String> = r.try_get(3)?;
        let source = match (&metadata, content, ca_id) {
            (Some(a), _, _) => Some(Source::Artifact(a.clone())),
            (None, Some(a), _) => Some(Source::Artifact(a)),
            (None, None, Some(ca)) => local_source(ctx, &ca).await?,
            (None, None, None) => None,
        };
        out.insert(r.try_get(0)?, (source, metadata.is_some()));
    }
    Ok(out)
}
