//! What one signed-in user holds: the permissions their roles (and their groups' roles) give
//! model-wide, read once per request, and those on single objects, read per object when a
//! check needs them (a user may hold roles on many objects; a request touches a few).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

use crate::CoreResult;
use crate::db::Db;
use crate::models::list::Grantee;

/// The roles of a user, or of everyone in a group the user is in.
const HELD: &str = "(a.user_id = $1 OR a.group_id IN \
                    (SELECT m.group_id FROM user_group_members m WHERE m.user_id = $1))";

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
    model: HashSet<String>,
    objects: Mutex<HashMap<String, BTreeSet<String>>>,
    /// Permissions held on objects without a role row (a task, by the user who dispatched it).
    implied: HashMap<String, BTreeSet<String>>,
}

impl Grants {
    /// A superuser holds every permission: nothing is read.
    pub async fn load(db: &Db, user_id: &str, superuser: bool) -> CoreResult<Self> {
        let model = match superuser {
            true => HashSet::new(),
            false => sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!(
                "SELECT DISTINCT p.permission FROM role_assignments a \
                 JOIN role_permissions p ON p.role_id = a.role_id \
                 WHERE a.object_id IS NULL AND a.domain_id IS NULL AND {HELD}"
            )))
            .bind(user_id)
            .fetch_all(db.pool())
            .await?
            .into_iter()
            .collect(),
        };
        Ok(Self {
            user_id: user_id.to_string(),
            superuser,
            model,
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

    /// Holds `permission` for every object of its model.
    pub fn model_wide(&self, permission: &str) -> bool {
        self.superuser || self.model.contains(permission)
    }

    /// The permissions held on `object` by roles given for it (not model-wide ones), sorted.
    pub async fn on_object(&self, db: &Db, object: &Object) -> CoreResult<BTreeSet<String>> {
        let cached = self
            .objects
            .lock()
            .ok()
            .and_then(|m| m.get(&object.id).cloned());
        let mut held = match cached {
            Some(held) => held,
            None => {
                let held: BTreeSet<String> =
                    sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!(
                        "SELECT DISTINCT p.permission FROM role_assignments a \
                         JOIN role_permissions p ON p.role_id = a.role_id \
                         WHERE a.object_id = $2 AND a.object_type = $3 AND {HELD}"
                    )))
                    .bind(&self.user_id)
                    .bind(&object.id)
                    .bind(object.kind.prn_model)
                    .fetch_all(db.pool())
                    .await?
                    .into_iter()
                    .collect();
                if let Ok(mut m) = self.objects.lock() {
                    m.insert(object.id.clone(), held.clone());
                }
                held
            }
        };
        if let Some(implied) = self.implied.get(&object.id) {
            held.extend(implied.iter().cloned());
        }
        Ok(held)
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
            permissions: permissions.iter().map(|p| p.to_string()).collect(),
        })
    }
}
