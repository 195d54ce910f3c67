//! `TestApp`: the local runner's whole router in process, driven with `tower::ServiceExt::oneshot`
//! (no sockets), on a temporary SQLite database and, when `DEPOT_TEST_PG_URL` names a server,
//! on a fresh PostgreSQL database too. Task workers run on the in-process queue.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use depot_core::config::Settings;
use depot_core::db::Db;
use serde_json::{Value, json};
use sqlx::AssertSqlSafe;
use tower::ServiceExt;

pub const PASSWORD: &str = "password";

pub struct TestApp {
    pub engine: &'static str,
    pub core: depot_core::Core,
    pub router: axum::Router,
    _dir: tempfile::TempDir,
    /// The server's admin connection and the database to drop at the end.
    pg: Option<(Db, String)>,
}

/// One app per engine this machine has: SQLite always, PostgreSQL when configured.
pub async fn apps() -> Vec<TestApp> {
    apps_with(|_| {}).await
}

/// The same, with settings `change` adjusts first.
pub async fn apps_with(change: impl Fn(&mut Settings)) -> Vec<TestApp> {
    let mut apps = vec![TestApp::sqlite_with(&change).await];
    if let Ok(url) = std::env::var("DEPOT_TEST_PG_URL") {
        apps.push(TestApp::postgres_with(&url, &change).await);
    }
    apps
}

/// Apps as [`apps_with`] makes them, each also served on a port of its own (for what calls
/// the server back over HTTP, as replication from another domain does), with its origin.
#[allow(dead_code)]
pub async fn served_apps(change: impl Fn(&mut Settings)) -> Vec<(TestApp, String)> {
    let mut out = Vec::new();
    for pg in [None, std::env::var("DEPOT_TEST_PG_URL").ok()] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let set = |s: &mut Settings| {
            change(s);
            s.content_origin = origin.clone();
        };
        let app = match &pg {
            None if out.is_empty() => TestApp::sqlite_with(set).await,
            Some(url) => TestApp::postgres_with(url, set).await,
            None => continue,
        };
        tokio::spawn(depot_http::server::serve_listener(
            listener,
            depot_core::config::HttpLimits::default(),
            app.router.clone(),
            std::future::pending(),
        ));
        out.push((app, origin));
    }
    out
}

impl TestApp {
    pub async fn sqlite() -> Self {
        Self::sqlite_with(|_| {}).await
    }

    /// An app on SQLite whose settings `change` adjusts first.
    pub async fn sqlite_with(change: impl FnOnce(&mut Settings)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/depot.db?mode=rwc", dir.path().display());
        let mut settings = Settings::for_tests(dir.path().to_path_buf(), url, "127.0.0.1:1".into());
        change(&mut settings);
        Self::started("sqlite", dir, settings, None).await
    }

    pub async fn postgres(admin_url: &str) -> Self {
        Self::postgres_with(admin_url, |_| {}).await
    }

    /// An app on a fresh PostgreSQL database whose settings `change` adjusts first.
    pub async fn postgres_with(admin_url: &str, change: impl FnOnce(&mut Settings)) -> Self {
        let admin = Db::connect(admin_url)
            .await
            .expect("DEPOT_TEST_PG_URL must be reachable");
        let name = format!("depot_api_{}", uuid::Uuid::new_v4().simple());
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(admin.pool())
            .await
            .unwrap();
        let base = admin_url.rsplit_once('/').unwrap().0;
        let url = format!("{base}/{name}");
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::for_tests(dir.path().to_path_buf(), url, "127.0.0.1:1".into());
        change(&mut settings);
        Self::started("postgres", dir, settings, Some((admin, name))).await
    }

    async fn started(
        engine: &'static str,
        dir: tempfile::TempDir,
        settings: Settings,
        pg: Option<(Db, String)>,
    ) -> Self {
        let (core, _) = local_runner::build_core(settings).await.unwrap();
        let workers = local_runner::start_workers(&core).await.unwrap();
        std::mem::forget(workers); // they run as long as the test's runtime
        let router = local_runner::router(core.clone());
        TestApp {
            engine,
            core,
            router,
            _dir: dir,
            pg,
        }
    }

    /// Drops the PostgreSQL database (SQLite's goes with the directory).
    pub async fn close(self) {
        self.core.db.pool().close().await;
        if let Some((admin, name)) = self.pg {
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            sqlx::raw_sql(AssertSqlSafe(sql))
                .execute(admin.pool())
                .await
                .unwrap();
        }
    }

