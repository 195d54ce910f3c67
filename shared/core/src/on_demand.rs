//! Content whose bytes are still upstream (`on_demand` and `streamed` remotes, the registry's
//! pull-through cache): the first remote that answers is relayed to the caller while size and
//! sha256 are checked, and for `on_demand` the bytes are saved as an artifact once verified, so
//! the next request is served from storage. A digest mismatch ends the stream with an error, so
//! a client never gets a silently wrong file.
//!
//! Alternate content sources of the domain that offer the same sha256 are asked before the
//! content's own remotes.
//!
//! Concurrent requests for the same missing content download it once per process: the first
//! request claims the download, the others wait for it and are then served from storage.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sqlx::Row;
use tokio::sync::watch;

use crate::artifacts::{Expected, ingest_staged};
use crate::checksums::{Algorithm, Hasher};
use crate::models::remote::{self, Policy};
use crate::models::{acs, content};
use crate::{Core, CoreError, CoreResult, download};

/// Downloads in progress, by content id; waiters hold a receiver whose sender the downloader
/// drops when it is done.
static IN_FLIGHT: LazyLock<Mutex<HashMap<String, watch::Receiver<()>>>> =
    LazyLock::new(Default::default);

/// The right to download one content unit's bytes; dropping it wakes the waiters.
struct Claim {
    content_id: String,
    _done: watch::Sender<()>,
}

impl Drop for Claim {
    fn drop(&mut self) {
        IN_FLIGHT
            .lock()
            .expect("in-flight downloads")
            .remove(&self.content_id);
    }
}

/// Claims the download of `content_id`, or waits for the request that holds it and answers
/// `None` (look in storage again).
async fn claim(content_id: &str) -> Option<Claim> {
    let mut rx = {
        let mut map = IN_FLIGHT.lock().expect("in-flight downloads");
        match map.get(content_id) {
            Some(rx) => rx.clone(),
            None => {
                let (tx, rx) = watch::channel(());
                map.insert(content_id.to_string(), rx);
                return Some(Claim {
                    content_id: content_id.to_string(),
                    _done: tx,
                });
            }
        }
    };
    // Returns once the sender is dropped.
    while rx.changed().await.is_ok() {}
    None
}

/// Storage key and size of the content's bytes, once they are stored.
async fn stored(core: &Core, content_id: &str) -> CoreResult<Option<(String, i64)>> {
    let row = sqlx::query(
        "SELECT a.file, a.size FROM content_artifacts ca JOIN artifacts a ON a.id = ca.artifact_id \
         WHERE ca.content_id = $1",
    )
    .bind(content_id)
    .fetch_optional(core.db.pool())
    .await?;
    Ok(match row {
        Some(r) => Some((r.try_get(0)?, r.try_get(1)?)),
        None => None,
    })
}

/// Where the bytes of a content unit come from.
pub enum Found {
    /// In storage, under this key, of this size.
    Stored { key: String, size: i64 },
    /// From upstream: the bytes as they arrive (none for a `HEAD` of a `streamed` remote's
    /// file), and the size the remote promised, if it did.
    Upstream {
        body: Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send + Unpin>,
        size: Option<i64>,
    },
}

