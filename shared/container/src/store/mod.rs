//! The container content store: which repository a registry name is, what blobs, manifests and
//! tags it holds (its latest version plus its pending pushes), and how pushed content is
//! recorded. Shared by the registry API and the container tasks. This file holds the
//! repositories and what every part uses; each kind of content has its own file.

mod blobs;
mod manifests;
mod referrers;
mod tags;
mod uploads;

pub use blobs::*;
pub use manifests::*;
pub use referrers::*;
pub use tags::*;
pub use uploads::*;

use depot_core::db::{Db, Tx};
use depot_core::models::distribution::{self, NewDistribution, Source};
use depot_core::models::repository::{self, NewRepository};
use depot_core::models::version::present_condition;
use depot_core::{CoreError, CoreResult};
use sqlx::{AssertSqlSafe, Row};

use crate::{DISTRIBUTION_TYPE, PUSH_REPOSITORY_TYPE, RegistryError, RegistryResult};

/// A registry repository: a container distribution and the repository it serves.
#[derive(Debug, Clone)]
pub struct Repo {
    pub name: String,
    pub repository_id: String,
    /// `container.container-push` (pushes allowed) or `container.container` (synced).
    pub repository_type: String,
    pub private: bool,
    /// The version served: the latest, or the one the distribution pins.
    pub latest_number: i64,
    /// The distribution serves a pinned version: nothing can be pushed to it.
    pub pinned: bool,
    /// A pull-through cache's distribution: its remote reaches the upstream repository.
    pub remote_id: Option<String>,
    /// The distribution's id (`None` for a repository seen without one).
    pub distribution_id: Option<String>,
}

impl Repo {
    /// The name tasks on the repository reserve.
    pub fn prn(&self) -> String {
        let kind = if self.repository_type == PUSH_REPOSITORY_TYPE {
            &crate::plugin::PUSH_REPOSITORY
        } else {
            &crate::plugin::REPOSITORY
        };
        kind.prn(&self.repository_id)
    }

    pub fn pushable(&self) -> bool {
        self.repository_type == PUSH_REPOSITORY_TYPE && !self.pinned
    }
}

/// The condition "content `cid_sql` is in the repository (`$1`) at version `$2`, or pending".
pub(super) fn visible(cid_sql: &str) -> String {
    format!(
        "(EXISTS (SELECT 1 FROM repository_contents rc WHERE rc.content_id = {cid_sql} AND {}) \
         OR EXISTS (SELECT 1 FROM container_pending p WHERE p.content_id = {cid_sql} AND p.repository_id = $1))",
        present_condition(1, 2)
    )
}

/// A query whose `$1` and `$2` are the repository and its latest version number, the
/// parameters [`visible`] and `present_condition(1, 2)` use.
pub(super) fn in_repo<'q>(
    sql: String,
    repo: &Repo,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    sqlx::query(AssertSqlSafe(sql))
        .bind(repo.repository_id.clone())
        .bind(repo.latest_number)
}

pub async fn find(db: &Db, name: &str) -> RegistryResult<Option<Repo>> {
    let row = sqlx::query(
        "SELECT r.id, d.private AS private, COALESCE(v.number, r.latest_number) AS number, r.pulp_type, \
         d.remote_id, v.id IS NOT NULL AS pinned, d.id AS distribution_id FROM distributions d \
         LEFT JOIN repository_versions v ON v.id = d.repository_version_id \
         JOIN repositories r ON r.id = COALESCE(d.repository_id, v.repository_id) \
         WHERE d.base_path = $1 AND d.pulp_type = $2 AND d.domain_id = $3",
    )
    .bind(name)
    .bind(DISTRIBUTION_TYPE)
    .bind(depot_core::domain::id().to_string())
    .fetch_optional(db.pool())
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(Repo {
        name: name.to_string(),
        repository_id: r.try_get(0)?,
        private: depot_core::db::get_bool(&r, "private")?,
        latest_number: r.try_get(2)?,
        repository_type: r.try_get(3)?,
        remote_id: r.try_get(4)?,
        pinned: depot_core::db::get_bool(&r, "pinned")?,
        distribution_id: r.try_get("distribution_id")?,
    }))
}

