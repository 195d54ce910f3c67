//! Pulp's default access policies, one per viewset, named as Pulp names them
//! (`repositories/file/file`, `repositories/file/file/versions`, `tasks`, ...). The families'
//! are written once and filled in with each type's permissions, as each Pulp plugin writes
//! the same statements for its own types.

use serde_json::{Value, json};

use super::policy::Policy;
use crate::plugin::{self, Family, Kind};

/// A type's permission for `action`: `<app>.<action>_<model>`.
pub fn perm(kind: Kind, action: &str) -> String {
    let (app, model) = kind
        .prn_model
        .split_once('.')
        .unwrap_or(("", kind.prn_model));
    format!("{app}.{action}_{model}")
}

/// A type's viewset name: its collection without the trailing slash.
pub fn viewset(kind: Kind) -> &'static str {
    kind.collection.trim_end_matches('/')
}

/// The types of `family` in `kind`'s plugin.
fn siblings(kind: Kind, family: Family) -> impl Iterator<Item = Kind> {
    let app = kind.prn_model.split_once('.').map_or("", |(a, _)| a);
    let prefix = format!("{app}.");
    plugin::of_family(family).filter(move |k| k.prn_model.starts_with(&prefix))
}

/// Permission `action` on each type of `family` in `kind`'s plugin, comma-joined (a condition
/// holds with any of them).
fn sibling_perms(kind: Kind, family: Family, action: &str) -> String {
    siblings(kind, family)
        .map(|k| perm(k, action))
        .collect::<Vec<_>>()
        .join(",")
}

fn repository_views(kind: Kind) -> String {
    sibling_perms(kind, Family::Repository, "view")
}

fn allow(actions: &[&str], conditions: Vec<String>) -> Value {
    let mut s = json!({"action": actions, "principal": "authenticated", "effect": "allow"});
    if !conditions.is_empty() {
        s["condition"] = json!(conditions);
    }
    s
}

fn owner_hook(kind: Kind) -> Vec<Value> {
    vec![json!({
        "function": "add_roles_for_object_creator",
        "parameters": {"roles": format!("{}_owner", kind.prn_model)},
    })]
}

fn scoped(statements: Vec<Value>, creation_hooks: Vec<Value>) -> Policy {
    Policy {
        statements,
        creation_hooks,
        queryset_scoping: Some(json!({"function": "scope_queryset"})),
    }
}

fn any(f: &str, p: &str) -> String {
    format!("{f}:{p}")
}

const MODEL_OR_OBJ: &str = "has_model_or_domain_or_obj_perms";
const MODEL: &str = "has_model_or_domain_perms";

/// The role actions on an object of `kind`: its `manage_roles` permission.
fn roles_statement(kind: Kind) -> Value {
    allow(
        &["list_roles", "add_role", "remove_role"],
        vec![any(MODEL_OR_OBJ, &perm(kind, "manage_roles"))],
    )
}

/// Deleting an object of `kind`: its `delete` and `view` permissions.
fn destroy_statement(kind: Kind) -> Value {
    allow(
        &["destroy"],
        vec![
            any(MODEL_OR_OBJ, &perm(kind, "delete")),
            any(MODEL_OR_OBJ, &perm(kind, "view")),
        ],
    )
}

fn repository(kind: Kind) -> Policy {
    let p = |a: &str| perm(kind, a);
    let remote = any(
        "has_remote_param_model_or_domain_or_obj_perms",
        &sibling_perms(kind, Family::Remote, "view"),
    );
    scoped(
        vec![
            allow(&["list", "my_permissions"], vec![]),
            allow(&["create"], vec![any(MODEL, &p("add")), remote.clone()]),
            allow(&["retrieve"], vec![any(MODEL_OR_OBJ, &p("view"))]),
            destroy_statement(kind),
            allow(
                &["update", "partial_update", "set_label", "unset_label"],
                vec![
                    any(MODEL_OR_OBJ, &p("change")),
                    any(MODEL_OR_OBJ, &p("view")),
                    remote.clone(),
                ],
            ),
            allow(
                &["sync"],
                vec![
                    any(MODEL_OR_OBJ, &p("sync")),
                    remote,
                    any(MODEL_OR_OBJ, &p("view")),
                ],
            ),
            allow(
                &["modify"],
                vec![
                    any(MODEL_OR_OBJ, &p("modify")),
                    any(MODEL_OR_OBJ, &p("view")),
                ],
            ),
            roles_statement(kind),
        ],
        owner_hook(kind),
    )
}

