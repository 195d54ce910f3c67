//! The container plugin's descriptor: its resource types and tasks, with the arguments of each
//! task.

use depot_core::access::RoleSpec;
use depot_core::model_role;
use depot_core::plugin::{Plugin, ResourceType, Role};
use depot_core::tasks::args::RemoteSync;
use depot_core::tasks::{TaskArgs, TaskSpec};
use serde::{Deserialize, Serialize};

use crate::pull_through::PULL_THROUGH_TYPE;
use crate::{BLOB_TYPE, MANIFEST_TYPE, PUSH_REPOSITORY_TYPE, REPOSITORY_TYPE, TAG_TYPE};

pub static REPOSITORY: ResourceType = ResourceType::repository(
    REPOSITORY_TYPE,
    "repositories/container/container/",
    "container.containerrepository",
);
/// Made by the first push to a name; deleted with its distribution.
pub static PUSH_REPOSITORY: ResourceType = ResourceType::owned_repository(
    PUSH_REPOSITORY_TYPE,
    "repositories/container/container-push/",
    "container.containerpushrepository",
);
pub static REMOTE: ResourceType = ResourceType::remote(
    REPOSITORY_TYPE,
    "remotes/container/container/",
    "container.containerremote",
);
pub static PULL_THROUGH_REMOTE: ResourceType = ResourceType::remote(
    PULL_THROUGH_TYPE,
    "remotes/container/pull-through/",
    "container.containerpullthroughremote",
);
/// Container distributions are served by the registry, not the content app.
pub static DISTRIBUTION: ResourceType = ResourceType::distribution(
    (
        crate::DISTRIBUTION_TYPE,
        "distributions/container/container/",
        "container.containerdistribution",
    ),
    false,
    None,
);
pub static PULL_THROUGH_DISTRIBUTION: ResourceType = ResourceType::distribution(
    (
        PULL_THROUGH_TYPE,
        "distributions/container/pull-through/",
        "container.containerpullthroughdistribution",
    ),
    false,
    None,
);
pub static MANIFEST: ResourceType = ResourceType::content(
    MANIFEST_TYPE,
    "content/container/manifests/",
    "container.manifest",
    "digest",
);
pub static BLOB: ResourceType = ResourceType::content(
    BLOB_TYPE,
    "content/container/blobs/",
    "container.blob",
    "digest",
);
pub static TAG: ResourceType = ResourceType::content(
    TAG_TYPE,
    "content/container/tags/",
    "container.tag",
    "tag name",
);
pub static NAMESPACE: ResourceType = ResourceType::new(
    "container.containernamespace",
    "pulp_container/namespaces/",
    "container.containernamespace",
    Role::Other {
        table: "container_namespaces",
    },
);

pub static ADD: TaskSpec = TaskSpec::new("container.add", "task-container-add");
pub static SYNC: TaskSpec = TaskSpec::new("container.sync", "task-container-sync");
pub static CACHE: TaskSpec = TaskSpec::new("container.cache", "task-container-cache");
pub static REMOVE: TaskSpec = TaskSpec::new("container.remove", "task-container-remove");
pub static NAMESPACE_DELETE: TaskSpec = TaskSpec::new("namespace.delete", "api-namespaces");

