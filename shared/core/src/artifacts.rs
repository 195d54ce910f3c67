//! Bringing bytes in as artifacts: stream into staged storage while computing every allowed
//! digest, check what the caller expected, then commit under the content address and record the
//! row. A failed check leaves nothing behind.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use crate::checksums::{Algorithm, Digests, Hasher};
use crate::models::artifact::{self, Artifact};
use crate::storage::artifact_key;
use crate::{Core, CoreError, CoreResult};

/// What the caller says the bytes are; each given value is checked.
#[derive(Debug, Default, Clone)]
pub struct Expected {
    pub size: Option<u64>,
    pub digests: Vec<(Algorithm, String)>,
}

impl Expected {
    pub fn sha256(sha256: &str) -> Self {
        Self {
            size: None,
            digests: vec![(Algorithm::Sha256, sha256.to_string())],
        }
    }
}

/// Why bytes were refused.
pub fn check(expected: &Expected, got: &Digests) -> CoreResult<()> {
    if let Some(size) = expected.size
        && size != got.size
    {
        return Err(CoreError::field(
            "size",
            "The size did not match actual size of file.",
        ));
    }
    for (alg, want) in &expected.digests {
        let actual = match alg {
            Algorithm::Sha256 => Some(got.sha256.as_str()),
            other => got.get(*other),
        };
        // An algorithm that is not allowed cannot be checked; Pulp refuses it outright.
        let Some(actual) = actual else {
            return Err(CoreError::field(
                alg.name(),
                format!("Checksum algorithm {} is not allowed.", alg.name()),
            ));
        };
        if !actual.eq_ignore_ascii_case(want) {
            return Err(CoreError::field(
                alg.name(),
                format!("The {} checksum did not match.", alg.name()),
            ));
        }
    }
    Ok(())
}

/// Streams `body` into storage and returns the artifact (an existing one when the sha256 is
/// already known). Errors from the stream abort the write.
pub async fn ingest<S, E>(core: &Core, body: S, expected: &Expected) -> CoreResult<Artifact>
where
    S: Stream<Item = Result<Bytes, E>> + Send,
    E: std::fmt::Display,
{
    let mut staged = core.storage.stage().await?;
    let mut hasher = Hasher::new(&core.settings.allowed_checksums);
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let chunk =
            chunk.map_err(|e| CoreError::invalid(format!("Reading the upload failed: {e}")))?;
        hasher.update(&chunk);
        staged.write(&chunk).await?;
    }
    ingest_staged(core, staged, hasher.finish(), expected).await
}

/// Turns already-staged bytes with known digests into an artifact (or finds the existing one).
/// Dropping the staged file on a failed check removes it.
pub async fn ingest_staged(
    core: &Core,
    staged: Box<dyn crate::storage::StagedFile>,
    digests: Digests,
    expected: &Expected,
) -> CoreResult<Artifact> {
    check(expected, &digests)?;
    if let Some(existing) = artifact::find_by_sha256(&core.db, &digests.sha256).await? {
        // Make sure the bytes are really there (a crashed earlier write may have left a row).
        if core.storage.exists(&existing.file).await? {
            return Ok(existing);
        }
        staged.commit(&existing.file).await?;
        return Ok(existing);
    }
    let key = artifact_key(&digests.sha256);
    staged.commit(&key).await?;
    let artifact = artifact::insert(&core.db, &key, &digests).await?;
    crate::scan::after_write(core, &key);
    Ok(artifact)
}

/// Ingests bytes already in memory (small generated files such as PULP_MANIFEST).
pub async fn ingest_bytes(core: &Core, data: Bytes) -> CoreResult<Artifact> {
    let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(data)]);
    ingest(core, stream, &Expected::default()).await
}

/// Assembles a chunked upload into an artifact, checking the expected sha256, and deletes the
/// upload. Used by the upload commit and by content created from an upload.
pub async fn from_upload(
    core: &Core,
    upload_id: &str,
    sha256: Option<&str>,
) -> CoreResult<Artifact> {
    let u = crate::models::upload::get(&core.db, upload_id).await?;
    let streams = crate::models::upload::assembled(core, &u).await?;
    let body = futures_util::stream::iter(streams).flatten();
    let expected = sha256.map(Expected::sha256).unwrap_or_default();
    let artifact = ingest(core, body, &expected).await?;
    crate::models::upload::delete(core, upload_id).await?;
    Ok(artifact)
}
