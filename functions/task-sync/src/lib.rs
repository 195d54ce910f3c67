//! Task: sync a file repository from a remote `PULP_MANIFEST` (`relative_path,sha256,size` per
//! line). `immediate` downloads and verifies every file, from an alternate content source of the
//! domain when one offers the same sha256; `on_demand` and `streamed` only record where each file
//! can be fetched. `mirror` makes the new version hold exactly the manifest. Also the refresh of
//! a file ACS path, which reads the path's manifest and records what it offers.

use depot_core::artifacts::Expected;
use depot_core::checksums::{Algorithm, is_hex_digest, sha256_hex};
use depot_core::download;
use depot_core::models::acs::{self, AcsFile};
use depot_core::models::content;
use depot_core::models::remote::{self, Policy, Remote};
use depot_core::models::repository;
use depot_core::models::version::{self, Change};
use depot_core::tasks::{TaskContext, TaskFuture, TaskRegistry};
use depot_core::{Core, CoreError, CoreResult};
use depot_file::content::{RemoteFile, get_or_create_remote, validate_relative_path};
use depot_file::{AcsRefresh, Sync};
use futures_util::StreamExt;
use serde_json::json;

/// The biggest manifest read into memory.
const MAX_MANIFEST: usize = 256 * 1024 * 1024;

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(sync);
    reg.register(refresh_acs);
}

/// Parses a PULP_MANIFEST; every line must be `relative_path,sha256,size`.
pub fn parse_manifest(text: &str, manifest_url: &str) -> CoreResult<Vec<RemoteFile>> {
    let mut files = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let bad = |why: &str| {
            // Quote at most the start of the line: the manifest is someone else's text.
            let quoted: String = line.chars().take(200).collect();
            CoreError::Remote(format!(
                "Malformed PULP_MANIFEST line {}: {why}: '{quoted}'",
                i + 1
            ))
        };
        let mut parts = line.rsplitn(3, ',');
        let (Some(size), Some(sha), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected relative_path,sha256,size"));
        };
        let sha = sha.trim().to_ascii_lowercase();
        if !is_hex_digest(Algorithm::Sha256, &sha) {
            return Err(bad("invalid sha256"));
        }
        let size: u64 = size.trim().parse().map_err(|_| bad("invalid size"))?;
        validate_relative_path(path).map_err(|_| bad("invalid relative path"))?;
        files.push(RemoteFile {
            relative_path: path.to_string(),
            url: download::join_url(manifest_url, path),
            sha256: sha,
            size,
        });
    }
    Ok(files)
}

fn sync(ctx: TaskContext, args: Sync) -> TaskFuture {
    Box::pin(async move {
        let core = &ctx.core;
        let remote = remote::get(&core.db, &args.remote_id).await?;
        let repo = repository::get(&core.db, &args.repository_id).await?;

        let bytes = fetch_manifest(&ctx, &remote, &remote.url).await?;
        let manifest_sha = sha256_hex(&bytes);
        let raw_manifest = bytes::Bytes::from(bytes);
        let text = std::str::from_utf8(&raw_manifest)
            .map_err(|_| CoreError::Remote("The PULP_MANIFEST is not UTF-8 text.".into()))?
            .to_string();

        let details = json!({"remote_id": remote.id, "url": remote.url, "policy": remote.policy.as_str(),
                             "manifest_sha256": manifest_sha, "mirror": args.mirror, "latest_version": repo.latest_number});
        if args.optimize && repo.last_sync_details == details {
            ctx.progress
                .start(
                    "sync.was_skipped",
                    "Sync is skipped: nothing changed since the last sync",
                    Some(0),
                )
                .await;
            ctx.progress.complete("sync.was_skipped").await;
            return Ok(None);
        }

        ctx.progress
            .start("sync.parsing.metadata", "Parsing Metadata Lines", None)
            .await;
        let files = parse_manifest(&text, &remote.url)?;
        ctx.progress
            .set_total("sync.parsing.metadata", files.len() as i64)
            .await;
        ctx.progress
            .advance("sync.parsing.metadata", files.len() as i64)
            .await;
        ctx.progress.complete("sync.parsing.metadata").await;

        let ids = get_or_create_remote(&core.db, &remote.id, &files).await?;
        if remote.policy == Policy::Immediate {
            download_missing(&ctx, &remote, &ids).await?;
        }

        ctx.progress
            .start(
                "associating.content",
                "Associating Content",
                Some(ids.len() as i64),
            )
            .await;
        let change = Change::synced(ids.clone(), args.mirror);
        let created = version::create_next(&core.db, &repo.id, change).await?;
        ctx.progress
            .advance("associating.content", ids.len() as i64)
            .await;
        ctx.progress.complete("associating.content").await;

        let latest = repository::get(&core.db, &repo.id).await?.latest_number;
        let mut details = details;
        details["latest_version"] = json!(latest);
        repository::set_last_sync_details(&core.db, &repo.id, &details).await?;
        if let Some(v) = &created {
            ctx.new_version(v).await?;
        }
        // A mirror serves exactly what upstream serves: publish the fetched manifest as it is.
        if args.mirror {
            let v = match &created {
                Some(v) => v.clone(),
                None => version::get(&core.db, &repo.id, latest).await?,
            };
            let manifest = repo
                .manifest
                .clone()
                .unwrap_or_else(|| "PULP_MANIFEST".into());
            let p = depot_file::publish::publish(core, &v, &manifest, false, Some(raw_manifest))
                .await?;
            ctx.made(p.kind, &p.id).await?;
        }
        match created {
            Some(v) => Ok(Some(
                serde_json::to_value(version::response(&core.db, &v).await?).unwrap_or_default(),
            )),
            None => Ok(None),
        }
    })
}

