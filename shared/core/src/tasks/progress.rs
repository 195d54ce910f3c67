//! Progress reports: counters a task bumps freely; they reach the database at most every half
//! second (and once more at the end), so a sync of many files does not write a row per file.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::db::Db;

#[derive(Debug, Clone)]
struct Report {
    message: String,
    code: String,
    state: String,
    total: Option<i64>,
    done: i64,
}

struct Inner {
    reports: Vec<Report>,
    last_flush: Instant,
}

#[derive(Clone)]
pub struct Progress {
    db: Db,
    task_id: String,
    inner: Arc<Mutex<Inner>>,
}

impl Progress {
    pub fn new(db: Db, task_id: String) -> Self {
        Self {
            db,
            task_id,
            inner: Arc::new(Mutex::new(Inner {
                reports: Vec::new(),
                last_flush: Instant::now(),
            })),
        }
    }

    /// Starts (or restarts) the report with this code.
    pub async fn start(&self, code: &str, message: &str, total: Option<i64>) {
        {
            let mut inner = self.inner.lock().expect("progress");
            inner.reports.retain(|r| r.code != code);
            inner.reports.push(Report {
                message: message.into(),
                code: code.into(),
                state: "running".into(),
                total,
                done: 0,
            });
        }
        self.flush(true).await;
    }

    pub async fn advance(&self, code: &str, by: i64) {
        {
            let mut inner = self.inner.lock().expect("progress");
            if let Some(r) = inner.reports.iter_mut().find(|r| r.code == code) {
                r.done += by;
            }
        }
        self.flush(false).await;
    }

    /// Adds `by` to the total of the report with this code (work found while it runs).
    pub async fn advance_total(&self, code: &str, by: i64) {
        {
            let mut inner = self.inner.lock().expect("progress");
            if let Some(r) = inner.reports.iter_mut().find(|r| r.code == code) {
                r.total = Some(r.total.unwrap_or(0) + by);
            }
        }
        self.flush(false).await;
    }

    pub async fn set_total(&self, code: &str, total: i64) {
        {
            let mut inner = self.inner.lock().expect("progress");
            if let Some(r) = inner.reports.iter_mut().find(|r| r.code == code) {
                r.total = Some(total);
            }
        }
        self.flush(false).await;
    }

    pub async fn complete(&self, code: &str) {
        {
            let mut inner = self.inner.lock().expect("progress");
            if let Some(r) = inner.reports.iter_mut().find(|r| r.code == code) {
                r.state = "completed".into();
                if r.total.is_none() {
                    r.total = Some(r.done);
                }
            }
        }
        self.flush(true).await;
    }

    /// Marks every unfinished report with the task's final state.
    pub fn finalize(&self, state: &str) -> Value {
        let mut inner = self.inner.lock().expect("progress");
        for r in inner.reports.iter_mut().filter(|r| r.state == "running") {
            r.state = state.into();
        }
        Self::to_json(&inner.reports)
    }

    fn to_json(reports: &[Report]) -> Value {
        Value::Array(
            reports
                .iter()
                .map(|r| {
                    json!({"message": r.message, "code": r.code, "state": r.state,
                           "total": r.total, "done": r.done, "suffix": null})
                })
                .collect(),
        )
    }

    async fn flush(&self, force: bool) {
        let json = {
            let mut inner = self.inner.lock().expect("progress");
            if !force && inner.last_flush.elapsed() < Duration::from_millis(500) {
                return;
            }
            inner.last_flush = Instant::now();
            Self::to_json(&inner.reports)
        };
        let res = sqlx::query("UPDATE tasks SET progress_reports = $2 WHERE id = $1")
            .bind(&self.task_id)
            .bind(json.to_string())
            .execute(self.db.pool())
            .await;
        if let Err(e) = res {
            tracing::warn!(task = %self.task_id, "could not save progress: {e}");
        }
    }
}
