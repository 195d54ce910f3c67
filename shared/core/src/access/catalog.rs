//! The permissions there are and the locked roles that bundle them, with Pulp's names: core's
//! here, each plugin's in its descriptor ([`crate::plugin::Plugin::roles`]).

use std::collections::HashMap;
use std::sync::OnceLock;

/// A locked role: defined in code, kept in the roles table at start-up, never edited by
/// clients.
#[derive(Debug)]
pub struct RoleSpec {
    pub name: &'static str,
    pub description: Option<&'static str>,
    /// The model (`<app>.<model>`, as in PRNs) its permissions are on.
    pub model: &'static str,
    pub permissions: &'static [&'static str],
}

/// A locked role on `<app>.<model>` named `<app>.<model>_<suffix>`, made of the permissions
/// `<app>.<action>_<model>` for each action (Pulp's usual `creator`/`owner`/`viewer` shape).
#[macro_export]
macro_rules! model_role {
    ($app:literal, $model:literal, $suffix:literal, [$($action:literal),* $(,)?]) => {
        $crate::access::RoleSpec {
            name: concat!($app, ".", $model, "_", $suffix),
            description: None,
            model: concat!($app, ".", $model),
            permissions: &[$(concat!($app, ".", $action, "_", $model)),*],
        }
    };
}

/// Core's locked roles, as pulpcore defines them (for the types Depot has and those it will).
pub static CORE_ROLES: &[&RoleSpec] = &[
    &RoleSpec {
        name: "core.task_owner",
        description: Some("Allow all actions on a task."),
        model: "core.task",
        permissions: &[
            "core.view_task",
            "core.view_task_profile_artifacts",
            "core.change_task",
            "core.delete_task",
            "core.manage_roles_task",
        ],
    },
    &model_role!("core", "task", "viewer", ["view"]),
    // Marks who dispatched a task, on the task itself.
    &model_role!("core", "task", "user_dispatcher", ["add"]),
    &RoleSpec {
        name: "core.taskschedule_owner",
        description: Some("Allow all actions on a taskschedule."),
        model: "core.taskschedule",
        permissions: &["core.view_taskschedule", "core.manage_roles_taskschedule"],
    },
    &model_role!("core", "taskschedule", "viewer", ["view"]),
    &model_role!("core", "upload", "creator", ["add"]),
    &model_role!(
        "core",
        "upload",
        "owner",
        ["view", "change", "delete", "manage_roles"]
    ),
    &model_role!("core", "upload", "viewer", ["view"]),
    &model_role!("core", "group", "creator", ["add"]),
    &model_role!(
        "core",
        "group",
        "owner",
        ["view", "change", "delete", "manage_roles"]
    ),
    &model_role!("core", "group", "viewer", ["view"]),
    &RoleSpec {
        name: "core.content_labeler",
        description: None,
        model: "core.content",
        permissions: &["core.manage_content_labels"],
    },
    &model_role!("core", "domain", "creator", ["add"]),
    &model_role!(
        "core",
        "domain",
        "owner",
        ["view", "change", "delete", "manage_roles"]
    ),
    &model_role!("core", "domain", "viewer", ["view"]),
    &model_role!("core", "rbaccontentguard", "creator", ["add"]),
    &model_role!(
        "core",
        "rbaccontentguard",
        "owner",
        ["view", "change", "delete", "manage_roles"]
    ),
    &model_role!("core", "rbaccontentguard", "viewer", ["view"]),
    &model_role!("core", "rbaccontentguard", "downloader", ["download"]),
    &model_role!("core", "contentredirectcontentguard", "creator", ["add"]),
    &model_role!(
        "core",
        "contentredirectcontentguard",
        "owner",
        ["view", "change", "delete", "manage_roles"]
    ),
    &model_role!("core", "contentredirectcontentguard", "viewer", ["view"]),
    &model_role!("core", "headercontentguard", "creator", ["add"]),
    &model_role!(
        "core",
        "headercontentguard",
        "owner",
        ["view", "change", "delete", "manage_roles"]
    ),
    &model_role!("core", "headercontentguard", "viewer", ["view"]),
    &model_role!("core", "compositecontentguard", "creator", ["add"]),
    &model_role!(
        "core",
        "compositecontentguard",
        "owner",
        ["view", "change", "delete", "manage_roles"]
    ),
    &model_role!("core", "compositecontentguard", "viewer", ["view"]),
    &model_role!("core", "envvarheadercontentguard", "creator", ["add"]),
    &model_role!(
        "core",
        "envvarheadercontentguard",
        "owner",
        ["view", "change", "delete", "manage_roles"]
    ),
    &model_role!("core", "envvarheadercontentguard", "viewer", ["view"]),
    &model_role!("certguard", "x509certguard", "creator", ["add"]),
    &model_role!(
        "certguard",
        "x509certguard",
        "owner",
        ["view", "change", "delete", "manage_roles"]
    ),
    &model_role!("certguard", "x509certguard", "viewer", ["view"]),
    &model_role!("core", "upstreampulp", "creator", ["add"]),
    &model_role!(
        "core",
        "upstreampulp",
        "owner",
        ["view", "change", "delete", "replicate", "manage_roles"]
    ),
    &model_role!("core", "upstreampulp", "viewer", ["view"]),
    &model_role!("core", "upstreampulp", "user", ["view", "replicate"]),
];