fn versions(kind: Kind) -> Policy {
    let p = |a: &str| {
        any(
            "has_repository_model_or_domain_or_obj_perms",
            &perm(kind, a),
        )
    };
    Policy {
        statements: vec![
            allow(&["list", "retrieve"], vec![p("view")]),
            allow(&["destroy"], vec![p("delete"), p("view")]),
            allow(&["repair"], vec![p("repair"), p("view")]),
            allow(&["scan"], vec![p("view")]),
        ],
        creation_hooks: vec![],
        queryset_scoping: None,
    }
}

fn remote(kind: Kind) -> Policy {
    let p = |a: &str| perm(kind, a);
    scoped(
        vec![
            allow(&["list", "my_permissions"], vec![]),
            allow(&["create"], vec![any(MODEL, &p("add"))]),
            allow(&["retrieve"], vec![any(MODEL_OR_OBJ, &p("view"))]),
            allow(
                &["update", "partial_update", "set_label", "unset_label"],
                vec![
                    any(MODEL_OR_OBJ, &p("change")),
                    any(MODEL_OR_OBJ, &p("view")),
                ],
            ),
            destroy_statement(kind),
            roles_statement(kind),
        ],
        owner_hook(kind),
    )
}

/// pulp_file's policy for its ACS: the remote it names must be visible to the caller.
fn acs(kind: Kind) -> Policy {
    let p = |a: &str| perm(kind, a);
    let remote = any(
        "has_remote_param_model_or_domain_or_obj_perms",
        &sibling_perms(kind, Family::Remote, "view"),
    );
    scoped(
        vec![
            allow(&["list", "my_permissions"], vec![]),
            allow(&["create"], vec![any(MODEL, &p("add")), remote.clone()]),
            allow(&["retrieve"], vec![any(MODEL_OR_OBJ, &p("view"))]),
            allow(
                &["update", "partial_update"],
                vec![
                    any(MODEL_OR_OBJ, &p("change")),
                    any(MODEL_OR_OBJ, &p("view")),
                    remote,
                ],
            ),
            destroy_statement(kind),
            allow(
                &["refresh"],
                vec![
                    any(MODEL_OR_OBJ, &p("refresh")),
                    any(MODEL_OR_OBJ, &p("view")),
                ],
            ),
            roles_statement(kind),
        ],
        owner_hook(kind),
    )
}

fn publication(kind: Kind) -> Policy {
    let p = |a: &str| perm(kind, a);
    let repo = any(
        "has_repo_or_repo_ver_param_model_or_domain_or_obj_perms",
        &repository_views(kind),
    );
    scoped(
        vec![
            allow(&["list", "my_permissions"], vec![]),
            allow(&["create"], vec![any(MODEL, &p("add")), repo]),
            allow(&["retrieve"], vec![any(MODEL_OR_OBJ, &p("view"))]),
            destroy_statement(kind),
            roles_statement(kind),
        ],
        owner_hook(kind),
    )
}

fn distribution(kind: Kind) -> Policy {
    let p = |a: &str| perm(kind, a);
    let mut params = vec![any(
        "has_repo_or_repo_ver_param_model_or_domain_or_obj_perms",
        &repository_views(kind),
    )];
    let publications = sibling_perms(kind, Family::Publication, "view");
    if !publications.is_empty() {
        params.push(any(
            "has_publication_param_model_or_domain_or_obj_perms",
            &publications,
        ));
    }
    let mut create = vec![any(MODEL, &p("add"))];
    create.extend(params.clone());
    let mut update = vec![
        any(MODEL_OR_OBJ, &p("change")),
        any(MODEL_OR_OBJ, &p("view")),
    ];
    update.extend(params);
    scoped(
        vec![
            allow(&["list", "my_permissions"], vec![]),
            allow(&["create"], create),
            allow(&["retrieve"], vec![any(MODEL_OR_OBJ, &p("view"))]),
            allow(
                &["update", "partial_update", "set_label", "unset_label"],
                update,
            ),
            destroy_statement(kind),
            roles_statement(kind),
        ],
        owner_hook(kind),
    )
}