/// The refresh of one path of a file ACS: what the manifest at the path names, recorded by
/// sha256 for the syncs and on-demand fetches of the domain.
fn refresh_acs(ctx: TaskContext, args: AcsRefresh) -> TaskFuture {
    Box::pin(async move {
        let core = &ctx.core;
        let a = acs::get(&core.db, &args.acs_id).await?;
        let remote = remote::get(&core.db, &a.remote_id).await?;
        let Some(path) = acs::paths(&core.db, &a.id)
            .await?
            .into_iter()
            .find(|p| p.id == args.path_id)
        else {
            return Ok(None); // the path was removed since the refresh was asked for
        };
        let url = acs::path_url(&remote.url, &path.path);
        let bytes = fetch_manifest(&ctx, &remote, &url).await?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| CoreError::Remote("The PULP_MANIFEST is not UTF-8 text.".into()))?;
        let files: Vec<AcsFile> = parse_manifest(text, &url)?
            .into_iter()
            .map(|f| AcsFile {
                sha256: f.sha256,
                url: f.url,
                size: Some(f.size as i64),
            })
            .collect();
        ctx.progress
            .start(
                "sync.parsing.metadata",
                "Parsing Metadata Lines",
                Some(files.len() as i64),
            )
            .await;
        acs::record_refresh(&core.db, &a.id, &path.id, &files).await?;
        ctx.progress
            .advance("sync.parsing.metadata", files.len() as i64)
            .await;
        ctx.progress.complete("sync.parsing.metadata").await;
        Ok(None)
    })
}

/// The manifest at `url`, read with `remote`'s settings, at most [`MAX_MANIFEST`] bytes, under
/// Pulp's progress report for it.
async fn fetch_manifest(ctx: &TaskContext, remote: &Remote, url: &str) -> CoreResult<Vec<u8>> {
    const CODE: &str = "sync.downloading.metadata";
    ctx.progress
        .start(CODE, "Downloading Metadata Files", Some(1))
        .await;
    let resp = download::get(&ctx.core, remote, url).await?;
    let bytes = read_limited(resp).await?;
    ctx.progress.advance(CODE, 1).await;
    ctx.progress.complete(CODE).await;
    Ok(bytes)
}

async fn read_limited(resp: reqwest::Response) -> CoreResult<Vec<u8>> {
    download::read_capped(resp, MAX_MANIFEST)
        .await
        .map_err(|e| match e {
            download::CappedBody::TooLarge => {
                CoreError::Remote("The PULP_MANIFEST is too large.".into())
            }
            download::CappedBody::Broken(e) => {
                CoreError::Remote(format!("Downloading the manifest failed: {e}"))
            }
        })
}

