//! The package content store: recording packages (once per sha256) and reading what a
//! repository version holds, for the index pages and the REST lists.

use depot_core::CoreResult;
use depot_core::db::{Db, Tx};
use depot_core::models::list::Table;
use depot_core::models::version::present_condition;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::PACKAGE_TYPE;
use crate::filename::DistFile;
use crate::metadata::CoreMetadata;

/// A package as stored.
#[derive(Debug, Clone)]
pub struct Package {
    pub content_id: String,
    pub filename: String,
    pub sha256: String,
    pub name: String,
    pub name_normalized: String,
    pub version: String,
    pub packagetype: String,
    pub python_version: String,
    pub requires_python: Option<String>,
    pub size: i64,
    pub metadata: Value,
    pub metadata_sha256: Option<String>,
    pub created: String,
    pub updated: String,
    pub pulp_labels: Value,
    /// The package file's artifact, when its bytes are stored.
    pub artifact_id: Option<String>,
    /// Its vulnerability report, when a scan made one.
    pub vuln_report_id: Option<String>,
}

/// The columns of [`Package`], for `FROM python_packages p JOIN contents c ON c.id = p.content_id`.
pub const COLUMNS: &str = "p.content_id, p.filename, p.sha256, p.name, p.name_normalized, p.version, p.packagetype, \
    p.python_version, p.requires_python, p.size, p.metadata, p.metadata_sha256, c.created, c.updated, c.pulp_labels, \
    (SELECT ca.artifact_id FROM content_artifacts ca WHERE ca.content_id = p.content_id AND ca.relative_path = p.filename) \
    AS artifact_id, \
    (SELECT v.id FROM vulnerability_reports v WHERE v.content_id = p.content_id) AS vuln_report_id";

pub const FROM: &str = "python_packages p JOIN contents c ON c.id = p.content_id";

/// Packages as lists see them. `name` is the normalized project name (filters and orderings
/// by name go by it); `display_name` is the name as the metadata spells it.
pub static TABLE: Table = Table {
    select: COLUMNS,
    from: FROM,
    fields: &[
        ("pulp_labels", "c.pulp_labels"),
        ("id", "c.id"),
        ("pk", "c.id"),
        ("name", "p.name_normalized"),
        ("display_name", "p.name"),
        ("filename", "p.filename"),
        ("packagetype", "p.packagetype"),
        ("sha256", "p.sha256"),
        ("version", "p.version"),
        ("pulp_created", "c.created"),
    ],
    domain: Some("c.domain_id"),
};

impl Package {
    pub fn from_row(r: &AnyRow) -> CoreResult<Self> {
        let json = |col: &str| -> CoreResult<Value> {
            let text: String = r.try_get(col)?;
            Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
        };
        Ok(Package {
            content_id: r.try_get("content_id")?,
            filename: r.try_get("filename")?,
            sha256: r.try_get("sha256")?,
            name: r.try_get("name")?,
            name_normalized: r.try_get("name_normalized")?,
            version: r.try_get("version")?,
            packagetype: r.try_get("packagetype")?,
            python_version: r.try_get("python_version")?,
            requires_python: r.try_get("requires_python")?,
            size: r.try_get("size")?,
            metadata: json("metadata")?,
            metadata_sha256: r.try_get("metadata_sha256")?,
            created: r.try_get("created")?,
            updated: r.try_get("updated")?,
            pulp_labels: json("pulp_labels")?,
            artifact_id: r.try_get("artifact_id")?,
            vuln_report_id: r.try_get("vuln_report_id")?,
        })
    }
}

/// What a new package is made of.
pub struct NewPackage<'a> {
    pub filename: &'a str,
    pub dist: &'a DistFile,
    pub meta: &'a CoreMetadata,
    pub sha256: &'a str,
    pub size: i64,
    pub artifact_id: &'a str,
    /// A wheel's METADATA as an artifact, with its sha256.
    pub metadata_artifact: Option<(&'a str, &'a str)>,
}

/// The values of a new package row.
struct PackageRow<'a> {
    filename: &'a str,
    sha256: &'a str,
    dist: &'a DistFile,
    name: &'a str,
    version: &'a str,
    requires_python: Option<String>,
    size: i64,
    metadata: Value,
    metadata_sha256: Option<&'a str>,
}

/// The package with sha256 `$1` in domain `$2`.
const FIND: &str = "SELECT content_id FROM python_packages WHERE sha256 = $1 AND domain_id = $2";

