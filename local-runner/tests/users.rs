//! `users/`, as Pulp serves it: list with filters, create, read, update, delete, the checks
//! Django's user model makes, and what a change does to signing in.

mod common;

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::apps;
use serde_json::{Value, json};

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

fn names(page: &Value) -> Vec<&str> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn users_resource() {
    for app in apps().await {
        let (status, page) = app.api("GET", "users/", None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let admin = &page["results"][0];
        assert_eq!(admin["username"], "admin");
        assert_eq!(admin["id"], 1);
        assert_eq!(admin["is_staff"], true);
        assert_eq!(
            admin["hidden_fields"],
            json!([{"name": "password", "is_set": true}])
        );

        let (status, bob) = app
            .api(
                "POST",
                "users/",
                Some(json!({"username": "bob", "password": "correct-horse", "email": "bob@example.com", "first_name": "Bob"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{bob}");
        assert_eq!(bob["id"], 2);
        assert_eq!(bob["is_active"], true);
        assert_eq!(bob["groups"], json!([]));
        assert!(bob.get("password").is_none());
        let href = bob["pulp_href"].as_str().unwrap().to_string();
        assert!(href.starts_with("/pulp/api/v3/users/"));
        let (status, read) = app.call("GET", &href, None).await;
        assert_eq!(
            (status, &read["email"]),
            (StatusCode::OK, &json!("bob@example.com"))
        );

        // Bob signs in with his password, and may do nothing yet (no roles).
        let bob_auth = basic("bob", "correct-horse");
        let (status, _) = app
            .with_headers(
                "GET",
                "/pulp/api/v3/users/",
                &[("authorization", &bob_auth)],
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // What Django's user model refuses.
        for (body, key) in [
            (json!({"username": "bob"}), "username"),
            (json!({"username": "b ob"}), "username"),
            (
                json!({"username": "carol", "password": "123"}),
                "non_field_errors",
            ),
            (json!({"username": "carol", "email": "carol"}), "email"),
            (json!({"username": "carol", "nonsense": 1}), "nonsense"),
            (json!({"password": "correct-horse"}), "username"),
        ] {
            let (status, err) = app.api("POST", "users/", Some(body.clone())).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {err}");
            assert!(err.get(key).is_some(), "{body} -> {err}");
        }

        // Filters and ordering.
        let (_, page) = app.api("GET", "users/?username=bob", None).await;
        assert_eq!(names(&page), ["bob"]);
        let (_, page) = app.api("GET", "users/?username__icontains=O", None).await;
        assert_eq!(names(&page), ["bob"]);
        let (_, page) = app.api("GET", "users/?is_staff=true", None).await;
        assert_eq!(names(&page), ["admin"]);
        let (_, page) = app.api("GET", "users/?ordering=username", None).await;
        assert_eq!(names(&page), ["admin", "bob"]);
        let (_, page) = app.api("GET", "users/", None).await;
        assert_eq!(names(&page), ["bob", "admin"], "newest first");

        // Deactivated, he cannot sign in; with no password, he has none.
        let (status, after) = app
            .call(
                "PATCH",
                &href,
                Some(json!({"is_active": false, "last_name": "B"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{after}");
        assert_eq!(
            (&after["is_active"], &after["last_name"]),
            (&json!(false), &json!("B"))
        );
        let (status, body) = app
            .with_headers(
                "GET",
                "/pulp/api/v3/users/",
                &[("authorization", &bob_auth)],
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        let (_, after) = app
            .call("PATCH", &href, Some(json!({"password": null})))
            .await;
        assert_eq!(after["hidden_fields"][0]["is_set"], false);
        let (status, _) = app
            .call("PATCH", &href, Some(json!({"username": "admin"})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = app
            .call("PUT", &href, Some(json!({"email": "x@y.z"})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "PUT needs a username");

        let (status, _) = app.call("DELETE", &href, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = app.call("GET", &href, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = app.anonymous("GET", "/pulp/api/v3/users/").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        app.close().await;
    }
}