    /// Sends a request as `admin`; the answer's status and JSON body (a string when not JSON).
    /// A 5xx fails the test: no client input may cause one.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.send(method, path, body, true).await
    }

    /// The same without credentials.
    pub async fn anonymous(&self, method: &str, path: &str) -> (StatusCode, Value) {
        self.send(method, path, None, false).await
    }

    /// A call under the API root (`repositories/file/file/`).
    pub async fn api(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call(method, &format!("/pulp/api/v3/{path}"), body)
            .await
    }

    /// Sends a multipart form as `admin`: text `fields`, and a `file` part with `bytes`, with
    /// extra `headers` (a `Content-Range`).
    pub async fn form(
        &self,
        method: &str,
        path: &str,
        fields: &[(&str, &str)],
        bytes: &[u8],
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        const BOUNDARY: &str = "depot-test-boundary";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, basic("admin", PASSWORD))
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            );
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        self.answer(method, path, req.body(Body::from(body)).unwrap())
            .await
    }

    /// Sends `body` as `admin` with `headers`; the answer's status, headers and bytes (the
    /// registry, the index).
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let admin = basic("admin", PASSWORD);
        let mut all = vec![("authorization", admin.as_str())];
        all.extend_from_slice(headers);
        self.raw_with(method, path, &all, body).await
    }

    /// The same with only `headers` (no credentials of its own).
    pub async fn raw_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let mut req = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let resp = self
            .router
            .clone()
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let (status, headers) = (resp.status(), resp.headers().clone());
        let bytes = axum::body::to_bytes(resp.into_body(), 64 << 20)
            .await
            .unwrap();
        assert!(
            !status.is_server_error(),
            "{} {method} {path} -> {status}",
            self.engine
        );
        (status, headers, bytes.to_vec())
    }

    /// The raw answer to an anonymous GET (the content app, the index): status and bytes.
    pub async fn fetch(&self, path: &str) -> (StatusCode, Vec<u8>) {
        let req = Request::builder().uri(path).body(Body::empty()).unwrap();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 64 << 20)
            .await
            .unwrap();
        (status, bytes.to_vec())
    }

    /// Sends a request as `user` (Basic, with [`PASSWORD`]); fails on a 5xx.
    pub async fn as_user(
        &self,
        user: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.send_as(Some(user), method, path, body).await
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        signed_in: bool,
    ) -> (StatusCode, Value) {
        let user = signed_in.then_some("admin");
        self.send_as(user, method, path, body).await
    }

    async fn send_as(
        &self,
        user: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(user) = user {
            req = req.header(header::AUTHORIZATION, basic(user, PASSWORD));
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        self.answer(method, path, req).await
    }

    /// Sends a request with only `headers` (no Basic credentials of its own); fails on a 5xx.
    pub async fn with_headers(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        self.with_headers_json(method, path, headers, None).await
    }

    /// The same with a JSON body.
    pub async fn with_headers_json(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let body = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        self.answer(method, path, req.body(body).unwrap()).await
    }

    async fn answer(&self, method: &str, path: &str, req: Request<Body>) -> (StatusCode, Value) {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 64 << 20)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes).to_string();
        assert!(
            !status.is_server_error(),
            "{} {method} {path} -> {status} {text}",
            self.engine
        );
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    /// Waits for the task of a 202 answer and returns it; fails unless it completed.
    pub async fn completed(&self, accepted: &Value) -> Value {
        let t = self.wait(accepted).await;
        assert_eq!(t["state"], "completed", "{} {t}", self.engine);
        t
    }

    /// Waits for the task of a 202 answer (`{"task": href}`) to end and returns it.
    pub async fn wait(&self, accepted: &Value) -> Value {
        let href = accepted["task"]
            .as_str()
            .unwrap_or_else(|| panic!("not a task: {accepted}"))
            .to_string();
        for _ in 0..400 {
            let (_, t) = self.call("GET", &href, None).await;
            if ["completed", "failed", "canceled"].contains(&t["state"].as_str().unwrap_or("")) {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("{} task {href} did not end", self.engine);
    }

    /// Creates a file repository; its href.
    pub async fn file_repository(&self, name: &str) -> String {
        let body = serde_json::json!({"name": name});
        let (status, r) = self
            .api("POST", "repositories/file/file/", Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{} {r}", self.engine);
        r["pulp_href"].as_str().unwrap().to_string()
    }

    /// Uploads a file into a file repository (one new version); the finished task.
    pub async fn add_file(&self, repo: &str, path: &str, bytes: &[u8]) -> Value {
        let fields = [("relative_path", path), ("repository", repo)];
        let url = "/pulp/api/v3/content/file/files/";
        let (status, accepted) = self.form("POST", url, &fields, bytes, &[]).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{} {accepted}", self.engine);
        self.completed(&accepted).await
    }

    /// Creates through a task (an immediate one, as distributions are) and returns the object.
    pub async fn create_by_task(&self, path: &str, body: Value) -> Value {
        let (status, accepted) = self.api("POST", path, Some(body)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{} {accepted}", self.engine);
        let t = self.completed(&accepted).await;
        let href = t["created_resources"][0].as_str().unwrap().to_string();
        self.call("GET", &href, None).await.1
    }
}

/// The content unit a finished task created.
pub fn created_content(task: &Value) -> String {
    task["created_resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .find(|h| h.contains("/content/"))
        .unwrap_or_else(|| panic!("no content made by {task}"))
        .to_string()
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

/// A wheel of `name` `version` whose only file is its metadata.
pub fn wheel(name: &str, version: &str) -> (String, Vec<u8>) {
    use std::io::Write;
    let dist = name.replace('-', "_");
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    zip.start_file(format!("{dist}-{version}.dist-info/METADATA"), opts)
        .unwrap();
    write!(
        zip,
        "Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: test\n"
    )
    .unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    (format!("{dist}-{version}-py3-none-any.whl"), bytes)
}

/// An upstream serving a PULP_MANIFEST of `files` under `dir`; its base URL and the paths it
/// was asked for.
pub async fn upstream(
    dir: &str,
    files: &[(&str, &[u8])],
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let (url, asked, _) = changing_upstream(dir, files).await;
    (url, asked)
}

/// What an upstream serves, by path; changing it changes what it answers.
pub type Served = std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, Vec<u8>>>>;

/// [`upstream`], with what it serves to change.
pub async fn changing_upstream(
    dir: &str,
    files: &[(&str, &[u8])],
) -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    Served,
) {
    let mut served: std::collections::HashMap<String, Vec<u8>> = Default::default();
    let mut manifest = String::new();
    for (name, bytes) in files {
        manifest.push_str(&format!(
            "{name},{},{}\n",
            depot_core::checksums::sha256_hex(bytes),
            bytes.len()
        ));
        served.insert(format!("{dir}/{name}"), bytes.to_vec());
    }
    served.insert(format!("{dir}/PULP_MANIFEST"), manifest.into_bytes());
    let served: Served = std::sync::Arc::new(std::sync::Mutex::new(served));
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = asked.clone();
    let files = served.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        log.lock().unwrap().push(uri.path().to_string());
        let found = files.lock().unwrap().get(uri.path()).cloned();
        async move {
            match found {
                Some(b) => (StatusCode::OK, b),
                None => (StatusCode::NOT_FOUND, Vec::new()),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), asked, served)
}

/// Pushes a one-layer image to `/v2/<name>` (`layer` as its layer); returns the manifest.
#[allow(dead_code)]
pub async fn push(app: &TestApp, name: &str, layer: &[u8]) -> Vec<u8> {
    let digest = |b: &[u8]| format!("sha256:{}", depot_core::checksums::sha256_hex(b));
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    for blob in [&config[..], layer] {
        let path = format!("/v2/{name}/blobs/uploads/?digest={}", digest(blob));
        let (status, headers, _) = app
            .raw(
                "POST",
                &path,
                &[("content-type", "application/octet-stream")],
                blob.to_vec(),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{} blob upload", app.engine);
        let location = headers
            .get("location")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(location, format!("/v2/{name}/blobs/{}", digest(blob)));
    }
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": digest(config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": digest(layer), "size": layer.len()}],
    })
    .to_string()
    .into_bytes();
    let media = [("content-type", "application/vnd.oci.image.manifest.v1+json")];
    let path = format!("/v2/{name}/manifests/v1");
    let (status, _, body) = app.raw("PUT", &path, &media, manifest.clone()).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    manifest
}