/// Inserts the content and package rows; `None` when the same file was recorded meanwhile by a
/// concurrent upload or sync (the caller then takes that one).
async fn insert(tx: &mut Tx, r: &PackageRow<'_>) -> CoreResult<Option<String>> {
    let id = depot_core::new_id();
    sqlx::query(
        "INSERT INTO contents (id, pulp_type, pulp_labels, created, updated, repo_key, domain_id) \
         VALUES ($1, $2, '{}', $3, $3, $4, $5)",
    )
    .bind(&id)
    .bind(PACKAGE_TYPE)
    .bind(depot_core::time::now())
    .bind(r.filename)
    .bind(depot_core::domain::id().to_string())
    .execute(&mut **tx)
    .await?;
    let inserted = sqlx::query(
        "INSERT INTO python_packages (content_id, filename, sha256, name, name_normalized, version, packagetype, \
         python_version, requires_python, size, metadata, metadata_sha256, domain_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT (domain_id, sha256) DO NOTHING",
    )
    .bind(&id)
    .bind(r.filename)
    .bind(r.sha256)
    .bind(r.name)
    .bind(crate::names::normalize(r.name))
    .bind(r.version)
    .bind(r.dist.packagetype)
    .bind(&r.dist.python_version)
    .bind(r.requires_python.clone())
    .bind(r.size)
    .bind(r.metadata.to_string())
    .bind(r.metadata_sha256)
    .bind(depot_core::domain::id().to_string())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok((inserted == 1).then_some(id))
}

/// A file of the package: its bytes (`None`: still upstream) under `relative_path`.
async fn add_file(
    tx: &mut Tx,
    content_id: &str,
    relative_path: &str,
    artifact_id: Option<&str>,
) -> CoreResult<()> {
    sqlx::query(
        "INSERT INTO content_artifacts (id, content_id, artifact_id, relative_path) VALUES ($1, $2, $3, $4)",
    )
    .bind(depot_core::new_id())
    .bind(content_id)
    .bind(artifact_id)
    .bind(relative_path)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The package `content_id`.
pub async fn get(db: &Db, content_id: &str) -> CoreResult<Package> {
    let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE p.content_id = $1 AND c.domain_id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(content_id)
        .bind(depot_core::domain::id().to_string())
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| depot_core::CoreError::not_found("PythonPackageContent"))?;
    Package::from_row(&row)
}

/// Records a package, or finds the one with the same sha256. Returns its content id. A package
/// recorded earlier without its bytes (on demand) gets them, and a wheel its metadata file.
pub async fn add(db: &Db, p: NewPackage<'_>) -> CoreResult<String> {
    let mut tx = db.begin_write().await?;
    let existing: Option<String> = sqlx::query_scalar(FIND)
        .bind(p.sha256)
        .bind(depot_core::domain::id().to_string())
        .fetch_optional(&mut *tx)
        .await?;
    let metadata_path = format!("{}.metadata", p.filename);
    let id = match existing {
        Some(id) => {
            complete(&mut tx, &id, &p, &metadata_path).await?;
            id
        }
        None => {
            let row = PackageRow {
                filename: p.filename,
                sha256: p.sha256,
                dist: p.dist,
                name: p.meta.name(),
                version: p.meta.version(),
                requires_python: p.meta.get("requires-python").map(str::to_string),
                size: p.size,
                metadata: Value::Object(p.meta.to_json()),
                metadata_sha256: p.metadata_artifact.map(|(_, sha)| sha),
            };
            let Some(id) = insert(&mut tx, &row).await? else {
                drop(tx);
                return Ok(sqlx::query_scalar(FIND)
                    .bind(p.sha256)
                    .bind(depot_core::domain::id().to_string())
                    .fetch_one(db.pool())
                    .await?);
            };
            add_file(&mut tx, &id, p.filename, Some(p.artifact_id)).await?;
            if let Some((artifact, _)) = p.metadata_artifact {
                add_file(&mut tx, &id, &metadata_path, Some(artifact)).await?;
            }
            id
        }
    };
    tx.commit().await?;
    Ok(id)
}

/// Completes a package that was recorded without its file: the bytes are attached and, for a
/// wheel, the metadata read from it replaces what the index said.
async fn complete(
    tx: &mut Tx,
    id: &str,
    p: &NewPackage<'_>,
    metadata_path: &str,
) -> CoreResult<()> {
    sqlx::query(
        "UPDATE content_artifacts SET artifact_id = $3 WHERE content_id = $1 AND relative_path = $2 \
         AND artifact_id IS NULL",
    )
    .bind(id)
    .bind(p.filename)
    .bind(p.artifact_id)
    .execute(&mut **tx)
    .await?;
    let Some((artifact, sha)) = p.metadata_artifact else {
        return Ok(());
    };
    let updated = sqlx::query(
        "UPDATE python_packages SET metadata = $2, metadata_sha256 = $3, requires_python = $4 \
         WHERE content_id = $1 AND metadata_sha256 IS NULL",
    )
    .bind(id)
    .bind(Value::Object(p.meta.to_json()).to_string())
    .bind(sha)
    .bind(p.meta.get("requires-python").map(str::to_string))
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if updated == 1 {
        add_file(tx, id, metadata_path, Some(artifact)).await?;
    }
    Ok(())
}