fn content(kind: Kind) -> Policy {
    let modify = sibling_perms(kind, Family::Repository, "modify");
    let app = kind.prn_model.split_once('.').map_or("", |(app, _)| app);
    scoped(
        vec![
            allow(&["list", "retrieve"], vec![]),
            allow(
                &["create"],
                vec![
                    any("has_required_repo_perms_on_upload", &modify),
                    any("has_required_repo_perms_on_upload", &repository_views(kind)),
                    any(
                        "has_upload_param_model_or_domain_or_obj_perms",
                        "core.change_upload",
                    ),
                ],
            ),
            allow(
                &["set_label", "unset_label"],
                vec![any(MODEL, "core.manage_content_labels")],
            ),
            // Storing a file as content at once, outside any repository (`upload/`).
            allow(
                &["upload"],
                vec![any(MODEL, &format!("{app}.upload_files"))],
            ),
        ],
        vec![],
    )
}

fn tasks() -> Policy {
    let view = "core.view_task";
    scoped(
        vec![
            allow(&["list"], vec![]),
            allow(
                &["retrieve", "my_permissions"],
                vec![any(MODEL_OR_OBJ, view)],
            ),
            allow(
                &["profile_artifacts"],
                vec![any(MODEL_OR_OBJ, "core.view_task_profile_artifacts")],
            ),
            allow(&["destroy"], vec![any(MODEL_OR_OBJ, "core.delete_task")]),
            allow(
                &["update", "partial_update"],
                vec![any(MODEL_OR_OBJ, "core.change_task")],
            ),
            allow(&["purge"], vec![]),
            allow(
                &["list_roles", "add_role", "remove_role"],
                vec![any(MODEL_OR_OBJ, "core.manage_roles_task")],
            ),
        ],
        vec![json!({
            "function": "add_roles_for_object_creator",
            "parameters": {"roles": "core.task_owner"},
        })],
    )
}

fn uploads() -> Policy {
    let p = |a: &str| vec![any(MODEL_OR_OBJ, &format!("core.{a}_upload"))];
    scoped(
        vec![
            allow(&["list"], vec![]),
            allow(&["create"], vec![any(MODEL, "core.add_upload")]),
            allow(&["retrieve", "my_permissions"], p("view")),
            allow(&["update", "partial_update", "commit"], p("change")),
            allow(&["destroy"], p("delete")),
            allow(
                &["list_roles", "add_role", "remove_role"],
                p("manage_roles"),
            ),
        ],
        vec![json!({
            "function": "add_roles_for_object_creator",
            "parameters": {"roles": "core.upload_owner"},
        })],
    )
}

/// A content guard type's policy; RBAC guards add `download` (the permit of the guard itself)
/// and give their creator the downloader role too.
fn content_guard(kind: Kind) -> Policy {
    let p = |a: &str| perm(kind, a);
    let mut statements = vec![
        allow(&["list"], vec![]),
        allow(&["create"], vec![any(MODEL, &p("add"))]),
        allow(
            &["retrieve", "my_permissions"],
            vec![any(MODEL_OR_OBJ, &p("view"))],
        ),
        allow(
            &["update", "partial_update"],
            vec![any(MODEL_OR_OBJ, &p("change"))],
        ),
        allow(&["destroy"], vec![any(MODEL_OR_OBJ, &p("delete"))]),
        allow(
            &["list_roles", "add_role", "remove_role"],
            vec![any(MODEL_OR_OBJ, &p("manage_roles"))],
        ),
    ];
    let mut roles = vec![format!("{}_owner", kind.prn_model)];
    if kind == &crate::hrefs::RBAC_GUARD {
        statements.push(allow(
            &["download"],
            vec![any(MODEL_OR_OBJ, &p("download"))],
        ));
        roles.push(format!("{}_downloader", kind.prn_model));
    }
    scoped(
        statements,
        vec![json!({"function": "add_roles_for_object_creator", "parameters": {"roles": roles}})],
    )
}

fn groups() -> Policy {
    let model_or_obj = |p: &str| vec![any("has_model_or_obj_perms", p)];
    scoped(
        vec![
            allow(&["list"], vec![]),
            allow(&["create"], vec![any("has_model_perms", "core.add_group")]),
            allow(
                &["retrieve", "my_permissions"],
                model_or_obj("core.view_group"),
            ),
            allow(
                &["update", "partial_update"],
                model_or_obj("core.change_group"),
            ),
            allow(&["destroy"], model_or_obj("core.delete_group")),
            allow(
                &["list_roles", "add_role", "remove_role"],
                model_or_obj("core.manage_roles_group"),
            ),
        ],
        vec![json!({
            "function": "add_roles_for_object_creator",
            "parameters": {"roles": "core.group_owner"},
        })],
    )
}

