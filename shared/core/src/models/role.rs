//! Roles as Pulp's `roles/` shows and changes them: a name, a description and a set of
//! permissions. Locked roles come from code ([`crate::access::locked_roles`]) and only
//! [`sync_locked`] writes them.

use std::collections::{BTreeSet, HashMap};

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::list::Table;
use crate::access::{self, RoleSpec};
use crate::db::{Db, get_bool, placeholders};
use crate::hrefs::ROLE;
use crate::{CoreError, CoreResult};

const COLUMNS: &str = "id, name, description, locked, created, updated";

pub static TABLE: Table = Table {
    select: COLUMNS,
    from: "roles",
    fields: &[
        ("id", "id"),
        ("name", "name"),
        ("description", "description"),
        ("locked", "locked"),
        ("pulp_created", "created"),
        ("pulp_last_updated", "updated"),
    ],
    domain: None,
};

/// The longest role name and description taken, and the most permissions in one role.
pub const MAX_NAME: usize = 128;
pub const MAX_DESCRIPTION: usize = 4096;
pub const MAX_PERMISSIONS: usize = 1000;

#[derive(Debug, Clone)]
pub struct Role {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub locked: bool,
    pub created: String,
    pub updated: String,
    pub permissions: Vec<String>,
}

/// A role, as Pulp's `roles/` shows it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RoleResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    /// The name of this role.
    pub name: String,
    /// An optional description.
    pub description: Option<String>,
    /// List of permissions defining the role.
    pub permissions: Vec<String>,
    /// True if the role is system managed.
    pub locked: bool,
}

impl Role {
    /// A row of [`TABLE`], without its permissions (see [`with_permissions`]).
    pub fn from_row(row: &AnyRow) -> CoreResult<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            locked: get_bool(row, "locked")?,
            created: row.try_get("created")?,
            updated: row.try_get("updated")?,
            permissions: Vec::new(),
        })
    }

    pub fn response(&self) -> RoleResponse {
        RoleResponse {
            pulp_href: ROLE.href(&self.id),
            prn: ROLE.prn(&self.id),
            pulp_created: self.created.clone(),
            pulp_last_updated: self.updated.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            permissions: self.permissions.clone(),
            locked: self.locked,
        }
    }
}

/// Fills in the permissions of `roles` (one query for a page).
pub async fn with_permissions(db: &Db, mut roles: Vec<Role>) -> CoreResult<Vec<Role>> {
    let ids: Vec<String> = roles.iter().map(|r| r.id.clone()).collect();
    let mut perms = permissions_of(db, &ids).await?;
    for r in &mut roles {
        r.permissions = perms.remove(&r.id).unwrap_or_default();
    }
    Ok(roles)
}

/// The permissions of each of `role_ids`, sorted.
pub async fn permissions_of(
    db: &Db,
    role_ids: &[String],
) -> CoreResult<HashMap<String, Vec<String>>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for chunk in role_ids.chunks(500) {
        let sql = format!(
            "SELECT role_id, permission FROM role_permissions WHERE role_id IN ({}) \
             ORDER BY permission",
            placeholders(1, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(id);
        }
        for (role, perm) in q.fetch_all(db.pool()).await? {
            out.entry(role).or_default().push(perm);
        }
    }
    Ok(out)
}

pub async fn get(db: &Db, id: &str) -> CoreResult<Role> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM roles WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| CoreError::not_found("Role"))?;
    let role = Role::from_row(&row)?;
    Ok(with_permissions(db, vec![role]).await?.remove(0))
}

pub async fn find_by_name(db: &Db, name: &str) -> CoreResult<Option<Role>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM roles WHERE name = $1"
    )))
    .bind(name)
    .fetch_optional(db.pool())
    .await?;
    match row {
        Some(r) => Ok(Some(
            with_permissions(db, vec![Role::from_row(&r)?])
                .await?
                .remove(0),
        )),
        None => Ok(None),
    }
}

