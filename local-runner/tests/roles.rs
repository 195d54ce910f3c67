//! `roles/`, `users/<id>/roles/` and `groups/<id>/roles/`, as Pulp serves them: the locked
//! roles core and the plugins define, custom roles and their checks, and roles given for a
//! whole model or one object.

mod common;

use axum::http::StatusCode;
use common::apps;
use depot_core::models::role;
use serde_json::{Value, json};

fn names(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn locked_roles_are_listed_and_cannot_change() {
    for app in apps().await {
        let (status, page) = app
            .api("GET", "roles/?name=file.filerepository_owner", None)
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["count"], 1);
        let owner = &page["results"][0];
        assert_eq!(owner["locked"], true);
        let perms: Vec<&str> = owner["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert_eq!(
            perms,
            [
                "file.change_filerepository",
                "file.delete_filerepository",
                "file.manage_roles_filerepository",
                "file.modify_filerepository",
                "file.repair_filerepository",
                "file.sync_filerepository",
                "file.view_filerepository",
            ]
        );
        let href = owner["pulp_href"].as_str().unwrap();
        let (status, body) = app
            .call("PATCH", href, Some(json!({"description": "mine"})))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["detail"], "The role is locked.");
        let (status, _) = app.call("DELETE", href, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // Every plugin's roles are there, under Pulp's names.
        for name in [
            "core.task_owner",
            "core.rbaccontentguard_downloader",
            "container.containerdistribution_consumer",
            "container.containernamespace_owner",
            "python.pythonrepository_viewer",
            "python.python_package_uploader",
            "file.file_uploader",
        ] {
            let (_, page) = app.api("GET", &format!("roles/?name={name}"), None).await;
            assert_eq!(page["count"], 1, "{name}");
        }

        // Filters: any of several permissions; only one model's permissions.
        let (_, page) = app
            .api(
                "GET",
                "roles/?contains_permission=core.change_task&contains_permission=core.view_taskschedule",
                None,
            )
            .await;
        let found = names(&page);
        assert!(found.contains(&"core.task_owner".to_string()), "{found:?}");
        assert!(found.contains(&"core.taskschedule_viewer".to_string()));
        assert!(!found.contains(&"core.task_viewer".to_string()));
        let (_, page) = app
            .api(
                "GET",
                "roles/?for_object_type=/pulp/api/v3/groups/&locked=true",
                None,
            )
            .await;
        assert_eq!(
            names(&page),
            [
                "core.group_creator",
                "core.group_owner",
                "core.group_viewer"
            ]
        );
        let (status, body) = app
            .api("GET", "roles/?for_object_type=/nowhere/", None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

        // Writing them again at a start changes nothing; a tampered one is put right.
        let (_, before) = app.api("GET", "roles/?limit=1000", None).await;
        sqlx::query("DELETE FROM role_permissions WHERE permission = 'file.sync_filerepository'")
            .execute(app.core.db.pool())
            .await
            .unwrap();
        role::sync_locked(&app.core.db).await.unwrap();
        role::sync_locked(&app.core.db).await.unwrap();
        let (_, after) = app.api("GET", "roles/?limit=1000", None).await;
        assert_eq!(before["count"], after["count"]);
        let owner = after["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "file.filerepository_owner")
            .unwrap();
        assert!(
            owner["permissions"]
                .as_array()
                .unwrap()
                .contains(&json!("file.sync_filerepository"))
        );
        app.close().await;
    }
}

#[tokio::test]
async fn custom_roles() {
    for app in apps().await {
        let (status, made) = app
            .api(
                "POST",
                "roles/",
                Some(json!({"name": "group-helper", "description": "helps", "permissions": ["core.add_group", "core.view_task"]})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        assert_eq!(made["locked"], false);
        assert_eq!(
            made["permissions"],
            json!(["core.add_group", "core.view_task"])
        );
        let href = made["pulp_href"].as_str().unwrap().to_string();

        for (body, key, message) in [
            (
                json!({"name": "group-helper", "permissions": []}),
                "name",
                "This field must be unique.",
            ),
            (
                json!({"name": "x", "permissions": ["view_task"]}),
                "permissions",
                "Permission 'view_task' is not in the format '<app_label>.<codename>'.",
            ),
            (
                json!({"name": "x", "permissions": ["core.fly_task"]}),
                "permissions",
                "Permission 'core.fly_task' does not exist.",
            ),
            (
                json!({"name": "", "permissions": []}),
                "name",
                "This field may not be blank.",
            ),
        ] {
            let (status, err) = app.api("POST", "roles/", Some(body)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
            assert_eq!(err[key][0], message, "{err}");
        }
        let (status, err) = app.api("POST", "roles/", Some(json!({"name": "x"}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        assert!(err.get("permissions").is_some(), "{err}");
        let long = "r".repeat(role::MAX_NAME + 1);
        let (status, _) = app
            .api(
                "POST",
                "roles/",
                Some(json!({"name": long, "permissions": []})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // for_object_type takes the roles with only that model's permissions.
        let (_, page) = app
            .api(
                "GET",
                "roles/?for_object_type=http://localhost/pulp/api/v3/groups/&name=group-helper",
                None,
            )
            .await;
        assert_eq!(page["count"], 0);

        let (status, changed) = app
            .call(
                "PATCH",
                &href,
                Some(json!({"permissions": ["core.add_group"], "description": null})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!(changed["permissions"], json!(["core.add_group"]));
        assert_eq!(changed["description"], Value::Null);
        let (_, page) = app
            .api(
                "GET",
                "roles/?for_object_type=/pulp/api/v3/groups/&name=group-helper",
                None,
            )
            .await;
        assert_eq!(page["count"], 1);
        let (status, body) = app
            .call("PUT", &href, Some(json!({"name": "renamed"})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let (status, body) = app
            .call(
                "PUT",
                &href,
                Some(json!({"name": "renamed", "permissions": []})),
            )
            .await;
        assert_eq!(
            (status, &body["name"], &body["permissions"]),
            (StatusCode::OK, &json!("renamed"), &json!([]))
        );
        let (status, _) = app.call("DELETE", &href, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = app.call("GET", &href, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        app.close().await;
    }
}

#[tokio::test]
async fn roles_given_to_users_and_groups() {
    for app in apps().await {
        let (_, alice) = app
            .api(
                "POST",
                "users/",
                Some(json!({"username": "alice", "password": "correct-horse"})),
            )
            .await;
        let alice_roles = format!("{}roles/", alice["pulp_href"].as_str().unwrap());
        let repo = app
            .api(
                "POST",
                "repositories/file/file/",
                Some(json!({"name": "r1"})),
            )
            .await
            .1;
        let repo_href = repo["pulp_href"].as_str().unwrap().to_string();

        // Model level, then object level (by href and by PRN).
        let (status, model_wide) = app
            .call(
                "POST",
                &alice_roles,
                Some(json!({"role": "file.filerepository_creator", "content_object": null})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{model_wide}");
        assert_eq!(model_wide["content_object"], Value::Null);
        assert_eq!(
            model_wide["permissions"],
            json!(["file.add_filerepository"])
        );
        assert!(
            model_wide["pulp_href"]
                .as_str()
                .unwrap()
                .starts_with(&alice_roles)
        );
        let (status, on_repo) = app
            .call(
                "POST",
                &alice_roles,
                Some(json!({"role": "file.filerepository_viewer", "content_object": repo_href})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{on_repo}");
        assert_eq!(on_repo["content_object"], json!(repo_href));
        assert_eq!(on_repo["content_object_prn"], repo["prn"]);
        let (status, by_prn) = app
            .call(
                "POST",
                &alice_roles,
                Some(
                    json!({"role": "file.filerepository_owner", "content_object_prn": repo["prn"]}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{by_prn}");

        // What Pulp refuses.
        for (body, key, message) in [
            (
                json!({"role": "file.filerepository_viewer", "content_object": repo_href}),
                "non_field_errors",
                "The role is already assigned to this user.".to_string(),
            ),
            (
                json!({"role": "file.filerepository_viewer"}),
                "non_field_errors",
                "Either 'content_object' or 'content_object_prn' needs to be specified. Use 'null' for global or domain level access.".to_string(),
            ),
            (
                json!({"role": "core.task_viewer", "content_object": repo_href}),
                "non_field_errors",
                "The role 'core.task_viewer' does not carry any permission for that object.".to_string(),
            ),
            (
                json!({"role": "no.such_role", "content_object": null}),
                "role",
                "Object with name=no.such_role does not exist.".to_string(),
            ),
            (
                json!({"role": "file.filerepository_viewer", "content_object": "/pulp/api/v3/repositories/file/file/0190a3c2-7d6e-7c1a-9b1e-2f3a4b5c6d7e/"}),
                "content_object",
                "Invalid value: /pulp/api/v3/repositories/file/file/0190a3c2-7d6e-7c1a-9b1e-2f3a4b5c6d7e/.".to_string(),
            ),
            (
                json!({"role": "file.filerepository_viewer", "content_object": "/etc/passwd"}),
                "content_object",
                "Invalid value: /etc/passwd.".to_string(),
            ),
        ] {
            let (status, err) = app.call("POST", &alice_roles, Some(body)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
            assert_eq!(err[key][0], json!(message), "{err}");
        }

        // Lists and filters.
        let (_, page) = app.call("GET", &alice_roles, None).await;
        assert_eq!(page["count"], 3);
        // Newest first.
        assert_eq!(page["results"][0]["role"], "file.filerepository_owner");
        let (_, page) = app
            .call("GET", &format!("{alice_roles}?content_object=null"), None)
            .await;
        assert_eq!(page["count"], 1);
        let (_, page) = app
            .call(
                "GET",
                &format!("{alice_roles}?content_object={repo_href}&role__startswith=file.filerepository_v"),
                None,
            )
            .await;
        assert_eq!(page["count"], 1);
        assert_eq!(page["results"][0]["role"], "file.filerepository_viewer");

        // A group's roles, read and taken back.
        let (_, group) = app
            .api("POST", "groups/", Some(json!({"name": "readers"})))
            .await;
        let group_roles = format!("{}roles/", group["pulp_href"].as_str().unwrap());
        let (status, given) = app
            .call(
                "POST",
                &group_roles,
                Some(json!({"role": "file.filerepository_viewer", "content_object": repo_href})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{given}");
        let given_href = given["pulp_href"].as_str().unwrap().to_string();
        assert!(
            given["prn"]
                .as_str()
                .unwrap()
                .starts_with("prn:core.grouprole:")
        );
        let (status, read) = app.call("GET", &given_href, None).await;
        assert_eq!((status, &read["role"]), (StatusCode::OK, &given["role"]));
        // Another holder's path does not reach it.
        let elsewhere = given_href.replace(
            group["pulp_href"].as_str().unwrap(),
            alice["pulp_href"].as_str().unwrap(),
        );
        let (status, _) = app.call("GET", &elsewhere, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = app.call("DELETE", &given_href, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = app.call("GET", &given_href, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Deleting the repository takes its object roles with it.
        let done = app
            .wait(&app.call("DELETE", &repo_href, None).await.1)
            .await;
        assert_eq!(done["state"], "completed", "{done}");
        let (_, page) = app.call("GET", &alice_roles, None).await;
        assert_eq!(page["count"], 1);
        assert_eq!(page["results"][0]["role"], "file.filerepository_creator");

        // Deleting a custom role takes its assignments with it.
        let (_, custom) = app
            .api(
                "POST",
                "roles/",
                Some(json!({"name": "tasks", "permissions": ["core.view_task"]})),
            )
            .await;
        app.call(
            "POST",
            &alice_roles,
            Some(json!({"role": "tasks", "content_object": null})),
        )
        .await;
        app.call("DELETE", custom["pulp_href"].as_str().unwrap(), None)
            .await;
        let (_, page) = app.call("GET", &alice_roles, None).await;
        assert_eq!(page["count"], 1);
        app.close().await;
    }
}
