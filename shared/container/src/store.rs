//! The container content store: which repository a registry name is, what blobs, manifests and
//! tags it holds (its latest version plus its pending pushes), and how pushed content is
//! recorded. Shared by the registry API and the container tasks.

use depot_core::db::{Db, Tx};
use depot_core::models::distribution::{self, NewDistribution, Source};
use depot_core::models::repository::{self, NewRepository};
use depot_core::models::version::present_condition;
use depot_core::{CoreError, CoreResult};
use sqlx::{AssertSqlSafe, Row};

use crate::manifest::Parsed;
use crate::{
    BLOB_TYPE, DISTRIBUTION_TYPE, Digest, MANIFEST_TYPE, PUSH_REPOSITORY_TYPE, RegistryError,
    RegistryResult, TAG_TYPE,
};

/// A registry repository: a container distribution and the repository it serves.
#[derive(Debug, Clone)]
pub struct Repo {
    pub name: String,
    pub repository_id: String,
    /// `container.container-push` (pushes allowed) or `container.container` (synced).
    pub repository_type: String,
    pub private: bool,
    /// The version served: the latest, or the one the distribution pins.
    pub latest_number: i64,
    /// The distribution serves a pinned version: nothing can be pushed to it.
    pub pinned: bool,
    /// A pull-through cache's distribution: its remote reaches the upstream repository.
    pub remote_id: Option<String>,
}

impl Repo {
    /// The name tasks on the repository reserve.
    pub fn prn(&self) -> String {
        let kind = if self.repository_type == PUSH_REPOSITORY_TYPE {
            &crate::plugin::PUSH_REPOSITORY
        } else {
            &crate::plugin::REPOSITORY
        };
        kind.prn(&self.repository_id)
    }

    pub fn pushable(&self) -> bool {
        self.repository_type == PUSH_REPOSITORY_TYPE && !self.pinned
    }
}

/// The condition "content `cid_sql` is in the repository (`$1`) at version `$2`, or pending".
fn visible(cid_sql: &str) -> String {
    format!(
        "(EXISTS (SELECT 1 FROM repository_contents rc WHERE rc.content_id = {cid_sql} AND {}) \
         OR EXISTS (SELECT 1 FROM container_pending p WHERE p.content_id = {cid_sql} AND p.repository_id = $1))",
        present_condition(1, 2)
    )
}

/// A query whose `$1` and `$2` are the repository and its latest version number, the
/// parameters [`visible`] and `present_condition(1, 2)` use.
fn in_repo<'q>(
    sql: String,
    repo: &Repo,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    sqlx::query(AssertSqlSafe(sql))
        .bind(repo.repository_id.clone())
        .bind(repo.latest_number)
}

pub async fn find(db: &Db, name: &str) -> RegistryResult<Option<Repo>> {
    let row = sqlx::query(
        "SELECT r.id, d.private AS private, COALESCE(v.number, r.latest_number) AS number, r.pulp_type, \
         d.remote_id, v.id IS NOT NULL AS pinned FROM distributions d \
         LEFT JOIN repository_versions v ON v.id = d.repository_version_id \
         JOIN repositories r ON r.id = COALESCE(d.repository_id, v.repository_id) \
         WHERE d.base_path = $1 AND d.pulp_type = $2",
    )
    .bind(name)
    .bind(DISTRIBUTION_TYPE)
    .fetch_optional(db.pool())
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(Repo {
        name: name.to_string(),
        repository_id: r.try_get(0)?,
        private: depot_core::db::get_bool(&r, "private")?,
        latest_number: r.try_get(2)?,
        repository_type: r.try_get(3)?,
        remote_id: r.try_get(4)?,
        pinned: depot_core::db::get_bool(&r, "pinned")?,
    }))
}

