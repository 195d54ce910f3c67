//! What one signed-in user holds: the permissions their roles (and their groups' roles) give
//! model-wide, read once per request, and those on single objects, read per object when a
//! check needs them (a user may hold roles on many objects; a request touches a few).

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use super::cache::{GrantsCache, Held};
use crate::CoreResult;
use crate::db::Db;
use crate::models::list::Grantee;

/// The permissions of the roles given to user `$1` or to a group they are in, with the
/// object each is given on (`condition` narrows the assignments further). Two selects, each
/// led by an index, rather than one `OR` that neither index serves.
pub(crate) fn held(columns: &str, condition: &str) -> String {
    format!(
        "SELECT {columns} FROM role_assignments a JOIN role_permissions p ON p.role_id = a.role_id \
         WHERE a.user_id = $1 AND {condition} \
         UNION SELECT {columns} FROM user_group_members m \
         JOIN role_assignments a ON a.group_id = m.group_id \
         JOIN role_permissions p ON p.role_id = a.role_id \
         WHERE m.user_id = $1 AND {condition}"
    )
}

/// An object permissions are held on: its type's PRN model and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub kind: crate::plugin::Kind,
    pub id: String,
}

impl Object {
    pub fn new(kind: crate::plugin::Kind, id: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.into(),
        }
    }
}

pub struct Grants {
    user_id: String,
    superuser: bool,
    /// Model-wide permissions and groups (their roles count for the user), as the cache
    /// keeps them.
    held: std::sync::Arc<Held>,
    /// The domain in force when the grants were read: roles given on it count model-wide.
    domain: std::sync::Arc<str>,
    objects: Mutex<HashMap<String, BTreeSet<String>>>,
    /// Permissions held on objects without a role row (a task, by the user who dispatched it).
    implied: HashMap<String, BTreeSet<String>>,
}

impl Grants {
    /// What user `user_id` holds model-wide, and their groups: kept by `cache`, else read in
    /// one round trip. A superuser holds every permission: nothing is read.
    pub async fn load(
        db: &Db,
        cache: &GrantsCache,
        user_id: &str,
        superuser: bool,
    ) -> CoreResult<Self> {
        let held = match (superuser, cache.get(user_id)) {
            (true, _) => Default::default(),
            (false, Some(held)) => held,
            (false, None) => {
                let held = std::sync::Arc::new(read(db, user_id).await?);
                cache.put(user_id, held.clone());
                held
            }
        };
        Ok(Self {
            user_id: user_id.to_string(),
            superuser,
            held,
            domain: crate::domain::id(),
            objects: Mutex::new(HashMap::new()),
            implied: HashMap::new(),
        })
    }

    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    pub fn is_superuser(&self) -> bool {
        self.superuser
    }

    /// Adds permissions held on object `id` without a role row.
    pub fn imply(&mut self, id: &str, permissions: &[&str]) {
        let held = self.implied.entry(id.to_string()).or_default();
        held.extend(permissions.iter().map(|p| p.to_string()));
    }

    /// Holds `permission` for every object of its model (in the domain in force).
    pub fn model_wide(&self, permission: &str) -> bool {
        self.superuser || self.held.model.contains(permission) || self.in_domain(permission)
    }

    /// Holds `permission` by a role given model-wide, not on a domain.
    pub fn everywhere(&self, permission: &str) -> bool {
        self.superuser || self.held.model.contains(permission)
    }

    /// Holds `permission` by a role given on the domain in force.
    pub fn in_domain(&self, permission: &str) -> bool {
        self.held
            .in_domain
            .get(&*self.domain)
            .is_some_and(|held| held.contains(permission))
    }

    /// The permissions held on `object` by roles given for it (not model-wide ones), sorted.
    pub async fn on_object(&self, db: &Db, object: &Object) -> CoreResult<BTreeSet<String>> {
        let cached = self
            .objects
            .lock()
            .ok()
            .and_then(|m| m.get(&object.id).cloned());
        let mut permissions = match cached {
            Some(found) => found,
            None => {
                let found: BTreeSet<String> = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(
                    held("p.permission", "a.object_id = $2 AND a.object_type = $3"),
                ))
                .bind(&self.user_id)
                .bind(&object.id)
                .bind(object.kind.prn_model)
                .fetch_all(db.pool())
                .await?
                .into_iter()
                .collect();
                if let Ok(mut m) = self.objects.lock() {
                    m.insert(object.id.clone(), found.clone());
                }
                found
            }
        };
        if let Some(implied) = self.implied.get(&object.id) {
            permissions.extend(implied.iter().cloned());
        }
        Ok(permissions)
    }

    /// Holds `permission` model-wide or on `object`.
    pub async fn holds(&self, db: &Db, permission: &str, object: &Object) -> CoreResult<bool> {
        if self.model_wide(permission) {
            return Ok(true);
        }
        Ok(self.on_object(db, object).await?.contains(permission))
    }

    /// The list filter for objects this user holds one of `permissions` on, or `None` when
    /// they hold one model-wide (they see every row).
    pub fn scope(&self, permissions: &[&str]) -> Option<Grantee> {
        if permissions.iter().any(|p| self.model_wide(p)) {
            return None;
        }
        Some(Grantee {
            user_id: self.user_id.clone(),
            groups: self.held.groups.clone(),
            permissions: permissions.iter().map(|p| p.to_string()).collect(),
        })
    }
}

/// A user's model-wide and domain-wide permissions and groups, from the database.
async fn read(db: &Db, user_id: &str) -> CoreResult<Held> {
    let sql = format!(
        "{} UNION ALL SELECT m.group_id, CAST(NULL AS TEXT), CAST(1 AS BIGINT) \
         FROM user_group_members m WHERE m.user_id = $1",
        held(
            "p.permission, a.domain_id, CAST(0 AS BIGINT)",
            "a.object_id IS NULL"
        )
    );
    let rows: Vec<(String, Option<String>, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .fetch_all(db.pool())
        .await?;
    let mut found = Held::default();
    for (value, domain, is_group) in rows {
        match (is_group, domain) {
            (0, None) => {
                found.model.insert(value);
            }
            (0, Some(domain)) => {
                found.in_domain.entry(domain).or_default().insert(value);
            }
            _ => found.groups.push(value),
        }
    }
    Ok(found)
}
