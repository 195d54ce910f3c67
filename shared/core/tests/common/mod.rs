//! Databases for the library tests: SQLite always, PostgreSQL when `DEPOT_TEST_PG_URL` names a
//! server (each run creates its own database and drops it in `close`).

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use depot_core::db::Db;
use sqlx::AssertSqlSafe;

/// A migrated database of one engine; PostgreSQL ones are dropped by [`TestDb::close`].
pub struct TestDb {
    pub engine: &'static str,
    pub db: Db,
    dir: tempfile::TempDir,
    pg_admin: Option<(Db, String)>,
}

impl TestDb {
    /// A scratch directory that lives as long as the database.
    pub fn dir(&self) -> std::path::PathBuf {
        self.dir.path().to_path_buf()
    }

    pub async fn close(self) {
        self.db.pool().close().await;
        if let Some((admin, name)) = self.pg_admin {
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            sqlx::raw_sql(AssertSqlSafe(sql))
                .execute(admin.pool())
                .await
                .unwrap();
        }
    }
}

pub async fn databases() -> Vec<TestDb> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Db::connect(&format!("sqlite://{}/t.db?mode=rwc", dir.path().display()))
        .await
        .unwrap();
    sqlite.migrate().await.unwrap();
    let mut out = vec![TestDb {
        engine: "sqlite",
        db: sqlite,
        dir,
        pg_admin: None,
    }];
    if let Ok(url) = std::env::var("DEPOT_TEST_PG_URL") {
        let admin = Db::connect(&url)
            .await
            .expect("DEPOT_TEST_PG_URL must be reachable");
        let name = format!("depot_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(admin.pool())
            .await
            .unwrap();
        let base = url.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap();
        let pg = Db::connect(&format!("{base}/{name}")).await.unwrap();
        pg.migrate().await.unwrap();
        out.push(TestDb {
            engine: "postgres",
            db: pg,
            dir: tempfile::tempdir().unwrap(),
            pg_admin: Some((admin, name)),
        });
    }
    out
}
