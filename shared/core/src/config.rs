//! All configuration, read from the environment in one place. Names follow Pulp's settings with
//! the `PULP_` prefix where Pulp has one; Depot-only settings use `DEPOT_`.

use std::path::PathBuf;

use crate::checksums::Algorithm;
use crate::identity::{self, JqFilter};

/// What this process hosts (`DEPOT_ROLE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The REST API and the content app.
    Api,
    /// Task workers.
    Worker,
    /// Both (the default).
    All,
}

impl Role {
    pub fn serves_http(self) -> bool {
        self != Role::Worker
    }

    pub fn runs_workers(self) -> bool {
        self != Role::Api
    }
}

/// Where artifact bytes live (`DEPOT_STORAGE_URL`).
#[derive(Debug, Clone, PartialEq)]
pub enum StorageSettings {
    /// A folder (`file:///path`; the default is `<DEPOT_DATA_DIR>/media`).
    Fs { root: PathBuf },
    /// An S3-compatible bucket (`s3://bucket/prefix`).
    S3(S3Settings),
}

/// The S3 options, named after django-storages' `S3Storage` options as Pulp configures them
/// (`PULP_STORAGES__default__OPTIONS__<name>`).
#[derive(Debug, Clone, PartialEq)]
pub struct S3Settings {
    /// From `DEPOT_STORAGE_URL` or `bucket_name`.
    pub bucket: String,
    /// Key prefix, without slashes at either end (`location`).
    pub prefix: String,
    /// `endpoint_url`: an S3-compatible endpoint other than AWS.
    pub endpoint_url: Option<String>,
    /// `region_name`; else `AWS_REGION`, else `us-east-1`.
    pub region: Option<String>,
    /// `access_key` and `secret_key`; else the AWS default chain (env, profile, role).
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    /// `addressing_style`: `path` or `virtual`; default `path` with a custom endpoint.
    pub path_style: bool,
    /// `querystring_expire`: seconds a presigned URL stays valid, default 3600.
    pub querystring_expire: u64,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// `DEPOT_ROLE`: `api`, `worker` or `all` (default).
    pub role: Role,
    /// `DEPOT_QUEUE_URL`: an SQS queue URL; unset (or `memory`) for the in-process queue.
    pub queue_url: Option<String>,
    /// `DEPOT_QUEUE_URL_<FUNCTION>` (`DEPOT_QUEUE_URL_TASK_SYNC`, ...): the queue of one
    /// function, by function name (`task-sync`). Its tasks go there instead of the shared queue.
    pub function_queues: Vec<(String, String)>,
    /// `DEPOT_QUEUE_ENDPOINT`: the SQS endpoint, when it is neither AWS nor the queue URL's host.
    pub queue_endpoint: Option<String>,
    /// `DEPOT_STORAGE_URL` (and `PULP_STORAGES__default__OPTIONS__*`).
    pub storage: StorageSettings,
    /// `PULP_REDIRECT_TO_OBJECT_STORAGE`, default true: the content app answers with a redirect
    /// to a presigned URL instead of relaying the bytes, when the storage is object storage.
    pub redirect_to_object_storage: bool,
    /// `PULP_DOMAIN_ENABLED`, default false: the API lives under `/pulp/<domain>/api/v3/` and
    /// everything belongs to a domain (see `domain.rs`).
    pub domain_enabled: bool,
    /// `DEPOT_LAMBDA_RESPONSE_STREAM`, default false: on Lambda, answer HTTP requests with
    /// streamed responses (a Function URL in `RESPONSE_STREAM` mode) instead of buffered ones.
    pub lambda_response_stream: bool,
    /// `DEPOT_LISTEN`, default `127.0.0.1:24817`.
    pub listen: String,
    /// `DEPOT_DATA_DIR`, default `./depot-data`.
    pub data_dir: PathBuf,
    /// `DEPOT_DATABASE_URL`; default SQLite in the data dir.
    pub database_url: String,
    /// `PULP_CONTENT_ORIGIN`; default `http://<listen>`.
    pub content_origin: String,
    /// `PULP_CONTENT_PATH_PREFIX`, default `/pulp/content/`.
    pub content_path_prefix: String,
    /// `PULP_API_ROOT`: where the REST API is served, `/pulp/` by default (the API is at
    /// `<root>api/v3/`, a domain's at `<root><domain>/api/v3/`).
    pub api_root: String,
    /// `PULP_USE_X_FORWARDED_HOST`: absolute URLs name the host a proxy says the client asked
    /// for.
    pub use_x_forwarded_host: bool,
    /// `PULP_SECURE_PROXY_SSL_HEADER`, e.g. `["HTTP_X_FORWARDED_PROTO", "https"]`: absolute URLs
    /// are `https` when the request has that header (lower-case name) with that value.
    pub secure_proxy_ssl_header: Option<(String, String)>,
    /// `PULP_ADMIN_PASSWORD`.
    pub admin_password: Option<String>,
    /// `PULP_DB_ENCRYPTION_KEY`: the key file of the secrets stored encrypted (remote
    /// credentials and client keys). Unset: `<data dir>/database_fields.symmetric.key`, made
    /// on first start by a process that has its data directory to itself.
    pub db_encryption_key: Option<PathBuf>,
    /// Who may sign in without a password, on a gateway's word (off unless set).
    pub header_auth: HeaderAuth,
    /// `PULP_SESSION_COOKIE_AGE` in seconds, default two weeks (Django's): how long a session
    /// made by `login/` lasts.
    pub session_cookie_age: u64,
    /// `PULP_ALLOWED_CONTENT_CHECKSUMS`, default sha224, sha256, sha384, sha512.
    pub allowed_checksums: Vec<Algorithm>,
    /// `PULP_ORPHAN_PROTECTION_TIME` in minutes, default 1440.
    pub orphan_protection_time: u64,
    /// `PULP_REMOTE_CONTENT_FETCH_FAILURE_COOLDOWN` in seconds, default 300: how long an
    /// upstream file that failed its digest is not asked again for on-demand content.
    pub fetch_failure_cooldown: u64,
    /// `DEPOT_OSV_QUERY_URL`, default `https://api.osv.dev/v1/query` (Pulp's, fixed there):
    /// where vulnerability scans ask about packages (a mirror of OSV's API where there is no
    /// internet).
    pub osv_query_url: String,
    /// `PULP_VULN_REPORT_TASK_LIMITER`, default 10: OSV queries a scan has in flight at once.
    pub vuln_report_task_limiter: usize,
    /// `PULP_TASK_DIAGNOSTICS`: the diagnostics a dispatcher may ask for with
    /// `X-TASK-DIAGNOSTICS` (Depot has `memory`; Pulp's Python profilers are named in the
    /// start-up warning). None by default.
    pub task_diagnostics: Vec<String>,
    /// `PULP_TASK_PROTECTION_TIME` in minutes: ended tasks older than this are deleted (0, the
    /// default: kept until purged).
    pub task_protection_time: u64,
    /// `PULP_UPLOAD_PROTECTION_TIME` in minutes: uploads not added to for this long are deleted
    /// (0, the default: only orphan cleanup takes them).
    pub upload_protection_time: u64,
    /// `PULP_DISTRIBUTED_PUBLICATION_RETENTION_PERIOD` in seconds, default three days: how long
    /// a distribution still serves files of the publication it served before (0: not at all).
    pub distributed_publication_retention: u64,
    /// `DEPOT_WORKERS`: task workers in this process, default 4 (0 hosts no workers).
    pub workers: usize,
    /// `PULP_CLAMAV_HOST` and `PULP_CLAMAV_PORT` (default 3310): the clamd that scans new
    /// artifacts for malware; unset, nothing is scanned.
    pub clamav: Option<(String, u16)>,
    /// `DEPOT_SCAN_TRIGGER`: `write` (default) scans an artifact in the process that stored
    /// it; `notification` leaves it to the scan function, which object storage notifies.
    pub scan_on_write: bool,
    /// `DEPOT_TASK_HEARTBEAT_TIMEOUT` in seconds, default 30: a running task whose worker has not
    /// reported for this long is failed.
    pub heartbeat_timeout: u64,
    /// The HTTP server's time and connection limits.
    pub http: HttpLimits,
    /// `PULP_ENVVAR_HEADER_CONTENT_GUARD_ALLOWED_VARS` (a JSON list or comma-separated names,
    /// default none): the environment variables an environment-variable header guard may
    /// compare a header with. Only these: any other would let guards probe the server's secrets.
    pub envvar_guard_vars: Vec<String>,
    /// Where exporters may write (`PULP_ALLOWED_EXPORT_PATHS`); none by default, as in Pulp.
    pub allowed_export_paths: Vec<PathBuf>,
    /// What imports and `file://` remotes may read (`PULP_ALLOWED_IMPORT_PATHS`).
    pub allowed_import_paths: Vec<PathBuf>,
}

