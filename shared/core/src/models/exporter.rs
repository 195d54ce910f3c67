//! Exporters (Pulp's PulpExporter and FilesystemExporter) and the exports each has run. An
//! exporter names where exports go (a folder under `PULP_ALLOWED_EXPORT_PATHS`) and, for a
//! Pulp exporter, the repositories it exports; an export records what it exported and the
//! files it wrote with their checksums. Writing the files is [`crate::importexport`]'s.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::list::Table;
use crate::db::Db;
use crate::hrefs::{FS_EXPORTER, Kind, PULP_EXPORTER, TASK};
use crate::{CoreError, CoreResult};

/// The most repositories one Pulp exporter may name.
pub const MAX_REPOSITORIES: usize = 1000;

/// How a filesystem export places files (Pulp's `FS_EXPORT_METHODS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Write,
    Hardlink,
    Symlink,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Write => "write",
            Method::Hardlink => "hardlink",
            Method::Symlink => "symlink",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "hardlink" => Method::Hardlink,
            "symlink" => Method::Symlink,
            _ => Method::Write,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Exporter {
    pub id: String,
    pub kind: Kind,
    pub name: String,
    pub path: String,
    /// Filesystem exporters only.
    pub method: Option<Method>,
    pub last_export_id: Option<String>,
    pub created: String,
    pub updated: String,
}

/// A Pulp exporter as Pulp shows it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PulpExporterResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    /// Unique name of the exporter.
    pub name: String,
    /// File system directory to store exported tar.gzs.
    pub path: String,
    pub repositories: Vec<String>,
    /// Last attempted export for this PulpExporter
    pub last_export: Option<String>,
}

/// A filesystem exporter as Pulp shows it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FilesystemExporterResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    /// Unique name of the exporter.
    pub name: String,
    /// File system location to export to.
    pub path: String,
    /// Method of exporting
    pub method: Method,
}

const COLUMNS: &str = "id, kind, name, path, method, last_export_id, created, updated";

/// Exporters as lists see them; each list adds its kind.
pub static TABLE: Table = Table {
    select: COLUMNS,
    from: "exporters",
    fields: &[
        ("id", "id"),
        ("pk", "id"),
        ("kind", "kind"),
        ("name", "name"),
        ("pulp_created", "created"),
        ("pulp_last_updated", "updated"),
    ],
    domain: Some("exporters.domain_id"),
};

/// The kind column of an exporter type.
pub fn kind_name(kind: Kind) -> &'static str {
    if kind == &FS_EXPORTER {
        "filesystem"
    } else {
        "pulp"
    }
}

impl Exporter {
    pub fn from_row(row: &AnyRow) -> CoreResult<Self> {
        let kind: String = row.try_get("kind")?;
        let method: Option<String> = row.try_get("method")?;
        Ok(Self {
            id: row.try_get("id")?,
            kind: if kind == "filesystem" {
                &FS_EXPORTER
            } else {
                &PULP_EXPORTER
            },
            name: row.try_get("name")?,
            path: row.try_get("path")?,
            method: method.as_deref().map(Method::parse),
            last_export_id: row.try_get("last_export_id")?,
            created: row.try_get("created")?,
            updated: row.try_get("updated")?,
        })
    }

    pub fn href(&self) -> String {
        self.kind.href(&self.id)
    }

    /// The href of its export `export_id`.
    pub fn export_href(&self, export_id: &str) -> String {
        format!("{}exports/{export_id}/", self.href())
    }

    /// The PRN model of its exports.
    pub fn export_prn(&self, export_id: &str) -> String {
        let model = match self.kind == &FS_EXPORTER {
            true => "core.filesystemexport",
            false => "core.pulpexport",
        };
        format!("prn:{model}:{export_id}")
    }

    pub async fn pulp_response(&self, db: &Db) -> CoreResult<PulpExporterResponse> {
        let mut repositories = Vec::new();
        for id in repositories_of(db, &self.id).await? {
            let r = super::repository::get(db, &id).await?;
            repositories.push(r.href());
        }
        Ok(PulpExporterResponse {
            pulp_href: self.href(),
            prn: self.kind.prn(&self.id),
            pulp_created: self.created.clone(),
            pulp_last_updated: self.updated.clone(),
            name: self.name.clone(),
            path: self.path.clone(),
            repositories,
            last_export: self.last_export_id.as_deref().map(|e| self.export_href(e)),
        })
    }

