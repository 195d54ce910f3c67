//! The domain a request or a task acts in. Pulp keeps it per request (its `get_domain()`); so
//! does Depot, in a task-local the HTTP layer sets from the URL (`/pulp/<domain>/api/v3/`) and
//! the task worker from the task. Hrefs are written and read under that domain's API root,
//! and the models scope their queries by its id. Outside any scope (start-up, unit tests) it
//! is the `default` domain with the plain `/pulp/api/v3/` layout.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{Core, CoreResult};

/// The id of the `default` domain, which always exists and holds everything made while domains
/// are off.
pub const DEFAULT_ID: &str = "00000000-0000-0000-0000-000000000000";
pub const DEFAULT_NAME: &str = "default";

/// The domain in force, and whether URLs carry it (`PULP_DOMAIN_ENABLED`).
#[derive(Clone, Debug)]
pub struct Current {
    pub id: Arc<str>,
    pub name: Arc<str>,
    pub in_urls: bool,
}

impl Current {
    pub fn new(id: &str, name: &str, in_urls: bool) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            in_urls,
        }
    }

    /// The `default` domain, with URLs as `PULP_DOMAIN_ENABLED` says.
    pub fn default_domain(in_urls: bool) -> Self {
        Self::new(DEFAULT_ID, DEFAULT_NAME, in_urls)
    }

    /// The path segment URLs carry for it: `<name>/`, or nothing while they carry none. Every
    /// root below is its place in a path.
    pub fn segment(&self) -> String {
        match self.in_urls {
            true => format!("{}/", self.name),
            false => String::new(),
        }
    }

    /// `/pulp/api/v3/`, or `/pulp/<name>/api/v3/` when URLs carry the domain.
    pub fn api_root(&self) -> String {
        format!("{}{}api/v3/", crate::hrefs::public_root(), self.segment())
    }
}

tokio::task_local! {
    static CURRENT: Current;
}

/// Runs `f` in `domain`.
pub async fn within<F: Future>(domain: Current, f: F) -> F::Output {
    CURRENT.scope(domain, f).await
}

/// The domain in force (the default one outside any scope).
pub fn current() -> Current {
    CURRENT
        .try_with(Current::clone)
        .unwrap_or_else(|_| Current::default_domain(false))
}

/// The id of the domain in force: what every scoped query binds.
pub fn id() -> Arc<str> {
    CURRENT
        .try_with(|c| c.id.clone())
        .unwrap_or_else(|_| DEFAULT_ID.into())
}

/// The PRN of the domain in force (tasks hold it as a resource).
pub fn prn() -> String {
    format!("prn:core.domain:{}", id())
}

/// The API root in force (see [`Current::api_root`]).
pub fn api_root() -> String {
    CURRENT
        .try_with(Current::api_root)
        .unwrap_or_else(|_| format!("{}api/v3/", crate::hrefs::public_root()))
}

/// The API root of what is above domains (users, groups, roles, domains): `default`'s when
/// URLs carry domains, as Pulp writes their hrefs, else the plain one.
pub fn above_root() -> String {
    Current::default_domain(current().in_urls).api_root()
}

/// The path segment of the domain in force (see [`Current::segment`]).
pub fn segment() -> String {
    CURRENT.try_with(Current::segment).unwrap_or_default()
}

/// The content app's path prefix (`content_path_prefix`) with the domain in force, when URLs
/// carry it: `/pulp/content/<domain>/`.
pub fn content_prefix(content_path_prefix: &str) -> String {
    format!("{content_path_prefix}{}", segment())
}

/// `/pypi/`, or `/pypi/<domain>/` when URLs carry the domain in force: the index's root.
pub fn pypi_root() -> String {
    format!("/pypi/{}", segment())
}

/// `path` under the plain API root, as the client sees it: under the domain's root when URLs
/// carry it (routes are matched on the plain root).
pub fn public_path(path: &str) -> String {
    match path.strip_prefix(crate::hrefs::API_ROOT) {
        Some(rest) => format!("{}{rest}", api_root()),
        None => path.to_string(),
    }
}

/// Splits `/pulp/<domain>/api/v3/<rest>` into the domain's name and `/pulp/api/v3/<rest>`.
pub fn split_api_path(path: &str) -> Option<(&str, String)> {
    let rest = path.strip_prefix("/pulp/")?;
    let (name, rest) = rest.split_once('/')?;
    let rest = rest.strip_prefix("api/v3/")?;
    valid_name(name).then(|| (name, format!("{}{rest}", crate::hrefs::API_ROOT)))
}

/// How long a domain looked up by name is kept: a domain made on one process is found on the
/// others after this long at most (a deleted one is refused by its missing rows at once).
const TTL: Duration = Duration::from_secs(5);
/// The most names kept (found or not); past it the cache starts over.
const MAX_NAMES: usize = 10_000;

/// Domains by name, as requests name them in their URLs.
#[derive(Default)]
pub struct DomainCache {
    entries: Mutex<HashMap<String, (Instant, Option<Current>)>>,
}

impl DomainCache {
    /// A domain was made, changed or deleted here.
    pub fn forget(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

/// The domain named `name` in force with the deployment's URL layout, `None` when there is
/// none.
pub async fn find(core: &Core, name: &str) -> CoreResult<Option<Current>> {
    if let Some((at, found)) = core
        .domains
        .entries
        .lock()
        .ok()
        .and_then(|e| e.get(name).cloned())
        && at.elapsed() < TTL
    {
        return Ok(found);
    }
    find_fresh(core, name).await
}

/// The same, read from the database (and kept): after something may have made the domain. A
/// name no domain could have is no query, and is not kept.
pub async fn find_fresh(core: &Core, name: &str) -> CoreResult<Option<Current>> {
    if !valid_name(name) {
        return Ok(None);
    }
    let found = crate::models::domain::by_name(&core.db, name)
        .await?
        .map(|d| d.current(&core.settings));
    if let Ok(mut entries) = core.domains.entries.lock() {
        if entries.len() >= MAX_NAMES {
            entries.clear();
        }
        entries.insert(name.to_string(), (Instant::now(), found.clone()));
    }
    Ok(found)
}

/// Pulp's domain names are slugs (of at most 50 characters when clients choose them; an
/// organisation's, `org-<org_id>`, may be longer); `api` and `content` would shadow Pulp's own
/// paths.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 80
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && name != "api"
        && name != "content"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hrefs_follow_the_domain_in_force() {
        assert_eq!(api_root(), "/pulp/api/v3/");
        let acme = Current::new("0190a3c2-7d6e-7c1a-9b1e-2f3a4b5c6d7e", "acme", true);
        within(acme, async {
            assert_eq!(api_root(), "/pulp/acme/api/v3/");
            assert_eq!(&*id(), "0190a3c2-7d6e-7c1a-9b1e-2f3a4b5c6d7e");
            assert_eq!(
                public_path("/pulp/api/v3/repositories/"),
                "/pulp/acme/api/v3/repositories/"
            );
        })
        .await;
        assert_eq!(&*id(), DEFAULT_ID);
    }

    #[test]
    fn api_paths_split_into_domain_and_route() {
        assert_eq!(
            split_api_path("/pulp/acme/api/v3/tasks/"),
            Some(("acme", "/pulp/api/v3/tasks/".to_string()))
        );
        assert_eq!(split_api_path("/pulp/api/v3/tasks/"), None);
        assert_eq!(split_api_path("/pulp/content/api/v3/x"), None);
        assert_eq!(split_api_path("/pulp/a%2Fb/api/v3/x"), None);
        assert_eq!(split_api_path("/pulp/acme/api/v2/"), None);
    }
}
