//! Tasks and task groups as stored and as Pulp shows them.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::list::Table;
use crate::db::{Db, get_bool, get_json};
use crate::{CoreError, CoreResult};

pub const WAITING: &str = "waiting";
pub const RUNNING: &str = "running";
pub const CANCELING: &str = "canceling";
pub const COMPLETED: &str = "completed";
pub const FAILED: &str = "failed";
pub const CANCELED: &str = "canceled";
pub const STATES: [&str; 7] = [
    WAITING, "skipped", RUNNING, COMPLETED, FAILED, CANCELED, CANCELING,
];
pub const INCOMPLETE: [&str; 3] = [WAITING, RUNNING, CANCELING];

#[derive(Debug, Clone)]
pub struct Task {
    pub id: String,
    pub seq: i64,
    pub name: String,
    pub handler: String,
    pub state: String,
    pub args: Value,
    pub logging_cid: String,
    pub created_by: Option<String>,
    pub task_group_id: Option<String>,
    pub parent_task_id: Option<String>,
    pub exclusive_resources: Vec<String>,
    pub shared_resources: Vec<String>,
    pub created: String,
    pub updated: String,
    pub unblocked_at: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub worker: Option<String>,
    pub error: Value,
    pub progress_reports: Value,
    pub created_resources: Vec<String>,
    /// Their PRNs, in the same order (empty for tasks that ended before they were kept).
    pub created_resource_prns: Vec<String>,
    pub result: Value,
    /// The domain it was dispatched in, which it runs in.
    pub domain_id: String,
    /// The diagnostics its dispatcher asked for (see `crate::tasks::diagnostics`).
    pub diagnostics: Vec<String>,
}

pub const COLUMNS: &str = "id, seq, name, handler, state, args, logging_cid, created_by, task_group_id, parent_task_id, \
    exclusive_resources, shared_resources, created, updated, unblocked_at, started_at, finished_at, worker, error, \
    progress_reports, created_resources, result, domain_id, created_resource_prns, diagnostics";

/// Tasks as lists see them.
pub static TABLE: Table = Table {
    select: COLUMNS,
    from: "tasks",
    fields: &[
        ("created_by", "created_by"),
        ("id", "id"),
        ("pk", "id"),
        ("state", "state"),
        ("name", "name"),
        ("logging_cid", "logging_cid"),
        ("started_at", "started_at"),
        ("finished_at", "finished_at"),
        // Creation times follow dispatch order; the sequence orders ties too.
        ("pulp_created", "seq"),
        ("created", "created"),
        ("exclusive_resources", "exclusive_resources"),
        ("shared_resources", "shared_resources"),
        ("created_resources", "created_resources"),
        ("task_group", "task_group_id"),
        ("parent_task", "parent_task_id"),
        ("worker", "worker"),
    ],
    domain: Some("tasks.domain_id"),
};

/// The id of a row of [`GROUP_TABLE`].
pub fn group_id(row: &AnyRow) -> CoreResult<String> {
    Ok(row.try_get("id")?)
}

/// Task groups as lists see them.
pub static GROUP_TABLE: Table = Table {
    select: "id",
    from: "task_groups",
    fields: &[("id", "id"), ("pulp_created", "created")],
    domain: Some("task_groups.domain_id"),
};