fn domains() -> Policy {
    let model_or_obj = |p: &str| vec![any("has_model_or_obj_perms", p)];
    scoped(
        vec![
            allow(&["list"], vec![]),
            allow(&["create"], vec![any("has_model_perms", "core.add_domain")]),
            allow(
                &["retrieve", "my_permissions"],
                model_or_obj("core.view_domain"),
            ),
            allow(
                &[
                    "update",
                    "partial_update",
                    "migrate",
                    "set_label",
                    "unset_label",
                ],
                model_or_obj("core.change_domain"),
            ),
            allow(&["destroy"], model_or_obj("core.delete_domain")),
            allow(
                &["list_roles", "add_role", "remove_role"],
                model_or_obj("core.manage_roles_domain"),
            ),
        ],
        vec![json!({
            "function": "add_roles_for_object_creator",
            "parameters": {"roles": ["core.domain_owner"]},
        })],
    )
}

fn group_users() -> Policy {
    let group = |p: &str| vec![any("has_group_model_or_obj_perms", p)];
    Policy {
        statements: vec![
            allow(&["list"], group("core.view_group")),
            allow(&["create"], group("core.change_group")),
            allow(&["destroy"], group("core.change_group")),
        ],
        creation_hooks: vec![],
        queryset_scoping: None,
    }
}

/// Upstream Pulps: anyone may list (and sees what they may view), replicating is a permission
/// of its own.
fn upstream_pulps() -> Policy {
    let kind = &crate::hrefs::UPSTREAM_PULP;
    let p = |a: &str| perm(kind, a);
    scoped(
        vec![
            allow(&["list", "my_permissions"], vec![]),
            allow(&["create"], vec![any(MODEL, &p("add"))]),
            allow(&["retrieve"], vec![any(MODEL_OR_OBJ, &p("view"))]),
            allow(&["destroy"], vec![any(MODEL_OR_OBJ, &p("delete"))]),
            allow(
                &["update", "partial_update"],
                vec![any(MODEL_OR_OBJ, &p("change"))],
            ),
            allow(&["replicate"], vec![any(MODEL_OR_OBJ, &p("replicate"))]),
            roles_statement(kind),
        ],
        owner_hook(kind),
    )
}

/// Artifacts: administrators store, list and read them; no one deletes one (orphan cleanup
/// does), unless an administrator customizes the policy to allow `destroy`, as in Pulp.
fn artifacts() -> Policy {
    Policy {
        statements: vec![json!({"action": ["create", "list", "retrieve"],
                                "principal": "admin", "effect": "allow"})],
        creation_hooks: vec![],
        queryset_scoping: None,
    }
}

/// Every viewset with a default policy, and that policy.
pub fn all() -> Vec<(String, Policy)> {
    let mut out = vec![
        ("artifacts".to_string(), artifacts()),
        ("tasks".to_string(), tasks()),
        ("groups".to_string(), groups()),
        ("groups/users".to_string(), group_users()),
        ("domains".to_string(), domains()),
        ("uploads".to_string(), uploads()),
        ("upstream-pulps".to_string(), upstream_pulps()),
    ];
    for kind in plugin::resource_types() {
        let name = viewset(kind).to_string();
        match kind.family() {
            Family::Repository => {
                out.push((format!("{name}/versions"), versions(kind)));
                out.push((name, repository(kind)));
            }
            Family::Remote => out.push((name, remote(kind))),
            Family::Publication => out.push((name, publication(kind))),
            Family::Distribution => out.push((name, distribution(kind))),
            Family::Content => out.push((name, content(kind))),
            Family::ContentGuard => out.push((name, content_guard(kind))),
            Family::Acs => out.push((name, acs(kind))),
            Family::Other => {}
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The default policy of viewset `name` (built once).
pub fn of(name: &str) -> Option<&'static Policy> {
    static ALL: std::sync::OnceLock<std::collections::HashMap<String, Policy>> =
        std::sync::OnceLock::new();
    ALL.get_or_init(|| all().into_iter().collect()).get(name)
}
