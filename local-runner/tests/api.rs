//! Every REST resource family in process, on SQLite and (with `DEPOT_TEST_PG_URL`) PostgreSQL:
//! create, read, list with filters, update, delete, and the error answers clients rely on.
//! What needs real clients or processes (pulp-cli, the bindings, skopeo, pip, Lambda events,
//! crashes) stays in tests/e2e.

mod common;

use axum::http::StatusCode;
use common::{TestApp, apps, created_content, wheel};
use serde_json::{Value, json};

const MISSING: &str = "0190a3c2-7d6e-7c1a-9b1e-2f3a4b5c6d7e";

/// One resource type of a family: its collection, a body that creates one, and a change.
struct Case {
    collection: String,
    create: Value,
    change: Value,
}

fn repositories() -> Vec<Case> {
    ["file/file", "container/container", "python/python"]
        .into_iter()
        .map(|t| Case {
            collection: format!("repositories/{t}/"),
            create: json!({"name": "r", "description": "first"}),
            change: json!({"description": "second"}),
        })
        .collect()
}

fn remotes() -> Vec<Case> {
    vec![
        Case {
            collection: "remotes/file/file/".into(),
            create: json!({"name": "r", "url": "http://example.test/PULP_MANIFEST"}),
            change: json!({"url": "http://example.test/other/PULP_MANIFEST"}),
        },
        Case {
            collection: "remotes/container/container/".into(),
            create: json!({"name": "r", "url": "https://registry.test", "upstream_name": "library/app"}),
            change: json!({"upstream_name": "library/other"}),
        },
        Case {
            collection: "remotes/container/pull-through/".into(),
            create: json!({"name": "r", "url": "https://registry.test"}),
            change: json!({"url": "https://mirror.test"}),
        },
        Case {
            collection: "remotes/python/python/".into(),
            create: json!({"name": "r", "url": "https://pypi.test/"}),
            change: json!({"url": "https://other.test/"}),
        },
    ]
}

fn distributions() -> Vec<Case> {
    ["file/file", "container/container", "python/pypi"]
        .into_iter()
        .map(|t| Case {
            collection: format!("distributions/{t}/"),
            create: json!({"name": "r", "base_path": "r"}),
            change: json!({"base_path": "r2"}),
        })
        .collect()
}

