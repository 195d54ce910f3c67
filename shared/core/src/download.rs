//! Fetching files from remotes over HTTP(S), with retries, for sync and for on-demand serving.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use crate::models::remote::Remote;
use crate::{Core, CoreError, CoreResult};

/// Settings that need a client of their own (TLS, proxy, timeouts).
const CLIENT_SETTINGS: &[&str] = &[
    "ca_cert",
    "client_cert",
    "client_key",
    "tls_validation",
    "proxy_url",
    "connect_timeout",
    "sock_connect_timeout",
    "sock_read_timeout",
];

/// HTTP clients built for remotes with their own TLS, proxy or timeout settings, keyed by remote
/// id and last update (an edited remote gets a new client); and the last bearer token a
/// registry gave each remote.
#[derive(Default)]
pub struct ClientCache {
    clients: Mutex<HashMap<String, reqwest::Client>>,
    tokens: Mutex<HashMap<String, String>>,
}

/// A remote's timeout in seconds as a duration: none when unset, zero or not a duration (the
/// API bounds them; settings stored before that may not be).
fn timeout_setting(remote: &Remote, key: &str) -> Option<Duration> {
    let secs = remote.setting(key)?.as_f64()?;
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
}

/// The CERTIFICATE blocks of `pem`, each checked, joined one per line block; the rest of the
/// text (comments, a key) is dropped. Fails when there is none, or one does not parse.
pub fn certificates_of(pem: &str) -> Result<String, String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    if pem.len() > MAX_PEM {
        return Err(format!("more than {MAX_PEM} bytes"));
    }
    let mut certs = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(BEGIN) {
        let Some(len) = rest[start..].find(END) else {
            return Err("a certificate has no END line".into());
        };
        let block = &rest[start..start + len + END.len()];
        parse_certificate(block).map_err(|_| "a certificate does not parse".to_string())?;
        certs.push(block);
        rest = &rest[start + len + END.len()..];
    }
    if certs.is_empty() {
        return Err("no certificate found".into());
    }
    Ok(certs.join("\n") + "\n")
}

/// The longest PEM text a remote's certificate field may hold.
const MAX_PEM: usize = 1 << 20;

/// Checks that one PEM block holds an X.509 certificate's DER shape: a SEQUENCE of the signed
/// part, the algorithm (SEQUENCEs) and the signature (a BIT STRING), spanning the whole block.
/// Any version passes (webpki refuses the v1 certificates some CAs still hand out); the TLS
/// handshake checks the rest.
fn parse_certificate(block: &str) -> Result<(), ()> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let der = CertificateDer::from_pem_slice(block.as_bytes()).map_err(|_| ())?;
    let (tag, body, rest) = der_element(&der)?;
    if tag != 0x30 || !rest.is_empty() {
        return Err(());
    }
    let mut parts = Vec::new();
    let mut left = body;
    while !left.is_empty() && parts.len() < 4 {
        let (tag, _, rest) = der_element(left)?;
        parts.push(tag);
        left = rest;
    }
    (parts == [0x30, 0x30, 0x03]).then_some(()).ok_or(())
}

