//! Content guards: `contentguards/` as Pulp serves it, and what each type lets through the
//! content app: RBAC (a download role), header (a value, or one inside base64 JSON),
//! content-redirect (URLs it signed, until they expire) and composite (any member).

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{PASSWORD, TestApp, apps};
use depot_core::models::content_guard;
use serde_json::{Value, json};
use tower::ServiceExt;

const FILE: &[u8] = b"guarded bytes\n";

/// A file repository with one file, published, distributed at `base_path`; returns the
/// distribution's href.
async fn distributed(app: &TestApp, base_path: &str) -> String {
    let (_, repo) = app
        .api(
            "POST",
            "repositories/file/file/",
            Some(json!({ "name": base_path })),
        )
        .await;
    let repo = repo["pulp_href"].as_str().unwrap().to_string();
    let (_, accepted) = app
        .form(
            "POST",
            "/pulp/api/v3/content/file/files/",
            &[("relative_path", "f.txt"), ("repository", &repo)],
            FILE,
            &[],
        )
        .await;
    app.completed(&accepted).await;
    let (_, accepted) = app
        .api(
            "POST",
            "publications/file/file/",
            Some(json!({ "repository": repo })),
        )
        .await;
    let t = app.completed(&accepted).await;
    let publication = t["created_resources"][0].as_str().unwrap().to_string();
    let d = app
        .create_by_task(
            "distributions/file/file/",
            json!({"name": base_path, "base_path": base_path, "publication": publication}),
        )
        .await;
    d["pulp_href"].as_str().unwrap().to_string()
}

/// GETs `path` with `headers` (no credentials unless given); the status, the reason phrase
/// and the bytes.
async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> (StatusCode, String, Vec<u8>) {
    let mut req = Request::builder().uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app
        .router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    assert!(!status.is_server_error(), "{path} -> {status}");
    let reason = resp
        .extensions()
        .get::<hyper::ext::ReasonPhrase>()
        .map(|r| String::from_utf8_lossy(r.as_bytes()).to_string())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, reason, bytes.to_vec())
}

fn basic(user: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{PASSWORD}")))
}

