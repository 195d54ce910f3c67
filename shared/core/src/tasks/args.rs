//! The arguments of core's tasks, one struct per task type. The API crate that dispatches a
//! task and the function that runs it share the struct, so the two cannot drift apart.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::routes::*;
use super::{TaskArgs, TaskSpec};
use crate::models::distribution::{NewDistribution, Source};

/// Deletes one repository, remote or distribution.
#[derive(Debug, Serialize, Deserialize)]
pub struct GeneralDelete {
    /// The PRN model of the resource's type.
    pub kind: String,
    pub id: String,
}

/// Applies a validated partial update to a repository.
#[derive(Debug, Serialize, Deserialize)]
pub struct RepositoryUpdate {
    pub id: String,
    pub changes: Map<String, Value>,
}

/// Deletes one repository version.
#[derive(Debug, Serialize, Deserialize)]
pub struct RepositoryVersionDelete {
    pub repository_id: String,
    pub number: i64,
}

/// Applies a validated partial update to a remote.
#[derive(Debug, Serialize, Deserialize)]
pub struct RemoteUpdate {
    pub id: String,
    pub changes: Map<String, Value>,
}

/// Applies a validated update to an alternate content source; `paths: None` keeps its paths.
#[derive(Debug, Serialize, Deserialize)]
pub struct AcsUpdate {
    pub id: String,
    pub name: Option<String>,
    pub remote_id: Option<String>,
    pub paths: Option<Vec<String>>,
}

/// Creates a distribution (under the base-path lock, so that paths never overlap).
#[derive(Debug, Serialize, Deserialize)]
pub struct DistributionCreate(pub NewDistribution);

/// Applies a validated partial update to a distribution, with what it serves resolved.
#[derive(Debug, Serialize, Deserialize)]
pub struct DistributionUpdate {
    pub id: String,
    pub changes: Map<String, Value>,
    pub source: Option<Source>,
}

/// Turns a finished chunked upload into an artifact.
#[derive(Debug, Serialize, Deserialize)]
pub struct UploadCommit {
    pub upload_id: String,
    pub sha256: Option<String>,
}

/// What a plugin's sync from a remote takes; each plugin's sync task wraps it (or adds its
/// own options).
#[derive(Debug, Serialize, Deserialize)]
pub struct RemoteSync {
    pub repository_id: String,
    pub remote_id: String,
    /// Make the new version hold exactly what the remote has.
    #[serde(default)]
    pub mirror: bool,
}

/// What every content-creating task takes: the bytes (exactly one of an artifact, an upload or
/// a URL), the name the unit is known by, and optionally a repository to add it to. Each
/// plugin's create task wraps it.
#[derive(Debug, Serialize, Deserialize)]
pub struct ContentCreate {
    pub relative_path: String,
    pub artifact_id: Option<String>,
    pub upload_id: Option<String>,
    pub file_url: Option<String>,
    pub repository_id: Option<String>,
    #[serde(default)]
    pub pulp_labels: crate::models::Labels,
    pub overwrite: bool,
    /// Connection settings for `file_url`, their secrets encrypted.
    #[serde(default)]
    pub downloader_config: Option<Map<String, Value>>,
}

/// Adds and removes content in a repository, making one new version (or none).
#[derive(Debug, Serialize, Deserialize)]
pub struct RepositoryModify {
    pub repository_id: String,
    pub add: Vec<String>,
    pub remove: Vec<String>,
    pub remove_all: bool,
    pub base_number: Option<i64>,
    /// The base version's repository, when it is another repository's.
    #[serde(default)]
    pub base_repository_id: Option<String>,
    pub overwrite: bool,
}

/// Deletes orphaned content and artifacts.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct OrphanCleanup {
    /// Minutes an orphan is kept; the setting's value when `None`.
    pub orphan_protection_time: Option<u64>,
    /// Only these content units (when orphaned); all orphans when `None`.
    pub content_ids: Option<Vec<String>>,
}

/// Writes a domain's new fields (its storage settings sealed).
#[derive(Debug, Serialize, Deserialize)]
pub struct DomainUpdate {
    pub id: String,
    pub fields: crate::models::domain::DomainFields,
}

/// Deletes an empty domain.
#[derive(Debug, Serialize, Deserialize)]
pub struct DomainDelete {
    pub id: String,
}

/// Checks stored files and fetches the missing or damaged ones again: those of one repository
/// version, or every one of the domain's.
#[derive(Debug, Serialize, Deserialize)]
pub struct Repair {
    pub scope: crate::repair::Scope,
    /// Hash every file, not only see that it is there.
    pub verify_checksums: bool,
}

/// Moves the domain in force's files to another storage, then records it there.
#[derive(Debug, Serialize, Deserialize)]
pub struct DomainMigrate {
    pub storage_class: String,
    /// Encrypted (see [`crate::models::domain::seal`]): they may hold keys.
    pub sealed_settings: String,
}

