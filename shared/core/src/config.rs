//! All configuration, read from the environment in one place. Names follow Pulp's settings with
//! the `PULP_` prefix where Pulp has one; Depot-only settings use `DEPOT_`.

use std::path::PathBuf;

use crate::checksums::Algorithm;

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

#[derive(Debug, Clone)]
pub struct Settings {
    /// `DEPOT_ROLE`: `api`, `worker` or `all` (default).
    pub role: Role,
    /// `DEPOT_QUEUE_URL`: an SQS queue URL; unset (or `memory`) for the in-process queue.
    pub queue_url: Option<String>,
    /// `DEPOT_QUEUE_ENDPOINT`: the SQS endpoint, when it is neither AWS nor the queue URL's host.
    pub queue_endpoint: Option<String>,
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
    /// `PULP_ADMIN_PASSWORD`.
    pub admin_password: Option<String>,
    /// `PULP_ALLOWED_CONTENT_CHECKSUMS`, default sha224, sha256, sha384, sha512.
    pub allowed_checksums: Vec<Algorithm>,
    /// `PULP_ORPHAN_PROTECTION_TIME` in minutes, default 1440.
    pub orphan_protection_time: u64,
    /// `DEPOT_WORKERS`: task workers in this process, default 4 (0 hosts no workers).
    pub workers: usize,
    /// `DEPOT_TASK_HEARTBEAT_TIMEOUT` in seconds, default 30: a running task whose worker has not
    /// reported for this long is failed.
    pub heartbeat_timeout: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid setting {name}: {message}")]
pub struct SettingsError {
    pub name: &'static str,
    pub message: String,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
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
        let mut prefix = var("PULP_CONTENT_PATH_PREFIX").unwrap_or_else(|| "/pulp/content/".into());
        if !prefix.ends_with('/') {
            prefix.push('/');
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
        if role == Role::Worker && queue_url.is_none() {
            return Err(SettingsError {
                name: "DEPOT_QUEUE_URL",
                message: "a worker-only process (DEPOT_ROLE=worker) needs a shared queue".into(),
            });
        }
        Ok(Self {
            role,
            queue_url,
            queue_endpoint: var("DEPOT_QUEUE_ENDPOINT"),
            listen,
            data_dir,
            database_url,
            content_origin: content_origin.trim_end_matches('/').to_string(),
            content_path_prefix: prefix,
            admin_password: var("PULP_ADMIN_PASSWORD"),
            allowed_checksums,
            orphan_protection_time: parsed("PULP_ORPHAN_PROTECTION_TIME", 1440)?,
            workers: parsed("DEPOT_WORKERS", 4)?,
            heartbeat_timeout: parsed("DEPOT_TASK_HEARTBEAT_TIMEOUT", 30)?,
        })
    }

    /// Settings for tests: everything under `data_dir`, the given database.
    pub fn for_tests(data_dir: PathBuf, database_url: String, listen: String) -> Self {
        Self {
            role: Role::All,
            queue_url: None,
            queue_endpoint: None,
            content_origin: format!("http://{listen}"),
            listen,
            data_dir,
            database_url,
            content_path_prefix: "/pulp/content/".into(),
            admin_password: Some("password".into()),
            allowed_checksums: Algorithm::DEFAULT_ALLOWED.to_vec(),
            orphan_protection_time: 1440,
            workers: 4,
            heartbeat_timeout: 30,
        }
    }
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
}