/// pulp_container's locked roles.
static ROLES: &[&RoleSpec] = &[
    &model_role!("container", "containerremote", "creator", ["add"]),
    &model_role!(
        "container",
        "containerremote",
        "owner",
        ["view", "change", "delete", "manage_roles"]
    ),
    &model_role!("container", "containerremote", "viewer", ["view"]),
    &model_role!(
        "container",
        "containerpullthroughremote",
        "creator",
        ["add"]
    ),
    &model_role!(
        "container",
        "containerpullthroughremote",
        "owner",
        ["view", "change", "delete", "manage_roles"]
    ),
    &model_role!(
        "container",
        "containerpullthroughremote",
        "viewer",
        ["view"]
    ),
    &model_role!("container", "containerrepository", "creator", ["add"]),
    &RoleSpec {
        name: "container.containerrepository_owner",
        description: None,
        model: "container.containerrepository",
        permissions: &[
            "container.view_containerrepository",
            "container.change_containerrepository",
            "container.delete_containerrepository",
            "container.delete_containerrepository_versions",
            "container.sync_containerrepository",
            "container.modify_content_containerrepository",
            "container.build_image_containerrepository",
            "container.manage_roles_containerrepository",
        ],
    },
    &RoleSpec {
        name: "container.containerrepository_content_manager",
        description: None,
        model: "container.containerrepository",
        permissions: &[
            "container.view_containerrepository",
            "container.delete_containerrepository_versions",
            "container.sync_containerrepository",
            "container.modify_content_containerrepository",
            "container.build_image_containerrepository",
        ],
    },
    &model_role!("container", "containerrepository", "viewer", ["view"]),
    &model_role!("container", "containerdistribution", "creator", ["add"]),
    &model_role!(
        "container",
        "containerdistribution",
        "owner",
        ["view", "pull", "push", "delete", "change", "manage_roles"]
    ),
    &model_role!(
        "container",
        "containerdistribution",
        "collaborator",
        ["view", "pull", "push"]
    ),
    &model_role!(
        "container",
        "containerdistribution",
        "consumer",
        ["view", "pull"]
    ),
    &model_role!(
        "container",
        "containerpullthroughdistribution",
        "creator",
        ["add"]
    ),
    &RoleSpec {
        name: "container.containerpullthroughdistribution_owner",
        description: None,
        model: "container.containerpullthroughdistribution",
        permissions: &[
            "container.view_containerpullthroughdistribution",
            "container.delete_containerpullthroughdistribution",
            "container.change_containerpullthroughdistribution",
            "container.manage_roles_containerpullthroughdistribution",
            "container.pull_new_containerdistribution",
        ],
    },
    &RoleSpec {
        name: "container.containerpullthroughdistribution_collaborator",
        description: None,
        model: "container.containerpullthroughdistribution",
        permissions: &[
            "container.view_containerpullthroughdistribution",
            "container.pull_new_containerdistribution",
        ],
    },
    &RoleSpec {
        name: "container.containerpullthroughdistribution_consumer",
        description: None,
        model: "container.containerpullthroughdistribution",
        permissions: &[
            "container.view_containerpullthroughdistribution",
            "container.pull_new_containerdistribution",
        ],
    },
    &model_role!("container", "containernamespace", "creator", ["add"]),
    &RoleSpec {
        name: "container.containernamespace_owner",
        description: None,
        model: "container.containernamespace",
        permissions: &[
            "container.view_containernamespace",
            "container.delete_containernamespace",
            "container.namespace_add_containerdistribution",
            "container.namespace_delete_containerdistribution",
            "container.namespace_view_containerdistribution",
            "container.namespace_pull_containerdistribution",
            "container.namespace_push_containerdistribution",
            "container.namespace_change_containerdistribution",
            "container.namespace_view_containerpushrepository",
            "container.namespace_view_containerrepository",
            "container.namespace_modify_content_containerpushrepository",
            "container.namespace_modify_content_containerrepository",
            "container.namespace_change_containerpushrepository",
            "container.namespace_change_containerrepository",
            "container.manage_roles_containernamespace",
        ],
    },
    &RoleSpec {
        name: "container.containernamespace_collaborator",
        description: None,
        model: "container.containernamespace",
        permissions: &[
            "container.view_containernamespace",
            "container.namespace_add_containerdistribution",
            "container.namespace_delete_containerdistribution",
            "container.namespace_view_containerdistribution",
            "container.namespace_pull_containerdistribution",
            "container.namespace_push_containerdistribution",
            "container.namespace_change_containerdistribution",
            "container.namespace_view_containerpushrepository",
            "container.namespace_view_containerrepository",
            "container.namespace_modify_content_containerpushrepository",
            "container.namespace_modify_content_containerrepository",
            "container.namespace_change_containerpushrepository",
            "container.namespace_change_containerrepository",
        ],
    },
    &RoleSpec {
        name: "container.containernamespace_consumer",
        description: None,
        model: "container.containernamespace",
        permissions: &[
            "container.view_containernamespace",
            "container.namespace_view_containerdistribution",
            "container.namespace_pull_containerdistribution",
            "container.namespace_view_containerpushrepository",
            "container.namespace_view_containerrepository",
        ],
    },
];

