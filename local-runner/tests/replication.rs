//! Replication (`upstream-pulps/`): a domain mirrors the file distributions of another
//! domain of the same server, over HTTP as it would another Pulp's: remotes, repositories and
//! distributions made and labelled, bytes served, settings passed on, syncs skipped when
//! nothing changed, what upstream dropped deleted, bad input refused.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::{PASSWORD, TestApp, served_apps};
use serde_json::{Value, json};

fn api(domain: &str, path: &str) -> String {
    format!("/pulp/{domain}/api/v3/{path}")
}

async fn made(app: &TestApp, path: &str, body: Value) -> Value {
    let (status, r) = app.call("POST", path, Some(body)).await;
    match status {
        StatusCode::CREATED => r,
        StatusCode::ACCEPTED => {
            let t = app.completed(&r).await;
            let href = t["created_resources"][0].as_str().unwrap().to_string();
            app.call("GET", &href, None).await.1
        }
        other => panic!("{} POST {path} -> {other} {r}", app.engine),
    }
}

/// A file repository in `domain` holding `files`, published; its href and the publication's.
async fn published(app: &TestApp, domain: &str, name: &str, files: &[(&str, &[u8])]) -> String {
    let repo = made(
        app,
        &api(domain, "repositories/file/file/"),
        json!({"name": name}),
    )
    .await;
    let repo = repo["pulp_href"].as_str().unwrap().to_string();
    for (path, bytes) in files {
        add(app, domain, &repo, path, bytes).await;
    }
    repo
}

async fn add(app: &TestApp, domain: &str, repo: &str, path: &str, bytes: &[u8]) {
    let fields = [("relative_path", path), ("repository", repo)];
    let url = api(domain, "content/file/files/");
    let (status, accepted) = app.form("POST", &url, &fields, bytes, &[]).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{} {accepted}", app.engine);
    app.completed(&accepted).await;
}

async fn publish(app: &TestApp, domain: &str, repo: &str) -> String {
    let p = made(
        app,
        &api(domain, "publications/file/file/"),
        json!({"repository": repo}),
    )
    .await;
    p["pulp_href"].as_str().unwrap().to_string()
}

