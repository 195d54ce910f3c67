//! Upstream Pulps (Pulp's replication): another Pulp, or Depot, whose distributions a domain
//! here mirrors. Its connection settings are kept as a remote's are (the same names, checked
//! the same way, the secret ones encrypted), since the remotes replication makes take them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::list::Table;
use super::remote::{self, HiddenField, Remote};
use crate::db::Db;
use crate::hrefs::UPSTREAM_PULP;
use crate::{CoreError, CoreResult};

/// The connection settings an upstream Pulp has (a subset of a remote's).
pub const SETTINGS: &[&str] = &[
    "ca_cert",
    "client_cert",
    "client_key",
    "tls_validation",
    "username",
    "password",
    "download_concurrency",
    "max_retries",
    "total_timeout",
    "connect_timeout",
    "sock_connect_timeout",
    "sock_read_timeout",
];

/// Of [`SETTINGS`], those the remotes that replication makes take: not the credentials, which
/// are the upstream API's, not its content app's.
pub const REMOTE_SETTINGS: &[&str] = &[
    "ca_cert",
    "client_cert",
    "client_key",
    "tls_validation",
    "download_concurrency",
    "max_retries",
    "total_timeout",
    "connect_timeout",
    "sock_connect_timeout",
    "sock_read_timeout",
];

const HIDDEN: [&str; 3] = ["client_key", "username", "password"];

/// The longest base URL, API root, domain name kept.
pub const MAX_URL: usize = 2048;
pub const MAX_NAME: usize = 255;

/// Which local objects replication manages (Pulp's `policy` choices).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Every object of the replicated types in the domain.
    All,
    /// Only those an earlier replication of this upstream made (labelled with it).
    Labeled,
    /// Objects are made and updated, never deleted.
    Nodelete,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::All => "all",
            Policy::Labeled => "labeled",
            Policy::Nodelete => "nodelete",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "all" => Some(Policy::All),
            "labeled" => Some(Policy::Labeled),
            "nodelete" => Some(Policy::Nodelete),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct UpstreamPulp {
    pub id: String,
    pub name: String,
    pub base_url: String,
    pub api_root: String,
    pub domain: Option<String>,
    /// As stored: the secret ones encrypted.
    pub settings: Map<String, Value>,
    /// The download policy of the remotes replication makes (the remotes' default if unset).
    pub remote_policy: Option<remote::Policy>,
    pub q_select: Option<String>,
    pub policy: Policy,
    pub last_replication: Option<String>,
    pub created: String,
    pub updated: String,
}

/// An upstream Pulp as Pulp shows it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UpstreamPulpResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    /// Timestamp of the most recent update of the remote.
    pub pulp_last_updated: String,
    /// A unique name for this Pulp server.
    pub name: String,
    /// The transport, hostname, and an optional port of the Pulp server. e.g.
    /// https://example.com
    pub base_url: String,
    /// The API root. Defaults to '/pulp/'.
    pub api_root: String,
    /// The domain of the Pulp server if enabled.
    pub domain: Option<String>,
    /// A PEM encoded CA certificate used to validate the server certificate presented by the
    /// remote server.
    pub ca_cert: Option<String>,
    /// A PEM encoded client certificate used for authentication.
    pub client_cert: Option<String>,
    /// If True, TLS peer validation must be performed.
    pub tls_validation: bool,
    pub download_concurrency: Option<i64>,
    pub max_retries: Option<i64>,
    pub total_timeout: Option<f64>,
    pub connect_timeout: Option<f64>,
    pub sock_connect_timeout: Option<f64>,
    pub sock_read_timeout: Option<f64>,
    /// Download policy for remotes created during replication. Distinct from 'policy', which
    /// controls how replicate manages local objects.
    pub remote_policy: Option<remote::Policy>,
    /// List of hidden (write only) fields
    pub hidden_fields: Vec<HiddenField>,
    /// Filter distributions on the upstream Pulp using complex filtering.
    pub q_select: Option<String>,
    /// Timestamp of the last replication that occurred. Equals to 'null' if no replication
    /// task has been executed.
    pub last_replication: Option<String>,
    /// Policy for how replicate will manage the local objects within the domain.
    pub policy: Policy,
}

