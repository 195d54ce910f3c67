//! Containers: the OCI distribution rules (digests, names, manifests, errors) and the content
//! store the registry API and the container tasks share.

pub mod api;
pub mod content;
pub mod digest;
pub mod error;
pub mod fetch;
pub mod manifest;
pub mod names;
pub mod namespaces;
pub mod plugin;
pub mod pull_through;
pub mod replica;
pub mod store;
pub mod upstream;

pub use digest::Digest;
pub use error::{RegistryError, RegistryResult};
pub use plugin::PLUGIN;

/// Content and repository types, as Pulp names them. Syncs fill `container.container`
/// repositories; the registry creates `container.container-push` ones on first push.
pub const REPOSITORY_TYPE: &str = "container.container";
pub const PUSH_REPOSITORY_TYPE: &str = "container.container-push";
pub const DISTRIBUTION_TYPE: &str = "container.container";
pub const BLOB_TYPE: &str = "container.blob";
pub const MANIFEST_TYPE: &str = "container.manifest";
pub const TAG_TYPE: &str = "container.tag";
