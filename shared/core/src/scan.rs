//! The malware scan: artifact bytes streamed to clamd (`INSTREAM`), the verdict kept by sha256.
//! The content app refuses to serve bytes found infected.
//!
//! Two triggers, one code path ([`scan_key`]): the process that stored an artifact scans it
//! (`DEPOT_SCAN_TRIGGER=write`, the local runner's default), or object storage notifies the scan
//! function of each new object (`notification`; S3 `ObjectCreated` events through SQS).

use std::time::Duration;

use futures_util::StreamExt;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{Core, CoreError, CoreResult};

/// What clamd said about a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    Infected(String),
}

/// The largest chunk sent in one INSTREAM frame.
const CHUNK: usize = 64 * 1024;
const TIMEOUT: Duration = Duration::from_secs(300);

/// The sha256 of an artifact's storage key (`[prefix/]artifact/ab/cdef...`); `None` for any other
/// object (staged uploads, published metadata).
pub fn sha256_of_key(key: &str) -> Option<String> {
    let mut parts = key.rsplitn(3, '/');
    let (rest, head, before) = (parts.next()?, parts.next()?, parts.next()?);
    let is_artifact = |p: &str| p == "artifact" || p.ends_with("/artifact");
    // `artifact/ab/..`, a domain's `artifact/<domain id>/ab/..` (or, stored earlier,
    // `domains/<id>/artifact/ab/..`).
    let in_domain = before
        .rsplit_once('/')
        .is_some_and(|(up, id)| is_artifact(up) && uuid::Uuid::parse_str(id).is_ok());
    if !is_artifact(before) && !in_domain {
        return None;
    }
    let sha256 = format!("{head}{rest}");
    let valid = head.len() == 2
        && sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    valid.then_some(sha256)
}

/// The storage key of the artifact a bucket notification names (`key` may carry the storage's
/// prefix): `artifact/ab/...`, a domain's `artifact/<id>/ab/...`, or (stored earlier)
/// `domains/<id>/artifact/ab/...`.
fn local_artifact_key(key: &str) -> Option<String> {
    let parts: Vec<&str> = key.split('/').collect();
    let n = parts.len();
    if n >= 4 && parts[n - 4] == "artifact" && uuid::Uuid::parse_str(parts[n - 3]).is_ok() {
        return Some(parts[n - 4..].join("/"));
    }
    if n < 3 || parts[n - 3] != "artifact" {
        return None;
    }
    let artifact = parts[n - 3..].join("/");
    match n >= 5 && parts[n - 5] == "domains" && uuid::Uuid::parse_str(parts[n - 4]).is_ok() {
        true => Some(format!("domains/{}/{artifact}", parts[n - 4])),
        false => Some(artifact),
    }
}

/// Parses clamd's answer to one INSTREAM (`stream: OK`, `stream: <name> FOUND`, `... ERROR`).
pub fn parse_reply(reply: &str) -> Result<Verdict, String> {
    let reply = reply.trim_end_matches(['\0', '\n']).trim();
    let body = reply
        .strip_prefix("stream:")
        .map(str::trim)
        .unwrap_or(reply);
    if body == "OK" {
        return Ok(Verdict::Clean);
    }
    if let Some(name) = body.strip_suffix(" FOUND") {
        return Ok(Verdict::Infected(name.trim().to_string()));
    }
    Err(format!("clamd answered: {reply}"))
}

