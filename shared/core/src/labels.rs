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
        // Parentheses would be ambiguous in Pulp's label selectors; Pulp refuses them.
        if v.as_str().is_some_and(|v| v.contains(['(', ')'])) {
            return Err(CoreError::field(
                "pulp_labels",
                format!("Key '{k}' contains value with parenthesis."),
            ));
        }
    }
    Ok(map.clone())
}

/// One term of a `pulp_label_select` expression.
#[derive(Debug, Clone, PartialEq)]
enum Term {
    Exists(String),
    Absent(String),
    Equals(String, String),
    NotEquals(String, String),
    Contains(String, String),
}

/// A parsed `pulp_label_select`: all terms must hold.
#[derive(Debug, Clone)]
pub struct LabelSelect(Vec<Term>);

impl LabelSelect {
    /// Parses Pulp's grammar: comma-separated terms (`\\,` escapes a comma in a value), each
    /// `key`, `!key`, `key=value`, `key!=value` or `key~value`, keys of label characters.
    pub fn parse(expr: &str) -> CoreResult<Self> {
        let terms = split_unescaped(expr)
            .iter()
            .map(|raw| parse_term(raw.trim()))
            .collect::<CoreResult<Vec<_>>>()?;
        Ok(Self(terms))
    }

    /// The SQL condition that holds where the labels object `json` (an SQL expression of JSON
    /// type) matches, with a `?` for each value returned. A label set to null exists.
    pub fn to_sql(&self, json: &str) -> (String, Vec<String>) {
        let mut parts = Vec::new();
        let mut binds = Vec::new();
        for term in &self.0 {
            let (cond, values): (String, Vec<String>) = match term {
                Term::Exists(k) => (format!("({json} -> ?) IS NOT NULL"), vec![k.clone()]),
                Term::Absent(k) => (format!("({json} -> ?) IS NULL"), vec![k.clone()]),
                Term::Equals(k, v) => (format!("({json} ->> ?) = ?"), vec![k.clone(), v.clone()]),
                Term::NotEquals(k, v) => (
                    format!("(({json} -> ?) IS NOT NULL AND COALESCE({json} ->> ?, '') <> ?)"),
                    vec![k.clone(), k.clone(), v.clone()],
                ),
                Term::Contains(k, v) => {
                    let escaped = v
                        .replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_");
                    (
                        format!("LOWER({json} ->> ?) LIKE ? ESCAPE '\\'"),
                        vec![k.clone(), format!("%{escaped}%")],
                    )
                }
            };
            parts.push(cond);
            binds.extend(values);
        }
        if parts.is_empty() {
            return ("1 = 1".into(), binds);
        }
        (parts.join(" AND "), binds)
    }
}

fn is_key_char(c: char) -> bool {
    c.is_alphanumeric() || "_ .-".contains(c)
}

fn parse_term(term: &str) -> CoreResult<Term> {
    let invalid = |why: String| CoreError::field("pulp_label_select", why);
    let (negated, rest) = match term.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, term),
    };
    let key_len = rest.find(|c| !is_key_char(c)).unwrap_or(rest.len());
    let (key, tail) = rest.split_at(key_len);
    let key = key.trim().to_string();
    if key.is_empty() {
        return Err(invalid(format!("Invalid search term: '{term}'.")));
    }
    let op = ["!=", "=", "~"]
        .into_iter()
        .find_map(|op| tail.strip_prefix(op).map(|v| (op, v.trim().to_string())));
    match (negated, op) {
        (true, Some(_)) => Err(invalid(format!("Cannot use an operator with '!{key}'."))),
        (true, None) if tail.trim().is_empty() => Ok(Term::Absent(key)),
        (false, None) if tail.trim().is_empty() => Ok(Term::Exists(key)),
        (_, None) => Err(invalid(format!("Invalid search term: '{term}'."))),
        (false, Some(("!=", v))) => Ok(Term::NotEquals(key, v)),
        (false, Some(("~", v))) => Ok(Term::Contains(key, v.to_lowercase())),
        (false, Some((_, v))) => Ok(Term::Equals(key, v)),
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
        // Each term becomes one condition, its values bound in order.
        let (sql, binds) = LabelSelect::parse("env=prod,!missing,team~Core\\, Infra")
            .unwrap()
            .to_sql("l");
        assert_eq!(
            sql,
            "(l ->> ?) = ? AND (l -> ?) IS NULL AND LOWER(l ->> ?) LIKE ? ESCAPE '\\'"
        );
        assert_eq!(binds, ["env", "prod", "missing", "team", "%core, infra%"]);
        let (_, binds) = LabelSelect::parse("a~50%_off").unwrap().to_sql("l");
        assert_eq!(binds[1], "%50\\%\\_off%");
        for bad in [
            "",
            "!environment=production",
            "=bad filter",
            "env@x",
            "a,,b",
        ] {
            assert!(LabelSelect::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn label_validation() {
        assert!(validate(&json!({"a": "b", "c": null})).is_ok());
        assert!(validate(&json!({"a": 1})).is_err());
        assert!(validate(&json!({"arda": "eru(illuvata)"})).is_err());
        assert!(validate(&json!({"@": "maia"})).is_err());
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
