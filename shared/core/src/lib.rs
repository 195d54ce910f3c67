//! Depot's domain library: everything the handlers share. Models and their rules live here; the
//! handler crates in `functions/` only translate between HTTP (or queue messages) and these calls.

pub mod access;
pub mod artifacts;
pub mod checksums;
pub mod config;
pub mod db;
pub mod domain;
pub mod download;
pub mod error;
pub mod hrefs;
pub mod identity;
pub mod importexport;
pub mod labels;
pub mod models;
pub mod on_demand;
pub mod plugin;
pub mod reclaim;
pub mod repair;
pub mod replication;
pub mod scan;
pub mod secrets;
pub mod serving_cache;
pub mod sessions;
pub mod signing;
pub mod startup;
pub mod storage;
pub mod tasks;
pub mod time;
pub mod users;
pub mod vulnerability;

use std::sync::Arc;

pub use error::{CoreError, CoreResult};

/// Everything a handler needs, cheap to clone. Built once per process by the host (the local
/// runner, or a function's `main`).
#[derive(Clone)]
pub struct Core {
    pub db: db::Db,
    pub storage: Arc<dyn storage::Storage>,
    pub queues: depot_queue::Queues,
    pub settings: Arc<config::Settings>,
    pub tasks: Arc<tasks::TaskRegistry>,
    pub http: reqwest::Client,
    pub download_clients: Arc<download::ClientCache>,
    pub auth_cache: Arc<users::AuthCache>,
    pub serving_cache: Arc<serving_cache::ServingCache>,
    pub policies: Arc<access::PolicyCache>,
    pub grants: Arc<access::GrantsCache>,
    pub domains: Arc<domain::DomainCache>,
}

/// A fresh random id, as used for every row.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
