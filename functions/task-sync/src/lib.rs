//! Work in progress.
pub fn register_tasks(_: &mut depot_core::tasks::TaskRegistry) {}
