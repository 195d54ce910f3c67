//! Pulp's resources as domain types, their SQL, and their Pulp-shaped JSON representations.
//! The `*Response` structs are the wire shapes; their JSON schemas feed the OpenAPI document.

pub mod artifact;
pub mod content;
pub mod distribution;
pub mod group;
pub mod list;
pub mod orphans;
pub mod publication;
pub mod remote;
pub mod repository;
pub mod serving;
pub mod task;
pub mod upload;
pub mod user;
pub mod version;

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
