//! Roles given to users and groups (Pulp's `users/<id>/roles/` and `groups/<id>/roles/`): for
//! every object of the role's models, or for one object.

use schemars::JsonSchema;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::list::Table;
use super::role;
use crate::access::{self, Object};
use crate::db::Db;
use crate::hrefs::{GROUP, USER};
use crate::plugin;
use crate::{CoreError, CoreResult};

const SELECT: &str = "a.id AS id, a.role_id AS role_id, r.name AS role, \
                      r.description AS description, a.user_id AS user_id, \
                      a.group_id AS group_id, a.object_type AS object_type, \
                      a.object_id AS object_id, a.domain_id AS domain_id, a.created AS created";
const FROM: &str = "role_assignments a JOIN roles r ON r.id = a.role_id";

pub static TABLE: Table = Table {
    select: SELECT,
    from: FROM,
    fields: &[
        ("id", "a.id"),
        ("user", "a.user_id"),
        ("group", "a.group_id"),
        ("role", "r.name"),
        ("description", "r.description"),
        ("object_type", "a.object_type"),
        ("object_id", "a.object_id"),
        ("domain", "a.domain_id"),
        ("pulp_created", "a.created"),
    ],
    domain: None,
};

/// Who holds an assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    User(String),
    Group(String),
}

impl Holder {
    /// The list field that selects this holder's rows, and its id.
    pub fn field(&self) -> (&'static str, &str) {
        match self {
            Holder::User(id) => ("user", id),
            Holder::Group(id) => ("group", id),
        }
    }

    fn word(&self) -> &'static str {
        match self {
            Holder::User(_) => "user",
            Holder::Group(_) => "group",
        }
    }

    fn href(&self, assignment_id: &str) -> String {
        match self {
            Holder::User(id) => format!("{}roles/{assignment_id}/", USER.href(id)),
            Holder::Group(id) => format!("{}roles/{assignment_id}/", GROUP.href(id)),
        }
    }

    fn prn_model(&self) -> &'static str {
        match self {
            Holder::User(_) => "core.userrole",
            Holder::Group(_) => "core.grouprole",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Assignment {
    pub id: String,
    pub role_id: String,
    pub role: String,
    pub description: Option<String>,
    pub holder: Holder,
    pub object: Option<Object>,
    /// The id of the domain it is given on, if it is.
    pub domain: Option<String>,
    pub created: String,
    pub permissions: Vec<String>,
}

/// A role given to a user or a group, as `users/<id>/roles/` and `groups/<id>/roles/` show it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AssignmentResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    pub role: String,
    /// pulp_href of the object for which role permissions should be asserted. If set to
    /// 'null', permissions will act on either domain or model-level.
    pub content_object: Option<String>,
    /// prn of the object for which role permissions should be asserted. If set to 'null',
    /// permissions will act on either domain or model-level.
    pub content_object_prn: Option<String>,
    pub description: Option<String>,
    pub permissions: Vec<String>,
    /// Domain this role should be applied on, mutually exclusive with content_object.
    pub domain: Option<String>,
}

impl Assignment {
    /// A row of [`TABLE`], without its permissions (see [`with_permissions`]).
    pub fn from_row(row: &AnyRow) -> CoreResult<Self> {
        let user: Option<String> = row.try_get("user_id")?;
        let group: Option<String> = row.try_get("group_id")?;
        let holder = match (user, group) {
            (Some(u), _) => Holder::User(u),
            (None, Some(g)) => Holder::Group(g),
            (None, None) => return Err(CoreError::Internal("a role given to no one".into())),
        };
        let object_type: Option<String> = row.try_get("object_type")?;
        let object_id: Option<String> = row.try_get("object_id")?;
        let object = match (object_type, object_id) {
            (Some(t), Some(id)) => Some(Object {
                kind: plugin::from_prn_model(&t).ok_or_else(|| {
                    CoreError::Internal(format!("a role given on an unknown type '{t}'"))
                })?,
                id,
            }),
            _ => None,
        };
        Ok(Self {
            id: row.try_get("id")?,
            role_id: row.try_get("role_id")?,
            role: row.try_get("role")?,
            description: row.try_get("description")?,
            holder,
            object,
            domain: row.try_get("domain_id")?,
            created: row.try_get("created")?,
            permissions: Vec::new(),
        })
    }

