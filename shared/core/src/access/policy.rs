//! Access policies, as Pulp writes them: per viewset, a list of statements, each naming
//! actions, principals, an effect and conditions (Pulp's condition functions, by name). A
//! request is allowed when an `allow` statement matches it and no `deny` statement does.
//! Statements are kept as the JSON Pulp uses, so that `access_policies/` shows them as
//! written.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::grants::{Grants, Object};
use crate::db::Db;
use crate::{CoreError, CoreResult};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Policy {
    pub statements: Vec<Value>,
    #[serde(default)]
    pub creation_hooks: Vec<Value>,
    #[serde(default)]
    pub queryset_scoping: Option<Value>,
}

/// One request, as a policy sees it.
#[derive(Debug, Default)]
pub struct Check<'a> {
    /// Pulp's action name: `list`, `retrieve`, `create`, `partial_update`, `sync`, ...
    pub action: &'a str,
    /// The object acted on (detail routes).
    pub object: Option<Object>,
    /// The repository of the object (a version's, a publication's, a distribution's).
    pub repository: Option<Object>,
    /// Objects the request body names, by field: `remote`, `repository`, `publication`,
    /// `upload`, `repository_version` (as its repository).
    pub params: Vec<(&'static str, Object)>,
}

impl Check<'_> {
    fn param(&self, name: &str) -> Option<&Object> {
        self.params.iter().find(|(n, _)| *n == name).map(|(_, o)| o)
    }
}

/// Who is asking: their name, whether they are a superuser or staff, and their groups.
pub struct Principal<'a> {
    pub username: &'a str,
    pub is_superuser: bool,
    pub groups: &'a [String],
}

/// Whether a statement of `policy` names a group as its principal (`group:<name>`).
pub fn names_groups(policy: &Policy) -> bool {
    policy
        .statements
        .iter()
        .any(|s| list(s, "principal").iter().any(|p| p.starts_with("group:")))
}

/// Whether `policy` lets `who`, holding `grants`, do what `check` describes.
pub async fn allows(
    db: &Db,
    policy: &Policy,
    who: &Principal<'_>,
    grants: &Grants,
    check: &Check<'_>,
) -> CoreResult<bool> {
    let mut allowed = false;
    for statement in &policy.statements {
        if !matches(statement, "action", check.action) || !principal_matches(statement, who) {
            continue;
        }
        if !conditions_hold(db, statement, grants, check).await? {
            continue;
        }
        match statement.get("effect").and_then(Value::as_str) {
            Some("allow") => allowed = true,
            // A deny that matches wins over every allow.
            _ => return Ok(false),
        }
    }
    Ok(allowed)
}

/// A string-or-list field of a statement, as a list.
fn list(statement: &Value, field: &str) -> Vec<String> {
    match statement.get(field) {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn matches(statement: &Value, field: &str, value: &str) -> bool {
    list(statement, field)
        .iter()
        .any(|a| a == "*" || a == value)
}

fn principal_matches(statement: &Value, who: &Principal<'_>) -> bool {
    list(statement, "principal")
        .iter()
        .any(|p| match p.as_str() {
            "*" | "authenticated" => true,
            "admin" => who.is_superuser,
            other => match other.split_once(':') {
                Some(("group", g)) => who.groups.iter().any(|mine| mine == g),
                Some(("user" | "username", u)) => who.username == u,
                _ => false,
            },
        })
}

async fn conditions_hold(
    db: &Db,
    statement: &Value,
    grants: &Grants,
    check: &Check<'_>,
) -> CoreResult<bool> {
    for condition in list(statement, "condition") {
        if !condition_holds(db, &condition, grants, check).await? {
            return Ok(false);
        }
    }
    for expression in list(statement, "condition_expression") {
        if !expression_holds(db, &expression, grants, check).await? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A `condition_expression`: conditions joined by `and`, `or` and `not`, with parentheses.
async fn expression_holds(
    db: &Db,
    expression: &str,
    grants: &Grants,
    check: &Check<'_>,
) -> CoreResult<bool> {
    let spaced = expression.replace('(', " ( ").replace(')', " ) ");
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    // Every condition first (each may read the database), then the boolean structure.
    let mut values = Vec::new();
    for t in &tokens {
        if !matches!(*t, "and" | "or" | "not" | "(" | ")") {
            values.push(condition_holds(db, t, grants, check).await?);
        }
    }
    let mut parser = Expression {
        tokens: &tokens,
        at: 0,
        values: values.into_iter(),
    };
    let result = parser.or();
    match (result, parser.at == tokens.len()) {
        (Some(v), true) => Ok(v),
        _ => {
            tracing::warn!("access policy: cannot read the condition expression {expression:?}");
            Ok(false)
        }
    }
}

/// A recursive-descent reading of a condition expression over already-evaluated terms.
struct Expression<'t> {
    tokens: &'t [&'t str],
    at: usize,
    values: std::vec::IntoIter<bool>,
}

impl Expression<'_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).copied()
    }

    fn or(&mut self) -> Option<bool> {
        let mut v = self.and()?;
        while self.peek() == Some("or") {
            self.at += 1;
            v |= self.and()?;
        }
        Some(v)
    }

    fn and(&mut self) -> Option<bool> {
        let mut v = self.not()?;
        while self.peek() == Some("and") {
            self.at += 1;
            v &= self.not()?;
        }
        Some(v)
    }

    fn not(&mut self) -> Option<bool> {
        match self.peek()? {
            "not" => {
                self.at += 1;
                Some(!self.not()?)
            }
            "(" => {
                self.at += 1;
                let v = self.or()?;
                (self.peek() == Some(")")).then(|| self.at += 1)?;
                Some(v)
            }
            ")" | "and" | "or" => None,
            _ => {
                self.at += 1;
                self.values.next()
            }
        }
    }
}

