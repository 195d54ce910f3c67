//! Sign-in by a gateway's identity header (`X-RH-IDENTITY`, Pulp's JSON header authentication)
//! and by a remote-user header: who may sign in, what they may do before roles exist, and that
//! no malformed header gets past a 401 (or causes a 5xx).

mod common;

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::TestApp;
use depot_core::identity::{DEFAULT_FILTER, JqFilter};
use serde_json::{Value, json};

/// Superusers only: what a user without roles is refused.
const ADMIN_ONLY: &str = "/pulp/api/v3/users/";
const REPOS: &str = "/pulp/api/v3/repositories/file/file/";
const IDENTITY: &str = "x-rh-identity";

fn identity(doc: Value) -> String {
    STANDARD.encode(doc.to_string())
}

fn user(name: &str, org: &str) -> String {
    identity(json!({"identity": {"org_id": org, "type": "User", "user": {"username": name}}}))
}

async fn app() -> TestApp {
    TestApp::sqlite_with(|s| {
        s.header_auth.json_header =
            Some((IDENTITY.into(), JqFilter::parse(DEFAULT_FILTER).unwrap()));
        s.header_auth.remote_user_header = Some("remote-user".into());
    })
    .await
}

async fn usernames(app: &TestApp) -> Vec<(String, String)> {
    sqlx::query_as("SELECT username, password_hash FROM users ORDER BY username")
        .fetch_all(app.core.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn identity_headers_sign_users_in() {
    let app = app().await;
    // A new identity is made a user, without a password, and may do nothing yet.
    let alice = user("alice", "123");
    let (status, body) = app
        .with_headers("GET", ADMIN_ONLY, &[(IDENTITY, &alice)])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        body["detail"],
        "You do not have permission to perform this action."
    );
    let users = usernames(&app).await;
    assert!(users.contains(&("alice".into(), "!".into())), "{users:?}");
    // Lists she may read show her only what her roles let her see: nothing yet.
    let (status, body) = app.with_headers("GET", REPOS, &[(IDENTITY, &alice)]).await;
    assert_eq!(
        (status, &body["count"]),
        (StatusCode::OK, &json!(0)),
        "{body}"
    );
    // Signing in again finds the same user.
    app.with_headers("GET", ADMIN_ONLY, &[(IDENTITY, &alice)])
        .await;
    assert_eq!(usernames(&app).await.len(), users.len());
    // She is in her organisation's group, as pulp-service puts her.
    let (_, page) = app.api("GET", "users/?username=alice", None).await;
    assert_eq!(page["results"][0]["groups"][0]["name"], "rh-org-123");

    // Each identity type names its user.
    let cert = identity(json!({"identity": {"org_id": "9", "x509": {"subject_dn": "CN=robot"}}}));
    let saml = identity(json!({"identity": {"associate": {"email": "ops@example.com"}}}));
    for h in [&cert, &saml] {
        let (status, _) = app.with_headers("GET", ADMIN_ONLY, &[(IDENTITY, h)]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let names: Vec<String> = usernames(&app).await.into_iter().map(|u| u.0).collect();
    assert!(names.contains(&"CN=robot".into()) && names.contains(&"ops@example.com".into()));

    // An identity of a superuser acts as that user; so does a remote-user header.
    let (status, _) = app
        .with_headers("GET", ADMIN_ONLY, &[(IDENTITY, &user("admin", "1"))])
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .with_headers("GET", ADMIN_ONLY, &[("remote-user", "admin")])
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .with_headers("GET", ADMIN_ONLY, &[("remote-user", "bob")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Basic still works beside them; the identity header, when sent, is the one read.
    let (status, _) = app.call("GET", ADMIN_ONLY, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .with_headers(
            "GET",
            ADMIN_ONLY,
            &[(IDENTITY, &alice), ("authorization", "Basic YWRtaW46eA==")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The registry and the index know the user, and refuse what needs more.
    let (status, _) = app.with_headers("GET", "/v2/", &[(IDENTITY, &alice)]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app
        .with_headers(
            "POST",
            "/v2/some/image/blobs/uploads/",
            &[(IDENTITY, &alice)],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // An upload to an index needs the right to modify its repository; there is none here.
    let (status, _) = app
        .with_headers("POST", "/pypi/anything/simple/", &[(IDENTITY, &alice)])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.close().await;
}

/// A tiny deterministic generator, for varied bad input without a dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[tokio::test]
async fn malformed_identity_headers_get_401() {
    let app = app().await;
    let good = user("carol", "77");
    // Every truncation (short of dropping only the padding, which unpadded base64 allows).
    let unpadded = good.trim_end_matches('=').len();
    let mut bad: Vec<String> = (0..unpadded).map(|n| good[..n].to_string()).collect();
    let mut rng = Lcg(7);
    for n in 0..150 {
        // Printable text, and base64 of random bytes.
        let text: String = rng
            .bytes(n * 2)
            .iter()
            .map(|b| (b' ' + b % 95) as char)
            .collect();
        bad.push(text);
        bad.push(STANDARD.encode(rng.bytes(n * 3)));
    }
    bad.extend([
        identity(json!({"identity": {"user": {}}, "org_id": "1"})),
        identity(json!({"identity": {"user": {"username": ["alice"]}}})),
        identity(json!({"identity": {"user": {"username": "x".repeat(151)}}})),
        identity(json!({"identity": {"org_id": {"a": 1}, "user": {"username": "a"}}})),
        identity(json!("just a string")),
        STANDARD.encode(format!("{}{}", "[".repeat(2000), "]".repeat(2000))),
        "A".repeat(9000),
    ]);
    for value in &bad {
        let (status, body) = app
            .with_headers("GET", ADMIN_ONLY, &[(IDENTITY, value)])
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{value:?} -> {body}");
    }
    // Bytes that are not text.
    let req = axum::http::Request::builder()
        .uri(ADMIN_ONLY)
        .header(
            IDENTITY,
            axum::http::HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
        )
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = tower::ServiceExt::oneshot(app.router.clone(), req)
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // None of them made a user; the good one still works.
    let names: Vec<String> = usernames(&app).await.into_iter().map(|u| u.0).collect();
    assert_eq!(names, ["admin"]);
    let (status, _) = app
        .with_headers("GET", ADMIN_ONLY, &[(IDENTITY, &good)])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.close().await;
}

#[tokio::test]
async fn identity_headers_are_ignored_unless_configured() {
    let app = TestApp::sqlite().await;
    let (status, body) = app
        .with_headers("GET", ADMIN_ONLY, &[(IDENTITY, &user("admin", "1"))])
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = app
        .with_headers("GET", ADMIN_ONLY, &[("remote-user", "admin")])
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.close().await;
}
