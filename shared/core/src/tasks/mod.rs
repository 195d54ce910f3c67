//! Tasks: dispatch with resource reservations, the unblock pass that decides what may run, the
//! worker loop, cancellation and the sweeper for tasks whose worker died.
//!
//! Reservations follow Pulp: a task names exclusive and shared resources (PRNs). Walking all
//! incomplete tasks in dispatch order, a waiting task is unblocked when none of its exclusive
//! resources is held by an earlier task (exclusively or shared) and none of its shared resources
//! is held exclusively by one. Every task's resources count as taken for the tasks after it, so a
//! later task never overtakes an earlier one it conflicts with. These decisions are made in the
//! database under one lock row, so they hold across processes; the queue only ever carries tasks
//! that may run now.

pub mod args;
pub mod diagnostics;
pub mod general;
mod progress;
pub mod purge;
pub mod routes;
mod worker;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Row};

pub use progress::Progress;
pub use worker::{Workers, resend_unblocked, run_task, run_worker, start_workers, sweep};

use crate::db::Tx;
use crate::hrefs::Kind;
use crate::models::task::{self, Task, WAITING};
use crate::{Core, CoreError, CoreResult};

pub use routes::CORE_TASKS;

/// A task type: its name (the handler key stored with each task) and the function whose queue
/// it goes to. Core's are in [`routes`]; each plugin lists its own.
#[derive(Debug)]
pub struct TaskSpec {
    pub name: &'static str,
    pub function: &'static str,
}

impl TaskSpec {
    pub const fn new(name: &'static str, function: &'static str) -> Self {
        Self { name, function }
    }
}

/// The arguments of one task type: dispatch takes them, the handler receives them.
pub trait TaskArgs: Serialize + DeserializeOwned + Send + 'static {
    const SPEC: &'static TaskSpec;
}

pub type TaskFuture = Pin<Box<dyn Future<Output = CoreResult<Option<Value>>> + Send>>;
/// A task handler: gets the context and its arguments, returns the task's `result`.
pub type TaskFn<A> = fn(TaskContext, A) -> TaskFuture;
type Runner = Arc<dyn Fn(TaskContext) -> TaskFuture + Send + Sync>;

/// What a handler crate exports: registers its task handlers.
pub type RegisterTasks = fn(&mut TaskRegistry);

/// Task names to handlers. A process registers the handlers it hosts; a task whose handler is
/// not here is left on the queue for a process that has it.
#[derive(Default)]
pub struct TaskRegistry {
    handlers: HashMap<&'static str, Runner>,
}

impl TaskRegistry {
    /// Registers the handler of the task type `A`. A task whose stored arguments do not read
    /// as an `A` fails with an error saying so.
    pub fn register<A: TaskArgs>(&mut self, handler: TaskFn<A>) {
        let runner = move |ctx: TaskContext| -> TaskFuture {
            match serde_json::from_value::<A>(ctx.task.args.clone()) {
                Ok(args) => handler(ctx, args),
                Err(e) => Box::pin(async move {
                    Err(CoreError::Internal(format!(
                        "The arguments of the task '{}' cannot be read: {e}",
                        A::SPEC.name
                    )))
                }),
            }
        };
        self.handlers.insert(A::SPEC.name, Arc::new(runner));
    }

    fn get(&self, name: &str) -> Option<Runner> {
        self.handlers.get(name).cloned()
    }

    /// Whether this process runs the task `name`.
    pub fn has(&self, name: &str) -> bool {
        self.handlers.contains_key(name)
    }

    /// The keys of the handlers registered here.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.handlers.keys().copied()
    }
}

/// What a running task sees.
#[derive(Clone)]
pub struct TaskContext {
    pub core: Core,
    pub task: Task,
    created: Arc<Mutex<Vec<(String, String)>>>,
    pub progress: Progress,
}

impl TaskContext {
    /// Records an href for the task's `created_resources` (its PRN told by the href).
    pub fn created(&self, href: String) {
        let prn = crate::hrefs::to_prn(&href).unwrap_or_default();
        self.created_with(href, prn);
    }

