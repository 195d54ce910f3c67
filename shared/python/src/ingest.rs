//! Bringing a distribution file in (a twine upload, a REST upload, a synced file): its name and
//! core metadata checked against each other, its sha256 against what the sender said, then the
//! file (and a wheel's METADATA, for PEP 658) stored as artifacts and the package recorded.
//! Nothing is stored when a check fails.

use std::path::Path;

use bytes::Bytes;
use depot_core::artifacts::{self, Expected};
use depot_core::checksums::Algorithm;
use depot_core::models::artifact::Artifact;
use depot_core::{Core, CoreError, CoreResult};
use futures_util::{Stream, StreamExt};
use tokio::io::AsyncWriteExt;

use crate::filename::{self, DistFile};
use crate::metadata::{self, CoreMetadata};
use crate::store::{self, NewPackage};

/// What an uploader says of its file besides its name (twine sends the name and version it
/// read from the file); what it says must be true.
#[derive(Debug, Default)]
pub struct Claims {
    pub name: Option<String>,
    pub version: Option<String>,
}

impl Claims {
    fn check(&self, dist: &DistFile, file: &str) -> CoreResult<()> {
        if let Some(claimed) = &self.name
            && crate::names::normalize(claimed) != crate::names::normalize(&dist.name)
        {
            return Err(CoreError::invalid(format!(
                "name {claimed} does not match the file {file}."
            )));
        }
        if let Some(claimed) = &self.version
            && !crate::filename::same_version(claimed.trim(), &dist.version)
        {
            return Err(CoreError::invalid(format!(
                "version {claimed} does not match the file {file}."
            )));
        }
        Ok(())
    }
}

/// Ingests the file at `path`, named `name`; `sha256`, when given, must match, and so must
/// what the uploader `claims`. Returns the package's content id.
pub async fn file(
    core: &Core,
    path: &Path,
    name: &str,
    sha256: Option<&str>,
    claims: &Claims,
) -> CoreResult<String> {
    let (dist, meta) = inspect(path, name).await?;
    claims.check(&dist, name)?;
    let expected = Expected {
        size: None,
        digests: sha256
            .map(|s| vec![(Algorithm::Sha256, s.to_ascii_lowercase())])
            .unwrap_or_default(),
    };
    let reader = tokio::fs::File::open(path).await?;
    let artifact = artifacts::ingest(core, tokio_util::io::ReaderStream::new(reader), &expected)
        .await
        .map_err(|e| match e {
            CoreError::Invalid(_) => CoreError::invalid(
                "The sha256 of the file does not match the sha256_digest sent with it.",
            ),
            other => other,
        })?;
    record(core, &dist, &meta, name, &artifact).await
}

/// Makes a package of an artifact already stored (a REST upload), named `name`. Returns the
/// package's content id.
pub async fn artifact(core: &Core, a: &Artifact, name: &str) -> CoreResult<String> {
    filename::parse(name)?;
    let bytes = core.storage.open(&a.file, 0, None).await?;
    let path = to_temp_file(bytes.map(|c| c.map_err(CoreError::from))).await?;
    let (dist, meta) = inspect(&path, name).await?;
    record(core, &dist, &meta, name, a).await
}

/// Writes `body` to a new local temporary file (removed when the returned path is dropped):
/// archives are read from disk, whatever storage the bytes come from.
pub async fn to_temp_file(
    body: impl Stream<Item = CoreResult<Bytes>>,
) -> CoreResult<tempfile::TempPath> {
    let path = tempfile::NamedTempFile::new()?.into_temp_path();
    let mut out = tokio::fs::File::create(&path).await?;
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        out.write_all(&chunk?).await?;
    }
    out.flush().await?;
    Ok(path)
}

/// The file name's and the file's own idea of the package, checked against each other.
async fn inspect(path: &Path, name: &str) -> CoreResult<(DistFile, CoreMetadata)> {
    let dist = filename::parse(name)?;
    let (path, for_read, name) = (path.to_path_buf(), dist.clone(), name.to_string());
    let meta = tokio::task::spawn_blocking(move || metadata::read(&path, &for_read, &name))
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))??;
    Ok((dist, meta))
}

/// Records the package of a stored file, storing a wheel's METADATA next to it.
async fn record(
    core: &Core,
    dist: &DistFile,
    meta: &CoreMetadata,
    name: &str,
    artifact: &Artifact,
) -> CoreResult<String> {
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
            dist,
            meta,
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
