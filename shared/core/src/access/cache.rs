//! The access policies a process has read lately. Every request a policy governs needs it, so
//! it is read from the database at most once per [`TTL`] per viewset; a change made through
//! this process is seen at once, one made through another within the TTL.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Policy;
use crate::CoreResult;
use crate::db::Db;

pub const TTL: Duration = Duration::from_secs(5);

/// A viewset's policy (or that it has none), and when it was read.
type Entry = (Instant, Option<Arc<Policy>>);

#[derive(Default)]
pub struct PolicyCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl PolicyCache {
    /// The policy of `viewset` (`None`: it has none).
    pub async fn get(&self, db: &Db, viewset: &str) -> CoreResult<Option<Arc<Policy>>> {
        if let Ok(entries) = self.entries.lock()
            && let Some((at, policy)) = entries.get(viewset)
            && at.elapsed() < TTL
        {
            return Ok(policy.clone());
        }
        let policy = crate::models::access_policy::of_viewset(db, viewset)
            .await?
            .map(Arc::new);
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(viewset.to_string(), (Instant::now(), policy.clone()));
        }
        Ok(policy)
    }

    /// A policy changed: read them all again.
    pub fn forget(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}
