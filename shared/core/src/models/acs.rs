//! Alternate content sources (Pulp's ACS): a remote, with `on_demand` policy and of the same
//! type as the content, whose files syncs and on-demand fetches take instead of the primary
//! remote's when the sha256 matches (a nearby mirror, a CDN). A refresh records, per path of the
//! ACS, each file the path offers: sha256, url and size. Lookups are by sha256 within the domain.

use schemars::JsonSchema;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::list::Table;
use crate::db::Db;
use crate::hrefs::Kind;
use crate::plugin::{self, Family};
use crate::{CoreError, CoreResult};

/// The most paths one ACS may have, and the longest path.
pub const MAX_PATHS: usize = 100;
pub const MAX_PATH_LEN: usize = 1024;
/// The most ACS urls tried for one file before the primary remote.
const MAX_SOURCES: i64 = 3;

#[derive(Debug, Clone)]
pub struct Acs {
    pub id: String,
    pub kind: Kind,
    pub name: String,
    pub remote_id: String,
    pub last_refreshed: Option<String>,
    pub created: String,
    pub updated: String,
}

/// One path of an ACS; the empty path is the remote's url itself.
#[derive(Debug, Clone)]
pub struct AcsPath {
    pub id: String,
    pub path: String,
}

/// An ACS as Pulp shows it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AcsResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    /// Name of Alternate Content Source.
    pub name: String,
    /// Date of last refresh of AlternateContentSource.
    pub last_refreshed: Option<String>,
    /// List of paths that will be appended to the Remote url when searching for content.
    pub paths: Vec<String>,
    /// The remote to provide alternate content source.
    pub remote: String,
}

const COLUMNS: &str = "id, pulp_type, name, remote_id, last_refreshed, created, updated";

/// ACSes as lists see them.
pub static TABLE: Table = Table {
    select: COLUMNS,
    from: "acs",
    fields: &[
        ("id", "id"),
        ("pk", "id"),
        ("pulp_type", "pulp_type"),
        ("name", "name"),
        ("pulp_created", "created"),
        ("pulp_last_updated", "updated"),
    ],
    domain: Some("acs.domain_id"),
};

impl Acs {
    pub fn from_row(row: &AnyRow) -> CoreResult<Self> {
        let pulp_type: String = row.try_get("pulp_type")?;
        Ok(Self {
            id: row.try_get("id")?,
            kind: plugin::find(Family::Acs, &pulp_type)?,
            name: row.try_get("name")?,
            remote_id: row.try_get("remote_id")?,
            last_refreshed: row.try_get("last_refreshed")?,
            created: row.try_get("created")?,
            updated: row.try_get("updated")?,
        })
    }

    /// Its remote's type: the remote type of the same `pulp_type`.
    pub fn remote_kind(&self) -> CoreResult<Kind> {
        plugin::find(Family::Remote, self.kind.pulp_type)
    }

    pub async fn response(&self, db: &Db) -> CoreResult<AcsResponse> {
        // An ACS without paths shows its one empty path, as Pulp shows it.
        let paths: Vec<String> = paths(db, &self.id)
            .await?
            .into_iter()
            .map(|p| p.path)
            .collect();
        Ok(AcsResponse {
            pulp_href: self.kind.href(&self.id),
            prn: self.kind.prn(&self.id),
            pulp_created: self.created.clone(),
            pulp_last_updated: self.updated.clone(),
            name: self.name.clone(),
            last_refreshed: self.last_refreshed.clone(),
            paths,
            remote: self.remote_kind()?.href(&self.remote_id),
        })
    }
}

/// Checks the paths a client sent: bounded in number and length, relative, and free of `..`
/// and control characters (they are joined to the remote's url).
pub fn validate_paths(paths: &[String]) -> CoreResult<()> {
    let bad = |why: String| CoreError::field("paths", why);
    if paths.len() > MAX_PATHS {
        return Err(bad(format!("At most {MAX_PATHS} paths are allowed.")));
    }
    for p in paths {
        if p.is_empty() {
            return Err(bad("This field may not be blank.".into()));
        }
        if p.starts_with('/') {
            return Err(bad("Path cannot start with a slash.".into()));
        }
        if p.len() > MAX_PATH_LEN {
            return Err(bad(format!(
                "Ensure each path has no more than {MAX_PATH_LEN} characters."
            )));
        }
        if p.chars().any(char::is_control) || p.split('/').any(|s| s == "..") {
            return Err(bad(format!("'{}' is not a valid path.", p.escape_debug())));
        }
    }
    Ok(())
}

