//! Distributions: where content is served, under a base path.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::list::Table;
use super::remote::unique_name;
use super::{Labels, labels_from_text};
use crate::db::{Db, get_bool};
use crate::hrefs::Kind;
use crate::plugin::{self, Family, Role};
use crate::{CoreError, CoreResult};

/// Base paths are a shared namespace: every change of distributions holds this resource.
pub const BASE_PATHS: &str = "pdrn:distribution-base-paths";

#[derive(Debug, Clone)]
pub struct Distribution {
    pub id: String,
    /// The type its `pulp_type` names (checked when the row is read).
    pub kind: Kind,
    /// The type of the repository it serves, if any.
    pub repository_kind: Option<Kind>,
    pub pulp_type: String,
    pub name: String,
    pub base_path: String,
    pub pulp_labels: Labels,
    pub hidden: bool,
    pub content_guard: Option<String>,
    pub repository_id: Option<String>,
    /// The served repository's `pulp_type`, which decides its href.
    pub repository_type: Option<String>,
    pub repository_version_id: Option<String>,
    pub publication_id: Option<String>,
    pub checkpoint: bool,
    /// Container distributions: pulls need credentials.
    pub private: bool,
    pub description: Option<String>,
    /// Pull-through distributions (and those they create): the upstream registry.
    pub remote_id: Option<String>,
    /// A distribution a pull-through distribution created for one upstream name.
    pub pull_through_id: Option<String>,
    /// Python distributions: whether twine may upload to them.
    pub allow_uploads: bool,
    pub created: String,
    pub updated: String,
}

pub const COLUMNS: &str = "id, pulp_type, name, base_path, pulp_labels, hidden, content_guard, repository_id, \
    repository_version_id, publication_id, checkpoint, private, description, remote_id, pull_through_id, allow_uploads, \
    created, updated, \
    (SELECT r.pulp_type FROM repositories r WHERE r.id = distributions.repository_id) AS repository_type";

/// Distributions as lists see them.
pub static TABLE: Table = Table {
    select: COLUMNS,
    from: "distributions",
    fields: &[
        ("pulp_labels", "pulp_labels"),
        ("id", "id"),
        ("pk", "id"),
        ("pulp_type", "pulp_type"),
        ("name", "name"),
        ("base_path", "base_path"),
        ("repository", "repository_id"),
        ("pulp_created", "created"),
    ],
    domain: Some("distributions.domain_id"),
};

impl Distribution {
    pub fn from_row(row: &AnyRow) -> CoreResult<Self> {
        let pulp_type: String = row.try_get("pulp_type")?;
        let repository_type: Option<String> = row.try_get("repository_type")?;
        Ok(Self {
            id: row.try_get("id")?,
            kind: plugin::find(Family::Distribution, &pulp_type)?,
            pulp_type,
            name: row.try_get("name")?,
            base_path: row.try_get("base_path")?,
            pulp_labels: labels_from_text(&row.try_get::<String, _>("pulp_labels")?),
            hidden: get_bool(row, "hidden")?,
            content_guard: row.try_get("content_guard")?,
            repository_id: row.try_get("repository_id")?,
            repository_kind: match &repository_type {
                Some(t) => Some(plugin::find(Family::Repository, t)?),
                None => None,
            },
            repository_type,
            repository_version_id: row.try_get("repository_version_id")?,
            publication_id: row.try_get("publication_id")?,
            checkpoint: get_bool(row, "checkpoint")?,
            private: get_bool(row, "private")?,
            description: row.try_get("description")?,
            remote_id: row.try_get("remote_id")?,
            pull_through_id: row.try_get("pull_through_id")?,
            allow_uploads: get_bool(row, "allow_uploads")?,
            created: row.try_get("created")?,
            updated: row.try_get("updated")?,
        })
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The type of the publications it serves, if its type serves publications.
    pub fn publication_kind(&self) -> Option<Kind> {
        match self.kind.role {
            Role::Distribution { publication, .. } => publication,
            _ => None,
        }
    }

    pub fn href(&self) -> String {
        self.kind().href(&self.id)
    }
}

/// A file distribution: serves a repository, a repository version or a publication.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FileDistributionResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    pub base_path: String,
    pub base_url: String,
    pub content_guard: Option<String>,
    pub content_guard_prn: Option<String>,
    pub no_content_change_since: Option<String>,
    pub hidden: bool,
    pub pulp_labels: Labels,
    pub name: String,
    pub repository: Option<String>,
    pub repository_version: Option<String>,
    pub publication: Option<String>,
    pub checkpoint: bool,
}

