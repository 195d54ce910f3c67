//! `users/` and `groups/`, as Pulp serves them: list with filters, create, read, update,
//! delete, the checks Django's user model makes, what a change does to signing in, and who is
//! in which group.

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
        let (status, _) = app
            .call("PATCH", &href, Some(json!({"username": null})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        let (status, _) = app.call("DELETE", &href, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = app.call("GET", &href, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = app.anonymous("GET", "/pulp/api/v3/users/").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        app.close().await;
    }
}

#[tokio::test]
async fn groups_and_their_users() {
    for app in apps().await {
        let (status, g) = app
            .api("POST", "groups/", Some(json!({"name": "ops"})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{g}");
        assert_eq!(g["id"], 1);
        let href = g["pulp_href"].as_str().unwrap().to_string();
        let (status, err) = app
            .api("POST", "groups/", Some(json!({"name": "ops"})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(err["name"], json!(["This field must be unique."]));
        let (status, _) = app.api("POST", "groups/", Some(json!({"name": ""}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        let (_, carol) = app
            .api("POST", "users/", Some(json!({"username": "carol"})))
            .await;
        let users = format!("{href}users/");
        let (status, member) = app
            .call("POST", &users, Some(json!({"username": "carol"})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{member}");
        assert_eq!(member["pulp_href"], carol["pulp_href"]);
        // Twice is no change; an unknown user is a 400.
        app.call("POST", &users, Some(json!({"username": "carol"})))
            .await;
        let (status, err) = app
            .call("POST", &users, Some(json!({"username": "nobody"})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        let (_, page) = app.call("GET", &users, None).await;
        assert_eq!(page["count"], 1);
        assert_eq!(page["results"][0]["username"], "carol");
        let (_, shown) = app
            .call("GET", carol["pulp_href"].as_str().unwrap(), None)
            .await;
        assert_eq!(shown["groups"], json!([{"name": "ops", "pulp_href": href}]));

        let (_, page) = app.api("GET", "groups/?name__icontains=OP", None).await;
        assert_eq!(page["count"], 1);
        let (status, renamed) = app.call("PATCH", &href, Some(json!({"name": "sre"}))).await;
        assert_eq!((status, &renamed["name"]), (StatusCode::OK, &json!("sre")));
        for bad in [json!({"name": null}), json!({"name": ""})] {
            let (status, _) = app.call("PATCH", &href, Some(bad)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST);
        }
        let (status, _) = app.call("PUT", &href, Some(json!({}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "PUT needs a name");

        // pulp-cli takes a user out by `<group>users/<last segment of the user's href>/`.
        let user_id = carol["pulp_href"]
            .as_str()
            .unwrap()
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap();
        let member_href = format!("{users}{user_id}/");
        let (status, _) = app.call("DELETE", &member_href, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = app.call("DELETE", &member_href, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, page) = app.call("GET", &users, None).await;
        assert_eq!(page["count"], 0);

        let (status, _) = app.call("DELETE", &href, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = app.call("GET", &href, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        app.close().await;
    }
}