/// Finds the bytes of content `content_id` (file `content_artifact_id`): stored ones, or the
/// first remote that answers. For a `head` request the file is fetched (and, but for a
/// `streamed` remote, saved) before the answer, as Pulp does, so that its headers are those of
/// the verified file. Upstream files that failed their digest lately are skipped; none left is
/// not found.
pub async fn fetch(
    core: &Core,
    content_id: &str,
    content_artifact_id: &str,
    head: bool,
) -> CoreResult<Found> {
    let claim = loop {
        if let Some((key, size)) = stored(core, content_id).await? {
            return Ok(Found::Stored { key, size });
        }
        if let Some(c) = claim(content_id).await {
            break c;
        }
    };
    let mut sources = content::remote_sources(&core.db, content_artifact_id).await?;
    // An alternate content source of the domain that offers the same file is asked first.
    if let Some((_, size, Some(sha), _)) = sources.first().cloned() {
        let alternates = acs::sources(&core.db, &sha).await?;
        let alternates = alternates
            .into_iter()
            .map(|(url, remote_id)| (url, size, Some(sha.clone()), remote_id));
        sources.splice(0..0, alternates);
    }
    let cooldown = core.settings.fetch_failure_cooldown;
    let mut last_error = CoreError::NotFound("Not found.".into());
    for (url, size, sha, remote_id) in sources {
        if remote::fetch_failed_recently(&core.db, &remote_id, &url, cooldown).await? {
            continue;
        }
        let Ok(remote) = remote::get(&core.db, &remote_id).await else {
            continue;
        };
        let resp = match download::get(core, &remote, &url).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("on-demand fetch of {url} failed: {e}");
                last_error = e;
                continue;
            }
        };
        let source = Source {
            remote_id,
            url,
            size,
            sha,
            save: remote.policy != Policy::Streamed,
        };
        if head {
            // Nobody reads what is relayed: the whole file is fetched (and saved) now.
            let (tx, _) = tokio::sync::mpsc::channel(1);
            match relay(core, resp, tx, &source, content_id).await {
                Ok(()) => {}
                Err(e) => {
                    tracing::warn!("on-demand fetch of {} failed: {e}", source.url);
                    last_error = e;
                    continue;
                }
            }
            drop(claim);
            return Ok(match stored(core, content_id).await? {
                Some((key, size)) => Found::Stored { key, size },
                None => Found::Upstream {
                    body: Box::new(futures_util::stream::empty()),
                    size,
                },
            });
        }
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        let core = core.clone();
        let content_id = content_id.to_string();
        // The file is saved as an artifact of the request's domain.
        let domain = crate::domain::current();
        tokio::spawn(crate::domain::within(domain, async move {
            let _claim = claim;
            if let Err(e) = relay(&core, resp, tx.clone(), &source, &content_id).await {
                tracing::warn!("on-demand download failed: {e}");
                let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
            }
        }));
        return Ok(Found::Upstream {
            body: Box::new(receiver_stream(rx)),
            size,
        });
    }
    Err(last_error)
}

/// One upstream copy of a file: where it is, what it should be, and whether it is kept.
struct Source {
    remote_id: String,
    url: String,
    size: Option<i64>,
    sha: Option<String>,
    save: bool,
}

fn receiver_stream(
    mut rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + Unpin {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// Copies the remote body to the client and to staged storage; commits it when it verifies.
/// A file whose bytes fail their digest is recorded as failed (its source is not asked again
/// for the cooldown) before the error ends the client's stream.
async fn relay(
    core: &Core,
    resp: reqwest::Response,
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    source: &Source,
    content_id: &str,
) -> CoreResult<()> {
    let mut staged = if source.save {
        Some(core.storage.stage().await?)
    } else {
        None
    };
    let mut hasher = Hasher::new(&core.settings.allowed_checksums);
    let mut body = download::body_stream(resp);
    let mut client_gone = false;
    // The last chunk is held back until the bytes are verified (and saved): a client that has
    // the whole file finds it stored, and one whose file fails the check never gets it whole.
    let mut held: Option<Bytes> = None;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(CoreError::Remote)?;
        hasher.update(&chunk);
        if let Some(s) = staged.as_mut() {
            s.write(&chunk).await?;
        }
        let Some(previous) = held.replace(chunk) else {
            continue;
        };
        // Keep downloading after the client left, so that the file is saved for the next one.
        if !client_gone && tx.send(Ok(previous)).await.is_err() {
            client_gone = true;
            if staged.is_none() {
                return Ok(());
            }
        }
    }
    let digests = hasher.finish();
    let expected = Expected {
        size: source.size.map(|s| s as u64),
        digests: source
            .sha
            .clone()
            .map(|s| vec![(Algorithm::Sha256, s)])
            .unwrap_or_default(),
    };
    if crate::artifacts::check(&expected, &digests).is_err() {
        let cooldown = core.settings.fetch_failure_cooldown;
        remote::record_fetch_failure(&core.db, &source.remote_id, &source.url, cooldown).await?;
        return Err(CoreError::Remote(format!(
            "{} does not match its expected digest; it is not asked again for {cooldown} s.",
            source.url
        )));
    }
    if let Some(staged) = staged {
        let a = ingest_staged(core, staged, digests, &expected).await?;
        content::attach_artifact(&core.db, content_id, &a.id).await?;
    }
    if let (Some(last), false) = (held, client_gone) {
        let _ = tx.send(Ok(last)).await;
    }
    Ok(())
}
