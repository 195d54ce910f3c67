//! Repair: finds stored files that are missing or (with `verify_checksums`) whose bytes no longer
//! match their sha256, and fetches them again from the remotes their content came from, as
//! Pulp's repair does. A file that cannot be fetched again is deleted rather than served wrong.
//! Counts go to the task's progress reports with Pulp's codes (`repair.missing`,
//! `repair.corrupted`, `repair.repaired`).

use futures_util::{StreamExt, TryStreamExt};
use sqlx::Row;

use crate::checksums::Hasher;
use crate::models::{content, remote};
use crate::tasks::Progress;
use crate::{Core, CoreResult, download};

const MISSING: &str = "repair.missing";
const CORRUPTED: &str = "repair.corrupted";
const REPAIRED: &str = "repair.repaired";
/// Files checked (and fetched) at once: enough to overlap reads and downloads, few enough not
/// to turn a disk's sequential reads into random ones.
const AT_ONCE: usize = 4;

/// What to look at: the files of one repository version, or every file of the domain in force.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub enum Scope {
    Version { repository_id: String, number: i64 },
    Domain,
}

/// One stored file, with a content artifact of it (whose remotes can give it again).
struct Stored {
    content_artifact_id: String,
    key: String,
    sha256: String,
    size: i64,
}

/// The stored files in `scope`, each once.
async fn stored(core: &Core, scope: &Scope) -> CoreResult<Vec<Stored>> {
    let domain = crate::domain::id().to_string();
    let (sql, version) = match scope {
        Scope::Version {
            repository_id,
            number,
        } => (
            format!(
                "SELECT MIN(ca.id) AS ca_id, a.file, a.sha256, a.size FROM repository_contents rc \
                 JOIN content_artifacts ca ON ca.content_id = rc.content_id \
                 JOIN artifacts a ON a.id = ca.artifact_id \
                 WHERE a.domain_id = $1 AND {} GROUP BY a.file, a.sha256, a.size ORDER BY a.file",
                crate::models::version::present_condition(2, 3)
            ),
            Some((repository_id.clone(), *number)),
        ),
        Scope::Domain => (
            "SELECT MIN(ca.id) AS ca_id, a.file, a.sha256, a.size FROM content_artifacts ca \
             JOIN artifacts a ON a.id = ca.artifact_id WHERE a.domain_id = $1 \
             GROUP BY a.file, a.sha256, a.size ORDER BY a.file"
                .to_string(),
            None,
        ),
    };
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(domain);
    if let Some((repo, number)) = version {
        q = q.bind(repo).bind(number);
    }
    q.fetch_all(core.db.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(Stored {
                content_artifact_id: r.try_get("ca_id")?,
                key: r.try_get("file")?,
                sha256: r.try_get("sha256")?,
                size: r.try_get("size")?,
            })
        })
        .collect()
}

/// Checks and repairs the files in `scope`, reporting to `progress`.
pub async fn run(
    core: &Core,
    progress: &Progress,
    scope: Scope,
    verify_checksums: bool,
) -> CoreResult<()> {
    progress
        .start(MISSING, "Identify missing units", None)
        .await;
    progress
        .start(CORRUPTED, "Identify corrupted units", None)
        .await;
    progress
        .start(REPAIRED, "Repair corrupted units", None)
        .await;
    let files = stored(core, &scope).await?;
    futures_util::stream::iter(files)
        .map(|f| check_one(core, progress, f, verify_checksums))
        .buffer_unordered(AT_ONCE)
        .try_collect::<Vec<()>>()
        .await?;
    for code in [MISSING, CORRUPTED, REPAIRED] {
        progress.complete(code).await;
    }
    Ok(())
}

async fn check_one(
    core: &Core,
    progress: &Progress,
    file: Stored,
    verify_checksums: bool,
) -> CoreResult<()> {
    if !core.storage.exists(&file.key).await? {
        tracing::warn!("repair: {} is missing", file.key);
        progress.advance(MISSING, 1).await;
    } else if verify_checksums && !intact(core, &file).await {
        tracing::warn!("repair: {} does not match its sha256", file.key);
        progress.advance(CORRUPTED, 1).await;
    } else {
        return Ok(());
    }
    if refetch(core, &file).await? {
        progress.advance(REPAIRED, 1).await;
    } else {
        tracing::warn!(
            "repair: {} cannot be fetched again; its file is removed",
            file.key
        );
        core.storage.delete(&file.key).await?;
    }
    Ok(())
}

/// Whether the stored bytes still hash to the recorded sha256 (an unreadable file does not).
async fn intact(core: &Core, file: &Stored) -> bool {
    let Ok(mut body) = core.storage.open(&file.key, 0, None).await else {
        return false;
    };
    let mut hasher = Hasher::new(&[]);
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(c) => hasher.update(&c),
            Err(_) => return false,
        }
    }
    hasher.finish().sha256 == file.sha256
}

/// Fetches the file again from the first of its remotes that gives the right bytes, and puts
/// them in place of what is stored. `false` when none does.
async fn refetch(core: &Core, file: &Stored) -> CoreResult<bool> {
    for (url, _, _, remote_id) in
        content::remote_sources(&core.db, &file.content_artifact_id).await?
    {
        let Ok(remote) = remote::get(&core.db, &remote_id).await else {
            continue;
        };
        let resp = match download::get(core, &remote, &url).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("repair: fetching {url} failed: {e}");
                continue;
            }
        };
        let mut staged = core.storage.stage().await?;
        let mut hasher = Hasher::new(&[]);
        let mut body = std::pin::pin!(download::body_stream(resp));
        let (mut complete, mut written) = (true, 0i64);
        while let Some(chunk) = body.next().await {
            let Ok(chunk) = chunk else {
                complete = false;
                break;
            };
            // No more than the recorded size: an upstream cannot fill the disk.
            written += chunk.len() as i64;
            if written > file.size {
                complete = false;
                break;
            }
            hasher.update(&chunk);
            staged.write(&chunk).await?;
        }
        if !complete || hasher.finish().sha256 != file.sha256 {
            tracing::warn!("repair: {url} did not give the recorded bytes");
            continue;
        }
        // The key is the content address: what is there is wrong, so it goes first.
        core.storage.delete(&file.key).await?;
        staged.commit(&file.key).await?;
        return Ok(true);
    }
    Ok(false)
}