/// Exports an exporter's repositories in Pulp's format ([`crate::importexport::pulp_export`]).
#[derive(Debug, Serialize, Deserialize)]
pub struct PulpExport {
    pub exporter_id: String,
    /// The request as sent, kept with the export (Pulp's `params`).
    pub params: Map<String, Value>,
    /// The versions' ids, one per repository; each repository's latest when `None`.
    pub versions: Option<Vec<String>>,
    /// Where an incremental export starts, one per repository; the last export's when `None`.
    pub start_versions: Option<Vec<String>>,
    pub chunk_size: Option<u64>,
    pub full: bool,
    /// The caller's own, written into the table of contents.
    pub meta: Map<String, Value>,
}

/// Exports a publication or a repository version as plain files.
#[derive(Debug, Serialize, Deserialize)]
pub struct FilesystemExport {
    pub exporter_id: String,
    pub params: Map<String, Value>,
    pub publication_id: Option<String>,
    pub version_id: Option<String>,
    pub start_version_id: Option<String>,
}

/// Imports an export made by Pulp or Depot: one of `path` and `toc`.
#[derive(Debug, Serialize, Deserialize)]
pub struct PulpImport {
    pub importer_id: String,
    pub path: Option<String>,
    pub toc: Option<String>,
    pub create_repositories: bool,
}

/// Imports one repository of an export (dispatched by [`PulpImport`]'s task, in its group).
#[derive(Debug, Serialize, Deserialize)]
pub struct PulpImportRepository {
    pub importer_id: String,
    pub src_repo_name: String,
    pub src_repo_type: String,
    pub dest_repo_name: String,
    /// `None`: made by this task, from the export's repository row.
    pub dest_repo_id: Option<String>,
    pub path: Option<String>,
    pub toc: Option<String>,
}

/// Frees the disk of repositories' content files that remotes can give again.
#[derive(Debug, Serialize, Deserialize)]
pub struct ReclaimSpace {
    pub repositories: crate::reclaim::Repositories,
    /// Versions whose content keeps its files: (repository id, number).
    pub keep: Vec<(String, i64)>,
}

/// Applies a checked update to an exporter.
#[derive(Debug, Serialize, Deserialize)]
pub struct ExporterUpdate {
    pub id: String,
    pub fields: crate::models::exporter::ExporterFields,
}

/// Deletes the records of ended tasks (`crate::tasks::purge`), as the user who dispatched it.
#[derive(Debug, Serialize, Deserialize)]
pub struct TaskPurge {
    /// Tasks that finished before this time go.
    pub finished_before: String,
    /// In these states (final ones only).
    pub states: Vec<String>,
}

/// Replicates the distributions of an upstream Pulp into the domain in force
/// (`crate::replication`).
#[derive(Debug, Serialize, Deserialize)]
pub struct Replicate {
    pub upstream_pulp_id: String,
    /// Overrides the upstream Pulp's `q_select` for this run (and deletes nothing).
    pub q_select: Option<String>,
}

/// A distribution replication points at its repository's latest version.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReplicaDistribution {
    /// The distribution type's `pulp_type`.
    pub pulp_type: String,
    pub name: String,
    pub repository_id: String,
}

/// The last task of a replication: once every other task of its group is done, points each
/// replicated distribution at its repository's latest version, and records the replication.
#[derive(Debug, Serialize, Deserialize)]
pub struct FinalizeReplication {
    pub upstream_pulp_id: String,
    pub distributions: Vec<ReplicaDistribution>,
}

/// Looks up the packages of a repository version in OSV (`crate::vulnerability`).
#[derive(Debug, Serialize, Deserialize)]
pub struct VulnerabilityScan {
    pub repository_id: String,
    pub number: i64,
}

macro_rules! task_args {
    ($($args:ty => $spec:ident),* $(,)?) => {
        $(impl TaskArgs for $args {
            const SPEC: &'static TaskSpec = &$spec;
        })*
    };
}

task_args! {
    GeneralDelete => GENERAL_DELETE,
    RepositoryUpdate => REPOSITORY_UPDATE,
    RepositoryVersionDelete => REPOSITORY_VERSION_DELETE,
    RemoteUpdate => REMOTE_UPDATE,
    AcsUpdate => ACS_UPDATE,
    DistributionCreate => DISTRIBUTION_CREATE,
    DistributionUpdate => DISTRIBUTION_UPDATE,
    UploadCommit => UPLOAD_COMMIT,
    RepositoryModify => REPOSITORY_MODIFY,
    OrphanCleanup => ORPHAN_CLEANUP,
    DomainUpdate => DOMAIN_UPDATE,
    DomainDelete => DOMAIN_DELETE,
    Repair => REPAIR,
    DomainMigrate => DOMAIN_MIGRATE,
    PulpExport => PULP_EXPORT,
    FilesystemExport => FILESYSTEM_EXPORT,
    PulpImport => PULP_IMPORT,
    PulpImportRepository => PULP_IMPORT_REPOSITORY,
    ExporterUpdate => EXPORTER_UPDATE,
    ReclaimSpace => RECLAIM_SPACE,
    TaskPurge => TASK_PURGE,
    Replicate => REPLICATE,
    FinalizeReplication => FINALIZE_REPLICATION,
    VulnerabilityScan => VULNERABILITY_SCAN,
}
