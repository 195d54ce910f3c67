//! Tasking against real databases (SQLite always, PostgreSQL when `DEPOT_TEST_PG_URL` is set):
//! reservations, FIFO fairness with shared and exclusive resources, task groups, failures and
//! panics, immediate tasks.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{TestDb, databases};
use depot_core::config::Settings;
use depot_core::models::task::{self, Task};
use depot_core::storage::FsStorage;
use depot_core::tasks::{
    self, Dispatch, TaskArgs, TaskContext, TaskFuture, TaskRegistry, TaskSpec,
};
use depot_core::{Core, CoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;

static SLEEP: TaskSpec = TaskSpec::new("test.sleep", "test");
static FAIL: TaskSpec = TaskSpec::new("test.fail", "test");
static PANIC: TaskSpec = TaskSpec::new("test.panic", "test");

#[derive(Serialize, Deserialize)]
struct Sleep {
    ms: u64,
}

impl TaskArgs for Sleep {
    const SPEC: &'static TaskSpec = &SLEEP;
}

#[derive(Serialize, Deserialize)]
struct Fail {}

impl TaskArgs for Fail {
    const SPEC: &'static TaskSpec = &FAIL;
}

#[derive(Serialize, Deserialize)]
struct Panic {}

impl TaskArgs for Panic {
    const SPEC: &'static TaskSpec = &PANIC;
}

/// Arguments of another shape sent to `test.sleep`, as an older or newer dispatcher might.
#[derive(Serialize, Deserialize)]
struct OddSleep {
    ms: String,
}

impl TaskArgs for OddSleep {
    const SPEC: &'static TaskSpec = &SLEEP;
}

fn sleepy(_: TaskContext, args: Sleep) -> TaskFuture {
    Box::pin(async move {
        tokio::time::sleep(Duration::from_millis(args.ms)).await;
        Ok(Some(json!({"slept": args.ms})))
    })
}

fn failing(_: TaskContext, _: Fail) -> TaskFuture {
    Box::pin(async move { Err(CoreError::invalid("the input was wrong")) })
}

fn panicking(_: TaskContext, _: Panic) -> TaskFuture {
    Box::pin(async move { panic!("bug") })
}

async fn core_for(test_db: &TestDb) -> Core {
    let dir = test_db.dir();
    let mut reg = TaskRegistry::default();
    reg.register(sleepy);
    reg.register(failing);
    reg.register(panicking);
    let settings = Settings::for_tests(dir.clone(), "unused".into(), "127.0.0.1:0".into());
    Core {
        db: test_db.db.clone(),
        storage: Arc::new(FsStorage::new(dir.join("media")).unwrap()),
        queues: depot_queue::Queues::new(depot_queue::InProcessQueue::new()),
        settings: Arc::new(settings),
        tasks: Arc::new(reg),
        http: reqwest::Client::new(),
        download_clients: Default::default(),
        auth_cache: Default::default(),
        serving_cache: Default::default(),
        policies: Default::default(),
        grants: Default::default(),
        domains: Default::default(),
    }
}

async fn dispatch(
    core: &Core,
    handler: &'static str,
    ms: u64,
    exclusive: &[&str],
    shared: &[&str],
    group: Option<&str>,
) -> Task {
    let d = match handler {
        "test.fail" => Dispatch::new("test", &Fail {}),
        "test.panic" => Dispatch::new("test", &Panic {}),
        _ => Dispatch::new("test", &Sleep { ms }),
    };
    let mut d = d
        .exclusive(exclusive.iter().map(|s| s.to_string()))
        .shared(shared.iter().map(|s| s.to_string()));
    d.task_group = group.map(str::to_string);
    tasks::dispatch(core, d).await.unwrap()
}

async fn wait_all(core: &Core, ids: &[String]) -> Vec<Task> {
    for _ in 0..400 {
        let mut all = Vec::new();
        for id in ids {
            all.push(task::get(&core.db, id).await.unwrap());
        }
        if all.iter().all(Task::is_finished) {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("tasks did not finish");
}

fn before(a: &Task, b: &Task) -> bool {
    a.finished_at.as_deref().unwrap() <= b.started_at.as_deref().unwrap()
}

fn overlap(a: &Task, b: &Task) -> bool {
    a.started_at < b.finished_at && b.started_at < a.finished_at
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reservations_order_and_parallelism() {
    for test_db in databases().await {
        let core = core_for(&test_db).await;
        for i in 0..3 {
            tokio::spawn(tasks::run_worker(
                core.clone(),
                core.queues.of(None).clone(),
                format!("w{i}"),
                tokio::sync::watch::channel(false).1,
            ));
        }
        let group = task::create_group(&core.db, "test group").await.unwrap();
        // Three exclusive tasks on X run one at a time in order; Y runs beside them.
        let x1 = dispatch(&core, "test.sleep", 150, &["X"], &[], Some(&group)).await;
        let x2 = dispatch(&core, "test.sleep", 50, &["X"], &[], Some(&group)).await;
        let y = dispatch(&core, "test.sleep", 150, &["Y"], &[], Some(&group)).await;
        let x3 = dispatch(&core, "test.sleep", 50, &["X"], &[], Some(&group)).await;
        task::finish_group_dispatch(&core.db, &group).await.unwrap();
        let done = wait_all(&core, &[x1.id, x2.id, y.id, x3.id]).await;
        let (x1, x2, y, x3) = (&done[0], &done[1], &done[2], &done[3]);
        assert!(done.iter().all(|t| t.state == "completed"), "{done:?}");
        assert!(
            before(x1, x2) && before(x2, x3),
            "exclusive tasks overlapped or ran out of order"
        );
        assert!(
            overlap(x1, y),
            "tasks on different resources did not run in parallel"
        );
        assert_eq!(x1.result, json!({"slept": 150}));
        let g = task::group_response(&core.db, &group).await.unwrap();
        assert_eq!(
            (
                g.completed,
                g.waiting,
                g.failed,
                g.all_tasks_dispatched,
                g.tasks.len()
            ),
            (4, 0, 0, true, 4)
        );

        // Shared holders run together; an exclusive task waits for them, and a later shared one
        // does not overtake it.
        let s1 = dispatch(&core, "test.sleep", 150, &[], &["R"], None).await;
        let s2 = dispatch(&core, "test.sleep", 150, &[], &["R"], None).await;
        let ex = dispatch(&core, "test.sleep", 50, &["R"], &[], None).await;
        let s3 = dispatch(&core, "test.sleep", 10, &[], &["R"], None).await;
        let done = wait_all(&core, &[s1.id, s2.id, ex.id, s3.id]).await;
        let (s1, s2, ex, s3) = (&done[0], &done[1], &done[2], &done[3]);
        assert!(overlap(s1, s2), "shared holders did not run together");
        assert!(
            before(s1, ex) && before(s2, ex) && before(ex, s3),
            "FIFO broken around an exclusive task"
        );
        assert!(ex.reserved_resources_record().contains(&"R".to_string()));
        assert!(
            s3.reserved_resources_record()
                .contains(&"shared:R".to_string())
        );

        // Failures and panics end as failed tasks with a description; the resource is released.
        let f = dispatch(&core, "test.fail", 0, &["Z"], &[], None).await;
        let p = dispatch(&core, "test.panic", 0, &["Z"], &[], None).await;
        let after = dispatch(&core, "test.sleep", 0, &["Z"], &[], None).await;
        let done = wait_all(&core, &[f.id, p.id, after.id]).await;
        assert_eq!(done[0].state, "failed");
        assert!(
            done[0].error["description"]
                .as_str()
                .unwrap()
                .contains("the input was wrong")
        );
        assert_eq!(done[1].state, "failed");
        assert!(
            done[1].error["description"]
                .as_str()
                .unwrap()
                .contains("internal error")
        );
        assert_eq!(done[2].state, "completed");

        // An immediate task with free resources has run when dispatch returns.
        let d = Dispatch::new("test", &Sleep { ms: 0 })
            .exclusive(["I".to_string()])
            .immediate();
        let t = tasks::dispatch(&core, d).await.unwrap();
        assert_eq!(t.state, "completed");

        // Arguments the handler cannot read fail the task, saying so, instead of running it
        // with defaults.
        let d = Dispatch::new("test", &OddSleep { ms: "soon".into() }).immediate();
        let t = tasks::dispatch(&core, d).await.unwrap();
        assert_eq!(t.state, "failed");
        let why = t.error["description"].as_str().unwrap();
        assert!(
            why.contains("arguments of the task 'test.sleep' cannot be read"),
            "{why}"
        );
        test_db.close().await;
    }
}