/// What the HTTP server allows a client (see `depot_http::server`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HttpLimits {
    /// `DEPOT_HTTP_HEADER_TIMEOUT`, default 20 s: time to send a request's head, and the
    /// longest a kept-alive connection may sit idle.
    pub header_timeout: std::time::Duration,
    /// `DEPOT_HTTP_STALL_TIMEOUT`, default 60 s: the longest a request body may stop arriving,
    /// or a client stop reading a response, before the connection is closed.
    pub stall_timeout: std::time::Duration,
    /// `DEPOT_MAX_CONNECTIONS`: open connections at most; default half the process's open-file
    /// limit, at most 10,000.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_timeout: std::time::Duration::from_secs(20),
            stall_timeout: std::time::Duration::from_secs(60),
            max_connections: (open_files_limit() / 2).clamp(64, 10_000),
        }
    }
}

impl HttpLimits {
    fn from_env() -> Result<Self, SettingsError> {
        let d = Self::default();
        let secs = |name: &'static str, default: std::time::Duration| {
            parsed(name, default.as_secs()).and_then(|s| match s {
                1..=3600 => Ok(std::time::Duration::from_secs(s)),
                _ => Err(SettingsError {
                    name,
                    message: format!("{s} is not between 1 and 3600 seconds"),
                }),
            })
        };
        Ok(Self {
            header_timeout: secs("DEPOT_HTTP_HEADER_TIMEOUT", d.header_timeout)?,
            stall_timeout: secs("DEPOT_HTTP_STALL_TIMEOUT", d.stall_timeout)?,
            max_connections: match parsed("DEPOT_MAX_CONNECTIONS", d.max_connections)? {
                0 => {
                    return Err(SettingsError {
                        name: "DEPOT_MAX_CONNECTIONS",
                        message: "must be at least 1".into(),
                    });
                }
                n => n,
            },
        })
    }
}

