//! HTTP plumbing shared by Depot's API handlers: the one place errors become responses, Basic
//! auth, request bodies in Pulp's three encodings, list queries and pagination, correlation ids,
//! and the OpenAPI document builder.

pub mod auth;
pub mod body;
pub mod cid;
pub mod error;
pub mod files;
pub mod labels;
pub mod list;
pub mod on_demand;
pub mod openapi;
pub mod query;
pub mod response;

pub use auth::Authenticated;
pub use body::Fields;
pub use cid::CorrelationId;
pub use error::{ApiError, ApiResult};
pub use query::{ListParams, QueryMap};
pub use response::{accepted, created, dispatched, json, no_content, ok, shaped};

/// Shared state of every router: the domain library's handle.
pub type AppState = depot_core::Core;