    pub fn response(&self) -> AssignmentResponse {
        AssignmentResponse {
            pulp_href: self.holder.href(&self.id),
            prn: format!("prn:{}:{}", self.holder.prn_model(), self.id),
            pulp_created: self.created.clone(),
            pulp_last_updated: self.created.clone(),
            role: self.role.clone(),
            content_object: self.object.as_ref().map(|o| o.kind.href(&o.id)),
            content_object_prn: self.object.as_ref().map(|o| o.kind.prn(&o.id)),
            description: self.description.clone(),
            permissions: self.permissions.clone(),
            domain: self.domain.as_ref().map(|d| crate::hrefs::DOMAIN.href(d)),
        }
    }
}

/// Fills in the permissions of each assignment's role (one query for a page).
pub async fn with_permissions(db: &Db, mut rows: Vec<Assignment>) -> CoreResult<Vec<Assignment>> {
    let ids: Vec<String> = rows.iter().map(|a| a.role_id.clone()).collect();
    let perms = role::permissions_of(db, &ids).await?;
    for a in &mut rows {
        a.permissions = perms.get(&a.role_id).cloned().unwrap_or_default();
    }
    Ok(rows)
}

/// The assignment `id` of `holder`.
pub async fn get(db: &Db, holder: &Holder, id: &str) -> CoreResult<Assignment> {
    let (field, holder_id) = holder.field();
    let column = if field == "user" {
        "a.user_id"
    } else {
        "a.group_id"
    };
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {SELECT} FROM {FROM} WHERE a.id = $1 AND {column} = $2"
    )))
    .bind(id)
    .bind(holder_id)
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| CoreError::not_found(&format!("{}Role", capitalised(holder.word()))))?;
    let a = Assignment::from_row(&row)?;
    Ok(with_permissions(db, vec![a]).await?.remove(0))
}

fn capitalised(word: &str) -> String {
    let mut c = word.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Resolves an object reference a client sent (an href or a PRN of any type with rows) to
/// the object, which must exist.
pub async fn resolve_object(db: &Db, field: &str, reference: &str) -> CoreResult<Object> {
    let invalid = || CoreError::field(field, format!("Invalid value: {reference}."));
    let object = plugin::resource_types()
        .filter(|k| !k.table().is_empty())
        .find_map(|k| k.parse_ref(reference).map(|id| Object { kind: k, id }))
        .ok_or_else(invalid)?;
    if !exists(db, &object).await? {
        return Err(invalid());
    }
    Ok(object)
}

/// Whether `object` has a row.
pub async fn exists(db: &Db, object: &Object) -> CoreResult<bool> {
    let kind = object.kind;
    // The families share a table per family, told apart by `pulp_type`.
    let typed = !matches!(kind.role, plugin::Role::Other { .. });
    let sql = match typed {
        true => format!(
            "SELECT 1 FROM {} WHERE id = $1 AND pulp_type = $2",
            kind.table()
        ),
        false => format!("SELECT 1 FROM {} WHERE id = $1", kind.table()),
    };
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&object.id);
    if typed {
        q = q.bind(kind.pulp_type);
    }
    Ok(q.fetch_optional(db.pool()).await?.is_some())
}

/// Gives role `role_name` to `holder`, for `object`, or for everything of one domain (its id),
/// or (with neither) model-wide.
pub async fn create(
    db: &Db,
    holder: &Holder,
    role_name: &str,
    object: Option<&Object>,
    domain: Option<&str>,
) -> CoreResult<Assignment> {
    let role = role::find_by_name(db, role_name).await?.ok_or_else(|| {
        CoreError::field(
            "role",
            format!("Object with name={role_name} does not exist."),
        )
    })?;
    if object.is_some() && domain.is_some() {
        return Err(CoreError::invalid(
            "Domain and content_object are mutually exclusive.",
        ));
    }
    if domain.is_some() {
        let carries = role.permissions.iter().any(|p| {
            access::permission_model(p)
                .and_then(plugin::from_prn_model)
                .is_some_and(|k| k.in_domains())
        });
        if !carries {
            return Err(CoreError::invalid(format!(
                "The role '{}' does not carry any permission on an object with a domain",
                role.name
            )));
        }
    }
    if let Some(o) = object {
        let carries = role
            .permissions
            .iter()
            .any(|p| access::permission_model(p) == Some(o.kind.prn_model));
        if !carries {
            return Err(CoreError::invalid(format!(
                "The role '{}' does not carry any permission for that object.",
                role.name
            )));
        }
    }
    let already = || {
        CoreError::invalid(format!(
            "The role is already assigned to this {}.",
            holder.word()
        ))
    };
    let (user, group) = match holder {
        Holder::User(id) => (Some(id.as_str()), None),
        Holder::Group(id) => (None, Some(id.as_str())),
    };
    let id = crate::new_id();
    let res = sqlx::query(
        "INSERT INTO role_assignments \
         (id, role_id, user_id, group_id, object_type, object_id, domain_id, created) \
         VALUES ($1, $2, $3, $4, $5, $6, $8, $7)",
    )
    .bind(&id)
    .bind(&role.id)
    .bind(user)
    .bind(group)
    .bind(object.map(|o| o.kind.prn_model))
    .bind(object.map(|o| o.id.as_str()))
    .bind(crate::time::now())
    .bind(domain)
    .execute(db.pool())
    .await
    .map_err(CoreError::from);
    match res {
        Err(e) if e.is_unique_violation() => Err(already()),
        Err(e) => Err(e),
        Ok(_) => get(db, holder, &id).await,
    }
}