/// The soft limit on open files (Linux: `/proc/self/limits`), 1024 when it cannot be read.
fn open_files_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("Max open files"))?;
            line["Max open files".len()..]
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(1024)
}

#[derive(Debug, thiserror::Error)]
#[error("invalid setting {name}: {message}")]
pub struct SettingsError {
    pub name: &'static str,
    pub message: String,
}

/// The `PULP_` settings Depot reads (the others are Pulp's, which Depot does not have).
const KNOWN_PULP_SETTINGS: &[&str] = &[
    "PULP_ADMIN_PASSWORD",
    "PULP_ALLOWED_CONTENT_CHECKSUMS",
    "PULP_ALLOWED_EXPORT_PATHS",
    "PULP_ALLOWED_IMPORT_PATHS",
    "PULP_API_ROOT",
    "PULP_AUTHENTICATION_JSON_HEADER",
    "PULP_AUTHENTICATION_JSON_HEADER_JQ_FILTER",
    "PULP_CLAMAV_HOST",
    "PULP_CLAMAV_PORT",
    "PULP_CONTENT_ORIGIN",
    "PULP_CONTENT_PATH_PREFIX",
    "PULP_DB_ENCRYPTION_KEY",
    "PULP_DISTRIBUTED_PUBLICATION_RETENTION_PERIOD",
    "PULP_DOMAIN_ENABLED",
    "PULP_ENVVAR_HEADER_CONTENT_GUARD_ALLOWED_VARS",
    "PULP_ORPHAN_PROTECTION_TIME",
    "PULP_REDIRECT_TO_OBJECT_STORAGE",
    "PULP_REMOTE_CONTENT_FETCH_FAILURE_COOLDOWN",
    "PULP_REMOTE_USER_ENVIRON_NAME",
    "PULP_SECURE_PROXY_SSL_HEADER",
    "PULP_SESSION_COOKIE_AGE",
    "PULP_TASK_DIAGNOSTICS",
    "PULP_TASK_PROTECTION_TIME",
    "PULP_UPLOAD_PROTECTION_TIME",
    "PULP_USE_X_FORWARDED_HOST",
    "PULP_VULN_REPORT_TASK_LIMITER",
];

