//! The python plugin's descriptor: its resource types and tasks, with the arguments of each
//! task.

use depot_core::access::RoleSpec;
use depot_core::model_role;
use depot_core::plugin::{Plugin, ResourceType};
use depot_core::tasks::args::{ContentCreate, RemoteSync};
use depot_core::tasks::{TaskArgs, TaskSpec};
use serde::{Deserialize, Serialize};

use crate::{DISTRIBUTION_TYPE, PACKAGE_TYPE, REPOSITORY_TYPE};

pub static REPOSITORY: ResourceType = ResourceType::repository(
    REPOSITORY_TYPE,
    "repositories/python/python/",
    "python.pythonrepository",
);
pub static REMOTE: ResourceType = ResourceType::remote(
    REPOSITORY_TYPE,
    "remotes/python/python/",
    "python.pythonremote",
);
pub static PACKAGE: ResourceType = ResourceType::content(
    PACKAGE_TYPE,
    "content/python/packages/",
    "python.pythonpackagecontent",
    "filename",
);
/// A python publication only fixes the version whose packages the index serves.
pub static PUBLICATION: ResourceType = ResourceType::publication(
    (
        REPOSITORY_TYPE,
        "publications/python/pypi/",
        "python.pythonpublication",
    ),
    &DISTRIBUTION,
    false,
);
pub static DISTRIBUTION: ResourceType = ResourceType::distribution(
    (
        DISTRIBUTION_TYPE,
        "distributions/python/pypi/",
        "python.pythondistribution",
    ),
    true,
    Some(&PUBLICATION),
);

pub static SYNC: TaskSpec = TaskSpec::new("python.sync", "task-python-sync");
pub static PUBLISH: TaskSpec = TaskSpec::new("python.publish", "task-publish");
pub static CREATE: TaskSpec = TaskSpec::new("python.content_create", "task-upload");

/// pulp_python's locked roles.
static ROLES: &[&RoleSpec] = &[
    &model_role!("python", "pythonrepository", "creator", ["add"]),
    &model_role!(
        "python",
        "pythonrepository",
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
    &model_role!("python", "pythonrepository", "viewer", ["view"]),
    &model_role!("python", "pythondistribution", "creator", ["add"]),
    &model_role!(
        "python",
        "pythondistribution",
        "owner",
        ["view", "change", "delete", "manage_roles"]
    ),
    &model_role!("python", "pythondistribution", "viewer", ["view"]),
    &RoleSpec {
        name: "python.python_package_uploader",
        description: None,
        model: "python.pythonpackagecontent",
        permissions: &["python.upload_python_packages"],
    },
    &model_role!("python", "pythonremote", "creator", ["add"]),
    &model_role!(
        "python",
        "pythonremote",
        "owner",
        ["view", "change", "delete", "manage_roles"]
    ),
    &model_role!("python", "pythonremote", "viewer", ["view"]),
    &model_role!("python", "pythonpublication", "creator", ["add"]),
    &model_role!(
        "python",
        "pythonpublication",
        "owner",
        ["view", "delete", "manage_roles"]
    ),
    &model_role!("python", "pythonpublication", "viewer", ["view"]),
];

/// The python plugin.
pub static PLUGIN: Plugin = Plugin {
    name: "python",
    api_version: "3.11.0",
    resource_types: &[&REPOSITORY, &REMOTE, &PACKAGE, &PUBLICATION, &DISTRIBUTION],
    roles: ROLES,
    tasks: &[&SYNC, &PUBLISH, &CREATE],
    content_in_use: &[],
    artifact_in_use: &[],
    migrations: &[
        depot_core::migration!(6, "python", "0006_python"),
        depot_core::db::Migration {
            sqlite_rebuilds: &[depot_core::db::Rebuild {
                table: "python_packages",
                edits: &[("sha256 TEXT NOT NULL UNIQUE", "sha256 TEXT NOT NULL")],
            }],
            ..depot_core::migration!(15, "python_domains", "0015_python_domains")
        },
    ],
    autopublish: Some(autopublish),
    exportable: None,
    reclaim_protected: &[],
    replicable: Some(&crate::replica::REPLICABLE),
    scannable: Some(&crate::vulnerabilities::SCANNABLE),
};

/// A python publication only fixes the version its index serves.
fn autopublish(
    core: depot_core::Core,
    v: depot_core::models::version::Version,
) -> depot_core::plugin::PublishFuture {
    Box::pin(async move {
        let python = crate::REPOSITORY_TYPE;
        depot_core::models::publication::create(
            &core,
            python,
            &v.id,
            None,
            false,
            false,
            Vec::new(),
        )
        .await
    })
}

/// Syncs a python repository from its remote index.
#[derive(Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sync(pub RemoteSync);

impl TaskArgs for Sync {
    const SPEC: &'static TaskSpec = &SYNC;
}

/// Publishes a repository version (a python publication only fixes the version served).
#[derive(Debug, Serialize, Deserialize)]
pub struct Publish {
    pub repository_version_id: String,
}

impl TaskArgs for Publish {
    const SPEC: &'static TaskSpec = &PUBLISH;
}

/// Creates a package from an artifact, an upload or a URL; `relative_path` is its filename.
#[derive(Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Create(pub ContentCreate);

impl TaskArgs for Create {
    const SPEC: &'static TaskSpec = &CREATE;
}
