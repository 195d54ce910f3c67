//! Repositories. Creating one creates its version 0 in the same transaction.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::list::Table;
use super::remote::unique_name;
use super::{Labels, labels_from_text};
use crate::db::{Db, Tx, get_bool};
use crate::hrefs::{Kind, version_href};
use crate::plugin::{self, Family};
use crate::{CoreError, CoreResult};

#[derive(Debug, Clone)]
pub struct Repository {
    pub id: String,
    /// The type its `pulp_type` names (checked when the row is read).
    pub kind: Kind,
    /// The type of the remotes it syncs from (its plugin's), if its plugin has remotes.
    pub remote_kind: Option<Kind>,
    pub pulp_type: String,
    pub name: String,
    pub description: Option<String>,
    pub pulp_labels: Labels,
    pub retain_repo_versions: Option<i64>,
    pub retain_checkpoints: Option<i64>,
    pub remote_id: Option<String>,
    pub autopublish: bool,
    pub manifest: Option<String>,
    pub latest_number: i64,
    /// The number the next version gets; numbers of deleted versions are never reused.
    pub next_number: i64,
    pub last_sync_details: Value,
    pub created: String,
    pub updated: String,
}

pub const COLUMNS: &str = "id, pulp_type, name, description, pulp_labels, retain_repo_versions, \
    retain_checkpoints, remote_id, autopublish, manifest, latest_number, next_number, last_sync_details, created, updated";

/// Repositories as lists see them.
pub static TABLE: Table = Table {
    select: COLUMNS,
    from: "repositories",
    fields: &[
        ("pulp_labels", "pulp_labels"),
        ("id", "id"),
        ("pk", "id"),
        ("pulp_id", "id"),
        ("pulp_type", "pulp_type"),
        ("name", "name"),
        ("remote", "remote_id"),
        ("pulp_created", "created"),
        ("pulp_last_updated", "updated"),
    ],
    domain: Some("repositories.domain_id"),
};

impl Repository {
    pub fn from_row(row: &AnyRow) -> CoreResult<Self> {
        let pulp_type: String = row.try_get("pulp_type")?;
        Ok(Self {
            id: row.try_get("id")?,
            kind: plugin::find(Family::Repository, &pulp_type)?,
            remote_kind: plugin::find(Family::Remote, &pulp_type).ok(),
            pulp_type,
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            pulp_labels: labels_from_text(&row.try_get::<String, _>("pulp_labels")?),
            retain_repo_versions: row.try_get("retain_repo_versions")?,
            retain_checkpoints: row.try_get("retain_checkpoints")?,
            remote_id: row.try_get("remote_id")?,
            autopublish: get_bool(row, "autopublish")?,
            manifest: row.try_get("manifest")?,
            latest_number: row.try_get("latest_number")?,
            next_number: row.try_get("next_number")?,
            last_sync_details: crate::db::get_json(row, "last_sync_details")?,
            created: row.try_get("created")?,
            updated: row.try_get("updated")?,
        })
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn href(&self) -> String {
        self.kind().href(&self.id)
    }

    pub fn prn(&self) -> String {
        self.kind().prn(&self.id)
    }

    pub fn response(&self) -> FileRepositoryResponse {
        let href = self.href();
        FileRepositoryResponse {
            versions_href: format!("{href}versions/"),
            latest_version_href: version_href(self.kind(), &self.id, self.latest_number),
            pulp_href: href,
            prn: self.prn(),
            pulp_created: self.created.clone(),
            pulp_last_updated: self.updated.clone(),
            pulp_labels: self.pulp_labels.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            retain_repo_versions: self.retain_repo_versions,
            retain_checkpoints: self.retain_checkpoints,
            remote: self
                .remote_id
                .as_deref()
                .zip(self.remote_kind)
                .map(|(id, kind)| kind.href(id)),
            autopublish: self.autopublish,
            manifest: self.manifest.clone(),
            last_sync_details: self.last_sync_details.clone(),
        }
    }
}

/// A file repository.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FileRepositoryResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    pub versions_href: String,
    pub pulp_labels: Labels,
    pub latest_version_href: String,
    pub name: String,
    pub description: Option<String>,
    pub retain_repo_versions: Option<i64>,
    pub retain_checkpoints: Option<i64>,
    pub remote: Option<String>,
    pub autopublish: bool,
    pub manifest: Option<String>,
    pub last_sync_details: Value,
}

/// Every repository of the domain in force.
pub async fn all_in_domain(db: &Db) -> CoreResult<Vec<Repository>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM repositories WHERE domain_id = $1"
    )))
    .bind(crate::domain::id().to_string())
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(Repository::from_row).collect()
}

pub async fn get(db: &Db, id: &str) -> CoreResult<Repository> {
    fetch(db.pool(), id).await
}

/// A repository of the given type: another plugin's repository is not found here.
pub async fn get_of_type(db: &Db, id: &str, pulp_type: &str) -> CoreResult<Repository> {
    let repo = get(db, id).await?;
    if repo.pulp_type != pulp_type {
        return Err(CoreError::not_found("Repository"));
    }
    Ok(repo)
}

pub async fn get_in(tx: &mut Tx, id: &str) -> CoreResult<Repository> {
    fetch(&mut **tx, id).await
}

