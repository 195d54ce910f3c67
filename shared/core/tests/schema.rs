//! The SQLite and PostgreSQL migrations define the same schema: the same tables, each with the
//! same columns, nullability and primary key, and the same indexes by name. Runs when
//! `DEPOT_TEST_PG_URL` names a server (tests/run.sh sets it).

mod common;

use std::collections::BTreeMap;

use common::databases;
use depot_core::db::Db;
use sqlx::Row;

/// table -> column -> (not null, part of the primary key)
type Columns = BTreeMap<String, BTreeMap<String, (bool, bool)>>;

async fn sqlite_schema(db: &Db) -> (Columns, Vec<String>) {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name NOT LIKE '_sqlx%'",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let mut out = Columns::new();
    for t in &tables {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT name, \"notnull\", pk FROM pragma_table_info('{t}')"
        )))
        .fetch_all(db.pool())
        .await
        .unwrap();
        let cols = out.entry(t.clone()).or_default();
        for r in rows {
            let pk = r.try_get::<i64, _>(2).unwrap() > 0;
            // SQLite lets a primary key column be NULL unless it says NOT NULL; PostgreSQL
            // never does: count primary key columns as not null on both.
            let not_null = r.try_get::<i64, _>(1).unwrap() == 1 || pk;
            cols.insert(r.try_get(0).unwrap(), (not_null, pk));
        }
    }
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    (out, sorted(indexes))
}

async fn postgres_schema(db: &Db) -> (Columns, Vec<String>) {
    let rows = sqlx::query(
        "SELECT c.table_name::text, c.column_name::text, (c.is_nullable = 'NO')::int4, \
           (EXISTS (SELECT 1 FROM information_schema.table_constraints tc \
             JOIN information_schema.key_column_usage k ON k.constraint_name = tc.constraint_name \
               AND k.table_name = tc.table_name \
             WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_name = c.table_name \
               AND k.column_name = c.column_name))::int4 \
         FROM information_schema.columns c \
         WHERE c.table_schema = 'public' AND c.table_name NOT LIKE '\\_sqlx%'",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let mut out = Columns::new();
    for r in rows {
        let table: String = r.try_get(0).unwrap();
        let not_null = r.try_get::<i32, _>(2).unwrap() == 1;
        let pk = r.try_get::<i32, _>(3).unwrap() == 1;
        out.entry(table)
            .or_default()
            .insert(r.try_get(1).unwrap(), (not_null, pk));
    }
    // Primary key and unique-constraint indexes are named by each engine its own way.
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public' \
         AND indexname NOT IN (SELECT conname FROM pg_constraint)",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    (out, sorted(indexes))
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn sqlite_and_postgres_migrations_agree() {
    depot_plugins::install();
    let dbs = databases().await;
    let Some(pg) = dbs.iter().find(|d| d.engine == "postgres") else {
        eprintln!("DEPOT_TEST_PG_URL is not set: only SQLite here, nothing to compare");
        return;
    };
    let sqlite = dbs.iter().find(|d| d.engine == "sqlite").unwrap();
    let (lite_cols, lite_idx) = sqlite_schema(&sqlite.db).await;
    let (pg_cols, pg_idx) = postgres_schema(&pg.db).await;
    assert!(lite_cols.len() > 10, "{lite_cols:?}");
    assert!(lite_idx.len() > 5, "{lite_idx:?}");
    let lite_tables: Vec<_> = lite_cols.keys().collect();
    let pg_tables: Vec<_> = pg_cols.keys().collect();
    assert_eq!(lite_tables, pg_tables, "tables differ");
    for (table, cols) in &lite_cols {
        assert_eq!(
            cols, &pg_cols[table],
            "columns of {table} differ (not null, primary key)"
        );
    }
    assert_eq!(lite_idx, pg_idx, "indexes differ");
    for d in dbs {
        d.close().await;
    }
}