/// The repository behind `name`, created with its distribution on the first push.
pub async fn find_or_create(db: &Db, name: &str) -> RegistryResult<Repo> {
    if let Some(repo) = find(db, name).await? {
        if !repo.pushable() {
            // Pulp keeps synced repositories read-only to the registry.
            return Err(RegistryError::Denied);
        }
        return Ok(repo);
    }
    let created = async {
        let repo = repository::create(
            db,
            NewRepository {
                pulp_type: PUSH_REPOSITORY_TYPE,
                name: name.to_string(),
                description: None,
                pulp_labels: Default::default(),
                retain_repo_versions: None,
                retain_checkpoints: None,
                remote_id: None,
                autopublish: false,
                manifest: None,
            },
        )
        .await?;
        distribution::create(
            db,
            NewDistribution {
                pulp_type: DISTRIBUTION_TYPE.into(),
                name: name.to_string(),
                base_path: name.to_string(),
                pulp_labels: Default::default(),
                hidden: false,
                source: Source {
                    repository_id: Some(repo.id.clone()),
                    ..Default::default()
                },
                checkpoint: false,
                private: false,
                description: None,
                remote_id: None,
                pull_through_id: None,
                allow_uploads: true,
            },
        )
        .await?;
        crate::namespaces::ensure(db, name).await
    }
    .await;
    if let Err(e) = created {
        // Clients upload layers in parallel, so the first push of a name races with itself:
        // the winner may still be creating the distribution.
        return match find_soon(db, name).await? {
            Some(repo) => Ok(repo),
            None => Err(RegistryError::NameInvalid(format!(
                "cannot create repository '{name}': {}",
                describe(&e)
            ))),
        };
    }
    find(db, name)
        .await?
        .ok_or_else(|| RegistryError::NameUnknown(name.to_string()))
}

