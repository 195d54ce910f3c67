//! The S3 backend (AWS or any S3-compatible endpoint). A staged file is held in memory only up
//! to one part (8 MiB); past that it becomes a multipart upload to a temporary key, one part in
//! flight while the next fills, so memory stays bounded whatever the file size. The final key is
//! a content address known only at commit, so large files are copied server-side into place.
//! A staged file that is dropped uncommitted aborts its upload: nothing half-written remains
//! under an artifact key. (An upload cut off by a crash is left to the bucket's lifecycle rule
//! for incomplete multipart uploads.)

use std::io;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{Credentials, Region, RequestChecksumCalculation};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream as S3Body;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use tokio::task::JoinHandle;

use super::{ByteStream, StagedFile, Storage, check_key};
use crate::config::S3Settings;

/// Size of a multipart part; S3 wants at least 5 MiB for every part but the last.
const PART_SIZE: usize = 8 * 1024 * 1024;
/// CopyObject copies at most 5 GiB; bigger objects are copied in parts of this size.
const COPY_LIMIT: u64 = 5 * 1024 * 1024 * 1024;
const COPY_PART: u64 = 1024 * 1024 * 1024;

#[derive(Clone)]
pub struct S3Storage {
    client: Client,
    bucket: String,
    /// Empty, or ends with `/`.
    prefix: String,
    presign_expiry: Duration,
}

/// A one-line account of an S3 call that failed: the service's error code and HTTP status, or
/// why the request never got an answer.
fn describe<E>(e: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match e {
        SdkError::ServiceError(se) => format!(
            "{} (HTTP {}){}",
            se.err().code().unwrap_or("error"),
            se.raw().status().as_u16(),
            se.err()
                .message()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        ),
        other => {
            // The innermost cause says it best ("Connection refused", "dns error", ...).
            let mut cause: &dyn std::error::Error = other;
            while let Some(next) = cause.source() {
                cause = next;
            }
            format!("{other}: {cause}")
        }
    }
}

fn s3_error<E>(
    what: &str,
    key: &str,
    e: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> io::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    io::Error::other(format!("S3 {what} of {key} failed: {}", describe(&e)))
}

impl S3Storage {
    /// Builds the client and checks that the bucket answers.
    pub async fn connect(s: &S3Settings) -> Result<Self, String> {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(ep) = &s.endpoint_url {
            loader = loader.endpoint_url(ep);
        }
        match &s.region {
            Some(r) => loader = loader.region(Region::new(r.clone())),
            None if std::env::var("AWS_REGION").is_err()
                && std::env::var("AWS_DEFAULT_REGION").is_err() =>
            {
                loader = loader.region(Region::new("us-east-1"));
            }
            None => {}
        }
        match (&s.access_key, &s.secret_key) {
            (Some(ak), Some(sk)) => {
                loader = loader.credentials_provider(Credentials::new(
                    ak,
                    sk,
                    None,
                    None,
                    "PULP_STORAGES__default__OPTIONS",
                ));
            }
            (None, None) => {}
            _ => {
                return Err("PULP_STORAGES__default__OPTIONS__access_key and \
                            PULP_STORAGES__default__OPTIONS__secret_key must be set together"
                    .into());
            }
        }
        let shared = loader.load().await;
        let config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(s.path_style)
            // Integrity is checked by Depot's own digests; extra per-request checksums only cost
            // CPU and trip some S3-compatible servers.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            // An endpoint that stops answering must fail the request, not hang a task forever.
            .timeout_config(
                aws_sdk_s3::config::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .read_timeout(Duration::from_secs(120))
                    .build(),
            )
            .build();
        let storage = Self {
            client: Client::from_conf(config),
            bucket: s.bucket.clone(),
            prefix: if s.prefix.is_empty() {
                String::new()
            } else {
                format!("{}/", s.prefix)
            },
            presign_expiry: Duration::from_secs(s.querystring_expire.clamp(1, 7 * 24 * 3600)),
        };
        let endpoint = s.endpoint_url.as_deref().unwrap_or("AWS");
        storage
            .client
            .head_bucket()
            .bucket(&s.bucket)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "DEPOT_STORAGE_URL: bucket '{}' at {endpoint} is not usable \
                     (missing bucket, wrong credentials or endpoint down): {}",
                    s.bucket,
                    describe(&e)
                )
            })?;
        Ok(storage)
    }

    fn object(&self, key: &str) -> io::Result<String> {
        check_key(key)?;
        Ok(format!("{}{key}", self.prefix))
    }

    async fn object_size(&self, object: &str) -> io::Result<Option<u64>> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(object)
            .send()
            .await
        {
            Ok(out) => Ok(Some(out.content_length.unwrap_or(0).max(0) as u64)),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(e) => Err(s3_error("HEAD", object, e)),
        }
    }

    /// Server-side copy of `src` to `dest` (both full object keys).
    async fn copy(&self, src: &str, dest: &str, size: u64) -> io::Result<()> {
        let source = format!("{}/{}", self.bucket, urlencode_key(src));
        if size <= COPY_LIMIT {
            self.client
                .copy_object()
                .bucket(&self.bucket)
                .key(dest)
                .copy_source(source)
                .send()
                .await
                .map_err(|e| s3_error("copy", dest, e))?;
            return Ok(());
        }
        let upload = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(dest)
            .send()
            .await
            .map_err(|e| s3_error("multipart start", dest, e))?;
        let upload_id = upload.upload_id.unwrap_or_default();
        let result = async {
            let mut parts = Vec::new();
            let mut start = 0;
            while start < size {
                let end = (start + COPY_PART).min(size) - 1;
                let number = parts.len() as i32 + 1;
                let out = self
                    .client
                    .upload_part_copy()
                    .bucket(&self.bucket)
                    .key(dest)
                    .upload_id(&upload_id)
                    .part_number(number)
                    .copy_source(&source)
                    .copy_source_range(format!("bytes={start}-{end}"))
                    .send()
                    .await
                    .map_err(|e| s3_error("part copy", dest, e))?;
                parts.push(
                    CompletedPart::builder()
                        .part_number(number)
                        .set_e_tag(out.copy_part_result.and_then(|r| r.e_tag))
                        .build(),
                );
                start = end + 1;
            }
            self.client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(dest)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| s3_error("multipart completion", dest, e))?;
            Ok(())
        }
        .await;
        if result.is_err() {
            abort_upload(self.client.clone(), &self.bucket, dest, &upload_id).await;
        }
        result
    }
}

