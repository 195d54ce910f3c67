//! Repository versions against real databases: SQLite always, PostgreSQL when
//! `DEPOT_TEST_PG_URL` names a server (tests/run.sh sets it; each run makes its own database).

use std::collections::BTreeSet;

mod common;

use common::databases;
use depot_core::db::Db;
use depot_core::models::Labels;
use depot_core::models::repository::{self, NewRepository};
use depot_core::models::version::{self, Change, Removal};
use depot_file::content;
use serde_json::json;
use sqlx::AssertSqlSafe;

async fn unit(db: &Db, path: &str, tag: &str) -> String {
    let sha = depot_core::checksums::sha256_hex(format!("{path}{tag}").as_bytes());
    content::insert(db, path, &sha, Some(1), None, &Labels::new())
        .await
        .unwrap()
}

async fn present(db: &Db, repo: &str, n: i64) -> BTreeSet<String> {
    let sql = format!(
        "SELECT rc.content_id FROM repository_contents rc WHERE {}",
        version::present_condition(1, 2)
    );
    let ids: Vec<String> = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(repo)
        .bind(n)
        .fetch_all(db.pool())
        .await
        .unwrap();
    ids.into_iter().collect()
}

async fn file_repository(db: &Db, name: &str) -> repository::Repository {
    let new = NewRepository {
        pulp_type: "file.file",
        name: name.to_string(),
        description: None,
        pulp_labels: Labels::new(),
        retain_repo_versions: None,
        retain_checkpoints: None,
        remote_id: None,
        autopublish: false,
        manifest: None,
    };
    repository::create(db, new).await.unwrap()
}

fn add(ids: &[&String]) -> Change {
    Change {
        base_number: None,
        base_repository_id: None,
        remove: Removal::Some(vec![]),
        add: ids.iter().map(|s| s.to_string()).collect(),
        overwrite: true,
    }
}

fn summary(v: &version::Version) -> serde_json::Value {
    v.summary.clone()
}

#[tokio::test]
async fn versions_record_changes_and_survive_deletes() {
    depot_plugins::install();
    for test_db in databases().await {
        let (engine, db) = (test_db.engine, test_db.db.clone());
        let repo = file_repository(&db, &format!("r-{engine}")).await;
        let v0 = version::get(&db, &repo.id, 0).await.unwrap();
        assert_eq!(
            summary(&v0),
            json!({"added": {}, "removed": {}, "present": {}}),
            "{engine}"
        );

        let (a, b, c) = (
            unit(&db, "a", "1").await,
            unit(&db, "b", "1").await,
            unit(&db, "c", "1").await,
        );
        let v1 = version::create_next(&db, &repo.id, add(&[&a, &b, &c]))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(v1.number, 1);
        assert_eq!(summary(&v1)["added"]["file.file"], 3, "{engine}");

        // The same change again creates nothing.
        assert!(
            version::create_next(&db, &repo.id, add(&[&a]))
                .await
                .unwrap()
                .is_none(),
            "{engine}"
        );

        // A new unit at an existing path replaces the old one.
        let a2 = unit(&db, "a", "2").await;
        let v2 = version::create_next(&db, &repo.id, add(&[&a2]))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            present(&db, &repo.id, 2).await,
            [a2.clone(), b.clone(), c.clone()].into_iter().collect(),
            "{engine}"
        );
        assert_eq!(summary(&v2)["removed"]["file.file"], 1);
        assert_eq!(summary(&v2)["present"]["file.file"], 3);
        // ... unless overwrite is off.
        let a3 = unit(&db, "a", "3").await;
        let mut no_overwrite = add(&[&a3]);
        no_overwrite.overwrite = false;
        assert!(
            version::create_next(&db, &repo.id, no_overwrite)
                .await
                .is_err(),
            "{engine}"
        );

        // Removals before additions, from a base version.
        let d = unit(&db, "d", "1").await;
        let change = Change {
            base_number: Some(1),
            base_repository_id: None,
            remove: Removal::Some(vec![b.clone()]),
            add: vec![d.clone()],
            overwrite: true,
        };
        let v3 = version::create_next(&db, &repo.id, change)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            present(&db, &repo.id, 3).await,
            [a.clone(), c.clone(), d.clone()].into_iter().collect(),
            "{engine}"
        );
        assert!(v3.base_version_id.is_some());

        // Deleting a middle version keeps every other version's content.
        let mut before_sets = Vec::new();
        for n in [1, 3] {
            before_sets.push((n, present(&db, &repo.id, n).await));
        }
        version::delete(&db, &repo.id, 2).await.unwrap();
        for (n, set) in before_sets {
            assert_eq!(
                present(&db, &repo.id, n).await,
                set,
                "{engine}: version {n} changed"
            );
        }
        let v3 = version::get(&db, &repo.id, 3).await.unwrap();
        assert_eq!(summary(&v3)["present"]["file.file"], 3);
        assert!(version::get(&db, &repo.id, 2).await.is_err());

        // Deleting the latest makes the previous one latest; numbers are never reused.
        version::delete(&db, &repo.id, 3).await.unwrap();
        assert_eq!(
            repository::get(&db, &repo.id).await.unwrap().latest_number,
            1,
            "{engine}"
        );
        let e = unit(&db, "e", "1").await;
        let v4 = version::create_next(&db, &repo.id, add(&[&e]))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(v4.number, 4, "{engine}");
        assert_eq!(
            present(&db, &repo.id, 4).await,
            [a.clone(), b.clone(), c.clone(), e.clone()]
                .into_iter()
                .collect()
        );

        // Removing everything.
        let change = Change {
            base_number: None,
            base_repository_id: None,
            remove: Removal::All,
            add: vec![],
            overwrite: true,
        };
        let v5 = version::create_next(&db, &repo.id, change)
            .await
            .unwrap()
            .unwrap();
        assert!(present(&db, &repo.id, 5).await.is_empty(), "{engine}");
        assert_eq!(summary(&v5)["removed"]["file.file"], 4);

        // Retention keeps the newest versions only, and the last one cannot go.
        version::apply_retention(&db, &repo.id, 2).await.unwrap();
        let left: Vec<i64> = sqlx::query_scalar(
            "SELECT number FROM repository_versions WHERE repository_id = $1 ORDER BY number",
        )
        .bind(&repo.id)
        .fetch_all(db.pool())
        .await
        .unwrap();
        assert_eq!(left, vec![4, 5], "{engine}");
        assert_eq!(present(&db, &repo.id, 4).await.len(), 4, "{engine}");
        version::delete(&db, &repo.id, 4).await.unwrap();
        assert!(version::delete(&db, &repo.id, 5).await.is_err(), "{engine}");
        test_db.close().await;
    }
}

