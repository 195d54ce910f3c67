//! A client for an upstream registry (a remote's `url`), as syncs and pull-through caching use
//! it: tag lists with `Link` paging, manifests by tag or digest with their bytes verified, and
//! blobs' URLs and sizes. Registry token auth is handled by `depot_core::download`.

use depot_core::download::{self, Extra};
use depot_core::models::remote::Remote;
use depot_core::{Core, CoreError, CoreResult};
use serde_json::Value;

use crate::manifest::{self, Parsed};
use crate::{Digest, digest::Algorithm};

/// Every manifest type a sync or pull accepts, schema 1 last.
const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json";

/// The most tags a sync reads (a safety limit against a misbehaving `Link` loop).
const MAX_TAG_PAGES: usize = 10_000;

pub struct Upstream<'a> {
    core: &'a Core,
    remote: &'a Remote,
    base: String,
    name: String,
}

/// A manifest as fetched, verified against the digest asked for (or that the registry named).
pub struct Fetched {
    pub digest: Digest,
    pub data: String,
    pub parsed: Parsed,
}

impl<'a> Upstream<'a> {
    /// A client for repository `name` at the remote's registry.
    pub fn new(core: &'a Core, remote: &'a Remote, name: &str) -> Self {
        Upstream {
            core,
            remote,
            base: remote.url.trim_end_matches('/').to_string(),
            name: name.to_string(),
        }
    }

    /// A client for the repository a container remote names (`upstream_name`). Docker Hub keeps
    /// official images under `library/`, which Pulp adds to a bare name too.
    pub fn for_remote(core: &'a Core, remote: &'a Remote) -> CoreResult<Self> {
        let name = remote
            .setting("upstream_name")
            .and_then(Value::as_str)
            .ok_or_else(|| CoreError::invalid("The remote has no upstream_name."))?;
        let hub = remote.url.contains("docker.io");
        let name = if hub && !name.contains('/') {
            format!("library/{name}")
        } else {
            name.to_string()
        };
        Ok(Self::new(core, remote, &name))
    }

    pub fn blob_url(&self, digest: &Digest) -> String {
        format!("{}/v2/{}/blobs/{digest}", self.base, self.name)
    }

    fn manifest_url(&self, reference: &str) -> String {
        format!("{}/v2/{}/manifests/{reference}", self.base, self.name)
    }

    /// GETs `url` (the remote's settings and credentials apply; bearer challenges are
    /// answered by the download layer). A 404 is `CoreError::NotFound`.
    pub async fn get(&self, url: &str, accept: Option<&str>) -> CoreResult<reqwest::Response> {
        let mut extra = Extra::default();
        if let Some(a) = accept {
            extra.headers.push(("accept", a.to_string()));
        }
        let r = download::send(self.core, self.remote, url, &extra).await?;
        download::success(r, url)
    }