/// The ids of the roles holding any of `permissions` (`<app>.<codename>`, or a bare codename
/// of any app), for the `contains_permission` filter.
pub async fn ids_with_any(db: &Db, permissions: &[String]) -> CoreResult<Vec<String>> {
    let all = all_permissions(db).await?;
    let wanted = |p: &str| {
        permissions.iter().any(|w| match w.contains('.') {
            true => w == p,
            false => p.split_once('.').is_some_and(|(_, code)| code == w),
        })
    };
    Ok(all
        .into_iter()
        .filter(|(_, perms)| perms.iter().any(|p| wanted(p)))
        .map(|(id, _)| id)
        .collect())
}

/// The ids of the roles with permissions, all of them on `model` (`for_object_type`).
pub async fn ids_only_for(db: &Db, model: &str) -> CoreResult<Vec<String>> {
    let all = all_permissions(db).await?;
    Ok(all
        .into_iter()
        .filter(|(_, perms)| {
            !perms.is_empty()
                && perms
                    .iter()
                    .all(|p| access::permission_model(p) == Some(model))
        })
        .map(|(id, _)| id)
        .collect())
}

/// Every role's permissions, by role id (roles are few).
async fn all_permissions(db: &Db) -> CoreResult<HashMap<String, Vec<String>>> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT role_id, permission FROM role_permissions")
            .fetch_all(db.pool())
            .await?;
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for (role, perm) in rows {
        out.entry(role).or_default().push(perm);
    }
    Ok(out)
}

/// Checks a role's name, description and permissions as Pulp's serializer does, and bounds
/// them.
fn check(
    name: Option<&str>,
    description: Option<&str>,
    permissions: Option<&[String]>,
) -> CoreResult<()> {
    if let Some(name) = name {
        if name.trim().is_empty() {
            return Err(CoreError::field("name", "This field may not be blank."));
        }
        if name.chars().count() > MAX_NAME {
            return Err(CoreError::field(
                "name",
                format!("Ensure this field has no more than {MAX_NAME} characters."),
            ));
        }
    }
    if description.is_some_and(|d| d.chars().count() > MAX_DESCRIPTION) {
        return Err(CoreError::field(
            "description",
            format!("Ensure this field has no more than {MAX_DESCRIPTION} characters."),
        ));
    }
    if let Some(perms) = permissions {
        if perms.len() > MAX_PERMISSIONS {
            return Err(CoreError::field(
                "permissions",
                format!("Ensure this field has no more than {MAX_PERMISSIONS} elements."),
            ));
        }
        for p in perms {
            if !p.contains('.') {
                return Err(CoreError::field(
                    "permissions",
                    format!("Permission '{p}' is not in the format '<app_label>.<codename>'."),
                ));
            }
            if access::permission_model(p).is_none() {
                return Err(CoreError::field(
                    "permissions",
                    format!("Permission '{p}' does not exist."),
                ));
            }
        }
    }
    Ok(())
}

fn unique_name() -> CoreError {
    CoreError::Invalid(json!({"name": ["This field must be unique."]}))
}

