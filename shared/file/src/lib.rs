//! The file plugin: plain files at relative paths, synced from and published as a
//! `PULP_MANIFEST`. This crate holds its resource types, its tasks' arguments and its content
//! rules; the handler crates serve and run them.

pub mod api;
pub mod content;
pub mod export;
pub mod publish;
pub mod replica;

use depot_core::access::RoleSpec;
use depot_core::model_role;
use depot_core::plugin::{Plugin, ResourceType};
use depot_core::tasks::args::ContentCreate;
use depot_core::tasks::{TaskArgs, TaskSpec};
use serde::{Deserialize, Serialize};

/// The `pulp_type` of file repositories, remotes, content, publications and distributions.
pub const FILE_TYPE: &str = "file.file";

pub static REPOSITORY: ResourceType =
    ResourceType::repository(FILE_TYPE, "repositories/file/file/", "file.filerepository");
pub static REMOTE: ResourceType =
    ResourceType::remote(FILE_TYPE, "remotes/file/file/", "file.fileremote");
pub static CONTENT: ResourceType = ResourceType::content(
    FILE_TYPE,
    "content/file/files/",
    "file.filecontent",
    "relative path",
);
pub static PUBLICATION: ResourceType = ResourceType::publication(
    (FILE_TYPE, "publications/file/file/", "file.filepublication"),
    &DISTRIBUTION,
    true,
);
pub static DISTRIBUTION: ResourceType = ResourceType::distribution(
    (
        FILE_TYPE,
        "distributions/file/file/",
        "file.filedistribution",
    ),
    true,
    Some(&PUBLICATION),
);

pub static ACS: ResourceType = ResourceType::acs(
    FILE_TYPE,
    "acs/file/file/",
    "file.filealternatecontentsource",
);

pub static SYNC: TaskSpec = TaskSpec::new("file.sync", "task-sync");
pub static ACS_REFRESH: TaskSpec = TaskSpec::new("file.acs_refresh", "task-sync");
pub static PUBLISH: TaskSpec = TaskSpec::new("file.publish", "task-publish");
pub static CREATE: TaskSpec = TaskSpec::new("file.content_create", "task-upload");

/// The file plugin.
pub static PLUGIN: Plugin = Plugin {
    name: "file",
    api_version: "3.86.0",
    resource_types: &[
        &REPOSITORY,
        &REMOTE,
        &CONTENT,
        &PUBLICATION,
        &DISTRIBUTION,
        &ACS,
    ],
    roles: ROLES,
    tasks: &[&SYNC, &ACS_REFRESH, &PUBLISH, &CREATE],
    content_in_use: &[],
    artifact_in_use: &[],
    // Its tables came with core's first migration.
    migrations: &[],
    autopublish: Some(autopublish),
    exportable: Some(&crate::export::EXPORTABLE),
    reclaim_protected: &[],
    replicable: Some(&crate::replica::REPLICABLE),
    scannable: None,
};

/// Publishes a new version with the repository's manifest name, as `publish/` would.
fn autopublish(
    core: depot_core::Core,
    v: depot_core::models::version::Version,
) -> depot_core::plugin::PublishFuture {
    Box::pin(async move {
        let repo = depot_core::models::repository::get(&core.db, &v.repository_id).await?;
        let manifest = repo.manifest.unwrap_or_else(|| "PULP_MANIFEST".into());
        publish::publish(&core, &v, &manifest, false, None).await
    })
}

/// pulp_file's locked roles.
static ROLES: &[&RoleSpec] = &[
    &model_role!("file", "filerepository", "creator", ["add"]),
    &model_role!(
        "file",
        "filerepository",
        "owner",
        [
            "view",
            "change",
            "delete",
            "modify",
            "sync",
            "manage_roles",
            "repair"
        ]
    ),
    &model_role!("file", "filerepository", "viewer", ["view"]),
    &model_role!("file", "fileremote", "creator", ["add"]),
    &model_role!(
        "file",
        "fileremote",
        "owner",
        ["view", "change", "delete", "manage_roles"]
    ),
    &model_role!("file", "fileremote", "viewer", ["view"]),
    &model_role!("file", "filepublication", "creator", ["add"]),
    &model_role!(
        "file",
        "filepublication",
        "owner",
        ["view", "delete", "manage_roles"]
    ),
    &model_role!("file", "filepublication", "viewer", ["view"]),
    &model_role!("file", "filedistribution", "creator", ["add"]),
    &model_role!(
        "file",
        "filedistribution",
        "owner",
        ["view", "change", "delete", "manage_roles"]
    ),
    &model_role!("file", "filedistribution", "viewer", ["view"]),
    &model_role!("file", "filealternatecontentsource", "creator", ["add"]),
    &model_role!(
        "file",
        "filealternatecontentsource",
        "owner",
        ["view", "change", "delete", "refresh", "manage_roles"]
    ),
    &model_role!("file", "filealternatecontentsource", "viewer", ["view"]),
    &RoleSpec {
        name: "file.file_uploader",
        description: None,
        model: "file.filecontent",
        permissions: &["file.upload_files"],
    },
];

/// Syncs a file repository from its remote's `PULP_MANIFEST`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Sync {
    pub repository_id: String,
    pub remote_id: String,
    pub mirror: bool,
    pub optimize: bool,
}

impl TaskArgs for Sync {
    const SPEC: &'static TaskSpec = &SYNC;
}

/// Reads what one path of a file ACS offers (the PULP_MANIFEST at the path).
#[derive(Debug, Serialize, Deserialize)]
pub struct AcsRefresh {
    pub acs_id: String,
    pub path_id: String,
}

impl TaskArgs for AcsRefresh {
    const SPEC: &'static TaskSpec = &ACS_REFRESH;
}

/// Publishes a repository version with a `PULP_MANIFEST` named `manifest`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Publish {
    pub repository_version_id: String,
    pub manifest: String,
    pub checkpoint: bool,
}

impl TaskArgs for Publish {
    const SPEC: &'static TaskSpec = &PUBLISH;
}

/// Creates file content from an artifact, an upload or a URL.
#[derive(Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Create(pub ContentCreate);

impl TaskArgs for Create {
    const SPEC: &'static TaskSpec = &CREATE;
}
