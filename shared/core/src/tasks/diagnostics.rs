//! Task diagnostics (Pulp's `X-TASK-DIAGNOSTICS` header): a dispatcher asks for some of the
//! diagnostics the deployment enables (`PULP_TASK_DIAGNOSTICS`); the worker measures the task
//! while it runs and keeps what it measured as the task's profile artifacts, which
//! `tasks/<id>/profile_artifacts/` lists. Depot has `memory`: the worker process's resident
//! memory, sampled while the task runs (the process's: other tasks running beside it count).

use std::time::{Duration, Instant};

use crate::{Core, CoreResult};

/// The diagnostics Depot can take.
pub const SUPPORTED: &[&str] = &["memory"];

/// How often memory is sampled.
const EVERY: Duration = Duration::from_millis(100);
/// The most samples kept: a long task's profile keeps every n-th one past this.
const MAX_SAMPLES: usize = 36_000;

tokio::task_local! {
    static REQUESTED: Vec<String>;
}

/// Runs `f` (the serving of a request) with the diagnostics its header asked for.
pub async fn requested<F: Future>(names: Vec<String>, f: F) -> F::Output {
    REQUESTED.scope(names, f).await
}

/// The diagnostics the request being served asked for that the deployment enables and
/// Depot has, for a task it dispatches.
pub fn wanted(core: &Core) -> Vec<String> {
    REQUESTED
        .try_with(|asked| {
            asked
                .iter()
                .filter(|n| SUPPORTED.contains(&n.as_str()))
                .filter(|n| core.settings.task_diagnostics.contains(n))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// The names an `X-TASK-DIAGNOSTICS` header lists (comma-separated), at most a few.
pub fn parse_header(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|n| n.trim().to_ascii_lowercase())
        .filter(|n| !n.is_empty() && n.len() <= 32)
        .take(8)
        .collect()
}

/// The resident memory of this process, in bytes (`None` where /proc has none).
fn resident() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Memory sampled while a task runs.
pub struct MemoryProfile {
    stop: tokio::sync::oneshot::Sender<()>,
    samples: tokio::task::JoinHandle<Vec<(f64, u64)>>,
}

impl MemoryProfile {
    pub fn start() -> Self {
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let samples = tokio::spawn(async move {
            let started = Instant::now();
            let mut samples = Vec::new();
            let mut keep_every = 1usize;
            let mut n = 0usize;
            loop {
                if n.is_multiple_of(keep_every)
                    && let Some(rss) = resident()
                {
                    samples.push((started.elapsed().as_secs_f64(), rss));
                    if samples.len() >= MAX_SAMPLES {
                        // Halve the resolution rather than grow without bound.
                        samples = samples.into_iter().step_by(2).collect();
                        keep_every *= 2;
                    }
                }
                n += 1;
                tokio::select! {
                    _ = tokio::time::sleep(EVERY) => {}
                    _ = &mut stopped => break,
                }
            }
            if let Some(rss) = resident() {
                samples.push((started.elapsed().as_secs_f64(), rss));
            }
            samples
        });
        Self { stop, samples }
    }

    /// Stops sampling: the profile as text, a `seconds,resident_bytes` line per sample.
    pub async fn finish(self) -> String {
        let _ = self.stop.send(());
        let samples = self.samples.await.unwrap_or_default();
        let mut text = String::from("seconds,resident_bytes\n");
        for (t, rss) in samples {
            text.push_str(&format!("{t:.3},{rss}\n"));
        }
        text
    }
}

/// Keeps `text` as the profile artifact `name` of task `task_id` (in the domain in force).
pub async fn save(core: &Core, task_id: &str, name: &str, text: String) -> CoreResult<()> {
    let a = crate::artifacts::ingest_bytes(core, bytes::Bytes::from(text)).await?;
    crate::models::task::add_profile_artifact(&core.db, task_id, name, &a.id).await
}
