//! Container namespaces: the first segment of container distributions' base paths, as Pulp
//! groups registry repositories (`library` in `library/alpine`). A namespace is made with the
//! first distribution in it; deleting one deletes its distributions.

use std::collections::HashMap;

use depot_core::db::{Db, Tx};
use depot_core::models::list::Table;
use depot_core::models::{Labels, distribution, labels_from_text, repository};
use depot_core::{CoreError, CoreResult};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::PUSH_REPOSITORY_TYPE;

pub const COLUMNS: &str = "id, name, pulp_labels, created, updated";

/// Namespaces as lists see them.
pub static TABLE: Table = Table {
    select: COLUMNS,
    from: "container_namespaces",
    fields: &[
        ("pulp_labels", "pulp_labels"),
        ("id", "id"),
        ("pk", "id"),
        ("pulp_id", "id"),
        ("name", "name"),
        ("pulp_created", "created"),
        ("pulp_last_updated", "updated"),
    ],
    domain: Some("container_namespaces.domain_id"),
};

pub struct Namespace {
    pub id: String,
    pub name: String,
    pub pulp_labels: Labels,
    pub created: String,
    pub updated: String,
}

/// A container namespace.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ContainerNamespaceResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    pub name: String,
    pub pulp_labels: Labels,
}

impl Namespace {
    pub fn from_row(row: &AnyRow) -> CoreResult<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            pulp_labels: labels_from_text(&row.try_get::<String, _>("pulp_labels")?),
            created: row.try_get("created")?,
            updated: row.try_get("updated")?,
        })
    }

    pub fn response(&self) -> ContainerNamespaceResponse {
        ContainerNamespaceResponse {
            pulp_href: crate::plugin::NAMESPACE.href(&self.id),
            prn: crate::plugin::NAMESPACE.prn(&self.id),
            pulp_created: self.created.clone(),
            pulp_last_updated: self.updated.clone(),
            name: self.name.clone(),
            pulp_labels: self.pulp_labels.clone(),
        }
    }
}

/// The namespace of a base path: its first segment.
pub fn of(base_path: &str) -> &str {
    base_path.split('/').next().unwrap_or(base_path)
}

/// Namespace names are one segment of a registry repository name.
pub fn validate_name(name: &str) -> CoreResult<()> {
    if name.contains('/') || crate::names::validate_name(name).is_err() {
        return Err(CoreError::field(
            "name",
            "Must be one segment of a container repository name: lowercase [a-z0-9] separated by '.', '_', '__' or '-'.",
        ));
    }
    Ok(())
}

pub async fn get(db: &Db, id: &str) -> CoreResult<Namespace> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM container_namespaces WHERE id = $1 AND domain_id = $2"
    )))
    .bind(id)
    .bind(depot_core::domain::id().to_string())
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| CoreError::not_found("ContainerNamespace"))?;
    Namespace::from_row(&row)
}

async fn insert(tx: &mut Tx, name: &str, labels: &Labels) -> CoreResult<u64> {
    let now = depot_core::time::now();
    Ok(sqlx::query(
        "INSERT INTO container_namespaces (id, name, pulp_labels, created, updated, domain_id) \
         VALUES ($1, $2, $3, $4, $4, $5) ON CONFLICT (domain_id, name) DO NOTHING",
    )
    .bind(depot_core::new_id())
    .bind(name)
    .bind(Value::Object(labels.clone()).to_string())
    .bind(now)
    .bind(depot_core::domain::id().to_string())
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// Creates a namespace; a taken name is a 400.
pub async fn create(db: &Db, name: &str, labels: Labels) -> CoreResult<Namespace> {
    validate_name(name)?;
    let mut tx = db.begin_write().await?;
    if insert(&mut tx, name, &labels).await? == 0 {
        return Err(CoreError::Invalid(
            json!({"name": ["This field must be unique."]}),
        ));
    }
    tx.commit().await?;
    by_name(db, name)
        .await?
        .ok_or_else(|| CoreError::Internal("namespace vanished".into()))
}

/// The namespace of `base_path`, made when missing.
pub async fn ensure(db: &Db, base_path: &str) -> CoreResult<()> {
    let mut tx = db.begin_write().await?;
    insert(&mut tx, of(base_path), &Labels::new()).await?;
    tx.commit().await?;
    Ok(())
}

/// The ids of the namespaces among `names`, by name (one query per 500 names).
pub async fn ids_by_name(db: &Db, names: &[&str]) -> CoreResult<HashMap<String, String>> {
    let mut out = HashMap::new();
    for chunk in names.chunks(500) {
        let sql = format!(
            "SELECT name, id FROM container_namespaces WHERE domain_id = $1 AND name IN ({})",
            depot_core::db::placeholders(2, chunk.len())
        );
        let mut q =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(depot_core::domain::id().to_string());
        for name in chunk {
            q = q.bind(name.to_string());
        }
        for r in q.fetch_all(db.pool()).await? {
            out.insert(r.try_get(0)?, r.try_get(1)?);
        }
    }
    Ok(out)
}

pub async fn by_name(db: &Db, name: &str) -> CoreResult<Option<Namespace>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM container_namespaces WHERE name = $1 AND domain_id = $2"
    )))
    .bind(name)
    .bind(depot_core::domain::id().to_string())
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(Namespace::from_row).transpose()
}

/// Deletes a namespace with its container distributions (pull-through ones too) and the push
/// repositories they served.
pub async fn delete(db: &Db, id: &str) -> CoreResult<()> {
    let ns = get(db, id).await?;
    let rows = sqlx::query(
        "SELECT d.id, d.base_path, r.id, r.pulp_type FROM distributions d \
         LEFT JOIN repositories r ON r.id = d.repository_id \
         WHERE d.pulp_type LIKE 'container.%' AND d.domain_id = $1",
    )
    .bind(depot_core::domain::id().to_string())
    .fetch_all(db.pool())
    .await?;
    for r in rows {
        let base_path: String = r.try_get(1)?;
        if of(&base_path) != ns.name {
            continue;
        }
        let distribution_id: String = r.try_get(0)?;
        distribution::delete(db, &distribution_id).await?;
        let repo: Option<String> = r.try_get(2)?;
        let repo_type: Option<String> = r.try_get(3)?;
        if let (Some(repo), Some(PUSH_REPOSITORY_TYPE)) = (repo, repo_type.as_deref()) {
            repository::delete(db, &repo).await?;
        }
    }
    sqlx::query("DELETE FROM container_namespaces WHERE id = $1")
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}
