//! Importers (Pulp's PulpImporter) and the imports each has run. An importer's repo_mapping
//! says which repository here takes the content of each repository named in an export.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::list::Table;
use crate::db::Db;
use crate::hrefs::{PULP_IMPORTER, TASK};
use crate::{CoreError, CoreResult};

/// The most entries one repo_mapping may have.
pub const MAX_MAPPINGS: usize = 1000;

#[derive(Debug, Clone)]
pub struct Importer {
    pub id: String,
    pub name: String,
    pub created: String,
    pub updated: String,
}

/// A Pulp importer as Pulp shows it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PulpImporterResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    /// Unique name of the Importer.
    pub name: String,
    /// Mapping of repo names in an export file to the repo names in Pulp.
    pub repo_mapping: BTreeMap<String, String>,
}

const COLUMNS: &str = "id, name, created, updated";

/// Importers as lists see them.
pub static TABLE: Table = Table {
    select: COLUMNS,
    from: "importers",
    fields: &[
        ("id", "id"),
        ("pk", "id"),
        ("name", "name"),
        ("pulp_created", "created"),
        ("pulp_last_updated", "updated"),
    ],
    domain: Some("importers.domain_id"),
};

impl Importer {
    pub fn from_row(row: &AnyRow) -> CoreResult<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            created: row.try_get("created")?,
            updated: row.try_get("updated")?,
        })
    }

    pub fn href(&self) -> String {
        PULP_IMPORTER.href(&self.id)
    }

    pub fn import_href(&self, import_id: &str) -> String {
        format!("{}imports/{import_id}/", self.href())
    }

    pub async fn response(&self, db: &Db) -> CoreResult<PulpImporterResponse> {
        Ok(PulpImporterResponse {
            pulp_href: self.href(),
            prn: PULP_IMPORTER.prn(&self.id),
            pulp_created: self.created.clone(),
            pulp_last_updated: self.updated.clone(),
            name: self.name.clone(),
            repo_mapping: repo_mapping(db, &self.id).await?,
        })
    }
}

/// The repo_mapping of importer `id`: source name to the name of the repository here.
pub async fn repo_mapping(db: &Db, id: &str) -> CoreResult<BTreeMap<String, String>> {
    let rows = sqlx::query(
        "SELECT m.source_repo, r.name FROM importer_repositories m \
         JOIN repositories r ON r.id = m.repository_id WHERE m.importer_id = $1",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Resolves a repo_mapping's destination names to repositories of the domain in force: the
/// ids, or the 400 Pulp answers naming every repository that is not found.
pub async fn resolve_mapping(
    db: &Db,
    mapping: &BTreeMap<String, String>,
) -> CoreResult<Vec<(String, String)>> {
    if mapping.len() > MAX_MAPPINGS {
        return Err(CoreError::field(
            "repo_mapping",
            format!("At most {MAX_MAPPINGS} repositories may be mapped."),
        ));
    }
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for (source, dest) in mapping {
        let id: Option<String> =
            sqlx::query_scalar("SELECT id FROM repositories WHERE name = $1 AND domain_id = $2")
                .bind(dest)
                .bind(crate::domain::id().to_string())
                .fetch_optional(db.pool())
                .await?;
        match id {
            Some(id) => found.push((source.clone(), id)),
            None => missing.push(format!("'{}'", dest.replace('\'', "\\'"))),
        }
    }
    if !missing.is_empty() {
        return Err(CoreError::Invalid(json!({"non_field_errors": [format!(
            "Failed to find repositories from repo_mapping: names: [{}]",
            missing.join(", ")
        )]})));
    }
    Ok(found)
}

/// Creates an importer in the domain in force with a resolved mapping.
pub async fn create(db: &Db, name: &str, mapping: &[(String, String)]) -> CoreResult<Importer> {
    let id = crate::new_id();
    let now = crate::time::now();
    let mut tx = db.begin_write().await?;
    let res = sqlx::query(
        "INSERT INTO importers (id, name, domain_id, created, updated) VALUES ($1, $2, $3, $4, $4)",
    )
    .bind(&id)
    .bind(name)
    .bind(crate::domain::id().to_string())
    .bind(now)
    .execute(&mut *tx)
    .await;
    super::remote::unique_name(res.map_err(CoreError::from))?;
    set_mapping(&mut tx, &id, mapping).await?;
    tx.commit().await?;
    get(db, &id).await
}

async fn set_mapping(
    tx: &mut crate::db::Tx,
    id: &str,
    mapping: &[(String, String)],
) -> CoreResult<()> {
    sqlx::query("DELETE FROM importer_repositories WHERE importer_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for (source, repo) in mapping {
        sqlx::query(
            "INSERT INTO importer_repositories (importer_id, source_repo, repository_id) \
             VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(source)
        .bind(repo)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Renames an importer and/or replaces its mapping.
pub async fn update(
    db: &Db,
    id: &str,
    name: Option<&str>,
    mapping: Option<&[(String, String)]>,
) -> CoreResult<Importer> {
    let i = get(db, id).await?;
    let mut tx = db.begin_write().await?;
    let res = sqlx::query("UPDATE importers SET name = $2, updated = $3 WHERE id = $1")
        .bind(id)
        .bind(name.unwrap_or(&i.name))
        .bind(crate::time::now())
        .execute(&mut *tx)
        .await;
    super::remote::unique_name(res.map_err(CoreError::from))?;
    if let Some(m) = mapping {
        set_mapping(&mut tx, id, m).await?;
    }
    tx.commit().await?;
    get(db, id).await
}

pub async fn delete(db: &Db, id: &str) -> CoreResult<()> {
    sqlx::query("DELETE FROM importers WHERE id = $1")
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// The importer `id` in the domain in force.
pub async fn get(db: &Db, id: &str) -> CoreResult<Importer> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM importers WHERE id = $1 AND domain_id = $2"
    )))
    .bind(id)
    .bind(crate::domain::id().to_string())
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| CoreError::not_found("Importer"))?;
    Importer::from_row(&row)
}

/// One import an importer ran.
#[derive(Debug, Clone)]
pub struct Import {
    pub id: String,
    pub importer_id: String,
    pub task_id: Option<String>,
    pub params: Value,
    pub created: String,
    pub updated: String,
}

/// An import as Pulp shows it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ImportResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    /// A URI of the Task that ran the Import.
    pub task: Option<String>,
    /// Any parameters that were used to create the import.
    pub params: Value,
}