/// Streams the object at `key` to clamd and records the verdict. Returns `None` for an object
/// that is not an artifact.
pub async fn scan_key(core: &Core, key: &str) -> CoreResult<Option<Verdict>> {
    let Some(sha256) = sha256_of_key(key) else {
        return Ok(None);
    };
    let Some((host, port)) = core.settings.clamav.clone() else {
        return Err(CoreError::Internal(
            "PULP_CLAMAV_HOST is not set: there is no clamd to scan with".into(),
        ));
    };
    let local_key =
        local_artifact_key(key).unwrap_or_else(|| crate::storage::artifact_key(&sha256));
    let bytes = core.storage.open(&local_key, 0, None).await?;
    let verdict = tokio::time::timeout(TIMEOUT, instream(&host, port, bytes))
        .await
        .map_err(|_| CoreError::Internal(format!("clamd at {host}:{port} did not answer in time")))?
        .map_err(CoreError::Internal)?;
    record(core, &sha256, &verdict).await?;
    match &verdict {
        Verdict::Infected(name) => tracing::warn!(%sha256, signature = %name, "malware found"),
        Verdict::Clean => tracing::info!(%sha256, "scanned: clean"),
    }
    Ok(Some(verdict))
}

/// What the scan found in the stored file at `key`, if it found anything (for servers that do
/// not read the verdict with the file, as the content app does).
pub async fn finding(core: &Core, key: &str) -> CoreResult<Option<String>> {
    let Some(sha256) = sha256_of_key(key) else {
        return Ok(None);
    };
    let signature: Option<Option<String>> = sqlx::query_scalar(
        "SELECT signature FROM artifact_scans WHERE sha256 = $1 AND state = 'infected'",
    )
    .bind(sha256)
    .fetch_optional(core.db.pool())
    .await?;
    Ok(signature.map(|s| s.unwrap_or_else(|| "malware".into())))
}

/// The error for serving a file the scan found infected.
pub fn quarantined(name: &str, signature: &str) -> CoreError {
    CoreError::Forbidden(format!(
        "{name} is quarantined: the malware scan found {signature} in it."
    ))
}

/// Scans a new artifact in the background when this process is the trigger.
pub fn after_write(core: &Core, key: &str) {
    if core.settings.clamav.is_none() || !core.settings.scan_on_write {
        return;
    }
    let (core, key) = (core.clone(), key.to_string());
    // In the writer's domain: the file is in that domain's storage.
    let domain = crate::domain::current();
    tokio::spawn(crate::domain::within(domain, async move {
        if let Err(e) = scan_key(&core, &key).await {
            tracing::error!(%key, "malware scan failed: {e}");
        }
    }));
}

async fn instream(
    host: &str,
    port: u16,
    mut bytes: crate::storage::ByteStream,
) -> Result<Verdict, String> {
    let mut conn = TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("cannot reach clamd at {host}:{port}: {e}"))?;
    // clamd closes the connection early when the stream is over its StreamMaxLength; its answer
    // is still there to read, so a failed write only ends the sending.
    let sent: Result<(), std::io::Error> = async {
        conn.write_all(b"zINSTREAM\0").await?;
        while let Some(chunk) = bytes.next().await {
            for part in chunk?.chunks(CHUNK) {
                conn.write_all(&(part.len() as u32).to_be_bytes()).await?;
                conn.write_all(part).await?;
            }
        }
        conn.write_all(&0u32.to_be_bytes()).await
    }
    .await;
    let mut reply = Vec::new();
    let read = conn.read_to_end(&mut reply).await;
    if reply.is_empty() {
        let why = sent
            .err()
            .map(|e| e.to_string())
            .or(read.err().map(|e| e.to_string()));
        return Err(format!(
            "clamd closed the connection without an answer ({})",
            why.unwrap_or_default()
        ));
    }
    parse_reply(&String::from_utf8_lossy(&reply))
}

async fn record(core: &Core, sha256: &str, verdict: &Verdict) -> CoreResult<()> {
    let (state, signature) = match verdict {
        Verdict::Clean => ("clean", None),
        Verdict::Infected(name) => ("infected", Some(name.clone())),
    };
    sqlx::query(
        "INSERT INTO artifact_scans (sha256, state, signature, scanner, scanned_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (sha256) DO UPDATE SET state = $2, signature = $3, scanner = $4, scanned_at = $5",
    )
    .bind(sha256)
    .bind(state)
    .bind(signature)
    .bind("clamd")
    .bind(crate::time::now())
    .execute(core.db.pool())
    .await?;
    core.serving_cache.invalidate(); // an infected file must not be served from memory
    Ok(())
}