/// Gives role `role_name` to `holder` on `object` as a creation hook does: no checks, and
/// already given is no change. A role that does not exist is skipped (and logged).
pub async fn give(db: &Db, holder: &Holder, role_name: &str, object: &Object) -> CoreResult<()> {
    let (user, group) = match holder {
        Holder::User(id) => (Some(id.as_str()), None),
        Holder::Group(id) => (None, Some(id.as_str())),
    };
    let given = sqlx::query(
        "INSERT INTO role_assignments \
         (id, role_id, user_id, group_id, object_type, object_id, domain_id, created) \
         SELECT $1, r.id, $2, $3, $4, $5, NULL, $6 FROM roles r WHERE r.name = $7 \
         ON CONFLICT DO NOTHING",
    )
    .bind(crate::new_id())
    .bind(user)
    .bind(group)
    .bind(object.kind.prn_model)
    .bind(&object.id)
    .bind(crate::time::now())
    .bind(role_name)
    .execute(db.pool())
    .await?
    .rows_affected();
    if given == 0 && role::find_by_name(db, role_name).await?.is_none() {
        tracing::warn!("creation hook: there is no role {role_name:?} to give");
    }
    Ok(())
}

/// Gives role `role_name` to `holder` for everything of domain `domain_id`, as a hook does:
/// no checks, and already given is no change.
pub async fn give_in_domain(
    db: &Db,
    holder: &Holder,
    role_name: &str,
    domain_id: &str,
) -> CoreResult<()> {
    let (user, group) = match holder {
        Holder::User(id) => (Some(id.as_str()), None),
        Holder::Group(id) => (None, Some(id.as_str())),
    };
    sqlx::query(
        "INSERT INTO role_assignments \
         (id, role_id, user_id, group_id, object_type, object_id, domain_id, created) \
         SELECT $1, r.id, $2, $3, NULL, NULL, $4, $5 FROM roles r WHERE r.name = $6 \
         ON CONFLICT DO NOTHING",
    )
    .bind(crate::new_id())
    .bind(user)
    .bind(group)
    .bind(domain_id)
    .bind(crate::time::now())
    .bind(role_name)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Takes back assignment `id` of `holder`.
pub async fn delete(db: &Db, holder: &Holder, id: &str) -> CoreResult<()> {
    get(db, holder, id).await?;
    sqlx::query("DELETE FROM role_assignments WHERE id = $1")
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Forgets every role given for the object `id` (it was deleted).
pub async fn forget_object(db: &Db, id: &str) -> CoreResult<()> {
    sqlx::query("DELETE FROM role_assignments WHERE object_id = $1")
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Who holds each role given for `object`, as `list_roles/` shows it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ObjectRole {
    pub role: String,
    pub users: Vec<String>,
    pub groups: Vec<String>,
}

/// The roles given for `object`, by role name, with their users and groups.
pub async fn of_object(db: &Db, object: &Object) -> CoreResult<Vec<ObjectRole>> {
    let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT r.name, u.username, g.name FROM role_assignments a \
         JOIN roles r ON r.id = a.role_id \
         LEFT JOIN users u ON u.id = a.user_id \
         LEFT JOIN user_groups g ON g.id = a.group_id \
         WHERE a.object_id = $1 AND a.object_type = $2 ORDER BY r.name, a.created",
    )
    .bind(&object.id)
    .bind(object.kind.prn_model)
    .fetch_all(db.pool())
    .await?;
    let mut out: Vec<ObjectRole> = Vec::new();
    for (role, user, group) in rows {
        if out.last().is_none_or(|r| r.role != role) {
            out.push(ObjectRole {
                role,
                users: Vec::new(),
                groups: Vec::new(),
            });
        }
        let entry = out.last_mut().expect("just pushed");
        entry.users.extend(user);
        entry.groups.extend(group);
    }
    Ok(out)
}

/// The most users and groups one `add_role/` or `remove_role/` names.
pub const MAX_HOLDERS: usize = 1000;

/// Gives (`assign`) or takes back role `role_name` on `object` for the named users and groups,
/// all or none, with Pulp's checks and messages.
pub async fn change_object_role(
    db: &Db,
    object: &Object,
    role_name: &str,
    users: &[String],
    groups: &[String],
    assign: bool,
) -> CoreResult<()> {
    for (field, names) in [("users", users), ("groups", groups)] {
        if names.len() > MAX_HOLDERS {
            return Err(CoreError::field(
                field,
                format!("Ensure this field has no more than {MAX_HOLDERS} elements."),
            ));
        }
    }
    let role = role::find_by_name(db, role_name).await?.ok_or_else(|| {
        CoreError::field(
            "role",
            format!("Object with name={role_name} does not exist."),
        )
    })?;
    let mut holders = Vec::new();
    for name in users {
        let id = super::user::id_by_name(db, name).await?.ok_or_else(|| {
            CoreError::field(
                "users",
                format!("Object with username={name} does not exist."),
            )
        })?;
        holders.push((Holder::User(id), name));
    }
    for name in groups {
        let g = super::group::find_by_name(db, name).await?.ok_or_else(|| {
            CoreError::field("groups", format!("Object with name={name} does not exist."))
        })?;
        holders.push((Holder::Group(g.id), name));
    }
    let carries = role
        .permissions
        .iter()
        .any(|p| access::permission_model(p) == Some(object.kind.prn_model));
    if !carries {
        return Err(CoreError::invalid(
            "The role does not contain any permission for that object.",
        ));
    }
    let mut tx = db.begin_write().await?;
    for (holder, name) in &holders {
        let (column, id) = match holder {
            Holder::User(id) => ("user_id", id),
            Holder::Group(id) => ("group_id", id),
        };
        let existing: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT id FROM role_assignments WHERE {column} = $1 AND role_id = $2 \
             AND object_id = $3 AND object_type = $4"
        )))
        .bind(id)
        .bind(&role.id)
        .bind(&object.id)
        .bind(object.kind.prn_model)
        .fetch_optional(&mut *tx)
        .await?;
        match (assign, existing) {
            (true, Some(_)) => {
                return Err(CoreError::invalid(format!(
                    "The role is already assigned to {} '{name}'.",
                    holder.word()
                )));
            }
            (false, None) => {
                return Err(CoreError::invalid(format!(
                    "The role is not assigned to {} '{name}'.",
                    holder.word()
                )));
            }
            (true, None) => {
                let (user, group) = match holder {
                    Holder::User(id) => (Some(id), None),
                    Holder::Group(id) => (None, Some(id)),
                };
                sqlx::query(
                    "INSERT INTO role_assignments \
                     (id, role_id, user_id, group_id, object_type, object_id, domain_id, created) \
                     VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)",
                )
                .bind(crate::new_id())
                .bind(&role.id)
                .bind(user)
                .bind(group)
                .bind(object.kind.prn_model)
                .bind(&object.id)
                .bind(crate::time::now())
                .execute(&mut *tx)
                .await?;
            }
            (false, Some(assignment)) => {
                sqlx::query("DELETE FROM role_assignments WHERE id = $1")
                    .bind(assignment)
                    .execute(&mut *tx)
                    .await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// A user's id and name, and a group's, of one role given (one of the two is there).
type HolderRow = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The users and groups holding `permission` on `object` by a role given for it: (id, name)
/// pairs, by name.
pub async fn holders_with(
    db: &Db,
    object: &Object,
    permission: &str,
) -> CoreResult<(Vec<(String, String)>, Vec<(String, String)>)> {
    let rows: Vec<HolderRow> = sqlx::query_as(
        "SELECT DISTINCT u.id, u.username, g.id, g.name FROM role_assignments a \
             JOIN role_permissions p ON p.role_id = a.role_id \
             LEFT JOIN users u ON u.id = a.user_id \
             LEFT JOIN user_groups g ON g.id = a.group_id \
             WHERE a.object_id = $1 AND a.object_type = $2 AND p.permission = $3",
    )
    .bind(&object.id)
    .bind(object.kind.prn_model)
    .bind(permission)
    .fetch_all(db.pool())
    .await?;
    let (mut users, mut groups) = (Vec::new(), Vec::new());
    for (uid, uname, gid, gname) in rows {
        if let (Some(id), Some(name)) = (uid, uname) {
            users.push((id, name));
        }
        if let (Some(id), Some(name)) = (gid, gname) {
            groups.push((id, name));
        }
    }
    users.sort_by(|a, b| a.1.cmp(&b.1));
    groups.sort_by(|a, b| a.1.cmp(&b.1));
    Ok((users, groups))
}
