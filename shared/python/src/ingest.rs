//! Bringing a distribution file in (a twine upload, a REST upload, a synced file): its name and
//! core metadata checked against each other, its sha256 against what the sender said, then the
//! file (and a wheel's METADATA, for PEP 658) stored as artifacts and the package recorded.
//! Nothing is stored when a check fails.

use std::path::Path;

use depot_core::artifacts::{self, Expected};
use depot_core::checksums::Algorithm;
use depot_core::{Core, CoreError, CoreResult};

use crate::store::{self, NewPackage};
use crate::{filename, metadata};

/// Ingests the file at `path`, named `filename`; `sha256`, when given, must match. Returns the
/// package's content id.
pub async fn file(
    core: &Core,
    path: &Path,
    name: &str,
    sha256: Option<&str>,
) -> CoreResult<String> {
    let dist = filename::parse(name)?;
    let meta = {
        let (path, dist, name) = (path.to_path_buf(), dist.clone(), name.to_string());
        tokio::task::spawn_blocking(move || metadata::read(&path, &dist, &name))
            .await
            .map_err(|e| CoreError::Internal(e.to_string()))??
    };
    let expected = Expected {
        size: None,
        digests: sha256
            .map(|s| vec![(Algorithm::Sha256, s.to_ascii_lowercase())])
            .unwrap_or_default(),
    };
    let reader = tokio::fs::File::open(path)
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))?;
    let artifact = artifacts::ingest(core, tokio_util::io::ReaderStream::new(reader), &expected)
        .await
        .map_err(|e| match e {
            CoreError::Invalid(_) => CoreError::invalid(
                "The sha256 of the file does not match the sha256_digest sent with it.",
            ),
            other => other,
        })?;
    let metadata_artifact = if dist.packagetype == "bdist_wheel" {
        let a = artifacts::ingest_bytes(core, meta.raw.clone().into()).await?;
        Some((a.id, a.digests.sha256))
    } else {
        None
    };
    store::add(
        &core.db,
        NewPackage {
            filename: name,
            dist: &dist,
            meta: &meta,
            sha256: &artifact.digests.sha256,
            size: artifact.digests.size as i64,
            artifact_id: &artifact.id,
            metadata_artifact: metadata_artifact
                .as_ref()
                .map(|(id, sha)| (id.as_str(), sha.as_str())),
        },
    )
    .await
}