const COLUMNS: &str = "id, name, base_url, api_root, upstream_domain, settings, remote_policy, \
    q_select, policy, last_replication, created, updated";

/// Upstream Pulps as lists see them.
pub static TABLE: Table = Table {
    select: COLUMNS,
    from: "upstream_pulps",
    fields: &[
        ("id", "id"),
        ("pk", "id"),
        ("name", "name"),
        ("base_url", "base_url"),
        ("last_replication", "last_replication"),
        ("pulp_created", "created"),
        ("pulp_last_updated", "updated"),
    ],
    domain: Some("upstream_pulps.domain_id"),
};

impl UpstreamPulp {
    pub fn from_row(row: &AnyRow) -> CoreResult<Self> {
        let settings: String = row.try_get("settings")?;
        let policy: String = row.try_get("policy")?;
        Ok(Self {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            base_url: row.try_get("base_url")?,
            api_root: row.try_get("api_root")?,
            domain: row.try_get("upstream_domain")?,
            settings: serde_json::from_str(&settings).unwrap_or_default(),
            remote_policy: row
                .try_get::<Option<String>, _>("remote_policy")?
                .as_deref()
                .and_then(remote::Policy::parse),
            q_select: row.try_get("q_select")?,
            policy: Policy::parse(&policy).unwrap_or(Policy::All),
            last_replication: row.try_get("last_replication")?,
            created: row.try_get("created")?,
            updated: row.try_get("updated")?,
        })
    }

    pub fn href(&self) -> String {
        UPSTREAM_PULP.href(&self.id)
    }

    pub fn prn(&self) -> String {
        UPSTREAM_PULP.prn(&self.id)
    }

    fn setting(&self, name: &str) -> Option<&Value> {
        self.settings.get(name).filter(|v| !v.is_null())
    }

    pub fn response(&self) -> UpstreamPulpResponse {
        let text = |k: &str| self.setting(k).and_then(Value::as_str).map(str::to_string);
        let float = |k: &str| self.setting(k).and_then(Value::as_f64);
        UpstreamPulpResponse {
            pulp_href: self.href(),
            prn: self.prn(),
            pulp_created: self.created.clone(),
            pulp_last_updated: self.updated.clone(),
            name: self.name.clone(),
            base_url: self.base_url.clone(),
            api_root: self.api_root.clone(),
            domain: self.domain.clone(),
            ca_cert: text("ca_cert"),
            client_cert: text("client_cert"),
            tls_validation: self
                .setting("tls_validation")
                .and_then(Value::as_bool)
                .unwrap_or(true),
            download_concurrency: self.setting("download_concurrency").and_then(Value::as_i64),
            max_retries: self.setting("max_retries").and_then(Value::as_i64),
            total_timeout: float("total_timeout"),
            connect_timeout: float("connect_timeout"),
            sock_connect_timeout: float("sock_connect_timeout"),
            sock_read_timeout: float("sock_read_timeout"),
            remote_policy: self.remote_policy,
            hidden_fields: HIDDEN
                .iter()
                .map(|name| HiddenField {
                    name: name.to_string(),
                    is_set: self.setting(name).is_some(),
                })
                .collect(),
            q_select: self.q_select.clone(),
            last_replication: self.last_replication.clone(),
            policy: self.policy,
        }
    }

    /// A client-side view for requests to the upstream API: a one-off remote at the base URL
    /// with the settings opened.
    pub fn api_remote(&self, db: &Db) -> CoreResult<Remote> {
        remote::one_off(db, &self.base_url, Some(&self.settings))
    }

    /// The settings the remotes replication makes take, opened (as a remote's update takes
    /// them); unset ones are null, so that an update clears them.
    pub fn remote_settings(&self, db: &Db) -> CoreResult<Map<String, Value>> {
        let opened = self.api_remote(db)?.settings;
        Ok(REMOTE_SETTINGS
            .iter()
            .map(|k| {
                let v = opened.get(*k).cloned().unwrap_or(Value::Null);
                (k.to_string(), v)
            })
            .collect())
    }
}

