//! Pulp's `pulp_export`: the exporter's repositories (their latest versions, or those asked
//! for), all content or only what changed since a starting version, written as one tar file or
//! chunks next to a table of contents. A failed export leaves no files behind.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use sqlx::{AssertSqlSafe, Row};

use super::chunks::ChunkWriter;
use super::rows::{self, ContentArtifactRow};
use super::tar::TarWriter;
use crate::models::artifact::{self, Artifact};
use crate::models::exporter::{self, Export, ExportedResource, Exporter};
use crate::models::repository;
use crate::models::version::{self, Version, present_condition};
use crate::tasks::TaskContext;
use crate::tasks::args::PulpExport;
use crate::{CoreError, CoreResult};

/// Runs an export; answers nothing (the export is its created resource).
pub async fn run(ctx: &TaskContext, args: PulpExport) -> CoreResult<()> {
    let core = &ctx.core;
    let db = &core.db;
    let the_exporter = exporter::get(db, &args.exporter_id).await?;
    let dir = super::check_export_path(&the_exporter.path, &core.settings.allowed_export_paths)?;
    let ending = ending_versions(ctx, &the_exporter, &args).await?;
    let starting = starting_versions(ctx, &the_exporter, &args).await?;
    let resources: Vec<ExportedResource> = ending
        .iter()
        .map(|v| ExportedResource {
            href: v.href(),
            id: v.id.clone(),
            repository_id: Some(v.repository_id.clone()),
        })
        .collect();
    let export = exporter::create_export(
        db,
        &the_exporter.id,
        Some(&ctx.task.id),
        &args.params,
        &resources,
    )
    .await?;
    ctx.created_with(
        the_exporter.export_href(&export.id),
        the_exporter.export_prn(&export.id),
    );

    tokio::fs::create_dir_all(&dir).await?;
    let stamp = crate::time::now().replace(['-', ':'], "");
    // export-<id>-YYYYMMDD_HHMM.tar, as Pulp names it.
    let stamp = format!("{}_{}", &stamp[..8], &stamp[9..13]);
    let base = dir.join(format!("export-{}-{stamp}.tar", export.id));
    let mut tar = TarWriter::new(ChunkWriter::new(base.clone(), args.chunk_size.unwrap_or(0)));
    let written = write(ctx, &mut tar, &ending, &starting).await;
    let files = match written {
        Ok(()) => tar.finish().await.map_err(CoreError::from),
        Err(e) => Err(e),
    };
    let files = match files {
        Ok(files) => files,
        Err(e) => {
            remove_chunks(&base).await;
            return Err(e);
        }
    };
    finish(ctx, &the_exporter, &export, &base, &files, &args).await
}

/// The versions to export: those asked for, else each repository's latest.
async fn ending_versions(
    ctx: &TaskContext,
    e: &Exporter,
    args: &PulpExport,
) -> CoreResult<Vec<Version>> {
    let db = &ctx.core.db;
    match &args.versions {
        Some(ids) => {
            let mut out = Vec::new();
            for id in ids {
                out.push(version::get_by_id(db, id).await?);
            }
            Ok(out)
        }
        None => {
            let mut out = Vec::new();
            for repo_id in exporter::repositories_of(db, &e.id).await? {
                let r = repository::get(db, &repo_id).await?;
                out.push(version::get(db, &repo_id, r.latest_number).await?);
            }
            Ok(out)
        }
    }
}

/// The versions an incremental export starts from, by repository: those asked for, else what
/// the exporter's last export wrote. Empty for a full export.
async fn starting_versions(
    ctx: &TaskContext,
    e: &Exporter,
    args: &PulpExport,
) -> CoreResult<HashMap<String, Version>> {
    let db = &ctx.core.db;
    let mut out = HashMap::new();
    if args.full {
        return Ok(out);
    }
    let ids: Vec<String> = match (&args.start_versions, &e.last_export_id) {
        (Some(ids), _) => ids.clone(),
        (None, Some(last)) => exporter::get_export(db, &e.id, last)
            .await?
            .exported_resources
            .into_iter()
            .map(|r| r.id)
            .collect(),
        (None, None) => Vec::new(),
    };
    for id in ids {
        // A version deleted since the last export starts nothing: that repository goes in full.
        if let Ok(v) = version::get_by_id(db, &id).await {
            out.insert(v.repository_id.clone(), v);
        }
    }
    Ok(out)
}