/// The packages of a repository version, of one project (normalized name) or all, ordered by
/// name and file name.
pub async fn in_version(
    db: &Db,
    repository_id: &str,
    number: i64,
    project: Option<&str>,
) -> CoreResult<Vec<Package>> {
    let mut sql = format!(
        "SELECT {COLUMNS} FROM {FROM} JOIN repository_contents rc ON rc.content_id = p.content_id WHERE {}",
        present_condition(1, 2)
    );
    if project.is_some() {
        sql.push_str(" AND p.name_normalized = $3");
    }
    sql.push_str(" ORDER BY p.name_normalized, p.filename");
    let mut q = sqlx::query(AssertSqlSafe(sql))
        .bind(repository_id)
        .bind(number);
    if let Some(p) = project {
        q = q.bind(p);
    }
    q.fetch_all(db.pool())
        .await?
        .iter()
        .map(Package::from_row)
        .collect()
}

/// The project names (as uploaded, one per normalized name) of a repository version.
pub async fn projects(db: &Db, repository_id: &str, number: i64) -> CoreResult<Vec<String>> {
    let sql = format!(
        "SELECT MIN(p.name), p.name_normalized FROM python_packages p \
         JOIN repository_contents rc ON rc.content_id = p.content_id WHERE {} \
         GROUP BY p.name_normalized ORDER BY p.name_normalized",
        present_condition(1, 2)
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(repository_id)
        .bind(number)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// The sha256 of the package named `filename` in a repository version, if there is one.
pub async fn filename_in_version(
    db: &Db,
    repository_id: &str,
    number: i64,
    filename: &str,
) -> CoreResult<Option<String>> {
    let sql = format!(
        "SELECT p.sha256 FROM python_packages p JOIN repository_contents rc ON rc.content_id = p.content_id \
         WHERE {} AND p.filename = $3",
        present_condition(1, 2)
    );
    Ok(sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(repository_id)
        .bind(number)
        .bind(filename)
        .fetch_optional(db.pool())
        .await?)
}

/// The package with this sha256 in the domain in force, if it is stored.
pub async fn by_sha256(db: &Db, sha256: &str) -> CoreResult<Option<String>> {
    Ok(sqlx::query_scalar(FIND)
        .bind(sha256)
        .bind(depot_core::domain::id().to_string())
        .fetch_optional(db.pool())
        .await?)
}

/// Records a package whose file stays upstream until first downloaded (then checked against
/// `sha256` and saved). Its metadata is what the index said: name, version, requires-python.
pub async fn add_remote(
    db: &Db,
    dist: &DistFile,
    file: &crate::upstream::RemoteFile,
    size: Option<i64>,
    remote_id: &str,
) -> CoreResult<String> {
    let sha256 = file.sha256.as_deref().unwrap_or_default();
    let mut tx = db.begin_write().await?;
    let existing: Option<String> = sqlx::query_scalar(FIND)
        .bind(sha256)
        .bind(depot_core::domain::id().to_string())
        .fetch_optional(&mut *tx)
        .await?;
    let id = match existing {
        Some(id) => id,
        None => {
            let row = PackageRow {
                filename: &file.filename,
                sha256,
                dist,
                name: &dist.name,
                version: &dist.version,
                requires_python: file.requires_python.clone(),
                size: size.unwrap_or(0),
                metadata: serde_json::json!({"name": dist.name, "version": dist.version,
                                             "requires_python": file.requires_python}),
                metadata_sha256: None,
            };
            let Some(id) = insert(&mut tx, &row).await? else {
                drop(tx);
                return Ok(sqlx::query_scalar(FIND)
                    .bind(sha256)
                    .bind(depot_core::domain::id().to_string())
                    .fetch_one(db.pool())
                    .await?);
            };
            add_file(&mut tx, &id, &file.filename, None).await?;
            id
        }
    };
    let ca_id: String = sqlx::query_scalar(
        "SELECT id FROM content_artifacts WHERE content_id = $1 AND relative_path = $2",
    )
    .bind(&id)
    .bind(&file.filename)
    .fetch_one(&mut *tx)
    .await?;
    let sha = (!sha256.is_empty()).then_some(sha256);
    depot_core::models::content::add_remote_source(
        &mut tx, &ca_id, remote_id, &file.url, size, sha,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}
