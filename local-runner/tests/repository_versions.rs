//! Repository versions as Pulp's filters and rules see them: repositories by the content they
//! hold (`with_content`, `latest_with_content`) and by name pattern, versions by content (per
//! repository and across all), artifacts by version, a repository or a PRN where a version is
//! asked for, a base version of another repository, and versions that distributions serve
//! cannot be deleted and do not count against `retain_repo_versions`.

mod common;

use axum::http::StatusCode;
use common::{TestApp, apps};
use serde_json::{Value, json};

/// Hrefs of a list's results.
async fn hrefs(app: &TestApp, path: &str) -> Vec<String> {
    let (status, page) = app.api("GET", path, None).await;
    assert_eq!(status, StatusCode::OK, "{} {path} {page}", app.engine);
    let mut out: Vec<String> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["pulp_href"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

async fn modify(app: &TestApp, repo: &str, body: Value) -> (StatusCode, Value) {
    let (status, accepted) = app
        .call("POST", &format!("{repo}modify/"), Some(body))
        .await;
    if status != StatusCode::ACCEPTED {
        return (status, accepted);
    }
    (status, app.completed(&accepted).await)
}

#[tokio::test]
async fn filters_find_repositories_versions_and_artifacts_by_content() {
    for app in apps().await {
        let e = app.engine;
        let a = app.file_repository("Alpha-repo").await;
        let b = app.file_repository("beta-repo").await;
        let one = common::created_content(&app.add_file(&a, "one.txt", b"one").await);
        let two = common::created_content(&app.add_file(&a, "two.txt", b"two").await);
        modify(&app, &b, json!({"add_content_units": [one]})).await;
        modify(&app, &a, json!({"remove_content_units": [one]})).await;

        // `with_content`: any version; `latest_with_content`: the latest only.
        let q = |f: &str, c: &str| format!("repositories/file/file/?{f}={c}");
        assert_eq!(
            hrefs(&app, &q("with_content", &one)).await,
            sorted([&a, &b]),
            "{e}"
        );
        assert_eq!(
            hrefs(&app, &q("latest_with_content", &one)).await,
            vec![b.clone()]
        );
        assert_eq!(
            hrefs(&app, &q("latest_with_content", &two)).await,
            vec![a.clone()]
        );
        let (status, _) = app
            .api("GET", &q("with_content", "/pulp/api/v3/nope/"), None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // Name patterns: `__regex` minds case, `__iregex` does not; a bad pattern is a 400.
        let by = |p: &str| format!("repositories/file/file/?{p}");
        assert_eq!(
            hrefs(&app, &by("name__regex=^Alpha-")).await,
            vec![a.clone()]
        );
        assert!(hrefs(&app, &by("name__regex=^ALPHA-")).await.is_empty());
        assert_eq!(
            hrefs(&app, &by("name__iregex=^ALPHA-")).await,
            vec![a.clone()]
        );
        assert_eq!(
            hrefs(&app, &by("name__regex=-repo$")).await,
            sorted([&a, &b])
        );
        let (status, body) = app.api("GET", &by("name__regex=(unclosed"), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

        // Versions holding a unit: per repository and across all of them.
        let all = |p: &str| format!("repository_versions/?{p}");
        assert_eq!(
            hrefs(&app, &all(&format!("content={one}"))).await,
            sorted([
                &format!("{a}versions/1/"),
                &format!("{a}versions/2/"),
                &format!("{b}versions/1/")
            ])
        );
        assert_eq!(
            hrefs(
                &app,
                &format!(
                    "{}?content={two}",
                    &format!("{a}versions/")["/pulp/api/v3/".len()..]
                )
            )
            .await,
            sorted([&format!("{a}versions/2/"), &format!("{a}versions/3/")])
        );
        assert_eq!(
            hrefs(&app, &all(&format!("content__in={one},{two}")))
                .await
                .len(),
            4
        );
        let missing = "/pulp/api/v3/content/file/files/c4ed74cf-a806-490d-a25f-94c3c3dd2dd7/";
        let (status, _) = app
            .api("GET", &all(&format!("content={missing}")), None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // Artifacts of a version: its content's files only.
        let (_, arts) = app
            .api(
                "GET",
                &format!("artifacts/?repository_version={a}versions/3/"),
                None,
            )
            .await;
        assert_eq!(arts["count"], 1, "{e} {arts}");
        assert_eq!(
            arts["results"][0]["sha256"],
            depot_core::checksums::sha256_hex(b"two")
        );
        let (status, body) = app
            .api(
                "GET",
                &format!("artifacts/?repository_version={a}versions/9/"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            body.to_string().contains("not found for repositoryversion"),
            "{body}"
        );

        // A repository (or its PRN) where a version is asked for means its latest version.
        let (_, repo) = app.call("GET", &a, None).await;
        for r in [a.as_str(), repo["prn"].as_str().unwrap()] {
            let units = hrefs(&app, &format!("content/file/files/?repository_version={r}")).await;
            assert_eq!(units, vec![two.clone()], "{e} {r}");
        }
        app.close().await;
    }
}

fn sorted<const N: usize>(items: [&String; N]) -> Vec<String> {
    let mut v: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn bases_prns_and_served_versions() {
    for app in apps().await {
        let e = app.engine;
        let a = app.file_repository("a").await;
        let one = common::created_content(&app.add_file(&a, "one.txt", b"one").await);
        app.add_file(&a, "two.txt", b"two").await;

        // A base version of another repository of the same type.
        let b = app.file_repository("b").await;
        let (status, t) =
            modify(&app, &b, json!({"base_version": format!("{a}versions/1/")})).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{e} {t}");
        let (_, v) = app.call("GET", &format!("{b}versions/1/"), None).await;
        assert_eq!(v["base_version"], format!("{a}versions/1/"), "{e} {v}");
        assert_eq!(
            hrefs(
                &app,
                &format!("content/file/files/?repository_version={b}versions/1/")
            )
            .await,
            vec![one.clone()]
        );
        // '*' goes alone.
        let (status, body) = modify(&app, &b, json!({"remove_content_units": ["*", one]})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

        // A version's PRN where its href is asked for.
        let (_, v2) = app.call("GET", &format!("{a}versions/2/"), None).await;
        let body = json!({"repository_version": v2["prn"]});
        let (status, accepted) = app.api("POST", "publications/file/file/", Some(body)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{e} {accepted}");
        let publication = app.completed(&accepted).await["created_resources"][0]
            .as_str()
            .unwrap()
            .to_string();

        // Served versions cannot go: by publication, then by version.
        let d = app
            .create_by_task(
                "distributions/file/file/",
                json!({"name": "d", "base_path": "d", "publication": publication}),
            )
            .await;
        let d = d["pulp_href"].as_str().unwrap().to_string();
        let v2_href = format!("{a}versions/2/");
        let (status, body) = app.call("DELETE", &v2_href, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{e} {body}");
        assert!(
            body.to_string()
                .contains("The repository version cannot be deleted")
        );
        let (_, accepted) = app
            .call(
                "PATCH",
                &d,
                Some(json!({"publication": null, "repository_version": format!("{a}versions/1/")})),
            )
            .await;
        app.completed(&accepted).await;
        let (status, _) = app.call("DELETE", &format!("{a}versions/1/"), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, accepted) = app.call("DELETE", &v2_href, None).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
        app.completed(&accepted).await;

        // Retention keeps served versions and does not count them.
        let r = app.file_repository("kept").await;
        let (_, accepted) = app
            .call("PATCH", &r, Some(json!({"retain_repo_versions": 1})))
            .await;
        app.completed(&accepted).await;
        app.add_file(&r, "x", b"x").await;
        app.create_by_task(
            "distributions/file/file/",
            json!({"name": "k", "base_path": "k", "repository_version": format!("{r}versions/1/")}),
        )
        .await;
        app.add_file(&r, "y", b"y").await;
        app.add_file(&r, "z", b"z").await;
        let kept = hrefs(&app, &format!("{}versions/", &r["/pulp/api/v3/".len()..])).await;
        assert_eq!(
            kept,
            sorted([&format!("{r}versions/1/"), &format!("{r}versions/3/")]),
            "{e}"
        );
        app.close().await;
    }
}

#[tokio::test]
async fn reclaim_space_frees_files_a_remote_gives_again() {
    for app in apps().await {
        let e = app.engine;
        let files: [(&str, &[u8]); 2] = [("1.iso", b"first"), ("2.iso", b"second")];
        let (url, _) = common::upstream("/r", &files).await;
        let body =
            json!({"name": "up", "url": format!("{url}/r/PULP_MANIFEST"), "policy": "immediate"});
        let (_, remote) = app.api("POST", "remotes/file/file/", Some(body)).await;
        let synced = app.file_repository("synced").await;
        let (_, accepted) = app
            .call(
                "POST",
                &format!("{synced}sync/"),
                Some(json!({"remote": remote["pulp_href"]})),
            )
            .await;
        app.completed(&accepted).await;
        // An uploaded file has no remote: it stays.
        app.add_file(&synced, "own.txt", b"uploaded").await;
        assert_eq!(artifacts_of(&app, b"first").await, 1, "{e}");

        for (body, why) in [
            (json!({"repo_hrefs": []}), "Must not be []"),
            (
                json!({"repo_hrefs": ["*", synced]}),
                "Can not specify other HREFs",
            ),
            (
                json!({"repo_hrefs": ["/pulp/api/v3/nope/"]}),
                "Invalid hyperlink",
            ),
        ] {
            let (status, err) = app
                .api("POST", "repositories/reclaim_space/", Some(body))
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
            assert!(err.to_string().contains(why), "{err}");
        }
        // Kept versions keep their files.
        let body = json!({"repo_hrefs": [synced], "repo_versions_keeplist": [format!("{synced}versions/2/")]});
        let (_, accepted) = app
            .api("POST", "repositories/reclaim_space/", Some(body))
            .await;
        app.completed(&accepted).await;
        assert_eq!(artifacts_of(&app, b"first").await, 1, "{e}");

        let (status, accepted) = app
            .api(
                "POST",
                "repositories/reclaim_space/",
                Some(json!({"repo_hrefs": ["*"]})),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
        let t = app.completed(&accepted).await;
        assert!(
            t["reserved_resources_record"]
                .to_string()
                .contains("shared:prn:file.filerepository:")
        );
        assert_eq!(artifacts_of(&app, b"first").await, 0, "{e}");
        assert_eq!(artifacts_of(&app, b"second").await, 0, "{e}");
        assert_eq!(artifacts_of(&app, b"uploaded").await, 1, "{e}");
        // The units stay, their files on demand; a sync stores them again.
        let (_, page) = app
            .api(
                "GET",
                &format!("content/file/files/?repository_version={synced}"),
                None,
            )
            .await;
        assert_eq!(page["count"], 3);
        let (_, accepted) = app
            .call(
                "POST",
                &format!("{synced}sync/"),
                Some(json!({"remote": remote["pulp_href"]})),
            )
            .await;
        app.completed(&accepted).await;
        assert_eq!(artifacts_of(&app, b"second").await, 1, "{e}");
        app.close().await;
    }
}

/// How many artifacts hold these bytes.
async fn artifacts_of(app: &TestApp, bytes: &[u8]) -> Value {
    let sha = depot_core::checksums::sha256_hex(bytes);
    app.api("GET", &format!("artifacts/?sha256={sha}"), None)
        .await
        .1["count"]
        .clone()
}