/// One DER element of `der`: (tag, contents, what follows).
fn der_element(der: &[u8]) -> Result<(u8, &[u8], &[u8]), ()> {
    let (&tag, rest) = der.split_first().ok_or(())?;
    let (&first, rest) = rest.split_first().ok_or(())?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return Err(());
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err(());
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

/// Builds a client that applies a remote's TLS, proxy and timeout settings.
pub fn build_client(remote: &Remote) -> CoreResult<reqwest::Client> {
    let str_setting = |k: &str| remote.setting(k).and_then(|v| v.as_str());
    let secs = |k: &str| timeout_setting(remote, k);
    let mut b = reqwest::Client::builder();
    if let Some(t) = secs("sock_connect_timeout").or(secs("connect_timeout")) {
        b = b.connect_timeout(t);
    }
    if let Some(t) = secs("sock_read_timeout") {
        b = b.read_timeout(t);
    }
    if remote.setting("tls_validation").and_then(|v| v.as_bool()) == Some(false) {
        b = b.danger_accept_invalid_certs(true);
    }
    if let Some(pem) = str_setting("ca_cert") {
        let not_pem = || CoreError::field("ca_cert", "This is not a PEM certificate.");
        let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|_| not_pem())?;
        if certs.is_empty() {
            return Err(not_pem());
        }
        for cert in certs {
            b = b.add_root_certificate(cert);
        }
    }
    match (str_setting("client_cert"), str_setting("client_key")) {
        (Some(cert), Some(key)) if !cert.is_empty() && !key.is_empty() => {
            let identity = reqwest::Identity::from_pem(format!("{cert}\n{key}").as_bytes())
                .map_err(|_| {
                    CoreError::field(
                        "client_cert",
                        "The client certificate and key are not valid PEM.",
                    )
                })?;
            b = b.identity(identity);
        }
        (_, Some(key)) if !key.is_empty() => {
            return Err(CoreError::field(
                "client_key",
                "A client_key needs its client_cert.",
            ));
        }
        // A certificate without its key identifies no one: it is kept (as Pulp keeps it) and
        // not presented.
        _ => {}
    }
    if let Some(url) = str_setting("proxy_url") {
        let mut proxy = reqwest::Proxy::all(url)
            .map_err(|_| CoreError::field("proxy_url", "Enter a valid URL."))?;
        if let Some(user) = str_setting("proxy_username") {
            proxy = proxy.basic_auth(user, str_setting("proxy_password").unwrap_or(""));
        }
        b = b.proxy(proxy);
    }
    b.build().map_err(|e| {
        CoreError::invalid(format!(
            "The remote's TLS or proxy settings are not usable: {e}"
        ))
    })
}

/// The client to use for a remote: the shared one unless the remote has settings of its own.
pub fn client_for(core: &Core, remote: &Remote) -> CoreResult<reqwest::Client> {
    if !CLIENT_SETTINGS.iter().any(|k| remote.setting(k).is_some()) {
        return Ok(core.http.clone());
    }
    let key = format!("{}@{}", remote.id, remote.updated);
    if let Some(c) = core
        .download_clients
        .clients
        .lock()
        .expect("client cache")
        .get(&key)
    {
        return Ok(c.clone());
    }
    let client = build_client(remote)?;
    let mut clients = core.download_clients.clients.lock().expect("client cache");
    clients.retain(|k, _| !k.starts_with(&format!("{}@", remote.id)));
    clients.insert(key, client.clone());
    Ok(client)
}

