//! File distributions serve a repository through its publications, as Pulp's do: nothing before
//! the first one, and with `autopublish` every new version is published in the task that made it
//! (with the repository's manifest name). Also Pulp's answers around them: created resources in
//! Pulp's order, PLP0023 for a refused overwrite, a 400 for a filter on a missing version, mirror
//! refused with autopublish.

mod common;

use axum::http::StatusCode;
use common::{TestApp, apps};
use depot_core::checksums::sha256_hex;
use serde_json::{Value, json};

/// Uploads `bytes` as an artifact; its href.
async fn artifact(app: &TestApp, bytes: &[u8]) -> String {
    let (status, a) = app
        .form("POST", "/pulp/api/v3/artifacts/", &[], bytes, &[])
        .await;
    assert_eq!(status, StatusCode::CREATED, "{} {a}", app.engine);
    a["pulp_href"].as_str().unwrap().to_string()
}

/// Creates file content at `path` from `bytes` in `repo`; the task.
async fn add(app: &TestApp, repo: &str, path: &str, bytes: &[u8]) -> Value {
    let a = artifact(app, bytes).await;
    let (status, accepted) = app
        .api(
            "POST",
            "content/file/files/",
            Some(json!({"relative_path": path, "artifact": a, "repository": repo})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{} {accepted}", app.engine);
    app.wait(&accepted).await
}

#[tokio::test]
async fn file_distributions_serve_publications_and_autopublish_makes_them() {
    for app in apps().await {
        let engine = app.engine;
        let (_, repo) = app
            .api(
                "POST",
                "repositories/file/file/",
                Some(json!({"name": "auto", "autopublish": true, "manifest": "TEST_MANIFEST"})),
            )
            .await;
        let repo_href = repo["pulp_href"].as_str().unwrap().to_string();
        let (_, plain) = app
            .api(
                "POST",
                "repositories/file/file/",
                Some(json!({"name": "plain"})),
            )
            .await;
        let plain_href = plain["pulp_href"].as_str().unwrap().to_string();
        for (name, href) in [("auto", &repo_href), ("plain", &plain_href)] {
            app.create_by_task(
                "distributions/file/file/",
                json!({"name": name, "base_path": name, "repository": href}),
            )
            .await;
        }
        // Distributions by repository, one or several.
        for (query, names) in [
            (format!("repository={repo_href}"), vec!["auto"]),
            (format!("repository__in={repo_href}"), vec!["auto"]),
            (
                format!("repository__in={repo_href},{plain_href}"),
                vec!["auto", "plain"],
            ),
            ("repository__in=/pulp/api/v3/nope/".to_string(), vec![]),
        ] {
            let (_, page) = app
                .api("GET", &format!("distributions/file/file/?{query}"), None)
                .await;
            let got: Vec<&str> = page["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["name"].as_str().unwrap())
                .collect();
            assert_eq!(got, names, "{engine} {query}");
        }

        // Pulp's order: the new version, then what was made from it, then the content.
        let t = add(&app, &repo_href, "a.txt", b"first").await;
        assert_eq!(t["state"], "completed", "{engine} {t}");
        let created: Vec<&str> = t["created_resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(created.len(), 3, "{engine} {created:?}");
        assert_eq!(created[0], format!("{repo_href}versions/1/"));
        assert!(
            created[1].contains("/publications/file/file/"),
            "{created:?}"
        );
        assert!(created[2].contains("/content/file/files/"), "{created:?}");
        // Each PRN names its resource, a version's its own id.
        let (_, v) = app.call("GET", created[0], None).await;
        let (_, p) = app.call("GET", created[1], None).await;
        let (_, c) = app.call("GET", created[2], None).await;
        assert_eq!(
            t["created_resource_prns"],
            json!([v["prn"], p["prn"], c["prn"]]),
            "{engine}"
        );
        assert_eq!(p["manifest"], "TEST_MANIFEST", "{engine} {p}");
        assert_eq!(p["repository_version"], created[0]);
        let (status, body) = app.fetch("/pulp/content/auto/a.txt").await;
        assert_eq!(
            (status, body.as_slice()),
            (StatusCode::OK, b"first".as_slice()),
            "{engine}"
        );
        let (_, manifest) = app.fetch("/pulp/content/auto/TEST_MANIFEST").await;
        let line = format!("a.txt,{},5", sha256_hex(b"first"));
        assert_eq!(
            String::from_utf8(manifest).unwrap().trim(),
            line,
            "{engine}"
        );

        // Edge caching as Pulp's: always revalidate; the sha256 is the ETag; a current copy
        // gets a 304 (by ETag first, else by date), a stale one the bytes.
        let url = "/pulp/content/auto/a.txt";
        let (status, h, _) = app.raw_with("GET", url, &[], Vec::new()).await;
        assert_eq!(status, StatusCode::OK, "{engine}");
        assert_eq!(h["cache-control"], "public, max-age=0, must-revalidate");
        let etag = h["etag"].to_str().unwrap().to_string();
        assert_eq!(etag, format!("\"{}\"", sha256_hex(b"first")));
        let modified = h["last-modified"].to_str().unwrap().to_string();
        for (name, value, expected) in [
            ("if-none-match", etag.as_str(), StatusCode::NOT_MODIFIED),
            ("if-none-match", "\"other\", W/\"x\"", StatusCode::OK),
            (
                "if-modified-since",
                modified.as_str(),
                StatusCode::NOT_MODIFIED,
            ),
            (
                "if-modified-since",
                "Thu, 01 Jan 1970 00:00:00 GMT",
                StatusCode::OK,
            ),
        ] {
            let (status, h, body) = app.raw_with("GET", url, &[(name, value)], Vec::new()).await;
            assert_eq!(status, expected, "{engine} {name}: {value}");
            if status == StatusCode::NOT_MODIFIED {
                assert!(body.is_empty());
                assert_eq!(h["etag"], etag.as_str());
            }
        }

        // A second version is published too, and served at once.
        add(&app, &repo_href, "b.txt", b"second").await;
        let (status, _) = app.fetch("/pulp/content/auto/b.txt").await;
        assert_eq!(status, StatusCode::OK, "{engine}");
        let (_, page) = app
            .api(
                "GET",
                &format!("publications/file/file/?repository={repo_href}"),
                None,
            )
            .await;
        assert_eq!(page["count"], 2, "{engine} {page}");
        // Pulp's time filters: the exact time, and ranges.
        let created_at = p["pulp_created"].as_str().unwrap();
        for (query, count) in [
            (format!("pulp_created={created_at}"), 1),
            (
                format!("pulp_created={}", repo["pulp_created"].as_str().unwrap()),
                0,
            ),
            (format!("pulp_created__gt={created_at}"), 1),
            (format!("pulp_created__lte={created_at}"), 1),
        ] {
            let (_, page) = app
                .api(
                    "GET",
                    &format!("publications/file/file/?repository={repo_href}&{query}"),
                    None,
                )
                .await;
            assert_eq!(page["count"], count, "{engine} {query} {page}");
        }

        // Without autopublish nothing is served until a publication is made.
        let t = add(&app, &plain_href, "c.txt", b"third").await;
        assert_eq!(
            t["created_resources"].as_array().unwrap().len(),
            2,
            "{engine} {t}"
        );
        let (status, _) = app.fetch("/pulp/content/plain/c.txt").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{engine}");
        let (_, accepted) = app
            .api(
                "POST",
                "publications/file/file/",
                Some(json!({"repository": plain_href})),
            )
            .await;
        app.completed(&accepted).await;
        let (status, body) = app.fetch("/pulp/content/plain/c.txt").await;
        assert_eq!(
            (status, body.as_slice()),
            (StatusCode::OK, b"third".as_slice()),
            "{engine}"
        );

        // A filter on a version that does not exist is a bad request, not an empty page.
        let (status, err) = app
            .api(
                "GET",
                &format!("publications/file/file/?repository_version={repo_href}versions/10/"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{engine} {err}");

        // A refused overwrite carries Pulp's error code.
        let (_, accepted) = app
            .call(
                "POST",
                &format!("{plain_href}modify/"),
                Some(json!({"add_content_units": [created[2]], "overwrite": false})),
            )
            .await;
        app.completed(&accepted).await; // a.txt is new to this repository
        let t = add(&app, &plain_href, "a.txt", b"other bytes").await;
        assert_eq!(t["state"], "completed", "{engine} {t}"); // overwrite defaults to true
        let other = t["created_resources"][1].as_str().unwrap().to_string();
        let (_, accepted) = app
            .call(
                "POST",
                &format!("{plain_href}modify/"),
                Some(json!({"add_content_units": [created[2]], "overwrite": false})),
            )
            .await;
        let t = app.wait(&accepted).await;
        assert_eq!(t["state"], "failed", "{engine} {t}");
        let why = t["error"]["description"].as_str().unwrap();
        assert!(
            why.contains("[PLP0023]") && why.contains(&other[other.len() - 37..other.len() - 1]),
            "{why}"
        );

        // Mirror would drop what autopublish published.
        let (_, remote) = app
            .api(
                "POST",
                "remotes/file/file/",
                Some(json!({"name": "r", "url": "http://127.0.0.1:9/PULP_MANIFEST"})),
            )
            .await;
        let (status, err) = app
            .call(
                "POST",
                &format!("{repo_href}sync/"),
                Some(json!({"remote": remote["pulp_href"], "mirror": true})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{engine} {err}");
        assert!(
            err.to_string()
                .contains("Cannot use mirror mode with autopublished repository.")
        );
        app.close().await;
    }
}

/// Pulp's `with_content` on distributions: what a distribution serves (its publication's
/// version, its version, or its repository's latest publication), and base paths without spaces.
#[tokio::test]
async fn distributions_by_the_content_they_serve() {
    for app in apps().await {
        let e = app.engine;
        let repo = app.file_repository("served").await;
        let t = app.add_file(&repo, "a.txt", b"a").await;
        let unit = common::created_content(&t);
        let (_, accepted) = app
            .api(
                "POST",
                "publications/file/file/",
                Some(json!({"repository": repo})),
            )
            .await;
        let publication = app.completed(&accepted).await["created_resources"][0]
            .as_str()
            .unwrap()
            .to_string();
        let v0 = json!({"repository_version": format!("{repo}versions/0/")});
        let (_, accepted) = app.api("POST", "publications/file/file/", Some(v0)).await;
        let empty = app.completed(&accepted).await["created_resources"][0]
            .as_str()
            .unwrap()
            .to_string();
        let mut names = Vec::new();
        for (name, source) in [
            ("pub", json!({"publication": publication})),
            ("empty", json!({"publication": empty})),
            ("repo", json!({"repository": repo})),
            (
                "v1",
                json!({"repository_version": format!("{repo}versions/1/")}),
            ),
        ] {
            let mut body = json!({"name": name, "base_path": name});
            body.as_object_mut()
                .unwrap()
                .extend(source.as_object().unwrap().clone());
            app.create_by_task("distributions/file/file/", body).await;
            names.push(name);
        }
        let (_, page) = app
            .api(
                "GET",
                &format!("distributions/file/file/?with_content={unit}"),
                None,
            )
            .await;
        let mut got: Vec<&str> = page["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap())
            .collect();
        got.sort();
        assert_eq!(got, ["pub", "repo", "v1"], "{e}");
        // Publications by content: only the one of a version that holds it.
        for list in ["publications/file/file/", "publications/"] {
            let (_, page) = app
                .api("GET", &format!("{list}?content__in={unit}"), None)
                .await;
            assert_eq!(page["count"], 1, "{e} {list} {page}");
            assert_eq!(page["results"][0]["pulp_href"], publication.as_str());
        }
        let body = json!({"name": "spaced", "base_path": "has space"});
        let (status, err) = app
            .api("POST", "distributions/file/file/", Some(body))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        assert!(err["base_path"].is_array(), "{err}");
        app.close().await;
    }
}

/// Checkpoints: a checkpoint distribution lists its repository's checkpoint publications by
/// time, serves each under its timestamp, sends any other time to the checkpoint in force then,
/// and `retain_checkpoints` keeps the newest only.
#[tokio::test]
async fn checkpoint_distributions_serve_publications_by_time() {
    for app in apps().await {
        let e = app.engine;
        let repo = app.file_repository("cp").await;
        app.create_by_task(
            "distributions/file/file/",
            json!({"name": "cp", "base_path": "cp", "repository": repo, "checkpoint": true}),
        )
        .await;
        let mut pubs = Vec::new();
        for (i, checkpoint) in [false, true, false, true].into_iter().enumerate() {
            if i > 0 {
                // Checkpoint names have a second's resolution.
                tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
            }
            app.add_file(&repo, &format!("{i}.txt"), format!("file {i}").as_bytes())
                .await;
            let body = json!({"repository": repo, "checkpoint": checkpoint});
            let (_, accepted) = app.api("POST", "publications/file/file/", Some(body)).await;
            let href = app.completed(&accepted).await["created_resources"][0]
                .as_str()
                .unwrap()
                .to_string();
            let (_, p) = app.call("GET", &href, None).await;
            let ts: String =
                p["pulp_created"].as_str().unwrap()[..19].replace(['-', ':'], "") + "Z";
            pubs.push((href, ts));
        }
        let (status, listing) = app.fetch("/pulp/content/cp/").await;
        let listing = String::from_utf8(listing).unwrap();
        assert_eq!(status, StatusCode::OK, "{e}");
        assert!(
            listing.contains(&pubs[1].1) && listing.contains(&pubs[3].1),
            "{listing}"
        );
        assert!(!listing.contains(&pubs[2].1), "{listing}");

        // A checkpoint's own time serves it; its manifest holds what it held then.
        let (status, body) = app.fetch(&format!("/pulp/content/cp/{}/", pubs[1].1)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            String::from_utf8_lossy(&body)
                .contains(&format!("Index of /pulp/content/cp/{}/", pubs[1].1))
        );
        let (_, manifest) = app
            .fetch(&format!("/pulp/content/cp/{}/PULP_MANIFEST", pubs[1].1))
            .await;
        let names: Vec<String> = String::from_utf8(manifest)
            .unwrap()
            .lines()
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect();
        assert_eq!(names, ["0.txt", "1.txt"], "{e}");
        // Another time goes to the checkpoint in force then.
        let url = format!("/pulp/content/cp/{}/1.txt", pubs[2].1);
        let (status, h, _) = app.raw_with("GET", &url, &[], Vec::new()).await;
        assert_eq!(status, StatusCode::FOUND, "{e}");
        assert_eq!(
            h["location"],
            format!("/pulp/content/cp/{}/1.txt", pubs[1].1).as_str()
        );
        // Before the first checkpoint, in the future, or no time at all: not found.
        for bad in [
            "19990101T000000Z",
            "29990101T000000Z",
            "20259928T092752Z",
            "invalid_ts",
        ] {
            let (status, _) = app.fetch(&format!("/pulp/content/cp/{bad}/")).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{e} {bad}");
        }
        // A checkpoint is made of a repository, not of a version.
        let body = json!({"repository_version": format!("{repo}versions/1/"), "checkpoint": true});
        let (status, _) = app.api("POST", "publications/file/file/", Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        // Retention keeps the newest checkpoint only.
        let (_, accepted) = app
            .call("PATCH", &repo, Some(json!({"retain_checkpoints": 1})))
            .await;
        app.completed(&accepted).await;
        let (_, p1) = app.call("GET", &pubs[1].0, None).await;
        let (_, p3) = app.call("GET", &pubs[3].0, None).await;
        assert_eq!(
            (&p1["checkpoint"], &p3["checkpoint"]),
            (&json!(false), &json!(true)),
            "{e}"
        );
        app.close().await;
    }
}

/// Directory listings as Pulp writes them: `./` links, `../` below the root only, each file's
/// date and size in Pulp's columns (`0 Bytes`, `2.5 kB`), hidden distributions left out.
#[tokio::test]
async fn directory_listings_read_as_pulps() {
    for app in apps().await {
        let e = app.engine;
        let body = json!({"name": "listed", "autopublish": true});
        let (status, repo) = app.api("POST", "repositories/file/file/", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{repo}");
        let repo = repo["pulp_href"].as_str().unwrap().to_string();
        add(&app, &repo, "zero", b"").await;
        add(&app, &repo, "dir/big.bin", &[7u8; 2500]).await;
        for (name, hidden) in [("listed", false), ("unlisted", true)] {
            app.create_by_task(
                "distributions/file/file/",
                json!({"name": name, "base_path": name, "repository": repo, "hidden": hidden}),
            )
            .await;
        }

        let (status, root) = app.fetch("/pulp/content/").await;
        assert_eq!(status, StatusCode::OK);
        let root = String::from_utf8(root).unwrap();
        assert!(
            root.contains("<h1>Index of /pulp/content/</h1>"),
            "{e} {root}"
        );
        assert_eq!(root.matches("<a href=\"./listed/\">").count(), 1, "{root}");
        assert!(!root.contains("unlisted"), "{e} {root}");
        assert!(!root.contains("<a href=\"../\">"), "{e} {root}");

        let (status, top) = app.fetch("/pulp/content/listed/").await;
        assert_eq!(status, StatusCode::OK);
        let top = String::from_utf8(top).unwrap();
        let lines: Vec<&str> = top.lines().collect();
        assert!(
            lines.contains(&"<hr><pre><a href=\"../\">../</a>"),
            "{e} {top}"
        );
        let zero = lines
            .iter()
            .find(|l| l.starts_with("<a href=\"./zero\">zero</a>"));
        let zero = zero.unwrap_or_else(|| panic!("{e} {top}"));
        assert!(zero.ends_with("  0 Bytes"), "{zero}");
        // Dates start at column 100 after the link's text: `dd-Mon-yyyy hh:mm`.
        let date = &zero["<a href=\"./zero\">zero</a>".len() + 96..];
        assert_eq!(date.as_bytes()[2], b'-', "{zero}");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("<a href=\"./dir/\">dir/</a>"))
        );
        let (_, below) = app.fetch("/pulp/content/listed/dir/").await;
        let below = String::from_utf8(below).unwrap();
        let big = below
            .lines()
            .find(|l| l.starts_with("<a href=\"./big.bin\">"));
        assert!(big.is_some_and(|l| l.ends_with("  2.5 kB")), "{e} {below}");

        // Pulp's redirects to the directory form, and its word on a distribution of nothing.
        let body = json!({"name": "empty", "base_path": "empty"});
        app.create_by_task("distributions/file/file/", body).await;
        for bare in ["/pulp/content", "/pulp/content/empty"] {
            let (status, _) = app.fetch(bare).await;
            assert_eq!(status, StatusCode::MOVED_PERMANENTLY, "{e} {bare}");
        }
        let (status, nothing) = app.fetch("/pulp/content/empty/").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let nothing = String::from_utf8(nothing).unwrap();
        assert!(
            nothing.contains("is not pointing to a publication"),
            "{nothing}"
        );
        app.close().await;
    }
}

/// A repository's distribution serves its newest publication (of an older version too, while
/// the latest has none, as Pulp's); once a newer publication replaces it, the files only the
/// old one had are still served for PULP_DISTRIBUTED_PUBLICATION_RETENTION_PERIOD, then not.
#[tokio::test]
async fn superseded_publications_serve_for_the_retention_period() {
    for app in common::apps_with(|s| s.distributed_publication_retention = 1).await {
        let e = app.engine;
        let repo = app.file_repository("kept").await;
        add(&app, &repo, "a.txt", b"a").await;
        add(&app, &repo, "b.txt", b"b").await;
        let publish = || async {
            let body = json!({"repository": repo});
            let (_, accepted) = app.api("POST", "publications/file/file/", Some(body)).await;
            app.completed(&accepted).await;
        };
        publish().await;
        let body = json!({"name": "kept", "base_path": "kept", "repository": repo});
        app.create_by_task("distributions/file/file/", body).await;
        let fetch = |path: &'static str| {
            let app = &app;
            async move { app.fetch(&format!("/pulp/content/kept/{path}")).await.0 }
        };
        assert_eq!(fetch("b.txt").await, StatusCode::OK, "{e}");

        // A newer version without a publication: the older publication still serves.
        let (_, unit) = app
            .api("GET", "content/file/files/?relative_path=b.txt", None)
            .await;
        let unit = unit["results"][0]["pulp_href"]
            .as_str()
            .unwrap()
            .to_string();
        let modify = json!({"remove_content_units": [unit]});
        let (_, accepted) = app
            .call("POST", &format!("{repo}modify/"), Some(modify))
            .await;
        app.completed(&accepted).await;
        assert_eq!(fetch("b.txt").await, StatusCode::OK, "{e}");

        // Published: b.txt is only in the old publication, served within the retention.
        publish().await;
        assert_eq!(fetch("a.txt").await, StatusCode::OK, "{e}");
        assert_eq!(fetch("b.txt").await, StatusCode::OK, "{e}");
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        assert_eq!(fetch("b.txt").await, StatusCode::NOT_FOUND, "{e}");
        assert_eq!(fetch("a.txt").await, StatusCode::OK, "{e}");
        app.close().await;
    }
}
