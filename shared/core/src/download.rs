//! Fetching files from remotes over HTTP(S), with retries, for sync and for on-demand serving.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use crate::models::remote::Remote;
use crate::{CoreError, CoreResult};

/// Builds the request for `url` with the remote's credentials and headers.
fn request(client: &reqwest::Client, remote: &Remote, url: &str) -> reqwest::RequestBuilder {
    let mut req = client.get(url);
    if let Some(user) = remote.setting("username").and_then(|v| v.as_str()) {
        let pass = remote.setting("password").and_then(|v| v.as_str());
        req = req.basic_auth(user, pass);
    }
    if let Some(headers) = remote.setting("headers").and_then(|v| v.as_array()) {
        for h in headers {
            if let Some(obj) = h.as_object() {
                for (k, v) in obj {
                    if let Some(v) = v.as_str() {
                        req = req.header(k, v);
                    }
                }
            }
        }
    }
    if let Some(t) = remote.setting("total_timeout").and_then(|v| v.as_f64()) {
        req = req.timeout(Duration::from_secs_f64(t));
    }
    req
}

/// GETs a URL, retrying connection errors and 5xx/429 answers with backoff.
pub async fn get(
    client: &reqwest::Client,
    remote: &Remote,
    url: &str,
) -> CoreResult<reqwest::Response> {
    let retries = remote.max_retries();
    let mut attempt = 0;
    loop {
        let res = request(client, remote, url).send().await;
        let retryable = match &res {
            Ok(r) => r.status().is_server_error() || r.status().as_u16() == 429,
            Err(e) => e.is_connect() || e.is_timeout() || e.is_request(),
        };
        if !retryable || attempt >= retries {
            let r = res.map_err(|e| {
                CoreError::Remote(format!("Could not fetch {url}: {}", describe(&e)))
            })?;
            if !r.status().is_success() {
                return Err(CoreError::Remote(format!(
                    "Could not fetch {url}: the server answered {}",
                    r.status()
                )));
            }
            return Ok(r);
        }
        attempt += 1;
        tokio::time::sleep(Duration::from_millis(200 * (1 << attempt.min(5)))).await;
    }
}

fn describe(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(&format!(": {inner}"));
        src = inner.source();
    }
    s
}

/// The body of a response as a byte stream with errors as text.
pub fn body_stream(r: reqwest::Response) -> impl Stream<Item = Result<Bytes, String>> + Send {
    r.bytes_stream().map(|c| c.map_err(|e| e.to_string()))
}

/// Characters escaped in a URL path segment (RFC 3986 unreserved characters stay as they are).
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Resolves `relative` against the directory of `base` (a manifest URL).
pub fn join_url(base: &str, relative: &str) -> String {
    let dir = match base.rfind('/') {
        Some(i) => &base[..=i],
        None => base,
    };
    let encoded: String = relative
        .split('/')
        .map(|seg| percent_encoding::utf8_percent_encode(seg, PATH_SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/");
    format!("{dir}{encoded}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn join_url_resolves_against_the_manifest_directory() {
        assert_eq!(
            super::join_url("http://h/a/PULP_MANIFEST", "d/f 1.txt"),
            "http://h/a/d/f%201.txt"
        );
    }
}