/// The `PULP_` settings of the environment that Depot does not read, sorted: a deployment
/// ported from Pulp learns in one line at start what has no effect here.
pub fn unsupported_pulp_settings() -> Vec<String> {
    let mut found: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| k.starts_with("PULP_") && !KNOWN_PULP_SETTINGS.contains(&k.as_str()))
        .collect();
    found.sort();
    found
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// A URL path prefix: `/` first and last, plain path characters, no empty or dot segments.
fn path_prefix(name: &'static str, default: &str) -> Result<String, SettingsError> {
    let Some(mut value) = var(name) else {
        return Ok(default.to_string());
    };
    if !value.ends_with('/') {
        value.push('/');
    }
    let segments: Vec<&str> = value.trim_matches('/').split('/').collect();
    let fine = value.starts_with('/')
        && value.len() <= 200
        && segments.iter().all(|s| {
            !s.is_empty()
                && *s != "."
                && *s != ".."
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.~".contains(c))
        });
    if !fine {
        return Err(SettingsError {
            name,
            message: format!("'{value}' is not a path like /pulp/"),
        });
    }
    Ok(value)
}

/// `PULP_SECURE_PROXY_SSL_HEADER` as Pulp (Django) takes it: a header in its CGI name and the
/// value that means https, as a JSON list of two strings.
fn secure_proxy_ssl_header() -> Result<Option<(String, String)>, SettingsError> {
    const NAME: &str = "PULP_SECURE_PROXY_SSL_HEADER";
    let Some(raw) = var(NAME) else {
        return Ok(None);
    };
    let bad = || SettingsError {
        name: NAME,
        message: format!("'{raw}' is not a list of a header and its value"),
    };
    let list = string_list(&raw).ok_or_else(bad)?;
    let [name, value] = list.as_slice() else {
        return Err(bad());
    };
    let header = name.strip_prefix("HTTP_").unwrap_or(name);
    if header.is_empty()
        || !header
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(bad());
    }
    Ok(Some((
        header.replace('_', "-").to_ascii_lowercase(),
        value.clone(),
    )))
}

/// A list of strings as Pulp's settings are written: JSON, or a Python literal with single
/// quotes (`['a', 'b']`, as dynaconf reads environment variables).
fn string_list(v: &str) -> Option<Vec<String>> {
    serde_json::from_str::<Vec<String>>(v).ok().or_else(|| {
        let t = v.trim();
        (t.starts_with('[') && !t.contains('"'))
            .then(|| serde_json::from_str::<Vec<String>>(&t.replace('\'', "\"")).ok())
            .flatten()
    })
}

fn flag(name: &'static str, default: bool) -> Result<bool, SettingsError> {
    match var(name).map(|v| v.to_ascii_lowercase()).as_deref() {
        None => Ok(default),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(v) => Err(SettingsError {
            name,
            message: format!("'{v}' is not true or false"),
        }),
    }
}

fn parsed<T: std::str::FromStr>(name: &'static str, default: T) -> Result<T, SettingsError> {
    match var(name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| SettingsError {
            name,
            message: format!("'{v}' is not a valid number"),
        }),
    }
}

/// Sign-in by headers a gateway sets (`crate::identity`), with Pulp's settings.
#[derive(Debug, Clone, Default)]
pub struct HeaderAuth {
    /// `PULP_AUTHENTICATION_JSON_HEADER` (`HTTP_X_RH_IDENTITY`) as a header name, with the
    /// filter `PULP_AUTHENTICATION_JSON_HEADER_JQ_FILTER` that names the user (default: the
    /// user name of each identity type, `identity::DEFAULT_FILTER`).
    pub json_header: Option<(String, JqFilter)>,
    /// `PULP_REMOTE_USER_ENVIRON_NAME` (`HTTP_REMOTE_USER`) as a header name: the header names
    /// the user.
    pub remote_user_header: Option<String>,
}

