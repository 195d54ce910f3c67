//! Manifests: looked up by digest or tag, recorded when pushed (once everything they reference
//! is there), and what each needs (its closure).

use depot_core::CoreResult;
use depot_core::db::{Db, Tx};
use depot_core::models::version::present_condition;
use sqlx::{AssertSqlSafe, Row};

use crate::manifest::Parsed;
use crate::{Digest, MANIFEST_TYPE, RegistryError, RegistryResult};

use super::*;

/// A manifest as stored.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub content_id: String,
    pub digest: String,
    pub media_type: String,
    pub data: String,
}

pub(super) const MANIFEST_COLUMNS: &str = "m.content_id, m.digest, m.media_type, m.data";

pub(super) fn manifest_from(r: &sqlx::any::AnyRow) -> RegistryResult<Manifest> {
    Ok(Manifest {
        content_id: r.try_get(0)?,
        digest: r.try_get(1)?,
        media_type: r.try_get(2)?,
        data: r.try_get(3)?,
    })
}

pub async fn manifest_by_digest(
    db: &Db,
    repo: &Repo,
    digest: &Digest,
) -> RegistryResult<Option<Manifest>> {
    let sql = format!(
        "SELECT {MANIFEST_COLUMNS} FROM container_manifests m WHERE m.digest = $3 AND {}",
        visible("m.content_id")
    );
    let row = in_repo(sql, repo)
        .bind(digest.to_string())
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(manifest_from).transpose()
}

pub async fn manifest_by_tag(db: &Db, repo: &Repo, tag: &str) -> RegistryResult<Option<Manifest>> {
    let sql = format!(
        "SELECT {MANIFEST_COLUMNS} FROM container_tags t \
         JOIN container_manifests m ON m.content_id = t.manifest_id \
         JOIN repository_contents rc ON rc.content_id = t.content_id \
         WHERE t.name = $3 AND {}",
        present_condition(1, 2)
    );
    let row = in_repo(sql, repo)
        .bind(tag.to_string())
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(manifest_from).transpose()
}

/// A descriptor's size must be that of the bytes it names: clients trust it when they pull.
pub(super) fn check_size(d: &crate::manifest::Descriptor, actual: i64) -> RegistryResult<()> {
    if d.size != actual {
        return Err(RegistryError::ManifestInvalid(format!(
            "{} is {actual} bytes, but the manifest says {}",
            d.digest, d.size
        )));
    }
    Ok(())
}

/// Records a pushed manifest once everything it references is in the repository, and makes it
/// pending there. Returns its content id.
pub async fn add_manifest(
    db: &Db,
    repo: &Repo,
    digest: &Digest,
    parsed: &Parsed,
    data: &str,
) -> RegistryResult<String> {
    let mut blob_ids = Vec::new();
    for d in parsed.required_blobs() {
        let b = blob(db, repo, &d.digest)
            .await?
            .ok_or_else(|| RegistryError::ManifestBlobUnknown(d.digest.to_string()))?;
        if let Some((_, size)) = &b.file {
            check_size(d, *size)?;
        }
        blob_ids.push(b.content_id);
    }
    let config_id = match &parsed.config {
        Some(c) if !c.foreign => blob(db, repo, &c.digest).await?.map(|b| b.content_id),
        _ => None,
    };
    let mut listed = Vec::new();
    for d in &parsed.manifests {
        let m = manifest_by_digest(db, repo, &d.digest)
            .await?
            .ok_or_else(|| RegistryError::ManifestBlobUnknown(d.digest.to_string()))?;
        check_size(d, m.data.len() as i64)?;
        listed.push((m.content_id, d.platform.clone().unwrap_or_default()));
    }

    let mut tx = db.begin_write().await?;
    let domain = depot_core::domain::id().to_string();
    let find = "SELECT content_id FROM container_manifests WHERE digest = $1 AND domain_id = $2";
    let existing: Option<String> = sqlx::query_scalar(find)
        .bind(digest.to_string())
        .bind(&domain)
        .fetch_optional(&mut *tx)
        .await?;
    let id = match existing {
        Some(id) => id,
        None => {
            let id = insert_content(&mut tx, MANIFEST_TYPE, &digest.to_string()).await?;
            let inserted = sqlx::query(
                "INSERT INTO container_manifests (content_id, digest, schema_version, media_type, kind, data, \
                 config_blob_id, subject, artifact_type, annotations, domain_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                 ON CONFLICT (domain_id, digest) DO NOTHING",
            )
            .bind(&id)
            .bind(digest.to_string())
            .bind(parsed.schema_version)
            .bind(&parsed.media_type)
            .bind(parsed.kind.as_str())
            .bind(data)
            .bind(config_id)
            .bind(parsed.subject.as_ref().map(|s| s.to_string()))
            .bind(parsed.artifact_type.clone())
            .bind(parsed.annotations.to_string())
            .bind(&domain)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 1 {
                link_manifest(&mut tx, &id, blob_ids, &listed).await?;
                id
            } else {
                // Stored meanwhile by a concurrent push or pull: use that row.
                drop_content(&mut tx, &id).await?;
                sqlx::query_scalar(find)
                    .bind(digest.to_string())
                    .bind(&domain)
                    .fetch_one(&mut *tx)
                    .await?
            }
        }
    };
    pend(&mut tx, &repo.repository_id, &id).await?;
    tx.commit().await?;
    Ok(id)
}

