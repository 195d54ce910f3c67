//! The database: one code path over sqlx's `Any` driver, SQLite by default and PostgreSQL for
//! production. SQL is written to run unchanged on both (`$N` placeholders, text ids, text
//! timestamps, text JSON); the migrations are kept per engine in `migrations/`.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, AssertSqlSafe, Row, Transaction};

use crate::secrets::Secrets;
use crate::{CoreError, CoreResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    engine: Engine,
    /// The keys of the fields stored encrypted (`crate::secrets`); none until set.
    secrets: Option<Arc<Secrets>>,
}

pub type Tx = Transaction<'static, Any>;

/// A schema change, written once per engine. Core's are below; each plugin lists its own, and
/// all are applied in version order.
#[derive(Debug)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
    /// SQLite tables to rebuild after `sqlite` ran, to change their constraints.
    pub sqlite_rebuilds: &'static [Rebuild],
}

/// A SQLite table rebuilt with its `CREATE TABLE` text edited: SQLite's one way to change a
/// table's constraints. The text is the table's as it stands (plugins may have added columns),
/// each `(from, to)` edit must match exactly once, and every column is copied by name.
#[derive(Debug)]
pub struct Rebuild {
    pub table: &'static str,
    pub edits: &'static [(&'static str, &'static str)],
}

/// A [`Migration`] from `migrations/{sqlite,postgres}/<file>.sql` at the workspace root (for
/// crates under `shared/`).
#[macro_export]
macro_rules! migration {
    ($version:literal, $name:literal, $file:literal) => {
        $crate::db::Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../migrations/sqlite/",
                $file,
                ".sql"
            )),
            postgres: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../migrations/postgres/",
                $file,
                ".sql"
            )),
            sqlite_rebuilds: &[],
        }
    };
}

/// Core's migrations (the file plugin's tables are in the first: they came with it).
const CORE_MIGRATIONS: &[Migration] = &[
    crate::migration!(1, "init", "0001_init"),
    crate::migration!(2, "content_paths", "0002_content_paths"),
    crate::migration!(3, "task_queued_at", "0003_task_queued_at"),
    crate::migration!(7, "artifact_scans", "0007_artifact_scans"),
    crate::migration!(8, "users_and_groups", "0008_users_and_groups"),
    crate::migration!(9, "roles", "0009_roles"),
    crate::migration!(10, "access_policies", "0010_access_policies"),
    crate::migration!(11, "sessions", "0011_sessions"),
    crate::migration!(12, "content_guards", "0012_content_guards"),
    crate::db::Migration {
        sqlite_rebuilds: &DOMAIN_REBUILDS,
        ..crate::migration!(13, "domains", "0013_domains")
    },
    crate::db::Migration {
        sqlite_rebuilds: &CONTENT_REBUILDS,
        ..crate::migration!(14, "content_domains", "0014_content_domains")
    },
    crate::migration!(17, "x509_guards", "0017_x509_guards"),
    crate::migration!(18, "domain_default_guard", "0018_domain_default_guard"),
    crate::migration!(19, "envvar_guards", "0019_envvar_guards"),
    crate::migration!(20, "acs", "0020_acs"),
    crate::migration!(21, "task_prns", "0021_task_prns"),
    crate::migration!(22, "import_export", "0022_import_export"),
    crate::migration!(23, "workers", "0023_workers"),
    crate::migration!(24, "source_failures", "0024_source_failures"),
    crate::migration!(
        25,
        "distributed_publications",
        "0025_distributed_publications"
    ),
    crate::migration!(26, "task_diagnostics", "0026_task_diagnostics"),
    crate::migration!(27, "signing_services", "0027_signing_services"),
    crate::migration!(28, "upstream_pulps", "0028_upstream_pulps"),
    crate::migration!(29, "vulnerability_reports", "0029_vulnerability_reports"),
];