    pub fn filesystem_response(&self) -> FilesystemExporterResponse {
        FilesystemExporterResponse {
            pulp_href: self.href(),
            prn: self.kind.prn(&self.id),
            pulp_created: self.created.clone(),
            pulp_last_updated: self.updated.clone(),
            name: self.name.clone(),
            path: self.path.clone(),
            method: self.method.unwrap_or(Method::Write),
        }
    }
}

/// What a new exporter or an update sets.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExporterFields {
    pub name: Option<String>,
    pub path: Option<String>,
    pub method: Option<Method>,
    /// Pulp exporters: the repositories' ids.
    pub repositories: Option<Vec<String>>,
    /// Pulp exporters: `Some(None)` clears it; `None` (not sent) keeps it, and is left out of
    /// the task's arguments so that it does not come back as a null.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    pub last_export_id: Option<Option<String>>,
}

/// Serde for `Option<Option<T>>` that keeps "absent" and "null" apart.
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Option<String>>, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

/// Creates an exporter of `kind` in the domain in force.
pub async fn create(db: &Db, kind: Kind, f: &ExporterFields) -> CoreResult<Exporter> {
    let id = crate::new_id();
    let now = crate::time::now();
    let mut tx = db.begin_write().await?;
    let res = sqlx::query(
        "INSERT INTO exporters (id, kind, name, path, method, last_export_id, domain_id, created, updated) \
         VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, $7)",
    )
    .bind(&id)
    .bind(kind_name(kind))
    .bind(f.name.clone().unwrap_or_default())
    .bind(f.path.clone().unwrap_or_default())
    .bind(f.method.map(|m| m.as_str().to_string()))
    .bind(crate::domain::id().to_string())
    .bind(now)
    .execute(&mut *tx)
    .await;
    super::remote::unique_name(res.map_err(CoreError::from))?;
    if let Some(repos) = &f.repositories {
        set_repositories(&mut tx, &id, repos).await?;
    }
    tx.commit().await?;
    get(db, &id).await
}

async fn set_repositories(tx: &mut crate::db::Tx, id: &str, repos: &[String]) -> CoreResult<()> {
    sqlx::query("DELETE FROM exporter_repositories WHERE exporter_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for r in repos {
        sqlx::query(
            "INSERT INTO exporter_repositories (exporter_id, repository_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(r)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Applies an update; what is not given stays.
pub async fn update(db: &Db, id: &str, f: &ExporterFields) -> CoreResult<Exporter> {
    let e = get(db, id).await?;
    let mut tx = db.begin_write().await?;
    let last = match &f.last_export_id {
        Some(v) => v.clone(),
        None => e.last_export_id.clone(),
    };
    let res = sqlx::query(
        "UPDATE exporters SET name = $2, path = $3, method = $4, last_export_id = $5, updated = $6 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(f.name.as_deref().unwrap_or(&e.name))
    .bind(f.path.as_deref().unwrap_or(&e.path))
    .bind(f.method.or(e.method).map(|m| m.as_str().to_string()))
    .bind(last)
    .bind(crate::time::now())
    .execute(&mut *tx)
    .await;
    super::remote::unique_name(res.map_err(CoreError::from))?;
    if let Some(repos) = &f.repositories {
        set_repositories(&mut tx, id, repos).await?;
    }
    tx.commit().await?;
    get(db, id).await
}

pub async fn delete(db: &Db, id: &str) -> CoreResult<()> {
    sqlx::query("DELETE FROM exporters WHERE id = $1")
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// The exporter `id` in the domain in force.
pub async fn get(db: &Db, id: &str) -> CoreResult<Exporter> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM exporters WHERE id = $1 AND domain_id = $2"
    )))
    .bind(id)
    .bind(crate::domain::id().to_string())
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| CoreError::not_found("Exporter"))?;
    Exporter::from_row(&row)
}

/// The exporter `id`, which must be of type `kind`.
pub async fn get_of_type(db: &Db, id: &str, kind: Kind) -> CoreResult<Exporter> {
    let e = get(db, id).await?;
    if e.kind != kind {
        return Err(CoreError::not_found("Exporter"));
    }
    Ok(e)
}