fn string_list(v: Value) -> Vec<String> {
    match v {
        Value::Array(a) => a
            .into_iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

impl Task {
    /// The href of the worker that runs or ran it.
    pub fn worker_href(&self) -> Option<String> {
        self.worker.as_deref().map(|w| crate::hrefs::WORKER.href(w))
    }

    pub fn from_row(row: &AnyRow) -> CoreResult<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            seq: row.try_get("seq")?,
            name: row.try_get("name")?,
            handler: row.try_get("handler")?,
            state: row.try_get("state")?,
            args: get_json(row, "args")?,
            logging_cid: row.try_get("logging_cid")?,
            created_by: row.try_get("created_by")?,
            task_group_id: row.try_get("task_group_id")?,
            parent_task_id: row.try_get("parent_task_id")?,
            exclusive_resources: string_list(get_json(row, "exclusive_resources")?),
            shared_resources: string_list(get_json(row, "shared_resources")?),
            created: row.try_get("created")?,
            updated: row.try_get("updated")?,
            unblocked_at: row.try_get("unblocked_at")?,
            started_at: row.try_get("started_at")?,
            finished_at: row.try_get("finished_at")?,
            worker: row.try_get("worker")?,
            error: get_json(row, "error")?,
            progress_reports: get_json(row, "progress_reports")?,
            created_resources: string_list(get_json(row, "created_resources")?),
            created_resource_prns: string_list(get_json(row, "created_resource_prns")?),
            result: get_json(row, "result")?,
            domain_id: row.try_get("domain_id")?,
            diagnostics: string_list(get_json(row, "diagnostics")?),
        })
    }

    pub fn href(&self) -> String {
        crate::hrefs::TASK.href(&self.id)
    }

    pub fn is_finished(&self) -> bool {
        !INCOMPLETE.contains(&self.state.as_str())
    }

    /// Pulp's flat record: exclusive names as-is, shared ones prefixed `shared:`.
    pub fn reserved_resources_record(&self) -> Vec<String> {
        self.exclusive_resources
            .iter()
            .cloned()
            .chain(self.shared_resources.iter().map(|s| format!("shared:{s}")))
            .collect()
    }

    pub fn response(&self) -> TaskResponse {
        TaskResponse {
            pulp_href: self.href(),
            prn: crate::hrefs::TASK.prn(&self.id),
            pulp_created: self.created.clone(),
            pulp_last_updated: self.updated.clone(),
            state: self.state.clone(),
            name: self.name.clone(),
            logging_cid: self.logging_cid.clone(),
            created_by: self
                .created_by
                .as_deref()
                .map(|u| crate::hrefs::USER.href(u)),
            unblocked_at: self.unblocked_at.clone(),
            started_at: self.started_at.clone(),
            finished_at: self.finished_at.clone(),
            error: if self.error.is_null() {
                None
            } else {
                Some(self.error.clone())
            },
            worker: self.worker_href(),
            parent_task: self
                .parent_task_id
                .as_deref()
                .map(|t| crate::hrefs::TASK.href(t)),
            child_tasks: Vec::new(),
            task_group: self
                .task_group_id
                .as_deref()
                .map(|g| crate::hrefs::TASK_GROUP.href(g)),
            progress_reports: self
                .progress_reports
                .as_array()
                .cloned()
                .unwrap_or_default(),
            created_resource_prns: match self.created_resource_prns.len() {
                n if n == self.created_resources.len() => self.created_resource_prns.clone(),
                _ => self
                    .created_resources
                    .iter()
                    .filter_map(|h| href_to_prn(h))
                    .collect(),
            },
            created_resources: self.created_resources.clone(),
            reserved_resources_record: self.reserved_resources_record(),
            result: if self.result.is_null() {
                None
            } else {
                Some(self.result.clone())
            },
            pulp_api_version: "v3".into(),
        }
    }
}

/// The PRN of a created resource's href, when it is one Depot knows.
fn href_to_prn(href: &str) -> Option<String> {
    if let Some((repo, _)) = crate::hrefs::parse_version_href(href) {
        // Version PRNs use the version's own id, which the href does not carry; use the
        // repository-scoped form instead.
        return Some(format!("prn:{}:{repo}", crate::hrefs::VERSION_PRN_MODEL));
    }
    crate::hrefs::to_prn(href)
}

/// A unit of background work and its outcome.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TaskResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    /// One of waiting, skipped, running, completed, failed, canceled, canceling.
    pub state: String,
    pub name: String,
    pub logging_cid: String,
    pub created_by: Option<String>,
    pub unblocked_at: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub error: Option<Value>,
    pub worker: Option<String>,
    pub parent_task: Option<String>,
    pub child_tasks: Vec<String>,
    pub task_group: Option<String>,
    pub progress_reports: Vec<Value>,
    pub created_resources: Vec<String>,
    pub created_resource_prns: Vec<String>,
    pub reserved_resources_record: Vec<String>,
    pub result: Option<Value>,
    pub pulp_api_version: String,
}

/// Task `id` of the domain in force (what the API may show).
pub async fn get_in_domain(db: &Db, id: &str) -> CoreResult<Task> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tasks WHERE id = $1 AND domain_id = $2"
    )))
    .bind(id)
    .bind(crate::domain::id().to_string())
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| CoreError::not_found("Task"))?;
    Task::from_row(&row)
}

