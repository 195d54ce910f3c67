//! Import and export in Pulp's format: a Depot export (whole and chunked, full and
//! incremental) imports into Depot; exports made by real Pulp 3.123 (fixtures/pulp-export, made
//! with Pulp's own exporter) import here; filesystem exports lay out a publication's or a
//! version's files; and what is wrong (paths outside the allowed ones, damaged chunks, bytes
//! that are not what their names say) is refused with nothing stored.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::http::StatusCode;
use common::{TestApp, apps_with};
use depot_core::checksums::sha256_hex;
use serde_json::{Value, json};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pulp-export");

/// Apps whose exports and imports are allowed under one temporary folder.
async fn apps_in(dir: &Path) -> Vec<TestApp> {
    let root = dir.canonicalize().unwrap();
    apps_with(move |s| {
        s.allowed_export_paths = vec![root.clone()];
        s.allowed_import_paths = vec![root.clone()];
    })
    .await
}

/// relative path -> sha256 of what the repository's latest version holds.
async fn files_of(app: &TestApp, repo: &str) -> Vec<(String, String)> {
    let (_, r) = app.call("GET", repo, None).await;
    let version = r["latest_version_href"].as_str().unwrap();
    let (_, page) = app
        .api(
            "GET",
            &format!("content/file/files/?repository_version={version}&limit=100"),
            None,
        )
        .await;
    let mut out: Vec<(String, String)> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            assert!(u["artifact"].is_string(), "{} {u}", app.engine);
            (
                u["relative_path"].as_str().unwrap().to_string(),
                u["sha256"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

async fn repo_named(app: &TestApp, name: &str) -> Option<Value> {
    let (_, page) = app
        .api("GET", &format!("repositories/file/file/?name={name}"), None)
        .await;
    page["results"].as_array().unwrap().first().cloned()
}

/// Waits for a task group to end; returns it.
async fn group_done(app: &TestApp, accepted: &Value) -> Value {
    let href = accepted["task_group"]
        .as_str()
        .unwrap_or_else(|| panic!("{accepted}"))
        .to_string();
    for _ in 0..400 {
        let (_, g) = app.call("GET", &href, None).await;
        let busy: i64 = ["waiting", "running", "canceling"]
            .iter()
            .map(|s| g[*s].as_i64().unwrap())
            .sum();
        if busy == 0 && g["tasks"].as_array().is_some_and(|t| !t.is_empty()) {
            return g;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{} task group {href} did not end", app.engine);
}

/// The error of the group's failed task.
async fn group_error(app: &TestApp, g: &Value) -> String {
    for t in g["tasks"].as_array().unwrap() {
        if t["state"] == "failed" {
            let (_, task) = app
                .call("GET", t["pulp_href"].as_str().unwrap(), None)
                .await;
            return task["error"]["description"]
                .as_str()
                .unwrap_or_default()
                .to_string();
        }
    }
    panic!("{} nothing failed in {g}", app.engine);
}

async fn importer(app: &TestApp, name: &str, mapping: Value) -> String {
    let (status, i) = app
        .api(
            "POST",
            "importers/core/pulp/",
            Some(json!({"name": name, "repo_mapping": mapping})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{} {i}", app.engine);
    assert_eq!(i["repo_mapping"], mapping);
    i["pulp_href"].as_str().unwrap().to_string()
}

async fn import(app: &TestApp, importer: &str, body: Value) -> Value {
    let (status, accepted) = app
        .call("POST", &format!("{importer}imports/"), Some(body))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{} {accepted}", app.engine);
    assert!(accepted.get("task").is_none());
    group_done(app, &accepted).await
}

/// Copies a fixture folder into `dest`.
fn copy_fixture(name: &str, dest: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(dest).unwrap();
    let mut out = Vec::new();
    for e in std::fs::read_dir(Path::new(FIXTURES).join(name)).unwrap() {
        let e = e.unwrap();
        let to = dest.join(e.file_name());
        std::fs::copy(e.path(), &to).unwrap();
        out.push(to);
    }
    out.sort();
    out
}

fn ending(files: &[PathBuf], suffix: &str) -> String {
    files
        .iter()
        .find(|p| p.to_string_lossy().ends_with(suffix))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[tokio::test]
async fn depot_exports_import_into_depot() {
    let dir = tempfile::tempdir().unwrap();
    for app in apps_in(dir.path()).await {
        let base = dir.path().canonicalize().unwrap().join(app.engine);
        let src = app.file_repository("src").await;
        app.add_file(&src, "a.txt", b"alpha\n").await;
        app.add_file(&src, "dir/b.txt", b"bravo\n").await;
        let other = app.file_repository("other").await;
        app.add_file(&other, "c.txt", b"charlie\n").await;

        let path = base.join("exports").to_string_lossy().into_owned();
        let body = json!({"name": "exp", "path": path, "repositories": [src, other]});
        let (status, exporter) = app.api("POST", "exporters/core/pulp/", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{} {exporter}", app.engine);
        assert_eq!(exporter["last_export"], Value::Null);
        assert_eq!(exporter["repositories"].as_array().unwrap().len(), 2);
        let exporter_href = exporter["pulp_href"].as_str().unwrap().to_string();
        assert!(exporter_href.starts_with("/pulp/api/v3/exporters/core/pulp/"));

        // A whole export: one tar, its table of contents, both versions.
        let (status, accepted) = app
            .call("POST", &format!("{exporter_href}exports/"), Some(json!({})))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{} {accepted}", app.engine);
        let task = app.completed(&accepted).await;
        let shared: Vec<&str> = task["reserved_resources_record"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r.as_str())
            .filter(|r| r.starts_with("shared:") && r.contains("file.filerepository"))
            .collect();
        assert_eq!(shared.len(), 2, "{} {task}", app.engine);
        let codes: Vec<&str> = task["progress_reports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["code"].as_str().unwrap())
            .collect();
        assert!(
            codes.contains(&"export.artifacts") && codes.contains(&"export.repo.version.content"),
            "{codes:?}"
        );
        let export_href = task["created_resources"][0].as_str().unwrap().to_string();
        assert!(
            task["created_resource_prns"][0]
                .as_str()
                .unwrap()
                .starts_with("prn:core.pulpexport:")
        );
        let (_, export) = app.call("GET", &export_href, None).await;
        let mut exported: Vec<&str> = export["exported_resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        exported.sort();
        let mut wanted = vec![format!("{src}versions/2/"), format!("{other}versions/1/")];
        wanted.sort();
        assert_eq!(exported, wanted);
        let info = export["output_file_info"].as_object().unwrap();
        assert_eq!(info.len(), 2, "{export}");
        let tar = info.keys().find(|k| k.ends_with(".tar")).unwrap().clone();
        assert!(!tar.contains("//"));
        let toc_file = export["toc_info"]["file"].as_str().unwrap().to_string();
        let toc: Value = serde_json::from_slice(&std::fs::read(&toc_file).unwrap()).unwrap();
        assert_eq!(toc["meta"], json!({"checksum_type": "crc32"}));
        let tar_name = Path::new(&tar)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let bytes = std::fs::read(&tar).unwrap();
        assert_eq!(toc["files"][&tar_name], format!("{:x}", crc32(&bytes)));
        assert_eq!(
            info[&toc_file],
            sha256_hex(&std::fs::read(&toc_file).unwrap())
        );
        let (_, exporter) = app.call("GET", &exporter_href, None).await;
        assert_eq!(exporter["last_export"], export_href.as_str());

        // Chunked, with the caller's meta kept in the table of contents.
        let body = json!({"chunk_size": "1KB", "meta": {"purpose": "ci"}});
        let (_, accepted) = app
            .call("POST", &format!("{exporter_href}exports/"), Some(body))
            .await;
        let task = app.completed(&accepted).await;
        let (_, chunked) = app
            .call("GET", task["created_resources"][0].as_str().unwrap(), None)
            .await;
        assert_eq!(
            chunked["params"],
            json!({"chunk_size": "1KB", "meta": {"purpose": "ci"}})
        );
        assert_eq!(chunked["toc_info"]["meta"], json!({"purpose": "ci"}));
        let toc_file = chunked["toc_info"]["file"].as_str().unwrap().to_string();
        let toc: Value = serde_json::from_slice(&std::fs::read(&toc_file).unwrap()).unwrap();
        assert_eq!(
            toc["meta"],
            json!({"purpose": "ci", "checksum_type": "crc32", "chunk_size": 1024})
        );
        let names: Vec<&String> = toc["files"].as_object().unwrap().keys().collect();
        assert!(names.len() > 2, "{toc}");
        for (i, name) in names.iter().enumerate() {
            assert!(name.ends_with(&format!(".{i:04}")), "{name}");
            let len = std::fs::metadata(Path::new(&toc_file).with_file_name(name))
                .unwrap()
                .len();
            if i + 1 < names.len() {
                assert_eq!(len, 1024);
            }
        }
        // The chunks make the same tar stream as the whole export, but for its timestamps.
        let joined: Vec<u8> = names
            .iter()
            .flat_map(|n| std::fs::read(Path::new(&toc_file).with_file_name(n)).unwrap())
            .collect();
        assert_eq!(joined.len(), bytes.len());

        // Import the chunked export: src goes into dest, other into other (same name here).
        let dest = app.file_repository("dest").await;
        let imp = importer(&app, "imp", json!({"src": "dest"})).await;
        let g = import(&app, &imp, json!({"toc": toc_file})).await;
        assert_eq!(g["completed"], 3, "{} {g}", app.engine);
        assert_eq!(
            g["group_progress_reports"][0]["code"],
            "import.repo.versions"
        );
        assert_eq!(g["group_progress_reports"][0]["done"], 2);
        assert_eq!(g["group_progress_reports"][0]["total"], 2);
        let (_, d) = app.call("GET", &dest, None).await;
        assert_eq!(d["latest_version_href"], format!("{dest}versions/1/"));
        assert_eq!(files_of(&app, &dest).await, files_of(&app, &src).await);
        // Nothing changed for other: no new version.
        let (_, o) = app.call("GET", &other, None).await;
        assert_eq!(o["latest_version_href"], format!("{other}versions/1/"));
        // Again: no new version, two imports recorded.
        import(&app, &imp, json!({"toc": toc_file})).await;
        let (_, d) = app.call("GET", &dest, None).await;
        assert_eq!(d["latest_version_href"], format!("{dest}versions/1/"));
        let (_, imports) = app.call("GET", &format!("{imp}imports/"), None).await;
        assert_eq!(imports["count"], 2);
        assert_eq!(imports["results"][0]["params"]["path"], toc_file.as_str());

        // Incremental: only the new artifact travels, the version holds everything.
        app.add_file(&src, "d.txt", b"delta\n").await;
        let (_, accepted) = app
            .call(
                "POST",
                &format!("{exporter_href}exports/"),
                Some(json!({"full": false})),
            )
            .await;
        let task = app.completed(&accepted).await;
        let (_, inc) = app
            .call("GET", task["created_resources"][0].as_str().unwrap(), None)
            .await;
        let inc_tar = inc["output_file_info"]
            .as_object()
            .unwrap()
            .keys()
            .find(|k| k.ends_with(".tar"))
            .unwrap()
            .clone();
        let listing = tar_names(&std::fs::read(&inc_tar).unwrap());
        let artifacts: Vec<&String> = listing
            .iter()
            .filter(|n| n.starts_with("artifact/"))
            .collect();
        assert_eq!(artifacts.len(), 1, "{listing:?}");
        assert!(
            artifacts[0]
                .replace('/', "")
                .ends_with(&sha256_hex(b"delta\n"))
        );
        let g = import(&app, &imp, json!({"path": inc_tar})).await;
        assert_eq!(g["failed"], 0, "{g}");
        assert_eq!(files_of(&app, &dest).await, files_of(&app, &src).await);
        assert_eq!(files_of(&app, &dest).await.len(), 3);

        // With create_repositories, a deleted repository comes back from the whole export.
        let (_, accepted) = app.call("DELETE", &other, None).await;
        app.completed(&accepted).await;
        let fresh = importer(&app, "fresh", json!({})).await;
        let g = import(
            &app,
            &fresh,
            json!({"path": tar, "create_repositories": true}),
        )
        .await;
        assert_eq!(g["failed"], 0, "{g}");
        let back = repo_named(&app, "other").await.expect("other made again");
        let back_href = back["pulp_href"].as_str().unwrap();
        assert_eq!(
            back["latest_version_href"],
            format!("{back_href}versions/1/")
        );
        assert_eq!(
            files_of(&app, back_href).await,
            vec![("c.txt".to_string(), sha256_hex(b"charlie\n"))]
        );
        // create_repositories does not go with a repo_mapping.
        let (status, e) = app
            .call(
                "POST",
                &format!("{imp}imports/"),
                Some(json!({"path": tar, "create_repositories": true})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");

        // Records go; the files stay.
        let (status, _) = app.call("DELETE", &export_href, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert!(Path::new(&tar).exists());
        let (_, exports) = app
            .call("GET", &format!("{exporter_href}exports/"), None)
            .await;
        assert_eq!(exports["count"], 2);
        app.close().await;
    }
}

#[tokio::test]
async fn exports_made_by_pulp_import() {
    let dir = tempfile::tempdir().unwrap();
    for app in apps_in(dir.path()).await {
        let base = dir.path().canonicalize().unwrap().join(app.engine);
        let full = copy_fixture("full", &base.join("full"));
        let incremental = copy_fixture("incremental", &base.join("incremental"));
        let chunked = copy_fixture("chunked", &base.join("chunked"));

        // Pulp's whole export, its repositories made here.
        let imp = importer(&app, "from-pulp", json!({})).await;
        let g = import(
            &app,
            &imp,
            json!({"path": ending(&full, ".tar"), "create_repositories": true}),
        )
        .await;
        assert_eq!(g["completed"], 3, "{} {g}", app.engine);
        let a = repo_named(&app, "fixture-a").await.unwrap();
        let a_href = a["pulp_href"].as_str().unwrap().to_string();
        let alpha = ("a.txt".to_string(), sha256_hex(b"alpha\n"));
        let bravo = ("dir/b.txt".to_string(), sha256_hex(b"bravo\n"));
        assert_eq!(
            files_of(&app, &a_href).await,
            vec![alpha.clone(), bravo.clone()]
        );
        assert_eq!(a["manifest"], "PULP_MANIFEST");
        let b = repo_named(&app, "fixture-b").await.unwrap();
        assert_eq!(
            files_of(&app, b["pulp_href"].as_str().unwrap()).await,
            vec![("c.txt".to_string(), sha256_hex(b"charlie\n"))]
        );
        // The artifacts' bytes are the files'.
        let (_, arts) = app
            .api(
                "GET",
                &format!("artifacts/?sha256={}", sha256_hex(b"alpha\n")),
                None,
            )
            .await;
        assert_eq!(arts["results"][0]["size"], 6);
        assert_eq!(arts["results"][0]["sha512"].as_str().unwrap().len(), 128);

        // Pulp's incremental export: d.txt's bytes, and fixture-a's version 3 in full.
        let g = import(&app, &imp, json!({"path": ending(&incremental, ".tar")})).await;
        assert_eq!(g["failed"], 0, "{g}");
        let delta = ("d.txt".to_string(), sha256_hex(b"delta\n"));
        assert_eq!(
            files_of(&app, &a_href).await,
            vec![alpha.clone(), delta, bravo.clone()]
        );
        let (_, a) = app.call("GET", &a_href, None).await;
        assert_eq!(a["latest_version_href"], format!("{a_href}versions/2/"));

        // Pulp's chunked export, through its table of contents, into a mapped repository.
        let mapped = app.file_repository("mapped").await;
        let imp2 = importer(&app, "mapped-import", json!({"fixture-a": "mapped"})).await;
        let g = import(&app, &imp2, json!({"toc": ending(&chunked, "-toc.json")})).await;
        assert_eq!(g["completed"], 2, "{g}");
        assert_eq!(files_of(&app, &mapped).await, vec![alpha, bravo]);
        app.close().await;
    }
}

#[tokio::test]
async fn damaged_or_outside_exports_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for app in apps_in(dir.path()).await {
        let base = dir.path().canonicalize().unwrap().join(app.engine);
        let imp = importer(&app, "imp", json!({})).await;

        // Paths outside the allowed ones: refused before any task.
        for body in [
            json!({"path": "/etc/passwd"}),
            json!({"toc": "/etc/x-toc.json"}),
        ] {
            let (status, e) = app
                .call("POST", &format!("{imp}imports/"), Some(body))
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
            assert!(
                e.to_string().contains("is not an allowed import path"),
                "{e}"
            );
        }
        let inside = base.join("x.tar").to_string_lossy().into_owned();
        for body in [json!({}), json!({"path": inside, "toc": inside})] {
            let (status, e) = app
                .call("POST", &format!("{imp}imports/"), Some(body))
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
        }

        // A chunk changed after the export: its checksum says so, nothing is imported.
        let chunked = copy_fixture("chunked", &base.join("chunked"));
        let chunk = ending(&chunked, ".tar.0001");
        let mut bytes = std::fs::read(&chunk).unwrap();
        bytes[700] ^= 1;
        std::fs::write(&chunk, &bytes).unwrap();
        let g = import(
            &app,
            &imp,
            json!({"toc": ending(&chunked, "-toc.json"), "create_repositories": true}),
        )
        .await;
        assert!(
            group_error(&app, &g)
                .await
                .contains("Import chunk hash mismatch"),
            "{g}"
        );
        assert!(repo_named(&app, "fixture-a").await.is_none());

        // A table of contents naming a file outside its folder.
        let evil = base.join("evil-toc.json");
        std::fs::write(
            &evil,
            br#"{"meta": {"checksum_type": "crc32"}, "files": {"../../etc/passwd": "0"}}"#,
        )
        .unwrap();
        let g = import(&app, &imp, json!({"toc": evil})).await;
        assert!(
            group_error(&app, &g)
                .await
                .contains("not a chunk file name"),
            "{g}"
        );

        // Bytes that are not what their path names: not stored.
        let full = copy_fixture("full", &base.join("full"));
        let tar = ending(&full, ".tar");
        let mut bytes = std::fs::read(&tar).unwrap();
        let at = bytes.windows(6).position(|w| w == b"alpha\n").unwrap();
        bytes[at] = b'A';
        std::fs::write(&tar, &bytes).unwrap();
        let g = import(
            &app,
            &imp,
            json!({"path": tar, "create_repositories": true}),
        )
        .await;
        assert!(group_error(&app, &g).await.contains("sha256"), "{g}");
        let (_, arts) = app.api("GET", "artifacts/", None).await;
        assert_eq!(arts["count"], 0, "{arts}");

        // Not a tar at all.
        let junk = base.join("junk.tar");
        std::fs::write(&junk, vec![7u8; 2000]).unwrap();
        let g = import(&app, &imp, json!({"path": junk})).await;
        assert!(group_error(&app, &g).await.contains("export"), "{g}");

        // import-check, as Pulp answers it.
        let good = ending(&copy_fixture("full", &base.join("good")), ".tar");
        let body = json!({"path": good, "toc": "/notallowed/x", "repo_mapping": "{\"a\": \"b\""});
        let (status, check) = app
            .api("POST", "importers/core/pulp/import-check/", Some(body))
            .await;
        assert_eq!(status, StatusCode::OK, "{check}");
        assert_eq!(
            check["path"],
            json!({"context": good, "is_valid": true, "messages": []})
        );
        assert_eq!(
            check["toc"]["messages"],
            json!(["/notallowed is not an allowed import path"])
        );
        assert_eq!(check["repo_mapping"]["messages"], json!(["invalid JSON"]));
        let missing = base.join("nope.tar").to_string_lossy().into_owned();
        let (_, check) = app
            .api(
                "POST",
                "importers/core/pulp/import-check/",
                Some(json!({"path": missing})),
            )
            .await;
        assert_eq!(
            check["path"]["messages"],
            json!([format!("file {missing} does not exist")])
        );
        assert!(check.get("toc").is_none());
        let (status, _) = app
            .api("POST", "importers/core/pulp/import-check/", Some(json!({})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // An importer's mapping must name repositories that exist.
        let (status, e) = app
            .api(
                "POST",
                "importers/core/pulp/",
                Some(json!({"name": "m", "repo_mapping": {"x": "nope"}})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(e.to_string().contains("'nope'"), "{e}");
        // Importers answer at once.
        let (status, _) = app.call("DELETE", &imp, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = app.call("GET", &imp, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        app.close().await;
    }
}

#[tokio::test]
async fn export_requests_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    for app in apps_in(dir.path()).await {
        let base = dir.path().canonicalize().unwrap().join(app.engine);
        let r1 = app.file_repository("r1").await;
        app.add_file(&r1, "a", b"a").await;
        let r2 = app.file_repository("r2").await;
        let path = base.join("e").to_string_lossy().into_owned();

        for body in [
            json!({"name": "x", "path": "/etc/depot", "repositories": []}),
            json!({"name": "x", "path": format!("{path}/../../.."), "repositories": []}),
            json!({"name": "", "path": path, "repositories": []}),
            json!({"name": "x", "path": path, "repositories": ["/pulp/api/v3/repositories/file/file/nope/"]}),
        ] {
            let (status, e) = app
                .api("POST", "exporters/core/pulp/", Some(body.clone()))
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body} {e}");
        }
        let (_, exporter) = app
            .api(
                "POST",
                "exporters/core/pulp/",
                Some(json!({"name": "x", "path": path, "repositories": [r1]})),
            )
            .await;
        let (status, _) = app
            .api(
                "POST",
                "exporters/core/pulp/",
                Some(json!({"name": "x", "path": path, "repositories": []})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "names are unique");
        let href = exporter["pulp_href"].as_str().unwrap().to_string();
        let exports = format!("{href}exports/");
        let cases = [
            (json!({"full": false}), "previous export"),
            (
                json!({"versions": [format!("{r2}versions/0/")]}),
                "must belong to",
            ),
            (json!({"versions": []}), "does not match the number"),
            (json!({"chunk_size": "5XB"}), "is not valid"),
            (json!({"chunk_size": "0B"}), "not greater than zero"),
            (json!({"chunk_size": "2TB"}), "max-chunk-size"),
            (
                json!({"start_versions": [format!("{r1}versions/0/")], "full": true}),
                "only valid for incremental",
            ),
            (
                json!({"start_versions": [format!("{r1}")], "full": false}),
                "Invalid hyperlink",
            ),
            (json!({"dry_run": true}), "Dry runs"),
            (json!({"bogus": 1}), "Unexpected field"),
        ];
        for (body, why) in cases {
            let (status, e) = app.call("POST", &exports, Some(body.clone())).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body} {e}");
            assert!(e.to_string().contains(why), "{body} {e}");
        }
        // By version, and incremental from a start version.
        let (_, accepted) = app
            .call(
                "POST",
                &exports,
                Some(json!({"versions": [format!("{r1}versions/0/")]})),
            )
            .await;
        let t = app.completed(&accepted).await;
        let (_, x) = app
            .call("GET", t["created_resources"][0].as_str().unwrap(), None)
            .await;
        assert!(
            x["exported_resources"][0]
                .as_str()
                .unwrap()
                .ends_with("/versions/0/")
        );
        let body = json!({"start_versions": [format!("{r1}versions/0/")], "full": false});
        let (_, accepted) = app.call("POST", &exports, Some(body)).await;
        app.completed(&accepted).await;

        // Updates and deletes are tasks, as in Pulp.
        let new_path = base.join("moved").to_string_lossy().into_owned();
        let (_, before) = app.call("GET", &href, None).await;
        assert!(before["last_export"].is_string(), "{before}");
        let (status, accepted) = app
            .call("PATCH", &href, Some(json!({"path": new_path})))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
        app.completed(&accepted).await;
        let (_, e) = app.call("GET", &href, None).await;
        assert_eq!(e["path"], new_path.as_str());
        // What was not sent stays; a null clears.
        assert_eq!(e["last_export"], before["last_export"], "{e}");
        let body = Some(json!({"last_export": null}));
        let (_, accepted) = app.call("PATCH", &href, body).await;
        app.completed(&accepted).await;
        assert_eq!(
            app.call("GET", &href, None).await.1["last_export"],
            Value::Null
        );
        let (status, e) = app
            .call("PATCH", &href, Some(json!({"path": "/etc"})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
        let (_, accepted) = app.call("DELETE", &href, None).await;
        app.completed(&accepted).await;
        let (status, _) = app.call("GET", &href, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // Only administrators.
        let (status, _) = app
            .anonymous("GET", "/pulp/api/v3/exporters/core/pulp/")
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        app.close().await;
    }
}

#[tokio::test]
async fn filesystem_exports_lay_out_files() {
    let dir = tempfile::tempdir().unwrap();
    for app in apps_in(dir.path()).await {
        let base = dir.path().canonicalize().unwrap().join(app.engine);
        let repo = app.file_repository("fs").await;
        app.add_file(&repo, "a.txt", b"alpha\n").await;
        app.add_file(&repo, "sub/b.txt", b"bravo\n").await;
        let (status, accepted) = app
            .api(
                "POST",
                "publications/file/file/",
                Some(json!({"repository": repo})),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
        let t = app.completed(&accepted).await;
        let publication = t["created_resources"][0].as_str().unwrap().to_string();

        let target = base.join("pub");
        let body = json!({"name": "fs", "path": target, "method": "write"});
        let (status, exporter) = app
            .api("POST", "exporters/core/filesystem/", Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{exporter}");
        assert_eq!(exporter["method"], "write");
        let href = exporter["pulp_href"].as_str().unwrap().to_string();
        let (status, accepted) = app
            .call(
                "POST",
                &format!("{href}exports/"),
                Some(json!({"publication": publication})),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
        let t = app.completed(&accepted).await;
        let (_, x) = app
            .call("GET", t["created_resources"][0].as_str().unwrap(), None)
            .await;
        assert_eq!(x["exported_resources"], json!([publication]));
        assert_eq!(std::fs::read(target.join("a.txt")).unwrap(), b"alpha\n");
        assert_eq!(std::fs::read(target.join("sub/b.txt")).unwrap(), b"bravo\n");
        let manifest = std::fs::read_to_string(target.join("PULP_MANIFEST")).unwrap();
        assert!(manifest.contains(&sha256_hex(b"alpha\n")), "{manifest}");
        // The folder holds data now: a second export refuses it.
        let (_, accepted) = app
            .call(
                "POST",
                &format!("{href}exports/"),
                Some(json!({"publication": publication})),
            )
            .await;
        let t = app.wait(&accepted).await;
        assert_eq!(t["state"], "failed");
        assert!(
            t["error"]["description"]
                .as_str()
                .unwrap()
                .contains("existing data"),
            "{t}"
        );

        // A version, hard-linked, only what version 1 did not hold.
        let target = base.join("ver");
        let body = json!({"name": "fs2", "path": target, "method": "hardlink"});
        let (_, exporter) = app
            .api("POST", "exporters/core/filesystem/", Some(body))
            .await;
        let href = exporter["pulp_href"].as_str().unwrap().to_string();
        let body = json!({"repository_version": format!("{repo}versions/2/"), "start_repository_version": format!("{repo}versions/1/")});
        let (_, accepted) = app
            .call("POST", &format!("{href}exports/"), Some(body))
            .await;
        app.completed(&accepted).await;
        assert!(!target.join("a.txt").exists());
        assert_eq!(std::fs::read(target.join("sub/b.txt")).unwrap(), b"bravo\n");

        for body in [
            json!({}),
            json!({"publication": publication, "repository_version": format!("{repo}versions/1/")}),
        ] {
            let (status, e) = app
                .call("POST", &format!("{href}exports/"), Some(body))
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
        }
        let (status, e) = app
            .api(
                "POST",
                "exporters/core/filesystem/",
                Some(json!({"name": "bad", "path": target, "method": "teleport"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
        app.close().await;
    }
}

#[tokio::test]
async fn file_remotes_read_only_allowed_paths() {
    let dir = tempfile::tempdir().unwrap();
    for app in apps_in(dir.path()).await {
        let base = dir.path().canonicalize().unwrap().join(app.engine);
        let mirror = base.join("mirror");
        std::fs::create_dir_all(&mirror).unwrap();
        let files: [(&str, &[u8]); 2] =
            [("one.iso", b"first file\n"), ("two.iso", b"second file\n")];
        let mut manifest = String::new();
        for (name, bytes) in files {
            std::fs::write(mirror.join(name), bytes).unwrap();
            manifest.push_str(&format!("{name},{},{}\n", sha256_hex(bytes), bytes.len()));
        }
        std::fs::write(mirror.join("PULP_MANIFEST"), manifest).unwrap();
        let url = format!("file://{}/PULP_MANIFEST", mirror.display());

        // Outside the allowed paths: refused when the remote is made.
        let body = json!({"name": "etc", "url": "file:///etc/PULP_MANIFEST"});
        let (status, e) = app.api("POST", "remotes/file/file/", Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
        assert!(
            e["url"][0]
                .as_str()
                .unwrap()
                .contains("allowed import paths"),
            "{e}"
        );

        // Streamed: nothing stored by the sync; a filesystem export reads the local files.
        let body = json!({"name": "local", "url": url, "policy": "streamed"});
        let (status, remote) = app.api("POST", "remotes/file/file/", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{remote}");
        let repo = app.file_repository("local").await;
        let (_, accepted) = app
            .call(
                "POST",
                &format!("{repo}sync/"),
                Some(json!({"remote": remote["pulp_href"]})),
            )
            .await;
        app.completed(&accepted).await;
        let (_, page) = app
            .api(
                "GET",
                &format!("content/file/files/?repository_version={repo}versions/1/"),
                None,
            )
            .await;
        assert_eq!(page["count"], 2, "{page}");
        assert!(
            page["results"]
                .as_array()
                .unwrap()
                .iter()
                .all(|u| u["artifact"].is_null())
        );
        let (_, accepted) = app
            .api(
                "POST",
                "publications/file/file/",
                Some(json!({"repository": repo})),
            )
            .await;
        let publication = app.completed(&accepted).await["created_resources"][0]
            .as_str()
            .unwrap()
            .to_string();
        let target = base.join("out");
        let (_, exporter) = app
            .api(
                "POST",
                "exporters/core/filesystem/",
                Some(json!({"name": "fs", "path": target})),
            )
            .await;
        let href = exporter["pulp_href"].as_str().unwrap().to_string();
        let (_, accepted) = app
            .call(
                "POST",
                &format!("{href}exports/"),
                Some(json!({"publication": publication})),
            )
            .await;
        app.completed(&accepted).await;
        assert_eq!(
            std::fs::read(target.join("two.iso")).unwrap(),
            b"second file\n"
        );

        // Immediate: the files are stored, checked against the manifest.
        let (_, accepted) = app
            .call(
                "PATCH",
                remote["pulp_href"].as_str().unwrap(),
                Some(json!({"policy": "immediate"})),
            )
            .await;
        app.completed(&accepted).await;
        let (_, accepted) = app
            .call(
                "POST",
                &format!("{repo}sync/"),
                Some(json!({"remote": remote["pulp_href"]})),
            )
            .await;
        app.completed(&accepted).await;
        assert_eq!(
            files_of(&app, &repo).await,
            vec![
                ("one.iso".to_string(), sha256_hex(b"first file\n")),
                ("two.iso".to_string(), sha256_hex(b"second file\n"))
            ]
        );
        app.close().await;
    }
}

/// The names in a tar stream, in order.
fn tar_names(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut long: Option<String> = None;
    while at + 512 <= bytes.len() {
        let h = &bytes[at..at + 512];
        if h.iter().all(|b| *b == 0) {
            break;
        }
        let size = usize::from_str_radix(
            std::str::from_utf8(&h[124..135])
                .unwrap()
                .trim_matches(char::from(0))
                .trim(),
            8,
        )
        .unwrap();
        let name = String::from_utf8_lossy(&h[..100])
            .trim_end_matches('\0')
            .to_string();
        let body = &bytes[at + 512..at + 512 + size];
        match h[156] {
            b'L' => {
                long = Some(
                    String::from_utf8_lossy(body)
                        .trim_end_matches('\0')
                        .to_string(),
                )
            }
            _ => out.push(long.take().unwrap_or(name)),
        }
        at += 512 + size.div_ceil(512) * 512;
    }
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for b in bytes {
        crc ^= *b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