/// Downloads every file of these content units that has no artifact yet, `download_concurrency`
/// at a time, verifying size and sha256 before storing.
async fn download_missing(ctx: &TaskContext, remote: &Remote, ids: &[String]) -> CoreResult<()> {
    let core = &ctx.core;
    let wanted: std::collections::HashSet<&String> = ids.iter().collect();
    let todo: Vec<_> = content::missing_from(&core.db, &remote.id)
        .await?
        .into_iter()
        .filter(|(content_id, ..)| wanted.contains(content_id))
        .collect();
    ctx.progress
        .start(
            "sync.downloading.artifacts",
            "Downloading Artifacts",
            Some(todo.len() as i64),
        )
        .await;
    let with_acs = !todo.is_empty() && acs::any(&core.db).await?;
    let mut results =
        futures_util::stream::iter(todo.into_iter().map(|(content_id, url, size, sha)| {
            let core = core.clone();
            let remote = remote.clone();
            let file = (content_id, url, size, sha);
            async move { fetch_one(&core, &remote, file, with_acs).await }
        }))
        .buffer_unordered(remote.download_concurrency());
    while let Some(res) = results.next().await {
        res?;
        ctx.progress.advance("sync.downloading.artifacts", 1).await;
    }
    ctx.progress.complete("sync.downloading.artifacts").await;
    Ok(())
}

/// Downloads one file (content id, url, size, sha256): from an alternate content source that
/// offers the same sha256 when the domain has any (`with_acs`) and one does (and answers with
/// the right bytes), else from `remote`.
async fn fetch_one(
    core: &Core,
    remote: &Remote,
    (content_id, url, size, sha): (String, String, Option<i64>, Option<String>),
    with_acs: bool,
) -> CoreResult<()> {
    let expected = Expected {
        size: size.map(|s| s as u64),
        digests: sha
            .clone()
            .map(|s| vec![(Algorithm::Sha256, s)])
            .unwrap_or_default(),
    };
    if let (Some(sha), true) = (&sha, with_acs) {
        for (acs_url, acs_remote_id) in acs::sources(&core.db, sha).await? {
            let Ok(acs_remote) = remote::get(&core.db, &acs_remote_id).await else {
                continue;
            };
            match download::artifact(core, &acs_remote, &acs_url, &expected).await {
                Ok(artifact) => {
                    return content::attach_artifact(&core.db, &content_id, &artifact.id).await;
                }
                Err(e) => tracing::warn!("alternate content source {acs_url} failed: {e}"),
            }
        }
    }
    let artifact = download::artifact(core, remote, &url, &expected)
        .await
        .map_err(|e| match e {
            CoreError::Invalid(_) => CoreError::Remote(format!(
                "The file downloaded from {url} does not match the manifest: {e}"
            )),
            other => other,
        })?;
    content::attach_artifact(&core.db, &content_id, &artifact.id).await
}

#[cfg(test)]
mod tests {
    use super::parse_manifest;

    #[test]
    fn manifests_parse_and_refuse_bad_lines() {
        let sha = "a".repeat(64);
        let files = parse_manifest(
            &format!("a/b,c.txt,{sha},12\n\n"),
            "http://h/x/PULP_MANIFEST",
        )
        .unwrap();
        assert_eq!(files[0].relative_path, "a/b,c.txt");
        assert_eq!(files[0].size, 12);
        assert_eq!(files[0].url, "http://h/x/a/b%2Cc.txt");
        assert!(parse_manifest("nope", "http://h/").is_err());
        assert!(parse_manifest(&format!("../x,{sha},1"), "http://h/").is_err());
        assert!(parse_manifest("x,zz,1", "http://h/").is_err());
    }

    mod properties {
        use super::parse_manifest;
        use proptest::prelude::*;

        /// A line as a careless or hostile upstream may write it.
        fn line() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                (
                    "[ -~\\n\\r\\t]{0,40}",
                    "[0-9a-fA-F]{0,70}",
                    "[-+0-9 ]{0,22}"
                )
                    .prop_map(|(p, s, n)| format!("{p},{s},{n}")),
            ]
        }

        proptest! {
            #[test]
            fn any_manifest_parses_or_not_without_panic(lines in proptest::collection::vec(line(), 0..8)) {
                if let Ok(files) = parse_manifest(&lines.join("\n"), "http://h/PULP_MANIFEST") {
                    for f in files {
                        prop_assert!(!f.relative_path.contains(char::is_control));
                        prop_assert_eq!(f.sha256.len(), 64);
                    }
                }
            }
        }
    }
}