/// Task `id` of any domain (for the workers, which run every domain's tasks).
pub async fn get(db: &Db, id: &str) -> CoreResult<Task> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tasks WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| CoreError::not_found("Task"))?;
    Task::from_row(&row)
}

/// Deletes at most `limit` tasks of any domain that ended before `before` (the sweeper's, for
/// `PULP_TASK_PROTECTION_TIME`); answers how many went.
pub async fn delete_ended_before(db: &Db, before: &str, limit: i64) -> CoreResult<u64> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM tasks WHERE finished_at < $1 \
         AND state NOT IN ('waiting', 'running', 'canceling') ORDER BY finished_at LIMIT $2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    delete_ended(db, &ids).await
}

/// Records artifact `artifact_id` as the profile artifact `name` of task `task_id`.
pub async fn add_profile_artifact(
    db: &Db,
    task_id: &str,
    name: &str,
    artifact_id: &str,
) -> CoreResult<()> {
    sqlx::query(
        "INSERT INTO task_profile_artifacts (task_id, name, artifact_id) VALUES ($1, $2, $3) \
         ON CONFLICT (task_id, name) DO UPDATE SET artifact_id = $3",
    )
    .bind(task_id)
    .bind(name)
    .bind(artifact_id)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// The profile artifacts of task `task_id`: (name, storage key, size) each, by name.
pub async fn profile_artifacts(db: &Db, task_id: &str) -> CoreResult<Vec<(String, String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT tp.name, a.file, a.size FROM task_profile_artifacts tp \
         JOIN artifacts a ON a.id = tp.artifact_id WHERE tp.task_id = $1 ORDER BY tp.name",
    )
    .bind(task_id)
    .fetch_all(db.pool())
    .await?)
}

/// Deletes those of tasks `ids` that have ended; answers how many went.
pub async fn delete_ended(db: &Db, ids: &[String]) -> CoreResult<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let marks: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 1)).collect();
    let sql = format!(
        "DELETE FROM tasks WHERE id IN ({}) AND state NOT IN ('waiting', 'running', 'canceling')",
        marks.join(", ")
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in ids {
        q = q.bind(id);
    }
    Ok(q.execute(db.pool()).await?.rows_affected())
}

pub async fn delete(db: &Db, id: &str) -> CoreResult<()> {
    let task = get(db, id).await?;
    if !task.is_finished() {
        return Err(CoreError::Conflict(format!(
            "Cannot delete task {}: it is {}.",
            task.href(),
            task.state
        )));
    }
    sqlx::query("DELETE FROM tasks WHERE id = $1")
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// A group of tasks dispatched together.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TaskGroupResponse {
    pub pulp_href: String,
    pub prn: String,
    pub description: String,
    pub all_tasks_dispatched: bool,
    pub waiting: i64,
    pub skipped: i64,
    pub running: i64,
    pub completed: i64,
    pub canceled: i64,
    pub failed: i64,
    pub canceling: i64,
    pub group_progress_reports: Vec<Value>,
    pub tasks: Vec<MinimalTaskResponse>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MinimalTaskResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    pub name: String,
    pub state: String,
    pub unblocked_at: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub worker: Option<String>,
}

/// Creates a task group in the domain in force (its tasks are dispatched there too).
pub async fn create_group(db: &Db, description: &str) -> CoreResult<String> {
    let id = crate::new_id();
    let now = crate::time::now();
    sqlx::query("INSERT INTO task_groups (id, description, all_tasks_dispatched, created, updated, domain_id) VALUES ($1, $2, $3, $4, $4, $5)")
        .bind(&id)
        .bind(description)
        .bind(false)
        .bind(now)
        .bind(crate::domain::id().to_string())
        .execute(db.pool())
        .await?;
    Ok(id)
}