pub async fn response(
    db: &Db,
    d: &Distribution,
    settings: &crate::config::Settings,
) -> CoreResult<FileDistributionResponse> {
    let guard = match &d.content_guard {
        Some(id) => super::content_guard::href_of(db, id).await?,
        None => None,
    };
    let repository = d
        .repository_id
        .as_deref()
        .zip(d.repository_kind)
        .map(|(id, kind)| kind.href(id));
    let version = match &d.repository_version_id {
        Some(id) => super::version::get_by_id(db, id)
            .await
            .ok()
            .map(|v| v.href()),
        None => None,
    };
    Ok(FileDistributionResponse {
        pulp_href: d.href(),
        prn: d.kind().prn(&d.id),
        pulp_created: d.created.clone(),
        pulp_last_updated: d.updated.clone(),
        base_url: format!(
            "{}{}{}/",
            settings.content_origin,
            crate::domain::content_prefix(&settings.content_path_prefix),
            d.base_path
        ),
        base_path: d.base_path.clone(),
        content_guard: guard.as_ref().map(|(href, _)| href.clone()),
        content_guard_prn: guard.map(|(_, prn)| prn),
        no_content_change_since: Some(d.updated.clone()),
        hidden: d.hidden,
        pulp_labels: d.pulp_labels.clone(),
        name: d.name.clone(),
        repository,
        repository_version: version,
        publication: d
            .publication_id
            .as_deref()
            .zip(d.publication_kind())
            .map(|(id, kind)| kind.href(id)),
        checkpoint: d.checkpoint,
    })
}

pub async fn get(db: &Db, id: &str) -> CoreResult<Distribution> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM distributions WHERE id = $1 AND domain_id = $2"
    )))
    .bind(id)
    .bind(crate::domain::id().to_string())
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| CoreError::not_found("Distribution"))?;
    Distribution::from_row(&row)
}

/// A distribution of the given type: another plugin's distribution is not found here.
pub async fn get_of_type(db: &Db, id: &str, pulp_type: &str) -> CoreResult<Distribution> {
    let t: Option<String> =
        sqlx::query_scalar("SELECT pulp_type FROM distributions WHERE id = $1 AND domain_id = $2")
            .bind(id)
            .bind(crate::domain::id().to_string())
            .fetch_optional(db.pool())
            .await?;
    if t.as_deref() != Some(pulp_type) {
        return Err(CoreError::not_found("Distribution"));
    }
    get(db, id).await
}

/// Most segments a base path may have. The content app and the package index look a request
/// up among this many prefixes of its path, however long the path is.
pub const MAX_BASE_PATH_SEGMENTS: usize = 16;
/// The longest base path, in bytes (a registry's repository name is at most 255).
pub const MAX_BASE_PATH_BYTES: usize = 255;

/// Checks a base path: relative, no empty, `.` or `..` segments, no trailing slash, no control
/// characters, at most [`MAX_BASE_PATH_SEGMENTS`] segments and [`MAX_BASE_PATH_BYTES`] bytes.
pub fn validate_base_path(base_path: &str) -> CoreResult<()> {
    let bad = base_path.is_empty()
        || base_path.starts_with('/')
        || base_path.ends_with('/')
        || base_path.split('/').any(|s| {
            s.is_empty()
                || s == "."
                || s == ".."
                || s.contains(|c: char| c.is_control() || c == '\\')
        });
    if bad {
        return Err(CoreError::field(
            "base_path",
            "Relative path can't start with '/', end with '/' or contain empty, '.' or '..' segments.",
        ));
    }
    // Pulp refuses whitespace in base paths (a URL path would need it escaped).
    if base_path.contains(char::is_whitespace) {
        return Err(CoreError::field(
            "base_path",
            "Base path must not contain spaces.",
        ));
    }
    if base_path.len() > MAX_BASE_PATH_BYTES
        || base_path.split('/').count() > MAX_BASE_PATH_SEGMENTS
    {
        return Err(CoreError::field(
            "base_path",
            format!(
                "Ensure this field has no more than {MAX_BASE_PATH_BYTES} characters and \
                 {MAX_BASE_PATH_SEGMENTS} segments."
            ),
        ));
    }
    Ok(())
}