    /// The size of a blob upstream, checked to be there under `digest`.
    pub async fn blob_size(&self, digest: &Digest) -> CoreResult<i64> {
        let url = self.blob_url(digest);
        let extra = Extra {
            head: true,
            ..Extra::default()
        };
        let r = download::success(
            download::send(self.core, self.remote, &url, &extra).await?,
            &url,
        )?;
        let named = r
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok());
        if named.is_some_and(|n| n != digest.to_string()) {
            return Err(CoreError::Remote(format!("{url} names another digest.")));
        }
        // The header itself: a HEAD answer's body is empty, whatever its length says.
        r.headers()
            .get(reqwest::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<i64>().ok())
            .ok_or_else(|| CoreError::Remote(format!("{url} sent no size.")))
    }

    /// Every tag of the repository, following `Link` pages.
    pub async fn tags(&self) -> CoreResult<Vec<String>> {
        let mut url = format!("{}/v2/{}/tags/list", self.base, self.name);
        let mut tags = Vec::new();
        for _ in 0..MAX_TAG_PAGES {
            let r = self.get(&url, None).await?;
            let next = r
                .headers()
                .get(reqwest::header::LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(next_link);
            let body = json_body(r, "The tag list").await?;
            if let Some(list) = body.get("tags").and_then(Value::as_array) {
                tags.extend(list.iter().filter_map(Value::as_str).map(str::to_string));
            }
            match next {
                // Only the path and query of the link count; they are joined to the remote.
                Some(path) => url = format!("{}{}", self.base, path_and_query(&path)),
                None => return Ok(tags),
            }
        }
        Err(CoreError::Remote("The tag list has too many pages.".into()))
    }

    /// The manifest `reference` (a tag or a digest) points at. A digest reference must match
    /// the bytes; for a tag, the registry's `Docker-Content-Digest` must, when it sends one.
    pub async fn manifest(&self, reference: &str) -> CoreResult<Fetched> {
        let url = self.manifest_url(reference);
        let r = self.get(&url, Some(ACCEPT)).await?;
        let content_type = r
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.split(';').next().unwrap_or(s).trim().to_string());
        let named = r
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.parse::<Digest>().ok());
        let bytes = r
            .bytes()
            .await
            .map_err(|e| CoreError::Remote(format!("Could not read {url}: {e}")))?;
        if bytes.len() > manifest::MAX_SIZE {
            return Err(CoreError::Remote(format!("{url} is larger than 4 MiB.")));
        }
        let expected = match reference.parse::<Digest>() {
            Ok(d) => Some(d),
            Err(_) => named,
        };
        let digest = match expected {
            Some(want) => {
                let got = Digest::of(want.algorithm, &bytes);
                if got != want {
                    return Err(CoreError::Remote(format!(
                        "The manifest at {url} does not match its digest {want}."
                    )));
                }
                got
            }
            None => Digest::of(Algorithm::Sha256, &bytes),
        };
        let parsed = manifest::parse(&bytes, content_type.as_deref())
            .map_err(|e| CoreError::Remote(format!("The manifest at {url} is invalid: {e}")))?;
        let data = String::from_utf8(bytes.to_vec())
            .map_err(|_| CoreError::Remote(format!("The manifest at {url} is not UTF-8.")))?;
        Ok(Fetched {
            digest,
            data,
            parsed,
        })
    }
}

async fn json_body(r: reqwest::Response, what: &str) -> CoreResult<Value> {
    let bytes = r
        .bytes()
        .await
        .map_err(|e| CoreError::Remote(format!("{what} could not be read: {e}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| CoreError::Remote(format!("{what} is not JSON: {e}")))
}

/// The target of a `Link: <url>; rel="next"` header.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params.contains("rel=\"next\"").then(|| {
            target
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

fn path_and_query(link: &str) -> &str {
    match link.split_once("://") {
        Some((_, rest)) => rest.find('/').map(|i| &rest[i..]).unwrap_or("/"),
        None => link,
    }
}

/// Shell-style wildcard match (`*`, `?`), as Pulp's tag and name filters use.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether `name` passes include and exclude filters (no includes: everything is included).
pub fn included(name: &str, includes: &[String], excludes: &[String]) -> bool {
    (includes.is_empty() || includes.iter().any(|p| wildcard(p, name)))
        && !excludes.iter().any(|p| wildcard(p, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard("v1.*", "v1.2"));
        assert!(wildcard("*", ""));
        assert!(wildcard("a?c", "abc"));
        assert!(!wildcard("a?c", "ac"));
        assert!(wildcard("*-rc*", "1.0-rc2"));
        assert!(!wildcard("v1.*", "v2.0"));
        let inc = vec!["v1*".to_string()];
        let exc = vec!["*-rc".to_string()];
        assert!(included("v1.0", &inc, &exc));
        assert!(!included("v1.0-rc", &inc, &exc));
        assert!(!included("v2", &inc, &[]));
        assert!(included("anything", &[], &[]));
    }

    #[test]
    fn links() {
        assert_eq!(
            next_link("</v2/a/tags/list?n=2&last=b>; rel=\"next\"").as_deref(),
            Some("/v2/a/tags/list?n=2&last=b")
        );
        assert_eq!(path_and_query("http://h:5000/v2/x?n=1"), "/v2/x?n=1");
        assert_eq!(path_and_query("/v2/x?n=1"), "/v2/x?n=1");
    }
}