/// Names unique per domain (the columns were added by migration 13's SQL).
const DOMAIN_REBUILDS: [Rebuild; 4] = [
    Rebuild {
        table: "remotes",
        edits: &[("name TEXT NOT NULL UNIQUE", "name TEXT NOT NULL")],
    },
    Rebuild {
        table: "repositories",
        edits: &[("name TEXT NOT NULL UNIQUE", "name TEXT NOT NULL")],
    },
    Rebuild {
        table: "distributions",
        edits: &[
            ("name TEXT NOT NULL UNIQUE", "name TEXT NOT NULL"),
            ("base_path TEXT NOT NULL UNIQUE", "base_path TEXT NOT NULL"),
        ],
    },
    Rebuild {
        table: "content_guards",
        edits: &[("name TEXT NOT NULL UNIQUE", "name TEXT NOT NULL")],
    },
];

/// Content keys and artifacts' sha256 unique per domain (migration 14).
const CONTENT_REBUILDS: [Rebuild; 2] = [
    Rebuild {
        table: "artifacts",
        edits: &[("sha256 TEXT NOT NULL UNIQUE", "sha256 TEXT NOT NULL")],
    },
    Rebuild {
        table: "file_contents",
        edits: &[(",\n    UNIQUE (relative_path, sha256)\n", "\n")],
    },
];

/// Core's migrations and the installed plugins', in version order.
pub fn migrations() -> Vec<&'static Migration> {
    let mut all: Vec<&'static Migration> = CORE_MIGRATIONS
        .iter()
        .chain(
            crate::plugin::installed()
                .iter()
                .flat_map(|p| p.migrations.iter()),
        )
        .collect();
    all.sort_by_key(|m| m.version);
    all
}

#[derive(Debug, thiserror::Error)]
pub enum DbOpenError {
    #[error("DEPOT_DATABASE_URL must start with sqlite:// or postgres://, got '{0}'")]
    Scheme(String),
    #[error("cannot open the database named by DEPOT_DATABASE_URL: {0}")]
    Connect(#[from] sqlx::Error),
}

impl Db {
    /// This handle, with the keys its encrypted fields are read and written with.
    pub fn with_secrets(mut self, secrets: Secrets) -> Self {
        self.secrets = Some(Arc::new(secrets));
        self
    }

    /// The keys of the encrypted fields; an error when the process has none (a deployment
    /// without `PULP_DB_ENCRYPTION_KEY` cannot store secrets).
    pub fn secrets(&self) -> CoreResult<&Secrets> {
        self.secrets.as_deref().ok_or_else(|| {
            CoreError::Internal(
                "no key file for secrets at rest: set PULP_DB_ENCRYPTION_KEY".into(),
            )
        })
    }

    /// Whether the database answers a trivial statement.
    pub async fn is_reachable(&self) -> bool {
        sqlx::query("SELECT 1").execute(self.pool()).await.is_ok()
    }

