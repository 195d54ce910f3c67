//! Python packages: what the index and the REST resources share. Project names (PEP 503/508),
//! distribution file names (wheels, sdists), core metadata read from the files themselves,
//! PEP 440 version order, and the package content store.

pub mod api;
pub mod filename;
pub mod filters;
pub mod index;
pub mod ingest;
pub mod metadata;
pub mod names;
pub mod plugin;
pub mod replica;
pub mod store;
pub mod upstream;
pub mod vulnerabilities;

pub use plugin::PLUGIN;

/// Content, repository and distribution types, as pulp_python names them.
pub const PACKAGE_TYPE: &str = "python.python";
pub const REPOSITORY_TYPE: &str = "python.python";
pub const DISTRIBUTION_TYPE: &str = "python.pypi";
