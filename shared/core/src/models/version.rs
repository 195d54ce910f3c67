//! Repository versions: immutable, numbered, each a set of content. Membership is stored as
//! ranges (`version_added`, `version_removed`), so a new version writes only its differences.

use std::collections::{HashMap, HashSet};

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value, json};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::list::Table;
use crate::db::{Db, Tx, placeholders};
use crate::hrefs::{Kind, VERSION_PRN_MODEL, version_href};
use crate::plugin::{self, Family, Role};
use crate::{CoreError, CoreResult};

/// Pulp's error code for content that would replace a unit of the same key without `overwrite`.
pub const OVERWRITE_REJECTED: &str = "PLP0023";

#[derive(Debug, Clone)]
pub struct Version {
    pub id: String,
    /// The repository's type (checked when the row is read).
    pub repository_kind: Kind,
    pub repository_id: String,
    /// The repository's `pulp_type`, which decides the version's href.
    pub repository_type: String,
    pub number: i64,
    pub base_version_id: Option<String>,
    /// Counts per content `pulp_type`: `{"added": {<type>: 3}, "removed": {...}, "present": {...}}`
    pub summary: Value,
    pub created: String,
    pub updated: String,
}

pub const COLUMNS: &str = "id, repository_id, number, base_version_id, content_summary, created, updated, \
    (SELECT r.pulp_type FROM repositories r WHERE r.id = repository_versions.repository_id) AS repository_type";

/// Repository versions as lists see them.
pub static TABLE: Table = Table {
    select: COLUMNS,
    from: "repository_versions",
    fields: &[
        ("id", "id"),
        ("pk", "id"),
        ("repository", "repository_id"),
        (
            "repository_type",
            "(SELECT vt.pulp_type FROM repositories vt WHERE vt.id = repository_versions.repository_id)",
        ),
        ("number", "number"),
        ("pulp_created", "created"),
    ],
    domain: Some(
        "(SELECT vr.domain_id FROM repositories vr WHERE vr.id = repository_versions.repository_id)",
    ),
};

/// The content list path of a content type, used in `content_summary` hrefs.
pub fn content_list_path(pulp_type: &str) -> String {
    match plugin::find(Family::Content, pulp_type) {
        Ok(kind) => format!("{}{}", crate::domain::api_root(), kind.collection),
        // A type no installed plugin has still gets a link that lists it.
        Err(_) => format!("{}content/", crate::domain::api_root()),
    }
}

impl Version {
    pub fn from_row(row: &AnyRow) -> CoreResult<Self> {
        let repository_type: String = row.try_get("repository_type")?;
        Ok(Self {
            id: row.try_get("id")?,
            repository_id: row.try_get("repository_id")?,
            repository_kind: plugin::find(Family::Repository, &repository_type)?,
            repository_type,
            number: row.try_get("number")?,
            base_version_id: row.try_get("base_version_id")?,
            summary: crate::db::get_json(row, "content_summary")?,
            created: row.try_get("created")?,
            updated: row.try_get("updated")?,
        })
    }

    pub fn href(&self) -> String {
        version_href(self.repository_kind(), &self.repository_id, self.number)
    }

    pub fn repository_kind(&self) -> Kind {
        self.repository_kind
    }

    pub fn prn(&self) -> String {
        format!("prn:{VERSION_PRN_MODEL}:{}", self.id)
    }

