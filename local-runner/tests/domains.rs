//! Domains: `domains/` as Pulp serves it (with domains off, too), and with
//! `PULP_DOMAIN_ENABLED` the `/pulp/<domain>/api/v3/` layout: hrefs carry the domain, names are
//! unique per domain, nothing of one domain is found through another's URLs, the content app
//! serves each domain under `/pulp/content/<domain>/`, and a domain that still holds anything
//! is not deleted.

mod common;

use axum::http::StatusCode;
use base64::Engine;
use common::{TestApp, apps, apps_with, push};
use serde_json::{Value, json};

fn fs_domain(name: &str) -> Value {
    json!({
        "name": name,
        "storage_class": "pulpcore.app.models.storage.FileSystem",
        "storage_settings": {"MEDIA_ROOT": ""},
    })
}

#[tokio::test]
async fn domains_are_served_as_pulp_serves_them() {
    for app in apps().await {
        let e = app.engine;
        let (status, page) = app.api("GET", "domains/?name=default", None).await;
        assert_eq!(status, StatusCode::OK, "{e} {page}");
        assert_eq!(page["count"], 1, "{e} {page}");
        let default = &page["results"][0];
        assert_eq!(
            default["storage_class"],
            "pulpcore.app.models.storage.FileSystem"
        );
        assert_eq!(default["redirect_to_object_storage"], true);
        assert_eq!(default["hide_guarded_distributions"], false);
        let default_href = default["pulp_href"].as_str().unwrap().to_string();
        assert_eq!(
            default["prn"],
            "prn:core.domain:00000000-0000-0000-0000-000000000000"
        );

        let (status, body) = app
            .api("POST", "domains/", Some(fs_domain("default")))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
        assert_eq!(body, json!({"name": ["This field must be unique."]}));
        let (status, body) = app
            .call("PATCH", &default_href, Some(json!({"name": "x"})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
        assert_eq!(body, json!(["Default domain can not be updated."]));
        let (status, body) = app.call("DELETE", &default_href, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
        assert_eq!(body, json!(["Default domain can not be deleted."]));
        let migrate = json!({"storage_class": "pulpcore.app.models.storage.FileSystem",
                             "storage_settings": {}});
        let (status, body) = app.api("POST", "domains/migrate/", Some(migrate)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
        assert_eq!(body, json!(["Default domain can not be migrated."]));

        // Bad names, classes and settings are 400s that say what is wrong.
        for (bad, field) in [
            (fs_domain("api"), "name"),
            (fs_domain("a b"), "name"),
            (fs_domain(&"x".repeat(51)), "name"),
            (
                json!({"name": "d1", "storage_class": "nope", "storage_settings": {}}),
                "storage_class",
            ),
            (
                json!({"name": "d1", "storage_class": "storages.backends.azure_storage.AzureStorage",
                       "storage_settings": {}}),
                "storage_class",
            ),
            (
                json!({"name": "d1", "storage_class": "pulpcore.app.models.storage.FileSystem",
                       "storage_settings": {"location": "", "bogus": 1}}),
                "storage_settings",
            ),
            (
                json!({"name": "d1", "storage_class": "storages.backends.s3.S3Storage",
                       "storage_settings": {"access_key": "a", "bucket_name": "b"}}),
                "storage_settings",
            ),
            // A folder the server cannot make is refused now, not at each request later.
            (
                json!({"name": "d1", "storage_class": "pulpcore.app.models.storage.FileSystem",
                       "storage_settings": {"location": "/proc/depot-cannot-write-here"}}),
                "storage_settings",
            ),
        ] {
            let (status, body) = app.api("POST", "domains/", Some(bad.clone())).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{e} {bad} {body}");
            assert!(body.get(field).is_some(), "{e} {bad} {body}");
        }

        // Create, read, update (a task; none when nothing changes), delete (a task).
        let (status, made) = app.api("POST", "domains/", Some(fs_domain("d1"))).await;
        assert_eq!(status, StatusCode::CREATED, "{e} {made}");
        assert_eq!(
            made["storage_settings"],
            json!({"location": "", "base_url": "", "directory_permissions_mode": null,
                   "file_permissions_mode": 420, "hidden_fields": []})
        );
        let href = made["pulp_href"].as_str().unwrap().to_string();
        let change = json!({"storage_settings": {"location": "/testing/"}});
        let (status, accepted) = app.call("PATCH", &href, Some(change.clone())).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{e} {accepted}");
        app.completed(&accepted).await;
        let (_, read) = app.call("GET", &href, None).await;
        assert_eq!(read["storage_settings"]["location"], "/testing/", "{e}");
        let (status, same) = app.call("PATCH", &href, Some(change)).await;
        assert_eq!(status, StatusCode::OK, "{e} {same}");
        assert_eq!(same, read);

        // S3 keys are never shown, only whether they are set.
        let (status, s3) = app
            .api(
                "POST",
                "domains/",
                Some(json!({"name": "s3", "storage_class": "storages.backends.s3.S3Storage",
                            "storage_settings": {"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "sekrit",
                                                 "AWS_STORAGE_BUCKET_NAME": "pulp3"}})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{e} {s3}");
        assert!(!s3.to_string().contains("sekrit"), "{e} {s3}");
        assert!(
            s3["storage_settings"]["hidden_fields"]
                .as_array()
                .unwrap()
                .contains(&json!({"name": "secret_key", "is_set": true}))
        );
        let stored: String =
            sqlx::query_scalar("SELECT storage_settings FROM domains WHERE name = 's3'")
                .fetch_one(app.core.db.pool())
                .await
                .unwrap();
        assert!(
            !stored.contains("sekrit") && !stored.contains("AKIA"),
            "{e} stored in plain text"
        );

        let (status, accepted) = app.call("DELETE", &href, None).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{e}");
        app.completed(&accepted).await;
        let (status, _) = app.call("GET", &href, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");

        // Anonymous callers get nothing.
        let (status, _) = app.anonymous("GET", "/pulp/api/v3/domains/").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{e}");
        app.close().await;
    }
}

/// A file repository with one file (`bytes`) published and distributed at `base_path`, all
/// under `root` (a domain's API root).
async fn distributed(app: &TestApp, root: &str, base_path: &str, bytes: &[u8]) -> Value {
    let (status, repo) = app
        .call(
            "POST",
            &format!("{root}repositories/file/file/"),
            Some(json!({"name": "shared-name"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{} {repo}", app.engine);
    let repo_href = repo["pulp_href"].as_str().unwrap().to_string();
    let (_, accepted) = app
        .form(
            "POST",
            &format!("{root}content/file/files/"),
            &[("relative_path", "f.txt"), ("repository", &repo_href)],
            bytes,
            &[],
        )
        .await;
    let task = app.completed(&accepted).await;
    assert!(
        task["pulp_href"].as_str().unwrap().starts_with(root),
        "{task}"
    );
    let (_, accepted) = app
        .call(
            "POST",
            &format!("{root}publications/file/file/"),
            Some(json!({"repository": repo_href})),
        )
        .await;
    let t = app.completed(&accepted).await;
    let publication = t["created_resources"][0].as_str().unwrap().to_string();
    assert!(publication.starts_with(root), "{publication}");
    let (_, accepted) = app
        .call(
            "POST",
            &format!("{root}distributions/file/file/"),
            Some(
                json!({"name": "shared-name", "base_path": base_path, "publication": publication}),
            ),
        )
        .await;
    let t = app.completed(&accepted).await;
    let dist = t["created_resources"][0].as_str().unwrap().to_string();
    let (_, dist) = app.call("GET", &dist, None).await;
    json!({"repository": repo_href, "distribution": dist})
}

#[tokio::test]
async fn each_domain_is_a_namespace_of_its_own() {
    for app in apps_with(|s| s.domain_enabled = true).await {
        let e = app.engine;
        // The plain root is gone, but for the docs and the status.
        let (status, _) = app.api("GET", "repositories/file/file/", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
        let (status, st) = app.api("GET", "status/", None).await;
        assert_eq!(status, StatusCode::OK, "{e}");
        assert_eq!(st["domain_enabled"], true);
        let (status, _) = app.api("GET", "livez/", None).await;
        assert_eq!(status, StatusCode::OK, "{e}");
        // A domain's content root answers with nothing to list yet (readiness probes ask it).
        let (status, body) = app.fetch("/pulp/content/default/").await;
        assert_eq!(status, StatusCode::OK, "{e}");
        assert!(String::from_utf8_lossy(&body).contains("Index of /pulp/content/default/"));
        let (_, doc) = app.api("GET", "docs/api.json", None).await;
        assert_eq!(doc["info"]["x-pulp-domain-enabled"], true);
        assert!(doc["paths"]["/pulp/{pulp_domain}/api/v3/repositories/file/file/"].is_object());
        let (status, headers, _) = app
            .raw(
                "GET",
                "/pulp/nowhere/api/v3/repositories/file/file/",
                &[],
                vec![],
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
        assert!(headers.get("correlation-id").is_some(), "{e} {headers:?}");

        // A collection's URL names it under a domain's root too.
        let (status, roles) = app
            .call(
                "GET",
                "/pulp/default/api/v3/roles/?for_object_type=http://h/pulp/default/api/v3/groups/&name=core.group_owner",
                None,
            )
            .await;
        assert_eq!(
            (status, &roles["count"]),
            (StatusCode::OK, &json!(1)),
            "{e} {roles}"
        );
        let (status, acme) = app
            .call(
                "POST",
                "/pulp/default/api/v3/domains/",
                Some(fs_domain("acme")),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{e} {acme}");
        assert!(
            acme["pulp_href"]
                .as_str()
                .unwrap()
                .starts_with("/pulp/default/api/v3/domains/")
        );

        // The same names and base paths in two domains; hrefs carry each one's domain.
        let mine = distributed(&app, "/pulp/default/api/v3/", "site", b"default bytes\n").await;
        let theirs = distributed(&app, "/pulp/acme/api/v3/", "site", b"acme bytes\n").await;
        let their_repo = theirs["repository"].as_str().unwrap();
        assert!(their_repo.starts_with("/pulp/acme/api/v3/repositories/file/file/"));
        assert_eq!(
            theirs["distribution"]["base_url"],
            "http://127.0.0.1:1/pulp/content/acme/site/"
        );
        let (_, page) = app
            .call("GET", "/pulp/acme/api/v3/repositories/file/file/", None)
            .await;
        assert_eq!(page["count"], 1, "{e} {page}");
        assert_eq!(page["results"][0]["pulp_href"], their_repo);

        // Nothing of acme is found through default's URLs, by href or by reference.
        let crossed = their_repo.replace("/pulp/acme/", "/pulp/default/");
        let (status, _) = app.call("GET", &crossed, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
        let (status, body) = app
            .call(
                "POST",
                "/pulp/default/api/v3/publications/file/file/",
                Some(json!({"repository": their_repo})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{e} {body}");
        // Pulp's answer, told by the href alone: the same for objects that do not exist.
        let cross =
            json!({"non_field_errors": ["Objects must all be a part of the default domain."]});
        assert_eq!(body, cross, "{e}");
        // Nor labelled through default's URLs; a domain's own labels are set on it.
        let (status, _) = app
            .call(
                "POST",
                &format!("{crossed}set_label/"),
                Some(json!({"key": "k", "value": "v"})),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
        let (status, _) = app
            .call(
                "POST",
                &format!("{}set_label/", acme["pulp_href"].as_str().unwrap()),
                Some(json!({"key": "tier", "value": "gold"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{e}");
        let (_, acme_now) = app
            .call("GET", acme["pulp_href"].as_str().unwrap(), None)
            .await;
        assert_eq!(acme_now["pulp_labels"], json!({"tier": "gold"}), "{e}");
        let made_up = their_repo.replace(&their_repo[their_repo.len() - 13..], "000000000000/");
        let (status, body) = app
            .call(
                "POST",
                "/pulp/default/api/v3/distributions/file/file/",
                Some(json!({"name": "x", "base_path": "x", "repository": made_up})),
            )
            .await;
        assert_eq!((status, &body), (StatusCode::BAD_REQUEST, &cross), "{e}");
        let (status, body) = app
            .call(
                "POST",
                "/pulp/default/api/v3/publications/file/file/",
                Some(json!({"repository": crossed})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{e} {body}");
        let (_, tasks) = app
            .call("GET", "/pulp/default/api/v3/tasks/?limit=100", None)
            .await;
        let listed = tasks.to_string();
        assert!(!listed.contains("/pulp/acme/"), "{e} {listed}");

        // The same file in two domains is two units and two stored files: nothing of one
        // tenant's upload shows in, or changes, the other's.
        let mut units = Vec::new();
        for root in ["/pulp/default/api/v3/", "/pulp/acme/api/v3/"] {
            let (status, accepted) = app
                .form(
                    "POST",
                    &format!("{root}content/file/files/"),
                    &[("relative_path", "same.txt")],
                    b"the same bytes\n",
                    &[],
                )
                .await;
            assert_eq!(status, StatusCode::ACCEPTED, "{e} {accepted}");
            let t = app.completed(&accepted).await;
            let unit = t["created_resources"][0].as_str().unwrap().to_string();
            assert!(unit.starts_with(root), "{unit}");
            units.push(unit);
        }
        let id_of = |href: &str| {
            href.trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap()
                .to_string()
        };
        assert_ne!(id_of(&units[0]), id_of(&units[1]), "{e}");
        let keys: Vec<String> = sqlx::query_scalar(
            "SELECT a.file FROM artifacts a JOIN content_artifacts ca ON ca.artifact_id = a.id \
             JOIN file_contents fc ON fc.content_id = ca.content_id WHERE fc.relative_path = 'same.txt' \
             ORDER BY a.file",
        )
        .fetch_all(app.core.db.pool())
        .await
        .unwrap();
        assert_eq!(keys.len(), 2, "{e} {keys:?}");
        // A domain's status tells what its own files take (the disk is not its alone).
        let (_, st) = app.anonymous("GET", "/pulp/acme/api/v3/status/").await;
        let acme_bytes: i64 = sqlx::query_scalar(
            "SELECT CAST(SUM(a.size) AS BIGINT) FROM artifacts a JOIN domains d ON d.id = a.domain_id \
             WHERE d.name = 'acme'",
        )
        .fetch_one(app.core.db.pool())
        .await
        .unwrap();
        assert_eq!(
            st["storage"],
            json!({"total": null, "used": acme_bytes, "free": null}),
            "{e}"
        );
        let acme_id = acme["pulp_href"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .nth(1)
            .unwrap()
            .to_string();
        assert!(
            keys[0].starts_with(&format!("artifact/{acme_id}/")),
            "{e} {keys:?}"
        );
        assert!(keys[1].starts_with("artifact/7f/"), "{e} {keys:?}");
        // Another domain's content is not found, nor added to a repository.
        let crossed = units[1].replace("/pulp/acme/", "/pulp/default/");
        let (status, _) = app.call("GET", &crossed, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
        let (status, listed) = app
            .call(
                "GET",
                "/pulp/acme/api/v3/content/file/files/?relative_path=same.txt",
                None,
            )
            .await;
        assert_eq!(
            (status, listed["count"].clone()),
            (StatusCode::OK, json!(1)),
            "{e}"
        );
        let modify = format!("{}modify/", mine["repository"].as_str().unwrap());
        let (status, answer) = app
            .call(
                "POST",
                &modify,
                Some(json!({"add_content_units": [crossed]})),
            )
            .await;
        if status == StatusCode::ACCEPTED {
            let t = app.wait(&answer).await;
            assert_eq!(t["state"], "failed", "{e} {t}");
        } else {
            assert_eq!(status, StatusCode::BAD_REQUEST, "{e} {answer}");
        }
        let (status, answer) = app
            .call(
                "POST",
                &modify,
                Some(json!({"add_content_units": [&units[1]]})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{e} {answer}");
        let said = answer["add_content_units"][0].as_str().unwrap();
        assert!(
            said.starts_with("Content units are not a part of the current domain default: ["),
            "{e} {said}"
        );

        // The content app serves each domain's files under its name.
        let (status, bytes) = app.fetch("/pulp/content/acme/site/f.txt").await;
        assert_eq!(
            (status, bytes.as_slice()),
            (StatusCode::OK, &b"acme bytes\n"[..]),
            "{e}"
        );
        let (status, bytes) = app.fetch("/pulp/content/default/site/f.txt").await;
        assert_eq!(
            (status, bytes.as_slice()),
            (StatusCode::OK, &b"default bytes\n"[..]),
            "{e}"
        );
        let (status, _) = app.fetch("/pulp/content/nowhere/site/f.txt").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
        let (status, _) = app.fetch("/pulp/content/site/f.txt").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");

        // A migration's settings are checked as Pulp checks them.
        let (status, body) = app
            .call(
                "POST",
                "/pulp/acme/api/v3/domains/migrate/",
                Some(
                    json!({"storage_class": "pulpcore.app.models.storage.FileSystem",
                            "storage_settings": {}}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
        assert_eq!(
            body["storage_settings"],
            json!({"location": ["This field is required."]})
        );
        // A migration copies the domain's files to its new storage and keeps them there.
        let moved = app.core.settings.data_dir.join("moved");
        let (status, accepted) = app
            .call(
                "POST",
                "/pulp/acme/api/v3/domains/migrate/",
                Some(
                    json!({"storage_class": "pulpcore.app.models.storage.FileSystem",
                            "storage_settings": {"location": moved}}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{e} {accepted}");
        let t = app.completed(&accepted).await;
        let reports: Vec<(Value, Value)> = t["progress_reports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["code"].clone(), r["done"].clone()))
            .collect();
        let files: Vec<String> = sqlx::query_scalar(
            "SELECT a.file FROM artifacts a JOIN domains d ON d.id = a.domain_id WHERE d.name = 'acme'",
        )
        .fetch_all(app.core.db.pool())
        .await
        .unwrap();
        assert_eq!(
            reports,
            vec![
                (json!("migrate"), json!(files.len())),
                (json!("update"), json!(1))
            ],
            "{e}"
        );
        for key in &files {
            assert!(moved.join(key).is_file(), "{e} {key}");
            // The old copy can go: what is served now comes from the new storage.
            std::fs::remove_file(app.core.settings.data_dir.join("media").join(key)).unwrap();
        }
        let (_, shown) = app
            .call("GET", acme["pulp_href"].as_str().unwrap(), None)
            .await;
        assert_eq!(shown["storage_settings"]["location"], json!(moved), "{e}");
        let (status, bytes) = app.fetch("/pulp/content/acme/site/f.txt").await;
        assert_eq!(
            (status, bytes.as_slice()),
            (StatusCode::OK, &b"acme bytes\n"[..]),
            "{e}"
        );
        // And what the domain stores from now on goes there.
        let (_, accepted) = app
            .form(
                "POST",
                "/pulp/acme/api/v3/content/file/files/",
                &[("relative_path", "after.txt")],
                b"stored after the move\n",
                &[],
            )
            .await;
        app.completed(&accepted).await;
        let sha = depot_core::checksums::sha256_hex(b"stored after the move\n");
        let key = format!("artifact/{acme_id}/{}/{}", &sha[..2], &sha[2..]);
        assert!(moved.join(&key).is_file(), "{e} {key}");
        assert!(
            !app.core.settings.data_dir.join("media").join(&key).exists(),
            "{e}"
        );

        // A domain that holds anything is not deleted; an empty one is.
        let acme_href = acme["pulp_href"].as_str().unwrap();
        let (_, accepted) = app.call("DELETE", acme_href, None).await;
        let t = app.wait(&accepted).await;
        assert_eq!(t["state"], "failed", "{e} {t}");
        for href in [
            theirs["distribution"]["pulp_href"].as_str().unwrap(),
            their_repo,
        ] {
            let (status, accepted) = app.call("DELETE", href, None).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{e} {accepted}");
            app.completed(&accepted).await;
        }
        let (_, accepted) = app.call("DELETE", acme_href, None).await;
        app.completed(&accepted).await;
        let (status, _) = app
            .call("GET", "/pulp/acme/api/v3/repositories/file/file/", None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
        // Default's own are untouched.
        let (status, _) = app
            .call("GET", mine["repository"].as_str().unwrap(), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{e}");
        app.close().await;
    }
}

/// Apps with domains on that take `X-RH-IDENTITY` identities.
async fn with_identities() -> Vec<TestApp> {
    use depot_core::identity::{DEFAULT_FILTER, JqFilter};
    apps_with(|s| {
        s.domain_enabled = true;
        s.header_auth.json_header = Some((
            "x-rh-identity".into(),
            JqFilter::parse(DEFAULT_FILTER).unwrap(),
        ));
    })
    .await
}

/// An `X-RH-IDENTITY` user of organisation `org`.
fn identity(name: &str, org: &str) -> String {
    use base64::Engine;
    let doc = json!({"identity": {"org_id": org, "type": "User", "user": {"username": name}}});
    base64::engine::general_purpose::STANDARD.encode(doc.to_string())
}

#[tokio::test]
async fn each_organisation_works_in_its_own_domain() {
    let apps = with_identities().await;
    for app in apps {
        let e = app.engine;
        let alice = identity("alice", "101");
        let bob = identity("bob", "202");
        let as_ = |who: &str| vec![("x-rh-identity", who.to_string())];
        let call = |who: &str, method: &'static str, path: String, body: Option<Value>| {
            let headers = as_(who);
            let app = &app;
            async move {
                let headers: Vec<(&str, &str)> =
                    headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
                app.with_headers_json(method, &path, &headers, body).await
            }
        };
        // The first request of each makes the organisation's domain, which they may fill.
        let repos = |org: &str| format!("/pulp/org-{org}/api/v3/repositories/file/file/");
        let (status, page) = call(&alice, "GET", repos("101"), None).await;
        assert_eq!(
            (status, page["count"].clone()),
            (StatusCode::OK, json!(0)),
            "{e} {page}"
        );
        let (status, made) = call(&alice, "POST", repos("101"), Some(json!({"name": "r"}))).await;
        assert_eq!(status, StatusCode::CREATED, "{e} {made}");
        let href = made["pulp_href"].as_str().unwrap().to_string();
        assert!(href.starts_with("/pulp/org-101/api/v3/"), "{href}");
        let (status, made) = call(&bob, "POST", repos("202"), Some(json!({"name": "r"}))).await;
        assert_eq!(status, StatusCode::CREATED, "{e} {made}");

        // Bob sees nothing of Alice's domain, and may make nothing there.
        let (status, page) = call(&bob, "GET", repos("101"), None).await;
        assert_eq!(
            (status, page["count"].clone()),
            (StatusCode::OK, json!(0)),
            "{e} {page}"
        );
        let (status, _) = call(&bob, "GET", href.clone(), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
        let (status, _) = call(&bob, "DELETE", href.clone(), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
        let (status, body) = call(&bob, "POST", repos("101"), Some(json!({"name": "x"}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{e} {body}");
        // Nor through his own domain's URLs.
        let crossed = href.replace("/org-101/", "/org-202/");
        let (status, _) = call(&bob, "GET", crossed, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
        // Alice reads and deletes her own.
        let (status, read) = call(&alice, "GET", href.clone(), None).await;
        assert_eq!(
            (status, read["name"].clone()),
            (StatusCode::OK, json!("r")),
            "{e}"
        );
        let (status, accepted) = call(&alice, "DELETE", href.clone(), None).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{e} {accepted}");
        // Her task is hers to see, in her domain only.
        let task = accepted["task"].as_str().unwrap().to_string();
        let (status, _) = call(&bob, "GET", task.clone(), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");

        // No one may take an organisation's domain name.
        let (status, body) = app
            .call(
                "POST",
                "/pulp/default/api/v3/domains/",
                Some(fs_domain("org-303")),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{e} {body}");
        app.close().await;
    }
}

/// Apps with domains on, and a domain `acme` besides `default`.
async fn with_acme() -> Vec<TestApp> {
    let apps = apps_with(|s| s.domain_enabled = true).await;
    for app in &apps {
        let (status, body) = app
            .call(
                "POST",
                "/pulp/default/api/v3/domains/",
                Some(fs_domain("acme")),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{} {body}", app.engine);
    }
    apps
}

/// The catalog as `auth` (a Basic `Authorization` value; none: anonymous) sees it.
async fn listed(app: &TestApp, auth: Option<&str>) -> Value {
    let headers: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
    let (status, _, body) = app.raw_with("GET", "/v2/_catalog", &headers, vec![]).await;
    assert_eq!(status, StatusCode::OK);
    serde_json::from_slice::<Value>(&body).unwrap()["repositories"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_registry_names_repositories_by_domain() {
    for app in with_acme().await {
        let e = app.engine;
        // The same name in two domains: two repositories, each with its own layer.
        let mine = push(&app, "default/team/app", b"default layer").await;
        let theirs = push(&app, "acme/team/app", b"acme layer").await;
        assert_ne!(mine, theirs);
        let accept = [("accept", "application/vnd.oci.image.manifest.v1+json")];
        for (name, manifest) in [("default/team/app", &mine), ("acme/team/app", &theirs)] {
            let path = format!("/v2/{name}/manifests/v1");
            let (status, _, pulled) = app.raw("GET", &path, &accept, vec![]).await;
            assert_eq!((status, &pulled), (StatusCode::OK, manifest), "{e} {name}");
        }
        // A layer of one domain is unknown in the other, though its repository has the name.
        let acme_layer = format!(
            "sha256:{}",
            depot_core::checksums::sha256_hex(b"acme layer")
        );
        let (status, _, _) = app
            .raw(
                "GET",
                &format!("/v2/default/team/app/blobs/{acme_layer}"),
                &[],
                vec![],
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
        let (status, _, pulled) = app
            .raw(
                "GET",
                &format!("/v2/acme/team/app/blobs/{acme_layer}"),
                &[],
                vec![],
            )
            .await;
        assert_eq!(
            (status, pulled.as_slice()),
            (StatusCode::OK, &b"acme layer"[..]),
            "{e}"
        );
        // Names without a domain, or with one that does not exist, name nothing.
        for path in [
            "/v2/team/app/manifests/v1",
            "/v2/nowhere/team/app/manifests/v1",
        ] {
            let (status, _, _) = app.raw("GET", path, &accept, vec![]).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{e} {path}");
        }
        // The catalog lists every domain's repositories, named as they are pulled.
        let (status, _, catalog) = app.raw("GET", "/v2/_catalog", &[], vec![]).await;
        assert_eq!(status, StatusCode::OK, "{e}");
        let catalog: Value = serde_json::from_slice(&catalog).unwrap();
        assert_eq!(
            catalog["repositories"],
            json!(["acme/team/app", "default/team/app"]),
            "{e}"
        );
        let (_, _, page) = app
            .raw("GET", "/v2/_catalog?n=1&last=acme/team/app", &[], vec![])
            .await;
        let page: Value = serde_json::from_slice(&page).unwrap();
        assert_eq!(page["repositories"], json!(["default/team/app"]), "{e}");
        // Private repositories are listed to whoever may pull them: here a role on acme's
        // domain, which counts in acme only.
        for root in ["/pulp/default/api/v3/", "/pulp/acme/api/v3/"] {
            let (_, dists) = app
                .call(
                    "GET",
                    &format!("{root}distributions/container/container/"),
                    None,
                )
                .await;
            let href = dists["results"][0]["pulp_href"]
                .as_str()
                .unwrap()
                .to_string();
            let (_, accepted) = app
                .call("PATCH", &href, Some(json!({"private": true})))
                .await;
            app.completed(&accepted).await;
        }
        let (status, bob) = app
            .call(
                "POST",
                "/pulp/default/api/v3/users/",
                Some(json!({"username": "bob", "password": common::PASSWORD})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{e} {bob}");
        let bob_auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("bob:{}", common::PASSWORD))
        );
        assert_eq!(listed(&app, None).await, json!([]), "{e}");
        assert_eq!(listed(&app, Some(&bob_auth)).await, json!([]), "{e}");
        let (_, acme) = app
            .call("GET", "/pulp/default/api/v3/domains/?name=acme", None)
            .await;
        let role = json!({"role": "container.containernamespace_consumer",
                          "domain": acme["results"][0]["pulp_href"], "content_object": null});
        let (status, given) = app
            .call(
                "POST",
                &format!("{}roles/", bob["pulp_href"].as_str().unwrap()),
                Some(role),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{e} {given}");
        app.core.grants.forget();
        assert_eq!(
            listed(&app, Some(&bob_auth)).await,
            json!(["acme/team/app"]),
            "{e}"
        );
        let (_, _, all) = app.raw("GET", "/v2/_catalog", &[], vec![]).await;
        let all: Value = serde_json::from_slice(&all).unwrap();
        assert_eq!(
            all["repositories"],
            json!(["acme/team/app", "default/team/app"]),
            "{e}"
        );
        // The API shows each domain its own.
        let (_, dists) = app
            .call(
                "GET",
                "/pulp/acme/api/v3/distributions/container/container/",
                None,
            )
            .await;
        assert_eq!(dists["count"], 1, "{e} {dists}");
        let (_, blobs) = app
            .call(
                "GET",
                &format!("/pulp/default/api/v3/content/container/blobs/?digest={acme_layer}"),
                None,
            )
            .await;
        assert_eq!(blobs["count"], 0, "{e} {blobs}");
        app.close().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_domain_has_its_own_python_index() {
    for app in with_acme().await {
        let e = app.engine;
        let root = "/pulp/acme/api/v3/";
        let (_, repo) = app
            .call(
                "POST",
                &format!("{root}repositories/python/python/"),
                Some(json!({"name": "py"})),
            )
            .await;
        let repo = repo["pulp_href"].as_str().unwrap().to_string();
        let (filename, bytes) = common::wheel("demo-pkg", "1.0");
        let (_, accepted) = app
            .form(
                "POST",
                &format!("{root}content/python/packages/"),
                &[
                    ("relative_path", filename.as_str()),
                    ("repository", repo.as_str()),
                ],
                &bytes,
                &[],
            )
            .await;
        app.completed(&accepted).await;
        let (_, accepted) = app
            .call(
                "POST",
                &format!("{root}distributions/python/pypi/"),
                Some(json!({"name": "py", "base_path": "py", "repository": repo})),
            )
            .await;
        let t = app.completed(&accepted).await;
        let (_, dist) = app
            .call("GET", t["created_resources"][0].as_str().unwrap(), None)
            .await;
        assert_eq!(
            dist["base_url"], "http://127.0.0.1:1/pypi/acme/py/",
            "{e} {dist}"
        );

        let (status, html) = app.fetch("/pypi/acme/py/simple/demo-pkg/").await;
        assert_eq!(status, StatusCode::OK, "{e}");
        let html = String::from_utf8(html).unwrap();
        assert!(html.contains(&filename), "{e} {html}");
        assert!(html.contains("/pulp/content/acme/py/"), "{e} {html}");
        let (status, file) = app
            .fetch(&format!("/pulp/content/acme/py/{filename}"))
            .await;
        assert_eq!((status, file), (StatusCode::OK, bytes.clone()), "{e}");
        // Not under another domain, nor without one.
        for path in [
            "/pypi/default/py/simple/",
            "/pypi/py/simple/",
            "/pypi/nowhere/py/simple/",
        ] {
            let (status, _) = app.fetch(path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{e} {path}");
        }
        app.close().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn organisations_push_and_pull_in_their_own_registry() {
    let apps = with_identities().await;
    let sha = |b: &[u8]| format!("sha256:{}", depot_core::checksums::sha256_hex(b));
    for app in apps {
        let e = app.engine;
        let alice = identity("alice", "101");
        let bob = identity("bob", "202");
        let blob = b"alice's layer".to_vec();
        let upload = |who: &str, name: &str| {
            let path = format!("/v2/{name}/blobs/uploads/?digest={}", sha(&blob));
            let headers = [
                ("x-rh-identity".to_string(), who.to_string()),
                (
                    "content-type".to_string(),
                    "application/octet-stream".to_string(),
                ),
            ];
            let (app, blob) = (&app, blob.clone());
            async move {
                let headers: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                app.raw_with("POST", &path, &headers, blob).await.0
            }
        };
        // Alice pushes into her organisation's domain; the repository is hers.
        assert_eq!(
            upload(&alice, "org-101/team/app").await,
            StatusCode::CREATED,
            "{e}"
        );
        // Bob may not push there, nor make repositories in another domain.
        assert_eq!(
            upload(&bob, "org-101/team/app").await,
            StatusCode::FORBIDDEN,
            "{e}"
        );
        assert_eq!(
            upload(&bob, "org-101/bob/app").await,
            StatusCode::FORBIDDEN,
            "{e}"
        );
        assert_eq!(
            upload(&bob, "org-202/bob/app").await,
            StatusCode::CREATED,
            "{e}"
        );
        // A user of no organisation may push nowhere.
        let carol = {
            use base64::Engine;
            let doc = json!({"identity": {"user": {"username": "carol"}}});
            base64::engine::general_purpose::STANDARD.encode(doc.to_string())
        };
        assert_eq!(
            upload(&carol, "default/c/app").await,
            StatusCode::FORBIDDEN,
            "{e}"
        );
        // What Alice pushed is hers in the API.
        let (status, dists) = app
            .with_headers(
                "GET",
                "/pulp/org-101/api/v3/distributions/container/container/",
                &[("x-rh-identity", &alice)],
            )
            .await;
        assert_eq!(
            (status, dists["count"].clone()),
            (StatusCode::OK, json!(1)),
            "{e} {dists}"
        );
        let (_, dists) = app
            .with_headers(
                "GET",
                "/pulp/org-101/api/v3/distributions/container/container/",
                &[("x-rh-identity", &bob)],
            )
            .await;
        assert_eq!(dists["count"], 0, "{e} {dists}");
        app.close().await;
    }
}

/// A twine upload of `filename` (`bytes`) as multipart form fields.
fn twine_form(filename: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "depot-twine-boundary";
    let sha = depot_core::checksums::sha256_hex(bytes);
    let mut body = Vec::new();
    for (name, value) in [
        (":action", "file_upload"),
        ("protocol_version", "1"),
        ("name", "demo-pkg"),
        ("version", "1.0"),
        ("filetype", "bdist_wheel"),
        ("sha256_digest", sha.as_str()),
    ] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"content\"; \
             filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test(flavor = "multi_thread")]
async fn organisations_upload_to_their_own_indexes() {
    let apps = with_identities().await;
    for app in apps {
        let e = app.engine;
        let alice = identity("alice", "101");
        let bob = identity("bob", "202");
        let as_alice = [("x-rh-identity", alice.as_str())];
        // Alice makes an index in her domain.
        let root = "/pulp/org-101/api/v3/";
        let (status, repo) = app
            .with_headers_json(
                "POST",
                &format!("{root}repositories/python/python/"),
                &as_alice,
                Some(json!({"name": "py"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{e} {repo}");
        let (status, accepted) = app
            .with_headers_json(
                "POST",
                &format!("{root}distributions/python/pypi/"),
                &as_alice,
                Some(json!({"name": "py", "base_path": "py", "repository": repo["pulp_href"]})),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{e} {accepted}");
        app.wait(&accepted).await;
        let (filename, bytes) = common::wheel("demo-pkg", "1.0");
        let (ctype, body) = twine_form(&filename, &bytes);
        let upload = |who: &str| {
            let headers = [
                ("x-rh-identity".to_string(), who.to_string()),
                ("content-type".to_string(), ctype.clone()),
            ];
            let (app, body) = (&app, body.clone());
            async move {
                let headers: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                app.raw_with("POST", "/pypi/org-101/py/legacy/", &headers, body)
                    .await
                    .0
            }
        };
        // Bob may not upload to Alice's index; Alice may.
        assert_eq!(upload(&bob).await, StatusCode::FORBIDDEN, "{e}");
        assert_eq!(upload(&alice).await, StatusCode::OK, "{e}");
        let (status, html) = app.fetch("/pypi/org-101/py/simple/demo-pkg/").await;
        assert_eq!(status, StatusCode::OK, "{e}");
        assert!(String::from_utf8(html).unwrap().contains(&filename), "{e}");
        app.close().await;
    }
}

/// What each organisation's user sees of the other's: for every resource family, Bob finds
/// nothing of Alice's, by list, read, change or delete, through her domain's URLs or his own.
#[tokio::test(flavor = "multi_thread")]
async fn tenant_isolation_matrix() {
    let apps = with_identities().await;
    // Collection, body of a create (201 at once, or 202 and a task).
    let families = [
        ("repositories/file/file/", json!({"name": "rf"})),
        ("repositories/python/python/", json!({"name": "rp"})),
        ("repositories/container/container/", json!({"name": "rc"})),
        (
            "remotes/file/file/",
            json!({"name": "mf", "url": "http://example.invalid/PULP_MANIFEST"}),
        ),
        (
            "remotes/python/python/",
            json!({"name": "mp", "url": "http://example.invalid/"}),
        ),
        (
            "remotes/container/container/",
            json!({"name": "mc", "url": "http://example.invalid", "upstream_name": "x"}),
        ),
        ("contentguards/core/rbac/", json!({"name": "g1"})),
        (
            "contentguards/core/header/",
            json!({"name": "g2", "header_name": "x-key", "header_value": "v"}),
        ),
        ("uploads/", json!({"size": 4})),
        (
            "distributions/file/file/",
            json!({"name": "m", "base_path": "m"}),
        ),
        (
            "distributions/python/pypi/",
            json!({"name": "m2", "base_path": "m2"}),
        ),
        (
            "distributions/container/container/",
            json!({"name": "m3", "base_path": "m3/app", "private": true}),
        ),
    ];
    for app in apps {
        let e = app.engine;
        let alice = identity("alice", "101");
        let bob = identity("bob", "202");
        let call = |who: &str, method: &'static str, path: String, body: Option<Value>| {
            let header = who.to_string();
            let app = &app;
            async move {
                app.with_headers_json(method, &path, &[("x-rh-identity", &header)], body)
                    .await
            }
        };
        let hers = "/pulp/org-101/api/v3/";
        let his = "/pulp/org-202/api/v3/";
        // Bob's first request makes his domain.
        call(&bob, "GET", format!("{his}status/"), None).await;
        let mut made = Vec::new();
        for (collection, body) in &families {
            let (status, answer) = call(
                &alice,
                "POST",
                format!("{hers}{collection}"),
                Some(body.clone()),
            )
            .await;
            let href = match status {
                StatusCode::CREATED => answer["pulp_href"].as_str().unwrap().to_string(),
                StatusCode::ACCEPTED => {
                    let t = app.wait(&answer).await;
                    assert_eq!(t["state"], "completed", "{e} {collection} {t}");
                    t["created_resources"][0].as_str().unwrap().to_string()
                }
                other => panic!("{e} {collection}: {other} {answer}"),
            };
            made.push((collection, href));
        }
        // Content in her file repository, its new version, a publication and its task.
        let rf = made[0].1.clone();
        let (_, accepted) = app
            .form(
                "POST",
                &format!("{hers}content/file/files/"),
                &[("relative_path", "secret.txt"), ("repository", &rf)],
                b"alice's secret\n",
                &[],
            )
            .await;
        let t = app.completed(&accepted).await;
        let content = t["created_resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .find(|h| h.contains("/content/"))
            .unwrap()
            .to_string();
        made.push((&"content/file/files/", content));
        made.push((&"repositories/file/file/", format!("{rf}versions/1/")));
        let (_, accepted) = call(
            &alice,
            "POST",
            format!("{hers}publications/file/file/"),
            Some(json!({"repository": rf})),
        )
        .await;
        let task = accepted["task"].as_str().unwrap().to_string();
        let t = app.completed(&accepted).await;
        made.push((
            &"publications/file/file/",
            t["created_resources"][0].as_str().unwrap().to_string(),
        ));
        made.push((&"tasks/", task));

        for (collection, href) in &made {
            let crossed = href.replace("/pulp/org-101/", "/pulp/org-202/");
            for path in [href.clone(), crossed.clone()] {
                // Versions are the one place Pulp answers 403 (it finds their repository in
                // the domain before it asks who may see it); across domains they are not found.
                let expected = match path.contains("/versions/") && path == *href {
                    true => StatusCode::FORBIDDEN,
                    false => StatusCode::NOT_FOUND,
                };
                let (status, body) = call(&bob, "GET", path.clone(), None).await;
                assert_eq!(status, expected, "{e} bob GET {path} {body}");
                // Families without the method answer 405 whatever the id: that says nothing.
                for (method, body) in [("DELETE", None), ("PATCH", Some(json!({"name": "z"})))] {
                    let (status, body) = call(&bob, method, path.clone(), body).await;
                    assert!(
                        [expected, StatusCode::METHOD_NOT_ALLOWED].contains(&status),
                        "{e} bob {method} {path} {status} {body}"
                    );
                }
            }
            // Alice herself does not reach it through Bob's domain either.
            let (status, _) = call(&alice, "GET", crossed.clone(), None).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{e} alice {crossed}");
            // Lists show Bob nothing of hers, in her domain or his.
            for root in [hers, his] {
                let (status, page) = call(&bob, "GET", format!("{root}{collection}"), None).await;
                assert_eq!(status, StatusCode::OK, "{e} {root}{collection}");
                let listed = page.to_string();
                assert!(
                    !listed.contains("org-101"),
                    "{e} {root}{collection} {listed}"
                );
            }
        }
        // Filters that name her objects reach nothing, in her domain or his.
        let version = format!("{}versions/1/", made[0].1);
        let crossed = version.replace("/pulp/org-101/", "/pulp/org-202/");
        for (root, filter) in [
            (hers, format!("repository_version={version}")),
            (his, format!("repository_version={crossed}")),
            (hers, format!("pulp_href__in={}", made[12].1)),
            (
                his,
                format!(
                    "pulp_href__in={}",
                    made[12].1.replace("/org-101/", "/org-202/")
                ),
            ),
        ] {
            let (status, page) = call(
                &bob,
                "GET",
                format!("{root}content/file/files/?{filter}"),
                None,
            )
            .await;
            let listed = page.to_string();
            // As for a version that does not exist: 400 or 404, or nothing listed.
            assert!(
                [StatusCode::BAD_REQUEST, StatusCode::NOT_FOUND].contains(&status)
                    || page["count"] == 0,
                "{e} {root} {filter} {status} {listed}"
            );
            assert!(!listed.contains("secret.txt"), "{e} {listed}");
        }

        // Nor may he act on her objects: the answer is the one for what does not exist.
        let rf = &made[0].1;
        for (action, body) in [
            ("modify/", json!({"add_content_units": []})),
            ("sync/", json!({"remote": made[3].1})),
            ("my_permissions/", Value::Null),
            ("list_roles/", Value::Null),
            (
                "add_role/",
                json!({"role": "file.filerepository_owner", "users": ["bob"]}),
            ),
        ] {
            let (method, body) = match body {
                Value::Null => ("GET", None),
                b => ("POST", Some(b)),
            };
            let (status, answer) = call(&bob, method, format!("{rf}{action}"), body).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{e} bob {action} {answer}");
        }

        // Her private image is not Bob's to pull, nor anyone's without credentials.
        let private = json!({"name": "priv", "base_path": "priv/app", "private": true,
                             "repository": made[2].1});
        let (_, accepted) = call(
            &alice,
            "POST",
            format!("{hers}distributions/container/container/"),
            Some(private),
        )
        .await;
        app.completed(&accepted).await;
        let manifest = "/v2/org-101/priv/app/manifests/latest";
        let (status, _, _) = app
            .raw_with("GET", manifest, &[("x-rh-identity", &bob)], vec![])
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{e}");
        let (status, _, _) = app.raw_with("GET", manifest, &[], vec![]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{e}");
        app.close().await;
    }
}

/// A domain's `default_content_guard` (set on an existing domain, to a guard of its own) goes to
/// the distributions made in it without a guard; deleting the guard clears it.
#[tokio::test]
async fn a_domain_guards_new_distributions_by_default() {
    for app in apps_with(|s| s.domain_enabled = true).await {
        let e = app.engine;
        let mut body = fs_domain("guarded");
        body["default_content_guard"] = json!("/pulp/guarded/api/v3/contentguards/core/rbac/x/");
        let (status, err) = app
            .call("POST", "/pulp/default/api/v3/domains/", Some(body))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{e} {err}");
        assert!(
            err["default_content_guard"][0]
                .as_str()
                .unwrap()
                .contains("existing domain")
        );
        let (status, domain) = app
            .call(
                "POST",
                "/pulp/default/api/v3/domains/",
                Some(fs_domain("guarded")),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{e} {domain}");
        assert_eq!(domain["default_content_guard"], Value::Null);
        let domain_href = domain["pulp_href"].as_str().unwrap().to_string();
        let mut guards = Vec::new();
        for root in ["/pulp/guarded/api/v3/", "/pulp/default/api/v3/"] {
            let (status, g) = app
                .call(
                    "POST",
                    &format!("{root}contentguards/core/rbac/"),
                    Some(json!({"name": "g"})),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{e} {g}");
            guards.push(g["pulp_href"].as_str().unwrap().to_string());
        }
        let (ours, default_domains) = (&guards[0], &guards[1]);

        let (status, err) = app
            .call(
                "PATCH",
                &domain_href,
                Some(json!({"default_content_guard": default_domains})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{e} {err}");
        assert_eq!(
            err,
            json!({"default_content_guard": ["The content-guard must belong to this domain."]})
        );
        let (status, accepted) = app
            .call(
                "PATCH",
                &domain_href,
                Some(json!({"default_content_guard": ours})),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{e} {accepted}");
        app.completed(&accepted).await;
        let (_, domain) = app.call("GET", &domain_href, None).await;
        assert_eq!(domain["default_content_guard"], json!(ours), "{e} {domain}");
        assert!(
            domain["default_content_guard_prn"]
                .as_str()
                .unwrap()
                .starts_with("prn:core.rbaccontentguard:")
        );

        let dist = |base_path: &str, guard: Option<&str>| {
            let mut body = json!({"name": base_path, "base_path": base_path});
            if let Some(g) = guard {
                body["content_guard"] = json!(g);
            }
            body
        };
        let mut made = Vec::new();
        for body in [dist("plain", None), dist("own", Some(ours))] {
            let (_, accepted) = app
                .call(
                    "POST",
                    "/pulp/guarded/api/v3/distributions/file/file/",
                    Some(body),
                )
                .await;
            let t = app.completed(&accepted).await;
            let (_, d) = app
                .call("GET", t["created_resources"][0].as_str().unwrap(), None)
                .await;
            made.push(d);
        }
        assert_eq!(made[0]["content_guard"], json!(ours), "{e} {}", made[0]);
        // The default domain has no default guard: its distributions stay open.
        let (_, accepted) = app
            .call(
                "POST",
                "/pulp/default/api/v3/distributions/file/file/",
                Some(dist("open", None)),
            )
            .await;
        let t = app.completed(&accepted).await;
        let (_, open) = app
            .call("GET", t["created_resources"][0].as_str().unwrap(), None)
            .await;
        assert_eq!(open["content_guard"], Value::Null, "{e} {open}");

        let (status, _) = app.call("DELETE", ours, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{e}");
        let (_, domain) = app.call("GET", &domain_href, None).await;
        assert_eq!(domain["default_content_guard"], Value::Null, "{e} {domain}");
    }
}
