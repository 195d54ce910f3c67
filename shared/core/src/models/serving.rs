//! What the content app serves: the distribution matching a path (longest base path), the
//! repository version and publication it serves now, and the file at a relative path. Each step
//! is one query, since the content app runs them on every request.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::distribution::{base_path_candidates, base_path_in, bind_base_path_candidates};
use super::version::present_condition;
use crate::CoreResult;
use crate::db::Db;
use crate::plugin::{self, Family};

/// The repository version (and publication, if any) a distribution serves.
#[derive(Debug, Clone)]
pub struct Served {
    pub repository_id: String,
    pub number: i64,
    pub publication_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Matched {
    /// The distribution's id.
    pub id: String,
    pub base_path: String,
    /// The id of the content guard of the distribution, if it has one.
    pub content_guard: Option<String>,
    /// The request path below the base path.
    pub rest: String,
    /// `None` when the distribution serves nothing yet.
    pub served: Option<Served>,
    /// It names no publication, repository, version or remote (Pulp says so in its 404).
    pub points_nowhere: bool,
    /// A checkpoint distribution's repository: it serves that repository's checkpoint
    /// publications under their timestamps (`<base_path>/<YYYYMMDDTHHMMSSZ>/...`).
    pub checkpoint_repository: Option<String>,
}

/// A file to send.
#[derive(Debug, Clone)]
pub enum File {
    /// Stored bytes: storage key and size, and the malware scan's finding when it found one;
    /// with what a client revalidates its copy by: the bytes' sha256 (the ETag) and when what
    /// is served at the path was made (the publication or version: Last-Modified).
    Stored {
        key: String,
        size: i64,
        infected: Option<String>,
        sha256: Option<String>,
        since: Option<String>,
    },
    /// Known but not downloaded yet (on demand): fetch it from a remote.
    Remote {
        content_artifact_id: String,
        content_id: String,
    },
}

/// Finds the distribution whose base path is the longest prefix of `path`, with what it serves.
/// A distribution with a publication of published files serves it; one with a repository or a
/// version serves that version through its newest such publication. Without one, a type whose
/// publications hold the files (file) serves nothing, and the others serve the version's content
/// (as python publications do: they only fix the version).
pub async fn match_path(db: &Db, path: &str) -> CoreResult<Option<Matched>> {
    let candidates = base_path_candidates(path);
    if candidates.is_empty() {
        return Ok(None);
    }
    // The type names come from the plugins' descriptors, never from a request.
    let served = served_types();
    let (publication, from) = serving_sql();
    let sql = format!(
        "SELECT d.base_path, v.repository_id, v.number, {publication}, d.content_guard, d.pulp_type, \
           CASE WHEN d.checkpoint THEN d.repository_id END, d.remote_id, d.id \
         {from} \
         WHERE {} AND d.pulp_type IN ({served}) AND d.domain_id = ${} \
         ORDER BY LENGTH(d.base_path) DESC LIMIT 1",
        base_path_in("d.base_path", 1),
        super::distribution::MAX_BASE_PATH_SEGMENTS + 1
    );
    let q = bind_base_path_candidates(sqlx::query(AssertSqlSafe(sql)), &candidates)
        .bind(crate::domain::id().to_string());
    let Some(row) = q.fetch_optional(db.pool()).await? else {
        return Ok(None);
    };
    let base_path: String = row.try_get(0)?;
    let rest = path
        .strip_prefix(base_path.as_str())
        .unwrap_or("")
        .trim_start_matches('/')
        .to_string();
    let served = match row.try_get::<Option<String>, _>(1)? {
        Some(repository_id) => Some(Served {
            repository_id,
            number: row.try_get(2)?,
            publication_id: row.try_get(3)?,
        }),
        None => None,
    };
    // A type whose publications hold the files (a file distribution) serves a version only
    // through a publication of it, as Pulp's SERVE_FROM_PUBLICATION types do.
    let pulp_type: String = row.try_get(5)?;
    let needs_publication = matches!(
        plugin::find(Family::Distribution, &pulp_type)?.role,
        plugin::Role::Distribution { publication: Some(p), .. } if p.serves_files()
    );
    let points_nowhere = served.is_none() && row.try_get::<Option<String>, _>(7)?.is_none();
    let served = served.filter(|s| s.publication_id.is_some() || !needs_publication);
    Ok(Some(Matched {
        id: row.try_get(8)?,
        points_nowhere,
        base_path,
        content_guard: row.try_get(4)?,
        rest,
        served,
        checkpoint_repository: row.try_get(6)?,
    }))
}

fn file_from_row(row: &AnyRow) -> CoreResult<Option<File>> {
    if let Some(key) = row.try_get::<Option<String>, _>(0)? {
        return Ok(Some(File::Stored {
            key,
            size: row.try_get::<Option<i64>, _>(1)?.unwrap_or(0),
            infected: row.try_get(4)?,
            sha256: row.try_get(5)?,
            since: row.try_get(6)?,
        }));
    }
    match row.try_get::<Option<String>, _>(2)? {
        Some(content_artifact_id) => Ok(Some(File::Remote {
            content_artifact_id,
            content_id: row.try_get(3)?,
        })),
        None => Ok(None),
    }
}

/// The distribution types the content app serves, as an SQL list.
fn served_types() -> String {
    plugin::sql_list(plugin::of_family(Family::Distribution).filter(|k| k.served_by_content_app()))
}

/// The base paths the content app lists: of the distributions it serves that are not hidden.
pub async fn listed_base_paths(db: &Db) -> CoreResult<Vec<String>> {
    let served = served_types();
    let sql = format!(
        "SELECT base_path FROM distributions WHERE hidden = $1 AND pulp_type IN ({served}) \
         AND domain_id = $2 ORDER BY base_path"
    );
    Ok(sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(false)
        .bind(crate::domain::id().to_string())
        .fetch_all(db.pool())
        .await?)
}

/// What distributions (`d`) serve, as SQL: the publication of files (`sp`: the one named;
/// else the newest of the version named; else, for a repository, its newest publication of
/// its latest published version, as Pulp picks it) and the tables it reads from, with the
/// version served as `v` (the publication's, the one named, or the repository's latest).
fn serving_sql() -> (&'static str, String) {
    let fp = plugin::sql_list(plugin::of_family(Family::Publication).filter(|k| k.serves_files()));
    let from = format!(
        "FROM distributions d \
         LEFT JOIN publications dp ON dp.id = d.publication_id \
         LEFT JOIN publications sp ON sp.id = COALESCE( \
           CASE WHEN dp.pulp_type IN ({fp}) THEN dp.id END, \
           (SELECT p.id FROM publications p WHERE p.repository_version_id = d.repository_version_id \
            AND p.pulp_type IN ({fp}) ORDER BY p.created DESC LIMIT 1), \
           (SELECT p.id FROM publications p JOIN repository_versions pv ON pv.id = p.repository_version_id \
            WHERE pv.repository_id = d.repository_id AND d.publication_id IS NULL \
            AND d.repository_version_id IS NULL AND p.pulp_type IN ({fp}) \
            ORDER BY pv.number DESC, p.created DESC LIMIT 1)) \
         LEFT JOIN repositories r ON r.id = d.repository_id \
         LEFT JOIN repository_versions v ON v.id = COALESCE(dp.repository_version_id, \
           sp.repository_version_id, d.repository_version_id, \
           (SELECT rv.id FROM repository_versions rv WHERE rv.repository_id = r.id AND rv.number = r.latest_number))"
    );
    ("sp.id", from)
}

/// The publication of files distribution `id` serves now, if it serves one (a checkpoint
/// distribution serves many: none).
pub async fn served_publication(db: &Db, id: &str) -> CoreResult<Option<String>> {
    let (publication, from) = serving_sql();
    let sql = format!("SELECT {publication} {from} WHERE d.id = $1 AND d.checkpoint = $2");
    let found: Option<Option<String>> = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(id)
        .bind(false)
        .fetch_optional(db.pool())
        .await?;
    Ok(found.flatten())
}

/// The file at `relative_path` of what is served.
pub async fn find_file(db: &Db, served: &Served, relative_path: &str) -> CoreResult<Option<File>> {
    let row =
        match &served.publication_id {
            Some(p) => sqlx::query(
                "SELECT COALESCE(pa.file, a.file), COALESCE(pa.size, a.size), ca.id, ca.content_id, s.signature, \
                 COALESCE(pa.sha256, a.sha256), (SELECT p.created FROM publications p WHERE p.id = $1) \
                 FROM published_files pf \
                 LEFT JOIN artifacts pa ON pa.id = pf.artifact_id \
                 LEFT JOIN content_artifacts ca ON ca.id = pf.content_artifact_id \
                 LEFT JOIN artifacts a ON a.id = ca.artifact_id \
                 LEFT JOIN artifact_scans s ON s.sha256 = COALESCE(pa.sha256, a.sha256) AND s.state = 'infected' \
                 WHERE pf.publication_id = $1 AND pf.relative_path = $2",
            )
            .bind(p)
            .bind(relative_path)
            .fetch_optional(db.pool())
            .await?,
            None => {
                let sql = format!(
                    "SELECT a.file, a.size, ca.id, ca.content_id, s.signature, a.sha256, \
                 (SELECT v.created FROM repository_versions v WHERE v.repository_id = $1 AND v.number = $2) \
                 FROM content_artifacts ca \
                 JOIN repository_contents rc ON rc.content_id = ca.content_id \
                 LEFT JOIN artifacts a ON a.id = ca.artifact_id \
                 LEFT JOIN artifact_scans s ON s.sha256 = a.sha256 AND s.state = 'infected' \
                 WHERE ca.relative_path = $3 AND {}",
                    present_condition(1, 2)
                );
                sqlx::query(AssertSqlSafe(sql))
                    .bind(&served.repository_id)
                    .bind(served.number)
                    .bind(relative_path)
                    .fetch_optional(db.pool())
                    .await?
            }
        };
    match row {
        Some(r) => file_from_row(&r),
        None => Ok(None),
    }
}

/// One entry of a directory listing: a file, or a directory (its name ends in `/`). Files
/// carry when they came (into the version, or their publication) and their size, when known
/// (an on-demand file's from its remote), as Pulp's listings show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub created: Option<String>,
    pub size: Option<i64>,
}