/// The fields of a create or an update, checked.
#[derive(Debug, Default)]
pub struct Fields {
    pub name: Option<String>,
    pub base_url: Option<String>,
    pub api_root: Option<String>,
    pub domain: Option<Option<String>>,
    /// The settings sent (null clears one).
    pub settings: Map<String, Value>,
    pub remote_policy: Option<Option<remote::Policy>>,
    pub q_select: Option<Option<String>>,
    pub policy: Option<Policy>,
}

/// Checks what a client sent (field by field, as the serializer does) into [`Fields`].
/// `creating` requires what a create must have.
pub fn check(values: &Map<String, Value>, creating: bool) -> CoreResult<Fields> {
    let mut out = Fields::default();
    for required in ["name", "base_url", "api_root"] {
        if creating && values.get(required).is_none_or(Value::is_null) {
            let why = match values.get(required) {
                Some(Value::Null) => "This field may not be null.",
                _ => "This field is required.",
            };
            return Err(CoreError::field(required, why));
        }
    }
    let text = |field: &str, max: usize| -> CoreResult<Option<String>> {
        match values.get(field) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => {
                Err(CoreError::field(field, "This field may not be blank."))
            }
            Some(Value::String(s)) if s.len() > max => Err(CoreError::field(
                field,
                format!("Ensure this field has no more than {max} characters."),
            )),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Null) => Err(CoreError::field(field, "This field may not be null.")),
            Some(_) => Err(CoreError::field(field, "Not a valid string.")),
        }
    };
    out.name = text("name", MAX_NAME)?;
    out.base_url = text("base_url", MAX_URL)?;
    if let Some(url) = &out.base_url {
        check_base_url(url)?;
    }
    out.api_root = text("api_root", MAX_NAME)?;
    if let Some(root) = &out.api_root
        && (root.contains(['?', '#', '\\', ' ']) || root.contains("..") || root.contains("//"))
    {
        return Err(CoreError::field(
            "api_root",
            "The API root is a plain path, e.g. '/pulp/'.",
        ));
    }
    match values.get("domain") {
        None => {}
        Some(Value::Null) => out.domain = Some(None),
        Some(Value::String(d))
            if !d.is_empty()
                && d.len() <= MAX_NAME
                && d.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) =>
        {
            out.domain = Some(Some(d.clone()))
        }
        Some(_) => {
            return Err(CoreError::field(
                "domain",
                "A domain name has only letters, digits, '-', '_' and '.'.",
            ));
        }
    }
    match values.get("q_select") {
        None => {}
        Some(Value::Null) => out.q_select = Some(None),
        Some(Value::String(q)) if q.trim().is_empty() => out.q_select = Some(None),
        Some(Value::String(q)) => out.q_select = Some(Some(q.clone())),
        Some(_) => return Err(CoreError::field("q_select", "Not a valid string.")),
    }
    match values.get("remote_policy") {
        None => {}
        Some(Value::Null) => out.remote_policy = Some(None),
        Some(p) => {
            let shown = p.as_str().map_or_else(|| p.to_string(), str::to_string);
            let parsed = p.as_str().and_then(remote::Policy::parse).ok_or_else(|| {
                CoreError::field(
                    "remote_policy",
                    format!("\"{shown}\" is not a valid choice."),
                )
            })?;
            out.remote_policy = Some(Some(parsed));
        }
    }
    if let Some(p) = values.get("policy") {
        let shown = p.as_str().map_or_else(|| p.to_string(), str::to_string);
        out.policy = Some(p.as_str().and_then(Policy::parse).ok_or_else(|| {
            CoreError::field("policy", format!("\"{shown}\" is not a valid choice."))
        })?);
    }
    for k in SETTINGS {
        if let Some(v) = values.get(*k) {
            out.settings.insert(k.to_string(), v.clone());
        }
    }
    Ok(out)
}

/// An upstream's base URL: http or https, a host, no credentials (they go in `username` and
/// `password`, which are kept secret).
fn check_base_url(url: &str) -> CoreResult<()> {
    let bad = || CoreError::field("base_url", "Enter a valid URL.");
    let rest = ["http://", "https://"]
        .iter()
        .find_map(|s| url.strip_prefix(s))
        .ok_or_else(bad)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || url.contains(char::is_whitespace) {
        return Err(bad());
    }
    remote::validate_url(url).map_err(|_| {
        CoreError::field(
            "base_url",
            "The base URL cannot contain a username or password: use the username and \
             password fields.",
        )
    })
}