    pub fn response(&self, base_version_href: Option<String>) -> RepositoryVersionResponse {
        let href = self.href();
        let bucket = |name: &str, filter: &str| {
            let mut out = Map::new();
            if let Some(Value::Object(counts)) = self.summary.get(name) {
                for (t, count) in counts {
                    let list = content_list_path(t);
                    out.insert(
                        t.clone(),
                        json!({"count": count, "href": format!("{list}?{filter}={href}")}),
                    );
                }
            }
            Value::Object(out)
        };
        RepositoryVersionResponse {
            prn: self.prn(),
            pulp_created: self.created.clone(),
            pulp_last_updated: self.updated.clone(),
            number: self.number,
            repository: self.repository_kind().href(&self.repository_id),
            base_version: base_version_href,
            content_summary: ContentSummaryResponse {
                added: bucket("added", "repository_version_added"),
                removed: bucket("removed", "repository_version_removed"),
                present: bucket("present", "repository_version"),
            },
            vuln_report: None,
            pulp_href: href,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ContentSummaryResponse {
    pub added: Value,
    pub removed: Value,
    pub present: Value,
}

/// An immutable, numbered state of a repository.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RepositoryVersionResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    pub number: i64,
    pub repository: String,
    pub base_version: Option<String>,
    pub content_summary: ContentSummaryResponse,
    pub vuln_report: Option<String>,
}

pub async fn insert_version(
    tx: &mut Tx,
    repository_id: &str,
    number: i64,
    base_version_id: Option<String>,
    summary: &Value,
) -> CoreResult<String> {
    let id = crate::new_id();
    let now = crate::time::now();
    sqlx::query(
        "INSERT INTO repository_versions (id, repository_id, number, base_version_id, content_summary, created, updated) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(&id)
    .bind(repository_id)
    .bind(number)
    .bind(base_version_id)
    .bind(summary.to_string())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// The version's repository is in the domain bound to parameter `param`.
fn in_domain(param: usize) -> String {
    format!(
        "EXISTS (SELECT 1 FROM repositories dr \
         WHERE dr.id = repository_versions.repository_id AND dr.domain_id = ${param})"
    )
}

pub async fn get(db: &Db, repository_id: &str, number: i64) -> CoreResult<Version> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM repository_versions WHERE repository_id = $1 AND number = $2 \
         AND {}",
        in_domain(3)
    )))
    .bind(repository_id)
    .bind(number)
    .bind(crate::domain::id().to_string())
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| CoreError::not_found("RepositoryVersion"))?;
    Version::from_row(&row)
}

pub async fn get_by_id(db: &Db, id: &str) -> CoreResult<Version> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM repository_versions WHERE id = $1 AND {}",
        in_domain(2)
    )))
    .bind(id)
    .bind(crate::domain::id().to_string())
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| CoreError::not_found("RepositoryVersion"))?;
    Version::from_row(&row)
}

/// The version a client's reference in `field` names: a version's href or PRN; with
/// `repository_means_latest`, a repository's href or PRN names its latest version (as Pulp's
/// content filters take them).
pub async fn resolve(
    db: &Db,
    field: &str,
    reference: &str,
    repository_means_latest: bool,
) -> CoreResult<Version> {
    let missing = || crate::hrefs::missing(field, reference);
    if let Some(id) = reference
        .strip_prefix("prn:")
        .and_then(|r| r.strip_prefix(crate::hrefs::VERSION_PRN_MODEL))
        .and_then(|r| r.strip_prefix(':'))
    {
        uuid::Uuid::parse_str(id).map_err(|_| crate::hrefs::unresolved(field, reference))?;
        return get_by_id(db, id).await.map_err(|_| missing());
    }
    if let Some((repo, n)) = crate::hrefs::parse_version_href(reference) {
        return get(db, &repo, n).await.map_err(|_| missing());
    }
    if repository_means_latest
        && let Ok((_, repo)) = crate::hrefs::resolve_family(Family::Repository, field, reference)
    {
        let r = super::repository::get(db, &repo)
            .await
            .map_err(|_| missing())?;
        return get(db, &repo, r.latest_number).await.map_err(|_| missing());
    }
    Err(crate::hrefs::unresolved(field, reference))
}

/// Resolves a version href to the version.
pub async fn from_href(db: &Db, href: &str) -> CoreResult<Version> {
    let (repo, number) = crate::hrefs::parse_version_href(href)
        .ok_or_else(|| CoreError::invalid(format!("Invalid repository version href: {href}")))?;
    get(db, &repo, number).await
}

/// The response with the base version resolved to an href.
pub async fn response(db: &Db, v: &Version) -> CoreResult<RepositoryVersionResponse> {
    let base = match &v.base_version_id {
        Some(id) => get_by_id(db, id).await.ok().map(|b| b.href()),
        None => None,
    };
    Ok(v.response(base))
}