impl HeaderAuth {
    fn from_env() -> Result<Self, SettingsError> {
        let header = |name: &'static str| -> Result<Option<String>, SettingsError> {
            var(name)
                .map(|v| identity::header_name(&v))
                .transpose()
                .map_err(|message| SettingsError { name, message })
        };
        let json_header = match header("PULP_AUTHENTICATION_JSON_HEADER")? {
            None => None,
            Some(h) => {
                let text = var("PULP_AUTHENTICATION_JSON_HEADER_JQ_FILTER")
                    .unwrap_or_else(|| identity::DEFAULT_FILTER.to_string());
                let filter = JqFilter::parse(&text).map_err(|message| SettingsError {
                    name: "PULP_AUTHENTICATION_JSON_HEADER_JQ_FILTER",
                    message,
                })?;
                Some((h, filter))
            }
        };
        Ok(Self {
            json_header,
            remote_user_header: header("PULP_REMOTE_USER_ENVIRON_NAME")?,
        })
    }
}

impl Settings {
    pub fn from_env() -> Result<Self, SettingsError> {
        let listen = var("DEPOT_LISTEN").unwrap_or_else(|| "127.0.0.1:24817".into());
        let data_dir =
            PathBuf::from(var("DEPOT_DATA_DIR").unwrap_or_else(|| "./depot-data".into()));
        let database_url = var("DEPOT_DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{}/depot.db?mode=rwc", data_dir.display()));
        let content_origin =
            var("PULP_CONTENT_ORIGIN").unwrap_or_else(|| format!("http://{listen}"));
        let allowed_checksums = match var("PULP_ALLOWED_CONTENT_CHECKSUMS") {
            None => Algorithm::DEFAULT_ALLOWED.to_vec(),
            Some(v) => parse_checksum_list(&v)?,
        };
        let prefix = path_prefix("PULP_CONTENT_PATH_PREFIX", "/pulp/content/")?;
        let api_root = path_prefix("PULP_API_ROOT", "/pulp/")?;
        if prefix.starts_with(&format!("{api_root}api/")) {
            return Err(SettingsError {
                name: "PULP_CONTENT_PATH_PREFIX",
                message: format!("must not be under the API ({api_root}api/)"),
            });
        }
        let role = match var("DEPOT_ROLE").as_deref() {
            None | Some("all") => Role::All,
            Some("api") => Role::Api,
            Some("worker") => Role::Worker,
            Some(other) => {
                return Err(SettingsError {
                    name: "DEPOT_ROLE",
                    message: format!("'{other}' is not one of api, worker, all"),
                });
            }
        };
        let queue_url = var("DEPOT_QUEUE_URL").filter(|u| u != "memory");
        let mut function_queues: Vec<(String, String)> = std::env::vars()
            .filter_map(|(name, url)| {
                let function = name.strip_prefix(FUNCTION_QUEUE_PREFIX)?;
                (!url.is_empty()).then(|| (function.to_ascii_lowercase().replace('_', "-"), url))
            })
            .collect();
        function_queues.sort();
        if role == Role::Worker && queue_url.is_none() {
            return Err(SettingsError {
                name: "DEPOT_QUEUE_URL",
                message: "a worker-only process (DEPOT_ROLE=worker) needs a shared queue".into(),
            });
        }
        Ok(Self {
            storage: storage_settings(&data_dir, var)?,
            redirect_to_object_storage: flag("PULP_REDIRECT_TO_OBJECT_STORAGE", true)?,
            domain_enabled: flag("PULP_DOMAIN_ENABLED", false)?,
            lambda_response_stream: flag("DEPOT_LAMBDA_RESPONSE_STREAM", false)?,
            role,
            queue_url,
            function_queues,
            queue_endpoint: var("DEPOT_QUEUE_ENDPOINT"),
            listen,
            data_dir,
            database_url,
            content_origin: content_origin.trim_end_matches('/').to_string(),
            content_path_prefix: prefix,
            api_root,
            use_x_forwarded_host: flag("PULP_USE_X_FORWARDED_HOST", false)?,
            secure_proxy_ssl_header: secure_proxy_ssl_header()?,
            admin_password: var("PULP_ADMIN_PASSWORD"),
            db_encryption_key: var("PULP_DB_ENCRYPTION_KEY").map(PathBuf::from),
            header_auth: HeaderAuth::from_env()?,
            session_cookie_age: parsed("PULP_SESSION_COOKIE_AGE", 1_209_600)?,
            allowed_checksums,
            orphan_protection_time: parsed("PULP_ORPHAN_PROTECTION_TIME", 1440)?,
            fetch_failure_cooldown: parsed("PULP_REMOTE_CONTENT_FETCH_FAILURE_COOLDOWN", 300)?,
            osv_query_url: var("DEPOT_OSV_QUERY_URL")
                .unwrap_or_else(|| "https://api.osv.dev/v1/query".into()),
            vuln_report_task_limiter: parsed::<u64>("PULP_VULN_REPORT_TASK_LIMITER", 10)?
                .clamp(1, 100) as usize,
            task_diagnostics: match var("PULP_TASK_DIAGNOSTICS") {
                None => Vec::new(),
                Some(v) => string_list(&v).ok_or_else(|| SettingsError {
                    name: "PULP_TASK_DIAGNOSTICS",
                    message: format!("'{v}' is not a list of names"),
                })?,
            },
            task_protection_time: parsed("PULP_TASK_PROTECTION_TIME", 0)?,
            upload_protection_time: parsed("PULP_UPLOAD_PROTECTION_TIME", 0)?,
            distributed_publication_retention: parsed(
                "PULP_DISTRIBUTED_PUBLICATION_RETENTION_PERIOD",
                3 * 24 * 3600,
            )?,
            workers: parsed("DEPOT_WORKERS", 4)?,
            heartbeat_timeout: parsed("DEPOT_TASK_HEARTBEAT_TIMEOUT", 30)?,
            http: HttpLimits::from_env()?,
            envvar_guard_vars: match var("PULP_ENVVAR_HEADER_CONTENT_GUARD_ALLOWED_VARS") {
                Some(v) => env_var_names(&v)?,
                None => Vec::new(),
            },
            allowed_export_paths: allowed_paths("PULP_ALLOWED_EXPORT_PATHS")?,
            allowed_import_paths: allowed_paths("PULP_ALLOWED_IMPORT_PATHS")?,
            clamav: match var("PULP_CLAMAV_HOST") {
                Some(host) => Some((host, parsed("PULP_CLAMAV_PORT", 3310)?)),
                None => None,
            },
            scan_on_write: match var("DEPOT_SCAN_TRIGGER").as_deref() {
                None | Some("write") => true,
                Some("notification") => false,
                Some(other) => {
                    return Err(SettingsError {
                        name: "DEPOT_SCAN_TRIGGER",
                        message: format!("'{other}' is not one of write, notification"),
                    });
                }
            },
        })
    }

    /// Settings for tests: everything under `data_dir`, the given database.
    pub fn for_tests(data_dir: PathBuf, database_url: String, listen: String) -> Self {
        Self {
            storage: StorageSettings::Fs {
                root: data_dir.join("media"),
            },
            redirect_to_object_storage: true,
            domain_enabled: false,
            lambda_response_stream: false,
            role: Role::All,
            queue_url: None,
            function_queues: Vec::new(),
            queue_endpoint: None,
            content_origin: format!("http://{listen}"),
            listen,
            data_dir,
            database_url,
            content_path_prefix: "/pulp/content/".into(),
            api_root: "/pulp/".into(),
            use_x_forwarded_host: false,
            secure_proxy_ssl_header: None,
            admin_password: Some("password".into()),
            db_encryption_key: None,
            header_auth: HeaderAuth::default(),
            session_cookie_age: 1_209_600,
            allowed_checksums: Algorithm::DEFAULT_ALLOWED.to_vec(),
            orphan_protection_time: 1440,
            fetch_failure_cooldown: 300,
            osv_query_url: "https://api.osv.dev/v1/query".into(),
            vuln_report_task_limiter: 10,
            task_diagnostics: Vec::new(),
            task_protection_time: 0,
            upload_protection_time: 0,
            distributed_publication_retention: 3 * 24 * 3600,
            workers: 4,
            heartbeat_timeout: 30,
            http: HttpLimits::default(),
            envvar_guard_vars: Vec::new(),
            allowed_export_paths: Vec::new(),
            allowed_import_paths: Vec::new(),
            clamav: None,
            scan_on_write: true,
        }
    }
}

