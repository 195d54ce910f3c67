//! Bad and hostile input against the whole API in process (SQLite, local storage, in-process
//! queue): every answer is a 4xx with a JSON body that says what is wrong, never a 500, a panic
//! or a dropped connection. What needs the real process (memory, descriptors) is in
//! tests/e2e/test_hardening.py.

use std::time::{Duration, Instant};

use depot_core::config::{HttpLimits, Settings};
use serde_json::{Value, json};

struct Depot {
    base: String,
    client: reqwest::Client,
    core: depot_core::Core,
    dir: tempfile::TempDir,
}

const PASSWORD: &str = "password";

async fn start() -> Depot {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listen = listener.local_addr().unwrap().to_string();
    let db = format!("sqlite://{}/depot.db?mode=rwc", dir.path().display());
    let settings = Settings::for_tests(dir.path().to_path_buf(), db, listen.clone());
    let (core, _) = local_runner::build_core(settings).await.unwrap();
    let workers = local_runner::start_workers(&core).await.unwrap();
    std::mem::forget(workers); // they run as long as the test's runtime
    let app = local_runner::router(core.clone());
    tokio::spawn(depot_http::server::serve_listener(
        listener,
        HttpLimits::default(),
        app,
        std::future::pending(),
    ));
    Depot {
        base: format!("http://{listen}"),
        client: reqwest::Client::new(),
        core,
        dir,
    }
}

impl Depot {
    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let mut req = self
            .client
            .request(method.parse().unwrap(), url)
            .basic_auth("admin", Some(PASSWORD));
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = req
            .send()
            .await
            .expect("an answer, not a dropped connection");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        assert!(status < 500, "{method} {path} -> {status} {text}");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn api(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.send(method, &format!("/pulp/api/v3/{path}"), body)
            .await
    }