/// Makes a role (never a locked one).
pub async fn create(
    db: &Db,
    name: &str,
    description: Option<&str>,
    permissions: &[String],
) -> CoreResult<Role> {
    check(Some(name), description, Some(permissions))?;
    let id = crate::new_id();
    let now = crate::time::now();
    let mut tx = db.begin_write().await?;
    let res = sqlx::query(
        "INSERT INTO roles (id, name, description, locked, created, updated) \
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(&id)
    .bind(name)
    .bind(description)
    .bind(false)
    .bind(&now)
    .execute(&mut *tx)
    .await
    .map_err(CoreError::from);
    match res {
        Err(e) if e.is_unique_violation() => return Err(unique_name()),
        other => other?,
    };
    set_permissions(&mut tx, &id, permissions).await?;
    tx.commit().await?;
    get(db, &id).await
}

/// What an update of a role changes (`None`: unchanged).
#[derive(Debug, Default)]
pub struct RoleChanges {
    pub name: Option<String>,
    /// `Some(None)` clears it.
    pub description: Option<Option<String>>,
    pub permissions: Option<Vec<String>>,
}

/// The role `id`, which clients may change: not a locked one (403).
pub async fn editable(db: &Db, id: &str) -> CoreResult<Role> {
    let role = get(db, id).await?;
    if role.locked {
        return Err(CoreError::Forbidden("The role is locked.".into()));
    }
    Ok(role)
}

pub async fn update(db: &Db, id: &str, changes: RoleChanges) -> CoreResult<Role> {
    let role = editable(db, id).await?;
    check(
        changes.name.as_deref(),
        changes.description.as_ref().and_then(|d| d.as_deref()),
        changes.permissions.as_deref(),
    )?;
    let name = changes.name.unwrap_or(role.name);
    let description = changes.description.unwrap_or(role.description);
    let mut tx = db.begin_write().await?;
    let res =
        sqlx::query("UPDATE roles SET name = $2, description = $3, updated = $4 WHERE id = $1")
            .bind(id)
            .bind(&name)
            .bind(&description)
            .bind(crate::time::now())
            .execute(&mut *tx)
            .await
            .map_err(CoreError::from);
    match res {
        Err(e) if e.is_unique_violation() => return Err(unique_name()),
        other => other?,
    };
    if let Some(perms) = &changes.permissions {
        sqlx::query("DELETE FROM role_permissions WHERE role_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        set_permissions(&mut tx, id, perms).await?;
    }
    tx.commit().await?;
    get(db, id).await
}

pub async fn delete(db: &Db, id: &str) -> CoreResult<()> {
    editable(db, id).await?;
    sqlx::query("DELETE FROM roles WHERE id = $1")
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

async fn set_permissions(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    role_id: &str,
    permissions: &[String],
) -> CoreResult<()> {
    let unique: BTreeSet<&String> = permissions.iter().collect();
    for p in unique {
        sqlx::query("INSERT INTO role_permissions (role_id, permission) VALUES ($1, $2)")
            .bind(role_id)
            .bind(p)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Makes the roles table hold every locked role as code defines it: new ones made, changed
/// ones rewritten, and locked roles of core or an installed plugin that code no longer
/// defines removed (with their assignments). A role a client made under a name that is now
/// locked becomes the locked one. Writes nothing when all is as defined.
pub async fn sync_locked(db: &Db) -> CoreResult<()> {
    let specs: Vec<&RoleSpec> = access::locked_roles().collect();
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM roles")))
        .fetch_all(db.pool())
        .await?;
    let existing = rows
        .iter()
        .map(Role::from_row)
        .collect::<CoreResult<Vec<_>>>()?;
    let existing = with_permissions(db, existing).await?;
    let by_name: HashMap<&str, &Role> = existing.iter().map(|r| (r.name.as_str(), r)).collect();
    let apps: Vec<&str> = std::iter::once("core")
        .chain(crate::plugin::installed().iter().map(|p| p.name))
        .collect();
    let now = crate::time::now();
    let mut tx = db.begin_write().await?;
    for spec in &specs {
        let wanted: Vec<String> = spec
            .permissions
            .iter()
            .map(|p| p.to_string())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let description = spec.description.map(str::to_string);
        let id = match by_name.get(spec.name) {
            Some(r) if r.locked && r.permissions == wanted && r.description == description => {
                continue;
            }
            Some(r) => {
                sqlx::query(
                    "UPDATE roles SET description = $2, locked = $3, updated = $4 WHERE id = $1",
                )
                .bind(&r.id)
                .bind(&description)
                .bind(true)
                .bind(&now)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM role_permissions WHERE role_id = $1")
                    .bind(&r.id)
                    .execute(&mut *tx)
                    .await?;
                r.id.clone()
            }
            None => {
                let id = crate::new_id();
                sqlx::query(
                    "INSERT INTO roles (id, name, description, locked, created, updated) \
                     VALUES ($1, $2, $3, $4, $5, $5)",
                )
                .bind(&id)
                .bind(spec.name)
                .bind(&description)
                .bind(true)
                .bind(&now)
                .execute(&mut *tx)
                .await?;
                id
            }
        };
        set_permissions(&mut tx, &id, &wanted).await?;
    }
    for r in existing.iter().filter(|r| r.locked) {
        let ours = r
            .name
            .split_once('.')
            .is_some_and(|(app, _)| apps.contains(&app));
        if ours && !specs.iter().any(|s| s.name == r.name) {
            sqlx::query("DELETE FROM roles WHERE id = $1")
                .bind(&r.id)
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}