/// A list of absolute paths (`PULP_ALLOWED_EXPORT_PATHS` and its twin).
fn allowed_paths(name: &'static str) -> Result<Vec<PathBuf>, SettingsError> {
    match var(name) {
        None => Ok(Vec::new()),
        Some(v) => crate::importexport::parse_allowed_paths(&v)
            .map_err(|message| SettingsError { name, message }),
    }
}

/// A list setting as a list (JSON or a Python literal, Pulp's forms) or separated by commas.
pub(crate) fn list_or_commas(v: &str) -> Vec<String> {
    string_list(v).unwrap_or_else(|| {
        v.split(',')
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect()
    })
}

/// Environment variable names, as a list or separated by commas.
fn env_var_names(v: &str) -> Result<Vec<String>, SettingsError> {
    const NAME: &str = "PULP_ENVVAR_HEADER_CONTENT_GUARD_ALLOWED_VARS";
    let names = list_or_commas(v);
    let valid = |n: &str| {
        n.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    match names.iter().find(|n| !valid(n)) {
        Some(bad) => Err(SettingsError {
            name: NAME,
            message: format!("'{bad}' is not an environment variable name"),
        }),
        None => Ok(names),
    }
}

const FUNCTION_QUEUE_PREFIX: &str = "DEPOT_QUEUE_URL_";

/// The variable that names `function`'s own queue: `task-sync` -> `DEPOT_QUEUE_URL_TASK_SYNC`.
pub fn function_queue_variable(function: &str) -> String {
    format!(
        "{FUNCTION_QUEUE_PREFIX}{}",
        function.to_ascii_uppercase().replace('-', "_")
    )
}

const S3_OPTION: &str = "PULP_STORAGES__default__OPTIONS__";

/// `DEPOT_STORAGE_URL` is `file:///path` or `s3://bucket[/prefix]`. Without it, Pulp's own form
/// also selects S3: `PULP_STORAGES__default__BACKEND=storages.backends.s3.S3Storage` plus the
/// `bucket_name` option.
fn storage_settings(
    data_dir: &std::path::Path,
    var: impl Fn(&str) -> Option<String>,
) -> Result<StorageSettings, SettingsError> {
    let bad = |message: String| SettingsError {
        name: "DEPOT_STORAGE_URL",
        message,
    };
    let s3_option = |name: &str| var(&format!("{S3_OPTION}{name}"));
    let url = var("DEPOT_STORAGE_URL");
    let pulp_s3 = var("PULP_STORAGES__default__BACKEND")
        .is_some_and(|b| b.to_ascii_lowercase().contains("s3"));
    let (bucket, url_prefix) = match url.as_deref() {
        None if !pulp_s3 => {
            return Ok(StorageSettings::Fs {
                root: data_dir.join("media"),
            });
        }
        None => (
            s3_option("bucket_name").ok_or(SettingsError {
                name: "PULP_STORAGES__default__OPTIONS__bucket_name",
                message: "the S3 storage backend needs a bucket".into(),
            })?,
            String::new(),
        ),
        Some(u) => {
            if let Some(path) = u.strip_prefix("file://") {
                if path.is_empty() {
                    return Err(bad("file:// needs a path".into()));
                }
                return Ok(StorageSettings::Fs { root: path.into() });
            }
            let rest = u.strip_prefix("s3://").ok_or_else(|| {
                bad(format!(
                    "'{u}' is neither file:///path nor s3://bucket/prefix"
                ))
            })?;
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            (bucket.to_string(), prefix.to_string())
        }
    };
    if bucket.is_empty()
        || !bucket
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        return Err(bad(format!("'{bucket}' is not a valid bucket name")));
    }
    let prefix = s3_option("location")
        .unwrap_or(url_prefix)
        .trim_matches('/')
        .to_string();
    if prefix.split('/').any(|p| p == "." || p == "..") {
        return Err(bad(format!("'{prefix}' is not a valid key prefix")));
    }
    let endpoint_url = s3_option("endpoint_url");
    let path_style = match s3_option("addressing_style").as_deref() {
        None | Some("auto") => endpoint_url.is_some(),
        Some("path") => true,
        Some("virtual") => false,
        Some(other) => {
            return Err(SettingsError {
                name: "PULP_STORAGES__default__OPTIONS__addressing_style",
                message: format!("'{other}' is not one of path, virtual, auto"),
            });
        }
    };
    Ok(StorageSettings::S3(S3Settings {
        bucket,
        prefix,
        endpoint_url,
        region: s3_option("region_name"),
        access_key: s3_option("access_key"),
        secret_key: s3_option("secret_key"),
        path_style,
        querystring_expire: match s3_option("querystring_expire") {
            None => 3600,
            Some(v) => v.parse().map_err(|_| SettingsError {
                name: "PULP_STORAGES__default__OPTIONS__querystring_expire",
                message: format!("'{v}' is not a valid number"),
            })?,
        },
    }))
}