/// An object storage notification, as S3 sends it (in an SQS message body).
#[derive(Deserialize)]
struct Notification {
    #[serde(rename = "Records", default)]
    records: Vec<NotificationRecord>,
    /// `s3:TestEvent`, sent once when the notification is configured.
    #[serde(rename = "Event", default)]
    event: Option<String>,
}

#[derive(Deserialize)]
struct NotificationRecord {
    #[serde(rename = "eventName", default)]
    event_name: String,
    s3: NotificationS3,
}

#[derive(Deserialize)]
struct NotificationS3 {
    object: NotificationObject,
}

#[derive(Deserialize)]
struct NotificationObject {
    key: String,
}

/// Handles one notification message: scans each created artifact object. Returns the verdicts
/// (objects that are not artifacts have none). An error means the message should come again.
pub async fn on_notification(core: &Core, body: &str) -> CoreResult<Vec<(String, Verdict)>> {
    let n: Notification = serde_json::from_str(body)
        .map_err(|e| CoreError::invalid(format!("not an object storage notification: {e}")))?;
    if n.event.as_deref() == Some("s3:TestEvent") {
        return Ok(Vec::new());
    }
    let mut verdicts = Vec::new();
    for r in n.records {
        if !r.event_name.starts_with("ObjectCreated:") {
            continue;
        }
        // Keys arrive form-encoded (a space as `+`).
        let key = r.s3.object.key.replace('+', " ");
        let key = percent_encoding::percent_decode_str(&key)
            .decode_utf8_lossy()
            .to_string();
        if let Some(v) = scan_key(core, &key).await? {
            verdicts.push((key, v));
        }
    }
    Ok(verdicts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_keys_name_their_sha256() {
        let sha = "ab".to_string() + &"c".repeat(62);
        let key = format!("artifact/ab/{}", &sha[2..]);
        assert_eq!(sha256_of_key(&key).as_deref(), Some(sha.as_str()));
        assert_eq!(
            sha256_of_key(&format!("depot/{key}")).as_deref(),
            Some(sha.as_str())
        );
        assert_eq!(sha256_of_key("depot/tmp/0193-uuid"), None);
        let domain = format!("domains/0190a3c2-7d6e-7c1a-9b1e-2f3a4b5c6d7e/{key}");
        assert_eq!(sha256_of_key(&domain).as_deref(), Some(sha.as_str()));
        assert_eq!(local_artifact_key(&format!("depot/{domain}")), Some(domain));
        let pulps = format!(
            "artifact/0190a3c2-7d6e-7c1a-9b1e-2f3a4b5c6d7e/ab/{}",
            &sha[2..]
        );
        assert_eq!(sha256_of_key(&pulps).as_deref(), Some(sha.as_str()));
        assert_eq!(local_artifact_key(&format!("depot/{pulps}")), Some(pulps));
        assert_eq!(
            sha256_of_key(&format!("artifact/not-a-uuid/ab/{}", &sha[2..])),
            None
        );
        assert_eq!(
            local_artifact_key(&format!("depot/{key}")),
            Some(key.clone())
        );
        assert_eq!(
            sha256_of_key(&format!("depot/artifact/ab/{}", "C".repeat(62))),
            None
        );
        assert_eq!(sha256_of_key("artifact/ab/cd"), None);
        assert_eq!(
            sha256_of_key(&format!("notartifact/ab/{}", &sha[2..])),
            None
        );
    }

    #[test]
    fn clamd_replies() {
        assert_eq!(parse_reply("stream: OK\0"), Ok(Verdict::Clean));
        assert_eq!(
            parse_reply("stream: Eicar-Test-Signature-NDB.UNOFFICIAL FOUND\0"),
            Ok(Verdict::Infected(
                "Eicar-Test-Signature-NDB.UNOFFICIAL".into()
            ))
        );
        assert!(parse_reply("INSTREAM size limit exceeded. ERROR\0").is_err());
    }
}
