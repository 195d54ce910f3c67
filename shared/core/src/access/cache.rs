//! What a process has read lately of who may do what: the access policies (per viewset) and
//! each user's model-wide permissions and groups. Every request a policy governs needs both,
//! so each is read from the database at most once per [`TTL`]; a change made through this
//! process is seen at once (the writers call `forget`), one made through another within the
//! TTL. Permissions on single objects are always read afresh.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Policy;
use crate::CoreResult;
use crate::db::Db;

pub const TTL: Duration = Duration::from_secs(5);

/// A viewset's policy (or that it has none), and when it was read.
type Entry = (Instant, Option<Arc<Policy>>);

/// A user's model-wide permissions (everywhere, and in each domain by its id) and groups.
#[derive(Debug, Clone, Default)]
pub struct Held {
    pub model: std::collections::HashSet<String>,
    pub in_domain: HashMap<String, std::collections::HashSet<String>>,
    pub groups: Vec<String>,
}

/// The most users whose grants are kept; past it the cache starts over.
const MAX_USERS: usize = 10_000;

#[derive(Default)]
pub struct GrantsCache {
    entries: Mutex<HashMap<String, (Instant, Arc<Held>)>>,
}

impl GrantsCache {
    pub fn get(&self, user_id: &str) -> Option<Arc<Held>> {
        let entries = self.entries.lock().ok()?;
        let (at, held) = entries.get(user_id)?;
        (at.elapsed() < TTL).then(|| held.clone())
    }

    pub fn put(&self, user_id: &str, held: Arc<Held>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_USERS {
                entries.clear();
            }
            entries.insert(user_id.to_string(), (Instant::now(), held));
        }
    }

    /// Roles, role assignments or group memberships changed: read them all again.
    pub fn forget(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

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
