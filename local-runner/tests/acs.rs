//! Alternate content sources (`acs/file/file/`): validation and updates as Pulp's, a refresh
//! that reads only the manifests (one task per path, in one task group), immediate syncs and
//! on-demand fetches that take each file from the ACS when it offers the same sha256, and a
//! remote that an ACS holds cannot be deleted.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use common::{TestApp, apps, upstream};
use depot_core::checksums::sha256_hex;
use serde_json::{Value, json};

fn asked(log: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    let mut v = log.lock().unwrap().clone();
    v.sort();
    v
}

async fn remote(app: &TestApp, name: &str, url: &str, policy: &str) -> String {
    let (status, r) = app
        .api(
            "POST",
            "remotes/file/file/",
            Some(json!({"name": name, "url": url, "policy": policy})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{} {r}", app.engine);
    r["pulp_href"].as_str().unwrap().to_string()
}

async fn repository(app: &TestApp, name: &str) -> String {
    let (status, r) = app
        .api(
            "POST",
            "repositories/file/file/",
            Some(json!({"name": name})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{} {r}", app.engine);
    r["pulp_href"].as_str().unwrap().to_string()
}

/// Refreshes the ACS and waits for its task group; returns the group.
async fn refresh(app: &TestApp, acs: &str) -> Value {
    let (status, accepted) = app.call("POST", &format!("{acs}refresh/"), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{} {accepted}", app.engine);
    let group = accepted["task_group"].as_str().unwrap().to_string();
    for _ in 0..400 {
        let (_, g) = app.call("GET", &group, None).await;
        let tasks = g["tasks"].as_array().unwrap().len() as i64;
        let ended = ["completed", "failed", "canceled", "skipped"]
            .iter()
            .map(|s| g[*s].as_i64().unwrap())
            .sum::<i64>();
        if g["all_tasks_dispatched"] == true && ended == tasks {
            assert_eq!(g["completed"].as_i64(), Some(tasks), "{} {g}", app.engine);
            return g;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{} task group {group} did not end", app.engine);
}

#[tokio::test]
async fn acs_are_validated_updated_and_hold_their_remote() {
    for app in apps().await {
        let engine = app.engine;
        let immediate = remote(
            &app,
            "immediate",
            "http://127.0.0.1:9/PULP_MANIFEST",
            "immediate",
        )
        .await;
        let on_demand = remote(&app, "od", "http://127.0.0.1:9/", "on_demand").await;

        let (status, err) = app
            .api(
                "POST",
                "acs/file/file/",
                Some(json!({"name": "a", "remote": immediate, "paths": []})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{engine} {err}");
        assert!(
            err["remote"][0].as_str().unwrap().contains("on_demand"),
            "{err}"
        );
        for bad in ["/bad/path", "a/../b", ""] {
            let (status, err) = app
                .api(
                    "POST",
                    "acs/file/file/",
                    Some(json!({"name": "a", "remote": on_demand, "paths": ["good/path", bad]})),
                )
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{engine} {bad} {err}");
            assert!(err.get("paths").is_some(), "{err}");
        }
        let (status, err) = app
            .api(
                "POST",
                "acs/file/file/",
                Some(json!({"name": "a", "remote": "/pulp/api/v3/remotes/file/file/0190a3c2-7d6e-7c1a-9b1e-2f3a4b5c6d7e/"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{engine} {err}");
        // Nothing half-made was left by the refusals.
        let (_, page) = app.api("GET", "acs/file/file/", None).await;
        assert_eq!(page["count"], 0, "{engine} {page}");

        let (status, acs) = app
            .api(
                "POST",
                "acs/file/file/",
                Some(json!({"name": "a", "remote": on_demand, "paths": ["good/path", "valid"]})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{engine} {acs}");
        assert_eq!(acs["paths"], json!(["good/path", "valid"]));
        assert_eq!(acs["remote"], on_demand.as_str());
        assert!(acs["last_refreshed"].is_null());
        let href = acs["pulp_href"].as_str().unwrap().to_string();
        assert!(href.starts_with("/pulp/api/v3/acs/file/file/"), "{href}");
        let (status, err) = app
            .api(
                "POST",
                "acs/file/file/",
                Some(json!({"name": "a", "remote": on_demand})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{engine} {err}");
        assert_eq!(err["name"][0], "This field must be unique.");

        // A rename keeps the paths; a change of paths keeps the name.
        let (status, accepted) = app.call("PATCH", &href, Some(json!({"name": "b"}))).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{engine} {accepted}");
        app.completed(&accepted).await;
        let (_, acs) = app.call("GET", &href, None).await;
        assert_eq!(
            (acs["name"].clone(), acs["paths"].clone()),
            (json!("b"), json!(["good/path", "valid"]))
        );
        let (status, accepted) = app
            .call(
                "PUT",
                &href,
                Some(json!({"name": "c", "remote": on_demand})),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{engine} {accepted}");
        app.completed(&accepted).await;
        let (_, accepted) = app
            .call("PATCH", &href, Some(json!({"paths": ["foo"]})))
            .await;
        app.completed(&accepted).await;
        let (_, acs) = app.call("GET", &href, None).await;
        assert_eq!(
            (acs["name"].clone(), acs["paths"].clone()),
            (json!("c"), json!(["foo"]))
        );
        let (status, err) = app
            .call("PATCH", &href, Some(json!({"remote": immediate})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{engine} {err}");
        let (_, page) = app.api("GET", "acs/file/file/?name=c", None).await;
        assert_eq!(page["count"], 1, "{engine} {page}");
        assert_eq!(page["results"][0]["paths"], json!(["foo"]));

        // The remote an ACS is made of stays until the ACS goes.
        let (_, accepted) = app.call("DELETE", &on_demand, None).await;
        let t = app.wait(&accepted).await;
        assert_eq!(t["state"], "failed", "{engine} {t}");
        assert!(
            t["error"]["description"]
                .as_str()
                .unwrap()
                .contains("alternate content source"),
            "{t}"
        );
        let (_, accepted) = app.call("DELETE", &href, None).await;
        app.completed(&accepted).await;
        let (status, _) = app.call("GET", &href, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, accepted) = app.call("DELETE", &on_demand, None).await;
        app.completed(&accepted).await;
        app.close().await;
    }
}

#[tokio::test]
async fn syncs_and_on_demand_fetches_take_files_from_the_acs() {
    let files: [(&str, &[u8]); 3] = [
        ("1.iso", b"one"),
        ("2.iso", b"two two"),
        ("3.iso", b"three"),
    ];
    for app in apps().await {
        let engine = app.engine;
        let (main_url, main_asked) = upstream("/basic", &files).await;
        let (acs_url, acs_asked) = upstream("/basic", &files).await;
        // The ACS's remote points at the server root; its paths name the manifests.
        let acs_remote = remote(&app, "acs", &format!("{acs_url}/"), "on_demand").await;
        let (status, acs) = app
            .api(
                "POST",
                "acs/file/file/",
                Some(json!({"name": "near", "remote": acs_remote, "paths": ["basic/PULP_MANIFEST", "missing/PULP_MANIFEST"]})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{engine} {acs}");
        let href = acs["pulp_href"].as_str().unwrap();

        // One task per path; a path whose manifest is missing fails its task alone.
        let (status, accepted) = app.call("POST", &format!("{href}refresh/"), None).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{engine} {accepted}");
        let group = accepted["task_group"].as_str().unwrap().to_string();
        let g = loop {
            let (_, g) = app.call("GET", &group, None).await;
            if g["completed"].as_i64().unwrap() + g["failed"].as_i64().unwrap() == 2 {
                break g;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        };
        assert_eq!(
            (g["completed"].as_i64(), g["failed"].as_i64()),
            (Some(1), Some(1)),
            "{engine} {g}"
        );
        assert_eq!(
            asked(&acs_asked),
            ["/basic/PULP_MANIFEST", "/missing/PULP_MANIFEST"]
        );
        let (_, acs) = app.call("GET", href, None).await;
        assert!(acs["last_refreshed"].is_string(), "{engine} {acs}");
        let (status, accepted) = app
            .call(
                "PATCH",
                href,
                Some(json!({"paths": ["basic/PULP_MANIFEST"]})),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        app.completed(&accepted).await;
        let g = refresh(&app, href).await;
        assert_eq!(g["tasks"].as_array().unwrap().len(), 1, "{engine} {g}");
        acs_asked.lock().unwrap().clear();

        // An immediate sync reads only the manifest from its own remote.
        let main = remote(
            &app,
            "main",
            &format!("{main_url}/basic/PULP_MANIFEST"),
            "immediate",
        )
        .await;
        let repo = repository(&app, "synced").await;
        let (_, accepted) = app
            .call(
                "POST",
                &format!("{repo}sync/"),
                Some(json!({"remote": main})),
            )
            .await;
        app.completed(&accepted).await;
        assert_eq!(asked(&main_asked), ["/basic/PULP_MANIFEST"], "{engine}");
        assert_eq!(
            asked(&acs_asked),
            ["/basic/1.iso", "/basic/2.iso", "/basic/3.iso"],
            "{engine}"
        );
        for (_, bytes) in files {
            let (_, page) = app
                .api(
                    "GET",
                    &format!("artifacts/?sha256={}", sha256_hex(bytes)),
                    None,
                )
                .await;
            assert_eq!(page["count"], 1, "{engine} {page}");
        }

        // An on-demand file is fetched from the ACS too, and saved.
        let other = [("4.iso", b"four".as_slice())];
        let (od_url, od_asked) = upstream("", &other).await;
        let (acs2_url, acs2_asked) = upstream("", &other).await;
        let acs2_remote = remote(
            &app,
            "acs2",
            &format!("{acs2_url}/PULP_MANIFEST"),
            "on_demand",
        )
        .await;
        let (_, acs2) = app
            .api(
                "POST",
                "acs/file/file/",
                Some(json!({"name": "near2", "remote": acs2_remote})),
            )
            .await;
        assert_eq!(acs2["paths"], json!([""]), "{engine} {acs2}");
        refresh(&app, acs2["pulp_href"].as_str().unwrap()).await;
        let od = remote(&app, "od", &format!("{od_url}/PULP_MANIFEST"), "on_demand").await;
        let repo = repository(&app, "lazy").await;
        let (_, accepted) = app
            .call("POST", &format!("{repo}sync/"), Some(json!({"remote": od})))
            .await;
        let t = app.completed(&accepted).await;
        let version = t["created_resources"][0].as_str().unwrap().to_string();
        let (_, accepted) = app
            .api(
                "POST",
                "publications/file/file/",
                Some(json!({"repository_version": version})),
            )
            .await;
        let publication = app.completed(&accepted).await["created_resources"][0]
            .as_str()
            .unwrap()
            .to_string();
        app.create_by_task(
            "distributions/file/file/",
            json!({"name": "lazy", "base_path": "lazy", "publication": publication}),
        )
        .await;
        let (status, served) = app.fetch("/pulp/content/lazy/4.iso").await;
        assert_eq!(
            (status, served.as_slice()),
            (StatusCode::OK, b"four".as_slice()),
            "{engine}"
        );
        assert_eq!(asked(&od_asked), ["/PULP_MANIFEST"], "{engine}");
        assert_eq!(asked(&acs2_asked), ["/4.iso", "/PULP_MANIFEST"], "{engine}");
        app.close().await;
    }
}

/// Sends an anonymous request to the content app; the status and the body, or `None` when
/// the body was cut short.
async fn content(app: &TestApp, method: &str, path: &str) -> (StatusCode, Option<Vec<u8>>) {
    use tower::ServiceExt;
    let req = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20).await;
    (status, body.ok().map(|b| b.to_vec()))
}

/// On-demand files whose upstream bytes changed, as Pulp's content app treats them: the stream
/// is cut short (never a wrong file), nothing is saved, and that upstream file is not asked
/// again for the cooldown; another copy (the remote's, behind a bad ACS) then serves. A HEAD
/// fetches and saves the file before it answers.
#[tokio::test]
async fn on_demand_files_that_fail_their_digest_are_cut_short_and_skipped() {
    let files: [(&str, &[u8]); 2] = [("1.iso", b"one"), ("2.iso", b"two")];
    for app in apps().await {
        let e = app.engine;
        let (url, _, served) = common::changing_upstream("/basic", &files).await;
        let od = remote(
            &app,
            "od",
            &format!("{url}/basic/PULP_MANIFEST"),
            "on_demand",
        )
        .await;
        let repo = repository(&app, "od").await;
        let (_, accepted) = app
            .call("POST", &format!("{repo}sync/"), Some(json!({"remote": od})))
            .await;
        app.completed(&accepted).await;
        let (_, accepted) = app
            .api(
                "POST",
                "publications/file/file/",
                Some(json!({"repository": repo})),
            )
            .await;
        app.completed(&accepted).await;
        let body = json!({"name": "od", "base_path": "od", "repository": repo});
        app.create_by_task("distributions/file/file/", body).await;

        // A HEAD saves the file it answers for.
        let (status, _) = content(&app, "HEAD", "/pulp/content/od/2.iso").await;
        assert_eq!(status, StatusCode::OK, "{e}");
        let (_, page) = app
            .api(
                "GET",
                &format!("artifacts/?sha256={}", sha256_hex(b"two")),
                None,
            )
            .await;
        assert_eq!(page["count"], 1, "{e} {page}");

        // Upstream changed: cut short, not saved; then skipped (404) for the cooldown.
        served
            .lock()
            .unwrap()
            .insert("/basic/1.iso".into(), b"ONE".to_vec());
        let (status, body) = content(&app, "GET", "/pulp/content/od/1.iso").await;
        assert_eq!((status, body), (StatusCode::OK, None), "{e}");
        let (status, _) = content(&app, "GET", "/pulp/content/od/1.iso").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
        let (_, page) = app
            .api(
                "GET",
                &format!("artifacts/?sha256={}", sha256_hex(b"ONE")),
                None,
            )
            .await;
        assert_eq!(page["count"], 0, "{e} {page}");

        // A bad ACS copy is asked first, fails, and is skipped; the remote's then serves.
        let (acs_url, _, acs_served) = common::changing_upstream("", &files).await;
        let acs_remote = remote(
            &app,
            "acs",
            &format!("{acs_url}/PULP_MANIFEST"),
            "on_demand",
        )
        .await;
        let (_, acs) = app
            .api(
                "POST",
                "acs/file/file/",
                Some(json!({"name": "acs", "remote": acs_remote})),
            )
            .await;
        refresh(&app, acs["pulp_href"].as_str().unwrap()).await;
        served
            .lock()
            .unwrap()
            .insert("/basic/1.iso".into(), b"one".to_vec());
        // The remote's copy is still cooling down: make it count as long ago.
        sqlx::query("UPDATE source_failures SET failed_at = '2000-01-01T00:00:00.000000Z'")
            .execute(app.core.db.pool())
            .await
            .unwrap();
        acs_served
            .lock()
            .unwrap()
            .insert("/1.iso".into(), b"0NE".to_vec());
        let (status, body) = content(&app, "GET", "/pulp/content/od/1.iso").await;
        assert_eq!((status, body), (StatusCode::OK, None), "{e}");
        let (status, body) = content(&app, "GET", "/pulp/content/od/1.iso").await;
        assert_eq!(
            (status, body),
            (StatusCode::OK, Some(b"one".to_vec())),
            "{e}"
        );
        app.close().await;
    }
}