impl DirEntry {
    /// A directory, or anything else shown without a date and size.
    pub fn dir(name: String) -> Self {
        Self {
            name,
            created: None,
            size: None,
        }
    }
}

/// The size of content artifact `ca` when no artifact is stored: its remotes'.
const REMOTE_SIZE: &str =
    "(SELECT MAX(ra.size) FROM remote_artifacts ra WHERE ra.content_artifact_id = ca.id)";

/// Entries directly below `prefix` (`""` or ending in `/`): files, and directories with a
/// trailing slash, in path order.
pub async fn list_dir(db: &Db, served: &Served, prefix: &str) -> CoreResult<Vec<DirEntry>> {
    let rows = match &served.publication_id {
        Some(p) => {
            let sql = format!(
                "SELECT pf.relative_path, pub.created, COALESCE(pa.size, a.size, {REMOTE_SIZE}) \
                 FROM published_files pf \
                 JOIN publications pub ON pub.id = pf.publication_id \
                 LEFT JOIN artifacts pa ON pa.id = pf.artifact_id \
                 LEFT JOIN content_artifacts ca ON ca.id = pf.content_artifact_id \
                 LEFT JOIN artifacts a ON a.id = ca.artifact_id \
                 WHERE pf.publication_id = $1 ORDER BY pf.relative_path"
            );
            sqlx::query_as::<_, (String, Option<String>, Option<i64>)>(AssertSqlSafe(sql))
                .bind(p)
                .fetch_all(db.pool())
                .await?
        }
        None => {
            let sql = format!(
                "SELECT ca.relative_path, v.created, COALESCE(a.size, {REMOTE_SIZE}) \
                 FROM repository_contents rc \
                 JOIN content_artifacts ca ON ca.content_id = rc.content_id \
                 LEFT JOIN artifacts a ON a.id = ca.artifact_id \
                 LEFT JOIN repository_versions v ON v.repository_id = rc.repository_id \
                 AND v.number = rc.version_added \
                 WHERE {} ORDER BY ca.relative_path",
                present_condition(1, 2)
            );
            sqlx::query_as::<_, (String, Option<String>, Option<i64>)>(AssertSqlSafe(sql))
                .bind(&served.repository_id)
                .bind(served.number)
                .fetch_all(db.pool())
                .await?
        }
    };
    let mut entries: Vec<DirEntry> = Vec::new();
    // A directory's files need not sort together (`a-b` comes between `a/x` and `a/y`).
    let mut seen = std::collections::HashSet::new();
    for (path, created, size) in rows {
        let Some(rest) = path.strip_prefix(prefix) else {
            continue;
        };
        let entry = match rest.split_once('/') {
            Some((d, _)) => DirEntry::dir(format!("{d}/")),
            None => DirEntry {
                name: rest.to_string(),
                created,
                size,
            },
        };
        if !entry.name.is_empty() && seen.insert(entry.name.clone()) {
            entries.push(entry);
        }
    }
    Ok(entries)
}