/// One condition, `<function>:<permissions>`; the permissions are comma-separated and any
/// of them will do. An unknown function never holds.
async fn condition_holds(
    db: &Db,
    condition: &str,
    grants: &Grants,
    check: &Check<'_>,
) -> CoreResult<bool> {
    let (function, arg) = condition.split_once(':').unwrap_or((condition, ""));
    let perms: Vec<&str> = arg
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let model = || perms.iter().any(|p| grants.model_wide(p));
    // Model-wide, or on `object` (a missing object: `absent`).
    let on = |object: Option<&Object>, absent: bool| {
        let object = object.cloned();
        let perms = perms.clone();
        async move {
            let Some(object) = object else {
                return Ok(absent);
            };
            for p in perms {
                if grants.holds(db, p, &object).await? {
                    return Ok(true);
                }
            }
            Ok::<bool, CoreError>(false)
        }
    };
    // Only on the object, by a role given for it.
    let only_on = |object: Option<&Object>, absent: bool| {
        let object = object.cloned();
        let perms = perms.clone();
        async move {
            let Some(object) = object else {
                return Ok(absent);
            };
            if grants.is_superuser() {
                return Ok(true);
            }
            let held = grants.on_object(db, &object).await?;
            Ok::<bool, CoreError>(perms.iter().any(|p| held.contains(*p)))
        }
    };
    let object = check.object.as_ref();
    let repository = check.repository.as_ref();
    Ok(match function {
        "has_model_perms" => perms.iter().any(|p| grants.everywhere(p)),
        "has_model_or_domain_perms" => model(),
        "has_domain_perms" => grants.is_superuser() || perms.iter().any(|p| grants.in_domain(p)),
        "has_obj_perms" => only_on(object, false).await?,
        // A group's own permissions, for what is nested under it (`groups/<id>/users/`).
        "has_model_or_obj_perms"
        | "has_model_or_domain_or_obj_perms"
        | "has_group_model_or_obj_perms" => on(object, false).await?,
        "has_group_obj_perms" => only_on(object, false).await?,
        "has_remote_param_obj_perms" => only_on(check.param("remote"), true).await?,
        "has_remote_param_model_or_obj_perms" | "has_remote_param_model_or_domain_or_obj_perms" => {
            on(check.param("remote"), true).await?
        }
        "has_repo_attr_obj_perms" | "has_repository_obj_perms" => {
            only_on(repository, false).await?
        }
        "has_repo_attr_model_or_obj_perms"
        | "has_repo_attr_model_or_domain_or_obj_perms"
        | "has_repository_model_or_obj_perms"
        | "has_repository_model_or_domain_or_obj_perms" => on(repository, false).await?,
        "has_repo_or_repo_ver_param_model_or_obj_perms"
        | "has_repo_or_repo_ver_param_model_or_domain_or_obj_perms" => {
            on(check.param("repository"), true).await?
        }
        "has_publication_param_model_or_obj_perms"
        | "has_publication_param_model_or_domain_or_obj_perms" => {
            on(check.param("publication"), true).await?
        }
        "has_upload_param_model_or_obj_perms" | "has_upload_param_model_or_domain_or_obj_perms" => {
            on(check.param("upload"), true).await?
        }
        "has_required_repo_perms_on_upload" => {
            if grants.is_superuser() {
                return Ok(true);
            }
            let Some(repo) = check.param("repository") else {
                return Err(CoreError::invalid(
                    "Destination upload repository was not provided.",
                ));
            };
            on(Some(repo), false).await?
        }
        other => {
            tracing::warn!("access policy: unknown condition function {other:?}");
            false
        }
    })
}
