//! Every REST resource family in process, on SQLite and (with `DEPOT_TEST_PG_URL`) PostgreSQL:
//! create, read, list with filters, update, delete, and the error answers clients rely on.
//! What needs real clients or processes (pulp-cli, the bindings, skopeo, pip, Lambda events,
//! crashes) stays in tests/e2e.

mod common;

use axum::http::StatusCode;
use common::{TestApp, apps};
use serde_json::{Value, json};

const MISSING: &str = "0190a3c2-7d6e-7c1a-9b1e-2f3a4b5c6d7e";

/// One resource type of a family: its collection, a body that creates one, and a change.
struct Case {
    collection: &'static str,
    create: Value,
    change: Value,
}

fn repositories() -> Vec<Case> {
    ["file/file", "container/container", "python/python"]
        .into_iter()
        .map(|t| Case {
            collection: leak(format!("repositories/{t}/")),
            create: json!({"name": "r", "description": "first"}),
            change: json!({"description": "second"}),
        })
        .collect()
}

fn remotes() -> Vec<Case> {
    vec![
        Case {
            collection: "remotes/file/file/",
            create: json!({"name": "r", "url": "http://example.test/PULP_MANIFEST"}),
            change: json!({"url": "http://example.test/other/PULP_MANIFEST"}),
        },
        Case {
            collection: "remotes/container/container/",
            create: json!({"name": "r", "url": "https://registry.test", "upstream_name": "library/app"}),
            change: json!({"upstream_name": "library/other"}),
        },
        Case {
            collection: "remotes/container/pull-through/",
            create: json!({"name": "r", "url": "https://registry.test"}),
            change: json!({"url": "https://mirror.test"}),
        },
        Case {
            collection: "remotes/python/python/",
            create: json!({"name": "r", "url": "https://pypi.test/"}),
            change: json!({"url": "https://other.test/"}),
        },
    ]
}

fn distributions() -> Vec<Case> {
    ["file/file", "container/container", "python/pypi"]
        .into_iter()
        .map(|t| Case {
            collection: leak(format!("distributions/{t}/")),
            create: json!({"name": "r", "base_path": "r"}),
            change: json!({"base_path": "r2"}),
        })
        .collect()
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// Creates (directly, or through a task for distributions), reads, lists, filters, updates and
/// deletes one resource of `case`'s type, and checks the error answers on the way.
async fn crud(app: &TestApp, case: &Case) {
    let engine = app.engine;
    let c = case.collection;
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
        ("name=r", 1),
        ("name__startswith=r", 1),
        ("name__in=r,x", 1),
        ("name=x", 0),
        (leak(format!("pulp_href__in={href}")), 1),
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
