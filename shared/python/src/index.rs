//! Which package index a `/pypi/` path names: the python distribution whose base path is the
//! longest prefix of the path, with the repository version it serves.

use depot_core::CoreResult;
use depot_core::config::Settings;
use depot_core::db::Db;
use depot_core::models::distribution::{
    base_path_candidates, base_path_in, bind_base_path_candidates,
};
use sqlx::{AssertSqlSafe, Row};

use crate::DISTRIBUTION_TYPE;

/// A python distribution and the repository version it serves.
pub struct Index {
    pub base_path: String,
    pub repository_id: Option<String>,
    pub number: i64,
    pub allow_uploads: bool,
    /// A pull-through index: projects it lacks come from this remote's index on first request.
    pub remote_id: Option<String>,
    /// The id of the distribution's content guard, if it has one.
    pub content_guard: Option<String>,
}

impl Index {
    /// Where the content app serves `filename`.
    pub fn file_url(&self, s: &Settings, filename: &str) -> String {
        format!(
            "{}{}{}/{filename}",
            s.content_origin,
            depot_core::domain::content_prefix(&s.content_path_prefix),
            self.base_path
        )
    }
}

/// The index whose base path is the longest prefix of `path` (ending before a `/`), with the
/// rest of the path.
pub async fn find(db: &Db, path: &str) -> CoreResult<Option<(Index, String)>> {
    let Some((head, _)) = path.rsplit_once('/') else {
        return Ok(None);
    };
    let candidates = base_path_candidates(head);
    if candidates.is_empty() {
        return Ok(None);
    }
    let sql = format!(
        "SELECT d.base_path, COALESCE(d.repository_id, v.repository_id) AS rid, \
         COALESCE(v.number, r.latest_number) AS number, d.allow_uploads AS allow_uploads, d.remote_id, \
         d.content_guard \
         FROM distributions d \
         LEFT JOIN publications p ON p.id = d.publication_id \
         LEFT JOIN repository_versions v ON v.id = COALESCE(d.repository_version_id, p.repository_version_id) \
         LEFT JOIN repositories r ON r.id = d.repository_id \
         WHERE d.pulp_type = $1 AND {} AND d.domain_id = ${} \
         ORDER BY LENGTH(d.base_path) DESC LIMIT 1",
        base_path_in("d.base_path", 2),
        depot_core::models::distribution::MAX_BASE_PATH_SEGMENTS + 2
    );
    let q = bind_base_path_candidates(
        sqlx::query(AssertSqlSafe(sql)).bind(DISTRIBUTION_TYPE),
        &candidates,
    )
    .bind(depot_core::domain::id().to_string());
    let Some(r) = q.fetch_optional(db.pool()).await? else {
        return Ok(None);
    };
    let base_path: String = r.try_get(0)?;
    let rest = path[base_path.len() + 1..].to_string();
    Ok(Some((
        Index {
            base_path,
            repository_id: r.try_get(1)?,
            number: r.try_get::<Option<i64>, _>(2)?.unwrap_or(0),
            allow_uploads: depot_core::db::get_bool(&r, "allow_uploads")?,
            remote_id: r.try_get(4)?,
            content_guard: r.try_get(5)?,
        },
        rest,
    )))
}
