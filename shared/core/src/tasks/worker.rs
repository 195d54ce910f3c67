//! Running tasks: claiming, heartbeats, cancellation, and the sweeper that fails tasks whose
//! worker stopped reporting.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Notify;
use tracing::Instrument;

use super::{Runnable, TaskContext, finish, lock, send, unblock};
use crate::models;
use crate::models::task::{self, CANCELED, COMPLETED, FAILED};
use crate::{Core, CoreError, CoreResult};

/// In-process cancel signals for running tasks; other processes learn of a cancel through the
/// heartbeat, which reads the task's state.
fn cancel_signals() -> &'static Mutex<HashMap<String, Arc<Notify>>> {
    static SIGNALS: OnceLock<Mutex<HashMap<String, Arc<Notify>>>> = OnceLock::new();
    SIGNALS.get_or_init(Default::default)
}

pub(super) fn signal_cancel(task_id: &str) {
    if let Some(n) = cancel_signals().lock().expect("signals").get(task_id) {
        n.notify_one();
    }
}

/// Resolves when `stop` turns true; never when nobody can stop the worker any more.
async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Consumes `queue` until it closes or `stop` turns true, as the worker `name` (recorded in
/// `workers/`, with a heartbeat while it lives). A task already running is finished first:
/// stopping only ends the wait for the next message.
pub async fn run_worker(
    core: Core,
    queue: Arc<dyn depot_queue::Queue>,
    name: String,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let id = loop {
        match models::worker::register(&core.db, &name).await {
            Ok(id) => break id,
            Err(e) => {
                tracing::error!(worker = %name, "cannot record the worker: {e}");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stopped(&mut stop) => return,
                }
            }
        }
    };
    let beats = tokio::spawn(worker_heartbeat(core.clone(), id.clone()));
    loop {
        if *stop.borrow() {
            break;
        }
        let received = tokio::select! {
            r = queue.receive() => r,
            _ = stopped(&mut stop) => break,
        };
        let delivery = match received {
            Ok(Some(d)) => d,
            Ok(None) => break,
            Err(e) => {
                tracing::error!(worker = %name, "queue receive failed: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        match delivery.task() {
            Some(message) => {
                if let Err(e) = run_task(&core, &message.task_id, Some(&id)).await {
                    tracing::error!(worker = %name, task = %message.task_id, "task bookkeeping failed: {e}");
                }
            }
            // Deleted, so that it never blocks the queue.
            None => tracing::warn!(worker = %name, "dropping an unreadable queue message"),
        }
        if let Err(e) = queue.ack(&delivery.receipt).await {
            tracing::warn!(worker = %name, "queue ack failed: {e}");
        }
    }
    beats.abort();
}

/// Says worker `id` is alive while it waits for tasks.
async fn worker_heartbeat(core: Core, id: String) {
    loop {
        tokio::time::sleep(Duration::from_secs(models::worker::BEAT_SECS)).await;
        if let Err(e) = models::worker::beat(&core.db, &id).await {
            tracing::warn!(worker = %id, "worker heartbeat failed: {e}");
        }
    }
}

/// Fails a claimed task that cannot start (no handler here, its domain is gone).
async fn fail_unstarted(core: &Core, task_id: &str, e: &CoreError) -> CoreResult<()> {
    let error = Some(super::error_value(e));
    finish(
        core,
        task_id,
        FAILED,
        None,
        error,
        vec![],
        Value::Array(vec![]),
    )
    .await
}

/// Claims and runs one task on worker `worker` (an id of `workers/`; `None`: the API runs it
/// at once, as Pulp's immediate tasks). A task that is not waiting-and-unblocked (already
/// claimed, a duplicate delivery, canceled, deleted) is left alone. An error means the
/// bookkeeping failed (the database is unreachable, say): the message should be delivered
/// again.
pub async fn run_task(core: &Core, task_id: &str, worker: Option<&str>) -> CoreResult<()> {
    let now = crate::time::now();
    let claimed = sqlx::query(
        "UPDATE tasks SET state = 'running', started_at = $2, heartbeat = $2, worker = $3, updated = $2 \
         WHERE id = $1 AND state = 'waiting' AND unblocked_at IS NOT NULL",
    )
    .bind(task_id)
    .bind(&now)
    .bind(worker)
    .execute(core.db.pool())
    .await?
    .rows_affected();
    if claimed == 0 {
        match task::get(&core.db, task_id).await {
            Err(CoreError::NotFound(_)) => tracing::info!(
                task = task_id,
                "dropping message for a task that no longer exists"
            ),
            Ok(t) => {
                tracing::debug!(task = task_id, state = %t.state, "task not claimable, skipping")
            }
            Err(e) => return Err(e),
        }
        return Ok(());
    }
    // Only what `workers/` shows: a failure here must not leave the claimed task unrun.
    if let Some(w) = worker
        && let Err(e) = models::worker::set_current_task(&core.db, w, Some(task_id)).await
    {
        tracing::warn!(worker = %w, "cannot record the worker's task: {e}");
    }
    let outcome = run_claimed(core, task_id).await;
    if let Some(w) = worker
        && let Err(e) = models::worker::set_current_task(&core.db, w, None).await
    {
        tracing::warn!(worker = %w, "cannot record the worker idle: {e}");
    }
    outcome
}

/// Runs task `task_id`, which this process claimed, and records how it ended.
async fn run_claimed(core: &Core, task_id: &str) -> CoreResult<()> {
    let t = task::get(&core.db, task_id).await?;
    let Some(handler) = core.tasks.get(&t.handler) else {
        let e = CoreError::Internal(format!(
            "No handler is registered for task '{}'.",
            t.handler
        ));
        return fail_unstarted(core, task_id, &e).await;
    };
    // A task acts in the domain it was dispatched in.
    let domain = match crate::models::domain::get(&core.db, &t.domain_id).await {
        Ok(d) => d.current(&core.settings),
        Err(e) => return fail_unstarted(core, task_id, &e).await,
    };
    // Every line the task logs names it and the request that dispatched it.
    let span = tracing::info_span!("task", cid = %t.logging_cid, task = %t.id, name = %t.name);
    let ctx = TaskContext {
        progress: super::Progress::new(core.db.clone(), t.id.clone()),
        core: core.clone(),
        task: t,
        created: Default::default(),
    };
    let cancel = Arc::new(Notify::new());
    cancel_signals()
        .lock()
        .expect("signals")
        .insert(task_id.to_string(), cancel.clone());

    let memory = ctx
        .task
        .diagnostics
        .iter()
        .any(|d| d == "memory")
        .then(super::diagnostics::MemoryProfile::start);
    // Run on its own tokio task so that a panic becomes a failed task, not a stuck one.
    let job = tokio::spawn(
        crate::domain::within(domain.clone(), handler(ctx.clone())).instrument(span.clone()),
    );
    let abort = job.abort_handle();
    let heartbeat = tokio::spawn(heartbeat_loop(
        core.clone(),
        task_id.to_string(),
        cancel.clone(),
    ));
    let outcome = tokio::select! {
        joined = job => Some(joined),
        _ = cancel.notified() => { abort.abort(); None }
    };
    heartbeat.abort();
    cancel_signals().lock().expect("signals").remove(task_id);
    if let Some(profile) = memory {
        let text = profile.finish().await;
        let saved = super::diagnostics::save(core, task_id, "memory_profile", text);
        // Kept in the task's domain, as its other files; a profile lost is no failed task.
        if let Err(e) = crate::domain::within(domain, saved).await {
            tracing::warn!(parent: &span, "the task's memory profile was not kept: {e}");
        }
    }

    let created = ctx.created.lock().expect("created").clone();
    let (state, result, error) = match outcome {
        None => (CANCELED, None, None),
        Some(Ok(Ok(result))) => (COMPLETED, result, None),
        Some(Ok(Err(e))) => {
            tracing::warn!(parent: &span, "task failed: {e}");
            (FAILED, None, Some(super::error_value(&e)))
        }
        Some(Err(join)) => {
            tracing::error!(parent: &span, "task panicked: {join}");
            let e = CoreError::Internal("The task stopped with an internal error.".into());
            (FAILED, None, Some(super::error_value(&e)))
        }
    };
    let progress = ctx.progress.finalize(if state == COMPLETED {
        "completed"
    } else {
        state
    });
    finish(core, task_id, state, result, error, created, progress).await
}

/// Reports liveness and watches for a cancel requested from another process.
async fn heartbeat_loop(core: Core, task_id: String, cancel: Arc<Notify>) {
    let every = Duration::from_secs((core.settings.heartbeat_timeout / 3).max(1));
    loop {
        tokio::time::sleep(every).await;
        let res = sqlx::query("UPDATE tasks SET heartbeat = $2 WHERE id = $1 RETURNING state")
            .bind(&task_id)
            .bind(crate::time::now())
            .fetch_optional(core.db.pool())
            .await;
        match res {
            Ok(Some(row)) => {
                let state: String = sqlx::Row::try_get(&row, 0).unwrap_or_default();
                if state == task::CANCELING {
                    cancel.notify_one();
                }
            }
            Ok(None) => cancel.notify_one(),
            Err(e) => tracing::warn!(task = %task_id, "heartbeat failed: {e}"),
        }
    }
}

/// Fails tasks whose worker stopped reporting, releases their reservations, runs the unblock
/// pass (in case a release was lost) and queues what it unblocks, and re-queues runnable tasks
/// whose message was lost. Any process (or a scheduled function) may run it.
pub async fn sweep(core: &Core) -> CoreResult<usize> {
    let cutoff = crate::time::ago(core.settings.heartbeat_timeout);
    let stale: Vec<(String, Option<String>)> = {
        let rows = sqlx::query(
            "SELECT id, worker FROM tasks WHERE state IN ('running', 'canceling') AND (heartbeat IS NULL OR heartbeat < $1)",
        )
        .bind(&cutoff)
        .fetch_all(core.db.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((sqlx::Row::try_get(r, 0)?, sqlx::Row::try_get(r, 1)?)))
            .collect::<CoreResult<_>>()?
    };
    requeue_unclaimed(core, &cutoff).await?;
    let now = crate::time::now();
    let mut tx = core.db.pool().begin().await?;
    lock(&mut tx).await?;
    for (id, worker) in &stale {
        let error = serde_json::json!({
            "description": format!(
                "Worker {} stopped responding (no heartbeat for {} s); the task was marked failed.",
                worker.as_deref().unwrap_or("unknown"),
                core.settings.heartbeat_timeout
            )
        });
        sqlx::query(
            "UPDATE tasks SET state = 'failed', finished_at = $2, updated = $2, error = $3 \
             WHERE id = $1 AND state IN ('running', 'canceling') AND (heartbeat IS NULL OR heartbeat < $4)",
        )
        .bind(id)
        .bind(&now)
        .bind(error.to_string())
        .bind(&cutoff)
        .execute(&mut *tx)
        .await?;
    }
    let unblocked = unblock(&mut tx).await?;
    tx.commit().await?;
    for t in unblocked {
        send(core, &t, "").await;
    }
    models::worker::forget_missing(&core.db).await?;
    expire(core).await?;
    Ok(stale.len())
}

/// How many ended tasks, or idle uploads, one sweep deletes at most: a backlog goes over
/// several sweeps, none of them long.
const EXPIRE_BATCH: i64 = 1000;

/// Deletes the ended tasks and idle uploads older than their protection times, when the
/// deployment sets them (Pulp's `TASK_PROTECTION_TIME` and `UPLOAD_PROTECTION_TIME`).
async fn expire(core: &Core) -> CoreResult<()> {
    let minutes = |m: u64| m.saturating_mul(60);
    let settings = &core.settings;
    if settings.task_protection_time > 0 {
        let before = crate::time::ago(minutes(settings.task_protection_time));
        task::delete_ended_before(&core.db, &before, EXPIRE_BATCH).await?;
    }
    if settings.upload_protection_time > 0 {
        let before = crate::time::ago(minutes(settings.upload_protection_time));
        for (id, domain_id) in
            models::upload::idle_anywhere(&core.db, &before, EXPIRE_BATCH).await?
        {
            // Its chunks are in its domain's storage.
            let domain = models::domain::get(&core.db, &domain_id).await?;
            let current = domain.current(settings);
            crate::domain::within(current, models::upload::delete(core, &id)).await?;
        }
    }
    Ok(())
}

/// Queues again the runnable tasks that no worker claimed since `cutoff`: their message may have
/// been lost. A duplicate is harmless, since only one claim can succeed.
async fn requeue_unclaimed(core: &Core, cutoff: &str) -> CoreResult<()> {
    let rows = sqlx::query(
        "SELECT id, handler FROM tasks WHERE state = 'waiting' AND unblocked_at IS NOT NULL \
         AND (queued_at IS NULL OR queued_at < $1) ORDER BY seq",
    )
    .bind(cutoff)
    .fetch_all(core.db.pool())
    .await?;
    for row in &rows {
        let t = Runnable::from_row(row)?;
        tracing::info!(task = %t.id, "re-queueing a runnable task nobody claimed");
        send(core, &t, "").await;
    }
    Ok(())
}

/// Re-queues every runnable task that is still waiting (after a restart, the in-process queue is
/// empty), and runs the unblock pass in case a release was lost.
pub async fn resend_unblocked(core: &Core) -> CoreResult<usize> {
    let mut tx = core.db.pool().begin().await?;
    lock(&mut tx).await?;
    unblock(&mut tx).await?;
    tx.commit().await?;
    let rows = sqlx::query(
        "SELECT id, handler FROM tasks WHERE state = 'waiting' AND unblocked_at IS NOT NULL ORDER BY seq",
    )
    .fetch_all(core.db.pool())
    .await?;
    for row in &rows {
        send(core, &Runnable::from_row(row)?, "").await;
    }
    Ok(rows.len())
}

/// This process, as Pulp names its workers: `pid@host`.
fn process_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{}@{host}", std::process::id())
}

/// The running task workers of a process.
pub struct Workers {
    stop: tokio::sync::watch::Sender<bool>,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

impl Workers {
    /// Stops taking new tasks and waits up to `timeout` for the running ones to finish. What is
    /// still running then is left to another process's sweeper, as after a crash.
    pub async fn drain(self, timeout: Duration) {
        let _ = self.stop.send(true);
        let all = async {
            for h in self.handles {
                let _ = h.await;
            }
        };
        if tokio::time::timeout(timeout, all).await.is_err() {
            tracing::warn!("tasks still running after {timeout:?}; leaving them to the sweeper");
        }
    }
}

/// Starts `count` workers on `queue` and a sweeper loop, after a first sweep and a re-send of
/// the runnable tasks an earlier run left behind (an in-process queue starts empty).
pub async fn start_workers(
    core: &Core,
    queue: Arc<dyn depot_queue::Queue>,
    count: usize,
) -> CoreResult<Workers> {
    sweep(core).await?;
    resend_unblocked(core).await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let handles = (0..count)
        .map(|i| {
            tokio::spawn(run_worker(
                core.clone(),
                queue.clone(),
                format!("{}/{i}", process_name()),
                stopped.clone(),
            ))
        })
        .collect();
    let sweeper = core.clone();
    tokio::spawn(async move {
        let every = Duration::from_secs((sweeper.settings.heartbeat_timeout / 2).clamp(1, 30));
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = sweep(&sweeper).await {
                tracing::warn!("task sweep failed: {e}");
            }
        }
    });
    Ok(Workers { stop, handles })
}