/// Accepts Pulp's Python-list form (`["sha256", "sha512"]`) and a plain comma list.
fn parse_checksum_list(v: &str) -> Result<Vec<Algorithm>, SettingsError> {
    let names = v
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|s| s.trim().trim_matches(|c| c == '"' || c == '\''))
        .filter(|s| !s.is_empty());
    let mut out = Vec::new();
    for name in names {
        let alg = Algorithm::from_name(name).ok_or_else(|| SettingsError {
            name: "PULP_ALLOWED_CONTENT_CHECKSUMS",
            message: format!("unknown checksum '{name}'"),
        })?;
        out.push(alg);
    }
    if !out.contains(&Algorithm::Sha256) {
        return Err(SettingsError {
            name: "PULP_ALLOWED_CONTENT_CHECKSUMS",
            message: "sha256 must be allowed".into(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_lists() {
        assert_eq!(
            parse_checksum_list(r#"["sha256", "md5"]"#).unwrap(),
            vec![Algorithm::Sha256, Algorithm::Md5]
        );
        assert!(parse_checksum_list("md5").is_err());
        assert!(parse_checksum_list("sha256,crc").is_err());
    }

    #[test]
    fn lists_as_json_or_python_literals() {
        let pair = Some(vec!["HTTP_X_FORWARDED_PROTO".into(), "https".into()]);
        assert_eq!(string_list(r#"["HTTP_X_FORWARDED_PROTO", "https"]"#), pair);
        assert_eq!(string_list("['HTTP_X_FORWARDED_PROTO', 'https']"), pair);
        assert_eq!(string_list("HTTP_X_FORWARDED_PROTO"), None);
        assert_eq!(string_list(r#"['a', "b"]"#), None);
    }

    fn storage(pairs: &[(&str, &str)]) -> Result<StorageSettings, SettingsError> {
        let env: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        storage_settings(std::path::Path::new("/data"), |k| env.get(k).cloned())
    }

    #[test]
    fn storage_urls() {
        assert_eq!(
            storage(&[]).unwrap(),
            StorageSettings::Fs {
                root: "/data/media".into()
            }
        );
        assert_eq!(
            storage(&[("DEPOT_STORAGE_URL", "file:///srv/depot")]).unwrap(),
            StorageSettings::Fs {
                root: "/srv/depot".into()
            }
        );
        let StorageSettings::S3(s3) = storage(&[
            ("DEPOT_STORAGE_URL", "s3://bucket/some/prefix/"),
            (
                "PULP_STORAGES__default__OPTIONS__endpoint_url",
                "http://127.0.0.1:9000",
            ),
            ("PULP_STORAGES__default__OPTIONS__querystring_expire", "60"),
        ])
        .unwrap() else {
            panic!("not S3")
        };
        assert_eq!(
            (s3.bucket.as_str(), s3.prefix.as_str(), s3.path_style),
            ("bucket", "some/prefix", true)
        );
        assert_eq!(s3.querystring_expire, 60);
        // Pulp's own form selects S3 too.
        let StorageSettings::S3(s3) = storage(&[
            (
                "PULP_STORAGES__default__BACKEND",
                "storages.backends.s3.S3Storage",
            ),
            ("PULP_STORAGES__default__OPTIONS__bucket_name", "pulp"),
            ("PULP_STORAGES__default__OPTIONS__location", "media"),
            (
                "PULP_STORAGES__default__OPTIONS__addressing_style",
                "virtual",
            ),
        ])
        .unwrap() else {
            panic!("not S3")
        };
        assert_eq!(
            (s3.bucket.as_str(), s3.prefix.as_str(), s3.path_style),
            ("pulp", "media", false)
        );
        for bad in [
            "ftp://x",
            "s3://",
            "s3://Bad Bucket/x",
            "s3://b/../x",
            "file://",
        ] {
            let e = storage(&[("DEPOT_STORAGE_URL", bad)]).unwrap_err();
            assert_eq!(e.name, "DEPOT_STORAGE_URL", "{bad}");
        }
        assert!(
            storage(&[(
                "PULP_STORAGES__default__BACKEND",
                "storages.backends.s3.S3Storage"
            )])
            .is_err()
        );
    }
}