/// Deleting a version folds its changes into the next (Pulp's squash test): a unit the deleted
/// version removed and the next one added back never left, so the next version neither adds
/// nor removes it, and every remaining version holds what it held.
#[tokio::test]
async fn deleting_a_version_squashes_it_into_the_next() {
    depot_plugins::install();
    for test_db in databases().await {
        let (engine, db) = (test_db.engine, test_db.db.clone());
        let repo = file_repository(&db, &format!("squash-{engine}")).await;
        let mut u = std::collections::BTreeMap::new();
        for name in ["A", "B", "C", "D", "E", "F", "G", "H", "I"] {
            u.insert(name, unit(&db, name, "squash").await);
        }
        let ids = |names: &str| -> Vec<String> {
            names
                .chars()
                .map(|c| u[c.to_string().as_str()].clone())
                .collect()
        };
        let change = |remove: &str, add_: &str| Change {
            base_number: None,
            base_repository_id: None,
            remove: Removal::Some(ids(remove)),
            add: ids(add_),
            overwrite: true,
        };
        for (remove, add_) in [("", "ABCDE"), ("BCDE", "FGHI"), ("GI", "CD"), ("DH", "EI")] {
            version::create_next(&db, &repo.id, change(remove, add_))
                .await
                .unwrap();
        }
        version::delete(&db, &repo.id, 2).await.unwrap();
        let set = |names: &str| ids(names).into_iter().collect::<BTreeSet<_>>();
        assert_eq!(present(&db, &repo.id, 1).await, set("ABCDE"), "{engine}");
        assert_eq!(present(&db, &repo.id, 3).await, set("ACDFH"), "{engine}");
        assert_eq!(present(&db, &repo.id, 4).await, set("ACEFI"), "{engine}");
        let v3 = version::get(&db, &repo.id, 3).await.unwrap();
        assert_eq!(
            summary(&v3)["added"]["file.file"],
            2,
            "{engine} {}",
            summary(&v3)
        );
        assert_eq!(summary(&v3)["removed"]["file.file"], 2, "{engine}");
        let v4 = version::get(&db, &repo.id, 4).await.unwrap();
        assert_eq!(summary(&v4)["added"]["file.file"], 2, "{engine}");
        test_db.close().await;
    }
}
