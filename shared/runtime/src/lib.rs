//! How a function binary runs. Each handler crate in `functions/` has a `main.rs` of one call
//! into this crate; the same binary then runs
//!
//! - on AWS Lambda (or any runtime speaking the Lambda runtime API) when
//!   `AWS_LAMBDA_RUNTIME_API` is set: HTTP events from API Gateway (REST and HTTP APIs),
//!   Function URLs and ALB; SQS batches of task messages, answered with partial batch failures;
//!   scheduled events (the sweeper); a direct invocation (migrations);
//! - otherwise as an ordinary process, for containers or Kubernetes: an HTTP server on
//!   `DEPOT_LISTEN`, a poller of the function's own SQS queue, a sweeper loop, or a one-shot
//!   migration command.
//!
//! A function never migrates the database or creates users at start-up: that is the
//! `migrate` function's job, so a cold start only opens what a request needs.

mod events;
mod lambda;
mod server;

use std::process::ExitCode;

use axum::Router;
use depot_core::Core;
use depot_core::config::Settings;
use depot_core::startup::{Startup, StartupError};
use depot_core::tasks::{self, RegisterTasks, TaskRegistry};

pub use events::{Event, strip_stage};

/// What a function does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Serves HTTP requests (and runs its own deferred tasks, when it has task handlers).
    Http,
    /// Runs tasks from its queue.
    Tasks,
    /// Fails tasks of dead workers and re-queues lost messages, on a schedule.
    Sweeper,
    /// Applies the database migrations and makes sure the admin user exists.
    Migrate,
    /// Scans new artifact objects for malware, told of them by object storage notifications.
    Scan,
}

/// A function binary: its name (the handler crate's), its routes and its task handlers.
pub struct Function {
    /// The crate name; its own queue is `DEPOT_QUEUE_URL_<NAME>`.
    pub name: &'static str,
    pub kind: Kind,
    pub router: Option<fn() -> Router<Core>>,
    pub tasks: RegisterTasks,
}

/// For functions without task handlers.
pub fn no_tasks(_: &mut TaskRegistry) {}

/// Runs an HTTP function: `router`'s routes, and `tasks` (the handlers the crate registers).
pub fn http(name: &'static str, router: fn() -> Router<Core>, tasks: RegisterTasks) -> ExitCode {
    main(Function {
        name,
        kind: Kind::Http,
        router: Some(router),
        tasks,
    })
}

/// Runs a task function.
pub fn tasks(name: &'static str, tasks: RegisterTasks) -> ExitCode {
    main(Function {
        name,
        kind: Kind::Tasks,
        router: None,
        tasks,
    })
}

/// Runs the sweeper.
pub fn sweeper() -> ExitCode {
    main(Function {
        name: "sweeper",
        kind: Kind::Sweeper,
        router: None,
        tasks: no_tasks,
    })
}

/// Runs the malware scan of new objects.
pub fn scanner() -> ExitCode {
    main(Function {
        name: "scan",
        kind: Kind::Scan,
        router: None,
        tasks: no_tasks,
    })
}

/// Runs the migration step.
pub fn migrate() -> ExitCode {
    main(Function {
        name: "migrate",
        kind: Kind::Migrate,
        router: None,
        tasks: no_tasks,
    })
}

/// True inside a Lambda execution environment (or an emulator of its runtime API).
pub fn on_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}

fn main(function: Function) -> ExitCode {
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}: cannot start the async runtime: {e}", function.name);
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&function)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}: {e}", function.name);
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    // CloudWatch shows escape codes as text, and adds its own timestamps.
    depot_http::logging::init(on_lambda());
}

async fn run(function: &Function) -> Result<(), StartupError> {
    depot_plugins::install();
    let settings = Settings::from_env().map_err(|e| StartupError(e.to_string()))?;
    let mut registry = TaskRegistry::default();
    if function.kind == Kind::Http {
        // Deletes dispatched by an API run inline when their resources are free.
        tasks::general::register_tasks(&mut registry);
    }
    (function.tasks)(&mut registry);
    let how = Startup {
        migrate: false,
        check_queues: !on_lambda(),
    };
    let core = depot_core::startup::open(settings, registry, how).await?;
    if on_lambda() {
        lambda::run(function, core)
            .await
            .map_err(|e| StartupError(format!("Lambda runtime error: {e}")))
    } else {
        server::run(function, core).await
    }
}

/// Applies the migrations and makes sure `admin` exists; returns the generated password, if any.
async fn migrate_now(core: &Core) -> Result<Option<String>, StartupError> {
    core.db
        .migrate()
        .await
        .map_err(|e| StartupError(format!("database migration failed: {e}")))?;
    depot_core::users::ensure_admin(&core.db, core.settings.admin_password.as_deref())
        .await
        .map_err(|e| StartupError(format!("cannot create the admin user: {e}")))
}
