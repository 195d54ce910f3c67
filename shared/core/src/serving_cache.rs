//! The content app's memory of what it has already looked up: a request path and the stored
//! file it resolved to. Serving a published file otherwise costs two indexed queries per
//! request, which is most of what a small download costs.
//!
//! An entry is good while nothing that can change what is served has happened since it was
//! looked up: every task's end, every write request and every scan verdict bumps a generation
//! counter, and entries of an older generation are misses. That is exact only when all of those
//! happen in this process, so the cache is on only with the in-process queue (the embedded
//! default, where tasks run in the process that serves) and scans made on write; with shared
//! queues, or verdicts from the scan function (`DEPOT_SCAN_TRIGGER=notification`), another
//! process may change what is served, and every request is looked up.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Past this many paths the cache starts over (a bound on memory, not an LRU: cheap and enough).
const MAX_ENTRIES: usize = 65_536;

/// A stored, clean file as the content app serves it.
#[derive(Clone, Debug, PartialEq)]
pub struct CachedFile {
    pub key: String,
    pub size: i64,
    /// The name the response is typed by (its content type comes from the extension).
    pub name: String,
    /// What clients revalidate by: the bytes' sha256, and since when they are served there.
    pub sha256: Option<String>,
    pub since: Option<String>,
    /// The content guard of its distribution (as loaded when the file was), asked again at
    /// every request. A change to it is a write, which empties the cache.
    pub guard: Option<std::sync::Arc<crate::models::content_guard::Loaded>>,
}

#[derive(Default)]
pub struct ServingCache {
    enabled: bool,
    generation: AtomicU64,
    entries: Mutex<HashMap<String, (u64, CachedFile)>>,
}

impl ServingCache {
    pub fn new(enabled: bool) -> Self {
        ServingCache {
            enabled,
            ..Default::default()
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Something that may change what is served happened: forget every entry.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The generation to store a lookup under: read before the lookup, so that a change during
    /// it leaves the entry already stale.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn get(&self, path: &str) -> Option<CachedFile> {
        if !self.enabled {
            return None;
        }
        let current = self.generation();
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(path) {
            Some((generation, file)) if *generation == current => Some(file.clone()),
            _ => None,
        }
    }

    pub fn put(&self, path: &str, generation: u64, file: CachedFile) {
        if !self.enabled || generation != self.generation() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(path.to_string(), (generation, file));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(key: &str) -> CachedFile {
        CachedFile {
            guard: None,
            key: key.into(),
            size: 1,
            name: "a.bin".into(),
            sha256: None,
            since: None,
        }
    }

    #[test]
    fn hits_until_invalidated() {
        let cache = ServingCache::new(true);
        let g = cache.generation();
        cache.put("dist/a.bin", g, file("k1"));
        assert_eq!(cache.get("dist/a.bin"), Some(file("k1")));
        assert_eq!(cache.get("dist/b.bin"), None);
        cache.invalidate();
        assert_eq!(cache.get("dist/a.bin"), None);
    }

    #[test]
    fn a_lookup_overtaken_by_a_change_is_not_kept() {
        let cache = ServingCache::new(true);
        let g = cache.generation();
        cache.invalidate(); // e.g. a distribution moved while the lookup ran
        cache.put("dist/a.bin", g, file("old"));
        assert_eq!(cache.get("dist/a.bin"), None);
    }

    #[test]
    fn disabled_keeps_nothing() {
        let cache = ServingCache::new(false);
        cache.put("dist/a.bin", cache.generation(), file("k1"));
        assert_eq!(cache.get("dist/a.bin"), None);
    }
}