/// The ids of the repositories a Pulp exporter exports, oldest first.
pub async fn repositories_of(db: &Db, id: &str) -> CoreResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT er.repository_id FROM exporter_repositories er \
         JOIN repositories r ON r.id = er.repository_id WHERE er.exporter_id = $1 \
         ORDER BY r.created, r.id",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?)
}

/// One export an exporter ran.
#[derive(Debug, Clone)]
pub struct Export {
    pub id: String,
    pub exporter_id: String,
    pub task_id: Option<String>,
    pub params: Value,
    /// What was exported: `{"kind": <prn model>, "id": ..., "href": ...}` each.
    pub exported_resources: Vec<ExportedResource>,
    pub output_file_info: Option<Value>,
    pub toc_info: Option<Value>,
    pub created: String,
    pub updated: String,
}

/// A repository version or publication an export wrote out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportedResource {
    pub href: String,
    /// The version's or publication's id.
    pub id: String,
    /// The repository it belongs to (versions only).
    #[serde(default)]
    pub repository_id: Option<String>,
}

/// A Pulp export as Pulp shows it: an export's fields, and the files it wrote.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PulpExportResponse {
    #[serde(flatten)]
    pub export: FilesystemExportResponse,
    /// Dictionary of filename: hash entries for export-output-file(s)
    pub output_file_info: Option<Value>,
    /// Filename, checksum and meta of table-of-contents for this export
    pub toc_info: Option<Value>,
}

/// A filesystem export as Pulp shows it (and the part every export shows).
#[derive(Debug, Serialize, JsonSchema)]
pub struct FilesystemExportResponse {
    pub pulp_href: String,
    pub prn: String,
    pub pulp_created: String,
    pub pulp_last_updated: String,
    /// A URI of the task that ran the Export.
    pub task: Option<String>,
    /// Resources that were exported.
    pub exported_resources: Vec<String>,
    /// Any additional parameters that were used to create the export.
    pub params: Value,
}

const EXPORT_COLUMNS: &str = "id, exporter_id, task_id, params, exported_resources, \
    output_file_info, toc_info, created, updated";

/// Exports as lists see them; each list adds its exporter.
pub static EXPORTS: Table = Table {
    select: EXPORT_COLUMNS,
    from: "exports",
    fields: &[
        ("id", "id"),
        ("pk", "id"),
        ("exporter_id", "exporter_id"),
        ("pulp_created", "created"),
        ("pulp_last_updated", "updated"),
    ],
    domain: Some("exports.domain_id"),
};

