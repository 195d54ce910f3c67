//! Repair (`<version>/repair/` and `repair/`): stored files that went missing or whose bytes
//! changed are found, fetched again from the remote their content came from, and counted in
//! Pulp's progress reports; a file no remote can give again is removed rather than served
//! wrong. Only administrators repair the whole domain.

mod common;

use axum::http::StatusCode;
use common::{PASSWORD, TestApp, apps, upstream};
use depot_core::checksums::sha256_hex;
use serde_json::{Value, json};

/// The counts of a finished repair: (missing, corrupted, repaired).
fn counts(task: &Value) -> (i64, i64, i64) {
    let done = |code: &str| {
        task["progress_reports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["code"] == code)
            .unwrap_or_else(|| panic!("no {code} in {task}"))["done"]
            .as_i64()
            .unwrap()
    };
    (
        done("repair.missing"),
        done("repair.corrupted"),
        done("repair.repaired"),
    )
}

async fn repair(app: &TestApp, path: &str, verify: bool) -> (i64, i64, i64) {
    let (status, accepted) = app
        .call("POST", path, Some(json!({"verify_checksums": verify})))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{} {accepted}", app.engine);
    counts(&app.completed(&accepted).await)
}

/// The storage key of the artifact with these bytes.
async fn key_of(app: &TestApp, bytes: &[u8]) -> String {
    let (_, page) = app
        .api(
            "GET",
            &format!("artifacts/?sha256={}", sha256_hex(bytes)),
            None,
        )
        .await;
    page["results"][0]["file"].as_str().unwrap().to_string()
}

/// Puts `bytes` in place of what is stored under `key` (bit rot, a careless operator).
async fn overwrite(app: &TestApp, key: &str, bytes: &[u8]) {
    app.core.storage.delete(key).await.unwrap();
    let mut staged = app.core.storage.stage().await.unwrap();
    staged.write(bytes).await.unwrap();
    staged.commit(key).await.unwrap();
}

async fn stored(app: &TestApp, key: &str) -> Option<Vec<u8>> {
    match app.core.storage.exists(key).await.unwrap() {
        true => {
            use futures_util::TryStreamExt;
            let stream = app.core.storage.open(key, 0, None).await.unwrap();
            let chunks: Vec<_> = stream.try_collect().await.unwrap();
            Some(chunks.concat())
        }
        false => None,
    }
}

#[tokio::test]
async fn repair_fetches_missing_and_damaged_files_again() {
    let (a, b, c): (&[u8], &[u8], &[u8]) = (b"alpha\n", b"bravo\n", b"charlie\n");
    let (base, _) = upstream("", &[("a.txt", a), ("b.txt", b), ("c.txt", c)]).await;
    for app in apps().await {
        let e = app.engine;
        let (_, remote) = app
            .api(
                "POST",
                "remotes/file/file/",
                Some(json!({"name": "up", "url": format!("{base}/PULP_MANIFEST")})),
            )
            .await;
        let (_, repo) = app
            .api(
                "POST",
                "repositories/file/file/",
                Some(json!({"name": "r", "remote": remote["pulp_href"]})),
            )
            .await;
        let repo_href = repo["pulp_href"].as_str().unwrap();
        let (_, accepted) = app
            .call("POST", &format!("{repo_href}sync/"), Some(json!({})))
            .await;
        app.completed(&accepted).await;
        let version = format!("{repo_href}versions/1/repair/");

        let (key_a, key_b) = (key_of(&app, a).await, key_of(&app, b).await);
        app.core.storage.delete(&key_a).await.unwrap();
        overwrite(&app, &key_b, b"bit rot\n").await;

        // Without checksums only the missing file is seen; with them, the damaged one too.
        assert_eq!(repair(&app, &version, false).await, (1, 0, 1), "{e}");
        assert_eq!(stored(&app, &key_a).await.as_deref(), Some(a), "{e}");
        assert_eq!(repair(&app, &version, true).await, (0, 1, 1), "{e}");
        assert_eq!(stored(&app, &key_b).await.as_deref(), Some(b), "{e}");
        assert_eq!(repair(&app, &version, true).await, (0, 0, 0), "{e}");

        // Bytes no remote gives: an uploaded file is removed once damaged, never served wrong.
        let (status, accepted) = app
            .form(
                "POST",
                "/pulp/api/v3/content/file/files/",
                &[("relative_path", "local.txt")],
                b"only here\n",
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{e} {accepted}");
        app.completed(&accepted).await;
        let local = key_of(&app, b"only here\n").await;
        overwrite(&app, &local, b"changed\n").await;
        overwrite(&app, &key_a, b"rot again\n").await;
        assert_eq!(
            repair(&app, "/pulp/api/v3/repair/", true).await,
            (0, 2, 1),
            "{e}"
        );
        assert_eq!(stored(&app, &key_a).await.as_deref(), Some(a), "{e}");
        assert_eq!(stored(&app, &local).await, None, "{e}");

        // The body is checked; a missing version is not found.
        let (status, body) = app
            .call("POST", &version, Some(json!({"verify_checksums": "maybe"})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{e} {body}");
        assert!(body["verify_checksums"].is_array(), "{e} {body}");
        let (status, body) = app
            .call("POST", &version, Some(json!({"deep": true})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{e} {body}");
        let (status, _) = app
            .call(
                "POST",
                &format!("{repo_href}versions/9/repair/"),
                Some(json!({})),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");

        // Only administrators repair the domain; a repository's repair needs its permission.
        let (status, _) = app
            .api(
                "POST",
                "users/",
                Some(json!({"username": "viewer", "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{e}");
        let (status, _) = app
            .as_user("viewer", "POST", "/pulp/api/v3/repair/", Some(json!({})))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{e}");
        let (status, _) = app
            .as_user("viewer", "POST", &version, Some(json!({})))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{e}");
        let (status, _) = app.anonymous("POST", "/pulp/api/v3/repair/").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{e}");
        app.close().await;
    }
}