pub async fn finish_group_dispatch(db: &Db, id: &str) -> CoreResult<()> {
    sqlx::query("UPDATE task_groups SET all_tasks_dispatched = $2 WHERE id = $1")
        .bind(id)
        .bind(true)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// The tasks of group `id` but `except` that did not complete: each one's name and what went
/// wrong (its error's description, or its state).
pub async fn group_failures(db: &Db, id: &str, except: &str) -> CoreResult<Vec<String>> {
    let rows = sqlx::query(
        "SELECT name, state, error FROM tasks WHERE task_group_id = $1 AND id <> $2          AND state <> 'completed' ORDER BY seq",
    )
    .bind(id)
    .bind(except)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let name: String = r.try_get(0)?;
            let state: String = r.try_get(1)?;
            let error: Option<String> = r.try_get(2)?;
            let why = error
                .and_then(|e| serde_json::from_str::<Value>(&e).ok())
                .and_then(|e| {
                    e.get("description")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .unwrap_or(state);
            Ok(format!("  {name}: {why}"))
        })
        .collect()
}

/// When the first task of group `id` started.
pub async fn group_started(db: &Db, id: &str) -> CoreResult<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT MIN(started_at) FROM tasks WHERE task_group_id = $1")
            .bind(id)
            .fetch_one(db.pool())
            .await?,
    )
}

/// Starts a progress report over the tasks of group `id` (Pulp's GroupProgressReport).
pub async fn start_group_progress(
    db: &Db,
    id: &str,
    code: &str,
    message: &str,
    total: i64,
) -> CoreResult<()> {
    sqlx::query(
        "INSERT INTO group_progress_reports (task_group_id, code, message, total, done) \
         VALUES ($1, $2, $3, $4, 0) ON CONFLICT (task_group_id, code) DO NOTHING",
    )
    .bind(id)
    .bind(code)
    .bind(message)
    .bind(total)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Counts one more task of group `id` done for report `code`.
pub async fn advance_group_progress(db: &Db, id: &str, code: &str) -> CoreResult<()> {
    sqlx::query(
        "UPDATE group_progress_reports SET done = done + 1 WHERE task_group_id = $1 AND code = $2",
    )
    .bind(id)
    .bind(code)
    .execute(db.pool())
    .await?;
    Ok(())
}

async fn group_progress(db: &Db, id: &str) -> CoreResult<Vec<Value>> {
    let rows = sqlx::query(
        "SELECT code, message, total, done FROM group_progress_reports WHERE task_group_id = $1 \
         ORDER BY code",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(serde_json::json!({
                "message": r.try_get::<String, _>(1)?,
                "code": r.try_get::<String, _>(0)?,
                "total": r.try_get::<Option<i64>, _>(2)?,
                "done": r.try_get::<i64, _>(3)?,
                "suffix": null,
            }))
        })
        .collect()
}

pub async fn group_response(db: &Db, id: &str) -> CoreResult<TaskGroupResponse> {
    let row =
        sqlx::query("SELECT id, description, all_tasks_dispatched FROM task_groups WHERE id = $1 AND domain_id = $2")
            .bind(id)
            .bind(crate::domain::id().to_string())
            .fetch_optional(db.pool())
            .await?
            .ok_or_else(|| CoreError::not_found("TaskGroup"))?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tasks WHERE task_group_id = $1 ORDER BY seq"
    )))
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    let tasks: Vec<Task> = rows.iter().map(Task::from_row).collect::<CoreResult<_>>()?;
    let count = |s: &str| tasks.iter().filter(|t| t.state == s).count() as i64;
    Ok(TaskGroupResponse {
        pulp_href: crate::hrefs::TASK_GROUP.href(id),
        prn: crate::hrefs::TASK_GROUP.prn(id),
        description: row.try_get(1)?,
        all_tasks_dispatched: get_bool(&row, "all_tasks_dispatched")?,
        waiting: count(WAITING),
        skipped: count("skipped"),
        running: count(RUNNING),
        completed: count(COMPLETED),
        canceled: count(CANCELED),
        failed: count(FAILED),
        canceling: count(CANCELING),
        group_progress_reports: group_progress(db, id).await?,
        tasks: tasks
            .iter()
            .map(|t| MinimalTaskResponse {
                pulp_href: t.href(),
                prn: crate::hrefs::TASK.prn(&t.id),
                pulp_created: t.created.clone(),
                pulp_last_updated: t.updated.clone(),
                name: t.name.clone(),
                state: t.state.clone(),
                unblocked_at: t.unblocked_at.clone(),
                started_at: t.started_at.clone(),
                finished_at: t.finished_at.clone(),
                worker: t.worker_href(),
            })
            .collect(),
    })
}