    pub async fn connect(url: &str) -> Result<Self, DbOpenError> {
        sqlx::any::install_default_drivers();
        let engine = if url.starts_with("sqlite:") {
            Engine::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Engine::Postgres
        } else {
            return Err(DbOpenError::Scheme(url.to_string()));
        };
        let options = AnyConnectOptions::from_str(url)?;
        let pool = match engine {
            Engine::Sqlite => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // Cheap per-connection settings only: the journal mode is set
                            // once below, since changing it needs the database to itself.
                            // LIKE matches case as PostgreSQL's does (`__contains` is exact).
                            sqlx::raw_sql(
                                "PRAGMA busy_timeout = 30000; PRAGMA synchronous = NORMAL; \
                                 PRAGMA foreign_keys = ON; PRAGMA case_sensitive_like = ON;",
                            )
                            .execute(conn)
                            .await?;
                            Ok(())
                        })
                    })
                    .after_release(|conn, _| {
                        Box::pin(async move {
                            // After a failed statement (a full disk), SQLite may have ended
                            // the transaction by itself, or refused to roll it back while a
                            // statement was still open; either way sqlx's idea of it may be
                            // wrong. A connection still inside a transaction would hold the
                            // write lock, and read an old snapshot, until restart: BEGIN fails
                            // on it, and it is closed instead (closing rolls back). Checked
                            // only for a while after a failure: it costs a trip to SQLite.
                            if !failed_recently() {
                                return Ok(true);
                            }
                            let clean = sqlx::raw_sql("BEGIN DEFERRED; ROLLBACK")
                                .execute(&mut *conn)
                                .await
                                .is_ok();
                            if !clean {
                                tracing::warn!(
                                    "closing a database connection left in a transaction"
                                );
                            }
                            Ok(clean)
                        })
                    })
                    .connect_with(options)
                    .await?;
                sqlx::raw_sql("PRAGMA journal_mode = WAL")
                    .execute(&pool)
                    .await?;
                pool
            }
            Engine::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .connect_with(options)
                    .await?
            }
        };
        Ok(Self {
            pool,
            engine,
            secrets: None,
        })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Applies the migrations not yet applied. The local runner calls this at start-up; a
    /// serverless deployment runs it as its own step.
    pub async fn migrate(&self) -> CoreResult<()> {
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS depot_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied TEXT NOT NULL)",
        )
        .execute(&self.pool)
        .await?;
        for m in migrations() {
            match self.engine {
                Engine::Postgres => {
                    let mut tx = self.pool.begin().await?;
                    if apply(&mut tx, m, m.postgres).await? {
                        tx.commit().await?;
                    }
                }
                Engine::Sqlite => self.migrate_sqlite(m).await?,
            }
        }
        Ok(())
    }

    /// SQLite changes a table's constraints only by rebuilding it, which its docs say to do
    /// with foreign keys off (else dropping the old table would cascade); that switch works
    /// only outside a transaction, so each migration runs on a connection of its own, and the
    /// keys are checked before it commits.
    async fn migrate_sqlite(&self, m: &'static Migration) -> CoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        sqlx::raw_sql("PRAGMA foreign_keys = OFF")
            .execute(&mut *conn)
            .await?;
        let result = migrate_sqlite_on(&mut conn, m).await;
        let restored = sqlx::raw_sql("PRAGMA foreign_keys = ON")
            .execute(&mut *conn)
            .await;
        if result.is_err() || restored.is_err() {
            // Never hand a connection without foreign keys back to the pool.
            conn.close_on_drop();
        }
        result?;
        restored?;
        Ok(())
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock first, so that a
    /// transaction never has to upgrade a read lock (which SQLite refuses under contention).
    pub async fn begin_write(&self) -> CoreResult<Tx> {
        let mut tx = self.pool.begin().await?;
        if self.engine == Engine::Sqlite {
            take_sqlite_write_lock(&mut tx).await?;
        }
        Ok(tx)
    }
}

async fn take_sqlite_write_lock(tx: &mut sqlx::AnyConnection) -> CoreResult<()> {
    let locked = sqlx::query("UPDATE task_lock SET counter = counter WHERE id = 0")
        .execute(&mut *tx)
        .await;
    match locked {
        // Before the first migration there is no lock row to write.
        Err(sqlx::Error::Database(e)) if e.message().contains("no such table") => Ok(()),
        Err(e) => Err(e.into()),
        Ok(_) => Ok(()),
    }
}

async fn migrate_sqlite_on(
    conn: &mut sqlx::AnyConnection,
    m: &'static Migration,
) -> CoreResult<()> {
    use sqlx::Connection;
    let mut tx = conn.begin().await?;
    take_sqlite_write_lock(&mut tx).await?;
    if apply(&mut tx, m, m.sqlite).await? {
        for r in m.sqlite_rebuilds {
            rebuild(&mut tx, r).await?;
        }
        let broken: Vec<AnyRow> = sqlx::query("PRAGMA foreign_key_check")
            .fetch_all(&mut *tx)
            .await?;
        if !broken.is_empty() {
            return Err(CoreError::Internal(format!(
                "migration {} would break {} foreign keys",
                m.version,
                broken.len()
            )));
        }
        tx.commit().await?;
    }
    Ok(())
}