/// Copy sources are `bucket/key` with the key URL-encoded (slashes kept).
fn urlencode_key(key: &str) -> String {
    percent_encoding::utf8_percent_encode(key, KEY_ENCODE).to_string()
}

const KEY_ENCODE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

async fn abort_upload(client: Client, bucket: &str, key: &str, upload_id: &str) {
    if let Err(e) = client
        .abort_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .send()
        .await
    {
        tracing::warn!(
            "could not abort the multipart upload of {key}: {}",
            describe(&e)
        );
    }
}

#[async_trait]
impl Storage for S3Storage {
    async fn stage(&self) -> io::Result<Box<dyn StagedFile>> {
        Ok(Box::new(S3Staged {
            storage: self.clone(),
            buffer: Vec::new(),
            upload: None,
        }))
    }

    async fn exists(&self, key: &str) -> io::Result<bool> {
        Ok(self.object_size(&self.object(key)?).await?.is_some())
    }

    async fn open(&self, key: &str, offset: u64, len: Option<u64>) -> io::Result<ByteStream> {
        let object = self.object(key)?;
        if len == Some(0) {
            return Ok(Box::pin(futures_util::stream::empty()));
        }
        let mut req = self.client.get_object().bucket(&self.bucket).key(&object);
        match (offset, len) {
            (0, None) => {}
            (o, None) => req = req.range(format!("bytes={o}-")),
            (o, Some(n)) => req = req.range(format!("bytes={o}-{}", o + n - 1)),
        }
        let out = req.send().await.map_err(|e| {
            if e.as_service_error().is_some_and(|e| e.is_no_such_key()) {
                io::Error::new(io::ErrorKind::NotFound, format!("{object} not found"))
            } else {
                s3_error("GET", &object, e)
            }
        })?;
        Ok(Box::pin(tokio_util::io::ReaderStream::with_capacity(
            out.body.into_async_read(),
            64 * 1024,
        )))
    }

    async fn delete(&self, key: &str) -> io::Result<()> {
        let object = self.object(key)?;
        // Deleting a missing object succeeds in S3, as the trait wants.
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(&object)
            .send()
            .await
            .map_err(|e| s3_error("DELETE", &object, e))?;
        Ok(())
    }

    async fn sweep_staged(&self, idle: Duration) -> io::Result<u64> {
        // Large files are staged under `<prefix>tmp/` (see `stage`); incomplete multipart
        // uploads are left to the bucket's lifecycle rule.
        let staged = format!("{}tmp/", self.prefix);
        let cutoff = std::time::SystemTime::now()
            .checked_sub(idle)
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs() as i64);
        let mut removed = 0;
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&staged)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| s3_error("LIST", &staged, e))?;
            for object in page.contents() {
                let old = object.last_modified().is_some_and(|t| t.secs() <= cutoff);
                if let (true, Some(key)) = (old, object.key()) {
                    self.client
                        .delete_object()
                        .bucket(&self.bucket)
                        .key(key)
                        .send()
                        .await
                        .map_err(|e| s3_error("DELETE", key, e))?;
                    removed += 1;
                }
            }
            token = page.next_continuation_token().map(str::to_string);
            if token.is_none() {
                return Ok(removed);
            }
        }
    }

    async fn presigned_url(
        &self,
        key: &str,
        head: bool,
        filename: &str,
        content_type: &str,
    ) -> io::Result<Option<String>> {
        let object = self.object(key)?;
        let config = PresigningConfig::expires_in(self.presign_expiry).map_err(io::Error::other)?;
        let disposition = format!(
            "attachment;filename={}",
            filename.replace(['"', '\r', '\n'], "")
        );
        let request = if head {
            self.client
                .head_object()
                .bucket(&self.bucket)
                .key(&object)
                .response_content_disposition(disposition)
                .response_content_type(content_type)
                .presigned(config)
                .await
                .map_err(|e| s3_error("presign", &object, e))?
        } else {
            self.client
                .get_object()
                .bucket(&self.bucket)
                .key(&object)
                .response_content_disposition(disposition)
                .response_content_type(content_type)
                .presigned(config)
                .await
                .map_err(|e| s3_error("presign", &object, e))?
        };
        Ok(Some(request.uri().to_string()))
    }
}

