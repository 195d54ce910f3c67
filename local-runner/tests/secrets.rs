//! Secrets at rest: remote credentials are stored as Fernet tokens of the key file, never in
//! plain text, on SQLite and (with `DEPOT_TEST_PG_URL`) PostgreSQL; rows written in plain text
//! by an older version are encrypted at start-up.

mod common;

use common::{TestApp, apps};
use depot_core::models::remote;
use depot_core::secrets::Secrets;
use serde_json::{Map, Value, json};

/// The remote `name`'s settings as stored.
async fn stored(app: &TestApp, name: &str) -> Map<String, Value> {
    let raw: String = sqlx::query_scalar("SELECT settings FROM remotes WHERE name = $1")
        .bind(name)
        .fetch_one(app.core.db.pool())
        .await
        .unwrap();
    serde_json::from_str(&raw).unwrap()
}

#[tokio::test]
async fn remote_credentials_are_stored_encrypted() {
    for app in apps().await {
        let key_file = app
            .core
            .settings
            .data_dir
            .join("database_fields.symmetric.key");
        let keys = Secrets::load(&key_file).unwrap();
        let open = |v: &Value| keys.decrypt(v.as_str().unwrap()).unwrap();

        let (status, r) = app
            .api(
                "POST",
                "remotes/file/file/",
                Some(json!({
                    "name": "s", "url": "http://example.com/PULP_MANIFEST",
                    "username": "alice", "password": "hunter2",
                    "proxy_url": "http://proxy:3128", "proxy_username": "pu", "proxy_password": "pp",
                })),
            )
            .await;
        assert_eq!(status, 201, "{r}");
        let text = r.to_string();
        assert!(
            !text.contains("hunter2") && !text.contains("alice"),
            "{text}"
        );
        let set: Vec<_> = r["hidden_fields"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["is_set"] == true)
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            set,
            ["proxy_username", "proxy_password", "username", "password"]
        );

        let s = stored(&app, "s").await;
        let raw = Value::Object(s.clone()).to_string();
        // (Short values may occur inside a token by chance: only the long ones are searched.)
        assert!(!raw.contains("alice") && !raw.contains("hunter2"), "{raw}");
        assert_eq!(open(&s["proxy_username"]), "pu");
        assert_eq!(open(&s["password"]), "hunter2");
        assert_eq!(open(&s["username"]), "alice");
        assert_eq!(open(&s["proxy_password"]), "pp");
        assert_eq!(s["proxy_url"], "http://proxy:3128");

        // A change of one secret keeps the others, and the domain reads them in plain text.
        let href = r["pulp_href"].as_str().unwrap().to_string();
        let (_, body) = app
            .call("PATCH", &href, Some(json!({"password": "correct horse"})))
            .await;
        app.completed(&body).await;
        let s = stored(&app, "s").await;
        assert_eq!(open(&s["password"]), "correct horse");
        assert_eq!(open(&s["username"]), "alice");
        let id = href.trim_end_matches('/').rsplit('/').next().unwrap();
        let read = remote::get(&app.core.db, id).await.unwrap();
        assert_eq!(read.setting("password"), Some(&json!("correct horse")));

        // A row an older version wrote in plain text is encrypted by the start-up step.
        sqlx::query("UPDATE remotes SET settings = $2 WHERE id = $1")
            .bind(id)
            .bind(json!({"username": "bob", "password": "old"}).to_string())
            .execute(app.core.db.pool())
            .await
            .unwrap();
        remote::encrypt_plain_secrets(&app.core.db).await.unwrap();
        let s = stored(&app, "s").await;
        assert_eq!(open(&s["password"]), "old");
        assert_eq!(open(&s["username"]), "bob");
        let read = remote::get(&app.core.db, id).await.unwrap();
        assert_eq!(read.setting("username"), Some(&json!("bob")));

        // A token of another key is not read as anything.
        let other = Secrets::load_or_create(&app.core.settings.data_dir.join("other.key"))
            .unwrap()
            .encrypt("x")
            .unwrap();
        sqlx::query("UPDATE remotes SET settings = $2 WHERE id = $1")
            .bind(id)
            .bind(json!({ "password": other }).to_string())
            .execute(app.core.db.pool())
            .await
            .unwrap();
        assert!(remote::get(&app.core.db, id).await.is_err());
        remote::encrypt_plain_secrets(&app.core.db).await.unwrap();
        assert_eq!(stored(&app, "s").await["password"], json!(other));
        app.close().await;
    }
}
