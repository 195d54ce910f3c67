//! Who may do what, as Pulp's RBAC has it: permissions (`<app>.<codename>`, each on one model),
//! roles (named sets of permissions; the locked ones are defined in code by core and the
//! plugins), and roles assigned to users and groups for a whole model or for one object.

mod cache;
mod catalog;
pub mod defaults;
mod grants;
pub mod policy;

pub use cache::{GrantsCache, Held, PolicyCache};
pub use catalog::{
    CORE_ROLES, DOMAIN_ADMIN, RoleSpec, locked_roles, permission_model, permissions_on,
};
pub use grants::{Grants, Object};
pub use policy::{Check, Policy, Principal};

use serde_json::Value;

use crate::models::role_assignment::{self, Holder};
use crate::{Core, CoreResult};

/// Runs the creation hooks of the policy of `object`'s type for it, just made by user
/// `user_id`: Pulp's `add_roles_for_object_creator`, `add_roles_for_users` and
/// `add_roles_for_groups`.
pub async fn on_created(core: &Core, user_id: &str, object: &Object) -> CoreResult<()> {
    let db = &core.db;
    let viewset = defaults::viewset(object.kind);
    let Some(policy) = core.policies.get(db, viewset).await? else {
        return Ok(());
    };
    for hook in &policy.creation_hooks {
        let params = hook.get("parameters").cloned().unwrap_or(Value::Null);
        let names = |field: &str| -> Vec<String> {
            match params.get(field) {
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            }
        };
        let mut holders = Vec::new();
        match hook.get("function").and_then(Value::as_str) {
            Some("add_roles_for_object_creator") => holders.push(Holder::User(user_id.into())),
            Some("add_roles_for_users") => {
                for name in names("users") {
                    if let Some(id) = crate::models::user::id_by_name(db, &name).await? {
                        holders.push(Holder::User(id));
                    }
                }
            }
            Some("add_roles_for_groups") => {
                for name in names("groups") {
                    if let Some(g) = crate::models::group::find_by_name(db, &name).await? {
                        holders.push(Holder::Group(g.id));
                    }
                }
            }
            other => tracing::warn!("access policy: unknown creation hook {other:?}"),
        }
        for holder in &holders {
            for role in names("roles") {
                role_assignment::give(db, holder, &role, object).await?;
            }
        }
    }
    Ok(())
}