fn json_column(row: &AnyRow, name: &str) -> CoreResult<Option<Value>> {
    let text: Option<String> = row.try_get(name)?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

impl Export {
    pub fn from_row(row: &AnyRow) -> CoreResult<Self> {
        let resources = json_column(row, "exported_resources")?.unwrap_or(json!([]));
        Ok(Self {
            id: row.try_get("id")?,
            exporter_id: row.try_get("exporter_id")?,
            task_id: row.try_get("task_id")?,
            params: json_column(row, "params")?.unwrap_or(json!({})),
            exported_resources: serde_json::from_value(resources).unwrap_or_default(),
            output_file_info: json_column(row, "output_file_info")?,
            toc_info: json_column(row, "toc_info")?,
            created: row.try_get("created")?,
            updated: row.try_get("updated")?,
        })
    }

    pub fn pulp_response(&self, exporter: &Exporter) -> PulpExportResponse {
        PulpExportResponse {
            export: self.filesystem_response(exporter),
            output_file_info: self.output_file_info.clone(),
            toc_info: self.toc_info.clone(),
        }
    }

    pub fn filesystem_response(&self, exporter: &Exporter) -> FilesystemExportResponse {
        FilesystemExportResponse {
            pulp_href: exporter.export_href(&self.id),
            prn: exporter.export_prn(&self.id),
            pulp_created: self.created.clone(),
            pulp_last_updated: self.updated.clone(),
            task: self.task_id.as_deref().map(|t| TASK.href(t)),
            exported_resources: self.hrefs(),
            params: self.params.clone(),
        }
    }

    fn hrefs(&self) -> Vec<String> {
        self.exported_resources
            .iter()
            .map(|r| r.href.clone())
            .collect()
    }
}

/// Records an export that has begun (its files come later, see [`finish_export`]).
pub async fn create_export(
    db: &Db,
    exporter_id: &str,
    task_id: Option<&str>,
    params: &Map<String, Value>,
    resources: &[ExportedResource],
) -> CoreResult<Export> {
    let id = crate::new_id();
    let now = crate::time::now();
    sqlx::query(
        "INSERT INTO exports (id, exporter_id, task_id, params, exported_resources, output_file_info, \
         toc_info, domain_id, created, updated) VALUES ($1, $2, $3, $4, $5, NULL, NULL, $6, $7, $7)",
    )
    .bind(&id)
    .bind(exporter_id)
    .bind(task_id.map(str::to_string))
    .bind(Value::Object(params.clone()).to_string())
    .bind(json!(resources).to_string())
    .bind(crate::domain::id().to_string())
    .bind(now)
    .execute(db.pool())
    .await?;
    get_export(db, exporter_id, &id).await
}

/// Records the files a Pulp export wrote, and makes it its exporter's last export.
pub async fn finish_export(
    db: &Db,
    export: &Export,
    output_file_info: &Value,
    toc_info: &Value,
) -> CoreResult<()> {
    let now = crate::time::now();
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "UPDATE exports SET output_file_info = $2, toc_info = $3, updated = $4 WHERE id = $1",
    )
    .bind(&export.id)
    .bind(output_file_info.to_string())
    .bind(toc_info.to_string())
    .bind(&now)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE exporters SET last_export_id = $2, updated = $3 WHERE id = $1")
        .bind(&export.exporter_id)
        .bind(&export.id)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Export `id` of exporter `exporter_id`.
pub async fn get_export(db: &Db, exporter_id: &str, id: &str) -> CoreResult<Export> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {EXPORT_COLUMNS} FROM exports WHERE id = $1 AND exporter_id = $2 AND domain_id = $3"
    )))
    .bind(id)
    .bind(exporter_id)
    .bind(crate::domain::id().to_string())
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| CoreError::not_found("Export"))?;
    Export::from_row(&row)
}

/// Deletes the record of an export (the files it wrote stay, as in Pulp); an exporter whose
/// last export it was has none after.
pub async fn delete_export(db: &Db, id: &str) -> CoreResult<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE exporters SET last_export_id = NULL WHERE last_export_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM exports WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Parses Pulp's human-readable sizes (`"250B"`, `"5KB"`, `"1.5 MB"`) into bytes.
pub fn parse_chunk_size(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_uppercase();
    let split = t.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = t.split_at(split);
    let factor: u64 = match unit.trim() {
        "B" => 1,
        "KB" => 1 << 10,
        "MB" => 1 << 20,
        "GB" => 1 << 30,
        "TB" => 1 << 40,
        _ => return None,
    };
    let number = number.trim();
    if number.is_empty() || number.len() > 32 {
        return None;
    }
    let n: f64 = number.parse().ok()?;
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    Some((n * factor as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_keeps_what_it_does_not_name_through_the_task() {
        let kept = ExporterFields {
            path: Some("/x".into()),
            ..Default::default()
        };
        let back: ExporterFields =
            serde_json::from_value(serde_json::to_value(&kept).unwrap()).unwrap();
        assert_eq!(back.last_export_id, None);
        let cleared = ExporterFields {
            last_export_id: Some(None),
            ..Default::default()
        };
        let back: ExporterFields =
            serde_json::from_value(serde_json::to_value(&cleared).unwrap()).unwrap();
        assert_eq!(back.last_export_id, Some(None));
    }

    #[test]
    fn chunk_sizes_read_as_pulp_reads_them() {
        assert_eq!(parse_chunk_size("250B"), Some(250));
        assert_eq!(parse_chunk_size("5KB"), Some(5120));
        assert_eq!(parse_chunk_size("1.5 mb"), Some(1_572_864));
        assert_eq!(parse_chunk_size("1TB"), Some(1 << 40));
        assert_eq!(parse_chunk_size("0B"), Some(0));
        assert_eq!(parse_chunk_size("12"), None);
        assert_eq!(parse_chunk_size("5XB"), None);
        assert_eq!(parse_chunk_size("-5KB"), None);
        assert_eq!(parse_chunk_size("NaNKB"), None);
        assert_eq!(parse_chunk_size("KB"), None);
    }
}
