//! The OCI referrers of a manifest: manifests whose `subject` it is.

use depot_core::db::Db;
use sqlx::Row;

use crate::{Digest, RegistryResult};

use super::*;

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