/// The prefixes of `path` that could be base paths (each ends where a segment ends), shortest
/// first: at most [`MAX_BASE_PATH_SEGMENTS`] of them, each at most [`MAX_BASE_PATH_BYTES`],
/// found without looking further into the path. Empty for an empty path.
pub fn base_path_candidates(path: &str) -> Vec<&str> {
    let path = path.trim_end_matches('/');
    if path.is_empty() {
        return Vec::new();
    }
    path.match_indices('/')
        .map(|(i, _)| &path[..i])
        .chain(std::iter::once(path))
        .take(MAX_BASE_PATH_SEGMENTS)
        .take_while(|p| p.len() <= MAX_BASE_PATH_BYTES)
        .collect()
}

/// `<column> IN (...)` with [`MAX_BASE_PATH_SEGMENTS`] placeholders from `$first` on: one
/// statement text whatever the path, so it is prepared once. Bind with
/// [`bind_base_path_candidates`].
pub fn base_path_in(column: &str, first: usize) -> String {
    format!(
        "{column} IN ({})",
        crate::db::placeholders(first, MAX_BASE_PATH_SEGMENTS)
    )
}

/// Binds `candidates` to the placeholders of [`base_path_in`], repeating the last one to fill
/// them all (an empty list binds a value no base path has).
pub fn bind_base_path_candidates<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    candidates: &[&str],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    let last = candidates.last().copied().unwrap_or("/");
    for i in 0..MAX_BASE_PATH_SEGMENTS {
        q = q.bind(candidates.get(i).copied().unwrap_or(last).to_string());
    }
    q
}

/// Checks a distribution's name and base path before anything is dispatched, so that a clash
/// is a 400 for the caller rather than a failed task. The task checks again (the database has
/// the final word on uniqueness).
pub async fn precheck(
    db: &Db,
    pulp_type: &str,
    name: Option<&str>,
    base_path: Option<&str>,
    exclude_id: Option<&str>,
) -> CoreResult<()> {
    if let Some(name) = name {
        if name.is_empty() {
            return Err(CoreError::field("name", "This field may not be blank."));
        }
        let other: Option<String> =
            sqlx::query_scalar("SELECT id FROM distributions WHERE name = $1 AND domain_id = $2")
                .bind(name)
                .bind(crate::domain::id().to_string())
                .fetch_optional(db.pool())
                .await?;
        if other.is_some_and(|o| Some(o.as_str()) != exclude_id) {
            return Err(CoreError::field("name", "This field must be unique."));
        }
    }
    if let Some(base_path) = base_path {
        validate_base_path(base_path)?;
        check_overlap(db, pulp_type, base_path, exclude_id).await?;
    }
    Ok(())
}

/// Base paths are unique, and the content app's may not nest inside each other. Registry names
/// may (`library` and `library/alpine` are two repositories, and a pull-through cache's
/// distributions live below its base path), so distributions the content app does not serve
/// only clash on equality.
async fn check_overlap(
    db: &Db,
    pulp_type: &str,
    base_path: &str,
    exclude_id: Option<&str>,
) -> CoreResult<()> {
    let rows = sqlx::query(
        "SELECT id, name, base_path, pulp_type FROM distributions WHERE domain_id = $1",
    )
    .bind(crate::domain::id().to_string())
    .fetch_all(db.pool())
    .await?;
    let served_by_content_app =
        |t: &str| plugin::find(Family::Distribution, t).is_ok_and(|k| k.served_by_content_app());
    for r in rows {
        let id: String = r.try_get(0)?;
        if Some(id.as_str()) == exclude_id {
            continue;
        }
        let other: String = r.try_get(2)?;
        let other_type: String = r.try_get(3)?;
        let may_nest = !(served_by_content_app(pulp_type) && served_by_content_app(&other_type));
        let nested = other == base_path
            || (!may_nest
                && (other.starts_with(&format!("{base_path}/"))
                    || base_path.starts_with(&format!("{other}/"))));
        if nested {
            let name: String = r.try_get(1)?;
            return Err(CoreError::field(
                "base_path",
                format!("Overlaps with existing distribution '{name}'"),
            ));
        }
    }
    Ok(())
}

/// What a distribution serves; at most one is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub repository_id: Option<String>,
    pub repository_version_id: Option<String>,
    pub publication_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewDistribution {
    /// The distribution type's `pulp_type`.
    pub pulp_type: String,
    pub name: String,
    pub base_path: String,
    pub pulp_labels: Labels,
    pub hidden: bool,
    pub source: Source,
    pub checkpoint: bool,
    pub private: bool,
    pub description: Option<String>,
    pub remote_id: Option<String>,
    pub pull_through_id: Option<String>,
    pub allow_uploads: bool,
    /// The id of the content guard that protects what it serves.
    #[serde(default)]
    pub content_guard: Option<String>,
}