/// SQL condition: repository_contents row `rc` is present in version `$n` of repository `$r`.
pub fn present_condition(repo_param: usize, number_param: usize) -> String {
    format!(
        "rc.repository_id = ${repo_param} AND rc.version_added <= ${number_param} \
         AND (rc.version_removed IS NULL OR rc.version_removed > ${number_param})"
    )
}

/// A unit's identity within a repository version: its type and its key (a file's relative
/// path, a tag's name, a digest). Adding a unit replaces the one with the same identity.
type UnitKey = (String, String);

/// (content id, key) of everything in a version.
async fn present_with_keys(
    tx: &mut Tx,
    repository_id: &str,
    number: i64,
) -> CoreResult<Vec<(String, UnitKey)>> {
    let sql = format!(
        "SELECT rc.content_id, c.pulp_type, c.repo_key FROM repository_contents rc \
         JOIN contents c ON c.id = rc.content_id WHERE {}",
        present_condition(1, 2)
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(repository_id)
        .bind(number)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, (r.try_get(1)?, r.try_get(2)?))))
        .collect()
}

/// Keys of the given content ids (unknown ids, and those of other domains, are left out).
async fn keys_of(tx: &mut Tx, ids: &[String]) -> CoreResult<HashMap<String, UnitKey>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT id, pulp_type, repo_key FROM contents WHERE domain_id = $1 AND id IN ({})",
            placeholders(2, chunk.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(crate::domain::id().to_string());
        for id in chunk {
            q = q.bind(id.clone());
        }
        for r in q.fetch_all(&mut **tx).await? {
            out.insert(r.try_get(0)?, (r.try_get(1)?, r.try_get(2)?));
        }
    }
    Ok(out)
}

/// The plugin part of a type name: `<plugin>` of `<plugin>.<type>`.
fn plugin(pulp_type: &str) -> &str {
    pulp_type.split('.').next().unwrap_or(pulp_type)
}

/// What a new version removes: everything, or these content ids.
#[derive(Debug, Clone)]
pub enum Removal {
    All,
    Some(Vec<String>),
}

pub struct Change {
    pub base_number: Option<i64>,
    /// The repository of the base version when it is another's (Pulp allows a version of
    /// another repository of the same type as the base).
    pub base_repository_id: Option<String>,
    pub remove: Removal,
    pub add: Vec<String>,
    /// When false, an added unit may not replace one with the same key (relative path, tag name).
    pub overwrite: bool,
}

impl Change {
    /// Adds `ids` to the latest version, replacing units with the same keys.
    pub fn add(ids: Vec<String>) -> Self {
        Self::synced(ids, false)
    }

    /// Removes `ids` from the latest version.
    pub fn remove(ids: Vec<String>) -> Self {
        Self {
            base_number: None,
            base_repository_id: None,
            remove: Removal::Some(ids),
            add: Vec::new(),
            overwrite: true,
        }
    }

    /// What a sync brought: `ids` added, and with `mirror` everything else removed.
    pub fn synced(ids: Vec<String>, mirror: bool) -> Self {
        Self {
            base_number: None,
            base_repository_id: None,
            remove: match mirror {
                true => Removal::All,
                false => Removal::Some(Vec::new()),
            },
            add: ids,
            overwrite: true,
        }
    }
}