const IMPORT_COLUMNS: &str = "id, importer_id, task_id, params, created, updated";

/// Imports as lists see them; each list adds its importer.
pub static IMPORTS: Table = Table {
    select: IMPORT_COLUMNS,
    from: "imports",
    fields: &[
        ("id", "id"),
        ("pk", "id"),
        ("importer_id", "importer_id"),
        ("pulp_created", "created"),
        ("pulp_last_updated", "updated"),
    ],
    domain: Some("imports.domain_id"),
};

impl Import {
    pub fn from_row(row: &AnyRow) -> CoreResult<Self> {
        let params: String = row.try_get("params")?;
        Ok(Self {
            id: row.try_get("id")?,
            importer_id: row.try_get("importer_id")?,
            task_id: row.try_get("task_id")?,
            params: serde_json::from_str(&params).unwrap_or(json!({})),
            created: row.try_get("created")?,
            updated: row.try_get("updated")?,
        })
    }

    pub fn response(&self, importer: &Importer) -> ImportResponse {
        ImportResponse {
            pulp_href: importer.import_href(&self.id),
            prn: format!("prn:core.pulpimport:{}", self.id),
            pulp_created: self.created.clone(),
            pulp_last_updated: self.updated.clone(),
            task: self.task_id.as_deref().map(|t| TASK.href(t)),
            params: self.params.clone(),
        }
    }
}

pub async fn create_import(
    db: &Db,
    importer_id: &str,
    task_id: Option<&str>,
    params: &Map<String, Value>,
) -> CoreResult<Import> {
    let id = crate::new_id();
    sqlx::query(
        "INSERT INTO imports (id, importer_id, task_id, params, domain_id, created, updated) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(&id)
    .bind(importer_id)
    .bind(task_id.map(str::to_string))
    .bind(Value::Object(params.clone()).to_string())
    .bind(crate::domain::id().to_string())
    .bind(crate::time::now())
    .execute(db.pool())
    .await?;
    get_import(db, importer_id, &id).await
}

pub async fn get_import(db: &Db, importer_id: &str, id: &str) -> CoreResult<Import> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {IMPORT_COLUMNS} FROM imports WHERE id = $1 AND importer_id = $2 AND domain_id = $3"
    )))
    .bind(id)
    .bind(importer_id)
    .bind(crate::domain::id().to_string())
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| CoreError::not_found("Import"))?;
    Import::from_row(&row)
}

pub async fn delete_import(db: &Db, id: &str) -> CoreResult<()> {
    sqlx::query("DELETE FROM imports WHERE id = $1")
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// The id of the repository that the export's repository `source` goes into: the mapped one,
/// else the one of the same name in the domain in force.
pub async fn destination(
    db: &Db,
    importer_id: &str,
    source: &str,
) -> CoreResult<(String, Option<String>)> {
    let mapped: Option<String> = sqlx::query_scalar(
        "SELECT r.name FROM importer_repositories m JOIN repositories r ON r.id = m.repository_id \
         WHERE m.importer_id = $1 AND m.source_repo = $2",
    )
    .bind(importer_id)
    .bind(source)
    .fetch_optional(db.pool())
    .await?;
    let name = mapped.unwrap_or_else(|| source.to_string());
    let id: Option<String> =
        sqlx::query_scalar("SELECT id FROM repositories WHERE name = $1 AND domain_id = $2")
            .bind(&name)
            .bind(crate::domain::id().to_string())
            .fetch_optional(db.pool())
            .await?;
    Ok((name, id))
}
