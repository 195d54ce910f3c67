//! `login/`: who is signed in, sessions (cookies, CSRF on writes, logout, expiry of the old
//! ones with a password change) and the changes users make to themselves.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{PASSWORD, TestApp, apps};
use serde_json::{Value, json};
use tower::ServiceExt;

const LOGIN: &str = "/pulp/api/v3/login/";

/// Sends a request with `headers` and `body`; the status, the `Set-Cookie` values and JSON.
async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (StatusCode, Vec<String>, Value) {
    let mut req = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    assert!(!status.is_server_error(), "{method} {path} -> {status}");
    let cookies = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        cookies,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

/// The value cookie `name` is set to.
fn cookie<'a>(set: &'a [String], name: &str) -> &'a str {
    set.iter()
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .map(|rest| rest.split(';').next().unwrap())
        .unwrap_or_else(|| panic!("no {name} in {set:?}"))
}

#[tokio::test]
async fn sessions_sign_in_and_writes_need_the_csrf_token() {
    for app in apps().await {
        let (_, made) = app
            .api(
                "POST",
                "users/",
                Some(json!({"username": "sam", "password": PASSWORD})),
            )
            .await;
        let sam = basic("sam", PASSWORD);
        // Anonymous: no one to show or to make a session for.
        assert_eq!(
            send(&app, "GET", LOGIN, &[], None).await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            send(&app, "POST", LOGIN, &[], None).await.0,
            StatusCode::UNAUTHORIZED
        );
        let (status, _, me) = send(&app, "GET", LOGIN, &[("authorization", &sam)], None).await;
        assert_eq!((status, &me["username"]), (StatusCode::OK, &json!("sam")));
        assert_eq!(me["pulp_href"], made["pulp_href"]);

        let (status, set, me) = send(&app, "POST", LOGIN, &[("authorization", &sam)], None).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(me["username"], "sam");
        let (session, csrf) = (cookie(&set, "sessionid"), cookie(&set, "csrftoken"));
        assert_eq!(session.len(), 64);
        assert!(
            set.iter()
                .any(|c| c.starts_with("sessionid=") && c.contains("HttpOnly"))
        );
        let jar = format!("sessionid={session}; csrftoken={csrf}");

        // The cookie signs in; the table holds no key one could sign in with.
        let (status, _, me) = send(&app, "GET", LOGIN, &[("cookie", &jar)], None).await;
        assert_eq!((status, &me["username"]), (StatusCode::OK, &json!("sam")));
        let stored: Vec<String> = sqlx::query_scalar("SELECT id FROM sessions")
            .fetch_all(app.core.db.pool())
            .await
            .unwrap();
        assert_eq!(stored.len(), 1);
        assert_ne!(stored[0], session);

        // Writes with it need the token.
        let body = || Some(json!({"first_name": "Sam"}));
        let (status, _, err) = send(&app, "PATCH", LOGIN, &[("cookie", &jar)], body()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(err["detail"], "CSRF Failed: CSRF token missing.");
        let wrong = [("cookie", jar.as_str()), ("x-csrftoken", "0123")];
        assert_eq!(
            send(&app, "PATCH", LOGIN, &wrong, body()).await.0,
            StatusCode::FORBIDDEN
        );
        let right = [("cookie", jar.as_str()), ("x-csrftoken", csrf)];
        let (status, _, changed) = send(&app, "PATCH", LOGIN, &right, body()).await;
        assert_eq!(
            (status, &changed["first_name"]),
            (StatusCode::OK, &json!("Sam"))
        );

        // Made-up or altered keys are nobody.
        for bad in ["sessionid=abc", &format!("sessionid={}", "0".repeat(64))] {
            assert_eq!(
                send(&app, "GET", LOGIN, &[("cookie", bad)], None).await.0,
                StatusCode::UNAUTHORIZED
            );
        }

        // Logging out ends the session and clears the cookies.
        let (status, set, _) = send(&app, "DELETE", LOGIN, &right, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(cookie(&set, "sessionid"), "");
        assert_eq!(
            send(&app, "GET", LOGIN, &[("cookie", &jar)], None).await.0,
            StatusCode::UNAUTHORIZED
        );
        app.close().await;
    }
}

#[tokio::test]
async fn users_change_themselves() {
    for app in apps().await {
        for name in ["newbee", "pro"] {
            app.api(
                "POST",
                "users/",
                Some(json!({"username": name, "password": PASSWORD})),
            )
            .await;
        }
        let newbee = basic("newbee", PASSWORD);
        let auth = [("authorization", newbee.as_str())];
        let (status, _, changed) = send(
            &app,
            "PATCH",
            LOGIN,
            &auth,
            Some(json!({"email": "test@example.com", "first_name": "Test", "last_name": "User"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!(changed["email"], "test@example.com");
        assert!(changed.get("password").is_none());
        let (status, _, err) = send(
            &app,
            "PATCH",
            LOGIN,
            &auth,
            Some(json!({"username": "pro"})),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(err["username"][0], "This field must be unique.");
        // Their own record through users/ is still the admin's business.
        let (_, page) = app.api("GET", "users/?username=newbee", None).await;
        let href = page["results"][0]["pulp_href"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(page["results"][0]["last_name"], "User");
        assert_eq!(
            send(&app, "GET", &href, &auth, None).await.0,
            StatusCode::FORBIDDEN
        );

        for (body, message) in [
            (
                json!({"old_password": "wrong_password", "new_password": "An0ther-secret"}),
                "Old password is incorrect.",
            ),
            (
                json!({"old_password": PASSWORD, "new_password": PASSWORD}),
                "New password cannot be the same as the old password.",
            ),
            (
                json!({"new_password": "1234567890"}),
                "Old password is required to update the password.",
            ),
        ] {
            let (status, _, err) = send(&app, "PATCH", LOGIN, &auth, Some(body)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert_eq!(err["non_field_errors"][0], message, "{err}");
        }
        // A session made with the old password ends with it.
        let (_, set, _) = send(&app, "POST", LOGIN, &auth, None).await;
        let jar = format!("sessionid={}", cookie(&set, "sessionid"));
        let (status, _, _) = send(
            &app,
            "PATCH",
            LOGIN,
            &auth,
            Some(json!({"old_password": PASSWORD, "new_password": "An0ther-secret"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, err) = send(&app, "POST", LOGIN, &auth, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(err["detail"], "Invalid username/password.");
        assert_eq!(
            send(&app, "GET", LOGIN, &[("cookie", &jar)], None).await.0,
            StatusCode::UNAUTHORIZED
        );
        let fresh = basic("newbee", "An0ther-secret");
        assert_eq!(
            send(&app, "GET", LOGIN, &[("authorization", &fresh)], None)
                .await
                .0,
            StatusCode::OK
        );
        app.close().await;
    }
}
