//! Signing services as Pulp adds and lists them: a script signs a test file with a real GPG
//! key and the signature must verify before the service is kept; `signing-services/` lists
//! what was added. gpg makes the keys here (Debian's `gpg`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use axum::http::StatusCode;
use common::apps;

/// A keyring in `dir` with one signing key; its home and the key's fingerprint.
fn keyring(dir: &Path, uid: &str) -> (PathBuf, String) {
    let home = dir.join(uid.replace(['<', '>', '@', ' '], "_"));
    std::fs::create_dir_all(&home).unwrap();
    let gpg = |args: &[&str]| {
        let out = Command::new("gpg")
            .args(["--batch", "--homedir"])
            .arg(&home)
            .args(args)
            .output()
            .expect("gpg runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let quick = [
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        "",
        "--quick-gen-key",
    ];
    gpg(&[&quick[..], &[uid, "ed25519", "sign", "never"]].concat());
    let listing = gpg(&["--with-colons", "--fingerprint", uid]);
    let fpr = listing
        .lines()
        .find_map(|l| l.strip_prefix("fpr:"))
        .and_then(|r| r.split(':').find(|f| !f.is_empty()))
        .unwrap()
        .to_string();
    (home, fpr)
}

/// A script that signs its argument as Pulp's examples do, with `extra` run before it prints.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\nset -e\n{body}\n")).unwrap();
    Command::new("chmod").arg("+x").arg(&path).status().unwrap();
    path
}

const SIGN: &str = r#"gpg --batch --yes --homedir "$GNUPGHOME" --pinentry-mode loopback --passphrase '' \
  --armor --detach-sign --local-user "$PULP_SIGNING_KEY_FINGERPRINT" --output "$1.asc" "$1"
echo "{\"file\": \"$1\", \"signature\": \"$1.asc\"}""#;

#[tokio::test]
async fn signing_services_are_checked_before_they_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (home, fpr) = keyring(dir.path(), "Depot Signer <sign@example.com>");
    let (other_home, _) = keyring(dir.path(), "Someone Else <else@example.com>");
    let good = script(dir.path(), "sign.sh", SIGN);
    // Signs with another key than the one it is added for.
    let other = SIGN.replace("\"$GNUPGHOME\"", &format!("'{}'", other_home.display()));
    let other = other.replace("\"$PULP_SIGNING_KEY_FINGERPRINT\"", "else@example.com");
    let wrong_key = script(dir.path(), "wrong-key.sh", &other);
    let not_json = script(dir.path(), "not-json.sh", "echo signed");
    let failing = script(dir.path(), "failing.sh", "echo no >&2; exit 3");
    for app in apps().await {
        let e = app.engine;
        let db = &app.core.db;
        let add = |name: &'static str, script: &PathBuf, key: &str| {
            let (script, key, home) = (script.clone(), key.to_string(), home.clone());
            async move { depot_core::signing::add(db, name, &script, &key, Some(&home)).await }
        };
        let added = add("signer", &good, &fpr)
            .await
            .expect("a good service is added");
        assert_eq!(added.pubkey_fingerprint, fpr, "{e}");
        assert!(added.public_key.contains("BEGIN PGP PUBLIC KEY BLOCK"));

        // Refused, and nothing kept: a taken name, a script whose signature another key made,
        // one that prints no JSON, one that fails, a key the keyring lacks.
        for (name, s, key, why) in [
            ("signer", &good, fpr.as_str(), "unique"),
            ("wrong", &wrong_key, fpr.as_str(), "does not verify"),
            ("json", &not_json, fpr.as_str(), "not JSON"),
            ("failing", &failing, fpr.as_str(), "exit status: 3"),
            ("nokey", &good, "nobody@example.com", "No public key"),
        ] {
            let refused = add(name, s, key).await.expect_err(name).to_string();
            assert!(refused.contains(why), "{e} {name}: {refused}");
        }

        let (status, page) = app.api("GET", "signing-services/", None).await;
        assert_eq!(status, StatusCode::OK, "{e} {page}");
        assert_eq!(page["count"], 1, "{e} {page}");
        let listed = &page["results"][0];
        assert_eq!(listed["name"], "signer");
        assert_eq!(listed["pubkey_fingerprint"], fpr.as_str());
        assert_eq!(
            listed["script"],
            good.canonicalize().unwrap().to_str().unwrap()
        );
        let (status, one) = app
            .call("GET", listed["pulp_href"].as_str().unwrap(), None)
            .await;
        assert_eq!((status, &one["name"]), (StatusCode::OK, &listed["name"]));
        let (_, none) = app.api("GET", "signing-services/?name=nope", None).await;
        assert_eq!(none["count"], 0);
        let (status, _) = app.anonymous("GET", "/pulp/api/v3/signing-services/").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        app.close().await;
    }
}