    async fn wait(&self, task_href: &Value) -> Value {
        let href = task_href.as_str().unwrap();
        for _ in 0..200 {
            let (_, t) = self.send("GET", href, None).await;
            if ["completed", "failed", "canceled"].contains(&t["state"].as_str().unwrap()) {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("task {href} did not finish");
    }
}

fn message(body: &Value, field: &str) -> String {
    body[field][0].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn numbers_are_bounded_by_what_they_become() {
    let d = start().await;
    for field in [
        "connect_timeout",
        "sock_read_timeout",
        "sock_connect_timeout",
        "total_timeout",
    ] {
        for huge in [json!(1e308), json!(1e20)] {
            let (status, body) = d
                .api(
                    "POST",
                    "remotes/file/file/",
                    Some(json!({"name": format!("r-{field}"), "url": "http://127.0.0.1:1/PULP_MANIFEST", field: huge})),
                )
                .await;
            assert_eq!(status, 400, "{field}={huge}: {body}");
            assert_eq!(
                message(&body, field),
                "Ensure this value is less than or equal to 86400."
            );
        }
        let (status, body) = d
            .api(
                "POST",
                "remotes/container/container/",
                Some(json!({"name": "c", "url": "http://127.0.0.1:1", "upstream_name": "x", field: -1})),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            message(&body, field),
            "Ensure this value is greater than or equal to 0."
        );
    }
    // Within bounds is stored as sent.
    let (status, body) = d
        .api(
            "POST",
            "remotes/file/file/",
            Some(json!({"name": "ok", "url": "http://127.0.0.1:1/PULP_MANIFEST", "total_timeout": 86400.0})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["total_timeout"], json!(86400.0));

    let (status, body) = d
        .api(
            "POST",
            "orphans/cleanup/",
            Some(json!({"orphan_protection_time": 301041171522191360u64})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = d
        .api(
            "POST",
            "orphans/cleanup/",
            Some(json!({"orphan_protection_time": 2147483647})),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(d.wait(&body["task"]).await["state"], "completed");

    let (status, body) = d
        .api(
            "POST",
            "repositories/file/file/",
            Some(json!({"name": "r", "retain_repo_versions": 0})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn pages_and_filters_of_every_kind_answer() {
    let d = start().await;
    let (status, body) = d
        .api("GET", "content/python/packages/?pulp_label_select=a", None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["count"], 0);

    for name in ["a", "b", "c"] {
        d.api(
            "POST",
            "repositories/file/file/",
            Some(json!({"name": name})),
        )
        .await;
    }
    let (_, page) = d
        .api(
            "GET",
            "repositories/file/file/?offset=9223372036854775807&limit=1",
            None,
        )
        .await;
    assert!(page["next"].is_null(), "{page}");
    assert_eq!(page["results"], json!([]));
    let (_, page) = d
        .api(
            "GET",
            "repositories/file/file/?offset=1&limit=9223372036854775807",
            None,
        )
        .await;
    assert!(page["next"].is_null(), "{page}");
    assert_ne!(page["next"], page["previous"]);
    assert_eq!(page["results"].as_array().unwrap().len(), 2);
    let (status, _) = d
        .api(
            "GET",
            "repositories/file/file/?offset=99999999999999999999",
            None,
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn control_characters_are_refused_in_names_and_paths() {
    let d = start().await;
    for name in ["with\0nul", "two\nlines", "tab\there"] {
        let (status, body) = d
            .api(
                "POST",
                "repositories/file/file/",
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(status, 400, "{name:?}: {body}");
        assert_eq!(
            message(&body, "name"),
            "Control characters are not allowed in this field."
        );
    }
    // A description may have lines.
    let (status, body) = d
        .api(
            "POST",
            "repositories/file/file/",
            Some(json!({"name": "described", "description": "two\nlines"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    // A relative path with a line break would add a line to the published PULP_MANIFEST.
    let boundary = "b0undary";
    let multipart = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"relative_path\"\r\n\r\n\
         a.txt\ninjected.txt,{zeros},1\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\n\
         hello\r\n--{boundary}--\r\n",
        zeros = "0".repeat(64)
    );
    let resp = d
        .client
        .post(format!("{}/pulp/api/v3/content/file/files/", d.base))
        .basic_auth("admin", Some(PASSWORD))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(multipart)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    assert!(
        message(&body, "relative_path").contains("Control characters"),
        "{body}"
    );

    // Base paths: no control characters, at most 16 segments.
    let (_, repo) = d
        .api(
            "POST",
            "repositories/file/file/",
            Some(json!({"name": "bp"})),
        )
        .await;
    for base_path in ["a\nb".to_string(), vec!["s"; 17].join("/"), "x".repeat(256)] {
        let (status, body) = d
            .api(
                "POST",
                "distributions/file/file/",
                Some(
                    json!({"name": "bp", "base_path": base_path, "repository": repo["pulp_href"]}),
                ),
            )
            .await;
        assert_eq!(status, 400, "{base_path:?}: {body}");
    }
    let (status, body) = d
        .api(
            "POST",
            "distributions/file/file/",
            Some(json!({"name": "bp", "base_path": vec!["s"; 16].join("/"), "repository": repo["pulp_href"]})),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(d.wait(&body["task"]).await["state"], "completed");
    // The deepest base path is found below a path of any depth, within the URI bound.
    let deep = format!("{}/{}", vec!["s"; 16].join("/"), "a/".repeat(2000));
    let resp = d
        .client
        .get(format!("{}/pulp/content/{deep}", d.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}

#[tokio::test]
async fn long_uris_are_refused_before_any_work() {
    let d = start().await;
    let started = Instant::now();
    for path in [
        format!("/pulp/content/x/{}", "a/".repeat(30_000)),
        format!("/pypi/{}simple/", "a/".repeat(30_000)),
        format!("/pulp/api/v3/repositories/?name={}", "a".repeat(9000)),
    ] {
        let (status, body) = d.send("GET", &path, None).await;
        assert_eq!(status, 414);
        assert_eq!(body["detail"], "The request URI is longer than 8192 bytes.");
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    // An encoded NUL is no name and no path (PostgreSQL could not even compare it).
    for path in [
        "/pulp/api/v3/repositories/file/file/?name=%00",
        "/pulp/api/v3/tasks/?state=a%00",
        "/pulp/api/v3/repositories/file/file/a%00b/",
        "/pulp/content/a%00b/",
    ] {
        let (status, body) = d.send("GET", path, None).await;
        assert_eq!(status, 400, "{path}");
        assert_eq!(
            body["non_field_errors"][0],
            "Null characters are not allowed."
        );
    }
}

#[tokio::test]
async fn smaller_contract_points() {
    let d = start().await;
    // Push repositories are deleted with their distribution: no DELETE in the document.
    let (_, doc) = d.api("GET", "docs/api.json", None).await;
    let push = &doc["paths"]["{container_container_push_repository_href}"];
    assert!(push.get("get").is_some(), "{push}");
    assert!(push.get("delete").is_none(), "{push}");
    assert!(
        doc["paths"]["{file_file_repository_href}"]
            .get("delete")
            .is_some()
    );

    // Every operation lists the errors it can answer.
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            let takes_input = op.get("requestBody").is_some()
                || op["parameters"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
            if takes_input {
                assert!(responses.contains_key("400"), "{method} {path}");
            }
            if path.contains('{') {
                assert!(responses.contains_key("404"), "{method} {path}");
            }
        }
    }

    // Directory listings say their charset.
    let resp = d
        .client
        .get(format!("{}/pulp/content/", d.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");

    // Uploads check credentials before saying whether the index exists.
    let resp = d
        .client
        .post(format!("{}/pypi/missing/legacy/", d.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let resp = d
        .client
        .post(format!("{}/pypi/missing/legacy/", d.base))
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_without_slowing_verified_credentials() {
    let d = start().await;
    let status_of = |user: &'static str, password: &'static str| {
        let req = d
            .client
            .get(format!("{}/pulp/api/v3/repositories/file/file/", d.base))
            .basic_auth(user, Some(password));
        async move { req.send().await.unwrap().status().as_u16() }
    };
    // Verified once: from now on these credentials are not checked again for a minute.
    assert_eq!(status_of("admin", PASSWORD).await, 200);

    // Guesses for one user: 401 until the tenth, then 429 before any hash is computed.
    let guesses: Vec<_> = (0..40).map(|_| status_of("admin", "wrong")).collect();
    let started = Instant::now();
    let verified = status_of("admin", PASSWORD).await;
    let while_guessing = started.elapsed();
    let answers = futures_util::future::join_all(guesses).await;
    assert_eq!(verified, 200);
    assert!(
        while_guessing < Duration::from_secs(2),
        "verified credentials waited {while_guessing:?}"
    );
    // Ten, and the few being hashed when the tenth failed.
    let refused = answers.iter().filter(|s| **s == 401).count();
    assert!((10..=14).contains(&refused), "{answers:?}");
    assert!(
        answers.iter().all(|s| [401, 429].contains(s)),
        "{answers:?}"
    );
    let resp = d
        .client
        .get(format!("{}/pulp/api/v3/repositories/file/file/", d.base))
        .basic_auth("admin", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(resp.headers()["retry-after"], "60");

    // Guesses over many user names from one address: that address is throttled too.
    let mut statuses = Vec::new();
    for i in 0..35 {
        let user: &'static str = Box::leak(format!("nobody{i}").into_boxed_str());
        statuses.push(status_of(user, "x").await);
    }
    // The address had `refused` failures already; it may have 30 a minute.
    let allowed = 30 - refused;
    assert!(
        statuses[..allowed].iter().all(|s| *s == 401),
        "{statuses:?}"
    );
    assert!(
        statuses[allowed..].iter().all(|s| *s == 429),
        "{statuses:?}"
    );
    // Anonymous requests and verified credentials still pass.
    assert_eq!(status_of("admin", PASSWORD).await, 200);
    let resp = d
        .client
        .get(format!("{}/pulp/api/v3/status/", d.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

/// A chunked upload of `size` bytes with one chunk of `chunk` at 0; returns its href.
async fn upload_with_a_chunk(d: &Depot, size: usize, chunk: &[u8]) -> String {
    let (status, upload) = d.api("POST", "uploads/", Some(json!({"size": size}))).await;
    assert_eq!(status, 201, "{upload}");
    let href = upload["pulp_href"].as_str().unwrap().to_string();
    let boundary = "chunkb0undary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c\"\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(chunk);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let resp = d
        .client
        .put(format!("{}{href}", d.base))
        .basic_auth("admin", Some(PASSWORD))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header(
            "content-range",
            format!("bytes 0-{}/{size}", chunk.len() - 1),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    href
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            out.push(e.path());
        }
    }
    out
}

#[tokio::test]
async fn abandoned_uploads_and_staged_files_are_swept() {
    let d = start().await;
    let media = d.dir.path().join("media");
    // A deleted upload leaves nothing behind, not even its folder.
    let href = upload_with_a_chunk(&d, 10, b"hello").await;
    assert_eq!(files_under(&media.join("upload")).len(), 1);
    let (status, _) = d.send("DELETE", &href, None).await;
    assert_eq!(status, 204);
    assert_eq!(
        files_under(&media.join("upload")),
        Vec::<std::path::PathBuf>::new()
    );

    // An upload nobody added to for longer than the protection time (and ten minutes) goes
    // with orphan cleanup; a fresh one stays, and so does a staged file being written.
    let stale = upload_with_a_chunk(&d, 10, b"stale").await;
    let fresh = upload_with_a_chunk(&d, 10, b"fresh").await;
    let stale_id = stale.trim_end_matches('/').rsplit('/').next().unwrap();
    sqlx::query("UPDATE uploads SET updated = '2000-01-01T00:00:00.000000Z' WHERE id = $1")
        .bind(stale_id)
        .execute(d.core.db.pool())
        .await
        .unwrap();
    let leftover = media.join("tmp").join("left-by-a-killed-process");
    std::fs::write(&leftover, b"partial").unwrap();
    let an_hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&leftover)
        .unwrap()
        .set_modified(an_hour_ago)
        .unwrap();
    let in_progress = media.join("tmp").join("being-written");
    std::fs::write(&in_progress, b"partial").unwrap();

    let (status, task) = d
        .api(
            "POST",
            "orphans/cleanup/",
            Some(json!({"orphan_protection_time": 0})),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(d.wait(&task["task"]).await["state"], "completed");
    assert_eq!(d.send("GET", &stale, None).await.0, 404);
    assert_eq!(d.send("GET", &fresh, None).await.0, 200);
    assert_eq!(files_under(&media.join("upload")).len(), 1);
    assert!(!leftover.exists());
    assert!(in_progress.exists());
}