struct Multipart {
    object: String,
    upload_id: String,
    parts: Vec<CompletedPart>,
    in_flight: Option<JoinHandle<io::Result<CompletedPart>>>,
    size: u64,
}

struct S3Staged {
    storage: S3Storage,
    buffer: Vec<u8>,
    upload: Option<Multipart>,
}

impl S3Staged {
    /// Sends the buffer as the next part, after the previous part has finished.
    async fn send_part(&mut self) -> io::Result<()> {
        let s = &self.storage;
        if self.upload.is_none() {
            let object = format!("{}tmp/{}", s.prefix, uuid::Uuid::new_v4());
            let out = s
                .client
                .create_multipart_upload()
                .bucket(&s.bucket)
                .key(&object)
                .send()
                .await
                .map_err(|e| s3_error("multipart start", &object, e))?;
            self.upload = Some(Multipart {
                object,
                upload_id: out.upload_id.unwrap_or_default(),
                parts: Vec::new(),
                in_flight: None,
                size: 0,
            });
        }
        let upload = self.upload.as_mut().expect("started above");
        if let Some(previous) = upload.in_flight.take() {
            upload
                .parts
                .push(previous.await.map_err(io::Error::other)??);
        }
        let body = std::mem::replace(&mut self.buffer, Vec::with_capacity(PART_SIZE));
        upload.size += body.len() as u64;
        let number = upload.parts.len() as i32 + 1;
        let request = s
            .client
            .upload_part()
            .bucket(&s.bucket)
            .key(&upload.object)
            .upload_id(&upload.upload_id)
            .part_number(number)
            .body(S3Body::from(body));
        let object = upload.object.clone();
        upload.in_flight = Some(tokio::spawn(async move {
            let out = request
                .send()
                .await
                .map_err(|e| s3_error("part upload", &object, e))?;
            Ok(CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag)
                .build())
        }));
        Ok(())
    }
}

#[async_trait]
impl StagedFile for S3Staged {
    async fn write(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let room = PART_SIZE - self.buffer.len();
            let take = room.min(data.len());
            self.buffer.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buffer.len() == PART_SIZE {
                self.send_part().await?;
            }
        }
        Ok(())
    }

    async fn commit(mut self: Box<Self>, key: &str) -> io::Result<()> {
        let s = self.storage.clone();
        let dest = s.object(key)?;
        if self.upload.is_none() {
            // Small file: one PUT straight to its key.
            if s.object_size(&dest).await?.is_none() {
                let body = std::mem::take(&mut self.buffer);
                s.client
                    .put_object()
                    .bucket(&s.bucket)
                    .key(&dest)
                    .body(S3Body::from(body))
                    .send()
                    .await
                    .map_err(|e| s3_error("PUT", &dest, e))?;
            }
            return Ok(());
        }
        if !self.buffer.is_empty() {
            self.send_part().await?;
        }
        let mut upload = self.upload.take().expect("checked above");
        let finished = async {
            if let Some(last) = upload.in_flight.take() {
                upload.parts.push(last.await.map_err(io::Error::other)??);
            }
            s.client
                .complete_multipart_upload()
                .bucket(&s.bucket)
                .key(&upload.object)
                .upload_id(&upload.upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(std::mem::take(&mut upload.parts)))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| s3_error("multipart completion", &upload.object, e))
        }
        .await;
        if let Err(e) = finished {
            abort_upload(
                s.client.clone(),
                &s.bucket,
                &upload.object,
                &upload.upload_id,
            )
            .await;
            return Err(e);
        }
        let copied = match s.object_size(&dest).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => s.copy(&upload.object, &dest, upload.size).await,
            Err(e) => Err(e),
        };
        // The temporary object goes either way.
        if let Err(e) = s
            .client
            .delete_object()
            .bucket(&s.bucket)
            .key(&upload.object)
            .send()
            .await
        {
            tracing::warn!("could not delete {}: {}", upload.object, describe(&e));
        }
        copied
    }
}

impl Drop for S3Staged {
    fn drop(&mut self) {
        // Not committed (or failed): abort the multipart upload so its parts are freed.
        let Some(upload) = self.upload.take() else {
            return;
        };
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let client = self.storage.client.clone();
            let bucket = self.storage.bucket.clone();
            rt.spawn(async move {
                if let Some(part) = upload.in_flight {
                    let _ = part.await;
                }
                abort_upload(client, &bucket, &upload.object, &upload.upload_id).await;
            });
        }
    }
}
