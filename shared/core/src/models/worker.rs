//! The processes that run tasks (Pulp's workers): each records itself when it starts, beats
//! its heart while it lives and names the task it runs, so that `workers/`, `status/` and a
//! task's `worker` say who runs tasks. A Lambda execution environment is one worker.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::list::Table;
use crate::db::{Db, get_json};
use crate::hrefs::{TASK, WORKER};
use crate::{CoreError, CoreResult};

/// Workers as lists see them.
pub static TABLE: Table = Table {
    select: "id, name, created, updated, last_heartbeat, versions, current_task",
    from: "workers",
    fields: &[
        ("id", "id"),
        ("pk", "id"),
        ("name", "name"),
        ("last_heartbeat", "last_heartbeat"),
        ("pulp_created", "created"),
    ],
    domain: None,
};

/// How long a worker counts as online after its last heartbeat (Pulp's `WORKER_TTL`).
pub const TTL_SECS: u64 = 30;
/// How often a worker beats its heart: well within [`TTL_SECS`].
pub const BEAT_SECS: u64 = 10;
/// A worker missing this long is forgotten (its tasks keep no worker).
pub const FORGET_SECS: u64 = 7 * 24 * 3600;

#[derive(Debug, Clone)]
pub struct Worker {
    pub id: String,
    pub name: String,
    pub created: String,
    pub updated: String,
    pub last_heartbeat: String,
    pub versions: Value,
    pub current_task: Option<String>,
}

/// A worker as Pulp shows it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WorkerResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    /// The name of the worker.
    pub name: String,
    /// Timestamp of the last time the worker talked to the service.
    pub last_heartbeat: String,
    /// Versions of the components installed.
    pub versions: serde_json::Map<String, Value>,
    /// The task this worker is currently executing, or empty if the worker is not currently
    /// assigned to a task.
    pub current_task: Option<String>,
}

impl Worker {
    pub fn from_row(row: &AnyRow) -> CoreResult<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            created: row.try_get("created")?,
            updated: row.try_get("updated")?,
            last_heartbeat: row.try_get("last_heartbeat")?,
            versions: get_json(row, "versions")?,
            current_task: row.try_get("current_task")?,
        })
    }

    pub fn response(&self) -> WorkerResponse {
        WorkerResponse {
            pulp_href: WORKER.href(&self.id),
            prn: WORKER.prn(&self.id),
            pulp_created: self.created.clone(),
            pulp_last_updated: self.updated.clone(),
            name: self.name.clone(),
            last_heartbeat: self.last_heartbeat.clone(),
            versions: self.versions.as_object().cloned().unwrap_or_default(),
            current_task: self.current_task.as_deref().map(|t| TASK.href(t)),
        }
    }
}

/// The versions a worker of this process reports: core's and each plugin's.
fn versions() -> Value {
    crate::plugin::api_versions()
        .into_iter()
        .map(|(c, v)| (c.to_string(), Value::from(v)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Records the worker `name` (again, when a process of that name ran before) with a fresh
/// heartbeat, and answers its id.
pub async fn register(db: &Db, name: &str) -> CoreResult<String> {
    let now = crate::time::now();
    let versions = versions().to_string();
    sqlx::query(
        "INSERT INTO workers (id, name, created, updated, last_heartbeat, versions) \
         VALUES ($1, $2, $3, $3, $3, $4) \
         ON CONFLICT (name) DO UPDATE SET last_heartbeat = $3, updated = $3, versions = $4, \
         current_task = NULL",
    )
    .bind(crate::new_id())
    .bind(name)
    .bind(&now)
    .bind(&versions)
    .execute(db.pool())
    .await?;
    let id: String = sqlx::query_scalar("SELECT id FROM workers WHERE name = $1")
        .bind(name)
        .fetch_one(db.pool())
        .await?;
    Ok(id)
}

/// Says worker `id` is alive.
pub async fn beat(db: &Db, id: &str) -> CoreResult<()> {
    sqlx::query("UPDATE workers SET last_heartbeat = $2 WHERE id = $1")
        .bind(id)
        .bind(crate::time::now())
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Records the task worker `id` runs now (`None`: it is idle), which is a heartbeat too.
pub async fn set_current_task(db: &Db, id: &str, task: Option<&str>) -> CoreResult<()> {
    sqlx::query("UPDATE workers SET current_task = $2, last_heartbeat = $3 WHERE id = $1")
        .bind(id)
        .bind(task)
        .bind(crate::time::now())
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Worker `id`.
pub async fn get(db: &Db, id: &str) -> CoreResult<Worker> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM workers WHERE id = $1",
        TABLE.select
    )))
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| CoreError::not_found("Worker"))?;
    Worker::from_row(&row)
}

/// The workers heard from within [`TTL_SECS`], by name.
pub async fn online(db: &Db) -> CoreResult<Vec<Worker>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM workers WHERE last_heartbeat >= $1 ORDER BY name",
        TABLE.select
    )))
    .bind(crate::time::ago(TTL_SECS))
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(Worker::from_row).collect()
}

/// Forgets the workers missing for [`FORGET_SECS`]; the tasks they ran keep no worker (Pulp's
/// `SET NULL`).
pub async fn forget_missing(db: &Db) -> CoreResult<u64> {
    let before = crate::time::ago(FORGET_SECS);
    let gone: Vec<String> = sqlx::query_scalar("SELECT id FROM workers WHERE last_heartbeat < $1")
        .bind(&before)
        .fetch_all(db.pool())
        .await?;
    for id in &gone {
        sqlx::query("UPDATE tasks SET worker = NULL WHERE worker = $1")
            .bind(id)
            .execute(db.pool())
            .await?;
        sqlx::query("DELETE FROM workers WHERE id = $1")
            .bind(id)
            .execute(db.pool())
            .await?;
    }
    Ok(gone.len() as u64)
}