/// Creates the next version of a repository from its latest (or `base_number`) with removals
/// applied before additions. Returns `None` when the change adds and removes nothing, in which
/// case no version is created. The caller holds the repository's exclusive reservation.
pub async fn create_next(
    db: &Db,
    repository_id: &str,
    change: Change,
) -> CoreResult<Option<Version>> {
    let mut tx = db.begin_write().await?;
    let repo = super::repository::get_in(&mut tx, repository_id).await?;
    let latest = repo.latest_number;
    let current = present_with_keys(&mut tx, repository_id, latest).await?;
    let base_repo = change
        .base_repository_id
        .as_deref()
        .unwrap_or(repository_id);
    let (base, base_version_id) = match change.base_number {
        Some(n) if n != latest || base_repo != repository_id => {
            let base_id: Option<String> = sqlx::query_scalar(
                "SELECT id FROM repository_versions WHERE repository_id = $1 AND number = $2",
            )
            .bind(base_repo)
            .bind(n)
            .fetch_optional(&mut *tx)
            .await?;
            let base_id = base_id.ok_or_else(|| {
                CoreError::field("base_version", "The base version does not exist.")
            })?;
            (
                present_with_keys(&mut tx, base_repo, n).await?,
                Some(base_id),
            )
        }
        Some(_) => (
            current.clone(),
            sqlx::query_scalar(
                "SELECT id FROM repository_versions WHERE repository_id = $1 AND number = $2",
            )
            .bind(repository_id)
            .bind(latest)
            .fetch_optional(&mut *tx)
            .await?,
        ),
        None => (current.clone(), None),
    };

    // desired: key -> content id
    let mut desired: HashMap<UnitKey, String> = match &change.remove {
        Removal::All => HashMap::new(),
        Removal::Some(ids) => {
            let gone: HashSet<&String> = ids.iter().collect();
            base.into_iter()
                .filter(|(id, _)| !gone.contains(id))
                .map(|(id, path)| (path, id))
                .collect()
        }
    };
    let mut add: Vec<String> = change.add.clone();
    add.sort();
    add.dedup();
    let add_keys = keys_of(&mut tx, &add).await?;
    let mut added_keys = HashSet::new();
    for id in &add {
        let key = add_keys
            .get(id)
            .filter(|(t, _)| plugin(t) == plugin(&repo.pulp_type))
            .ok_or_else(|| {
                CoreError::field(
                    "add_content_units",
                    format!(
                        "Content {id} cannot be added to a {} repository.",
                        plugin(&repo.pulp_type)
                    ),
                )
            })?;
        let (pulp_type, name) = key;
        let what = match plugin::find(Family::Content, pulp_type).map(|k| k.role) {
            Ok(Role::Content { key_name }) => key_name,
            _ => "key",
        };
        if !added_keys.insert(key.clone()) {
            return Err(CoreError::invalid(format!(
                "More than one content unit with the {what} '{name}' was added."
            )));
        }
        if let Some(existing) = desired.get(key)
            && existing != id
            && !change.overwrite
        {
            return Err(CoreError::invalid(format!(
                "[{OVERWRITE_REJECTED}] Content overwrite rejected: new content of type '{pulp_type}' \
                 would overwrite 1 existing content unit(s) in the repository with the same unique \
                 key (the {what} '{name}'; overwrite is false). Conflicting content \
                 (incoming->existing): [{id}->{existing}]"
            )));
        }
        desired.insert(key.clone(), id.clone());
    }

    let current_ids: HashSet<String> = current.into_iter().map(|(id, _)| id).collect();
    let desired_ids: HashSet<String> = desired.into_values().collect();
    let to_remove: Vec<String> = current_ids.difference(&desired_ids).cloned().collect();
    let to_add: Vec<String> = desired_ids.difference(&current_ids).cloned().collect();
    if to_remove.is_empty() && to_add.is_empty() {
        return Ok(None);
    }

    let number = repo.next_number;
    for chunk in to_remove.chunks(500) {
        let sql = format!(
            "UPDATE repository_contents SET version_removed = $1 WHERE repository_id = $2 \
             AND version_removed IS NULL AND content_id IN ({})",
            placeholders(3, chunk.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql))
            .bind(number)
            .bind(repository_id.to_string());
        for id in chunk {
            q = q.bind(id.clone());
        }
        q.execute(&mut *tx).await?;
    }
    for chunk in to_add.chunks(200) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, $1, ${}, $2)", 3 + 2 * i, 4 + 2 * i))
            .collect();
        let sql = format!(
            "INSERT INTO repository_contents (id, repository_id, content_id, version_added) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(AssertSqlSafe(sql))
            .bind(repository_id.to_string())
            .bind(number);
        for id in chunk {
            q = q.bind(crate::new_id()).bind(id.clone());
        }
        q.execute(&mut *tx).await?;
    }
    let summary = summarize(&mut tx, repository_id, number).await?;
    let id = insert_version(&mut tx, repository_id, number, base_version_id, &summary).await?;
    sqlx::query("UPDATE repositories SET latest_number = $2, next_number = $3 WHERE id = $1")
        .bind(repository_id)
        .bind(number)
        .bind(number + 1)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    if let Some(keep) = repo.retain_repo_versions {
        apply_retention(db, repository_id, keep).await?;
    }
    get_by_id(db, &id).await.map(Some)
}

