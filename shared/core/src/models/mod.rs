//! Pulp's resources as domain types, their SQL, and their Pulp-shaped JSON representations.
//! The `*Response` structs are the wire shapes; their JSON schemas feed the OpenAPI document.

pub mod access_policy;
pub mod acs;
pub mod artifact;
pub mod content;
pub mod content_guard;
pub mod distributed;
pub mod distribution;
pub mod domain;
pub mod domain_storage;
pub mod exporter;
pub mod group;
pub mod importer;
pub mod list;
pub mod orphans;
pub mod publication;
pub mod remote;
pub mod repository;
pub mod role;
pub mod role_assignment;
pub mod serving;
pub mod signing_service;
pub mod task;
pub mod upload;
pub mod upstream_pulp;
pub mod user;
pub mod version;
pub mod vulnerability_report;
pub mod worker;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};

/// Labels as stored: a JSON object of string (or null) values.
pub type Labels = Map<String, Value>;

pub fn labels_from_text(text: &str) -> Labels {
    serde_json::from_str(text).unwrap_or_default()
}

/// `{"task": href}`: Pulp's answer to any call that dispatched a task.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AsyncOperationResponse {
    /// The href of the task.
    pub task: String,
}

/// `{"task_group": href}`: Pulp's answer to a call that dispatched a group of tasks.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TaskGroupOperationResponse {
    /// The href of the task group.
    pub task_group: String,
}

/// The body `set_label/` takes and returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SetLabelResponse {
    pub key: String,
    pub value: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct UnsetLabelResponse {
    pub key: String,
    pub value: Option<String>,
}

/// Inserts a row of a table whose clients see an integer `number` (users, groups), drawn in
/// the statement as the highest plus one: two rows made at once may draw the same one, and the
/// later draws again. A unique violation while `name_taken` holds is the name's: `taken_error`.
pub(crate) async fn insert_numbered<I, T>(
    what: &str,
    insert: impl Fn() -> I,
    name_taken: impl Fn() -> T,
    taken_error: fn() -> crate::CoreError,
) -> crate::CoreResult<()>
where
    I: std::future::Future<Output = crate::CoreResult<()>>,
    T: std::future::Future<Output = crate::CoreResult<bool>>,
{
    for _ in 0..5 {
        match insert().await {
            Ok(()) => return Ok(()),
            Err(e) if e.is_unique_violation() => {
                if name_taken().await? {
                    return Err(taken_error());
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(crate::CoreError::Conflict(format!(
        "Too many {what} are being made at once; try again."
    )))
}