/// Every file of version `v`'s content: its artifact's id and sha256 (none for a file never
/// downloaded), the unit and its relative path.
async fn files_of(
    ctx: &TaskContext,
    v: &Version,
) -> CoreResult<Vec<(Option<String>, ContentArtifactRow)>> {
    let sql = format!(
        "SELECT ca.artifact_id, a.sha256, ca.content_id, ca.relative_path FROM repository_contents rc \
         JOIN content_artifacts ca ON ca.content_id = rc.content_id \
         LEFT JOIN artifacts a ON a.id = ca.artifact_id WHERE {} \
         ORDER BY ca.content_id, ca.relative_path",
        present_condition(1, 2)
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(&v.repository_id)
        .bind(v.number)
        .fetch_all(ctx.core.db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                ContentArtifactRow {
                    artifact: r.try_get::<Option<String>, _>(1)?.unwrap_or_default(),
                    content: r.try_get(2)?,
                    relative_path: r.try_get(3)?,
                },
            ))
        })
        .collect()
}

async fn write(
    ctx: &TaskContext,
    tar: &mut TarWriter,
    ending: &[Version],
    starting: &HashMap<String, Version>,
) -> CoreResult<()> {
    let core = &ctx.core;
    let db = &core.db;
    // The plugins of the exported repositories, each once, and core.
    let mut components = BTreeSet::new();
    let mut per_version = Vec::new();
    let mut artifact_ids = BTreeSet::new();
    for v in ending {
        let plugin = crate::plugin::owner_of(v.repository_kind)
            .and_then(|p| p.exportable)
            .ok_or_else(|| {
                CoreError::invalid(format!(
                    "Repositories of type {} cannot be exported.",
                    v.repository_type
                ))
            })?;
        components.insert(plugin.component);
        let files = files_of(ctx, v).await?;
        if files.iter().any(|(a, _)| a.is_none()) {
            return Err(CoreError::invalid("Remote artifacts cannot be exported."));
        }
        let before: BTreeSet<String> = match starting.get(&v.repository_id) {
            Some(start) => files_of(ctx, start)
                .await?
                .into_iter()
                .filter_map(|(a, _)| a)
                .collect(),
            None => BTreeSet::new(),
        };
        artifact_ids.extend(
            files
                .iter()
                .filter_map(|(a, _)| a.clone())
                .filter(|a| !before.contains(a)),
        );
        per_version.push((v, plugin, files));
    }

    let mut versions: Vec<Value> = components
        .iter()
        .map(|c| json!({"component": c, "version": rows::FORMAT_VERSION}))
        .collect();
    versions.push(json!({"component": "core", "version": rows::FORMAT_VERSION}));
    tar.append_bytes(rows::VERSIONS_FILE, &serde_json::to_vec(&versions)?)
        .await?;

    ctx.progress
        .start(
            "export.artifacts",
            "Exporting Artifacts",
            Some(artifact_ids.len() as i64),
        )
        .await;
    let mut artifact_rows = Vec::with_capacity(artifact_ids.len());
    for id in &artifact_ids {
        let a: Artifact = artifact::get(db, id).await?;
        let body = core.storage.open(&a.file, 0, None).await?;
        tar.append_stream(
            &rows::artifact_path(&a.digests.sha256),
            a.digests.size,
            body,
        )
        .await?;
        artifact_rows.push(rows::artifact_row(&a));
        ctx.progress.advance("export.artifacts", 1).await;
    }
    ctx.progress.complete("export.artifacts").await;
    if !artifact_rows.is_empty() {
        tar.append_bytes(rows::ARTIFACT_FILE, &serde_json::to_vec(&artifact_rows)?)
            .await?;
    }

    let mut repo_rows = Vec::new();
    let mut repos = HashMap::new();
    for v in ending {
        let r = repository::get(db, &v.repository_id).await?;
        repo_rows.push(Value::Object(rows::repository_row(&r)));
        repos.insert(v.repository_id.clone(), r);
    }
    tar.append_bytes(rows::REPOSITORY_FILE, &serde_json::to_vec(&repo_rows)?)
        .await?;

    for (v, plugin, files) in per_version {
        let r = &repos[&v.repository_id];
        let dir = rows::version_dir(&r.name, v.number);
        let content = (plugin.content_rows)(core.clone(), v.clone()).await?;
        if !content.is_empty() {
            let path = format!("{dir}/{}.json", plugin.content_resource);
            tar.append_bytes(&path, &serde_json::to_vec(&content)?)
                .await?;
        }
        let mut repo_row = rows::repository_row(r);
        repo_row.extend((plugin.repository_fields)(r));
        let path = format!("{dir}/{}.json", plugin.repository_resource);
        tar.append_bytes(&path, &serde_json::to_vec(&[Value::Object(repo_row)])?)
            .await?;
        if !files.is_empty() {
            let ca: Vec<Value> = files
                .iter()
                .map(|(_, f)| rows::content_artifact_row(f))
                .collect();
            let path = format!("{dir}/{}", rows::CONTENT_ARTIFACT_FILE);
            tar.append_bytes(&path, &serde_json::to_vec(&ca)?).await?;
        }
        let message = format!(
            "Exporting content for {} repository-version {}/{}",
            plugin.component, r.name, v.number
        );
        let code = "export.repo.version.content";
        ctx.progress
            .start(code, &message, Some(content.len() as i64))
            .await;
        ctx.progress.advance(code, content.len() as i64).await;
        ctx.progress.complete(code).await;
    }
    Ok(())
}

