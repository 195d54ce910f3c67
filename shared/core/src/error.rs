//! The domain error type. `depot-http` maps it to HTTP responses in one place; task runners map
//! it to a failed task's `error.description`.

use serde_json::{Value, json};

pub type CoreResult<T> = Result<T, CoreError>;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// An unknown href, id or name: 404 `{"detail": ...}`.
    #[error("{0}")]
    NotFound(String),
    /// Bad input: 400 with a DRF-shaped body such as `{"name": ["..."]}`.
    #[error("{}", summarize(.0))]
    Invalid(Value),
    /// A state conflict, e.g. cancelling a finished task: 409.
    #[error("{0}")]
    Conflict(String),
    /// Missing or wrong credentials: 401.
    #[error("{0}")]
    Unauthenticated(String),
    /// Too many failed attempts: 429, try again later.
    #[error("{0}")]
    Throttled(String),
    /// Known credentials, but not allowed: 403.
    #[error("{0}")]
    Forbidden(String),
    /// A failure talking to a remote server during a task.
    #[error("{0}")]
    Remote(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("storage error: {0}")]
    Storage(#[from] std::io::Error),
    #[error("queue error: {0}")]
    Queue(#[from] depot_queue::QueueError),
    #[error("{0}")]
    Internal(String),
}

impl From<sqlx::Error> for CoreError {
    fn from(e: sqlx::Error) -> Self {
        if matches!(e, sqlx::Error::Database(_)) {
            crate::db::note_failed_statement();
        }
        CoreError::Database(e)
    }
}

/// Our own values always serialize; a failure is a bug, reported as such.
impl From<serde_json::Error> for CoreError {
    fn from(e: serde_json::Error) -> Self {
        CoreError::Internal(format!("JSON: {e}"))
    }
}

impl CoreError {
    /// A validation error on one field.
    pub fn field(name: &str, message: impl Into<String>) -> Self {
        CoreError::Invalid(json!({ name: [message.into()] }))
    }

    /// A validation error that belongs to no single field.
    /// A name that is only whitespace: DRF's answer for a blank field.
    pub fn check_name(name: &str) -> CoreResult<&str> {
        match name.trim().is_empty() {
            true => Err(CoreError::field("name", "This field may not be blank.")),
            false => Ok(name),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        CoreError::Invalid(json!({ "non_field_errors": [message.into()] }))
    }

    pub fn not_found(model: &str) -> Self {
        CoreError::NotFound(format!("No {model} matches the given query."))
    }

    /// Whether the database or the storage refused a write for want of space (or because it
    /// is read-only): the server's condition, not the request's fault, and passing.
    pub fn is_out_of_space(&self) -> bool {
        match self {
            CoreError::Storage(e) => io_out_of_space(e),
            CoreError::Database(sqlx::Error::Io(e)) => io_out_of_space(e),
            CoreError::Database(sqlx::Error::Database(e)) => {
                // PostgreSQL: SQLSTATE disk_full (53100); SQLite: SQLITE_FULL (13) and
                // SQLITE_READONLY (8), with their extended codes (primary in the low byte).
                let code = e.code().unwrap_or_default();
                if code.len() == 5 {
                    return code == "53100";
                }
                let primary = code.parse::<i64>().map(|c| c & 0xff).unwrap_or(-1);
                primary == 13 || primary == 8
            }
            _ => false,
        }
    }

    pub fn is_unique_violation(&self) -> bool {
        matches!(self, CoreError::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

/// A one-line text for a DRF-shaped error body, used in task errors and logs.
fn summarize(v: &Value) -> String {
    match v {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                Value::Array(msgs) => {
                    let msgs: Vec<String> = msgs
                        .iter()
                        .map(|m| {
                            m.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| m.to_string())
                        })
                        .collect();
                    format!("{k}: {}", msgs.join(" "))
                }
                Value::String(s) => format!("{k}: {s}"),
                other => format!("{k}: {other}"),
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

fn io_out_of_space(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull
            | std::io::ErrorKind::QuotaExceeded
            | std::io::ErrorKind::ReadOnlyFilesystem
    )
}