/// Creates (directly, or through a task for distributions), reads, lists, filters, updates and
/// deletes one resource of `case`'s type, and checks the error answers on the way.
async fn crud(app: &TestApp, case: &Case) {
    let engine = app.engine;
    let c = case.collection.as_str();
    let (status, body) = app.api("POST", c, Some(case.create.clone())).await;
    let created = match status {
        StatusCode::CREATED => body,
        StatusCode::ACCEPTED => {
            let t = app.completed(&body).await;
            let href = t["created_resources"][0].as_str().unwrap().to_string();
            app.call("GET", &href, None).await.1
        }
        other => panic!("{engine} POST {c} -> {other} {body}"),
    };
    let href = created["pulp_href"].as_str().unwrap().to_string();
    assert!(href.starts_with(&format!("/pulp/api/v3/{c}")), "{href}");
    assert!(created["prn"].as_str().unwrap().starts_with("prn:"));
    if c.starts_with("distributions/container/") {
        // A container distribution is in the namespace of its first path segment.
        let ns = created["namespace"].as_str().unwrap_or_default();
        assert!(
            ns.starts_with("/pulp/api/v3/pulp_container/namespaces/"),
            "{created}"
        );
    }

    // The same name again is a 400 naming the field.
    let (status, body) = app.api("POST", c, Some(case.create.clone())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{engine} {c} {body}");
    assert!(
        body.get("name").is_some() || body.get("base_path").is_some(),
        "{body}"
    );

    // Read, and read only some fields.
    let (status, read) = app.call("GET", &href, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["name"], "r");
    let (_, some) = app.call("GET", &format!("{href}?fields=name"), None).await;
    assert_eq!(some, json!({"name": "r"}), "{engine} {c}");

    // List with filters: one match, and none.
    for (query, count) in [
        ("name=r".to_string(), 1),
        ("name__startswith=r".to_string(), 1),
        ("name__in=r,x".to_string(), 1),
        ("name=x".to_string(), 0),
        (format!("pulp_href__in={href}"), 1),
    ] {
        let (status, page) = app.api("GET", &format!("{c}?{query}"), None).await;
        assert_eq!(status, StatusCode::OK, "{engine} {c}?{query} {page}");
        assert_eq!(page["count"], count, "{engine} {c}?{query} {page}");
        assert_eq!(page["results"].as_array().unwrap().len(), count);
    }
    let (status, page) = app.api("GET", &format!("{c}?limit=1&offset=5"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["results"], json!([]), "{page}");

    // Update: the change shows, other fields stay.
    let (status, body) = app.call("PATCH", &href, Some(case.change.clone())).await;
    assert!(
        [StatusCode::OK, StatusCode::ACCEPTED].contains(&status),
        "{engine} PATCH {href} -> {status} {body}"
    );
    if status == StatusCode::ACCEPTED {
        app.completed(&body).await;
    }
    let (_, after) = app.call("GET", &href, None).await;
    for (k, v) in case.change.as_object().unwrap() {
        assert_eq!(&after[k], v, "{engine} {c} {k}");
    }
    assert_eq!(after["name"], "r");

    // Bad input: an unknown field, and a wrong type.
    let (status, body) = app.call("PATCH", &href, Some(json!({"nonsense": 1}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{engine} {c} {body}");
    let (status, body) = app.call("PATCH", &href, Some(json!({"name": ["r"]}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{engine} {c} {body}");

    // Unknown ids and malformed ones are 404s.
    for id in [MISSING, "not-a-uuid"] {
        let (status, _) = app.api("GET", &format!("{c}{id}/"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{engine} {c}{id}/");
    }

    // Writes need credentials.
    let (status, _) = app.anonymous("DELETE", &href).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Delete: a task, then it is gone.
    let (status, body) = app.call("DELETE", &href, None).await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "{engine} DELETE {href} {body}"
    );
    app.completed(&body).await;
    let (status, _) = app.call("GET", &href, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn repositories_remotes_and_distributions() {
    for app in apps().await {
        for case in repositories()
            .iter()
            .chain(&remotes())
            .chain(&distributions())
        {
            crud(&app, case).await;
        }
        app.close().await;
    }
}

/// Artifacts, file content, repository versions, modify, publications, the content app,
/// chunked uploads, tasks and orphan cleanup: a file repository's whole life.
#[tokio::test(flavor = "multi_thread")]
async fn file_content_versions_publications_and_uploads() {
    for app in apps().await {
        let engine = app.engine;
        let bytes = format!("hello from {engine}\n").into_bytes();
        let sha = depot_core::checksums::sha256_hex(&bytes);

        // An artifact; its digests are computed, and it can be found by them.
        let (status, artifact) = app
            .form("POST", "/pulp/api/v3/artifacts/", &[], &bytes, &[])
            .await;
        assert_eq!(status, StatusCode::CREATED, "{engine} {artifact}");
        assert_eq!(artifact["sha256"], sha);
        assert_eq!(artifact["size"], bytes.len());
        let (_, page) = app
            .api("GET", &format!("artifacts/?sha256={sha}"), None)
            .await;
        assert_eq!(page["count"], 1);
        // A digest that does not match the bytes is refused before anything is stored.
        let wrong = [("sha256", "0".repeat(64))];
        let wrong: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = app
            .form(
                "POST",
                "/pulp/api/v3/artifacts/",
                &wrong,
                b"other bytes",
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{engine} {body}");

        // File content from the artifact, added to a repository: version 1.
        let (_, repo) = app
            .api(
                "POST",
                "repositories/file/file/",
                Some(json!({"name": "files"})),
            )
            .await;
        let repo_href = repo["pulp_href"].as_str().unwrap().to_string();
        let (status, accepted) = app
            .api(
                "POST",
                "content/file/files/",
                Some(
                    json!({"relative_path": "dir/a.txt", "artifact": artifact["pulp_href"],
                            "repository": repo_href}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{engine} {accepted}");
        let t = app.completed(&accepted).await;
        let created: Vec<&str> = t["created_resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let content_href = created
            .iter()
            .find(|h| h.contains("/content/file/files/"))
            .unwrap()
            .to_string();
        let v1 = format!("{repo_href}versions/1/");
        assert!(created.contains(&v1.as_str()), "{created:?}");
        let (_, unit) = app.call("GET", &content_href, None).await;
        assert_eq!(unit["relative_path"], "dir/a.txt");
        assert_eq!(unit["sha256"], sha);
        assert_eq!(unit["artifact"], artifact["pulp_href"]);

        // Content lists filter by path and by version.
        for (query, count) in [
            ("relative_path=dir/a.txt".to_string(), 1),
            ("relative_path=nope".to_string(), 0),
            (format!("repository_version={v1}"), 1),
            (format!("repository_version={repo_href}versions/0/"), 0),
            (format!("sha256={sha}"), 1),
        ] {
            let (status, page) = app
                .api("GET", &format!("content/file/files/?{query}"), None)
                .await;
            assert_eq!(status, StatusCode::OK, "{engine} {query} {page}");
            assert_eq!(page["count"], count, "{engine} {query}");
        }
        let (status, body) = app
            .api(
                "GET",
                "content/file/files/?repository_version=/pulp/api/v3/nope/",
                None,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{engine} {body}");

        // The version says what it added.
        let (_, v) = app.call("GET", &v1, None).await;
        assert_eq!(v["number"], 1);
        assert_eq!(
            v["content_summary"]["added"]["file.file"]["count"], 1,
            "{v}"
        );
        let (_, versions) = app
            .call("GET", &format!("{repo_href}versions/"), None)
            .await;
        assert_eq!(versions["count"], 2);

        // A publication of version 1 and a distribution of it: the content app serves the file
        // and the generated manifest.
        let (status, accepted) = app
            .api(
                "POST",
                "publications/file/file/",
                Some(json!({"repository_version": v1})),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{engine} {accepted}");
        let t = app.completed(&accepted).await;
        let publication = t["created_resources"][0].as_str().unwrap().to_string();
        let (_, page) = app
            .api(
                "GET",
                &format!("publications/file/file/?repository_version={v1}"),
                None,
            )
            .await;
        assert_eq!(page["count"], 1);
        let dist = app
            .create_by_task(
                "distributions/file/file/",
                json!({"name": "files", "base_path": "files", "publication": publication}),
            )
            .await;
        assert_eq!(dist["publication"], publication.as_str());
        let (status, served) = app.fetch("/pulp/content/files/dir/a.txt").await;
        assert_eq!(
            (status, served.as_slice()),
            (StatusCode::OK, bytes.as_slice())
        );
        let (_, manifest) = app.fetch("/pulp/content/files/PULP_MANIFEST").await;
        let manifest = String::from_utf8(manifest).unwrap();
        assert_eq!(manifest, format!("dir/a.txt,{sha},{}\n", bytes.len()));
        let (status, _) = app.fetch("/pulp/content/files/dir/missing.txt").await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Modify removes the unit: version 2 holds nothing; deleting version 2 leaves 0 and 1.
        let (status, accepted) = app
            .call(
                "POST",
                &format!("{repo_href}modify/"),
                Some(json!({"remove_content_units": [content_href]})),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{engine} {accepted}");
        app.completed(&accepted).await;
        let (_, v2) = app
            .call("GET", &format!("{repo_href}versions/2/"), None)
            .await;
        assert_eq!(
            v2["content_summary"]["removed"]["file.file"]["count"], 1,
            "{v2}"
        );
        let (status, accepted) = app
            .call("DELETE", &format!("{repo_href}versions/2/"), None)
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        app.completed(&accepted).await;
        let (_, versions) = app
            .call("GET", &format!("{repo_href}versions/"), None)
            .await;
        assert_eq!(versions["count"], 2);
        // A unit of another type is refused by name.
        let (status, body) = app
            .call(
                "POST",
                &format!("{repo_href}modify/"),
                Some(json!({"add_content_units": [format!("/pulp/api/v3/content/python/packages/{MISSING}/")]})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{engine} {body}");

        // A chunked upload in two pieces, committed into an artifact.
        let data = b"0123456789abcdefghij";
        let (status, upload) = app
            .api("POST", "uploads/", Some(json!({"size": data.len()})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{engine} {upload}");
        let upload_href = upload["pulp_href"].as_str().unwrap().to_string();
        for (start, end) in [(0usize, 9usize), (10, 19)] {
            let range = format!("bytes {start}-{end}/{}", data.len());
            let (status, body) = app
                .form(
                    "PUT",
                    &upload_href,
                    &[],
                    &data[start..=end],
                    &[("content-range", &range)],
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{engine} {body}");
        }
        let (status, body) = app
            .form(
                "PUT",
                &upload_href,
                &[],
                b"xx",
                &[("content-range", "bytes 30-31/20")],
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{engine} {body}");
        let data_sha = depot_core::checksums::sha256_hex(data);
        let (status, accepted) = app
            .call(
                "POST",
                &format!("{upload_href}commit/"),
                Some(json!({"sha256": data_sha})),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{engine} {accepted}");
        let t = app.completed(&accepted).await;
        let (_, committed) = app
            .call("GET", t["created_resources"][0].as_str().unwrap(), None)
            .await;
        assert_eq!(committed["sha256"], data_sha);

        // No one deletes an artifact, as in Pulp, until the policy is customized to allow it;
        // then one in use still cannot be deleted, an unused one can, with its bytes. An
        // upload can be abandoned.
        let (status, body) = app
            .call("DELETE", artifact["pulp_href"].as_str().unwrap(), None)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{engine} {body}");
        let (_, policies) = app
            .api("GET", "access_policies/?viewset_name=artifacts", None)
            .await;
        let policy = policies["results"][0]["pulp_href"]
            .as_str()
            .unwrap()
            .to_string();
        let statements = json!([{"action": ["create", "list", "retrieve", "destroy"],
                                 "principal": "admin", "effect": "allow"}]);
        let (status, body) = app
            .call("PATCH", &policy, Some(json!({ "statements": statements })))
            .await;
        assert_eq!(status, StatusCode::OK, "{engine} {body}");
        let (status, body) = app
            .call("DELETE", artifact["pulp_href"].as_str().unwrap(), None)
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{engine} {body}");
        let (_, spare) = app
            .form("POST", "/pulp/api/v3/artifacts/", &[], b"spare bytes", &[])
            .await;
        let spare = spare["pulp_href"].as_str().unwrap().to_string();
        let (status, _) = app.call("DELETE", &spare, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = app.call("GET", &spare, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, abandoned) = app.api("POST", "uploads/", Some(json!({"size": 4}))).await;
        let (status, _) = app
            .call("DELETE", abandoned["pulp_href"].as_str().unwrap(), None)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (_, uploads) = app.api("GET", "uploads/", None).await;
        assert_eq!(uploads["count"], 0, "{engine} {uploads}");

        // Tasks: listed and filtered; a finished one cannot be canceled.
        let (_, page) = app.api("GET", "tasks/?state=completed", None).await;
        assert!(page["count"].as_u64().unwrap() >= 5, "{page}");
        let (_, page) = app.api("GET", "tasks/?state=failed", None).await;
        assert_eq!(page["count"], 0, "{page}");
        let task_href = page_first(&app, "tasks/?state=completed").await;
        let (status, body) = app
            .call("PATCH", &task_href, Some(json!({"state": "canceled"})))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{engine} {body}");
        let (status, body) = app
            .call("PATCH", &task_href, Some(json!({"state": "done"})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{engine} {body}");

        // Orphan cleanup: the unit removed from every version but still in version 1 stays.
        let (status, accepted) = app
            .api(
                "POST",
                "orphans/cleanup/",
                Some(json!({"orphan_protection_time": 0})),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        app.completed(&accepted).await;
        let (status, _) = app.call("GET", &content_href, None).await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = app
            .api(
                "POST",
                "orphans/cleanup/",
                Some(json!({"content_hrefs": ["/pulp/api/v3/nope/"]})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{engine} {body}");

        // A cleanup of named units takes those and their files, no other orphan.
        let shared = &app;
        let unit = |name: &'static str| async move {
            let app = shared;
            let url = "/pulp/api/v3/content/file/files/";
            let (_, accepted) = app
                .form(
                    "POST",
                    url,
                    &[("relative_path", name)],
                    name.as_bytes(),
                    &[],
                )
                .await;
            let t = app.completed(&accepted).await;
            let href = t["created_resources"][0].as_str().unwrap().to_string();
            let (_, u) = app.call("GET", &href, None).await;
            (href, u["artifact"].as_str().unwrap().to_string())
        };
        let (one, one_file) = unit("orphan-1").await;
        let (two, two_file) = unit("orphan-2").await;
        let (status, _) = app
            .api(
                "POST",
                "orphans/cleanup/",
                Some(json!({"content_hrefs": []})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{engine}");
        let body = json!({"content_hrefs": [one], "orphan_protection_time": 0});
        let (_, accepted) = app.api("POST", "orphans/cleanup/", Some(body)).await;
        app.completed(&accepted).await;
        for (href, status) in [(&one, 404), (&one_file, 404), (&two, 200), (&two_file, 200)] {
            assert_eq!(
                app.call("GET", href, None).await.0.as_u16(),
                status,
                "{engine} {href}"
            );
        }
        app.close().await;
    }
}

async fn page_first(app: &TestApp, path: &str) -> String {
    let (_, page) = app.api("GET", path, None).await;
    page["results"][0]["pulp_href"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Status, the API document, container content lists and namespaces.
#[tokio::test(flavor = "multi_thread")]
async fn status_docs_container_content_and_namespaces() {
    for app in apps().await {
        let engine = app.engine;
        let (status, body) = app.anonymous("GET", "/pulp/api/v3/status/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            body["versions"].as_array().is_some_and(|v| !v.is_empty()),
            "{body}"
        );
        let online: Vec<&str> = body["online_workers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["name"].as_str().unwrap())
            .collect();
        assert!(!online.is_empty(), "{body}");
        assert_eq!(body["versions"][0]["component"], "core", "{body}");
        // The disk of the file storage, as shutil.disk_usage gives it.
        let storage = &body["storage"];
        let figure = |k: &str| storage[k].as_u64().unwrap_or_else(|| panic!("{body}"));
        assert!(figure("total") >= figure("used") && figure("total") >= figure("free"));
        // The workers it names are those of `workers/`, alive, with their versions.
        let (_, workers) = app.api("GET", "workers/?online=true", None).await;
        let listed: Vec<&str> = workers["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["name"].as_str().unwrap())
            .collect();
        assert_eq!(listed, online, "{engine} {workers}");
        let first = &workers["results"][0];
        assert_eq!(first["versions"]["core"], body["versions"][0]["version"]);
        let (_, one) = app
            .call("GET", first["pulp_href"].as_str().unwrap(), None)
            .await;
        assert_eq!(one["name"], first["name"], "{one}");
        let since = first["last_heartbeat"].as_str().unwrap();
        let name = first["name"].as_str().unwrap();
        let by = format!("workers/?name={name}&last_heartbeat__gte={since}");
        let (_, found) = app.api("GET", &by, None).await;
        assert_eq!(found["count"], 1, "{found}");
        for none in [
            "workers/?missing=true",
            "workers/?online=false",
            "workers/?last_heartbeat__gte=2999-01-01T00:00",
        ] {
            let (_, found) = app.api("GET", none, None).await;
            assert_eq!(found["count"], 0, "{none} {found}");
        }
        let (status, _) = app
            .call("DELETE", first["pulp_href"].as_str().unwrap(), None)
            .await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        let (status, _) = app.anonymous("GET", "/pulp/api/v3/workers/").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        // A task names the worker that ran it.
        let repo = app.file_repository("worked").await;
        let modify = json!({"add_content_units": []});
        let (_, accepted) = app
            .call("POST", &format!("{repo}modify/"), Some(modify))
            .await;
        let task = app.completed(&accepted).await;
        let (status, ran) = app
            .call("GET", task["worker"].as_str().unwrap(), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{task}");
        assert!(online.contains(&ran["name"].as_str().unwrap()), "{ran}");
        let (_, theirs) = app
            .api(
                "GET",
                &format!("tasks/?worker={}", task["worker"].as_str().unwrap()),
                None,
            )
            .await;
        assert!(theirs["count"].as_u64().unwrap() >= 1, "{theirs}");

        let (status, body) = app.anonymous("GET", "/pulp/api/v3/livez/").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // The API root names the collections, anonymously, as Pulp's does.
        let (status, body) = app.anonymous("GET", "/pulp/api/v3/").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["repositories"], "/pulp/api/v3/repositories/", "{body}");
        assert_eq!(body["acs"], "/pulp/api/v3/acs/", "{body}");
        assert_eq!(body["artifacts"], "/pulp/api/v3/artifacts/", "{body}");
        let (status, groups) = app.api("GET", "task-groups/", None).await;
        assert_eq!(
            (status, &groups["count"]),
            (StatusCode::OK, &json!(0)),
            "{engine} {groups}"
        );
        let (status, _) = app
            .api("GET", &format!("task-groups/{MISSING}/"), None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, page) = app.anonymous("GET", "/pulp/api/v3/docs/").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(
            page.as_str().unwrap_or_default().contains("api.json"),
            "{page}"
        );
        let (status, _) = app.call("POST", "/pulp/api/v3/docs/", None).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        let (status, doc) = app.anonymous("GET", "/pulp/api/v3/docs/api.json").await;
        assert_eq!(status, StatusCode::OK);
        assert!(doc["paths"]["/pulp/api/v3/repositories/file/file/"].is_object());
        // Pulp's `?pk_path=1` shape: every path written out, each template named by a
        // path parameter.
        let (status, pk) = app
            .anonymous("GET", "/pulp/api/v3/docs/api.json?pk_path=1")
            .await;
        assert_eq!(status, StatusCode::OK);
        let paths = pk["paths"].as_object().unwrap();
        assert_eq!(paths.len(), doc["paths"].as_object().unwrap().len());
        for (path, ops) in paths {
            assert!(path.starts_with("/pulp/api/v3/"), "{path}");
            let names: Vec<&str> = path
                .split('{')
                .skip(1)
                .map(|p| p.split_once('}').unwrap().0)
                .collect();
            for op in ops.as_object().unwrap().values() {
                let params = op["parameters"].as_array();
                let declared: Vec<&str> = params
                    .into_iter()
                    .flatten()
                    .filter(|p| p["in"] == "path")
                    .map(|p| p["name"].as_str().unwrap())
                    .collect();
                assert_eq!(declared, names, "{path}");
            }
        }
        let task = &paths["/pulp/api/v3/tasks/{task_pk}/"];
        assert_eq!(task["patch"]["operationId"], "tasks_cancel", "{task}");
        let versions = "/pulp/api/v3/repositories/file/file/{file_file_repository_pk}/versions/\
                        {file_file_repository_version_pk}/";
        assert!(paths[versions]["get"].is_object(), "{:?}", paths.keys());

        for list in [
            "content/container/manifests/",
            "content/container/blobs/",
            "content/container/tags/",
            "content/python/packages/",
        ] {
            let (status, page) = app.api("GET", list, None).await;
            assert_eq!(
                (status, &page["count"]),
                (StatusCode::OK, &json!(0)),
                "{engine} {list}"
            );
            let (status, _) = app.api("GET", &format!("{list}{MISSING}/"), None).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{engine} {list}");
        }

        let (status, ns) = app
            .api(
                "POST",
                "pulp_container/namespaces/",
                Some(json!({"name": "team"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{engine} {ns}");
        let (_, page) = app
            .api("GET", "pulp_container/namespaces/?name=team", None)
            .await;
        assert_eq!(page["count"], 1);
        let (status, body) = app
            .api(
                "POST",
                "pulp_container/namespaces/",
                Some(json!({"name": "team"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{engine} {body}");
        let (status, accepted) = app
            .call("DELETE", ns["pulp_href"].as_str().unwrap(), None)
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        app.completed(&accepted).await;
        let (_, page) = app.api("GET", "pulp_container/namespaces/", None).await;
        assert_eq!(page["count"], 0);
        app.close().await;
    }
}

/// Python packages made through the REST API, found in a repository and served by its index;
/// labels set and unset on a repository.
#[tokio::test(flavor = "multi_thread")]
async fn python_packages_index_and_labels() {
    for app in apps().await {
        let engine = app.engine;
        let (_, repo) = app
            .api(
                "POST",
                "repositories/python/python/",
                Some(json!({"name": "py"})),
            )
            .await;
        let repo_href = repo["pulp_href"].as_str().unwrap().to_string();
        let (filename, bytes) = wheel("demo-pkg", "1.0");
        let fields = [
            ("relative_path", filename.as_str()),
            ("repository", repo_href.as_str()),
        ];
        let (status, accepted) = app
            .form(
                "POST",
                "/pulp/api/v3/content/python/packages/",
                &fields,
                &bytes,
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{engine} {accepted}");
        app.completed(&accepted).await;
        let (_, page) = app
            .api("GET", "content/python/packages/?name=demo-pkg", None)
            .await;
        assert_eq!(page["count"], 1, "{engine} {page}");
        let package = &page["results"][0];
        assert_eq!(package["version"], "1.0");
        assert_eq!(package["filename"], filename.as_str());
        let sha = depot_core::checksums::sha256_hex(&bytes);
        assert_eq!(package["sha256"], sha);
        let (_, page) = app
            .api(
                "GET",
                &format!("content/python/packages/?repository_version={repo_href}versions/1/"),
                None,
            )
            .await;
        assert_eq!(page["count"], 1);
        // A file name that is no distribution's is refused before any task.
        let (status, body) = app
            .form(
                "POST",
                "/pulp/api/v3/content/python/packages/",
                &[("relative_path", "x.exe")],
                &bytes,
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{engine} {body}");

        // The index of a distribution of the repository lists the project and its file.
        app.create_by_task(
            "distributions/python/pypi/",
            json!({"name": "py", "base_path": "py", "repository": repo_href}),
        )
        .await;
        let (status, html) = app.fetch("/pypi/py/simple/demo-pkg/").await;
        assert_eq!(status, StatusCode::OK);
        let html = String::from_utf8(html).unwrap();
        assert!(
            html.contains(&format!("{filename}#sha256={sha}")),
            "{engine} {html}"
        );
        let (status, _) = app.fetch("/pypi/py/simple/no-such-project/").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, file) = app.fetch(&format!("/pulp/content/py/{filename}")).await;
        assert_eq!((status, file), (StatusCode::OK, bytes));

        // Labels: set, filter by, unset.
        let (status, body) = app
            .call(
                "POST",
                &format!("{repo_href}set_label/"),
                Some(json!({"key": "env", "value": "prod"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{engine} {body}");
        let (_, page) = app
            .api(
                "GET",
                "repositories/python/python/?pulp_label_select=env=prod",
                None,
            )
            .await;
        assert_eq!(page["count"], 1, "{engine} {page}");
        let (status, _) = app
            .call(
                "POST",
                &format!("{repo_href}unset_label/"),
                Some(json!({"key": "env"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let (_, page) = app
            .api(
                "GET",
                "repositories/python/python/?pulp_label_select=env",
                None,
            )
            .await;
        assert_eq!(page["count"], 0, "{engine} {page}");
        app.close().await;
    }
}

/// An image pushed through the registry in process: its blobs, manifest and tag are listed by
/// the container content endpoints, filtered by digest, and pulled back byte for byte.
#[tokio::test(flavor = "multi_thread")]
async fn pushed_image_in_container_content_lists() {
    for app in apps().await {
        let engine = app.engine;
        let digest = |b: &[u8]| format!("sha256:{}", depot_core::checksums::sha256_hex(b));
        let layer = format!("layer of {engine}").into_bytes();
        let manifest = common::push(&app, "team/app", &layer).await;

        // The content endpoints list what the push made.
        let (_, tags) = app
            .api("GET", "content/container/tags/?name=v1", None)
            .await;
        assert_eq!(tags["count"], 1, "{engine} {tags}");
        let tagged = tags["results"][0]["tagged_manifest"]
            .as_str()
            .unwrap()
            .to_string();
        let (_, m) = app.call("GET", &tagged, None).await;
        assert_eq!(m["digest"], digest(&manifest));
        assert_eq!(m["compressed_image_size"], layer.len());
        // The config and the layer, as pulp_container lists them.
        assert_eq!(m["blobs"].as_array().unwrap().len(), 2, "{m}");
        let (_, blobs) = app
            .api(
                "GET",
                &format!("content/container/blobs/?digest={}", digest(&layer)),
                None,
            )
            .await;
        assert_eq!(blobs["count"], 1, "{engine} {blobs}");
        let layer_href = &blobs["results"][0]["pulp_href"];
        assert!(m["blobs"].as_array().unwrap().contains(layer_href), "{m}");
        assert_ne!(&m["config_blob"], layer_href);
        let (_, all) = app
            .api("GET", "content/container/blobs/?ordering=digest", None)
            .await;
        assert_eq!(all["count"], 2);
        let (status, body) = app
            .api("GET", "content/container/blobs/?ordering=size", None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{engine} {body}");
        let (_, none) = app
            .api("GET", "content/container/manifests/?media_type=application/vnd.docker.distribution.manifest.list.v2+json", None)
            .await;
        assert_eq!(none["count"], 0);

        // Pulled back as pushed.
        let accept = [("accept", "application/vnd.oci.image.manifest.v1+json")];
        let (status, _, pulled) = app
            .raw("GET", "/v2/team/app/manifests/v1", &accept, vec![])
            .await;
        assert_eq!((status, pulled), (StatusCode::OK, manifest.clone()));
        let path = format!("/v2/team/app/blobs/{}", digest(&layer));
        let (status, _, pulled) = app.raw("GET", &path, &[], vec![]).await;
        assert_eq!((status, pulled), (StatusCode::OK, layer.clone()));
        app.close().await;
    }
}

/// A remote's `ca_cert` and `client_cert` keep only their certificates (comments go), as Pulp
/// stores them; text without one, or a block that is no certificate, is a 400; a client
/// certificate alone (no key) is accepted.
#[tokio::test]
async fn remote_certificates_are_cleaned() {
    let fixture = |name: &str| {
        let path = format!(
            "{}/tests/fixtures/certguard/{name}.pem",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(path).unwrap()
    };
    let (ca, other) = (fixture("ca"), fixture("other-ca"));
    let pem = |text: &str| {
        let start = text.find("-----BEGIN CERTIFICATE-----").unwrap();
        let end = text.find("-----END CERTIFICATE-----").unwrap() + 25;
        text[start..end].to_string()
    };
    let both = format!("{}\n{}\n", pem(&ca), pem(&other));
    for app in apps().await {
        let engine = app.engine;
        for (i, field) in ["ca_cert", "client_cert"].into_iter().enumerate() {
            let commented = format!("# our CA\n{}\nsome words\n{}\n", pem(&ca), pem(&other));
            let (status, r) = app
                .api(
                    "POST",
                    "remotes/file/file/",
                    Some(json!({"name": format!("c{i}"), "url": "http://example.com/", field: commented})),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{engine} {field} {r}");
            assert_eq!(r[field], both.as_str(), "{engine} {field}");
            let bogus = "-----BEGIN CERTIFICATE-----\nBOGUS==\n-----END CERTIFICATE-----\n";
            for bad in [
                bogus,
                "MIICoDCCAYgCCQC2c2uY34HNlzANBgkqhkiG9w0BAQUFADASMRAwDgYDVQQDDAdn\n",
            ] {
                let (status, err) = app
                    .api(
                        "POST",
                        "remotes/file/file/",
                        Some(json!({"name": "bad", "url": "http://example.com/", field: bad})),
                    )
                    .await;
                assert_eq!(status, StatusCode::BAD_REQUEST, "{engine} {field} {err}");
                assert!(err.get(field).is_some(), "{err}");
            }
        }
        app.close().await;
    }
}

/// Content from a `file_url` is fetched with the `downloader_config` sent with it (here a header
/// the upstream requires); a config that is no remote's settings is refused before any task.
#[tokio::test]
async fn file_url_downloads_use_the_downloader_config() {
    let app_up = axum::Router::new().fallback(|headers: axum::http::HeaderMap| async move {
        match headers.get("x-token").and_then(|v| v.to_str().ok()) {
            Some("t") => (StatusCode::OK, b"configured".to_vec()),
            _ => (StatusCode::FORBIDDEN, Vec::new()),
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/f.txt", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app_up).await });
    for app in apps().await {
        let engine = app.engine;
        for (config, field) in [
            (json!({"total_timeout": -1}), "total_timeout"),
            (json!({"bogus": 1}), "downloader_config"),
        ] {
            let body =
                json!({"relative_path": "f.txt", "file_url": url, "downloader_config": config});
            let (status, err) = app.api("POST", "content/file/files/", Some(body)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{engine} {err}");
            assert!(err.to_string().contains(field), "{engine} {err}");
        }
        let (_, a) = app
            .form("POST", "/pulp/api/v3/artifacts/", &[], b"x", &[])
            .await;
        let body =
            json!({"relative_path": "x", "artifact": a["pulp_href"], "downloader_config": {}});
        let (status, err) = app.api("POST", "content/file/files/", Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{engine} {err}");

        let body = json!({"relative_path": "f.txt", "file_url": url});
        let (_, accepted) = app.api("POST", "content/file/files/", Some(body)).await;
        assert_eq!(app.wait(&accepted).await["state"], "failed", "{engine}");
        let body = json!({"relative_path": "f.txt", "file_url": url,
                          "downloader_config": {"headers": [{"x-token": "t"}], "total_timeout": 5}});
        let (_, accepted) = app.api("POST", "content/file/files/", Some(body)).await;
        let t = app.completed(&accepted).await;
        let (_, unit) = app
            .call("GET", t["created_resources"][0].as_str().unwrap(), None)
            .await;
        assert_eq!(
            unit["sha256"],
            depot_core::checksums::sha256_hex(b"configured"),
            "{engine}"
        );
        // The task's arguments keep no secret in the clear.
        let body = json!({"relative_path": "g.txt", "file_url": url,
                          "downloader_config": {"headers": [{"x-token": "t"}], "password": "hunter2", "username": "u"}});
        let (_, accepted) = app.api("POST", "content/file/files/", Some(body)).await;
        let t = app.completed(&accepted).await;
        let stored: String = sqlx::query_scalar("SELECT args FROM tasks WHERE id = $1")
            .bind(
                t["pulp_href"]
                    .as_str()
                    .unwrap()
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap(),
            )
            .fetch_one(app.core.db.pool())
            .await
            .unwrap();
        assert!(!stored.contains("hunter2"), "{engine} {stored}");
        app.close().await;
    }
}

/// A sync takes a file whose first copies were cut short, corrupt, or refused with 429 (Pulp's
/// bad-upstream test): each is fetched again, up to the remote's retries, and verified.
#[tokio::test]
async fn syncs_retry_truncated_corrupt_and_throttled_files() {
    use std::sync::{Arc, Mutex};
    let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    let manifest = format!(
        "f.bin,{},{}\n",
        depot_core::checksums::sha256_hex(&data),
        data.len()
    );
    let asked = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = asked.clone();
    let up = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let (data, manifest, log) = (data.clone(), manifest.clone(), log.clone());
        async move {
            use axum::response::IntoResponse;
            let n = {
                let mut log = log.lock().unwrap();
                log.push(uri.path().to_string());
                log.iter().filter(|p| *p == uri.path()).count()
            };
            if uri.path() == "/PULP_MANIFEST" {
                return manifest.into_response();
            }
            match n % 4 {
                // Cut short: half the bytes, though the length says all.
                1 => axum::response::Response::builder()
                    .header("content-length", data.len())
                    .body(axum::body::Body::from(data[..data.len() / 2].to_vec()))
                    .unwrap(),
                2 => {
                    let mut bad = data.clone();
                    *bad.last_mut().unwrap() ^= 1;
                    bad.into_response()
                }
                3 => StatusCode::TOO_MANY_REQUESTS.into_response(),
                _ => data.into_response(),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/PULP_MANIFEST", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, up).await });
    for app in apps().await {
        let engine = app.engine;
        asked.lock().unwrap().clear();
        let (_, remote) = app
            .api(
                "POST",
                "remotes/file/file/",
                Some(json!({"name": "flaky", "url": url})),
            )
            .await;
        let (_, repo) = app
            .api(
                "POST",
                "repositories/file/file/",
                Some(json!({"name": "flaky"})),
            )
            .await;
        let (_, accepted) = app
            .call(
                "POST",
                &format!("{}sync/", repo["pulp_href"].as_str().unwrap()),
                Some(json!({"remote": remote["pulp_href"]})),
            )
            .await;
        let t = app.wait(&accepted).await;
        assert_eq!(t["state"], "completed", "{engine} {t}");
        let asked = asked.lock().unwrap().clone();
        assert_eq!(
            asked.iter().filter(|p| *p == "/f.bin").count(),
            4,
            "{engine} {asked:?}"
        );
        app.close().await;
    }
}

/// Pulp's filters on repositories (`remote`: an href, `null`, or the remote type's collection)
/// and on versions (`pulp_created` and `number`, exact, compared and as a range).
#[tokio::test]
async fn repository_and_version_filters() {
    for app in apps().await {
        let engine = app.engine;
        let (_, remote) = app
            .api(
                "POST",
                "remotes/file/file/",
                Some(json!({"name": "r", "url": "http://example.com/M"})),
            )
            .await;
        for (name, remote) in [
            ("with", Some(remote["pulp_href"].clone())),
            ("without", None),
        ] {
            let (status, r) = app
                .api(
                    "POST",
                    "repositories/file/file/",
                    Some(json!({"name": name, "remote": remote})),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{engine} {r}");
        }
        for (filter, expected) in [
            (remote["pulp_href"].as_str().unwrap().to_string(), "with"),
            ("null".to_string(), "without"),
            ("/pulp/api/v3/remotes/file/file/".to_string(), "with"),
        ] {
            let (_, page) = app
                .api(
                    "GET",
                    &format!("repositories/file/file/?remote={filter}"),
                    None,
                )
                .await;
            assert_eq!(page["count"], 1, "{engine} {filter} {page}");
            assert_eq!(page["results"][0]["name"], expected, "{engine} {filter}");
        }

        let (_, repo) = app
            .api("GET", "repositories/file/file/?name=without", None)
            .await;
        let repo = repo["results"][0]["pulp_href"]
            .as_str()
            .unwrap()
            .to_string();
        for i in 0..3 {
            let (_, a) = app
                .form(
                    "POST",
                    "/pulp/api/v3/artifacts/",
                    &[],
                    format!("v{i}").as_bytes(),
                    &[],
                )
                .await;
            let body = json!({"relative_path": format!("{i}.txt"), "artifact": a["pulp_href"], "repository": repo});
            let (_, accepted) = app.api("POST", "content/file/files/", Some(body)).await;
            app.completed(&accepted).await;
        }
        let (_, versions) = app
            .call("GET", &format!("{repo}versions/?ordering=number"), None)
            .await;
        let created: Vec<String> = versions["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["pulp_created"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(created.len(), 4, "{engine} {versions}");
        for (query, count) in [
            (format!("pulp_created={}", created[1]), 1),
            (
                format!(
                    "pulp_created__gt={}&pulp_created__lt={}",
                    created[0], created[3]
                ),
                2,
            ),
            (
                format!("pulp_created__range={},{}", created[1], created[2]),
                2,
            ),
            ("number__range=1,3".to_string(), 3),
            ("number=-1".to_string(), 0),
        ] {
            let (status, page) = app
                .call("GET", &format!("{repo}versions/?{query}"), None)
                .await;
            assert_eq!(
                (status, page["count"].as_i64()),
                (StatusCode::OK, Some(count)),
                "{engine} {query} {page}"
            );
        }
        let (status, _) = app
            .call("GET", &format!("{repo}versions/?number__range=1"), None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{engine}");
        // Content added or removed between two versions, either way round.
        let (v1, v3) = (format!("{repo}versions/1/"), format!("{repo}versions/3/"));
        for query in [
            format!("added_between={v1},{v3}"),
            format!("removed_between={v3},{v1}"),
        ] {
            let (_, page) = app
                .api(
                    "GET",
                    &format!("content/file/files/?{query}&ordering=relative_path"),
                    None,
                )
                .await;
            let mut paths: Vec<&str> = page["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["relative_path"].as_str().unwrap())
                .collect();
            paths.sort();
            assert_eq!(paths, ["1.txt", "2.txt"], "{engine} {query} {page}");
        }
        let (status, _) = app
            .api(
                "GET",
                &format!("content/file/files/?added_between={v1}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{engine}");

        // Orphans, by how long they have been orphans.
        let (_, lonely) = app
            .form("POST", "/pulp/api/v3/artifacts/", &[], b"lonely", &[])
            .await;
        let a_href = lonely["pulp_href"].as_str().unwrap().to_string();
        for (minutes, count) in [(0, 1), (100, 0), (-1, 0)] {
            let (_, page) = app
                .api(
                    "GET",
                    &format!("artifacts/?orphaned_for={minutes}&pulp_href__in={a_href}"),
                    None,
                )
                .await;
            assert_eq!(page["count"], count, "{engine} {minutes} {page}");
        }
        let body = json!({"relative_path": "lonely.txt", "artifact": a_href});
        let (_, accepted) = app.api("POST", "content/file/files/", Some(body)).await;
        let unit = app.completed(&accepted).await["created_resources"][0].clone();
        let unit = unit.as_str().unwrap();
        let (_, page) = app
            .api(
                "GET",
                &format!("artifacts/?orphaned_for=0&pulp_href__in={a_href}"),
                None,
            )
            .await;
        assert_eq!(page["count"], 0, "{engine} the content uses it: {page}");
        for (query, count) in [
            (format!("orphaned_for=0&pulp_href__in={unit}"), 1),
            ("orphaned_for=0".to_string(), 1),
        ] {
            let (_, page) = app
                .api("GET", &format!("content/file/files/?{query}"), None)
                .await;
            assert_eq!(page["count"], count, "{engine} {query} {page}");
        }
        let (status, _) = app
            .api("GET", "content/file/files/?orphaned_for=-2", None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{engine}");
        app.close().await;
    }
}

/// `pulp_label_select` as Pulp's grammar reads it, on both engines (the database matches the
/// labels): keys, absent keys, values, other values (a null value is one), substrings without
/// case, and as a term of `q` on the generic content list beside other filters.
#[tokio::test(flavor = "multi_thread")]
async fn labels_select_in_lists_and_in_q() {
    for app in apps().await {
        let engine = app.engine;
        for (name, labels) in [
            ("lab1", json!({"env": "prod", "team": "A b"})),
            ("lab2", json!({"env": "dev"})),
            ("lab3", json!({"env": null})),
            ("lab4", json!({})),
        ] {
            let body = json!({"name": name, "pulp_labels": labels});
            let (status, r) = app.api("POST", "repositories/file/file/", Some(body)).await;
            assert_eq!(status, StatusCode::CREATED, "{engine} {r}");
        }
        let names = |page: &Value| -> Vec<String> {
            let mut n: Vec<String> = page["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["name"].as_str().unwrap().to_string())
                .collect();
            n.sort();
            n
        };
        for (select, expected) in [
            ("env", &["lab1", "lab2", "lab3"][..]),
            ("!env", &["lab4"][..]),
            ("env=prod", &["lab1"][..]),
            ("env!=prod", &["lab2", "lab3"][..]),
            ("team~B", &["lab1"][..]),
            ("env,team", &["lab1"][..]),
            ("team~%", &[][..]),
            ("env=prod,!team", &[][..]),
        ] {
            let select = select.replace('%', "%25");
            let path = format!("repositories/file/file/?pulp_label_select={select}");
            let (status, page) = app.api("GET", &path, None).await;
            assert_eq!(status, StatusCode::OK, "{engine} {select} {page}");
            assert_eq!(names(&page), expected, "{engine} {select}");
        }

        // Content: two labelled units, one of them in a version; `q` combines the selector.
        let repo = app.file_repository("labelled").await;
        let mut units = Vec::new();
        for (path, labels) in [("a", json!({"key_a": "x"})), ("b", json!({"key_a": "y"}))] {
            let (_, a) = app
                .form("POST", "/pulp/api/v3/artifacts/", &[], path.as_bytes(), &[])
                .await;
            let body = json!({"relative_path": path, "artifact": a["pulp_href"],
                              "pulp_labels": labels});
            let (_, accepted) = app.api("POST", "content/file/files/", Some(body)).await;
            units.push(created_content(&app.completed(&accepted).await));
        }
        let modify = json!({"add_content_units": [units[0]]});
        let (_, accepted) = app
            .call("POST", &format!("{repo}modify/"), Some(modify))
            .await;
        let version = app.completed(&accepted).await["created_resources"][0]
            .as_str()
            .unwrap()
            .to_string();
        for (q, count) in [
            (
                format!("pulp_label_select=\"key_a\" AND repository_version=\"{version}\""),
                1,
            ),
            (
                "pulp_label_select=\"key_a=y\" OR pulp_label_select=\"key_a=x\"".into(),
                2,
            ),
            (
                "NOT pulp_label_select=\"key_a=x\" AND pulp_label_select=\"key_a\"".into(),
                1,
            ),
        ] {
            let path = format!("content/?q={}", q.replace(' ', "%20").replace('"', "%22"));
            let (status, page) = app.api("GET", &path, None).await;
            assert_eq!(status, StatusCode::OK, "{engine} {q} {page}");
            assert_eq!(page["count"], count, "{engine} {q} {page}");
        }
        let (status, body) = app
            .api("GET", "content/?q=pulp_label_select=%22%3D%3D%22", None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{engine} {body}");
        app.close().await;
    }
}

/// PULP_TASK_PROTECTION_TIME and PULP_UPLOAD_PROTECTION_TIME: the sweeper deletes the ended
/// tasks and the idle uploads older than them, and nothing younger.
#[tokio::test]
async fn the_sweeper_expires_old_tasks_and_uploads() {
    let protected = |s: &mut depot_core::config::Settings| {
        s.task_protection_time = 60;
        s.upload_protection_time = 60;
    };
    for app in common::apps_with(protected).await {
        let e = app.engine;
        let repo = app.file_repository("swept").await;
        let mut tasks = Vec::new();
        for _ in 0..2 {
            let (_, accepted) = app
                .call(
                    "POST",
                    &format!("{repo}modify/"),
                    Some(json!({"add_content_units": []})),
                )
                .await;
            tasks.push(app.completed(&accepted).await);
        }
        let mut uploads = Vec::new();
        for _ in 0..2 {
            let (_, u) = app.api("POST", "uploads/", Some(json!({"size": 4}))).await;
            uploads.push(u["pulp_href"].as_str().unwrap().to_string());
        }
        // The first of each is two hours old.
        let id = |href: &str| {
            href.trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap()
                .to_string()
        };
        let old = "2000-01-01T00:00:00.000000Z";
        for (sql, href) in [
            (
                "UPDATE tasks SET finished_at = $1 WHERE id = $2",
                tasks[0]["pulp_href"].as_str().unwrap(),
            ),
            (
                "UPDATE uploads SET updated = $1 WHERE id = $2",
                uploads[0].as_str(),
            ),
        ] {
            sqlx::query(sql)
                .bind(old)
                .bind(id(href))
                .execute(app.core.db.pool())
                .await
                .unwrap();
        }
        depot_core::tasks::sweep(&app.core).await.unwrap();
        let status = |href: String| {
            let app = &app;
            async move { app.call("GET", &href, None).await.0 }
        };
        let task_href = |t: &Value| t["pulp_href"].as_str().unwrap().to_string();
        assert_eq!(
            status(task_href(&tasks[0])).await,
            StatusCode::NOT_FOUND,
            "{e}"
        );
        assert_eq!(status(task_href(&tasks[1])).await, StatusCode::OK, "{e}");
        assert_eq!(
            status(uploads[0].clone()).await,
            StatusCode::NOT_FOUND,
            "{e}"
        );
        assert_eq!(status(uploads[1].clone()).await, StatusCode::OK, "{e}");
        app.close().await;
    }
}

/// X-TASK-DIAGNOSTICS: a task dispatched with `memory` asked (and enabled) keeps a memory
/// profile, listed by `profile_artifacts/` and downloadable there; others keep none.
#[tokio::test]
async fn tasks_keep_the_diagnostics_their_dispatcher_asks_for() {
    for app in common::apps_with(|s| s.task_diagnostics = vec!["memory".into()]).await {
        let e = app.engine;
        let body = serde_json::to_vec(&json!({"orphan_protection_time": 10000})).unwrap();
        let mut profiles = Vec::new();
        for asked in [None, Some("memory"), Some("pyinstrument")] {
            let mut headers = vec![("content-type", "application/json")];
            if let Some(a) = asked {
                headers.push(("x-task-diagnostics", a));
            }
            let (status, _, accepted) = app
                .raw(
                    "POST",
                    "/pulp/api/v3/orphans/cleanup/",
                    &headers,
                    body.clone(),
                )
                .await;
            assert_eq!(status, StatusCode::ACCEPTED, "{e}");
            let accepted: Value = serde_json::from_slice(&accepted).unwrap();
            let task = app.completed(&accepted).await;
            let href = task["pulp_href"].as_str().unwrap().to_string();
            let (status, p) = app
                .call("GET", &format!("{href}profile_artifacts/"), None)
                .await;
            assert_eq!(status, StatusCode::OK, "{e} {p}");
            profiles.push(p["urls"].clone());
        }
        assert_eq!(profiles[0], json!({}), "{e}");
        assert_eq!(profiles[2], json!({}), "{e}");
        let url = profiles[1]["memory_profile"].as_str().unwrap();
        let path = &url[url.find("/pulp/").unwrap()..];
        let (status, _, csv) = app.raw("GET", path, &[], vec![]).await;
        assert_eq!(status, StatusCode::OK, "{e}");
        let csv = String::from_utf8(csv).unwrap();
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("seconds,resident_bytes"), "{e}");
        let rss: u64 = lines
            .next()
            .unwrap()
            .split(',')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        assert!(rss > 1 << 20, "{e} {csv}");
        app.close().await;
    }
}