/// The container plugin.
pub static PLUGIN: Plugin = Plugin {
    name: "container",
    api_version: "2.28.0",
    resource_types: &[
        &REPOSITORY,
        &PUSH_REPOSITORY,
        &REMOTE,
        &PULL_THROUGH_REMOTE,
        &DISTRIBUTION,
        &PULL_THROUGH_DISTRIBUTION,
        &MANIFEST,
        &BLOB,
        &TAG,
        &NAMESPACE,
    ],
    roles: ROLES,
    tasks: &[&ADD, &SYNC, &CACHE, &REMOVE, &NAMESPACE_DELETE],
    // Pushed content waits in `container_pending` until its tag lands; a blob is needed by the
    // manifests that name it, a manifest by the indexes that list it and the tags on it. Such
    // units go only once their users went, so the cleanup runs in passes.
    content_in_use: &[
        "EXISTS (SELECT 1 FROM container_pending p WHERE p.content_id = c.id)",
        "EXISTS (SELECT 1 FROM container_manifest_blobs mb WHERE mb.blob_id = c.id)",
        "EXISTS (SELECT 1 FROM container_manifests m WHERE m.config_blob_id = c.id)",
        "EXISTS (SELECT 1 FROM container_listed_manifests l WHERE l.manifest_id = c.id)",
        "EXISTS (SELECT 1 FROM container_tags t WHERE t.manifest_id = c.id)",
    ],
    artifact_in_use: &["EXISTS (SELECT 1 FROM container_uploads u WHERE u.artifact_id = a.id)"],
    migrations: &[
        depot_core::migration!(4, "container", "0004_container"),
        depot_core::migration!(5, "container_rest", "0005_container_rest"),
        depot_core::db::Migration {
            sqlite_rebuilds: &[
                depot_core::db::Rebuild {
                    table: "container_blobs",
                    edits: &[("digest TEXT NOT NULL UNIQUE", "digest TEXT NOT NULL")],
                },
                depot_core::db::Rebuild {
                    table: "container_manifests",
                    edits: &[("digest TEXT NOT NULL UNIQUE", "digest TEXT NOT NULL")],
                },
                depot_core::db::Rebuild {
                    table: "container_namespaces",
                    edits: &[("name TEXT NOT NULL UNIQUE", "name TEXT NOT NULL")],
                },
            ],
            ..depot_core::migration!(16, "container_domains", "0016_container_domains")
        },
    ],
    autopublish: None,
    exportable: None,
    // The registry serves manifests and blobs from stored files only.
    reclaim_protected: &[MANIFEST.pulp_type, BLOB.pulp_type],
    replicable: Some(&crate::replica::REPLICABLE),
    scannable: None,
};

/// Adds a tag (on `manifest_id`), or content units, with everything they need.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Add {
    pub repository_id: String,
    #[serde(default)]
    pub tag: Option<String>,
    #[serde(default)]
    pub manifest_id: Option<String>,
    #[serde(default)]
    pub content_ids: Vec<String>,
}

impl TaskArgs for Add {
    const SPEC: &'static TaskSpec = &ADD;
}

/// Syncs a container repository from its remote registry.
#[derive(Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sync(pub RemoteSync);

impl TaskArgs for Sync {
    const SPEC: &'static TaskSpec = &SYNC;
}

/// Stores an image a pull-through cache served from upstream.
#[derive(Debug, Serialize, Deserialize)]
pub struct Cache {
    pub repository_id: String,
    pub remote_id: String,
    /// A tag or a digest.
    pub reference: String,
}

impl TaskArgs for Cache {
    const SPEC: &'static TaskSpec = &CACHE;
}

/// Removes manifests (with their tags) or blobs from a repository.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Remove {
    pub repository_id: String,
    pub content_ids: Vec<String>,
    /// Remove everything (`content_units: ["*"]`).
    #[serde(default)]
    pub all: bool,
    /// Also remove what the removed manifests need, unless something else kept needs it.
    #[serde(default)]
    pub recursive: bool,
}

impl TaskArgs for Remove {
    const SPEC: &'static TaskSpec = &REMOVE;
}

/// Deletes a namespace with its distributions and their push repositories.
#[derive(Debug, Serialize, Deserialize)]
pub struct NamespaceDelete {
    pub id: String,
}

impl TaskArgs for NamespaceDelete {
    const SPEC: &'static TaskSpec = &NAMESPACE_DELETE;
}