/// Rebuilds a SQLite table with its `CREATE TABLE` text edited (see [`Rebuild`]), keeping its
/// rows and its indexes.
async fn rebuild(conn: &mut sqlx::AnyConnection, r: &Rebuild) -> CoreResult<()> {
    let fail = |what: String| CoreError::Internal(format!("rebuilding {}: {what}", r.table));
    let sql: String =
        sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = $1")
            .bind(r.table)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| fail("no such table".into()))?;
    let (head, body) = sql
        .split_once('(')
        .ok_or_else(|| fail("no column list".into()))?;
    let mut body = body.to_string();
    for (from, to) in r.edits {
        if body.matches(from).count() != 1 {
            return Err(fail(format!("'{from}' is not in it once")));
        }
        body = body.replacen(from, to, 1);
    }
    let temp = format!("depot_rebuilt_{}", r.table);
    if !head.trim_end().trim_end_matches('"').ends_with(r.table) {
        return Err(fail(format!("unexpected head '{head}'")));
    }
    let columns: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT name FROM pragma_table_info('{}')",
        r.table
    )))
    .fetch_all(&mut *conn)
    .await?;
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL",
    )
    .bind(r.table)
    .fetch_all(&mut *conn)
    .await?;
    let columns = columns.join(", ");
    let statements = [
        format!("CREATE TABLE {temp} ({body}"),
        format!(
            "INSERT INTO {temp} ({columns}) SELECT {columns} FROM {}",
            r.table
        ),
        format!("DROP TABLE {}", r.table),
        format!("ALTER TABLE {temp} RENAME TO {}", r.table),
    ];
    for sql in statements.iter().chain(indexes.iter()) {
        sqlx::raw_sql(AssertSqlSafe(sql.clone()))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Runs `sql` of migration `m` in `tx` unless it was applied; true when it ran.
async fn apply(
    tx: &mut sqlx::AnyConnection,
    m: &'static Migration,
    sql: &'static str,
) -> CoreResult<bool> {
    let done: Option<i64> =
        sqlx::query_scalar("SELECT version FROM depot_migrations WHERE version = $1")
            .bind(m.version)
            .fetch_optional(&mut *tx)
            .await?;
    if done.is_some() {
        return Ok(false);
    }
    sqlx::raw_sql(sql).execute(&mut *tx).await?;
    sqlx::query("INSERT INTO depot_migrations (version, name, applied) VALUES ($1, $2, $3)")
        .bind(m.version)
        .bind(m.name)
        .bind(crate::time::now())
        .execute(&mut *tx)
        .await?;
    Ok(true)
}

/// When a statement last failed, in seconds since [`EPOCH`] plus one (0: never).
static LAST_FAILURE: AtomicU64 = AtomicU64::new(0);
static EPOCH: OnceLock<Instant> = OnceLock::new();
/// How long after a failed statement released connections are checked for a transaction left
/// open (the connection that failed is released at once, or when its task ends).
const CHECK_AFTER_FAILURE: u64 = 600;

/// Records that a statement failed (the error conversion into `CoreError` calls this).
pub fn note_failed_statement() {
    let epoch = EPOCH.get_or_init(Instant::now);
    LAST_FAILURE.store(epoch.elapsed().as_secs() + 1, Ordering::Relaxed);
}

fn failed_recently() -> bool {
    let last = LAST_FAILURE.load(Ordering::Relaxed);
    let Some(epoch) = EPOCH.get() else {
        return false;
    };
    last != 0 && epoch.elapsed().as_secs() < last + CHECK_AFTER_FAILURE
}

/// Reads a boolean column; SQLite may hand back an integer for computed values.
pub fn get_bool(row: &AnyRow, col: &str) -> CoreResult<bool> {
    match row.try_get::<bool, _>(col) {
        Ok(b) => Ok(b),
        Err(_) => Ok(row.try_get::<i64, _>(col)? != 0),
    }
}

/// Reads a JSON text column.
pub fn get_json(row: &AnyRow, col: &str) -> CoreResult<serde_json::Value> {
    let text: Option<String> = row.try_get(col)?;
    Ok(match text {
        Some(t) => {
            serde_json::from_str(&t).map_err(|e| crate::CoreError::Internal(e.to_string()))?
        }
        None => serde_json::Value::Null,
    })
}

/// Builds `$start, $start+1, ...` placeholders for an `IN (...)` list.
pub fn placeholders(start: usize, count: usize) -> String {
    (start..start + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