    /// Records a created resource's href and PRN.
    pub fn created_with(&self, href: String, prn: String) {
        self.created.lock().expect("created list").push((href, prn));
    }

    /// Records a new repository version as created and, when its repository has `autopublish`
    /// set, publishes it as the repository's plugin does (the publication is created too).
    pub async fn new_version(&self, v: &crate::models::version::Version) -> CoreResult<()> {
        self.created_with(v.href(), v.prn());
        let repo = crate::models::repository::get(&self.core.db, &v.repository_id).await?;
        let hook = crate::plugin::owner_of(repo.kind).and_then(|p| p.autopublish);
        if let (true, Some(publish)) = (repo.autopublish, hook) {
            let p = publish(self.core.clone(), v.clone()).await?;
            self.made(p.kind, &p.id).await?;
        }
        Ok(())
    }

    /// Records a resource the task made (a distribution, a publication) as created, and runs
    /// its type's creation hooks for whoever dispatched the task (the owner role, in Pulp's
    /// default policies).
    pub async fn made(&self, kind: Kind, id: &str) -> CoreResult<()> {
        self.created(kind.href(id));
        if let Some(user) = &self.task.created_by {
            crate::access::on_created(&self.core, user, &crate::access::Object::new(kind, id))
                .await?;
        }
        Ok(())
    }
}

/// A task to dispatch.
pub struct Dispatch {
    /// The name clients see (Pulp's dotted task name).
    pub name: &'static str,
    /// The registry key of the handler that runs it.
    pub handler: &'static str,
    pub args: Value,
    pub exclusive: Vec<String>,
    pub shared: Vec<String>,
    /// Run inline in the caller when its resources are free (Pulp's immediate tasks).
    pub immediate: bool,
    pub task_group: Option<String>,
    pub logging_cid: String,
    pub created_by: Option<String>,
}

impl Dispatch {
    /// The task `A` with `args`, shown to clients as `name` (Pulp's dotted task name).
    pub fn new<A: TaskArgs>(name: &'static str, args: &A) -> Self {
        Self {
            name,
            handler: A::SPEC.name,
            // Our argument structs always serialize; a null would fail the task visibly.
            args: serde_json::to_value(args).unwrap_or(Value::Null),
            exclusive: Vec::new(),
            shared: Vec::new(),
            immediate: false,
            task_group: None,
            logging_cid: String::new(),
            created_by: None,
        }
    }

    /// Resources the task holds alone.
    pub fn exclusive(mut self, resources: impl IntoIterator<Item = String>) -> Self {
        self.exclusive.extend(resources);
        self
    }

    /// Resources the task shares with other readers.
    pub fn shared(mut self, resources: impl IntoIterator<Item = String>) -> Self {
        self.shared.extend(resources);
        self
    }

    /// Run inline when the resources are free (Pulp's immediate tasks).
    pub fn immediate(mut self) -> Self {
        self.immediate = true;
        self
    }

    /// Who asked, and the request's correlation id.
    pub fn requested_by(mut self, user_id: &str, correlation_id: &str) -> Self {
        self.created_by = Some(user_id.to_string());
        self.logging_cid = correlation_id.to_string();
        self
    }
}