/// The repository behind `name` once a concurrent request that is creating it is done (a
/// second at most).
pub async fn find_soon(db: &Db, name: &str) -> RegistryResult<Option<Repo>> {
    for _ in 0..40 {
        if let Some(repo) = find(db, name).await? {
            return Ok(Some(repo));
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    Ok(None)
}

fn describe(e: &CoreError) -> String {
    match e {
        CoreError::Invalid(v) => v.to_string(),
        other => other.to_string(),
    }
}

/// A blob the repository can serve.
#[derive(Debug, Clone)]
pub struct Blob {
    pub content_id: String,
    pub content_artifact_id: String,
    /// Storage key and size of its bytes; `None` while they are still upstream.
    pub file: Option<(String, i64)>,
}

pub async fn blob(db: &Db, repo: &Repo, digest: &Digest) -> RegistryResult<Option<Blob>> {
    let sql = format!(
        "SELECT b.content_id, a.file, a.size, ca.id FROM container_blobs b \
         JOIN content_artifacts ca ON ca.content_id = b.content_id \
         LEFT JOIN artifacts a ON a.id = ca.artifact_id \
         WHERE b.digest = $3 AND {}",
        visible("b.content_id")
    );
    let row = in_repo(sql, repo)
        .bind(digest.to_string())
        .fetch_optional(db.pool())
        .await?;
    let Some(r) = row else { return Ok(None) };
    let file: Option<String> = r.try_get(1)?;
    let size: Option<i64> = r.try_get(2)?;
    Ok(Some(Blob {
        content_id: r.try_get(0)?,
        content_artifact_id: r.try_get(3)?,
        file: file.zip(size),
    }))
}

async fn pend(tx: &mut Tx, repository_id: &str, content_id: &str) -> CoreResult<()> {
    sqlx::query(
        "INSERT INTO container_pending (repository_id, content_id, created) VALUES ($1, $2, $3) \
         ON CONFLICT (repository_id, content_id) DO NOTHING",
    )
    .bind(repository_id)
    .bind(content_id)
    .bind(depot_core::time::now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_content(tx: &mut Tx, pulp_type: &str, key: &str) -> CoreResult<String> {
    let id = depot_core::new_id();
    sqlx::query(
        "INSERT INTO contents (id, pulp_type, pulp_labels, created, updated, repo_key) \
         VALUES ($1, $2, '{}', $3, $3, $4)",
    )
    .bind(&id)
    .bind(pulp_type)
    .bind(depot_core::time::now())
    .bind(key)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Records a blob whose bytes are the artifact `artifact_id` (already verified against
/// `digest`) and makes it pending in the repository. Returns the blob's content id.
pub async fn add_blob(
    db: &Db,
    repository_id: &str,
    digest: &Digest,
    artifact_id: &str,
) -> RegistryResult<String> {
    let mut tx = db.begin_write().await?;
    let content_id = blob_row(&mut tx, digest, Some(artifact_id)).await?;
    pend(&mut tx, repository_id, &content_id).await?;
    tx.commit().await?;
    Ok(content_id)
}

/// The blob row for `digest`, made when missing; with `artifact_id`, its bytes are attached
/// when they were not yet. Safe against a concurrent maker of the same blob (parallel pushes,
/// pulls through a cache): the loser takes the winner's row.
async fn blob_row(tx: &mut Tx, digest: &Digest, artifact_id: Option<&str>) -> CoreResult<String> {
    let key = digest.to_string();
    let find = "SELECT content_id FROM container_blobs WHERE digest = $1";
    let mut existing: Option<String> = sqlx::query_scalar(find)
        .bind(&key)
        .fetch_optional(&mut **tx)
        .await?;
    if existing.is_none() {
        let id = insert_content(tx, BLOB_TYPE, &key).await?;
        let inserted = sqlx::query(
            "INSERT INTO container_blobs (content_id, digest) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING",
        )
        .bind(&id)
        .bind(&key)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            sqlx::query(
                "INSERT INTO content_artifacts (id, content_id, artifact_id, relative_path) VALUES ($1, $2, $3, $4)",
            )
            .bind(depot_core::new_id())
            .bind(&id)
            .bind(artifact_id)
            .bind(&key)
            .execute(&mut **tx)
            .await?;
            return Ok(id);
        }
        drop_content(tx, &id).await?;
        existing = Some(
            sqlx::query_scalar(find)
                .bind(&key)
                .fetch_one(&mut **tx)
                .await?,
        );
    }
    let id = existing.unwrap_or_default();
    if let Some(a) = artifact_id {
        // Known (perhaps only on demand): make sure its bytes are attached.
        sqlx::query(
            "UPDATE content_artifacts SET artifact_id = $2 WHERE content_id = $1 AND artifact_id IS NULL",
        )
        .bind(&id)
        .bind(a)
        .execute(&mut **tx)
        .await?;
    }
    Ok(id)
}

/// Removes a content row that lost a race before anything refers to it.
async fn drop_content(tx: &mut Tx, id: &str) -> CoreResult<()> {
    sqlx::query("DELETE FROM contents WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Makes an existing blob pending in another repository (a cross-repository mount).
pub async fn mount_blob(db: &Db, repository_id: &str, content_id: &str) -> RegistryResult<()> {
    let mut tx = db.begin_write().await?;
    pend(&mut tx, repository_id, content_id).await?;
    tx.commit().await?;
    Ok(())
}

/// A manifest as stored.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub content_id: String,
    pub digest: String,
    pub media_type: String,
    pub data: String,
}

const MANIFEST_COLUMNS: &str = "m.content_id, m.digest, m.media_type, m.data";

fn manifest_from(r: &sqlx::any::AnyRow) -> RegistryResult<Manifest> {
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
fn check_size(d: &crate::manifest::Descriptor, actual: i64) -> RegistryResult<()> {
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
    let find = "SELECT content_id FROM container_manifests WHERE digest = $1";
    let existing: Option<String> = sqlx::query_scalar(find)
        .bind(digest.to_string())
        .fetch_optional(&mut *tx)
        .await?;
    let id = match existing {
        Some(id) => id,
        None => {
            let id = insert_content(&mut tx, MANIFEST_TYPE, &digest.to_string()).await?;
            let inserted = sqlx::query(
                "INSERT INTO container_manifests (content_id, digest, schema_version, media_type, kind, data, \
                 config_blob_id, subject, artifact_type, annotations) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (digest) DO NOTHING",
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
async fn link_manifest(
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

/// The tag `name` on `manifest_id` (tag rows never change, so it is found or made).
pub async fn tag(db: &Db, name: &str, manifest_id: &str) -> CoreResult<String> {
    let mut tx = db.begin_write().await?;
    let existing: Option<String> = sqlx::query_scalar(
        "SELECT content_id FROM container_tags WHERE name = $1 AND manifest_id = $2",
    )
    .bind(name)
    .bind(manifest_id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let id = insert_content(&mut tx, TAG_TYPE, name).await?;
    let inserted = sqlx::query(
        "INSERT INTO container_tags (content_id, name, manifest_id) VALUES ($1, $2, $3) \
         ON CONFLICT (name, manifest_id) DO NOTHING",
    )
    .bind(&id)
    .bind(name)
    .bind(manifest_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        // Made meanwhile for another repository: use that row.
        drop_content(&mut tx, &id).await?;
        let id = sqlx::query_scalar(
            "SELECT content_id FROM container_tags WHERE name = $1 AND manifest_id = $2",
        )
        .bind(name)
        .bind(manifest_id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        return Ok(id);
    }
    tx.commit().await?;
    Ok(id)
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

/// Tag names in the repository's latest version, sorted, after `last`, at most `n`.
pub async fn tags(
    db: &Db,
    repo: &Repo,
    last: Option<&str>,
    n: Option<i64>,
) -> RegistryResult<Vec<String>> {
    let sql = format!(
        "SELECT t.name FROM container_tags t JOIN repository_contents rc ON rc.content_id = t.content_id \
         WHERE {} AND t.name > $3 ORDER BY t.name LIMIT $4",
        present_condition(1, 2)
    );
    let rows = in_repo(sql, repo)
        .bind(last.unwrap_or("").to_string())
        .bind(n.unwrap_or(i64::MAX))
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// Names of container distributions, sorted, after `last`, at most `n`; private ones only for
/// authenticated callers.
pub async fn catalog(
    db: &Db,
    include_private: bool,
    last: Option<&str>,
    n: Option<i64>,
) -> RegistryResult<Vec<String>> {
    let mut sql =
        String::from("SELECT base_path FROM distributions WHERE pulp_type = $1 AND base_path > $2");
    if !include_private {
        sql.push_str(" AND private = $4");
    }
    sql.push_str(" ORDER BY base_path LIMIT $3");
    let mut q = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(DISTRIBUTION_TYPE)
        .bind(last.unwrap_or(""))
        .bind(n.unwrap_or(i64::MAX));
    if !include_private {
        q = q.bind(false);
    }
    Ok(q.fetch_all(db.pool()).await?)
}

/// Content that is now in a version is no longer pending.
pub async fn unpend(db: &Db, repository_id: &str, ids: &[String]) -> CoreResult<()> {
    let mut tx = db.begin_write().await?;
    for chunk in ids.chunks(500) {
        let sql = format!(
            "DELETE FROM container_pending WHERE repository_id = $1 AND content_id IN ({})",
            depot_core::db::placeholders(2, chunk.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(repository_id);
        for id in chunk {
            q = q.bind(id);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A blob upload in progress: `size` bytes received so far, either as chunks or (after one
/// streamed PATCH) as the artifact `artifact_id`.
#[derive(Debug, Clone)]
pub struct BlobUpload {
    pub id: String,
    pub size: i64,
    pub artifact_id: Option<String>,
}

pub async fn create_upload(db: &Db, repository_id: &str) -> CoreResult<String> {
    let upload = depot_core::models::upload::create(db, 0).await?;
    sqlx::query(
        "INSERT INTO container_uploads (id, repository_id, artifact_id, created) VALUES ($1, $2, NULL, $3)",
    )
    .bind(&upload.id)
    .bind(repository_id)
    .bind(depot_core::time::now())
    .execute(db.pool())
    .await?;
    Ok(upload.id)
}

pub async fn upload(db: &Db, repo: &Repo, id: &str) -> RegistryResult<BlobUpload> {
    let row = sqlx::query(
        "SELECT u.id, u.size, cu.artifact_id FROM container_uploads cu JOIN uploads u ON u.id = cu.id \
         WHERE cu.id = $1 AND cu.repository_id = $2",
    )
    .bind(id)
    .bind(&repo.repository_id)
    .fetch_optional(db.pool())
    .await?
    .ok_or(RegistryError::BlobUploadUnknown)?;
    Ok(BlobUpload {
        id: row.try_get(0)?,
        size: row.try_get(1)?,
        artifact_id: row.try_get(2)?,
    })
}

/// Records the upload's new size, and the artifact when the bytes came in one streamed PATCH.
pub async fn set_upload(db: &Db, id: &str, size: i64, artifact_id: Option<&str>) -> CoreResult<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE uploads SET size = $2, updated = $3 WHERE id = $1")
        .bind(id)
        .bind(size)
        .bind(depot_core::time::now())
        .execute(&mut *tx)
        .await?;
    if let Some(a) = artifact_id {
        sqlx::query("UPDATE container_uploads SET artifact_id = $2 WHERE id = $1")
            .bind(id)
            .bind(a)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Tags in the repository's latest version that point at any of `manifest_ids`.
pub async fn tags_of(
    db: &Db,
    repository_id: &str,
    manifest_ids: &[String],
) -> CoreResult<Vec<String>> {
    let latest: i64 = sqlx::query_scalar("SELECT latest_number FROM repositories WHERE id = $1")
        .bind(repository_id)
        .fetch_one(db.pool())
        .await?;
    let mut out = Vec::new();
    for chunk in manifest_ids.chunks(400) {
        let sql = format!(
            "SELECT t.content_id FROM container_tags t JOIN repository_contents rc ON rc.content_id = t.content_id \
             WHERE {} AND t.manifest_id IN ({})",
            present_condition(1, 2),
            depot_core::db::placeholders(3, chunk.len())
        );
        let mut q = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(repository_id)
            .bind(latest);
        for id in chunk {
            q = q.bind(id);
        }
        out.extend(q.fetch_all(db.pool()).await?);
    }
    Ok(out)
}

/// An OCI descriptor of every manifest in the repository whose `subject` is `digest`.
pub async fn referrers(
    db: &Db,
    repo: &Repo,
    digest: &Digest,
) -> RegistryResult<Vec<serde_json::Value>> {
    let sql = format!(
        "SELECT m.digest, m.media_type, m.data, m.artifact_type FROM container_manifests m \
         WHERE m.subject = $3 AND {} ORDER BY m.digest",
        visible("m.content_id")
    );
    let rows = in_repo(sql, repo)
        .bind(digest.to_string())
        .fetch_all(db.pool())
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let data: String = r.try_get(2)?;
        let parsed: serde_json::Value = serde_json::from_str(&data).unwrap_or_default();
        // The spec: artifactType, else the config's media type.
        let artifact_type: Option<String> = r.try_get::<Option<String>, _>(3)?.or_else(|| {
            parsed
                .pointer("/config/mediaType")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        });
        let mut d = serde_json::json!({
            "mediaType": r.try_get::<String, _>(1)?,
            "digest": r.try_get::<String, _>(0)?,
            "size": data.len(),
        });
        if let Some(t) = artifact_type {
            d["artifactType"] = t.into();
        }
        if let Some(a) = parsed.get("annotations").filter(|a| a.is_object()) {
            d["annotations"] = a.clone();
        }
        out.push(d);
    }
    Ok(out)
}

impl Repo {
    /// The registry view of a repository (its latest version and pending pushes).
    pub fn of(repository: &depot_core::models::repository::Repository) -> Repo {
        Repo {
            name: repository.name.clone(),
            repository_id: repository.id.clone(),
            repository_type: repository.pulp_type.clone(),
            private: false,
            latest_number: repository.latest_number,
            pinned: false,
            remote_id: None,
        }
    }
}

/// The content id of tag `name` in the repository's latest version.
pub async fn tag_id(db: &Db, repo: &Repo, name: &str) -> CoreResult<Option<String>> {
    let sql = format!(
        "SELECT t.content_id FROM container_tags t JOIN repository_contents rc ON rc.content_id = t.content_id \
         WHERE t.name = $3 AND {}",
        present_condition(1, 2)
    );
    let row = in_repo(sql, repo)
        .bind(name.to_string())
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// Content units with everything they need: a tag brings its manifest's closure, a manifest its
/// own, a blob only itself.
pub async fn expand(db: &Db, ids: &[String]) -> CoreResult<Vec<String>> {
    let mut out = Vec::new();
    for id in ids {
        out.push(id.clone());
        let tagged: Option<String> =
            sqlx::query_scalar("SELECT manifest_id FROM container_tags WHERE content_id = $1")
                .bind(id)
                .fetch_optional(db.pool())
                .await?;
        let manifest = match tagged {
            Some(m) => Some(m),
            None => {
                sqlx::query_scalar(
                    "SELECT content_id FROM container_manifests WHERE content_id = $1",
                )
                .bind(id)
                .fetch_optional(db.pool())
                .await?
            }
        };
        if let Some(m) = manifest {
            out.extend(closure(db, &m).await?);
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The ids of the content of type `pulp_type` in a repository version.
pub async fn present(
    db: &Db,
    repository_id: &str,
    number: i64,
    pulp_type: &str,
) -> CoreResult<Vec<String>> {
    let sql = format!(
        "SELECT rc.content_id FROM repository_contents rc JOIN contents c ON c.id = rc.content_id \
         WHERE {} AND c.pulp_type = $3",
        present_condition(1, 2)
    );
    Ok(sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(repository_id)
        .bind(number)
        .bind(pulp_type)
        .fetch_all(db.pool())
        .await?)
}

/// Records a blob whose bytes stay upstream until first pulled (an `on_demand` sync or a
/// pull-through): its content has no artifact yet, only where to fetch it. Pending in the
/// repository, like a pushed blob. Returns its content id.
pub async fn add_remote_blob(
    db: &Db,
    repository_id: &str,
    digest: &Digest,
    size: i64,
    remote_id: &str,
    url: &str,
) -> CoreResult<String> {
    let mut tx = db.begin_write().await?;
    let content_id = blob_row(&mut tx, digest, None).await?;
    let ca_id: String =
        sqlx::query_scalar("SELECT id FROM content_artifacts WHERE content_id = $1")
            .bind(&content_id)
            .fetch_one(&mut *tx)
            .await?;
    let sha256 = (digest.algorithm == crate::digest::Algorithm::Sha256).then(|| digest.hex.clone());
    depot_core::models::content::add_remote_source(
        &mut tx,
        &ca_id,
        remote_id,
        url,
        Some(size),
        sha256.as_deref(),
    )
    .await?;
    pend(&mut tx, repository_id, &content_id).await?;
    tx.commit().await?;
    Ok(content_id)
}

/// The content id of a blob whose bytes are stored, wherever it is.
pub async fn stored_blob(db: &Db, digest: &Digest) -> CoreResult<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT b.content_id FROM container_blobs b JOIN content_artifacts ca ON ca.content_id = b.content_id \
         WHERE b.digest = $1 AND ca.artifact_id IS NOT NULL",
    )
    .bind(digest.to_string())
    .fetch_optional(db.pool())
    .await?)
}

/// Tags of a repository version, all or those named.
pub async fn tags_in_version(
    db: &Db,
    repository_id: &str,
    number: i64,
    names: Option<&[String]>,
) -> CoreResult<Vec<String>> {
    let mut sql = format!(
        "SELECT t.content_id FROM container_tags t JOIN repository_contents rc ON rc.content_id = t.content_id \
         WHERE {}",
        present_condition(1, 2)
    );
    if let Some(names) = names {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        sql.push_str(&format!(
            " AND t.name IN ({})",
            depot_core::db::placeholders(3, names.len())
        ));
    }
    let mut q = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(repository_id)
        .bind(number);
    for n in names.unwrap_or_default() {
        q = q.bind(n);
    }
    Ok(q.fetch_all(db.pool()).await?)
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

/// One column of the rows whose `key_column` is one of `ids` (queried in chunks).
async fn column_where_in(
    db: &Db,
    select: &str,
    key_column: &str,
    ids: &[String],
) -> CoreResult<Vec<String>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(400) {
        let sql = format!(
            "{select} WHERE {key_column} IN ({})",
            depot_core::db::placeholders(1, chunk.len())
        );
        let mut q = sqlx::query_scalar(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(id);
        }
        out.extend(q.fetch_all(db.pool()).await?);
    }
    Ok(out)
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