/// Builds the request for `url` with the remote's credentials (or `extra.authorization`, a ready
/// `Authorization` value such as a registry's bearer token) and headers.
fn request(
    client: &reqwest::Client,
    remote: &Remote,
    url: &str,
    extra: &Extra,
) -> reqwest::RequestBuilder {
    let mut req = if extra.head {
        client.head(url)
    } else {
        client.get(url)
    };
    for (k, v) in &extra.headers {
        req = req.header(*k, v);
    }
    if let Some(auth) = &extra.authorization {
        req = req.header(reqwest::header::AUTHORIZATION, auth);
    } else if let Some(user) = remote.setting("username").and_then(|v| v.as_str()) {
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
    if let Some(t) = timeout_setting(remote, "total_timeout") {
        req = req.timeout(t);
    }
    req
}

/// What a request adds to the remote's own settings.
#[derive(Debug, Default, Clone)]
pub struct Extra {
    pub headers: Vec<(&'static str, String)>,
    /// Replaces the remote's Basic credentials.
    pub authorization: Option<String>,
    /// A HEAD request rather than a GET.
    pub head: bool,
}

/// GETs a URL with the remote's settings, retrying connection errors and 5xx/429 answers with
/// backoff.
pub async fn get(core: &Core, remote: &Remote, url: &str) -> CoreResult<reqwest::Response> {
    let r = send(core, remote, url, &Extra::default()).await?;
    success(r, url)
}

/// Downloads `url` with `remote`'s settings into an artifact checked against `expected`,
/// trying again (up to the remote's `max_retries`, with backoff) when the body breaks off or
/// its bytes do not match: an upstream that sent a bad copy once may send a good one next, as
/// Pulp's downloaders retry. Failed requests were already retried by [`get`].
pub async fn artifact(
    core: &Core,
    remote: &Remote,
    url: &str,
    expected: &crate::artifacts::Expected,
) -> CoreResult<crate::models::artifact::Artifact> {
    let retries = remote.max_retries();
    let mut attempt = 0;
    loop {
        let resp = get(core, remote, url).await?;
        match crate::artifacts::ingest(core, body_stream(resp), expected).await {
            Err(CoreError::Invalid(why)) if attempt < retries => {
                tracing::warn!("download of {url} was bad ({why}); trying again");
            }
            other => return other,
        }
        attempt += 1;
        backoff(attempt).await;
    }
}

/// The answer when it is a success; otherwise the error (`NotFound` for a 404, so that callers
/// can tell "not there" from "upstream trouble").
pub fn success(r: reqwest::Response, url: &str) -> CoreResult<reqwest::Response> {
    if r.status() == reqwest::StatusCode::NOT_FOUND {
        return Err(CoreError::NotFound(format!(
            "Could not fetch {url}: the server answered {}",
            r.status()
        )));
    }
    if !r.status().is_success() {
        return Err(CoreError::Remote(format!(
            "Could not fetch {url}: the server answered {}",
            r.status()
        )));
    }
    Ok(r)
}

/// Like [`get`] with extra headers, returning any answer the server gave after the retries.
/// A registry's bearer challenge (`401` with `WWW-Authenticate: Bearer realm=..`) is answered
/// with a token from the realm, fetched with the remote's credentials and kept for later
/// requests, as Docker's token flow asks.
pub async fn send(
    core: &Core,
    remote: &Remote,
    url: &str,
    extra: &Extra,
) -> CoreResult<reqwest::Response> {
    let tokens = &core.download_clients.tokens;
    let mut extra = extra.clone();
    let cached = tokens.lock().expect("tokens").get(&remote.id).cloned();
    if extra.authorization.is_none() {
        extra.authorization = cached;
    }
    let r = send_once(core, remote, url, &extra).await?;
    if r.status() != reqwest::StatusCode::UNAUTHORIZED {
        return Ok(r);
    }
    let challenge = r
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let Some(token) = bearer_token(core, remote, &challenge).await? else {
        return Ok(r);
    };
    tokens
        .lock()
        .expect("tokens")
        .insert(remote.id.clone(), token.clone());
    extra.authorization = Some(token);
    send_once(core, remote, url, &extra).await
}

/// A token for a `Bearer realm="..",service="..",scope=".."` challenge (`None` for other
/// challenges), asked of the realm with the remote's own credentials.
async fn bearer_token(core: &Core, remote: &Remote, challenge: &str) -> CoreResult<Option<String>> {
    let Some(params) = challenge.strip_prefix("Bearer ") else {
        return Ok(None);
    };
    let param = |key: &str| {
        params.split(',').find_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            (k == key).then(|| v.trim_matches('"').to_string())
        })
    };
    let Some(realm) = param("realm") else {
        return Ok(None);
    };
    let query: Vec<String> = ["service", "scope"]
        .iter()
        .filter_map(|k| {
            param(k).map(|v| {
                format!(
                    "{k}={}",
                    percent_encoding::utf8_percent_encode(&v, PATH_SEGMENT)
                )
            })
        })
        .collect();
    let sep = if realm.contains('?') { '&' } else { '?' };
    let url = format!("{realm}{sep}{}", query.join("&"));
    let r = success(
        send_once(core, remote, &url, &Extra::default()).await?,
        &url,
    )?;
    let bytes = r
        .bytes()
        .await
        .map_err(|e| CoreError::Remote(format!("Could not read the token from {url}: {e}")))?;
    let body: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|_| CoreError::Remote(format!("The token service at {url} sent no JSON.")))?;
    let token = body
        .get("token")
        .or_else(|| body.get("access_token"))
        .and_then(|v| v.as_str())
        .ok_or_else(|| CoreError::Remote(format!("The token service at {url} sent no token.")))?;
    Ok(Some(format!("Bearer {token}")))
}

/// The wait before retry `attempt` (from 1): doubling from 400 ms, at most 6.4 s.
async fn backoff(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(200 * (1 << attempt.min(5)))).await;
}