/// The url a path of an ACS with remote url `base` is read from: the two joined by one slash,
/// as Pulp joins them; the empty path is `base` itself.
pub fn path_url(base: &str, path: &str) -> String {
    if path.is_empty() {
        return base.to_string();
    }
    format!("{}/{path}", base.trim_end_matches('/'))
}

/// Creates an ACS of type `kind` in the domain in force, with its paths (or the empty path).
pub async fn create(
    db: &Db,
    kind: Kind,
    name: &str,
    remote_id: &str,
    paths: &[String],
) -> CoreResult<Acs> {
    let id = crate::new_id();
    let now = crate::time::now();
    let mut tx = db.begin_write().await?;
    let res = sqlx::query(
        "INSERT INTO acs (id, pulp_type, name, remote_id, last_refreshed, domain_id, created, updated) \
         VALUES ($1, $2, $3, $4, NULL, $5, $6, $6)",
    )
    .bind(&id)
    .bind(kind.pulp_type)
    .bind(name)
    .bind(remote_id)
    .bind(crate::domain::id().to_string())
    .bind(now)
    .execute(&mut *tx)
    .await;
    super::remote::unique_name(res.map_err(CoreError::from))?;
    set_paths(&mut tx, &id, paths).await?;
    tx.commit().await?;
    get(db, &id).await
}

/// Makes `paths` the ACS's paths: the ones that stay keep what their last refresh found.
async fn set_paths(tx: &mut crate::db::Tx, acs_id: &str, paths: &[String]) -> CoreResult<()> {
    let mut wanted: Vec<&str> = paths.iter().map(String::as_str).collect();
    // No paths means the remote's url itself, kept as the empty path, as Pulp keeps it.
    if wanted.is_empty() {
        wanted.push("");
    }
    let existing: Vec<String> = sqlx::query_scalar("SELECT path FROM acs_paths WHERE acs_id = $1")
        .bind(acs_id)
        .fetch_all(&mut **tx)
        .await?;
    for old in existing.iter().filter(|p| !wanted.contains(&p.as_str())) {
        sqlx::query("DELETE FROM acs_paths WHERE acs_id = $1 AND path = $2")
            .bind(acs_id)
            .bind(old)
            .execute(&mut **tx)
            .await?;
    }
    for new in wanted.iter().filter(|p| !existing.iter().any(|e| e == *p)) {
        sqlx::query(
            "INSERT INTO acs_paths (id, acs_id, path) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(crate::new_id())
        .bind(acs_id)
        .bind(*new)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The ACS `id` in the domain in force.
pub async fn get(db: &Db, id: &str) -> CoreResult<Acs> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM acs WHERE id = $1 AND domain_id = $2"
    )))
    .bind(id)
    .bind(crate::domain::id().to_string())
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| CoreError::not_found("AlternateContentSource"))?;
    Acs::from_row(&row)
}

/// The ACS `id`, which must be of type `kind`.
pub async fn get_of_type(db: &Db, id: &str, kind: Kind) -> CoreResult<Acs> {
    let acs = get(db, id).await?;
    if acs.kind != kind {
        return Err(CoreError::not_found("AlternateContentSource"));
    }
    Ok(acs)
}

/// Changes what is given; `paths: None` keeps the paths.
pub async fn update(
    db: &Db,
    id: &str,
    name: Option<&str>,
    remote_id: Option<&str>,
    paths: Option<&[String]>,
) -> CoreResult<Acs> {
    let acs = get(db, id).await?;
    let mut tx = db.begin_write().await?;
    let res = sqlx::query("UPDATE acs SET name = $2, remote_id = $3, updated = $4 WHERE id = $1")
        .bind(id)
        .bind(name.unwrap_or(&acs.name))
        .bind(remote_id.unwrap_or(&acs.remote_id))
        .bind(crate::time::now())
        .execute(&mut *tx)
        .await;
    super::remote::unique_name(res.map_err(CoreError::from))?;
    if let Some(paths) = paths {
        set_paths(&mut tx, id, paths).await?;
    }
    tx.commit().await?;
    get(db, id).await
}

