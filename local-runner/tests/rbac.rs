//! Role-based access as Pulp's default policies give it (pulp_file's `test_rbac.py`, in
//! process): alice holds a type's viewer role model-wide, bob its creator role, charlie
//! nothing. What a user may not see is not found (404); what they may see but not do is
//! forbidden (403); lists show only what they may see; creators own what they make; a task
//! is seen by whoever dispatched it.

mod common;

use axum::http::StatusCode;
use common::{PASSWORD, TestApp, apps};
use serde_json::{Value, json};

const REPOS: &str = "/pulp/api/v3/repositories/file/file/";

/// Makes user `name` with model-wide `roles`.
async fn user(app: &TestApp, name: &str, roles: &[&str]) {
    let (status, made) = app
        .api(
            "POST",
            "users/",
            Some(json!({"username": name, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    for role in roles {
        let (status, body) = app
            .call(
                "POST",
                &format!("{}roles/", made["pulp_href"].as_str().unwrap()),
                Some(json!({"role": role, "content_object": null})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
}

/// The three users, with `kind`'s (`filerepository`, ...) viewer and creator roles.
async fn alice_bob_charlie(app: &TestApp, kinds: &[&str]) {
    let viewer: Vec<String> = kinds.iter().map(|k| format!("file.{k}_viewer")).collect();
    let creator: Vec<String> = kinds.iter().map(|k| format!("file.{k}_creator")).collect();
    let refs = |v: &[String]| v.iter().map(String::clone).collect::<Vec<_>>();
    let (viewer, creator) = (refs(&viewer), refs(&creator));
    let viewer: Vec<&str> = viewer.iter().map(String::as_str).collect();
    let creator: Vec<&str> = creator.iter().map(String::as_str).collect();
    user(app, "alice", &viewer).await;
    user(app, "bob", &creator).await;
    user(app, "charlie", &[]).await;
}

fn href(v: &Value) -> String {
    v["pulp_href"].as_str().unwrap().to_string()
}

/// Waits for the task of `accepted` as `who` sees it (they must see it) to complete.
async fn completed_as(app: &TestApp, who: &str, accepted: &Value) -> Value {
    let task = accepted["task"].as_str().unwrap().to_string();
    for _ in 0..400 {
        let (status, t) = app.as_user(who, "GET", &task, None).await;
        assert_eq!(status, StatusCode::OK, "{who} cannot see {task}: {t}");
        if ["completed", "failed", "canceled"].contains(&t["state"].as_str().unwrap_or("")) {
            assert_eq!(t["state"], "completed", "{t}");
            return t;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("task {task} did not end");
}

#[tokio::test]
async fn basic_actions_on_repositories() {
    for app in apps().await {
        alice_bob_charlie(&app, &["filerepository"]).await;
        app.api(
            "POST",
            "repositories/file/file/",
            Some(json!({"name": "admins"})),
        )
        .await;
        let count = |page: &Value| page["count"].as_i64().unwrap();
        let (status, a) = app.as_user("alice", "GET", REPOS, None).await;
        assert_eq!(status, StatusCode::OK, "{a}");
        assert!(count(&a) >= 1);
        assert_eq!(count(&app.as_user("bob", "GET", REPOS, None).await.1), 0);
        assert_eq!(
            count(&app.as_user("charlie", "GET", REPOS, None).await.1),
            0
        );

        let body = |name: &str| Some(json!({ "name": name }));
        let (status, _) = app.as_user("alice", "POST", REPOS, body("a")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = app.as_user("charlie", "POST", REPOS, body("c")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, repo) = app.as_user("bob", "POST", REPOS, body("b")).await;
        assert_eq!(status, StatusCode::CREATED, "{repo}");
        let repo = href(&repo);
        // Bob owns what he made, and now sees it in his list.
        assert_eq!(count(&app.as_user("bob", "GET", REPOS, None).await.1), 1);

        for (who, status) in [
            ("alice", StatusCode::OK),
            ("bob", StatusCode::OK),
            ("charlie", StatusCode::NOT_FOUND),
        ] {
            assert_eq!(
                app.as_user(who, "GET", &repo, None).await.0,
                status,
                "{who}"
            );
        }
        let rename = || Some(json!({"name": "b2"}));
        for (who, status) in [
            ("alice", StatusCode::FORBIDDEN),
            ("charlie", StatusCode::NOT_FOUND),
            ("bob", StatusCode::ACCEPTED),
        ] {
            let (got, body) = app.as_user(who, "PATCH", &repo, rename()).await;
            assert_eq!(got, status, "{who}: {body}");
            if got == StatusCode::ACCEPTED {
                // The task is bob's to watch, and no one else's but the admin's.
                completed_as(&app, "bob", &body).await;
                let task = body["task"].as_str().unwrap();
                let (status, _) = app.as_user("charlie", "GET", task, None).await;
                assert_eq!(status, StatusCode::NOT_FOUND);
                let (_, mine) = app.as_user("bob", "GET", "/pulp/api/v3/tasks/", None).await;
                assert!(count(&mine) >= 1);
                let (_, none) = app
                    .as_user("charlie", "GET", "/pulp/api/v3/tasks/", None)
                    .await;
                assert_eq!(count(&none), 0);
            }
        }
        // Versions: their policy asks for the repository's permissions (403, never 404).
        let versions = format!("{repo}versions/");
        assert_eq!(
            app.as_user("charlie", "GET", &versions, None).await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.as_user("bob", "GET", &versions, None).await.0,
            StatusCode::OK
        );
        // Labels are changes: the owner may, a viewer may not, and charlie does not see it.
        let label = format!("{repo}set_label/");
        for (who, status) in [
            ("alice", StatusCode::FORBIDDEN),
            ("charlie", StatusCode::NOT_FOUND),
            ("bob", StatusCode::CREATED),
        ] {
            let body = Some(json!({"key": "team", "value": who}));
            let (got, answer) = app.as_user(who, "POST", &label, body).await;
            assert_eq!(got, status, "{who}: {answer}");
        }
        let (_, seen) = app.call("GET", &repo, None).await;
        assert_eq!(seen["pulp_labels"], json!({"team": "bob"}));
        // Repository actions.
        let modify = format!("{repo}modify/");
        for (who, status) in [
            ("alice", StatusCode::FORBIDDEN),
            ("charlie", StatusCode::NOT_FOUND),
            ("bob", StatusCode::ACCEPTED),
        ] {
            let (got, body) = app.as_user(who, "POST", &modify, Some(json!({}))).await;
            assert_eq!(got, status, "{who}: {body}");
        }
        for (who, status) in [
            ("alice", StatusCode::FORBIDDEN),
            ("charlie", StatusCode::NOT_FOUND),
            ("bob", StatusCode::ACCEPTED),
        ] {
            assert_eq!(
                app.as_user(who, "DELETE", &repo, None).await.0,
                status,
                "{who}"
            );
        }
        app.close().await;
    }
}

#[tokio::test]
async fn object_roles_are_managed_on_the_object() {
    for app in apps().await {
        alice_bob_charlie(&app, &["filerepository"]).await;
        let (_, repo) = app
            .as_user("bob", "POST", REPOS, Some(json!({"name": "bobs"})))
            .await;
        let repo = href(&repo);
        let mine = format!("{repo}my_permissions/");
        let (status, a) = app.as_user("alice", "GET", &mine, None).await;
        assert_eq!((status, &a["permissions"]), (StatusCode::OK, &json!([])));
        let (_, b) = app.as_user("bob", "GET", &mine, None).await;
        assert!(b["permissions"].as_array().unwrap().len() > 1, "{b}");
        assert_eq!(
            app.as_user("charlie", "GET", &mine, None).await.0,
            StatusCode::NOT_FOUND
        );
        let (_, roles) = app
            .as_user("bob", "GET", &format!("{repo}list_roles/"), None)
            .await;
        assert_eq!(
            roles["roles"],
            json!([{"role": "file.filerepository_owner", "users": ["bob"], "groups": []}])
        );

        let nested = || Some(json!({"users": ["charlie"], "role": "file.filerepository_viewer"}));
        let add = format!("{repo}add_role/");
        let remove = format!("{repo}remove_role/");
        assert_eq!(
            app.as_user("alice", "POST", &add, nested()).await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.as_user("charlie", "POST", &add, nested()).await.0,
            StatusCode::NOT_FOUND
        );
        let (status, body) = app.as_user("bob", "POST", &add, nested()).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, body) = app.as_user("bob", "POST", &add, nested()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body["non_field_errors"][0],
            "The role is already assigned to user 'charlie'."
        );
        let (_, c) = app.as_user("charlie", "GET", &mine, None).await;
        assert_eq!(c["permissions"], json!(["file.view_filerepository"]));
        // Charlie now sees it, but may not manage its roles.
        assert_eq!(
            app.as_user("charlie", "GET", &repo, None).await.0,
            StatusCode::OK
        );
        assert_eq!(
            app.as_user("alice", "POST", &remove, nested()).await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.as_user("charlie", "POST", &remove, nested()).await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.as_user("bob", "POST", &remove, nested()).await.0,
            StatusCode::CREATED
        );
        assert_eq!(
            app.as_user("charlie", "GET", &mine, None).await.0,
            StatusCode::NOT_FOUND
        );
        // A role with nothing on this type, or someone unknown, is refused.
        let (status, body) = app
            .as_user(
                "bob",
                "POST",
                &add,
                Some(json!({"users": ["charlie"], "role": "core.task_viewer"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let (status, body) = app
            .as_user(
                "bob",
                "POST",
                &add,
                Some(json!({"users": ["nobody"], "role": "file.filerepository_viewer"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            body["users"][0],
            "Object with username=nobody does not exist."
        );
        // A group's role counts for its members.
        let (_, group) = app
            .api("POST", "groups/", Some(json!({"name": "readers"})))
            .await;
        app.call(
            "POST",
            &format!("{}users/", href(&group)),
            Some(json!({"username": "charlie"})),
        )
        .await;
        let (status, _) = app
            .as_user(
                "bob",
                "POST",
                &add,
                Some(json!({"groups": ["readers"], "role": "file.filerepository_viewer"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(
            app.as_user("charlie", "GET", &repo, None).await.0,
            StatusCode::OK
        );
        let (_, page) = app.as_user("charlie", "GET", REPOS, None).await;
        assert_eq!(page["count"], 1);
        app.close().await;
    }
}

#[tokio::test]
async fn content_is_scoped_to_the_repositories_one_may_see() {
    for app in apps().await {
        alice_bob_charlie(&app, &["filerepository"]).await;
        let (_, repo) = app
            .api(
                "POST",
                "repositories/file/file/",
                Some(json!({"name": "r"})),
            )
            .await;
        let repo = href(&repo);
        let (status, artifact) = app
            .form(
                "POST",
                "/pulp/api/v3/artifacts/",
                &[],
                b"some file bytes",
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{artifact}");
        let artifact = href(&artifact);
        let made = app
            .api(
                "POST",
                "content/file/files/",
                Some(json!({"relative_path": "a.txt", "artifact": artifact, "repository": repo})),
            )
            .await
            .1;
        app.completed(&made).await;

        let files = "/pulp/api/v3/content/file/files/";
        let count = |v: Value| v["count"].as_i64().unwrap();
        assert_eq!(count(app.as_user("alice", "GET", files, None).await.1), 1);
        assert_eq!(count(app.as_user("bob", "GET", files, None).await.1), 0);
        assert_eq!(count(app.as_user("charlie", "GET", files, None).await.1), 0);
        let (_, page) = app.api("GET", "content/file/files/", None).await;
        let unit = page["results"][0]["pulp_href"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            app.as_user("charlie", "GET", &unit, None).await.0,
            StatusCode::NOT_FOUND
        );
        app.call(
            "POST",
            &format!("{repo}add_role/"),
            Some(json!({"users": ["charlie"], "role": "file.filerepository_viewer"})),
        )
        .await;
        assert_eq!(count(app.as_user("charlie", "GET", files, None).await.1), 1);
        assert_eq!(
            app.as_user("charlie", "GET", &unit, None).await.0,
            StatusCode::OK
        );

        // Creating content needs a repository one may modify.
        let body = |repository: Option<&str>| {
            let mut b = json!({"relative_path": "b.txt", "artifact": artifact});
            if let Some(r) = repository {
                b["repository"] = json!(r);
            }
            Some(b)
        };
        let (status, err) = app.as_user("alice", "POST", files, body(None)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        assert_eq!(
            err["non_field_errors"][0],
            "Destination upload repository was not provided."
        );
        assert_eq!(
            app.as_user("bob", "POST", files, body(Some(&repo))).await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.as_user("charlie", "POST", files, body(Some(&repo)))
                .await
                .0,
            StatusCode::FORBIDDEN
        );
        app.call(
            "POST",
            &format!("{repo}add_role/"),
            Some(json!({"users": ["charlie"], "role": "file.filerepository_owner"})),
        )
        .await;
        let (status, accepted) = app
            .as_user("charlie", "POST", files, body(Some(&repo)))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
        completed_as(&app, "charlie", &accepted).await;
        assert_eq!(count(app.as_user("charlie", "GET", files, None).await.1), 2);
        app.close().await;
    }
}

#[tokio::test]
async fn referenced_objects_need_their_own_permissions() {
    for app in apps().await {
        alice_bob_charlie(&app, &["filerepository", "filedistribution"]).await;
        let (_, remote) = app
            .api(
                "POST",
                "remotes/file/file/",
                Some(json!({"name": "up", "url": "http://127.0.0.1:1/PULP_MANIFEST"})),
            )
            .await;
        let remote = href(&remote);
        // Bob may make repositories, but not name a remote he cannot see.
        let (status, _) = app
            .as_user(
                "bob",
                "POST",
                REPOS,
                Some(json!({"name": "r", "remote": remote})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, repo) = app
            .as_user("bob", "POST", REPOS, Some(json!({"name": "r"})))
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let repo = href(&repo);
        let (status, _) = app
            .as_user(
                "bob",
                "POST",
                &format!("{repo}sync/"),
                Some(json!({"remote": remote})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // A distribution of his own repository: made by a task, owned by him.
        let dists = "/pulp/api/v3/distributions/file/file/";
        let (status, accepted) = app
            .as_user(
                "bob",
                "POST",
                dists,
                Some(json!({"name": "d", "base_path": "d", "repository": repo})),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
        let task = completed_as(&app, "bob", &accepted).await;
        let dist = task["created_resources"][0].as_str().unwrap().to_string();
        assert_eq!(
            app.as_user("bob", "GET", &dist, None).await.0,
            StatusCode::OK
        );
        assert_eq!(
            app.as_user("charlie", "GET", &dist, None).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.as_user("alice", "GET", &dist, None).await.0,
            StatusCode::OK
        );
        // Not of someone else's repository.
        let (_, theirs) = app
            .api(
                "POST",
                "repositories/file/file/",
                Some(json!({"name": "theirs"})),
            )
            .await;
        let (status, _) = app
            .as_user(
                "bob",
                "POST",
                dists,
                Some(json!({"name": "e", "base_path": "e", "repository": href(&theirs)})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        app.close().await;
    }
}

#[tokio::test]
async fn groups_follow_their_own_roles() {
    for app in apps().await {
        user(&app, "gina", &["core.group_creator"]).await;
        user(&app, "hal", &[]).await;
        let groups = "/pulp/api/v3/groups/";
        let (status, _) = app
            .as_user("hal", "POST", groups, Some(json!({"name": "hals"})))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, made) = app
            .as_user("gina", "POST", groups, Some(json!({"name": "ginas"})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        let group = href(&made);
        let (_, mine) = app
            .as_user("gina", "GET", &format!("{group}my_permissions/"), None)
            .await;
        assert_eq!(
            mine["permissions"],
            json!([
                "core.change_group",
                "core.delete_group",
                "core.manage_roles_group",
                "core.view_group"
            ])
        );
        // Hal sees neither the group nor its members, and cannot join himself.
        assert_eq!(
            app.as_user("hal", "GET", &group, None).await.0,
            StatusCode::NOT_FOUND
        );
        let (_, page) = app.as_user("hal", "GET", groups, None).await;
        assert_eq!(page["count"], 0);
        let members = format!("{group}users/");
        assert_eq!(
            app.as_user("hal", "GET", &members, None).await.0,
            StatusCode::FORBIDDEN
        );
        let join = || Some(json!({"username": "hal"}));
        assert_eq!(
            app.as_user("hal", "POST", &members, join()).await.0,
            StatusCode::FORBIDDEN
        );
        // Gina, its owner, puts him in; the list filters find it by href.
        let (status, body) = app.as_user("gina", "POST", &members, join()).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (_, page) = app
            .as_user(
                "gina",
                "GET",
                &format!("{groups}?pulp_href__in={group}"),
                None,
            )
            .await;
        assert_eq!(page["count"], 1, "{page}");
        // Given the viewer role on the group, Hal sees it, but may not rename it.
        let (status, _) = app
            .as_user(
                "gina",
                "POST",
                &format!("{group}add_role/"),
                Some(json!({"users": ["hal"], "role": "core.group_viewer"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(
            app.as_user("hal", "GET", &group, None).await.0,
            StatusCode::OK
        );
        assert_eq!(
            app.as_user("hal", "GET", &members, None).await.0,
            StatusCode::OK
        );
        let (status, _) = app
            .as_user("hal", "PATCH", &group, Some(json!({"name": "mine"})))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(
            app.as_user("gina", "DELETE", &group, None).await.0,
            StatusCode::NO_CONTENT
        );
        app.close().await;
    }
}

#[tokio::test]
async fn uploads_belong_to_whoever_started_them() {
    for app in apps().await {
        user(&app, "uma", &["core.upload_creator"]).await;
        user(&app, "vic", &[]).await;
        let uploads = "/pulp/api/v3/uploads/";
        let size = || Some(json!({"size": 4}));
        assert_eq!(
            app.as_user("vic", "POST", uploads, size()).await.0,
            StatusCode::FORBIDDEN
        );
        let (status, made) = app.as_user("uma", "POST", uploads, size()).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        let upload = href(&made);
        assert_eq!(
            app.as_user("uma", "GET", &upload, None).await.0,
            StatusCode::OK
        );
        assert_eq!(
            app.as_user("vic", "GET", &upload, None).await.0,
            StatusCode::NOT_FOUND
        );
        let (_, page) = app.as_user("uma", "GET", uploads, None).await;
        assert_eq!(page["count"], 1);
        let (_, page) = app.as_user("vic", "GET", uploads, None).await;
        assert_eq!(page["count"], 0);
        // Vic cannot commit or remove it; Uma can.
        let commit = Some(json!({"sha256": "0".repeat(64)}));
        let (status, _) = app
            .as_user("vic", "POST", &format!("{upload}commit/"), commit)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            app.as_user("vic", "DELETE", &upload, None).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.as_user("uma", "DELETE", &upload, None).await.0,
            StatusCode::NO_CONTENT
        );
        app.close().await;
    }
}

/// `content/file/files/upload/` stores a file as content at once: Pulp's `file.file_uploader`
/// role (`file.upload_files`) may, a user without it may not.
#[tokio::test]
async fn uploading_content_needs_the_uploader_role() {
    use base64::Engine;
    for app in apps().await {
        user(&app, "uploader", &["file.file_uploader"]).await;
        user(&app, "charlie", &[]).await;
        const BOUNDARY: &str = "b-o-u-n-d";
        let body = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"relative_path\"\r\n\r\nu.txt\r\n\
             --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"u\"\r\n\r\n\
             uploaded\n\r\n--{BOUNDARY}--\r\n"
        );
        let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
        for (who, status) in [
            ("charlie", StatusCode::FORBIDDEN),
            ("uploader", StatusCode::CREATED),
        ] {
            let auth = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{who}:{PASSWORD}"))
            );
            let (got, _, answer) = app
                .raw_with(
                    "POST",
                    "/pulp/api/v3/content/file/files/upload/",
                    &[("authorization", &auth), ("content-type", &content_type)],
                    body.clone().into_bytes(),
                )
                .await;
            assert_eq!(
                got,
                status,
                "{} {who}: {}",
                app.engine,
                String::from_utf8_lossy(&answer)
            );
        }
        app.close().await;
    }
}

/// Content created with labels into a repository takes `core.manage_content_labels` (the
/// `core.content_labeler` role) besides the repository's permission: Pulp's 400 otherwise.
#[tokio::test]
async fn labeled_content_needs_the_labeler_role() {
    for app in apps().await {
        let engine = app.engine;
        user(&app, "owner", &["file.filerepository_creator"]).await;
        user(
            &app,
            "labeler",
            &["file.filerepository_creator", "core.content_labeler"],
        )
        .await;
        let (_, a) = app
            .form(
                "POST",
                "/pulp/api/v3/artifacts/",
                &[],
                b"labeled bytes",
                &[],
            )
            .await;
        for (who, expected) in [
            ("owner", StatusCode::BAD_REQUEST),
            ("labeler", StatusCode::ACCEPTED),
        ] {
            let (status, repo) = app
                .as_user(
                    who,
                    "POST",
                    REPOS,
                    Some(json!({"name": format!("{who}-repo")})),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{engine} {repo}");
            let body = json!({"relative_path": "l.txt", "artifact": a["pulp_href"],
                              "repository": href(&repo), "pulp_labels": {"k": "v"}});
            let (status, answer) = app
                .as_user(who, "POST", "/pulp/api/v3/content/file/files/", Some(body))
                .await;
            assert_eq!(status, expected, "{engine} {who} {answer}");
            if expected == StatusCode::BAD_REQUEST {
                assert!(
                    answer.to_string().contains("core.manage_content_labels"),
                    "{answer}"
                );
                // Without labels the same upload is theirs to make.
                let body = json!({"relative_path": "l.txt", "artifact": a["pulp_href"],
                                  "repository": href(&repo)});
                let (status, answer) = app
                    .as_user(who, "POST", "/pulp/api/v3/content/file/files/", Some(body))
                    .await;
                assert_eq!(status, StatusCode::ACCEPTED, "{engine} {answer}");
            }
        }
        app.close().await;
    }
}

/// Pulp's generic lists (`repositories/`, `remotes/`, `content/`) hold every type, each row as
/// its type shows it, and only what the caller may see.
#[tokio::test]
async fn generic_lists_hold_every_type_the_caller_may_see() {
    for app in apps().await {
        let engine = app.engine;
        user(&app, "viewer", &[]).await;
        let (_, file_repo) = app.call("POST", REPOS, Some(json!({"name": "f"}))).await;
        let (_, py_repo) = app
            .api(
                "POST",
                "repositories/python/python/",
                Some(json!({"name": "p"})),
            )
            .await;
        for (kind, url) in [
            ("file/file", "http://example.com/M"),
            ("python/python", "http://example.com/"),
        ] {
            let (status, r) = app
                .api(
                    "POST",
                    &format!("remotes/{kind}/"),
                    Some(json!({"name": kind, "url": url})),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{engine} {r}");
        }
        let (_, a) = app
            .form("POST", "/pulp/api/v3/artifacts/", &[], b"generic", &[])
            .await;
        let body = json!({"relative_path": "g.txt", "artifact": a["pulp_href"], "repository": href(&file_repo)});
        let (_, accepted) = app.api("POST", "content/file/files/", Some(body)).await;
        let t = app.completed(&accepted).await;
        let unit = t["created_resources"][1].as_str().unwrap().to_string();

        let (_, page) = app.api("GET", "repositories/?ordering=name", None).await;
        assert_eq!(page["count"], 2, "{engine} {page}");
        assert_eq!(page["results"][0]["pulp_href"], file_repo["pulp_href"]);
        assert_eq!(page["results"][1]["pulp_href"], py_repo["pulp_href"]);
        assert_eq!(page["results"][1]["name"], "p");
        let (_, page) = app
            .api("GET", "repositories/?pulp_type__in=python.python", None)
            .await;
        assert_eq!(page["count"], 1, "{engine} {page}");
        let (_, page) = app.api("GET", "remotes/", None).await;
        assert_eq!(page["count"], 2, "{engine} {page}");
        let (_, accepted) = app
            .api(
                "POST",
                "publications/file/file/",
                Some(json!({"repository": href(&file_repo)})),
            )
            .await;
        let publication = app.completed(&accepted).await["created_resources"][0].clone();
        app.create_by_task(
            "distributions/python/pypi/",
            json!({"name": "pypi", "base_path": "pypi", "repository": href(&py_repo)}),
        )
        .await;
        let (_, page) = app.api("GET", "publications/", None).await;
        assert_eq!(page["count"], 1, "{engine} {page}");
        assert_eq!(page["results"][0]["pulp_href"], publication);
        let (_, page) = app.api("GET", "distributions/", None).await;
        assert_eq!(page["count"], 1, "{engine} {page}");
        assert_eq!(page["results"][0]["base_path"], "pypi");
        let (_, page) = app
            .api(
                "GET",
                &format!(
                    "content/?repository_version={}versions/1/",
                    href(&file_repo)
                ),
                None,
            )
            .await;
        assert_eq!(page["count"], 1, "{engine} {page}");
        assert_eq!(page["results"][0]["pulp_href"], unit.as_str());
        assert_eq!(
            page["results"][0]["artifacts"],
            json!({"g.txt": a["pulp_href"]})
        );

        // A user with no role sees none of it; a role on one repository shows that one and
        // its content.
        for path in [
            "repositories/",
            "remotes/",
            "content/",
            "publications/",
            "distributions/",
        ] {
            let (status, page) = app
                .as_user("viewer", "GET", &format!("/pulp/api/v3/{path}"), None)
                .await;
            assert_eq!(
                (status, page["count"].as_i64()),
                (StatusCode::OK, Some(0)),
                "{engine} {path} {page}"
            );
        }
        let (status, body) = app
            .call(
                "POST",
                &format!("{}roles/", app.api("GET", "users/?username=viewer", None).await.1["results"][0]["pulp_href"].as_str().unwrap()),
                Some(json!({"role": "file.filerepository_viewer", "content_object": href(&file_repo)})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{engine} {body}");
        let (_, page) = app
            .as_user("viewer", "GET", "/pulp/api/v3/repositories/", None)
            .await;
        assert_eq!(page["count"], 1, "{engine} {page}");
        assert_eq!(page["results"][0]["pulp_href"], file_repo["pulp_href"]);
        let (_, page) = app
            .as_user("viewer", "GET", "/pulp/api/v3/content/", None)
            .await;
        assert_eq!(page["count"], 1, "{engine} {page}");
        app.close().await;
    }
}

/// Role changes while other requests write (on SQLite, one writer at a time) wait for the
/// write lock rather than fail: no 5xx (`TestApp::call` fails on one), each change applied.
#[tokio::test]
async fn role_changes_wait_for_concurrent_writes() {
    for app in apps().await {
        user(&app, "dana", &[]).await;
        let (_, repo) = app
            .api(
                "POST",
                "repositories/file/file/",
                Some(json!({"name": "busy"})),
            )
            .await;
        let repo = repo["pulp_href"].as_str().unwrap().to_string();
        let body = || Some(json!({"users": ["dana"], "role": "file.filerepository_viewer"}));
        let (add, remove) = (format!("{repo}add_role/"), format!("{repo}remove_role/"));
        let shared = &app;
        let writes = futures_util::future::join_all((0..12).map(|i| {
            let body = json!({"name": format!("busy-{i}")});
            async move {
                shared
                    .api("POST", "repositories/file/file/", Some(body))
                    .await
            }
        }));
        let roles = async {
            let mut statuses = Vec::new();
            for _ in 0..6 {
                statuses.push(app.call("POST", &add, body()).await.0);
                statuses.push(app.call("POST", &remove, body()).await.0);
            }
            statuses
        };
        let (made, statuses) = tokio::join!(writes, roles);
        assert!(made.iter().all(|(s, _)| *s == StatusCode::CREATED));
        assert!(
            statuses.iter().all(|s| *s == StatusCode::CREATED),
            "{statuses:?}"
        );
        app.close().await;
    }
}

/// How many tasks a purge task deleted, by its report (the total counts their progress
/// reports too, as Pulp's does).
fn purged(task: &Value) -> i64 {
    let reports = task["progress_reports"].as_array().unwrap();
    let done = |code: &str| {
        let r = reports.iter().find(|r| r["code"] == code).unwrap();
        r["done"].as_i64().unwrap()
    };
    let tasks = done("purge.tasks.key.core.Task");
    assert_eq!(
        done("purge.tasks.total"),
        tasks + done("purge.tasks.key.core.ProgressReport")
    );
    tasks
}

/// Pulp's `test_purge_with_different_users`, and the purge's own rules: a user's purge takes
/// only the ended tasks they may delete; an admin's takes any; states and times narrow it;
/// tasks that have not ended never go; bad requests are refused before anything runs.
#[tokio::test]
async fn a_purge_takes_only_the_tasks_the_user_may_delete() {
    for app in apps().await {
        let tomorrow = depot_core::time::format_system_time(
            std::time::SystemTime::now() + std::time::Duration::from_secs(86_400),
        );
        let all_final = json!(["completed", "failed", "canceled", "skipped"]);
        let mine = app.file_repository("admins").await;
        let modify = json!({"add_content_units": []});
        let (_, accepted) = app
            .call("POST", &format!("{mine}modify/"), Some(modify.clone()))
            .await;
        let admin_task = app.completed(&accepted).await;
        user(&app, "bob", &["file.filerepository_creator"]).await;
        let (status, bobs) = app
            .as_user("bob", "POST", REPOS, Some(json!({"name": "bobs"})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{bobs}");
        let bobs_modify = format!("{}modify/", href(&bobs));
        let (_, accepted) = app
            .as_user("bob", "POST", &bobs_modify, Some(modify.clone()))
            .await;
        let bob_task = completed_as(&app, "bob", &accepted).await;

        // Refused: states that are not final, junk times, unknown fields.
        for bad in [
            json!({"states": ["running"]}),
            json!({"states": ["BAD STATE"]}),
            json!({"finished_before": "THISISNOTADATE"}),
            json!({"finished_after": "2020-01-01"}),
        ] {
            let (status, body) = app.api("POST", "tasks/purge/", Some(bad.clone())).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad} {body}");
        }

        // Bob's purge takes his task, not admin's.
        let body = json!({"finished_before": tomorrow, "states": all_final});
        let (status, accepted) = app
            .as_user(
                "bob",
                "POST",
                "/pulp/api/v3/tasks/purge/",
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
        let bobs_purge = completed_as(&app, "bob", &accepted).await;
        assert_eq!(purged(&bobs_purge), 1, "{bobs_purge}");
        let (status, _) = app.call("GET", &href(&bob_task), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = app.call("GET", &href(&admin_task), None).await;
        assert_eq!(status, StatusCode::OK);

        // The defaults (completed, a month ago) and a state nothing is in take nothing.
        for narrow in [
            json!({}),
            json!({"finished_before": tomorrow, "states": ["failed"]}),
        ] {
            let (_, accepted) = app.api("POST", "tasks/purge/", Some(narrow)).await;
            let t = app.completed(&accepted).await;
            assert_eq!(purged(&t), 0, "{t}");
        }
        // Admin's takes every ended task; the purge running is not one.
        let (_, accepted) = app.api("POST", "tasks/purge/", Some(body)).await;
        let last = app.completed(&accepted).await;
        assert_eq!(purged(&last), 4, "{last}");
        let (_, left) = app.api("GET", "tasks/", None).await;
        assert_eq!(left["count"], 1, "{left}");
        assert_eq!(left["results"][0]["pulp_href"], last["pulp_href"]);
        app.close().await;
    }
}
