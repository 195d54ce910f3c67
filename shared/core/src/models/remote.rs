//! Remotes: where a sync (or an on-demand fetch) gets content from.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::list::Table;
use super::{Labels, labels_from_text};
use crate::db::Db;
use crate::hrefs::{Kind, ResourceType, Role};
use crate::plugin::{self, Family};
use crate::secrets::Secrets;
use crate::{CoreError, CoreResult};

/// Download policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    Immediate,
    OnDemand,
    Streamed,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Immediate => "immediate",
            Policy::OnDemand => "on_demand",
            Policy::Streamed => "streamed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "immediate" => Some(Policy::Immediate),
            "on_demand" => Some(Policy::OnDemand),
            "streamed" => Some(Policy::Streamed),
            _ => None,
        }
    }
}

/// Settings kept as one JSON document; none of them is ever filtered on.
pub const SETTING_FIELDS: &[&str] = &[
    "ca_cert",
    "client_cert",
    "client_key",
    "tls_validation",
    "proxy_url",
    "proxy_username",
    "proxy_password",
    "username",
    "password",
    "max_retries",
    "total_timeout",
    "connect_timeout",
    "sock_connect_timeout",
    "sock_read_timeout",
    "headers",
    "download_concurrency",
    "rate_limit",
];

/// Write-only settings: never shown, only reported as set or not in `hidden_fields`.
pub const HIDDEN_FIELDS: &[&str] = &[
    "client_key",
    "proxy_username",
    "proxy_password",
    "username",
    "password",
];

#[derive(Debug, Clone)]
pub struct Remote {
    pub id: String,
    /// The type its `pulp_type` names (checked when the row is read).
    pub kind: Kind,
    pub pulp_type: String,
    pub name: String,
    pub url: String,
    pub policy: Policy,
    pub pulp_labels: Labels,
    pub settings: Map<String, Value>,
    pub created: String,
    pub updated: String,
}

pub const COLUMNS: &str =
    "id, pulp_type, name, url, policy, pulp_labels, settings, created, updated";

/// Remotes as lists see them.
pub static TABLE: Table = Table {
    select: COLUMNS,
    from: "remotes",
    fields: &[
        ("pulp_labels", "pulp_labels"),
        ("id", "id"),
        ("pk", "id"),
        ("pulp_type", "pulp_type"),
        ("name", "name"),
        ("pulp_created", "created"),
        ("pulp_last_updated", "updated"),
    ],
    domain: Some("remotes.domain_id"),
};

/// The type of a remote that exists only for one download (a `file_url`): no rows, no href.
static ONE_OFF: ResourceType = ResourceType {
    pulp_type: "",
    collection: "",
    prn_model: "core.oneoffremote",
    role: Role::Other { table: "" },
};

impl Remote {
    /// A remote that exists only for one download (content created from a `file_url`), with the
    /// default settings.
    pub fn ephemeral(url: &str) -> Self {
        Remote {
            id: String::new(),
            kind: &ONE_OFF,
            pulp_type: String::new(),
            name: String::new(),
            url: url.to_string(),
            policy: Policy::Immediate,
            pulp_labels: Labels::new(),
            settings: Map::new(),
            created: String::new(),
            updated: String::new(),
        }
    }

