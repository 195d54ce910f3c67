//! `pulp_labels` validation and `pulp_label_select` filtering.

use serde_json::{Map, Value};

use crate::{CoreError, CoreResult};

/// Checks a labels object: keys are non-empty words, values strings or null.
pub fn validate(labels: &Value) -> CoreResult<Map<String, Value>> {
    let Value::Object(map) = labels else {
        return Err(CoreError::field(
            "pulp_labels",
            "Expected a dictionary of items.",
        ));
    };
    for (k, v) in map {
        if k.is_empty()
            || !k
                .chars()
                .all(|c| c.is_alphanumeric() || "_-./ ".contains(c))
        {
            return Err(CoreError::field(
                "pulp_labels",
                format!("Key '{k}' contains non-alphanumerics."),
            ));
        }
        if !(v.is_string() || v.is_null()) {
            return Err(CoreError::field(
                "pulp_labels",
                "Label values must be strings or null.",
            ));
        }
    }
    Ok(map.clone())
}

/// One term of a `pulp_label_select` expression.
#[derive(Debug, PartialEq)]
enum Term {
    Exists(String),
    Absent(String),
    Equals(String, String),
    NotEquals(String, String),
    Contains(String, String),
}

/// A parsed `pulp_label_select`: all terms must hold.
#[derive(Debug)]
pub struct LabelSelect(Vec<Term>);

impl LabelSelect {
    pub fn parse(expr: &str) -> CoreResult<Self> {
        let mut terms = Vec::new();
        for raw in split_unescaped(expr) {
            let t = raw.trim();
            if t.is_empty() {
                continue;
            }
            let term = if let Some((k, v)) = t.split_once("!=") {
                Term::NotEquals(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = t.split_once('~') {
                Term::Contains(k.trim().into(), v.trim().to_lowercase())
            } else if let Some((k, v)) = t.split_once('=') {
                Term::Equals(k.trim().into(), v.trim().into())
            } else if let Some(k) = t.strip_prefix('!') {
                Term::Absent(k.trim().into())
            } else {
                Term::Exists(t.into())
            };
            terms.push(term);
        }
        if terms.is_empty() {
            return Err(CoreError::field(
                "pulp_label_select",
                "Invalid label select expression.",
            ));
        }
        Ok(Self(terms))
    }

    pub fn matches(&self, labels: &Map<String, Value>) -> bool {
        self.0.iter().all(|term| match term {
            Term::Exists(k) => labels.contains_key(k),
            Term::Absent(k) => !labels.contains_key(k),
            Term::Equals(k, v) => labels.get(k).and_then(Value::as_str) == Some(v.as_str()),
            Term::NotEquals(k, v) => {
                labels.contains_key(k) && labels.get(k).and_then(Value::as_str) != Some(v.as_str())
            }
            Term::Contains(k, v) => labels
                .get(k)
                .and_then(Value::as_str)
                .is_some_and(|s| s.to_lowercase().contains(v.as_str())),
        })
    }
}

/// Splits on commas not escaped as `\,`.
fn split_unescaped(s: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                out.last_mut().unwrap().push(',');
                chars.next();
            }
            ',' => out.push(String::new()),
            c => out.last_mut().unwrap().push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_select_terms() {
        let labels = json!({"env": "prod", "team": "Core, Infra"});
        let labels = labels.as_object().unwrap();
        assert!(LabelSelect::parse("env").unwrap().matches(labels));
        assert!(
            LabelSelect::parse("env=prod,!missing")
                .unwrap()
                .matches(labels)
        );
        assert!(!LabelSelect::parse("env!=prod").unwrap().matches(labels));
        assert!(
            LabelSelect::parse("team~core\\, infra")
                .unwrap()
                .matches(labels)
        );
        assert!(!LabelSelect::parse("missing").unwrap().matches(labels));
    }

    #[test]
    fn label_validation() {
        assert!(validate(&json!({"a": "b", "c": null})).is_ok());
        assert!(validate(&json!({"a": 1})).is_err());
        assert!(validate(&json!(["a"])).is_err());
    }
}

/// The tables whose rows carry `pulp_labels`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Labeled {
    Repository,
    Remote,
    Distribution,
    Content,
    Domain,
}

impl Labeled {
    fn table(self) -> &'static str {
        match self {
            Labeled::Repository => "repositories",
            Labeled::Remote => "remotes",
            Labeled::Distribution => "distributions",
            Labeled::Content => "contents",
            Labeled::Domain => "domains",
        }
    }

    fn model(self) -> &'static str {
        match self {
            Labeled::Repository => "FileRepository",
            Labeled::Remote => "FileRemote",
            Labeled::Distribution => "FileDistribution",
            Labeled::Content => "FileContent",
            Labeled::Domain => "Domain",
        }
    }

    /// The condition that finds row `$1` among what the request may reach: its domain's rows
    /// (`$2`), or any domain (domains are not in one).
    fn found(self) -> &'static str {
        match self {
            Labeled::Domain => "id = $1 AND $2 = $2",
            _ => "id = $1 AND domain_id = $2",
        }
    }
}

async fn load(db: &crate::db::Db, what: Labeled, id: &str) -> CoreResult<Map<String, Value>> {
    let sql = format!(
        "SELECT pulp_labels FROM {} WHERE {}",
        what.table(),
        what.found()
    );
    let text: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(crate::domain::id().to_string())
        .fetch_optional(db.pool())
        .await?;
    let text = text.ok_or_else(|| CoreError::not_found(what.model()))?;
    Ok(crate::models::labels_from_text(&text))
}

async fn store(
    db: &crate::db::Db,
    what: Labeled,
    id: &str,
    labels: Map<String, Value>,
) -> CoreResult<()> {
    let sql = format!(
        "UPDATE {} SET pulp_labels = $3, updated = $4 WHERE {}",
        what.table(),
        what.found()
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(crate::domain::id().to_string())
        .bind(Value::Object(labels).to_string())
        .bind(crate::time::now())
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Sets one label (Pulp's `set_label/` action).
pub async fn set(
    db: &crate::db::Db,
    what: Labeled,
    id: &str,
    key: &str,
    value: Option<String>,
) -> CoreResult<()> {
    let mut labels = load(db, what, id).await?;
    labels.insert(
        key.to_string(),
        value.map(Value::String).unwrap_or(Value::Null),
    );
    let labels = validate(&Value::Object(labels)).map_err(|_| {
        CoreError::field(
            "key",
            "Label keys may only contain letters, digits and _-./ and spaces.",
        )
    })?;
    store(db, what, id, labels).await
}

/// Removes one label (`unset_label/`) and returns its old value.
pub async fn unset(
    db: &crate::db::Db,
    what: Labeled,
    id: &str,
    key: &str,
) -> CoreResult<Option<String>> {
    let mut labels = load(db, what, id).await?;
    let old = labels.remove(key).ok_or_else(|| {
        CoreError::field("key", format!("Label '{key}' is not set on this object."))
    })?;
    store(db, what, id, labels).await?;
    Ok(old.as_str().map(str::to_string))
}