/// Takes the tasking lock: every reservation decision happens under it. Returns the next
/// dispatch sequence number.
async fn lock(tx: &mut Tx) -> CoreResult<i64> {
    let n: i64 = sqlx::query_scalar(
        "UPDATE task_lock SET counter = counter + 1 WHERE id = 1 RETURNING counter",
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(n)
}

/// Waits up to `timeout` for a task to end and returns it as it then is (still waiting or
/// running when the time ran out). For requests that answer once their task is done, as a
/// registry tag push or a twine upload.
pub async fn wait(core: &Core, task_id: &str, timeout: std::time::Duration) -> CoreResult<Task> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let t = crate::models::task::get(&core.db, task_id).await?;
        let done = matches!(t.state.as_str(), "completed" | "failed" | "canceled");
        if done || tokio::time::Instant::now() > deadline {
            return Ok(t);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Creates the task and decides at once whether it may run. Immediate tasks whose resources are
/// free run before this returns; others go to the queue when they become runnable.
pub async fn dispatch(core: &Core, d: Dispatch) -> CoreResult<Task> {
    let id = crate::new_id();
    let mut exclusive = d.exclusive;
    let mut shared = d.shared;
    // Every task holds its domain, shared at least: a domain's deletion takes it exclusively.
    let domain = crate::domain::id();
    let domain_prn = crate::domain::prn();
    if !exclusive.contains(&domain_prn) && !shared.contains(&domain_prn) {
        shared.push(domain_prn);
    }
    exclusive.sort();
    exclusive.dedup();
    shared.sort();
    shared.dedup();
    shared.retain(|s| !exclusive.contains(s));
    let mut tx = core.db.pool().begin().await?;
    let seq = lock(&mut tx).await?;
    // Taken under the lock, so that creation times follow dispatch order.
    let now = crate::time::now();
    sqlx::query(
        "INSERT INTO tasks (id, seq, name, handler, state, args, logging_cid, created_by, task_group_id, exclusive_resources, \
         shared_resources, created, updated, progress_reports, created_resources, domain_id, diagnostics) \
         VALUES ($1, $2, $3, $11, 'waiting', $4, $5, $6, $7, $8, $9, $10, $10, '[]', '[]', $12, $13)",
    )
    .bind(&id)
    .bind(seq)
    .bind(d.name)
    .bind(d.args.to_string())
    .bind(&d.logging_cid)
    .bind(d.created_by)
    .bind(d.task_group)
    .bind(json!(exclusive).to_string())
    .bind(json!(shared).to_string())
    .bind(&now)
    .bind(d.handler)
    .bind(&*domain)
    .bind(match diagnostics::wanted(core) {
        none if none.is_empty() => None,
        names => Some(json!(names).to_string()),
    })
    .execute(&mut *tx)
    .await?;
    let unblocked = unblock(&mut tx).await?;
    tx.commit().await?;

    let run_here = d.immediate && unblocked.iter().any(|t| t.id == id) && core.tasks.has(d.handler);
    for t in &unblocked {
        if run_here && t.id == id {
            continue;
        }
        send(core, t, &d.logging_cid).await;
    }
    if run_here {
        worker::run_task(core, &id, None).await?;
    }
    task::get(&core.db, &id).await
}

/// A task that may run now, and where it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Runnable {
    id: String,
    handler: String,
}

impl Runnable {
    fn from_row(r: &sqlx::any::AnyRow) -> CoreResult<Self> {
        Ok(Self {
            id: r.try_get("id")?,
            handler: r.try_get("handler")?,
        })
    }
}

/// Sends a runnable task to the queue of the function that runs its handler.
async fn send(core: &Core, t: &Runnable, cid: &str) {
    let task_id = t.id.as_str();
    let msg = depot_queue::TaskMessage {
        task_id: task_id.to_string(),
        correlation_id: cid.to_string(),
    };
    let queue = core.queues.of(routes::function_of(&t.handler));
    if let Err(e) = queue.send(msg).await {
        // The sweeper re-sends runnable tasks, so a lost message only delays the task.
        tracing::error!(task = task_id, "could not queue task: {e}");
        return;
    }
    let res = sqlx::query("UPDATE tasks SET queued_at = $2 WHERE id = $1")
        .bind(task_id)
        .bind(crate::time::now())
        .execute(core.db.pool())
        .await;
    if let Err(e) = res {
        tracing::warn!(task = task_id, "could not record the queueing time: {e}");
    }
}

/// The unblock pass; call with the lock held. Returns the tasks it unblocked.
async fn unblock(tx: &mut Tx) -> CoreResult<Vec<Runnable>> {
    let rows = sqlx::query(
        "SELECT id, state, unblocked_at, exclusive_resources, shared_resources, handler FROM tasks \
         WHERE state IN ('waiting', 'running', 'canceling') ORDER BY seq",
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut taken_exclusive: HashSet<String> = HashSet::new();
    let mut taken_shared: HashSet<String> = HashSet::new();
    let mut newly = Vec::new();
    for r in rows {
        let id: String = r.try_get(0)?;
        let state: String = r.try_get(1)?;
        let unblocked_at: Option<String> = r.try_get(2)?;
        let exclusive: Vec<String> =
            serde_json::from_str(&r.try_get::<String, _>(3)?).unwrap_or_default();
        let shared: Vec<String> =
            serde_json::from_str(&r.try_get::<String, _>(4)?).unwrap_or_default();
        if state == WAITING && unblocked_at.is_none() {
            let free = exclusive
                .iter()
                .all(|e| !taken_exclusive.contains(e) && !taken_shared.contains(e))
                && shared.iter().all(|s| !taken_exclusive.contains(s));
            if free {
                newly.push(Runnable {
                    id,
                    handler: r.try_get(5)?,
                });
            }
        }
        taken_exclusive.extend(exclusive);
        taken_shared.extend(shared);
    }
    if !newly.is_empty() {
        let now = crate::time::now();
        for chunk in newly.chunks(500) {
            let sql = format!(
                "UPDATE tasks SET unblocked_at = $1 WHERE id IN ({})",
                crate::db::placeholders(2, chunk.len())
            );
            let mut q = sqlx::query(AssertSqlSafe(sql)).bind(now.clone());
            for t in chunk {
                q = q.bind(t.id.clone());
            }
            q.execute(&mut **tx).await?;
        }
    }
    Ok(newly)
}

/// Records a task's end, releases its reservations and queues whatever that unblocks.
async fn finish(
    core: &Core,
    task_id: &str,
    state: &str,
    result: Option<Value>,
    error: Option<Value>,
    created: Vec<(String, String)>,
    progress: Value,
) -> CoreResult<()> {
    let (hrefs, prns): (Vec<String>, Vec<String>) = created.into_iter().unzip();
    // Whatever the task changed is committed by now; what the content app remembers may be stale.
    core.serving_cache.invalidate();
    let now = crate::time::now();
    let mut tx = core.db.pool().begin().await?;
    lock(&mut tx).await?;
    sqlx::query(
        "UPDATE tasks SET state = $2, finished_at = $3, updated = $3, result = $4, error = $5, created_resources = $6, \
         progress_reports = $7, created_resource_prns = $8 WHERE id = $1 AND state IN ('waiting', 'running', 'canceling')",
    )
    .bind(task_id)
    .bind(state)
    .bind(&now)
    .bind(result.map(|r| r.to_string()))
    .bind(error.map(|e| e.to_string()))
    .bind(json!(hrefs).to_string())
    .bind(progress.to_string())
    .bind(json!(prns).to_string())
    .execute(&mut *tx)
    .await?;
    let unblocked = unblock(&mut tx).await?;
    tx.commit().await?;
    for t in unblocked {
        send(core, &t, "").await;
    }
    Ok(())
}

/// Cancels a task: a waiting one at once, a running one by asking its worker to stop.
pub async fn cancel(core: &Core, task_id: &str) -> CoreResult<Task> {
    let t = task::get(&core.db, task_id).await?;
    if t.is_finished() {
        return Err(CoreError::Conflict(format!(
            "The task {} is already in a final state: {}.",
            t.href(),
            t.state
        )));
    }
    let now = crate::time::now();
    let mut tx = core.db.pool().begin().await?;
    lock(&mut tx).await?;
    sqlx::query(
        "UPDATE tasks SET state = CASE WHEN state = 'waiting' THEN 'canceled' ELSE 'canceling' END, \
         finished_at = CASE WHEN state = 'waiting' THEN $2 ELSE finished_at END, updated = $2 \
         WHERE id = $1 AND state IN ('waiting', 'running')",
    )
    .bind(task_id)
    .bind(&now)
    .execute(&mut *tx)
    .await?;
    let unblocked = unblock(&mut tx).await?;
    tx.commit().await?;
    for t in unblocked {
        send(core, &t, "").await;
    }
    worker::signal_cancel(task_id);
    task::get(&core.db, task_id).await
}

/// The error object a failed task shows.
pub fn error_value(e: &CoreError) -> Value {
    json!({ "description": e.to_string() })
}
