//! Access policies as Pulp's `access_policies/` shows and changes them: one row per viewset,
//! written from [`crate::access::defaults`] at start-up, changed by clients (then
//! `customized`) and reset to the default.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::list::Table;
use crate::access::{Policy, defaults};
use crate::db::{Db, get_bool};
use crate::hrefs::ACCESS_POLICY;
use crate::{CoreError, CoreResult};

const COLUMNS: &str =
    "id, viewset_name, statements, creation_hooks, queryset_scoping, customized, created, updated";

pub static TABLE: Table = Table {
    select: COLUMNS,
    from: "access_policies",
    fields: &[
        ("id", "id"),
        ("viewset_name", "viewset_name"),
        ("customized", "customized"),
        ("pulp_created", "created"),
        ("pulp_last_updated", "updated"),
    ],
    domain: None,
};

/// The most statements and creation hooks one policy has, and the largest JSON text of each
/// list (a policy is read on every request it governs).
pub const MAX_ITEMS: usize = 100;
pub const MAX_JSON: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct AccessPolicy {
    pub id: String,
    pub viewset_name: String,
    pub policy: Policy,
    pub customized: bool,
    pub created: String,
    pub updated: String,
}

/// An access policy, as Pulp's `access_policies/` shows it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AccessPolicyResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    /// List of callables that define the new permissions to be created for new objects.This
    /// is deprecated. Use `creation_hooks` instead.
    pub permissions_assignment: Vec<Value>,
    /// List of callables that may associate user roles for new objects.
    pub creation_hooks: Vec<Value>,
    /// List of policy statements defining the policy.
    pub statements: Vec<Value>,
    /// The name of ViewSet this AccessPolicy authorizes.
    pub viewset_name: String,
    /// True if the AccessPolicy has been user-modified. False otherwise.
    pub customized: bool,
    /// A callable for performing queryset scoping. See plugin documentation for valid
    /// callables. Set to blank to turn off queryset scoping.
    pub queryset_scoping: Option<Value>,
}

fn json_list(text: &str) -> Vec<Value> {
    serde_json::from_str(text).unwrap_or_default()
}

impl AccessPolicy {
    pub fn from_row(row: &AnyRow) -> CoreResult<Self> {
        let statements: String = row.try_get("statements")?;
        let hooks: String = row.try_get("creation_hooks")?;
        let scoping: Option<String> = row.try_get("queryset_scoping")?;
        Ok(Self {
            id: row.try_get("id")?,
            viewset_name: row.try_get("viewset_name")?,
            policy: Policy {
                statements: json_list(&statements),
                creation_hooks: json_list(&hooks),
                queryset_scoping: scoping.and_then(|s| serde_json::from_str(&s).ok()),
            },
            customized: get_bool(row, "customized")?,
            created: row.try_get("created")?,
            updated: row.try_get("updated")?,
        })
    }

    pub fn response(&self) -> AccessPolicyResponse {
        AccessPolicyResponse {
            pulp_href: ACCESS_POLICY.href(&self.id),
            prn: ACCESS_POLICY.prn(&self.id),
            pulp_created: self.created.clone(),
            pulp_last_updated: self.updated.clone(),
            permissions_assignment: self.policy.creation_hooks.clone(),
            creation_hooks: self.policy.creation_hooks.clone(),
            statements: self.policy.statements.clone(),
            viewset_name: self.viewset_name.clone(),
            customized: self.customized,
            queryset_scoping: self.policy.queryset_scoping.clone(),
        }
    }
}

pub async fn get(db: &Db, id: &str) -> CoreResult<AccessPolicy> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM access_policies WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| CoreError::not_found("AccessPolicy"))?;
    AccessPolicy::from_row(&row)
}

/// The policy of `viewset`, as stored; `None` when it has none.
pub async fn of_viewset(db: &Db, viewset: &str) -> CoreResult<Option<Policy>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM access_policies WHERE viewset_name = $1"
    )))
    .bind(viewset)
    .fetch_optional(db.pool())
    .await?;
    Ok(match row {
        Some(r) => Some(AccessPolicy::from_row(&r)?.policy),
        None => None,
    })
}

/// Checks what a client sends for a policy: lists of JSON objects, statements with Pulp's
/// keys, bounded in number and size.
fn check(field: &str, items: &[Value]) -> CoreResult<()> {
    let bad = |msg: String| CoreError::field(field, msg);
    if items.len() > MAX_ITEMS {
        return Err(bad(format!(
            "Ensure this field has no more than {MAX_ITEMS} elements."
        )));
    }
    if serde_json::to_string(items).map_or(0, |s| s.len()) > MAX_JSON {
        return Err(bad(format!(
            "Ensure this field is at most {MAX_JSON} bytes of JSON."
        )));
    }
    for item in items {
        let Some(obj) = item.as_object() else {
            return Err(bad("Expected a dictionary of items.".into()));
        };
        if field != "statements" {
            continue;
        }
        let text_or_list = |v: Option<&Value>| match v {
            Some(Value::String(_)) => true,
            Some(Value::Array(a)) => a.iter().all(Value::is_string),
            _ => false,
        };
        if !text_or_list(obj.get("action")) || !text_or_list(obj.get("principal")) {
            return Err(bad(
                "Each statement needs 'action' and 'principal', each a string or a list of strings."
                    .into(),
            ));
        }
        if !matches!(
            obj.get("effect").and_then(Value::as_str),
            Some("allow" | "deny")
        ) {
            return Err(bad("Each statement's 'effect' is 'allow' or 'deny'.".into()));
        }
        for key in ["condition", "condition_expression"] {
            if obj.get(key).is_some() && !text_or_list(obj.get(key)) {
                return Err(bad(format!(
                    "A statement's '{key}' is a string or a list of strings."
                )));
            }
        }
    }
    Ok(())
}

