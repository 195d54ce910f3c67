//! Bringing an image from an upstream registry into a repository, as a sync does for each tag
//! and a pull-through does on a pull: the manifest (an index with every manifest it lists), its
//! config blobs (always downloaded) and its layers (downloaded, or only recorded for an
//! `on_demand` remote). Everything is verified against its digest and made pending in the
//! repository; the caller puts it in a version.

use depot_core::artifacts::ingest;
use depot_core::models::remote::{Policy, Remote};
use depot_core::{Core, CoreError, CoreResult, download};

use crate::digest::Algorithm;
use crate::manifest::Descriptor;
use crate::store::{self, Repo};
use crate::upstream::{Fetched, Upstream};
use crate::{Digest, RegistryError};

pub struct Fetcher<'a> {
    pub core: &'a Core,
    pub remote: &'a Remote,
    pub upstream: &'a Upstream<'a>,
    pub repo: Repo,
}

/// An image brought in: its manifest's content id and what the repository needs for it.
pub struct Image {
    pub manifest_id: String,
    pub digest: Digest,
    pub content_ids: Vec<String>,
}

impl Fetcher<'_> {
    /// Brings in the image `reference` (a tag or digest) points at.
    pub async fn image(&self, reference: &str) -> CoreResult<Image> {
        let top = self.upstream.manifest(reference).await?;
        for child in &top.parsed.manifests {
            let fetched = self.upstream.manifest(&child.digest.to_string()).await?;
            if !fetched.parsed.manifests.is_empty() {
                return Err(CoreError::Remote(format!(
                    "The index {} lists another index; nested indexes are not supported.",
                    top.digest
                )));
            }
            self.store(&fetched).await?;
        }
        let manifest_id = self.store(&top).await?;
        let content_ids = store::closure(&self.core.db, &manifest_id).await?;
        Ok(Image {
            manifest_id,
            digest: top.digest,
            content_ids,
        })
    }

    /// Stores one manifest after making sure the blobs it needs are in the repository.
    async fn store(&self, m: &Fetched) -> CoreResult<String> {
        let config = m.parsed.config.as_ref().map(|c| c.digest.clone());
        for d in m.parsed.required_blobs() {
            let is_config = config.as_ref() == Some(&d.digest);
            self.blob(d, is_config).await?;
        }
        store::add_manifest(&self.core.db, &self.repo, &m.digest, &m.parsed, &m.data)
            .await
            .map_err(registry_error)
    }

    /// Makes the blob available in the repository: reuses stored bytes, downloads them, or (for
    /// layers of an `on_demand` remote) records where they are.
    async fn blob(&self, d: &Descriptor, is_config: bool) -> CoreResult<()> {
        let db = &self.core.db;
        let repository_id = &self.repo.repository_id;
        if let Some(id) = store::stored_blob(db, &d.digest).await? {
            return store::mount_blob(db, repository_id, &id)
                .await
                .map_err(registry_error);
        }
        let url = self.upstream.blob_url(&d.digest);
        // Bytes fetched later are checked against the recorded sha256, so only sha256 layers wait.
        let deferred = self.remote.policy != Policy::Immediate
            && !is_config
            && d.digest.algorithm == Algorithm::Sha256;
        if deferred {
            store::add_remote_blob(db, repository_id, &d.digest, d.size, &self.remote.id, &url)
                .await?;
            return Ok(());
        }
        let resp = self.upstream.get(&url, None).await?;
        let expected = d.digest.expected(Some(d.size as u64));
        let artifact = ingest(self.core, download::body_stream(resp), &expected)
            .await
            .map_err(|e| {
                CoreError::Remote(format!(
                    "The blob {} from {url} does not match its descriptor: {e}",
                    d.digest
                ))
            })?;
        store::add_blob(db, repository_id, &d.digest, &artifact.id)
            .await
            .map_err(registry_error)?;
        Ok(())
    }
}

fn registry_error(e: RegistryError) -> CoreError {
    match e {
        RegistryError::Core(c) => c,
        other => CoreError::Remote(other.to_string()),
    }
}
