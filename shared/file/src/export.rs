//! File content in Pulp's export format: pulp_file's `FileContentResource` rows
//! (`relative_path`, `digest`, `upstream_id`) and `FileRepositoryResource` fields.

use depot_core::models::repository::Repository;
use depot_core::models::version::{Version, present_condition};
use depot_core::models::{Labels, artifact};
use depot_core::plugin::{Exportable, IdsFuture, ImportedFiles, RowsFuture};
use depot_core::{Core, CoreError};
use serde_json::{Map, Value, json};
use sqlx::Row;

use crate::FILE_TYPE;

pub static EXPORTABLE: Exportable = Exportable {
    component: "file",
    content_resource: "pulp_file.app.modelresource.FileContentResource",
    repository_resource: "pulp_file.app.modelresource.FileRepositoryResource",
    repository_fields,
    content_rows,
    import_rows,
};

fn repository_fields(r: &Repository) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "manifest".into(),
        json!(r.manifest.as_deref().unwrap_or("PULP_MANIFEST")),
    );
    m.insert(
        "autopublish".into(),
        json!(if r.autopublish { "1" } else { "0" }),
    );
    m.insert("last_sync_details".into(), Value::Null);
    m
}

fn content_rows(core: Core, v: Version) -> RowsFuture {
    Box::pin(async move {
        let sql = format!(
            "SELECT c.id, fc.relative_path, fc.sha256 FROM repository_contents rc \
             JOIN contents c ON c.id = rc.content_id JOIN file_contents fc ON fc.content_id = c.id \
             WHERE {} AND c.pulp_type = $3 ORDER BY fc.relative_path, c.id",
            present_condition(1, 2)
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&v.repository_id)
            .bind(v.number)
            .bind(FILE_TYPE)
            .fetch_all(core.db.pool())
            .await?;
        let domain = depot_core::domain::id().to_string();
        rows.iter()
            .map(|r| {
                let mut m = Map::new();
                m.insert("pulp_type".into(), json!(FILE_TYPE));
                m.insert("upstream_id".into(), json!(r.try_get::<String, _>(0)?));
                m.insert("pulp_domain".into(), json!(domain));
                m.insert("relative_path".into(), json!(r.try_get::<String, _>(1)?));
                m.insert("digest".into(), json!(r.try_get::<String, _>(2)?));
                m.insert("_pulp_domain".into(), json!(domain));
                Ok(m)
            })
            .collect()
    })
}

fn text<'a>(row: &'a Map<String, Value>, field: &str) -> Result<&'a str, CoreError> {
    row.get(field).and_then(Value::as_str).ok_or_else(|| {
        CoreError::invalid(format!(
            "A file content row of the export has no '{field}'."
        ))
    })
}

fn import_rows(core: Core, rows: Vec<Map<String, Value>>, files: ImportedFiles) -> IdsFuture {
    Box::pin(async move {
        let mut ids = Vec::with_capacity(rows.len());
        for row in &rows {
            let relative_path = text(row, "relative_path")?;
            let digest = text(row, "digest")?;
            let upstream = text(row, "upstream_id")?;
            crate::content::validate_relative_path(relative_path)?;
            let Some((_, artifact_id)) = files
                .get(upstream)
                .and_then(|f| f.iter().find(|(p, _)| p == relative_path))
            else {
                return Err(CoreError::invalid(format!(
                    "The export names no file for the content '{}'.",
                    relative_path.escape_debug()
                )));
            };
            let a = artifact::get(&core.db, artifact_id).await?;
            // The unit's digest is its file's: an export where they differ is not trusted.
            if a.digests.sha256 != digest {
                return Err(CoreError::invalid(format!(
                    "The digest of '{}' in the export is not its file's.",
                    relative_path.escape_debug()
                )));
            }
            let unit = crate::content::get_or_create_with_artifact(
                &core.db,
                relative_path,
                &a,
                &Labels::new(),
            )
            .await?;
            ids.push(unit.id);
        }
        Ok(ids)
    })
}