/// One request with retries of connection errors and 5xx/429 answers.
async fn send_once(
    core: &Core,
    remote: &Remote,
    url: &str,
    extra: &Extra,
) -> CoreResult<reqwest::Response> {
    if let Some(path) = url.strip_prefix("file://") {
        return local_file(core, url, path, extra.head).await;
    }
    let client = &client_for(core, remote)?;
    let retries = remote.max_retries();
    let mut attempt = 0;
    loop {
        let res = request(client, remote, url, extra).send().await;
        let retryable = match &res {
            Ok(r) => r.status().is_server_error() || r.status().as_u16() == 429,
            Err(e) => e.is_connect() || e.is_timeout() || e.is_request(),
        };
        if !retryable || attempt >= retries {
            return res.map_err(|e| {
                CoreError::Remote(format!("Could not fetch {url}: {}", describe(&e)))
            });
        }
        attempt += 1;
        backoff(attempt).await;
    }
}

/// A `file://` URL (a local mirror): the file, answered as an HTTP server would (404 when it
/// is not there), when it lies under `PULP_ALLOWED_IMPORT_PATHS`; never anything else.
async fn local_file(
    core: &Core,
    url: &str,
    path: &str,
    head: bool,
) -> CoreResult<reqwest::Response> {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let Some(real) = crate::importexport::is_allowed(&decoded, &core.settings.allowed_import_paths)
    else {
        return Err(CoreError::Remote(format!(
            "Could not fetch {url}: the path is not under the allowed import paths"
        )));
    };
    let answer = |status: u16, len: u64, body: reqwest::Body| {
        let r = http::Response::builder()
            .status(status)
            .header(reqwest::header::CONTENT_LENGTH, len)
            .body(body)
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        Ok(reqwest::Response::from(r))
    };
    let file = match tokio::fs::File::open(&real).await {
        Ok(f) => f,
        Err(_) => return answer(404, 0, reqwest::Body::from(Vec::new())),
    };
    let meta = file.metadata().await?;
    if !meta.is_file() {
        return answer(404, 0, reqwest::Body::from(Vec::new()));
    }
    let body = match head {
        true => reqwest::Body::from(Vec::new()),
        false => reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file)),
    };
    answer(200, meta.len(), body)
}

fn describe(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(&format!(": {inner}"));
        src = inner.source();
    }
    // The proxy's 407 in the words HTTP gives it (and Pulp's message carries).
    if s.contains("proxy authorization required") {
        s.push_str(" (407 Proxy Authentication Required)");
    }
    s
}

/// The body of a response as a byte stream with errors as text.
pub fn body_stream(r: reqwest::Response) -> impl Stream<Item = Result<Bytes, String>> + Send {
    r.bytes_stream().map(|c| c.map_err(|e| e.to_string()))
}

/// Why a capped body was not read whole.
#[derive(Debug)]
pub enum CappedBody {
    /// It is larger than the cap.
    TooLarge,
    /// It broke off.
    Broken(String),
}

/// The body of a response, at most `max` bytes (a larger one is not read past the cap).
pub async fn read_capped(r: reqwest::Response, max: usize) -> Result<Vec<u8>, CappedBody> {
    let mut out = Vec::new();
    let mut body = body_stream(r);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(CappedBody::Broken)?;
        if out.len() + chunk.len() > max {
            return Err(CappedBody::TooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
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

    #[test]
    fn certificate_text_needs_a_certificate_shape() {
        let block =
            |b64: &str| format!("-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----");
        assert!(super::certificates_of("no certificate here").is_err());
        assert!(super::certificates_of(&block("BOGUS==")).is_err());
        // SEQUENCE { SEQUENCE {}, SEQUENCE {}, BIT STRING {0} }: the shape, nothing more.
        assert!(super::certificates_of(&block("MAgwADAAAwIAAA==")).is_ok());
        // SEQUENCE { SEQUENCE {} }: not a certificate.
        assert!(super::certificates_of(&block("MAIwAA==")).is_err());
        let two = format!(
            "# a comment\n{}\nmore\n{}",
            block("MAgwADAAAwIAAA=="),
            block("MAgwADAAAwIAAA==")
        );
        assert_eq!(
            super::certificates_of(&two)
                .unwrap()
                .matches("BEGIN")
                .count(),
            2
        );
    }

    mod properties {
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_text_or_der_is_judged_without_panic(text in ".{0,300}", der in proptest::collection::vec(any::<u8>(), 0..64)) {
                let _ = super::super::certificates_of(&text);
                let _ = super::super::der_element(&der);
            }
        }
    }
}