/// Replicates and waits for the whole task group; the group.
async fn replicate(app: &TestApp, upstream: &str, body: Value) -> Value {
    let (status, accepted) = app
        .call("POST", &format!("{upstream}replicate/"), Some(body))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{} {accepted}", app.engine);
    let href = accepted["task_group"].as_str().unwrap().to_string();
    for _ in 0..800 {
        let (_, g) = app.call("GET", &href, None).await;
        assert!(g["waiting"].is_i64(), "{} {g}", app.engine);
        let busy = g["waiting"].as_i64().unwrap() + g["running"].as_i64().unwrap();
        if g["all_tasks_dispatched"] == true && busy == 0 {
            return g;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{} replication {href} did not end", app.engine);
}

fn task_names(group: &Value) -> Vec<String> {
    let mut names: Vec<String> = group["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

async fn list(app: &TestApp, domain: &str, path: &str) -> Vec<Value> {
    let (status, page) = app.call("GET", &api(domain, path), None).await;
    assert_eq!(status, StatusCode::OK, "{} {page}", app.engine);
    page["results"].as_array().unwrap().clone()
}

async fn domain(app: &TestApp, name: &str) {
    let body = json!({"name": name, "storage_class": "pulpcore.app.models.storage.FileSystem",
                      "storage_settings": {"MEDIA_ROOT": ""}});
    let (status, r) = app
        .call("POST", &api("default", "domains/"), Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{} {r}", app.engine);
}

#[tokio::test]
async fn a_domain_replicates_another_over_http() {
    for (app, origin) in served_apps(|s| s.domain_enabled = true).await {
        let e = app.engine;
        domain(&app, "source").await;
        domain(&app, "replica").await;

        // Upstream: one distribution of a publication, one of a repository, one of nothing.
        let r1 = published(&app, "source", "r1", &[("a.txt", b"alpha")]).await;
        let p1 = publish(&app, "source", &r1).await;
        let d1 = json!({"name": "d1", "base_path": "d1", "publication": p1,
                        "pulp_labels": {"team": "a"}});
        made(&app, &api("source", "distributions/file/file/"), d1).await;
        let r2 = published(&app, "source", "r2", &[("b.txt", b"bravo")]).await;
        publish(&app, "source", &r2).await;
        let d2 = json!({"name": "d2", "base_path": "d2", "repository": r2});
        let d2 = made(&app, &api("source", "distributions/file/file/"), d2).await;
        let d3 = json!({"name": "d3", "base_path": "d3"});
        made(&app, &api("source", "distributions/file/file/"), d3).await;

        let body = json!({"name": "up", "base_url": origin, "api_root": "/pulp/",
                          "domain": "source", "username": "admin", "password": PASSWORD,
                          "download_concurrency": 5, "max_retries": 7, "total_timeout": 600.0});
        let up = made(&app, &api("replica", "upstream-pulps/"), body).await;
        assert_eq!(up["policy"], "all", "{e} {up}");
        assert_eq!(up["last_replication"], Value::Null, "{e}");
        assert!(
            up.get("password").is_none() && up.get("username").is_none(),
            "{e} {up}"
        );
        let hidden = up["hidden_fields"].as_array().unwrap();
        assert!(
            hidden.contains(&json!({"name": "password", "is_set": true})),
            "{e} {up}"
        );
        let up_href = up["pulp_href"].as_str().unwrap().to_string();
        assert!(
            up_href.starts_with("/pulp/replica/api/v3/upstream-pulps/"),
            "{e}"
        );
        let up_id = up["prn"]
            .as_str()
            .unwrap()
            .rsplit(':')
            .next()
            .unwrap()
            .to_string();

        let g = replicate(&app, &up_href, json!({})).await;
        assert_eq!(g["failed"], 0, "{e} {g}");
        let names = task_names(&g);
        assert_eq!(
            names,
            [
                "pulp_file.app.tasks.synchronizing.synchronize",
                "pulp_file.app.tasks.synchronizing.synchronize",
                "pulpcore.app.tasks.base.general_create",
                "pulpcore.app.tasks.base.general_create",
                "pulpcore.app.tasks.replica.finalize_replication",
                "pulpcore.app.tasks.replica.replicate_distributions",
            ],
            "{e}"
        );

        // What serves something came over, labelled; the bytes are served by the replica.
        let distros = list(&app, "replica", "distributions/file/file/").await;
        assert_eq!(distros.len(), 2, "{e} {distros:?}");
        for d in &distros {
            assert_eq!(d["pulp_labels"]["UpstreamPulp"], up_id, "{e} {d}");
            assert_eq!(d["repository"], Value::Null, "{e} {d}");
            assert_eq!(d["publication"], Value::Null, "{e} {d}");
            assert!(d["repository_version"].is_string(), "{e} {d}");
        }
        assert_eq!(distros[0]["name"], "d1");
        assert_eq!(distros[0]["pulp_labels"]["team"], "a", "{e}");
        let (status, bytes) = app.fetch("/pulp/content/replica/d1/a.txt").await;
        assert_eq!(
            (status, bytes.as_slice()),
            (StatusCode::OK, &b"alpha"[..]),
            "{e}"
        );
        let (status, bytes) = app.fetch("/pulp/content/replica/d2/b.txt").await;
        assert_eq!(
            (status, bytes.as_slice()),
            (StatusCode::OK, &b"bravo"[..]),
            "{e}"
        );
        let remotes = list(&app, "replica", "remotes/file/file/").await;
        assert_eq!(remotes.len(), 2, "{e}");
        for r in &remotes {
            assert_eq!(r["download_concurrency"], 5, "{e} {r}");
            assert_eq!(r["max_retries"], 7, "{e} {r}");
            assert_eq!(r["total_timeout"], 600.0, "{e} {r}");
            assert_eq!(r["pulp_labels"]["UpstreamPulp"], up_id, "{e} {r}");
            assert!(
                r["url"].as_str().unwrap().ends_with("/PULP_MANIFEST"),
                "{e} {r}"
            );
        }
        let repos = list(&app, "replica", "repositories/file/file/").await;
        assert_eq!(repos.len(), 2, "{e}");
        assert_eq!(list(&app, "replica", "content/file/files/").await.len(), 2);
        let (_, up) = app.call("GET", &up_href, None).await;
        assert!(up["last_replication"].is_string(), "{e} {up}");

        // Nothing changed upstream: nothing is synced again.
        let g = replicate(&app, &up_href, json!({})).await;
        assert_eq!(g["failed"], 0, "{e} {g}");
        assert_eq!(task_names(&g).len(), 2, "{e} {g}");

        // Upstream drops d2 and adds a file to r1: the replica follows.
        let (status, t) = app
            .call("DELETE", d2["pulp_href"].as_str().unwrap(), None)
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{e} {t}");
        app.completed(&t).await;
        add(&app, "source", &r1, "c.txt", b"charlie").await;
        let p1b = publish(&app, "source", &r1).await;
        let dist = list(&app, "source", "distributions/file/file/?name=d1").await;
        let (status, t) = app
            .call(
                "PATCH",
                dist[0]["pulp_href"].as_str().unwrap(),
                Some(json!({"publication": p1b})),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{e} {t}");
        app.completed(&t).await;
        let g = replicate(&app, &up_href, json!({})).await;
        assert_eq!(g["failed"], 0, "{e} {g}");
        let (status, bytes) = app.fetch("/pulp/content/replica/d1/c.txt").await;
        assert_eq!(
            (status, bytes.as_slice()),
            (StatusCode::OK, &b"charlie"[..]),
            "{e}"
        );
        let distros = list(&app, "replica", "distributions/file/file/").await;
        assert_eq!(distros.len(), 1, "{e} {distros:?}");
        assert_eq!(
            list(&app, "replica", "repositories/file/file/").await.len(),
            1
        );
        assert_eq!(list(&app, "replica", "remotes/file/file/").await.len(), 1);

        // A run narrowed by its own q_select deletes nothing it did not select.
        let g = replicate(&app, &up_href, json!({"q_select": "name=nothing"})).await;
        assert_eq!(g["failed"], 0, "{e} {g}");
        assert_eq!(
            list(&app, "replica", "distributions/file/file/")
                .await
                .len(),
            1
        );

        // The stored q_select narrows every run: with nothing selected, everything goes.
        let (status, r) = app
            .call(
                "PATCH",
                &up_href,
                Some(json!({"q_select": "pulp_label_select=\"team=b\""})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{e} {r}");
        let g = replicate(&app, &up_href, json!({})).await;
        assert_eq!(g["failed"], 0, "{e} {g}");
        assert!(
            list(&app, "replica", "distributions/file/file/")
                .await
                .is_empty()
        );
        app.close().await;
    }
}

#[tokio::test]
async fn bad_upstream_pulps_are_refused_and_failures_reported() {
    for (app, _) in served_apps(|_| {}).await {
        let e = app.engine;
        let base = "upstream-pulps/";
        let good = json!({"name": "u", "base_url": "http://127.0.0.1:1", "api_root": "/pulp/"});
        let cases = [
            (json!({"name": "u", "api_root": "/pulp/"}), "base_url"),
            (
                json!({"name": "u", "base_url": "ftp://x", "api_root": "/pulp/"}),
                "base_url",
            ),
            (
                json!({"name": "u", "base_url": "http://a:b@x", "api_root": "/pulp/"}),
                "base_url",
            ),
            (
                json!({"name": "u", "base_url": "http://x", "api_root": "/../"}),
                "api_root",
            ),
            (
                json!({"name": "u", "base_url": "http://x", "api_root": "/pulp/", "policy": "most"}),
                "policy",
            ),
            (
                json!({"name": "u", "base_url": "http://x", "api_root": "/pulp/", "remote_policy": "all"}),
                "remote_policy",
            ),
            (
                json!({"name": "u", "base_url": "http://x", "api_root": "/pulp/", "q_select": "name=("}),
                "q_select",
            ),
            (
                json!({"name": "u", "base_url": "http://x", "api_root": "/pulp/", "q_select": "nope=1"}),
                "q_select",
            ),
            (
                json!({"name": "u", "base_url": "http://x", "api_root": "/pulp/", "download_concurrency": 0}),
                "download_concurrency",
            ),
            (
                json!({"name": "u", "base_url": "http://x", "api_root": "/pulp/", "ca_cert": "not pem"}),
                "ca_cert",
            ),
            (
                json!({"name": "u", "base_url": "http://x", "api_root": "/pulp/", "colour": "red"}),
                "colour",
            ),
        ];
        for (body, field) in cases {
            let (status, r) = app.api("POST", base, Some(body.clone())).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{e} {body} {r}");
            assert!(r.get(field).is_some(), "{e} {body} -> {r}");
        }
        let (_, page) = app.api("GET", base, None).await;
        assert_eq!(page["count"], 0, "{e} nothing half-made: {page}");

        let (status, up) = app.api("POST", base, Some(good.clone())).await;
        assert_eq!(status, StatusCode::CREATED, "{e} {up}");
        let (status, r) = app.api("POST", base, Some(good)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
        assert_eq!(r, json!({"name": ["This field must be unique."]}));
        let href = up["pulp_href"].as_str().unwrap().to_string();
        let (status, r) = app
            .call(
                "POST",
                &format!("{href}replicate/"),
                Some(json!({"q_select": "x=1"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{e} {r}");

        // An upstream that does not answer: the replication fails and says why.
        let g = replicate(&app, &href, json!({})).await;
        assert_eq!(g["failed"], 1, "{e} {g}");
        let task = g["tasks"][0]["pulp_href"].as_str().unwrap().to_string();
        let (_, t) = app.call("GET", &task, None).await;
        let why = t["error"]["description"].as_str().unwrap_or_default();
        assert!(why.contains("http://127.0.0.1:1"), "{e} {t}");

        // Only those granted it see an upstream Pulp, or replicate it.
        let (status, _) = app
            .api(
                "POST",
                "users/",
                Some(json!({"username": "eve", "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{e}");
        let (status, page) = app
            .as_user("eve", "GET", &format!("/pulp/api/v3/{base}"), None)
            .await;
        assert_eq!(
            (status, page["count"].clone()),
            (StatusCode::OK, json!(0)),
            "{e} {page}"
        );
        let (status, _) = app
            .as_user("eve", "POST", &format!("{href}replicate/"), Some(json!({})))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");

        let (status, _) = app.call("DELETE", &href, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{e}");
        let (status, _) = app.call("GET", &href, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
        app.close().await;
    }
}

#[tokio::test]
async fn a_failed_sync_holds_back_the_distributions_until_a_later_run() {
    for (app, origin) in served_apps(|s| s.domain_enabled = true).await {
        let e = app.engine;
        domain(&app, "up").await;
        domain(&app, "down").await;
        let ra = published(&app, "up", "ra", &[("a.txt", b"alpha")]).await;
        let pa = publish(&app, "up", &ra).await;
        let da = json!({"name": "da", "base_path": "da", "publication": pa});
        let da = made(&app, &api("up", "distributions/file/file/"), da).await;
        // A repository without a publication: its distribution serves no PULP_MANIFEST.
        let rb = published(&app, "up", "rb", &[]).await;
        let db = json!({"name": "db", "base_path": "db", "repository": rb});
        made(&app, &api("up", "distributions/file/file/"), db).await;

        // What replication does not manage under the `labeled` policy stays as it is.
        let local = published(&app, "down", "local", &[]).await;
        let mine = json!({"name": "mine", "base_path": "mine", "repository": local});
        made(&app, &api("down", "distributions/file/file/"), mine).await;

        let body = json!({"name": "up", "base_url": origin, "api_root": "pulp", "domain": "up",
                          "username": "admin", "password": PASSWORD, "policy": "labeled",
                          "remote_policy": "on_demand"});
        let up = made(&app, &api("down", "upstream-pulps/"), body).await;
        let href = up["pulp_href"].as_str().unwrap().to_string();

        let g = replicate(&app, &href, json!({})).await;
        assert_eq!(g["failed"], 2, "{e} the sync of db and the finalize: {g}");
        let (_, up) = app.call("GET", &href, None).await;
        assert_eq!(up["last_replication"], Value::Null, "{e}");
        let a = list(&app, "down", "distributions/file/file/?name=da").await;
        assert_eq!(a[0]["repository_version"], Value::Null, "{e} {a:?}");
        let repos = list(&app, "down", "repositories/file/file/?name=da").await;
        assert!(
            repos[0]["latest_version_href"]
                .as_str()
                .unwrap()
                .ends_with("/versions/1/")
        );
        let remotes = list(&app, "down", "remotes/file/file/").await;
        assert!(
            remotes.iter().all(|r| r["policy"] == "on_demand"),
            "{e} {remotes:?}"
        );

        add(&app, "up", &rb, "b.txt", b"bravo").await;
        publish(&app, "up", &rb).await;
        let g = replicate(&app, &href, json!({})).await;
        assert_eq!(g["failed"], 0, "{e} {g}");
        for (path, bytes) in [("da/a.txt", &b"alpha"[..]), ("db/b.txt", b"bravo")] {
            let (status, got) = app.fetch(&format!("/pulp/content/down/{path}")).await;
            assert_eq!(
                (status, got.as_slice()),
                (StatusCode::OK, bytes),
                "{e} {path}"
            );
        }
        let names = |ds: Vec<Value>| -> Vec<String> {
            ds.iter()
                .map(|d| d["name"].as_str().unwrap().to_string())
                .collect()
        };
        let all = list(&app, "down", "distributions/file/file/").await;
        assert_eq!(names(all), ["da", "db", "mine"], "{e}");

        // Renamed upstream: the distribution at that base path is kept, under the new name.
        let before = list(&app, "down", "distributions/file/file/?name=da").await;
        let (status, t) = app
            .call(
                "PATCH",
                da["pulp_href"].as_str().unwrap(),
                Some(json!({"name": "da2"})),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{e} {t}");
        app.completed(&t).await;
        let g = replicate(&app, &href, json!({})).await;
        assert_eq!(g["failed"], 0, "{e} {g}");
        let after = list(&app, "down", "distributions/file/file/?base_path=da").await;
        assert_eq!(after[0]["pulp_href"], before[0]["pulp_href"], "{e}");
        assert_eq!(after[0]["name"], "da2", "{e}");
        let (status, got) = app.fetch("/pulp/content/down/da/a.txt").await;
        assert_eq!(
            (status, got.as_slice()),
            (StatusCode::OK, &b"alpha"[..]),
            "{e}"
        );
        let all = list(&app, "down", "distributions/file/file/").await;
        assert_eq!(names(all), ["da2", "db", "mine"], "{e}");
        assert_eq!(
            list(&app, "down", "repositories/file/file/?name=local")
                .await
                .len(),
            1
        );
        app.close().await;
    }
}

#[tokio::test]
async fn python_distributions_replicate_as_indexes() {
    for (app, origin) in served_apps(|s| s.domain_enabled = true).await {
        let e = app.engine;
        domain(&app, "pysrc").await;
        domain(&app, "pymirror").await;
        let repo = made(
            &app,
            &api("pysrc", "repositories/python/python/"),
            json!({"name": "py"}),
        )
        .await;
        let repo = repo["pulp_href"].as_str().unwrap().to_string();
        let (filename, bytes) = common::wheel("demo-lib", "1.0rc1");
        let fields = [("relative_path", filename.as_str()), ("repository", &repo)];
        let url = api("pysrc", "content/python/packages/");
        let (status, accepted) = app.form("POST", &url, &fields, &bytes, &[]).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{e} {accepted}");
        app.completed(&accepted).await;
        let d = json!({"name": "pyd", "base_path": "pyd", "repository": repo});
        made(&app, &api("pysrc", "distributions/python/pypi/"), d).await;

        let body = json!({"name": "up", "base_url": origin, "api_root": "/pulp/",
                          "domain": "pysrc", "username": "admin", "password": PASSWORD});
        let up = made(&app, &api("pymirror", "upstream-pulps/"), body).await;
        let g = replicate(&app, up["pulp_href"].as_str().unwrap(), json!({})).await;
        assert_eq!(g["failed"], 0, "{e} {g}");

        let remotes = list(&app, "pymirror", "remotes/python/python/").await;
        assert_eq!(remotes.len(), 1, "{e} {remotes:?}");
        assert_eq!(remotes[0]["policy"], "immediate", "{e}");
        assert_eq!(remotes[0]["prereleases"], true, "{e}");
        assert_eq!(
            remotes[0]["url"],
            format!("{origin}/pypi/pysrc/pyd/"),
            "{e}"
        );
        let dists = list(&app, "pymirror", "distributions/python/pypi/").await;
        assert_eq!(dists.len(), 1, "{e} {dists:?}");
        assert!(dists[0]["repository_version"].is_string(), "{e} {dists:?}");
        let (status, page) = app.fetch("/pypi/pymirror/pyd/simple/demo-lib/").await;
        let page = String::from_utf8_lossy(&page);
        assert_eq!(status, StatusCode::OK, "{e} {page}");
        assert!(page.contains(&filename), "{e} {page}");
        let packages = list(&app, "pymirror", "content/python/packages/").await;
        assert_eq!(packages.len(), 1, "{e}");
        assert_eq!(
            packages[0]["sha256"],
            depot_core::checksums::sha256_hex(&bytes),
            "{e}"
        );
        app.close().await;
    }
}

#[tokio::test]
async fn container_distributions_replicate_from_the_registry() {
    for (app, origin) in served_apps(|s| s.domain_enabled = true).await {
        let e = app.engine;
        domain(&app, "csrc").await;
        domain(&app, "cmirror").await;
        let manifest = common::push(&app, "csrc/team/app", b"a layer").await;
        let src = list(&app, "csrc", "distributions/container/container/").await;
        let host = origin.trim_start_matches("http://");
        assert_eq!(
            src[0]["registry_path"],
            format!("{host}/csrc/team/app"),
            "{e}"
        );

        let body = json!({"name": "up", "base_url": origin, "api_root": "/pulp/",
                          "domain": "csrc", "username": "admin", "password": PASSWORD});
        let up = made(&app, &api("cmirror", "upstream-pulps/"), body).await;
        let g = replicate(&app, up["pulp_href"].as_str().unwrap(), json!({})).await;
        assert_eq!(g["failed"], 0, "{e} {g}");

        let remotes = list(&app, "cmirror", "remotes/container/container/").await;
        assert_eq!(remotes.len(), 1, "{e} {remotes:?}");
        assert_eq!(remotes[0]["url"], origin, "{e}");
        assert_eq!(remotes[0]["upstream_name"], "csrc/team/app", "{e}");
        let dists = list(&app, "cmirror", "distributions/container/container/").await;
        assert_eq!(dists.len(), 1, "{e} {dists:?}");
        assert_eq!(dists[0]["base_path"], "team/app", "{e}");
        assert!(dists[0]["repository_version"].is_string(), "{e} {dists:?}");
        let (status, _, body) = app
            .raw("GET", "/v2/cmirror/team/app/manifests/v1", &[], vec![])
            .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{e} {}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(body, manifest, "{e}");
        app.close().await;
    }
}