/// `stored` (sealed) with `changes` applied, checked as a remote's settings are and sealed.
fn merged_settings(
    db: &Db,
    stored: Option<&UpstreamPulp>,
    changes: &Map<String, Value>,
) -> CoreResult<Map<String, Value>> {
    let mut opened = match stored {
        Some(u) => u.api_remote(db)?.settings,
        None => Map::new(),
    };
    for (k, v) in changes {
        match v {
            Value::Null => opened.remove(k),
            v => opened.insert(k.clone(), v.clone()),
        };
    }
    remote::sealed_download_settings(db, &opened)
}

/// Creates an upstream Pulp in the domain in force.
pub async fn create(db: &Db, f: Fields) -> CoreResult<UpstreamPulp> {
    let settings = merged_settings(db, None, &f.settings)?;
    let id = crate::new_id();
    let now = crate::time::now();
    let res = sqlx::query(
        "INSERT INTO upstream_pulps (id, name, domain_id, base_url, api_root, upstream_domain, \
         settings, q_select, policy, created, updated, remote_policy) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)",
    )
    .bind(&id)
    .bind(f.name.unwrap_or_default())
    .bind(crate::domain::id().to_string())
    .bind(f.base_url.unwrap_or_default())
    .bind(f.api_root.unwrap_or_else(|| "/pulp/".into()))
    .bind(f.domain.flatten())
    .bind(Value::Object(settings).to_string())
    .bind(f.q_select.flatten())
    .bind(f.policy.unwrap_or(Policy::All).as_str())
    .bind(now)
    .bind(f.remote_policy.flatten().map(|p| p.as_str()))
    .execute(db.pool())
    .await;
    remote::unique_name(res.map_err(CoreError::from))?;
    get(db, &id).await
}

/// Applies checked changes; a PUT sends every field (unsent settings are cleared by the
/// caller, which sends them as null).
pub async fn update(db: &Db, id: &str, f: Fields) -> CoreResult<UpstreamPulp> {
    let u = get(db, id).await?;
    let settings = merged_settings(db, Some(&u), &f.settings)?;
    let res = sqlx::query(
        "UPDATE upstream_pulps SET name = $2, base_url = $3, api_root = $4, upstream_domain = $5, \
         settings = $6, q_select = $7, policy = $8, updated = $9, remote_policy = $10 WHERE id = $1",
    )
    .bind(id)
    .bind(f.name.unwrap_or(u.name))
    .bind(f.base_url.unwrap_or(u.base_url))
    .bind(f.api_root.unwrap_or(u.api_root))
    .bind(f.domain.unwrap_or(u.domain))
    .bind(Value::Object(settings).to_string())
    .bind(f.q_select.unwrap_or(u.q_select))
    .bind(f.policy.unwrap_or(u.policy).as_str())
    .bind(crate::time::now())
    .bind(f.remote_policy.unwrap_or(u.remote_policy).map(|p| p.as_str()))
    .execute(db.pool())
    .await;
    remote::unique_name(res.map_err(CoreError::from))?;
    get(db, id).await
}

/// Records when the last successful replication started, leaving `pulp_last_updated` alone
/// (replication compares the two).
pub async fn set_last_replication(db: &Db, id: &str, at: &str) -> CoreResult<()> {
    sqlx::query("UPDATE upstream_pulps SET last_replication = $2 WHERE id = $1")
        .bind(id)
        .bind(at)
        .execute(db.pool())
        .await?;
    Ok(())
}

pub async fn delete(db: &Db, id: &str) -> CoreResult<()> {
    sqlx::query("DELETE FROM upstream_pulps WHERE id = $1")
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// The upstream Pulp `id` in the domain in force.
pub async fn get(db: &Db, id: &str) -> CoreResult<UpstreamPulp> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM upstream_pulps WHERE id = $1 AND domain_id = $2"
    )))
    .bind(id)
    .bind(crate::domain::id().to_string())
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| CoreError::not_found("UpstreamPulp"))?;
    UpstreamPulp::from_row(&row)
}