/// The repository behind `name`, created with its distribution on the first push.
pub async fn find_or_create(db: &Db, name: &str) -> RegistryResult<Repo> {
    if let Some(repo) = find(db, name).await? {
        if !repo.pushable() {
            // Pulp keeps synced repositories read-only to the registry.
            return Err(RegistryError::Denied);
        }
        return Ok(repo);
    }
    let created = async {
        let repo = repository::create(
            db,
            NewRepository {
                pulp_type: PUSH_REPOSITORY_TYPE,
                name: name.to_string(),
                description: None,
                pulp_labels: Default::default(),
                retain_repo_versions: None,
                retain_checkpoints: None,
                remote_id: None,
                autopublish: false,
                manifest: None,
            },
        )
        .await?;
        distribution::create(
            db,
            NewDistribution {
                pulp_type: DISTRIBUTION_TYPE.into(),
                name: name.to_string(),
                base_path: name.to_string(),
                pulp_labels: Default::default(),
                hidden: false,
                source: Source {
                    repository_id: Some(repo.id.clone()),
                    ..Default::default()
                },
                checkpoint: false,
                private: false,
                description: None,
                remote_id: None,
                pull_through_id: None,
                allow_uploads: true,
                content_guard: None,
            },
        )
        .await?;
        crate::namespaces::ensure(db, name).await
    }
    .await;
    if let Err(e) = created {
        // Clients upload layers in parallel, so the first push of a name races with itself:
        // the winner may still be creating the distribution.
        return match find_soon(db, name).await? {
            Some(repo) => Ok(repo),
            None => Err(RegistryError::NameInvalid(format!(
                "cannot create repository '{name}': {}",
                describe(&e)
            ))),
        };
    }
    find(db, name)
        .await?
        .ok_or_else(|| RegistryError::NameUnknown(name.to_string()))
}