pub async fn delete(db: &Db, id: &str) -> CoreResult<()> {
    sqlx::query("DELETE FROM acs WHERE id = $1")
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// The paths of ACS `acs_id`.
pub async fn paths(db: &Db, acs_id: &str) -> CoreResult<Vec<AcsPath>> {
    let rows = sqlx::query("SELECT id, path FROM acs_paths WHERE acs_id = $1 ORDER BY path")
        .bind(acs_id)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(AcsPath {
                id: r.try_get(0)?,
                path: r.try_get(1)?,
            })
        })
        .collect()
}

/// One file a path of an ACS offers.
#[derive(Debug, Clone)]
pub struct AcsFile {
    pub sha256: String,
    pub url: String,
    pub size: Option<i64>,
}

/// Records what path `path_id` offers now, replacing what its last refresh found, and marks
/// its ACS refreshed. A path removed meanwhile records nothing.
pub async fn record_refresh(
    db: &Db,
    acs_id: &str,
    path_id: &str,
    files: &[AcsFile],
) -> CoreResult<()> {
    let mut tx = db.begin_write().await?;
    let still_there: Option<String> =
        sqlx::query_scalar("SELECT id FROM acs_paths WHERE id = $1 AND acs_id = $2")
            .bind(path_id)
            .bind(acs_id)
            .fetch_optional(&mut *tx)
            .await?;
    if still_there.is_none() {
        return Ok(());
    }
    sqlx::query("DELETE FROM acs_files WHERE acs_path_id = $1")
        .bind(path_id)
        .execute(&mut *tx)
        .await?;
    for f in files {
        sqlx::query(
            "INSERT INTO acs_files (acs_path_id, sha256, url, size) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (acs_path_id, sha256) DO NOTHING",
        )
        .bind(path_id)
        .bind(&f.sha256)
        .bind(&f.url)
        .bind(f.size)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("UPDATE acs SET last_refreshed = $2 WHERE id = $1")
        .bind(acs_id)
        .bind(crate::time::now())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Whether the domain in force has an ACS (a sync asks once, not once per file).
pub async fn any(db: &Db) -> CoreResult<bool> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT id FROM acs WHERE domain_id = $1 LIMIT 1")
            .bind(crate::domain::id().to_string())
            .fetch_optional(db.pool())
            .await?;
    Ok(found.is_some())
}

/// Where the ACSes of the domain in force offer the file with this sha256:
/// (url, id of the ACS's remote), the oldest ACS first.
pub async fn sources(db: &Db, sha256: &str) -> CoreResult<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT f.url, a.remote_id FROM acs_files f JOIN acs_paths p ON p.id = f.acs_path_id \
         JOIN acs a ON a.id = p.acs_id WHERE f.sha256 = $1 AND a.domain_id = $2 \
         ORDER BY a.created, p.path LIMIT $3",
    )
    .bind(sha256)
    .bind(crate::domain::id().to_string())
    .bind(MAX_SOURCES)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// The name of an ACS that uses remote `remote_id`, if one does (such a remote cannot go).
pub async fn using_remote(db: &Db, remote_id: &str) -> CoreResult<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT name FROM acs WHERE remote_id = $1 LIMIT 1")
            .bind(remote_id)
            .fetch_optional(db.pool())
            .await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_checked_and_joined() {
        let ok = |v: &[&str]| validate_paths(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert!(ok(&["good/path", "valid"]).is_ok());
        assert!(ok(&["/bad/path"]).is_err());
        assert!(ok(&["a/../b"]).is_err());
        assert!(ok(&[""]).is_err());
        assert!(ok(&["a\nb"]).is_err());
        assert!(ok(&[&"x".repeat(MAX_PATH_LEN + 1)]).is_err());
        let many: Vec<String> = (0..=MAX_PATHS).map(|i| i.to_string()).collect();
        assert!(validate_paths(&many).is_err());
        assert_eq!(path_url("http://h/", ""), "http://h/");
        assert_eq!(path_url("http://h/", "a/M"), "http://h/a/M");
        assert_eq!(path_url("http://h/x", "a/M"), "http://h/x/a/M");
    }
}