/// Counts per content type of what a version added, removed and holds.
async fn summarize(tx: &mut Tx, repository_id: &str, number: i64) -> CoreResult<Value> {
    let mut out = Map::new();
    for (bucket, cond) in [
        (
            "added",
            "rc.repository_id = $1 AND rc.version_added = $2".to_string(),
        ),
        (
            "removed",
            "rc.repository_id = $1 AND rc.version_removed = $2".to_string(),
        ),
        ("present", present_condition(1, 2)),
    ] {
        let sql = format!(
            "SELECT c.pulp_type, COUNT(*) FROM repository_contents rc JOIN contents c ON c.id = rc.content_id \
             WHERE {cond} GROUP BY c.pulp_type"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(repository_id)
            .bind(number)
            .fetch_all(&mut **tx)
            .await?;
        let mut counts = Map::new();
        for r in rows {
            counts.insert(r.try_get::<String, _>(0)?, json!(r.try_get::<i64, _>(1)?));
        }
        out.insert(bucket.into(), Value::Object(counts));
    }
    Ok(Value::Object(out))
}

/// Deletes a version, folding its changes into the next one so later versions keep their
/// content. The last remaining version cannot be deleted.
pub async fn delete(db: &Db, repository_id: &str, number: i64) -> CoreResult<()> {
    let mut tx = db.begin_write().await?;
    let numbers: Vec<i64> = sqlx::query_scalar(
        "SELECT number FROM repository_versions WHERE repository_id = $1 ORDER BY number",
    )
    .bind(repository_id)
    .fetch_all(&mut *tx)
    .await?;
    if !numbers.contains(&number) {
        return Err(CoreError::not_found("RepositoryVersion"));
    }
    if numbers.len() == 1 {
        return Err(CoreError::invalid(
            "Cannot delete repository version. Repositories must have at least one repository version.",
        ));
    }
    let next = numbers.iter().copied().find(|n| *n > number);
    match next {
        Some(next) => {
            // Added here and removed in the next: never visible again.
            sqlx::query(
                "DELETE FROM repository_contents WHERE repository_id = $1 AND version_added = $2 AND version_removed = $3",
            )
            .bind(repository_id)
            .bind(number)
            .bind(next)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE repository_contents SET version_added = $3 WHERE repository_id = $1 AND version_added = $2")
                .bind(repository_id)
                .bind(number)
                .bind(next)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE repository_contents SET version_removed = $3 WHERE repository_id = $1 AND version_removed = $2")
                .bind(repository_id)
                .bind(number)
                .bind(next)
                .execute(&mut *tx)
                .await?;
            // Removed by the deleted version and added back by the next: it never left. One
            // row again, so that the next version neither adds nor removes it.
            let back: Vec<(String, String, Option<i64>)> = sqlx::query(
                "SELECT old.id, new.id, new.version_removed FROM repository_contents old \
                 JOIN repository_contents new ON new.repository_id = old.repository_id \
                 AND new.content_id = old.content_id AND new.version_added = $2 \
                 WHERE old.repository_id = $1 AND old.version_removed = $2",
            )
            .bind(repository_id)
            .bind(next)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect::<CoreResult<_>>()?;
            for (old, new, removed) in back {
                sqlx::query("UPDATE repository_contents SET version_removed = $2 WHERE id = $1")
                    .bind(&old)
                    .bind(removed)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM repository_contents WHERE id = $1")
                    .bind(&new)
                    .execute(&mut *tx)
                    .await?;
            }
            let summary = summarize(&mut tx, repository_id, next).await?;
            sqlx::query("UPDATE repository_versions SET content_summary = $3 WHERE repository_id = $1 AND number = $2")
                .bind(repository_id)
                .bind(next)
                .bind(summary.to_string())
                .execute(&mut *tx)
                .await?;
        }
        None => {
            // Deleting the latest: undo its changes; the previous version becomes the latest.
            sqlx::query(
                "DELETE FROM repository_contents WHERE repository_id = $1 AND version_added = $2",
            )
            .bind(repository_id)
            .bind(number)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE repository_contents SET version_removed = NULL WHERE repository_id = $1 AND version_removed = $2")
                .bind(repository_id)
                .bind(number)
                .execute(&mut *tx)
                .await?;
            let previous = numbers
                .iter()
                .copied()
                .filter(|n| *n < number)
                .max()
                .unwrap_or(0);
            sqlx::query("UPDATE repositories SET latest_number = $2 WHERE id = $1")
                .bind(repository_id)
                .bind(previous)
                .execute(&mut *tx)
                .await?;
        }
    }
    sqlx::query("DELETE FROM repository_versions WHERE repository_id = $1 AND number = $2")
        .bind(repository_id)
        .bind(number)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The numbers of a repository's versions that distributions serve (Pulp's protected versions):
/// one a distribution names, one whose publication a distribution names, and for a distribution
/// of the repository itself what it serves: the latest published version (types that serve
/// publications) or the latest version.
pub async fn protected_numbers(db: &Db, repository_id: &str) -> CoreResult<HashSet<i64>> {
    let mut out: HashSet<i64> = sqlx::query_scalar(
        "SELECT v.number FROM repository_versions v WHERE v.repository_id = $1 AND (\
           v.id IN (SELECT d.repository_version_id FROM distributions d) \
           OR v.id IN (SELECT p.repository_version_id FROM publications p \
                       JOIN distributions d ON d.publication_id = p.id))",
    )
    .bind(repository_id)
    .fetch_all(db.pool())
    .await?
    .into_iter()
    .collect();
    // A checkpoint distribution of the repository serves every checkpoint publication of it.
    let checkpointed: Vec<i64> = sqlx::query_scalar(
        "SELECT v.number FROM repository_versions v JOIN publications p ON p.repository_version_id = v.id \
         WHERE v.repository_id = $1 AND p.checkpoint = $2 AND EXISTS (SELECT 1 FROM distributions d \
         WHERE d.repository_id = $1 AND d.checkpoint = $2)",
    )
    .bind(repository_id)
    .bind(true)
    .fetch_all(db.pool())
    .await?;
    out.extend(checkpointed);
    let types: Vec<String> = sqlx::query_scalar(
        "SELECT pulp_type FROM distributions WHERE repository_id = $1 AND checkpoint = $2",
    )
    .bind(repository_id)
    .bind(false)
    .fetch_all(db.pool())
    .await?;
    for t in types {
        let serves_publications = match plugin::find(Family::Distribution, &t).map(|k| k.role) {
            Ok(Role::Distribution {
                publication: Some(p),
                ..
            }) => p.serves_files(),
            _ => false,
        };
        let number: Option<i64> = match serves_publications {
            true => {
                sqlx::query_scalar(
                    "SELECT MAX(v.number) FROM repository_versions v \
                     JOIN publications p ON p.repository_version_id = v.id WHERE v.repository_id = $1",
                )
                .bind(repository_id)
                .fetch_one(db.pool())
                .await?
            }
            false => {
                sqlx::query_scalar("SELECT latest_number FROM repositories WHERE id = $1")
                    .bind(repository_id)
                    .fetch_optional(db.pool())
                    .await?
            }
        };
        out.extend(number);
    }
    Ok(out)
}

/// Keeps only the newest `keep` versions among those no distribution serves (served ones stay,
/// and do not count, as in Pulp).
pub async fn apply_retention(db: &Db, repository_id: &str, keep: i64) -> CoreResult<()> {
    let protected = protected_numbers(db, repository_id).await?;
    let numbers: Vec<i64> = sqlx::query_scalar(
        "SELECT number FROM repository_versions WHERE repository_id = $1 ORDER BY number DESC",
    )
    .bind(repository_id)
    .fetch_all(db.pool())
    .await?;
    let mut old: Vec<i64> = numbers
        .into_iter()
        .filter(|n| !protected.contains(n))
        .skip(keep.max(1) as usize)
        .collect();
    old.sort();
    for n in old {
        delete(db, repository_id, n).await?;
    }
    Ok(())
}