/// Records what a new manifest references: its blobs, and for an index the manifests it lists.
pub(super) async fn link_manifest(
    tx: &mut Tx,
    id: &str,
    mut blob_ids: Vec<String>,
    listed: &[(String, crate::manifest::Platform)],
) -> CoreResult<()> {
    blob_ids.sort();
    blob_ids.dedup();
    for b in &blob_ids {
        sqlx::query("INSERT INTO container_manifest_blobs (manifest_id, blob_id) VALUES ($1, $2)")
            .bind(id)
            .bind(b)
            .execute(&mut **tx)
            .await?;
    }
    for (m, p) in listed {
        sqlx::query(
            "INSERT INTO container_listed_manifests (list_id, manifest_id, architecture, os, variant) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (list_id, manifest_id) DO NOTHING",
        )
        .bind(id)
        .bind(m)
        .bind(p.architecture.clone())
        .bind(p.os.clone())
        .bind(p.variant.clone())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// A manifest with everything it needs: its blobs, the manifests it lists and their blobs.
pub async fn closure(db: &Db, manifest_id: &str) -> CoreResult<Vec<String>> {
    let mut ids = vec![manifest_id.to_string()];
    let children: Vec<String> =
        sqlx::query_scalar("SELECT manifest_id FROM container_listed_manifests WHERE list_id = $1")
            .bind(manifest_id)
            .fetch_all(db.pool())
            .await?;
    ids.extend(children);
    let mut blobs = Vec::new();
    for m in &ids {
        let b: Vec<String> = sqlx::query_scalar(
            "SELECT blob_id FROM container_manifest_blobs WHERE manifest_id = $1",
        )
        .bind(m)
        .fetch_all(db.pool())
        .await?;
        blobs.extend(b);
    }
    ids.extend(blobs);
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Manifests of a repository version, all or those with one of `digests` and of one of
/// `media_types`.
pub async fn manifests_in_version(
    db: &Db,
    repository_id: &str,
    number: i64,
    digests: Option<&[String]>,
    media_types: Option<&[String]>,
) -> CoreResult<Vec<String>> {
    let mut sql = format!(
        "SELECT m.content_id FROM container_manifests m JOIN repository_contents rc ON rc.content_id = m.content_id \
         WHERE {}",
        present_condition(1, 2)
    );
    let mut binds: Vec<&String> = Vec::new();
    for (column, values) in [("m.digest", digests), ("m.media_type", media_types)] {
        if let Some(values) = values {
            if values.is_empty() {
                return Ok(Vec::new());
            }
            sql.push_str(&format!(
                " AND {column} IN ({})",
                depot_core::db::placeholders(3 + binds.len(), values.len())
            ));
            binds.extend(values);
        }
    }
    let mut q = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(repository_id)
        .bind(number);
    for b in binds {
        q = q.bind(b);
    }
    Ok(q.fetch_all(db.pool()).await?)
}

/// The manifests the tags `tag_ids` point at.
pub async fn tagged_manifests(db: &Db, tag_ids: &[String]) -> CoreResult<Vec<String>> {
    let select = "SELECT manifest_id FROM container_tags";
    column_where_in(db, select, "content_id", tag_ids).await
}

/// The manifests the indexes among `manifest_ids` list.
pub async fn listed_children(db: &Db, manifest_ids: &[String]) -> CoreResult<Vec<String>> {
    let select = "SELECT manifest_id FROM container_listed_manifests";
    column_where_in(db, select, "list_id", manifest_ids).await
}