/// Writes the table of contents and records the files on the export.
async fn finish(
    ctx: &TaskContext,
    e: &Exporter,
    export: &Export,
    base: &Path,
    files: &[(PathBuf, String)],
    args: &PulpExport,
) -> CoreResult<()> {
    let name = base
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let toc_path = base.with_file_name(name.replace(".tar", "-toc.json"));
    let mut meta = args.meta.clone();
    meta.insert("checksum_type".into(), json!("crc32"));
    if let Some(size) = args.chunk_size {
        meta.insert("chunk_size".into(), json!(size));
    }
    let mut toc_files = Map::new();
    let mut output = Map::new();
    for (path, crc) in files {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        toc_files.insert(file_name, json!(crc));
        output.insert(path.to_string_lossy().into_owned(), json!(crc));
    }
    let toc = json!({"meta": meta, "files": toc_files});
    let toc_bytes = serde_json::to_vec(&toc)?;
    if let Err(err) = tokio::fs::write(&toc_path, &toc_bytes).await {
        remove_chunks(base).await;
        return Err(err.into());
    }
    let toc_sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&toc_bytes));
    let toc_name = toc_path.to_string_lossy().into_owned();
    output.insert(toc_name.clone(), json!(toc_sha256));
    let toc_info = json!({"file": toc_name, "sha256": toc_sha256, "meta": args.meta});
    exporter::finish_export(&ctx.core.db, export, &Value::Object(output), &toc_info).await?;
    tracing::info!(exporter = %e.name, export = %export.id, files = files.len(), "export written");
    Ok(())
}

/// Removes what a failed export wrote: `base` and its chunks.
async fn remove_chunks(base: &Path) {
    let _ = tokio::fs::remove_file(base).await;
    for i in 0.. {
        let mut name = base.as_os_str().to_owned();
        name.push(format!(".{i:04}"));
        if tokio::fs::remove_file(PathBuf::from(name)).await.is_err() {
            break;
        }
    }
}