/// Applies the fields a client sent (`statements`, `creation_hooks` or its old name
/// `permissions_assignment`, `queryset_scoping`; others are read-only and ignored). Sending
/// any of them marks the policy customized.
pub async fn update(db: &Db, id: &str, sent: &Map<String, Value>) -> CoreResult<AccessPolicy> {
    let mut ap = get(db, id).await?;
    let list = |field: &str| -> CoreResult<Option<Vec<Value>>> {
        match sent.get(field) {
            None => Ok(None),
            Some(Value::Array(items)) => {
                check(field, items)?;
                Ok(Some(items.clone()))
            }
            Some(_) => Err(CoreError::field(field, "Expected a list of items.")),
        }
    };
    let statements = list("statements")?;
    let hooks = list("creation_hooks")?;
    let assignment = list("permissions_assignment")?;
    let hooks = match (hooks, assignment) {
        (Some(h), Some(a)) if h != a => {
            return Err(CoreError::invalid(
                "Cannot specify both 'permissions_assignment' and 'creation_hooks'.",
            ));
        }
        (h, a) => h.or(a),
    };
    let scoping = match sent.get("queryset_scoping") {
        None => None,
        Some(Value::Object(m)) if m.is_empty() => Some(None),
        Some(v @ Value::Object(_)) => Some(Some(v.clone())),
        Some(Value::Null) => Some(None),
        Some(_) => {
            return Err(CoreError::field(
                "queryset_scoping",
                "Expected a dictionary of items.",
            ));
        }
    };
    let changed = statements.is_some() || hooks.is_some() || scoping.is_some();
    if !changed {
        return Ok(ap);
    }
    if let Some(s) = statements {
        ap.policy.statements = s;
    }
    if let Some(h) = hooks {
        ap.policy.creation_hooks = h;
    }
    if let Some(s) = scoping {
        ap.policy.queryset_scoping = s;
    }
    write(db, id, &ap.policy, true).await?;
    get(db, id).await
}

/// Puts policy `id` back to its viewset's default.
pub async fn reset(db: &Db, id: &str) -> CoreResult<AccessPolicy> {
    let ap = get(db, id).await?;
    let default = defaults::of(&ap.viewset_name).ok_or_else(|| {
        CoreError::Conflict(format!(
            "There is no default policy for '{}' to go back to.",
            ap.viewset_name
        ))
    })?;
    write(db, id, default, false).await?;
    get(db, id).await
}

async fn write(db: &Db, id: &str, policy: &Policy, customized: bool) -> CoreResult<()> {
    sqlx::query(
        "UPDATE access_policies SET statements = $2, creation_hooks = $3, \
         queryset_scoping = $4, customized = $5, updated = $6 WHERE id = $1",
    )
    .bind(id)
    .bind(Value::Array(policy.statements.clone()).to_string())
    .bind(Value::Array(policy.creation_hooks.clone()).to_string())
    .bind(policy.queryset_scoping.as_ref().map(Value::to_string))
    .bind(customized)
    .bind(crate::time::now())
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Writes each viewset's default policy unless a client customized it; writes nothing when
/// all are as defined.
pub async fn sync_defaults(db: &Db) -> CoreResult<()> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM access_policies"
    )))
    .fetch_all(db.pool())
    .await?;
    let stored = rows
        .iter()
        .map(AccessPolicy::from_row)
        .collect::<CoreResult<Vec<_>>>()?;
    for (name, policy) in defaults::all() {
        match stored.iter().find(|s| s.viewset_name == name) {
            Some(s) if s.customized || s.policy == policy => {}
            Some(s) => write(db, &s.id, &policy, false).await?,
            None => {
                let now = crate::time::now();
                sqlx::query(
                    "INSERT INTO access_policies (id, viewset_name, statements, creation_hooks, \
                     queryset_scoping, customized, created, updated) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT DO NOTHING",
                )
                .bind(crate::new_id())
                .bind(&name)
                .bind(Value::Array(policy.statements.clone()).to_string())
                .bind(Value::Array(policy.creation_hooks.clone()).to_string())
                .bind(policy.queryset_scoping.as_ref().map(Value::to_string))
                .bind(false)
                .bind(&now)
                .execute(db.pool())
                .await?;
            }
        }
    }
    Ok(())
}
