//! Who may do what, as Pulp's RBAC has it: permissions (`<app>.<codename>`, each on one model),
//! roles (named sets of permissions; the locked ones are defined in code by core and the
//! plugins), and roles assigned to users and groups for a whole model or for one object.

mod catalog;

pub use catalog::{CORE_ROLES, RoleSpec, locked_roles, permission_model};