/// The repository behind `name` once a concurrent request that is creating it is done (a
/// second at most).
pub async fn find_soon(db: &Db, name: &str) -> RegistryResult<Option<Repo>> {
    for _ in 0..40 {
        if let Some(repo) = find(db, name).await? {
            return Ok(Some(repo));
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    Ok(None)
}

pub(super) fn describe(e: &CoreError) -> String {
    match e {
        CoreError::Invalid(v) => v.to_string(),
        other => other.to_string(),
    }
}

pub(super) async fn pend(tx: &mut Tx, repository_id: &str, content_id: &str) -> CoreResult<()> {
    sqlx::query(
        "INSERT INTO container_pending (repository_id, content_id, created) VALUES ($1, $2, $3) \
         ON CONFLICT (repository_id, content_id) DO NOTHING",
    )
    .bind(repository_id)
    .bind(content_id)
    .bind(depot_core::time::now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn insert_content(tx: &mut Tx, pulp_type: &str, key: &str) -> CoreResult<String> {
    let id = depot_core::new_id();
    sqlx::query(
        "INSERT INTO contents (id, pulp_type, pulp_labels, created, updated, repo_key, domain_id) \
         VALUES ($1, $2, '{}', $3, $3, $4, $5)",
    )
    .bind(&id)
    .bind(pulp_type)
    .bind(depot_core::time::now())
    .bind(key)
    .bind(depot_core::domain::id().to_string())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Removes a content row that lost a race before anything refers to it.
pub(super) async fn drop_content(tx: &mut Tx, id: &str) -> CoreResult<()> {
    sqlx::query("DELETE FROM contents WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A repository as the catalog lists it.
#[derive(Debug, Clone)]
pub struct Listed {
    /// Its name in the catalog (`<domain>/<base_path>` across domains).
    pub name: String,
    pub base_path: String,
    pub private: bool,
    /// Its domain's id and name.
    pub domain: (String, String),
}

/// Up to `n` repositories after `last` in name order, private ones only when
/// `include_private`: the domain in force's, or (`across_domains`) every domain's, named
/// `<domain>/<base_path>` as the registry takes them with domains on.
pub async fn catalog(
    db: &Db,
    across_domains: bool,
    include_private: bool,
    last: Option<&str>,
    n: i64,
) -> RegistryResult<Vec<Listed>> {
    let name = match across_domains {
        true => "(dm.name || '/' || d.base_path)",
        false => "d.base_path",
    };
    let mut sql = format!(
        "SELECT {name} AS name, d.base_path, d.private, dm.id AS domain_id, dm.name AS domain_name \
         FROM distributions d JOIN domains dm ON dm.id = d.domain_id \
         WHERE d.pulp_type = $1 AND {name} > $2"
    );
    if !across_domains {
        sql.push_str(" AND d.domain_id = $4");
    }
    if !include_private {
        sql.push_str(&format!(
            " AND d.private = ${}",
            if across_domains { 4 } else { 5 }
        ));
    }
    sql.push_str(&format!(" ORDER BY {name} LIMIT $3"));
    let mut q = sqlx::query(AssertSqlSafe(sql))
        .bind(DISTRIBUTION_TYPE)
        .bind(last.unwrap_or(""))
        .bind(n);
    if !across_domains {
        q = q.bind(depot_core::domain::id().to_string());
    }
    if !include_private {
        q = q.bind(false);
    }
    q.fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(Listed {
                name: r.try_get("name")?,
                base_path: r.try_get("base_path")?,
                private: depot_core::db::get_bool(r, "private")?,
                domain: (r.try_get("domain_id")?, r.try_get("domain_name")?),
            })
        })
        .collect::<CoreResult<_>>()
        .map_err(Into::into)
}

/// A new version of the repository with `change` (container content: what it adds stops being
/// pending); `None` when nothing changed.
pub async fn new_version(
    db: &Db,
    repository_id: &str,
    change: depot_core::models::version::Change,
) -> CoreResult<Option<depot_core::models::version::Version>> {
    let added = change.add.clone();
    let created = depot_core::models::version::create_next(db, repository_id, change).await?;
    unpend(db, repository_id, &added).await?;
    Ok(created)
}

/// Content that is now in a version is no longer pending.
pub async fn unpend(db: &Db, repository_id: &str, ids: &[String]) -> CoreResult<()> {
    let mut tx = db.begin_write().await?;
    for chunk in ids.chunks(500) {
        let sql = format!(
            "DELETE FROM container_pending WHERE repository_id = $1 AND content_id IN ({})",
            depot_core::db::placeholders(2, chunk.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(repository_id);
        for id in chunk {
            q = q.bind(id);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

impl Repo {
    /// The registry view of a repository (its latest version and pending pushes).
    pub fn of(repository: &depot_core::models::repository::Repository) -> Repo {
        Repo {
            name: repository.name.clone(),
            repository_id: repository.id.clone(),
            repository_type: repository.pulp_type.clone(),
            private: false,
            latest_number: repository.latest_number,
            pinned: false,
            remote_id: None,
            distribution_id: None,
        }
    }
}

/// Content units with everything they need: a tag brings its manifest's closure, a manifest its
/// own, a blob only itself.
pub async fn expand(db: &Db, ids: &[String]) -> CoreResult<Vec<String>> {
    let mut out = Vec::new();
    for id in ids {
        out.push(id.clone());
        let tagged: Option<String> =
            sqlx::query_scalar("SELECT manifest_id FROM container_tags WHERE content_id = $1")
                .bind(id)
                .fetch_optional(db.pool())
                .await?;
        let manifest = match tagged {
            Some(m) => Some(m),
            None => {
                sqlx::query_scalar(
                    "SELECT content_id FROM container_manifests WHERE content_id = $1",
                )
                .bind(id)
                .fetch_optional(db.pool())
                .await?
            }
        };
        if let Some(m) = manifest {
            out.extend(closure(db, &m).await?);
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The ids of the content of type `pulp_type` in a repository version.
pub async fn present(
    db: &Db,
    repository_id: &str,
    number: i64,
    pulp_type: &str,
) -> CoreResult<Vec<String>> {
    let sql = format!(
        "SELECT rc.content_id FROM repository_contents rc JOIN contents c ON c.id = rc.content_id \
         WHERE {} AND c.pulp_type = $3",
        present_condition(1, 2)
    );
    Ok(sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(repository_id)
        .bind(number)
        .bind(pulp_type)
        .fetch_all(db.pool())
        .await?)
}

/// One column of the rows whose `key_column` is one of `ids` (queried in chunks).
pub(super) async fn column_where_in(
    db: &Db,
    select: &str,
    key_column: &str,
    ids: &[String],
) -> CoreResult<Vec<String>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(400) {
        let sql = format!(
            "{select} WHERE {key_column} IN ({})",
            depot_core::db::placeholders(1, chunk.len())
        );
        let mut q = sqlx::query_scalar(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(id);
        }
        out.extend(q.fetch_all(db.pool()).await?);
    }
    Ok(out)
}