    pub fn from_row(row: &AnyRow) -> CoreResult<Self> {
        let policy: String = row.try_get("policy")?;
        let settings: String = row.try_get("settings")?;
        let pulp_type: String = row.try_get("pulp_type")?;
        Ok(Self {
            id: row.try_get("id")?,
            kind: plugin::find(Family::Remote, &pulp_type)?,
            pulp_type,
            name: row.try_get("name")?,
            url: row.try_get("url")?,
            policy: Policy::parse(&policy).unwrap_or(Policy::Immediate),
            pulp_labels: labels_from_text(&row.try_get::<String, _>("pulp_labels")?),
            settings: serde_json::from_str(&settings).unwrap_or_default(),
            created: row.try_get("created")?,
            updated: row.try_get("updated")?,
        })
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn href(&self) -> String {
        self.kind().href(&self.id)
    }

    pub fn setting(&self, name: &str) -> Option<&Value> {
        self.settings.get(name).filter(|v| !v.is_null())
    }

    /// A list-of-strings setting (tag or project filters); `None` when it is not set.
    pub fn strings(&self, name: &str) -> Option<Vec<String>> {
        self.setting(name).and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
    }

    pub fn download_concurrency(&self) -> usize {
        self.setting("download_concurrency")
            .and_then(Value::as_u64)
            .map(|n| n.clamp(1, 64) as usize)
            .unwrap_or(10)
    }

    pub fn max_retries(&self) -> u32 {
        self.setting("max_retries")
            .and_then(Value::as_u64)
            .map(|n| n.min(20) as u32)
            .unwrap_or(3)
    }

    pub fn response(&self) -> FileRemoteResponse {
        let s = |name: &str| self.settings.get(name).cloned().unwrap_or(Value::Null);
        let f = |name: &str| self.settings.get(name).and_then(Value::as_f64);
        FileRemoteResponse {
            pulp_href: self.href(),
            prn: self.kind().prn(&self.id),
            pulp_created: self.created.clone(),
            pulp_last_updated: self.updated.clone(),
            name: self.name.clone(),
            url: self.url.clone(),
            pulp_labels: self.pulp_labels.clone(),
            policy: self.policy,
            ca_cert: s("ca_cert").as_str().map(str::to_string),
            client_cert: s("client_cert").as_str().map(str::to_string),
            tls_validation: s("tls_validation").as_bool().unwrap_or(true),
            proxy_url: s("proxy_url").as_str().map(str::to_string),
            max_retries: s("max_retries").as_i64(),
            total_timeout: f("total_timeout"),
            connect_timeout: f("connect_timeout"),
            sock_connect_timeout: f("sock_connect_timeout"),
            sock_read_timeout: f("sock_read_timeout"),
            headers: s("headers").as_array().cloned().unwrap_or_default(),
            download_concurrency: s("download_concurrency").as_i64(),
            rate_limit: s("rate_limit").as_i64(),
            hidden_fields: HIDDEN_FIELDS
                .iter()
                .map(|name| HiddenField {
                    name: name.to_string(),
                    is_set: self.setting(name).is_some(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct HiddenField {
    pub name: String,
    pub is_set: bool,
}

/// A file remote: where a file repository syncs from.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FileRemoteResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    pub name: String,
    pub url: String,
    pub pulp_labels: Labels,
    pub policy: Policy,
    pub ca_cert: Option<String>,
    pub client_cert: Option<String>,
    pub tls_validation: bool,
    pub proxy_url: Option<String>,
    pub max_retries: Option<i64>,
    pub total_timeout: Option<f64>,
    pub connect_timeout: Option<f64>,
    pub sock_connect_timeout: Option<f64>,
    pub sock_read_timeout: Option<f64>,
    pub headers: Vec<Value>,
    pub download_concurrency: Option<i64>,
    pub rate_limit: Option<i64>,
    pub hidden_fields: Vec<HiddenField>,
}

pub async fn get(db: &Db, id: &str) -> CoreResult<Remote> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM remotes WHERE id = $1 AND domain_id = $2"
    )))
    .bind(id)
    .bind(crate::domain::id().to_string())
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| CoreError::not_found("Remote"))?;
    let mut remote = Remote::from_row(&row)?;
    open_secrets(db, &mut remote.settings)?;
    Ok(remote)
}

/// `settings` as stored: the secret fields (`HIDDEN_FIELDS`, those Pulp encrypts) as tokens.
fn sealed(db: &Db, settings: &Map<String, Value>) -> CoreResult<Map<String, Value>> {
    let mut stored = settings.clone();
    for field in HIDDEN_FIELDS {
        if let Some(Value::String(plain)) = settings.get(*field) {
            let token = db.secrets()?.encrypt(plain)?;
            stored.insert(field.to_string(), Value::String(token));
        }
    }
    Ok(stored)
}

/// `settings` as read: the secret fields decrypted.
/// Checks the connection settings of one download (a content create's `downloader_config`):
/// only remote settings, each valid, building a usable client; returns them with the secret
/// ones encrypted, fit to travel in task arguments.
pub fn sealed_download_settings(
    db: &Db,
    config: &Map<String, Value>,
) -> CoreResult<Map<String, Value>> {
    if let Some(k) = config
        .keys()
        .find(|k| !SETTING_FIELDS.contains(&k.as_str()))
    {
        return Err(CoreError::field(
            "downloader_config",
            format!("Unexpected field: {k}."),
        ));
    }
    let mut settings = config.clone();
    clean_certificates(&mut settings)?;
    validate_settings(&settings)?;
    check_client_settings(&settings)?;
    sealed(db, &settings)
}

/// A one-off remote for `url` with settings from [`sealed_download_settings`].
pub fn one_off(db: &Db, url: &str, sealed: Option<&Map<String, Value>>) -> CoreResult<Remote> {
    let mut remote = Remote::ephemeral(url);
    if let Some(settings) = sealed {
        remote.settings = settings.clone();
        open_secrets(db, &mut remote.settings)?;
    }
    Ok(remote)
}

fn open_secrets(db: &Db, settings: &mut Map<String, Value>) -> CoreResult<()> {
    for field in HIDDEN_FIELDS {
        if let Some(Value::String(token)) = settings.get(*field) {
            let plain = db.secrets()?.decrypt(token).ok_or_else(|| {
                CoreError::Internal(format!(
                    "a remote's {field} does not decrypt with the keys of PULP_DB_ENCRYPTION_KEY"
                ))
            })?;
            settings.insert(field.to_string(), Value::String(plain));
        }
    }
    Ok(())
}

/// Encrypts the secret fields stored in plain text (by a version before secrets at rest);
/// run at start-up after the migrations, and a no-op once done.
pub async fn encrypt_plain_secrets(db: &Db) -> CoreResult<()> {
    let secrets = db.secrets()?;
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT id, settings FROM remotes")
        .fetch_all(db.pool())
        .await?;
    for (id, raw) in rows {
        let Ok(mut settings) = serde_json::from_str::<Map<String, Value>>(&raw) else {
            continue;
        };
        let mut changed = false;
        for field in HIDDEN_FIELDS {
            // A token of a key no longer listed stays as it is (reading it fails, loudly).
            if let Some(Value::String(v)) = settings.get(*field)
                && !Secrets::is_token(v)
            {
                let token = secrets.encrypt(v)?;
                settings.insert(field.to_string(), Value::String(token));
                changed = true;
            }
        }
        if changed {
            sqlx::query("UPDATE remotes SET settings = $2 WHERE id = $1")
                .bind(&id)
                .bind(Value::Object(settings).to_string())
                .execute(db.pool())
                .await?;
        }
    }
    Ok(())
}

/// A remote of the given type: another plugin's remote is not found here.
pub async fn get_of_type(db: &Db, id: &str, pulp_type: &str) -> CoreResult<Remote> {
    let remote = get(db, id).await?;
    if remote.pulp_type != pulp_type {
        return Err(CoreError::not_found("Remote"));
    }
    Ok(remote)
}

/// Keeps only the certificates of `ca_cert` and `client_cert` (each must parse; comments and
/// anything else between them go), as Pulp stores them; a field with no certificate is a 400.
pub fn clean_certificates(settings: &mut Map<String, Value>) -> CoreResult<()> {
    for field in ["ca_cert", "client_cert"] {
        let Some(Value::String(pem)) = settings.get(field) else {
            continue;
        };
        if pem.is_empty() {
            continue;
        }
        let cleaned = crate::download::certificates_of(pem)
            .map_err(|why| CoreError::field(field, format!("Invalid {field} specified: {why}.")))?;
        settings.insert(field.into(), Value::String(cleaned));
    }
    Ok(())
}

/// Checks that the TLS and proxy settings build a working client (bad PEM is a 400 now, not a
/// failed sync later).
pub fn check_client_settings(settings: &Map<String, Value>) -> CoreResult<()> {
    let mut probe = Remote::ephemeral("");
    probe.settings = settings.clone();
    crate::download::build_client(&probe).map(|_| ())
}

/// Validates remote settings (shared by create and update).
pub fn validate_settings(settings: &Map<String, Value>) -> CoreResult<()> {
    for (k, v) in settings {
        if v.is_null() {
            continue;
        }
        let ok = match k.as_str() {
            "tls_validation" => v.is_boolean(),
            "max_retries" | "rate_limit" => v.as_i64().is_some_and(|n| n >= 0),
            "download_concurrency" => v.as_i64().is_some_and(|n| n >= 1),
            "total_timeout" | "connect_timeout" | "sock_connect_timeout" | "sock_read_timeout" => {
                v.as_f64().is_some_and(|n| n >= 0.0)
            }
            "headers" => v.as_array().is_some_and(|a| a.iter().all(Value::is_object)),
            // Container remotes: tag filters and pull-through name filters.
            "include_tags" | "exclude_tags" | "includes" | "excludes" | "package_types"
            | "exclude_platforms" => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
            "prereleases" | "provenance" => v.is_boolean(),
            "keep_latest_packages" => v.as_i64().is_some_and(|n| n >= 0),
            _ => v.is_string(),
        };
        if !ok {
            let msg = match k.as_str() {
                "download_concurrency" => "Ensure this value is greater than or equal to 1.",
                "headers" => "Expected a list of objects.",
                "include_tags" | "exclude_tags" | "includes" | "excludes" | "package_types"
                | "exclude_platforms" => "Expected a list of strings.",
                "prereleases" | "provenance" => "Must be a valid boolean.",
                "keep_latest_packages" => "Ensure this value is greater than or equal to 0.",
                _ => "Invalid value.",
            };
            return Err(CoreError::field(k, msg));
        }
    }
    Ok(())
}

/// A remote's url: http, https or file, as Pulp takes it (even `http://` alone), without
/// credentials in it (they go in `username` and `password`, which are kept secret).
pub fn validate_url(url: &str) -> CoreResult<()> {
    let rest = ["http://", "https://", "file://"]
        .iter()
        .find_map(|scheme| url.strip_prefix(scheme));
    let Some(rest) = rest.filter(|_| url.len() <= 8192 && !url.contains(char::is_control)) else {
        return Err(CoreError::field("url", "Enter a valid URL."));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(CoreError::field(
            "url",
            "The remote url cannot contain a username or password: use the username and \
             password fields.",
        ));
    }
    Ok(())
}

/// A `file://` URL must name a path under `PULP_ALLOWED_IMPORT_PATHS`, as Pulp requires.
pub fn check_local_url(field: &str, url: &str, allowed: &[std::path::PathBuf]) -> CoreResult<()> {
    let Some(path) = url.strip_prefix("file://") else {
        return Ok(());
    };
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    match crate::importexport::is_allowed(&decoded, allowed) {
        Some(_) => Ok(()),
        None => Err(CoreError::field(
            field,
            format!("The path '{path}' does not start with any of the allowed import paths"),
        )),
    }
}

pub struct NewRemote {
    /// The remote type's `pulp_type`.
    pub pulp_type: &'static str,
    pub name: String,
    pub url: String,
    pub policy: Policy,
    pub pulp_labels: Labels,
    pub settings: Map<String, Value>,
}

pub async fn create(db: &Db, mut r: NewRemote) -> CoreResult<Remote> {
    validate_url(&r.url)?;
    clean_certificates(&mut r.settings)?;
    validate_settings(&r.settings)?;
    check_client_settings(&r.settings)?;
    let id = crate::new_id();
    let now = crate::time::now();
    let res = sqlx::query(
        "INSERT INTO remotes (id, pulp_type, name, url, policy, pulp_labels, settings, created, updated, domain_id) \
         VALUES ($1, $8, $2, $3, $4, $5, $6, $7, $7, $9)",
    )
    .bind(&id)
    .bind(&r.name)
    .bind(&r.url)
    .bind(r.policy.as_str())
    .bind(Value::Object(r.pulp_labels).to_string())
    .bind(Value::Object(sealed(db, &r.settings)?).to_string())
    .bind(now)
    .bind(r.pulp_type)
    .bind(crate::domain::id().to_string())
    .execute(db.pool())
    .await;
    unique_name(res.map_err(CoreError::from))?;
    get(db, &id).await
}

/// Applies changes; returns false when nothing changed.
pub async fn update(db: &Db, id: &str, changes: Map<String, Value>) -> CoreResult<bool> {
    let mut remote = get(db, id).await?;
    let before = (
        remote.name.clone(),
        remote.url.clone(),
        remote.policy,
        remote.pulp_labels.clone(),
        remote.settings.clone(),
    );
    for (k, v) in changes {
        match k.as_str() {
            "name" => remote.name = v.as_str().unwrap_or_default().to_string(),
            "url" => remote.url = v.as_str().unwrap_or_default().to_string(),
            "policy" => {
                remote.policy = v
                    .as_str()
                    .and_then(Policy::parse)
                    .ok_or_else(|| CoreError::field("policy", "Invalid policy."))?
            }
            "pulp_labels" => remote.pulp_labels = crate::labels::validate(&v)?,
            _ => {
                remote.settings.insert(k, v);
            }
        }
    }
    validate_url(&remote.url)?;
    clean_certificates(&mut remote.settings)?;
    validate_settings(&remote.settings)?;
    check_client_settings(&remote.settings)?;
    if before
        == (
            remote.name.clone(),
            remote.url.clone(),
            remote.policy,
            remote.pulp_labels.clone(),
            remote.settings.clone(),
        )
    {
        return Ok(false);
    }
    let res = sqlx::query(
        "UPDATE remotes SET name = $2, url = $3, policy = $4, pulp_labels = $5, settings = $6, updated = $7 WHERE id = $1",
    )
    .bind(id)
    .bind(&remote.name)
    .bind(&remote.url)
    .bind(remote.policy.as_str())
    .bind(Value::Object(remote.pulp_labels).to_string())
    .bind(Value::Object(sealed(db, &remote.settings)?).to_string())
    .bind(crate::time::now())
    .execute(db.pool())
    .await;
    unique_name(res.map_err(CoreError::from))?;
    Ok(true)
}

pub async fn delete(db: &Db, id: &str) -> CoreResult<()> {
    sqlx::query("DELETE FROM remotes WHERE id = $1")
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Turns a unique violation on `name` into Pulp's validation error.
pub fn unique_name<T>(res: CoreResult<T>) -> CoreResult<T> {
    match res {
        Err(e) if e.is_unique_violation() => Err(CoreError::Invalid(
            json!({"name": ["This field must be unique."]}),
        )),
        other => other,
    }
}

/// Records that `url` of remote `remote_id` gave bytes that failed their digest, now; and
/// forgets the failures older than `cooldown_secs`, which count no more.
pub async fn record_fetch_failure(
    db: &Db,
    remote_id: &str,
    url: &str,
    cooldown_secs: u64,
) -> CoreResult<()> {
    let now = crate::time::now();
    sqlx::query("DELETE FROM source_failures WHERE failed_at < $1")
        .bind(crate::time::ago(cooldown_secs))
        .execute(db.pool())
        .await?;
    sqlx::query(
        "INSERT INTO source_failures (remote_id, url, failed_at) VALUES ($1, $2, $3) \
         ON CONFLICT (remote_id, url) DO UPDATE SET failed_at = $3",
    )
    .bind(remote_id)
    .bind(url)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Whether `url` of remote `remote_id` failed its digest within the last `cooldown_secs`.
pub async fn fetch_failed_recently(
    db: &Db,
    remote_id: &str,
    url: &str,
    cooldown_secs: u64,
) -> CoreResult<bool> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT failed_at FROM source_failures WHERE remote_id = $1 AND url = $2 AND failed_at >= $3",
    )
    .bind(remote_id)
    .bind(url)
    .bind(crate::time::ago(cooldown_secs))
    .fetch_optional(db.pool())
    .await?;
    Ok(found.is_some())
}
