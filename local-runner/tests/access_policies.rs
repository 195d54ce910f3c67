//! `access_policies/`: the default policy of each viewset, as stored and served, and what
//! changing one does at once to who may do what; `reset/` puts the default back.

mod common;

use axum::http::StatusCode;
use common::{PASSWORD, TestApp, apps};
use serde_json::{Value, json};

const REPOS: &str = "/pulp/api/v3/repositories/file/file/";

async fn policy(app: &TestApp, viewset: &str) -> Value {
    let (status, page) = app
        .api(
            "GET",
            &format!("access_policies/?viewset_name={viewset}"),
            None,
        )
        .await;
    assert_eq!(
        (status, &page["count"]),
        (StatusCode::OK, &json!(1)),
        "{page}"
    );
    page["results"][0].clone()
}

async fn user(app: &TestApp, name: &str, role: Option<&str>) {
    let (_, made) = app
        .api(
            "POST",
            "users/",
            Some(json!({"username": name, "password": PASSWORD})),
        )
        .await;
    if let Some(role) = role {
        let roles = format!("{}roles/", made["pulp_href"].as_str().unwrap());
        let (status, _) = app
            .call(
                "POST",
                &roles,
                Some(json!({"role": role, "content_object": null})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
}

#[tokio::test]
async fn policies_are_served_changed_and_reset() {
    for app in apps().await {
        let tasks = policy(&app, "tasks").await;
        assert_eq!(tasks["customized"], false);
        assert_eq!(
            tasks["creation_hooks"],
            json!([{"function": "add_roles_for_object_creator", "parameters": {"roles": "core.task_owner"}}])
        );
        assert_eq!(tasks["permissions_assignment"], tasks["creation_hooks"]);
        let repos = policy(&app, "repositories/file/file").await;
        assert_eq!(
            repos["queryset_scoping"],
            json!({"function": "scope_queryset"})
        );
        let href = repos["pulp_href"].as_str().unwrap().to_string();
        for viewset in [
            "repositories/file/file/versions",
            "remotes/python/python",
            "distributions/container/container",
            "publications/file/file",
            "content/file/files",
        ] {
            policy(&app, viewset).await;
        }

        user(&app, "bob", Some("file.filerepository_creator")).await;
        user(&app, "carol", None).await;
        app.api(
            "POST",
            "repositories/file/file/",
            Some(json!({"name": "admins"})),
        )
        .await;

        // Read-only fields are taken and ignored; nothing changes.
        let (status, same) = app
            .call(
                "PATCH",
                &href,
                Some(json!({"customized": true, "viewset_name": "elsewhere"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{same}");
        assert_eq!(
            (&same["customized"], &same["viewset_name"]),
            (&json!(false), &json!("repositories/file/file"))
        );

        // Lists only for those who may view repositories model-wide.
        let statements = json!([
            {"action": ["list"], "principal": "authenticated", "effect": "allow",
             "condition": "has_model_perms:file.view_filerepository"},
            {"action": ["create"], "principal": "authenticated", "effect": "allow",
             "condition": "has_model_or_domain_perms:file.add_filerepository"},
            {"action": ["retrieve"], "principal": "authenticated", "effect": "allow",
             "condition": "has_model_or_domain_or_obj_perms:file.view_filerepository"},
        ]);
        let (status, changed) = app
            .call("PATCH", &href, Some(json!({"statements": statements})))
            .await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!(changed["customized"], true);
        assert_eq!(changed["statements"], statements);
        assert_eq!(
            app.as_user("carol", "GET", REPOS, None).await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(app.call("GET", REPOS, None).await.0, StatusCode::OK);

        // No creation hooks: bob makes a repository he then cannot see.
        app.call("PATCH", &href, Some(json!({"creation_hooks": []})))
            .await;
        let (status, repo) = app
            .as_user("bob", "POST", REPOS, Some(json!({"name": "bobs"})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{repo}");
        let repo = repo["pulp_href"].as_str().unwrap().to_string();
        assert_eq!(
            app.as_user("bob", "GET", &repo, None).await.0,
            StatusCode::NOT_FOUND
        );

        // A deny wins over every allow, even for the admin.
        let deny = json!([
            {"action": "*", "principal": "authenticated", "effect": "allow"},
            {"action": ["destroy"], "principal": "*", "effect": "deny"},
        ]);
        app.call("PATCH", &href, Some(json!({"statements": deny})))
            .await;
        assert_eq!(
            app.call("DELETE", &repo, None).await.0,
            StatusCode::FORBIDDEN
        );

        // A group as the principal: only its members may list.
        let by_group = json!([
            {"action": ["list"], "principal": "group:listers", "effect": "allow"},
        ]);
        app.call("PATCH", &href, Some(json!({"statements": by_group})))
            .await;
        assert_eq!(
            app.as_user("carol", "GET", REPOS, None).await.0,
            StatusCode::FORBIDDEN
        );
        let (_, listers) = app
            .api("POST", "groups/", Some(json!({"name": "listers"})))
            .await;
        app.call(
            "POST",
            &format!("{}users/", listers["pulp_href"].as_str().unwrap()),
            Some(json!({"username": "carol"})),
        )
        .await;
        assert_eq!(
            app.as_user("carol", "GET", REPOS, None).await.0,
            StatusCode::OK
        );
        app.call("PATCH", &href, Some(json!({"statements": deny})))
            .await;

        // Blank scoping: lists show every row to whoever may list.
        app.call("PATCH", &href, Some(json!({"queryset_scoping": {}})))
            .await;
        let (_, page) = app.as_user("carol", "GET", REPOS, None).await;
        assert_eq!(page["count"], 2, "{page}");

        // Bad policies are refused, whole.
        for bad in [
            json!({"statements": [{"action": "list", "effect": "allow"}]}),
            json!({"statements": [{"action": "list", "principal": "*", "effect": "maybe"}]}),
            json!({"statements": ["allow everything"]}),
            json!({"statements": [], "creation_hooks": [1], "permissions_assignment": [2]}),
        ] {
            let (status, err) = app.call("PATCH", &href, Some(bad)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        }
        let too_many: Vec<Value> = (0..101)
            .map(|_| json!({"action": "list", "principal": "*", "effect": "allow"}))
            .collect();
        let (status, _) = app
            .call("PATCH", &href, Some(json!({"statements": too_many})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // Reset: the default again, and its effects.
        let (status, back) = app.call("POST", &format!("{href}reset/"), None).await;
        assert_eq!(status, StatusCode::OK, "{back}");
        assert_eq!(back["customized"], false);
        assert_eq!(back["statements"], repos["statements"]);
        let (_, page) = app.as_user("carol", "GET", REPOS, None).await;
        assert_eq!(page["count"], 0);
        assert_eq!(
            app.call("DELETE", &repo, None).await.0,
            StatusCode::ACCEPTED
        );

        // Not made or removed by clients; only superusers see them.
        assert_eq!(
            app.api("POST", "access_policies/", Some(json!({}))).await.0,
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            app.call("DELETE", &href, None).await.0,
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            app.as_user("carol", "GET", "/pulp/api/v3/access_policies/", None)
                .await
                .0,
            StatusCode::FORBIDDEN
        );
        app.close().await;
    }
}