async fn fetch<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    ex: E,
    id: &str,
) -> CoreResult<Repository> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM repositories WHERE id = $1 AND domain_id = $2"
    )))
    .bind(id.to_string())
    .bind(crate::domain::id().to_string())
    .fetch_optional(ex)
    .await?
    .ok_or_else(|| CoreError::not_found("Repository"))?;
    Repository::from_row(&row)
}

pub struct NewRepository {
    /// The repository type's `pulp_type`.
    pub pulp_type: &'static str,
    pub name: String,
    pub description: Option<String>,
    pub pulp_labels: Labels,
    pub retain_repo_versions: Option<i64>,
    pub retain_checkpoints: Option<i64>,
    pub remote_id: Option<String>,
    pub autopublish: bool,
    pub manifest: Option<String>,
}

pub async fn create(db: &Db, r: NewRepository) -> CoreResult<Repository> {
    validate_retain(r.retain_repo_versions, "retain_repo_versions")?;
    validate_retain(r.retain_checkpoints, "retain_checkpoints")?;
    let id = crate::new_id();
    let now = crate::time::now();
    let mut tx = db.begin_write().await?;
    let res = sqlx::query(
        "INSERT INTO repositories (id, pulp_type, name, description, pulp_labels, retain_repo_versions, \
         retain_checkpoints, remote_id, autopublish, manifest, latest_number, next_number, last_sync_details, created, updated, domain_id) \
         VALUES ($1, $11, $2, $3, $4, $5, $6, $7, $8, $9, 0, 1, '{}', $10, $10, $12)",
    )
    .bind(&id)
    .bind(&r.name)
    .bind(r.description)
    .bind(Value::Object(r.pulp_labels).to_string())
    .bind(r.retain_repo_versions)
    .bind(r.retain_checkpoints)
    .bind(r.remote_id)
    .bind(r.autopublish)
    .bind(r.manifest)
    .bind(&now)
    .bind(r.pulp_type)
    .bind(crate::domain::id().to_string())
    .execute(&mut *tx)
    .await;
    unique_name(res.map_err(CoreError::from))?;
    super::version::insert_version(
        &mut tx,
        &id,
        0,
        None,
        &json!({"added": {}, "removed": {}, "present": {}}),
    )
    .await?;
    tx.commit().await?;
    get(db, &id).await
}

fn validate_retain(v: Option<i64>, field: &str) -> CoreResult<()> {
    match v {
        Some(n) if n < 1 => Err(CoreError::field(
            field,
            "Ensure this value is greater than or equal to 1.",
        )),
        _ => Ok(()),
    }
}

/// Applies field changes; returns false when nothing changed.
pub async fn update(db: &Db, id: &str, changes: Map<String, Value>) -> CoreResult<bool> {
    let mut repo = get(db, id).await?;
    let before = repo.response();
    let before = serde_json::to_value(&before).unwrap_or_default();
    for (k, v) in changes {
        match k.as_str() {
            "name" => repo.name = v.as_str().unwrap_or_default().to_string(),
            "description" => repo.description = v.as_str().map(str::to_string),
            "pulp_labels" => repo.pulp_labels = crate::labels::validate(&v)?,
            "retain_repo_versions" => repo.retain_repo_versions = v.as_i64(),
            "retain_checkpoints" => repo.retain_checkpoints = v.as_i64(),
            "remote" => {
                repo.remote_id = v
                    .as_str()
                    .zip(repo.remote_kind)
                    .and_then(|(h, kind)| kind.parse_ref(h))
            }
            "autopublish" => repo.autopublish = v.as_bool().unwrap_or(false),
            "manifest" => repo.manifest = v.as_str().map(str::to_string),
            other => return Err(CoreError::field(other, "Unexpected field")),
        }
    }
    validate_retain(repo.retain_repo_versions, "retain_repo_versions")?;
    validate_retain(repo.retain_checkpoints, "retain_checkpoints")?;
    if serde_json::to_value(repo.response()).unwrap_or_default() == before {
        return Ok(false);
    }
    let res = sqlx::query(
        "UPDATE repositories SET name = $2, description = $3, pulp_labels = $4, retain_repo_versions = $5, \
         retain_checkpoints = $6, remote_id = $7, autopublish = $8, manifest = $9, updated = $10 WHERE id = $1",
    )
    .bind(id)
    .bind(&repo.name)
    .bind(repo.description.clone())
    .bind(Value::Object(repo.pulp_labels.clone()).to_string())
    .bind(repo.retain_repo_versions)
    .bind(repo.retain_checkpoints)
    .bind(repo.remote_id.clone())
    .bind(repo.autopublish)
    .bind(repo.manifest.clone())
    .bind(crate::time::now())
    .execute(db.pool())
    .await;
    unique_name(res.map_err(CoreError::from))?;
    if let Some(keep) = repo.retain_repo_versions {
        super::version::apply_retention(db, id, keep).await?;
    }
    if let Some(keep) = repo.retain_checkpoints {
        super::publication::retain_checkpoints(db, id, keep).await?;
    }
    Ok(true)
}

pub async fn delete(db: &Db, id: &str) -> CoreResult<()> {
    let mut tx = db.begin_write().await?;
    // Publications and distributions of its versions go with it (distributions are unlinked).
    sqlx::query("DELETE FROM repositories WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn set_last_sync_details(db: &Db, id: &str, details: &Value) -> CoreResult<()> {
    sqlx::query("UPDATE repositories SET last_sync_details = $2 WHERE id = $1")
        .bind(id)
        .bind(details.to_string())
        .execute(db.pool())
        .await?;
    Ok(())
}