async fn guard(app: &TestApp, kind: &str, body: Value) -> Value {
    let (status, made) = app
        .api("POST", &format!("contentguards/core/{kind}/"), Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    made
}

async fn protect(app: &TestApp, dist: &str, guard: &Value) {
    let (status, accepted) = app
        .call(
            "PATCH",
            dist,
            Some(json!({"content_guard": guard["pulp_href"]})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    app.completed(&accepted).await;
    let (_, d) = app.call("GET", dist, None).await;
    assert_eq!(d["content_guard"], guard["pulp_href"]);
    assert_eq!(d["content_guard_prn"], guard["prn"]);
}

#[tokio::test]
async fn guards_are_made_listed_and_checked() {
    for app in apps().await {
        let header = guard(
            &app,
            "header",
            json!({"name": "h", "header_name": "x-header", "header_value": "123456"}),
        )
        .await;
        assert_eq!(header["header_name"], "x-header");
        assert_eq!(header["jq_filter"], Value::Null);
        let rbac = guard(&app, "rbac", json!({"name": "r"})).await;
        assert_eq!(
            rbac["users"],
            json!([{"username": "admin", "pulp_href": rbac["users"][0]["pulp_href"], "prn": rbac["users"][0]["prn"]}])
        );
        let redirect = guard(
            &app,
            "content_redirect",
            json!({"name": "cr", "description": "signed"}),
        )
        .await;
        assert!(redirect.get("shared_secret").is_none());
        let composite = guard(
            &app,
            "composite",
            json!({"name": "c", "guards": [redirect["pulp_href"], header["pulp_href"]]}),
        )
        .await;
        assert_eq!(
            composite["guards"],
            json!([redirect["pulp_href"], header["pulp_href"]])
        );

        // What each type refuses.
        for (kind, body, field) in [
            (
                "header",
                json!({"name": "h2", "header_name": "x-a"}),
                "header_value",
            ),
            (
                "header",
                json!({"name": "h3", "header_name": "bad name", "header_value": "1"}),
                "header_name",
            ),
            (
                "header",
                json!({"name": "h4", "header_name": "x", "header_value": "1", "jq_filter": "no filter"}),
                "jq_filter",
            ),
            ("rbac", json!({"name": "h"}), "name"),
            (
                "rbac",
                json!({"name": "x", "header_name": "y"}),
                "header_name",
            ),
            (
                "composite",
                json!({"name": "c2", "guards": [composite["pulp_href"]]}),
                "guards",
            ),
            (
                "composite",
                json!({"name": "c3", "guards": ["/pulp/api/v3/contentguards/core/rbac/0190a3c2-7d6e-7c1a-9b1e-2f3a4b5c6d7e/"]}),
                "guards",
            ),
            (
                "composite",
                json!({"name": "c4", "guards": ["/etc/passwd"]}),
                "guards",
            ),
        ] {
            let (status, err) = app
                .api("POST", &format!("contentguards/core/{kind}/"), Some(body))
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{kind}: {err}");
            assert!(err.get(field).is_some(), "{kind}: {err}");
        }

        // The generic list has them all; the type lists their own.
        let (_, all) = app.api("GET", "contentguards/", None).await;
        assert_eq!(all["count"], 4);
        let (_, headers) = app
            .api("GET", "contentguards/core/header/?name=h", None)
            .await;
        assert_eq!(headers["count"], 1);
        let (status, changed) = app
            .call(
                "PATCH",
                header["pulp_href"].as_str().unwrap(),
                Some(json!({"header_value": "654321"})),
            )
            .await;
        assert_eq!(
            (status, &changed["header_value"]),
            (StatusCode::OK, &json!("654321"))
        );
        // Another type's path does not reach a guard.
        let wrong = header["pulp_href"]
            .as_str()
            .unwrap()
            .replace("/header/", "/rbac/");
        assert_eq!(app.call("GET", &wrong, None).await.0, StatusCode::NOT_FOUND);

        // Deleting a guard leaves its distribution unguarded; a member leaves its composite.
        let dist = distributed(&app, "del").await;
        protect(&app, &dist, &header).await;
        assert_eq!(
            app.call("DELETE", header["pulp_href"].as_str().unwrap(), None)
                .await
                .0,
            StatusCode::NO_CONTENT
        );
        let (_, d) = app.call("GET", &dist, None).await;
        assert_eq!(d["content_guard"], Value::Null);
        let (_, c) = app
            .call("GET", composite["pulp_href"].as_str().unwrap(), None)
            .await;
        assert_eq!(c["guards"], json!([redirect["pulp_href"]]));
        assert_eq!(
            get(&app, "/pulp/content/del/f.txt", &[]).await.0,
            StatusCode::OK
        );
        app.close().await;
    }
}

#[tokio::test]
async fn the_content_app_asks_each_guard() {
    for app in apps().await {
        let dist = distributed(&app, "g").await;
        let path = "/pulp/content/g/f.txt";
        // Fetched (and kept by the serving cache) before any guard.
        assert_eq!(get(&app, path, &[]).await.2, FILE);

        // Header, plain.
        let header = guard(
            &app,
            "header",
            json!({"name": "h", "header_name": "x-header", "header_value": "123456"}),
        )
        .await;
        protect(&app, &dist, &header).await;
        assert_eq!(get(&app, path, &[]).await.0, StatusCode::FORBIDDEN);
        // Nothing of the distribution shows: not even whether a path exists.
        assert_eq!(
            get(&app, "/pulp/content/g/nothing", &[]).await.0,
            StatusCode::FORBIDDEN
        );
        let good = STANDARD.encode("123456");
        for bad in ["123456", "not base64!", &STANDARD.encode("12345")] {
            assert_eq!(
                get(&app, path, &[("x-header", bad)]).await.0,
                StatusCode::FORBIDDEN
            );
        }
        let (status, _, bytes) = get(&app, path, &[("x-header", &good)]).await;
        assert_eq!((status, bytes.as_slice()), (StatusCode::OK, FILE));
        // Kept by the serving cache now, and still asked of the guard each time.
        assert_eq!(get(&app, path, &[]).await.0, StatusCode::FORBIDDEN);
        assert_eq!(
            get(&app, path, &[("x-header", &good)]).await.0,
            StatusCode::OK
        );
        // A changed guard applies at once, cache or not.
        let header_href = header["pulp_href"].as_str().unwrap();
        app.call("PATCH", header_href, Some(json!({"header_value": "000"})))
            .await;
        let with_header = [("x-header", good.as_str())];
        assert_eq!(get(&app, path, &with_header).await.0, StatusCode::FORBIDDEN);
        app.call(
            "PATCH",
            header_href,
            Some(json!({"header_value": "123456"})),
        )
        .await;
        assert_eq!(get(&app, path, &with_header).await.0, StatusCode::OK);

        // Header, a value inside base64 JSON.
        let filtered = guard(
            &app,
            "header",
            json!({"name": "org", "header_name": "x-organization", "header_value": "123456",
                   "jq_filter": ".internal.organization_id"}),
        )
        .await;
        protect(&app, &dist, &filtered).await;
        let doc =
            |org: &str| STANDARD.encode(json!({"internal": {"organization_id": org}}).to_string());
        assert_eq!(
            get(&app, path, &[("x-organization", &doc("7"))]).await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            get(&app, path, &[("x-organization", &doc("123456"))])
                .await
                .0,
            StatusCode::OK
        );

        // RBAC: the download role, by user or group; the admin may always.
        for name in ["reader", "stranger"] {
            app.api(
                "POST",
                "users/",
                Some(json!({"username": name, "password": PASSWORD})),
            )
            .await;
        }
        let rbac = guard(&app, "rbac", json!({"name": "r"})).await;
        protect(&app, &dist, &rbac).await;
        let as_user = |u: &str| basic(u);
        assert_eq!(get(&app, path, &[]).await.0, StatusCode::FORBIDDEN);
        assert_eq!(
            get(&app, path, &[("authorization", &as_user("stranger"))])
                .await
                .0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            get(&app, path, &[("authorization", &as_user("admin"))])
                .await
                .0,
            StatusCode::OK
        );
        let rbac_href = rbac["pulp_href"].as_str().unwrap();
        let (status, _) = app
            .call(
                "POST",
                &format!("{rbac_href}add_role/"),
                Some(json!({"users": ["reader"], "role": "core.rbaccontentguard_downloader"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(
            get(&app, path, &[("authorization", &as_user("reader"))])
                .await
                .0,
            StatusCode::OK
        );
        let (_, shown) = app.call("GET", rbac_href, None).await;
        let users: Vec<&str> = shown["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap())
            .collect();
        assert_eq!(users, ["admin", "reader"]);
        // Wrong credentials are refused, never taken as anonymous.
        let wrong = format!("Basic {}", STANDARD.encode("reader:wrong"));
        assert_eq!(
            get(&app, path, &[("authorization", &wrong)]).await.0,
            StatusCode::FORBIDDEN
        );

        // Content redirect: URLs the guard signed, until they expire, unaltered.
        let redirect = guard(&app, "content_redirect", json!({"name": "cr"})).await;
        protect(&app, &dist, &redirect).await;
        let id = redirect["pulp_href"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .nth(1)
            .unwrap();
        let g = content_guard::get(&app.core.db, id).await.unwrap();
        let signed = g.sign(&app.core.db, path, "", 60).unwrap();
        assert_eq!(get(&app, &signed, &[]).await.2, FILE);
        assert_eq!(get(&app, path, &[]).await.0, StatusCode::FORBIDDEN);
        let altered = signed.replace("expires=", "expires=1");
        assert_eq!(get(&app, &altered, &[]).await.0, StatusCode::FORBIDDEN);
        let other = signed.replace("/g/f.txt", "/g/other.txt");
        assert_eq!(get(&app, &other, &[]).await.0, StatusCode::FORBIDDEN);
        let expired = g.sign(&app.core.db, path, "", 0).unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let (status, reason, _) = get(&app, &expired, &[]).await;
        assert_eq!(
            (status, reason.as_str()),
            (StatusCode::FORBIDDEN, "Authentication expired")
        );

        // Composite: any member lets a request through; the refusal names each.
        let header2 = guard(
            &app,
            "header",
            json!({"name": "h2", "header_name": "x-header", "header_value": "123456"}),
        )
        .await;
        let composite = guard(
            &app,
            "composite",
            json!({"name": "c", "guards": [redirect["pulp_href"], header2["pulp_href"]]}),
        )
        .await;
        protect(&app, &dist, &composite).await;
        let (status, reason, _) = get(&app, path, &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(
            reason.contains(redirect["pulp_href"].as_str().unwrap()),
            "{reason}"
        );
        assert!(
            reason.contains(header2["pulp_href"].as_str().unwrap()),
            "{reason}"
        );
        assert_eq!(
            get(&app, path, &[("x-header", &good)]).await.0,
            StatusCode::OK
        );
        assert_eq!(
            get(&app, &g.sign(&app.core.db, path, "", 60).unwrap(), &[])
                .await
                .0,
            StatusCode::OK
        );
        app.close().await;
    }
}

#[tokio::test]
async fn guards_follow_their_roles() {
    for app in apps().await {
        app.api(
            "POST",
            "users/",
            Some(json!({"username": "maker", "password": PASSWORD})),
        )
        .await;
        let (_, page) = app.api("GET", "users/?username=maker", None).await;
        let roles = format!(
            "{}roles/",
            page["results"][0]["pulp_href"].as_str().unwrap()
        );
        for role in [
            "core.rbaccontentguard_creator",
            "file.filedistribution_creator",
        ] {
            app.call(
                "POST",
                &roles,
                Some(json!({"role": role, "content_object": null})),
            )
            .await;
        }
        app.api(
            "POST",
            "contentguards/core/rbac/",
            Some(json!({"name": "admins"})),
        )
        .await;
        let auth = [("authorization", basic("maker"))];
        let send = |method: &'static str, path: String, body: Option<Value>| {
            let auth = auth[0].1.clone();
            let app = &app;
            async move {
                let mut req = Request::builder()
                    .method(method)
                    .uri(&path)
                    .header("authorization", auth);
                let body = match body {
                    Some(b) => {
                        req = req.header("content-type", "application/json");
                        Body::from(b.to_string())
                    }
                    None => Body::empty(),
                };
                let resp = app
                    .router
                    .clone()
                    .oneshot(req.body(body).unwrap())
                    .await
                    .unwrap();
                let status = resp.status();
                let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
                    .await
                    .unwrap();
                (
                    status,
                    serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null),
                )
            }
        };
        let (status, made) = send(
            "POST",
            "/pulp/api/v3/contentguards/core/rbac/".into(),
            Some(json!({"name": "makers"})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        // The maker sees their own guard only, and may download what it guards.
        let (_, all) = send("GET", "/pulp/api/v3/contentguards/".into(), None).await;
        assert_eq!(all["count"], 1, "{all}");
        let (_, mine) = send(
            "GET",
            format!("{}my_permissions/", made["pulp_href"].as_str().unwrap()),
            None,
        )
        .await;
        assert!(
            mine["permissions"]
                .as_array()
                .unwrap()
                .contains(&json!("core.download_rbaccontentguard"))
        );
        let (status, _) = send(
            "POST",
            "/pulp/api/v3/contentguards/core/header/".into(),
            Some(json!({"name": "x", "header_name": "a", "header_value": "b"})),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        app.close().await;
    }
}

#[tokio::test]
async fn the_index_asks_the_guard_and_the_registry_takes_none() {
    for app in apps().await {
        let (_, repo) = app
            .api(
                "POST",
                "repositories/python/python/",
                Some(json!({"name": "py"})),
            )
            .await;
        let dist = app
            .create_by_task(
                "distributions/python/pypi/",
                json!({"name": "py", "base_path": "py", "repository": repo["pulp_href"]}),
            )
            .await;
        let dist = dist["pulp_href"].as_str().unwrap().to_string();
        assert_eq!(get(&app, "/pypi/py/simple/", &[]).await.0, StatusCode::OK);
        let header = guard(
            &app,
            "header",
            json!({"name": "h", "header_name": "x-token", "header_value": "let-me-in"}),
        )
        .await;
        protect(&app, &dist, &header).await;
        for path in [
            "/pypi/py/simple/",
            "/pypi/py/simple/anything/",
            "/pypi/py/pypi/anything/json",
        ] {
            assert_eq!(
                get(&app, path, &[]).await.0,
                StatusCode::FORBIDDEN,
                "{path}"
            );
        }
        let token = STANDARD.encode("let-me-in");
        assert_eq!(
            get(&app, "/pypi/py/simple/", &[("x-token", &token)])
                .await
                .0,
            StatusCode::OK
        );

        // Container distributions: the registry does not ask guards yet, so none is taken.
        let (status, err) = app
            .api(
                "POST",
                "distributions/container/container/",
                Some(json!({"name": "c", "base_path": "c", "content_guard": header["pulp_href"]})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        assert!(err.get("content_guard").is_some(), "{err}");
        app.close().await;
    }
}

/// A certificate of `tests/fixtures/certguard/`, as PEM text.
fn cert(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/certguard/{name}.pem",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).unwrap()
}

/// `pem` URL-encoded, as a TLS-ending proxy forwards a client certificate.
fn forwarded(pem: &str) -> String {
    percent_encoding::utf8_percent_encode(pem, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[tokio::test]
async fn x509_guards_let_through_certificates_of_their_ca() {
    for app in apps().await {
        let e = app.engine;
        // A CA certificate is checked when the guard is made.
        for bad in ["not a certificate", "", &cert("client")[..20]] {
            let (status, body) = app
                .api(
                    "POST",
                    "contentguards/certguard/x509/",
                    Some(json!({"name": "x", "ca_certificate": bad})),
                )
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{e} {body}");
            assert!(body.get("ca_certificate").is_some(), "{e} {body}");
        }
        let (status, body) = app
            .api(
                "POST",
                "contentguards/certguard/x509/",
                Some(json!({"name": "x"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{e} {body}");
        let (status, guard) = app
            .api(
                "POST",
                "contentguards/certguard/x509/",
                Some(json!({"name": "x509", "ca_certificate": cert("ca")})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{e} {guard}");
        assert_eq!(guard["ca_certificate"], cert("ca"));
        assert!(
            guard["pulp_href"]
                .as_str()
                .unwrap()
                .contains("/contentguards/certguard/x509/")
        );
        let (_, all) = app.api("GET", "contentguards/", None).await;
        assert_eq!(all["count"], 1, "{e} {all}");

        let dist = distributed(&app, "x509").await;
        protect(&app, &dist, &guard).await;
        let path = "/pulp/content/x509/f.txt";
        let (status, reason, _) = get(&app, path, &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{e}");
        assert!(reason.contains("not provided"), "{e} {reason}");
        let client = forwarded(&cert("client"));
        let (status, _, bytes) = get(&app, path, &[("x-client-cert", &client)]).await;
        assert_eq!((status, bytes.as_slice()), (StatusCode::OK, FILE), "{e}");
        for (who, why) in [
            ("stranger", "not signed"),
            ("expired", "expired"),
            ("ca", "not"),
        ] {
            let sent = forwarded(&cert(who));
            let (status, reason, _) = get(&app, path, &[("x-client-cert", &sent)]).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{e} {who}");
            assert!(reason.contains(why), "{e} {who} {reason}");
        }
        for junk in ["garbage", "%ZZ", &"A".repeat(70_000)] {
            let (status, _, _) = get(&app, path, &[("x-client-cert", junk)]).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{e}");
        }
        app.close().await;
    }
}

/// Environment-variable header guards: the header carries, base64-encoded, the value of a
/// variable the deployment allows (`PATH` here: every process has one). No other variable may
/// be named, and the secret is never shown.
#[tokio::test]
async fn envvar_guards_compare_a_header_with_an_allowed_variable() {
    let secret = std::env::var("PATH").unwrap();
    for app in common::apps_with(|s| s.envvar_guard_vars = vec!["PATH".into()]).await {
        let e = app.engine;
        let body = |var: &str| json!({"name": var, "header_name": "X-Secret", "env_var": var});
        let (status, err) = app
            .api(
                "POST",
                "contentguards/core/envvar_header/",
                Some(body("HOME")),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{e} {err}");
        assert!(
            err["env_var"][0].as_str().unwrap().contains("'HOME'"),
            "{e} {err}"
        );
        let (status, err) = app
            .api(
                "POST",
                "contentguards/core/envvar_header/",
                Some(json!({"name": "n", "env_var": "PATH"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{e} {err}");
        let made = guard(&app, "envvar_header", body("PATH")).await;
        assert_eq!(
            (&made["header_name"], &made["env_var"]),
            (&json!("X-Secret"), &json!("PATH"))
        );
        assert!(made.get("header_value").is_none() && !made.to_string().contains(&secret));

        let dist = distributed(&app, "envvar").await;
        protect(&app, &dist, &made).await;
        let path = "/pulp/content/envvar/f.txt";
        let right = STANDARD.encode(&secret);
        let (status, _, bytes) = get(&app, path, &[("x-secret", &right)]).await;
        assert_eq!((status, bytes.as_slice()), (StatusCode::OK, FILE), "{e}");
        for wrong in [
            "",
            "not base64!",
            &STANDARD.encode("wrong"),
            &STANDARD.encode(format!("{secret}x")),
        ] {
            let (status, _, _) = get(&app, path, &[("x-secret", wrong)]).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{e} {wrong}");
        }
        let (status, _, _) = get(&app, path, &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{e}");
        app.close().await;
    }
}

/// Pulp's `q` expressions over a list's own filters, with its bounds and messages; and the
/// checks of `pulp_id__in`, `pulp_href__in` and `pulp_type__in`.
#[tokio::test]
async fn lists_take_q_expressions() {
    for app in apps().await {
        let engine = app.engine;
        for name in ["GGGG", "GGHH", "gggg"] {
            for kind in ["rbac", "content_redirect"] {
                let (status, g) = app
                    .api(
                        "POST",
                        &format!("contentguards/core/{kind}/"),
                        Some(json!({"name": format!("{kind}-{name}")})),
                    )
                    .await;
                assert_eq!(status, StatusCode::CREATED, "{engine} {g}");
            }
        }
        let count = |q: &str| {
            let app = &app;
            let q = q.to_string();
            async move {
                let url = format!("contentguards/?q={}", urlencode(&q));
                let (status, page) = app.api("GET", &url, None).await;
                (status, page)
            }
        };
        for (q, expected) in [
            ("pulp_type__in='core.rbac'", 3),
            (r#"NOT pulp_type="core.rbac""#, 3),
            ("pulp_type__in=core.rbac,core.content_redirect", 6),
            (r#"pulp_type="core.rbac" AND name__contains=GGGG"#, 1),
            (
                r#"pulp_type="core.rbac" AND name__icontains=gg AND NOT name__contains=HH"#,
                2,
            ),
            (r#"NOT (pulp_type="core.rbac" AND name__icontains=gggg)"#, 4),
            (
                r#"pulp_type="core.rbac" AND(   name__icontains=gh OR name="rbac-gggg")"#,
                2,
            ),
        ] {
            let (status, page) = count(q).await;
            assert_eq!(
                (status, page["count"].as_i64()),
                (StatusCode::OK, Some(expected)),
                "{engine} {q} {page}"
            );
        }
        for (q, body) in [
            (
                r#"pulp_type_in="core.rbac""#,
                json!({"q": ["Filter 'pulp_type_in' does not exist."]}),
            ),
            (
                r#"name="test" and"#,
                json!({"q": ["Syntax error in expression."]}),
            ),
            (
                r#"pulp_type="core.foo""#,
                json!({"q": [r#"{"pulp_type": [{"message": "Select a valid choice. core.foo is not one of the available choices.", "code": "invalid_choice"}]}"#]}),
            ),
            (
                "n=1 OR n=2 OR n=3 OR n=4 OR n=5 OR n=6 OR n=7 OR n=8",
                json!({"q": ["Filter expression exceeds allowed complexity."]}),
            ),
        ] {
            let (status, err) = count(q).await;
            assert_eq!(
                (status, &err),
                (StatusCode::BAD_REQUEST, &body),
                "{engine} {q}"
            );
        }
        // A type's own list takes no type filter in its expressions.
        let (status, _) = app
            .api(
                "GET",
                "contentguards/core/rbac/?q=pulp_type%3D%22core.rbac%22",
                None,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{engine}");
        for (query, message) in [
            ("pulp_id__in=hello", "Enter a valid UUID"),
            ("pulp_href__in=hello", "URI not valid"),
            (
                "pulp_type__in=i.invalid",
                "Select a valid choice. i.invalid",
            ),
        ] {
            let (status, err) = app
                .api("GET", &format!("contentguards/?{query}"), None)
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{engine} {query} {err}");
            assert!(err.to_string().contains(message), "{engine} {query} {err}");
        }
        app.close().await;
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