pub async fn create(db: &Db, d: NewDistribution) -> CoreResult<Distribution> {
    validate_base_path(&d.base_path)?;
    check_overlap(db, &d.pulp_type, &d.base_path, None).await?;
    let id = crate::new_id();
    let now = crate::time::now();
    let res = sqlx::query(
        "INSERT INTO distributions (id, pulp_type, name, base_path, pulp_labels, hidden, content_guard, repository_id, \
         repository_version_id, publication_id, checkpoint, created, updated, private, description, remote_id, pull_through_id, \
         allow_uploads, domain_id) VALUES ($1, $11, $2, $3, $4, $5, $17, $6, $7, $8, $9, $10, $10, $12, $13, $14, $15, $16, $18)",
    )
    .bind(&id)
    .bind(&d.name)
    .bind(&d.base_path)
    .bind(Value::Object(d.pulp_labels).to_string())
    .bind(d.hidden)
    .bind(d.source.repository_id)
    .bind(d.source.repository_version_id)
    .bind(d.source.publication_id)
    .bind(d.checkpoint)
    .bind(now)
    .bind(d.pulp_type)
    .bind(d.private)
    .bind(d.description)
    .bind(d.remote_id)
    .bind(d.pull_through_id)
    .bind(d.allow_uploads)
    .bind(d.content_guard)
    .bind(crate::domain::id().to_string())
    .execute(db.pool())
    .await;
    unique_name(res.map_err(CoreError::from))?;
    get(db, &id).await
}

/// Applies already-validated changes. Returns false when nothing changed.
pub async fn update(
    db: &Db,
    id: &str,
    changes: Map<String, Value>,
    source: Option<Source>,
) -> CoreResult<bool> {
    let mut d = get(db, id).await?;
    let before = format!("{d:?}");
    for (k, v) in changes {
        match k.as_str() {
            "name" => d.name = v.as_str().unwrap_or_default().to_string(),
            "base_path" => d.base_path = v.as_str().unwrap_or_default().to_string(),
            "pulp_labels" => d.pulp_labels = crate::labels::validate(&v)?,
            "hidden" => d.hidden = v.as_bool().unwrap_or(false),
            "checkpoint" => d.checkpoint = v.as_bool().unwrap_or(false),
            "private" => d.private = v.as_bool().unwrap_or(false),
            "allow_uploads" => d.allow_uploads = v.as_bool().unwrap_or(true),
            "description" => d.description = v.as_str().map(str::to_string),
            // Resolved to the guard's id by the API before the task.
            "content_guard" => d.content_guard = v.as_str().map(str::to_string),
            "remote" => {
                d.remote_id = v
                    .as_str()
                    .and_then(|h| plugin::of_family(Family::Remote).find_map(|k| k.parse_ref(h)))
            }
            _ => {}
        }
    }
    if let Some(s) = source {
        d.repository_id = s.repository_id;
        d.repository_version_id = s.repository_version_id;
        d.publication_id = s.publication_id;
    }
    if format!("{d:?}") == before {
        return Ok(false);
    }
    validate_base_path(&d.base_path)?;
    check_overlap(db, &d.pulp_type, &d.base_path, Some(id)).await?;
    let res = sqlx::query(
        "UPDATE distributions SET name = $2, base_path = $3, pulp_labels = $4, hidden = $5, repository_id = $6, \
         repository_version_id = $7, publication_id = $8, checkpoint = $9, updated = $10, private = $11, \
         description = $12, remote_id = $13, allow_uploads = $14, content_guard = $15 WHERE id = $1",
    )
    .bind(id)
    .bind(&d.name)
    .bind(&d.base_path)
    .bind(Value::Object(d.pulp_labels.clone()).to_string())
    .bind(d.hidden)
    .bind(d.repository_id.clone())
    .bind(d.repository_version_id.clone())
    .bind(d.publication_id.clone())
    .bind(d.checkpoint)
    .bind(crate::time::now())
    .bind(d.private)
    .bind(d.description.clone())
    .bind(d.remote_id.clone())
    .bind(d.allow_uploads)
    .bind(d.content_guard.clone())
    .execute(db.pool())
    .await;
    unique_name(res.map_err(CoreError::from))?;
    Ok(true)
}

pub async fn delete(db: &Db, id: &str) -> CoreResult<()> {
    sqlx::query("DELETE FROM distributions WHERE id = $1")
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}
