//! Publishing a file repository version: every file under its relative path plus a
//! `PULP_MANIFEST` (`relative_path,sha256,size` per line).

use depot_core::artifacts::ingest_bytes;
use depot_core::models::publication::{Publication, PublishedFile, create};
use depot_core::models::version::{Version, present_condition};
use depot_core::{Core, CoreResult};
use sqlx::{AssertSqlSafe, Row};

use crate::FILE_TYPE;

/// Publishes a repository version: every file under its relative path plus a `manifest` file.
/// The manifest is generated (`relative_path,sha256,size` per line) unless `upstream_manifest`
/// is given, which a mirror sync passes through as it was fetched.
pub async fn publish(
    core: &Core,
    v: &Version,
    manifest: &str,
    checkpoint: bool,
    upstream_manifest: Option<bytes::Bytes>,
) -> CoreResult<Publication> {
    let sql = format!(
        "SELECT ca.id, fc.relative_path, fc.sha256, COALESCE(fc.size, a.size) FROM repository_contents rc \
         JOIN file_contents fc ON fc.content_id = rc.content_id \
         JOIN content_artifacts ca ON ca.content_id = rc.content_id \
         LEFT JOIN artifacts a ON a.id = ca.artifact_id WHERE {} ORDER BY fc.relative_path",
        present_condition(1, 2)
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(&v.repository_id)
        .bind(v.number)
        .fetch_all(core.db.pool())
        .await?;
    let mut generated = String::new();
    let mut files = Vec::with_capacity(rows.len() + 1);
    for r in &rows {
        let path: String = r.try_get(1)?;
        let sha: String = r.try_get(2)?;
        let size: Option<i64> = r.try_get(3)?;
        generated.push_str(&format!("{path},{sha},{}\n", size.unwrap_or(0)));
        if path != manifest {
            files.push(PublishedFile {
                relative_path: path,
                content_artifact_id: Some(r.try_get(0)?),
                artifact_id: None,
            });
        }
    }
    let pass_through = upstream_manifest.is_some();
    let bytes = upstream_manifest.unwrap_or_else(|| bytes::Bytes::from(generated));
    let manifest_artifact = ingest_bytes(core, bytes).await?;
    files.push(PublishedFile {
        relative_path: manifest.to_string(),
        content_artifact_id: None,
        artifact_id: Some(manifest_artifact.id),
    });
    create(
        core,
        FILE_TYPE,
        &v.id,
        Some(manifest.to_string()),
        checkpoint,
        pass_through,
        files,
    )
    .await
}