/// Every locked role: core's, the installed plugins', and the domain roles.
pub fn locked_roles() -> impl Iterator<Item = &'static RoleSpec> {
    declared_roles().chain(domain_roles())
}

/// The roles written out in code: core's and the installed plugins'.
fn declared_roles() -> impl Iterator<Item = &'static RoleSpec> {
    CORE_ROLES.iter().copied().chain(
        crate::plugin::installed()
            .iter()
            .flat_map(|p| p.roles.iter().copied()),
    )
}

/// The role an organisation's group holds on its domain, as pulp-service names it.
pub const DOMAIN_ADMIN: &str = "service.domain_admin";

/// pulp-service's roles for a domain: every permission (`service.domain_admin`), or every
/// `view` one (`service.domain_viewer`), on what lives in domains. Made from the catalog, so
/// a plugin's types and permissions are in them without being listed.
fn domain_roles() -> impl Iterator<Item = &'static RoleSpec> {
    static ROLES: OnceLock<Vec<RoleSpec>> = OnceLock::new();
    ROLES
        .get_or_init(|| {
            let mut all: Vec<&'static str> = catalog()
                .iter()
                .filter(|(_, model)| {
                    crate::plugin::from_prn_model(model).is_some_and(|k| k.in_domains())
                })
                .map(|(p, _)| p.as_str())
                .collect();
            all.sort();
            let views: Vec<&'static str> = all
                .iter()
                .copied()
                .filter(|p| p.contains(".view_"))
                .collect();
            let leak = |v: Vec<&'static str>| -> &'static [&'static str] { Vec::leak(v) };
            vec![
                RoleSpec {
                    name: DOMAIN_ADMIN,
                    description: Some("Allow all actions on everything in a domain."),
                    model: "core.domain",
                    permissions: leak(all),
                },
                RoleSpec {
                    name: "service.domain_viewer",
                    description: Some("Allow viewing everything in a domain."),
                    model: "core.domain",
                    permissions: leak(views),
                },
            ]
        })
        .iter()
}

/// Every permission on `model`, sorted (what a superuser holds on one of its objects).
pub fn permissions_on(model: &str) -> Vec<String> {
    let mut out: Vec<String> = catalog()
        .iter()
        .filter(|(_, m)| **m == model)
        .map(|(p, _)| p.clone())
        .collect();
    out.sort();
    out
}

/// The model permission `name` (`<app>.<codename>`) is on, if it exists: Django's four for
/// every model with an href or a locked role, and every permission a locked role names.
pub fn permission_model(name: &str) -> Option<&'static str> {
    catalog().get(name).copied()
}

fn catalog() -> &'static HashMap<String, &'static str> {
    static CATALOG: OnceLock<HashMap<String, &'static str>> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let mut all = HashMap::new();
        let models = crate::plugin::resource_types()
            .map(|k| k.prn_model)
            .chain(declared_roles().map(|r| r.model));
        for model in models {
            let (app, short) = model.split_once('.').unwrap_or(("", model));
            for action in ["add", "view", "change", "delete"] {
                all.insert(format!("{app}.{action}_{short}"), model);
            }
        }
        for role in declared_roles() {
            for p in role.permissions {
                all.insert((*p).to_string(), role.model);
            }
        }
        all
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_roles_read_as_pulp_names_them() {
        let owner = CORE_ROLES
            .iter()
            .find(|r| r.name == "core.upload_owner")
            .unwrap();
        assert_eq!(owner.model, "core.upload");
        assert_eq!(
            owner.permissions,
            [
                "core.view_upload",
                "core.change_upload",
                "core.delete_upload",
                "core.manage_roles_upload"
            ]
        );
    }

    #[test]
    fn every_locked_permission_is_on_its_roles_model() {
        for role in CORE_ROLES {
            let (app, model) = role.model.split_once('.').unwrap();
            assert!(role.name.starts_with(&format!("{app}.")), "{}", role.name);
            for p in role.permissions {
                assert!(p.starts_with(&format!("{app}.")), "{p}");
                assert!(p.contains(model), "{p} is not on {model}");
                assert_eq!(permission_model(p), Some(role.model));
            }
        }
        assert_eq!(permission_model("core.add_task"), Some("core.task"));
        assert_eq!(permission_model("core.fly_task"), None);
    }
}
