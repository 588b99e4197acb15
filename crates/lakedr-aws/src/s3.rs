//! [`S3Store`]: the object-store contract over `aws-sdk-s3`, for buckets in any region.
//!
//! S3 answers a request signed for another region than its bucket's with `301 PermanentRedirect`,
//! which the SDK does not follow. So the store keeps one client per region (built once, the
//! first time a bucket of that region is used) and finds each bucket's region by itself: from
//! the rules' overrides, else with one HeadBucket (S3 names the region in `x-amz-bucket-region`
//! on 200, 301 and 403 alike), cached for the life of the process. A request that is still
//! redirected (a stale override) learns the region from the answer and is sent once more.
//! Copies go to the destination bucket's region, naming the source in `x-amz-copy-source`
//! (S3 copies across regions that way); reads go to the source bucket's region.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, RwLock};

use tokio::sync::OnceCell;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::Region;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, ServerSideEncryption};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use lakedr::config::CopySettings;
use lakedr::store::{
    CopySource, GetResult, ObjectMeta, ObjectStore, ObjectUrl, PutMode, PutOptions, Scheme,
};
use lakedr::{Error, Result};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::error::map_sdk;

/// Characters kept as is in `x-amz-copy-source` (RFC 3986 unreserved, and `/`).
const COPY_SOURCE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// The region S3 uses for requests when the configuration names none.
const FALLBACK_REGION: &str = "us-east-1";

/// S3 through one client per region.
#[derive(Debug)]
pub struct S3Store {
    /// Every client is this configuration with its region set.
    template: aws_sdk_s3::Config,
    default_region: String,
    clients: RwLock<HashMap<String, Client>>,
    /// Bucket regions: configured, or found once (concurrent first requests to a bucket wait
    /// for one HeadBucket) and kept.
    regions: RwLock<HashMap<String, Arc<OnceCell<String>>>>,
    copy: CopySettings,
}

/// The region S3 names in a redirect (or a HeadBucket answer) of this error.
fn redirect_region<E>(err: &SdkError<E, HttpResponse>) -> Option<String> {
    let raw = err.raw_response()?;
    let status = raw.status().as_u16();
    if status != 301 && status != 400 && status != 403 {
        return None;
    }
    raw.headers().get("x-amz-bucket-region").map(str::to_owned)
}

fn unquote(etag: Option<&str>) -> Option<String> {
    etag.map(|e| e.trim_matches('"').to_string())
}

/// Entity tags travel quoted in conditional headers.
fn quote(etag: &str) -> String {
    format!("\"{etag}\"")
}

fn to_system_time(t: Option<&aws_smithy_types::DateTime>) -> Option<std::time::SystemTime> {
    t.and_then(|t| std::time::SystemTime::try_from(*t).ok())
}

impl S3Store {
    /// A store over clients built from `sdk`, path-style if asked.
    pub fn new(sdk: &aws_config::SdkConfig, force_path_style: bool, copy: CopySettings) -> Self {
        let conf = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(force_path_style)
            .build();
        Self::from_conf(conf, copy)
    }

    /// A store over clients built from `conf` (e.g. one with interceptors), one per region.
    pub fn from_conf(conf: aws_sdk_s3::Config, copy: CopySettings) -> Self {
        let default_region = conf
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| FALLBACK_REGION.to_string());
        Self {
            template: conf,
            default_region,
            clients: RwLock::default(),
            regions: RwLock::default(),
            copy,
        }
    }

    /// Buckets whose region is known (the rules' overrides): no discovery for them.
    pub fn with_bucket_regions(self, regions: impl IntoIterator<Item = (String, String)>) -> Self {
        for (bucket, region) in regions {
            self.learn(&bucket, &region);
        }
        self
    }

    /// The client of `region`, built the first time it is needed.
    fn client(&self, region: &str) -> Client {
        if let Some(c) = self
            .clients
            .read()
            .ok()
            .and_then(|m| m.get(region).cloned())
        {
            return c;
        }
        let client = Client::from_conf(
            self.template
                .to_builder()
                .region(Region::new(region.to_string()))
                .build(),
        );
        if let Ok(mut m) = self.clients.write() {
            return m.entry(region.to_string()).or_insert(client).clone();
        }
        client
    }

    fn learn(&self, bucket: &str, region: &str) {
        if let Ok(mut m) = self.regions.write() {
            m.insert(
                bucket.to_string(),
                Arc::new(OnceCell::new_with(Some(region.to_string()))),
            );
        }
    }

    /// The region of `bucket`: configured, cached, or asked of S3 with one HeadBucket (one for
    /// all the requests that need it at once).
    pub async fn region_of(&self, bucket: &str) -> Result<String> {
        let known = self
            .regions
            .read()
            .ok()
            .and_then(|m| m.get(bucket).cloned());
        let cell = match known {
            Some(c) => c,
            None => match self.regions.write() {
                Ok(mut m) => m.entry(bucket.to_string()).or_default().clone(),
                Err(_) => Arc::new(OnceCell::new()),
            },
        };
        cell.get_or_try_init(|| self.discover(bucket))
            .await
            .cloned()
    }

    /// Asks S3 for a bucket's region.
    async fn discover(&self, bucket: &str) -> Result<String> {
        let target = format!("s3://{bucket}");
        let region = match self
            .client(&self.default_region)
            .head_bucket()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(out) => out
                .bucket_region()
                .map(str::to_owned)
                .unwrap_or_else(|| self.default_region.clone()),
            Err(e) => match redirect_region(&e) {
                Some(r) => r,
                None => match map_sdk(e, &target) {
                    Error::NotFound { .. } => {
                        return Err(Error::Storage {
                            target,
                            message: "the bucket does not exist".into(),
                        });
                    }
                    // Not allowed to ask, and no region said: requests go to the default one.
                    Error::Storage { .. } => self.default_region.clone(),
                    other => return Err(other),
                },
            },
        };
        tracing::debug!(bucket, region = %region, "bucket region");
        Ok(region)
    }

    /// Sends `op` with the client of `bucket`'s region; a redirect teaches the region and the
    /// request is sent once more there.
    async fn send<T, E, Fut>(
        &self,
        bucket: &str,
        target: &str,
        op: impl Fn(Client) -> Fut,
    ) -> Result<T>
    where
        Fut: Future<Output = std::result::Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        self.send_raw(bucket, op)
            .await?
            .map_err(|e| map_sdk(e, target))
    }

    /// [`Self::send`], leaving the SDK's error to the caller.
    async fn send_raw<T, E, Fut>(
        &self,
        bucket: &str,
        op: impl Fn(Client) -> Fut,
    ) -> Result<std::result::Result<T, SdkError<E, HttpResponse>>>
    where
        Fut: Future<Output = std::result::Result<T, SdkError<E, HttpResponse>>>,
    {
        let region = self.region_of(bucket).await?;
        let first = op(self.client(&region)).await;
        Ok(match first.as_ref().err().and_then(redirect_region) {
            Some(actual) if actual != region => {
                tracing::info!(bucket, from = %region, to = %actual, "bucket region corrected");
                self.learn(bucket, &actual);
                op(self.client(&actual)).await
            }
            _ => first,
        })
    }

    fn copy_source(src: &CopySource) -> String {
        let mut s =
            utf8_percent_encode(&format!("{}/{}", src.url.bucket, src.url.key), COPY_SOURCE)
                .to_string();
        if let Some(v) = &src.version_id {
            s.push_str("?versionId=");
            s.push_str(&utf8_percent_encode(v, NON_ALPHANUMERIC).to_string());
        }
        s
    }

    fn kms(&self) -> Option<(ServerSideEncryption, String)> {
        self.copy
            .kms_key_id
            .clone()
            .map(|k| (ServerSideEncryption::AwsKms, k))
    }

    async fn source_meta(
        &self,
        src: &CopySource,
    ) -> Result<aws_sdk_s3::operation::head_object::HeadObjectOutput> {
        let target = src.url.to_string();
        self.send(&src.url.bucket, &target, |c| async move {
            c.head_object()
                .bucket(&src.url.bucket)
                .key(&src.url.key)
                .set_version_id(src.version_id.clone())
                .set_if_match(src.etag.as_deref().map(quote))
                .send()
                .await
        })
        .await
    }

    async fn copy_single(&self, src: &CopySource, dst: &ObjectUrl) -> Result<()> {
        let out = self
            .send(&dst.bucket, &src.url.to_string(), |c| async move {
                let mut req = c
                    .copy_object()
                    .bucket(&dst.bucket)
                    .key(&dst.key)
                    .copy_source(Self::copy_source(src))
                    .set_copy_source_if_match(src.etag.as_deref().map(quote));
                if let Some((sse, key)) = self.kms() {
                    req = req.server_side_encryption(sse).ssekms_key_id(key);
                }
                req.send().await
            })
            .await?;
        // Single-part MD5 entity tags survive a plain copy; check them when comparable: neither
        // copy is encrypted with KMS (or a customer key), whose entity tags are not MD5s.
        let dst_etag = unquote(out.copy_object_result().and_then(|r| r.e_tag()));
        let kms = |s: Option<&ServerSideEncryption>| {
            matches!(
                s,
                Some(ServerSideEncryption::AwsKms | ServerSideEncryption::AwsKmsDsse)
            )
        };
        if let (Some(want), Some(got)) = (&src.etag, &dst_etag)
            && self.copy.etags_are_hashes()
            && !kms(out.server_side_encryption())
            && !want.contains('-')
            && want != got
        {
            // Rare: one HEAD of the source says whether its tag is an MD5 at all.
            let head = self.source_meta(src).await?;
            if kms(head.server_side_encryption()) || head.sse_customer_algorithm().is_some() {
                return Ok(());
            }
            return Err(Error::CopyMismatch {
                src: src.url.to_string(),
                dst: dst.to_string(),
                message: format!("entity tag {got}, expected {want}"),
            });
        }
        Ok(())
    }

    /// The source's tags (none on a store without object tagging).
    async fn source_tags(&self, src: &CopySource) -> Result<Vec<aws_sdk_s3::types::Tag>> {
        let got = self
            .send_raw(&src.url.bucket, |c| async move {
                c.get_object_tagging()
                    .bucket(&src.url.bucket)
                    .key(&src.url.key)
                    .set_version_id(src.version_id.clone())
                    .send()
                    .await
            })
            .await?;
        match got {
            Ok(t) => Ok(t.tag_set().to_vec()),
            Err(e) if e.code() == Some("NotImplemented") => Ok(Vec::new()),
            Err(e) => Err(map_sdk(e, &src.url.to_string())),
        }
    }

    /// A copy in one CopyObject, or in parts when large (or of unknown size).
    async fn copy_planned(&self, src: &CopySource, dst: &ObjectUrl) -> Result<()> {
        let threshold = self.copy.multipart_threshold_bytes;
        match src.size {
            Some(size) if size <= threshold => self.copy_single(src, dst).await,
            _ => {
                // Size unknown (Batch Operations) or large: one HEAD to plan the copy.
                let head = self.source_meta(src).await?;
                let size = head.content_length().unwrap_or_default().max(0) as u64;
                if src.size.is_some_and(|s| s != size) {
                    return Err(Error::PreconditionFailed {
                        url: src.url.to_string(),
                    });
                }
                if size <= threshold {
                    self.copy_single(src, dst).await
                } else {
                    self.copy_multipart(src, dst, &head, size).await
                }
            }
        }
    }

    /// Parallel UploadPartCopy; metadata, content type and tags are carried explicitly because
    /// CreateMultipartUpload does not copy them. Aborts the upload on any failure.
    async fn copy_multipart(
        &self,
        src: &CopySource,
        dst: &ObjectUrl,
        head: &aws_sdk_s3::operation::head_object::HeadObjectOutput,
        size: u64,
    ) -> Result<()> {
        let target = dst.to_string();
        let tags = self.source_tags(src).await?;
        let tagging: Vec<String> = tags
            .iter()
            .map(|t| {
                format!(
                    "{}={}",
                    utf8_percent_encode(t.key(), NON_ALPHANUMERIC),
                    utf8_percent_encode(t.value(), NON_ALPHANUMERIC)
                )
            })
            .collect();
        let upload = self
            .send(&dst.bucket, &target, |c| {
                let tagging = tagging.clone();
                async move {
                    let mut create = c
                        .create_multipart_upload()
                        .bucket(&dst.bucket)
                        .key(&dst.key)
                        .set_content_type(head.content_type().map(str::to_owned))
                        .set_content_encoding(head.content_encoding().map(str::to_owned))
                        .set_cache_control(head.cache_control().map(str::to_owned))
                        .set_metadata(head.metadata().cloned());
                    if !tagging.is_empty() {
                        create = create.tagging(tagging.join("&"));
                    }
                    if let Some((sse, key)) = self.kms() {
                        create = create.server_side_encryption(sse).ssekms_key_id(key);
                    }
                    create.send().await
                }
            })
            .await?;
        // The upload lives in the destination's region: every part goes there.
        let client = self.client(&self.region_of(&dst.bucket).await?);
        let upload_id = upload
            .upload_id()
            .ok_or_else(|| Error::Storage {
                target: target.clone(),
                message: "CreateMultipartUpload answered no upload id".into(),
            })?
            .to_string();
        let part_size = self.copy.multipart_part_size_bytes;
        let parts = size.div_ceil(part_size).max(1);
        let source = Self::copy_source(src);
        let etag = src.etag.clone().or_else(|| unquote(head.e_tag()));
        let result: Result<Vec<CompletedPart>> = futures::stream::iter((0..parts).map(|i| {
            let (source, upload_id, etag) = (source.clone(), upload_id.clone(), etag.clone());
            let (client, target) = (&client, target.clone());
            async move {
                let start = i * part_size;
                let end = (start + part_size).min(size) - 1;
                let out = client
                    .upload_part_copy()
                    .bucket(&dst.bucket)
                    .key(&dst.key)
                    .upload_id(upload_id)
                    .part_number((i + 1) as i32)
                    .copy_source(source)
                    .copy_source_range(format!("bytes={start}-{end}"))
                    .set_copy_source_if_match(etag.as_deref().map(quote))
                    .send()
                    .await
                    .map_err(|e| map_sdk(e, &target))?;
                Ok(CompletedPart::builder()
                    .part_number((i + 1) as i32)
                    .set_e_tag(
                        out.copy_part_result()
                            .and_then(|r| r.e_tag())
                            .map(str::to_owned),
                    )
                    .build())
            }
        }))
        .buffered(self.copy.max_concurrency.clamp(1, 16))
        .try_collect()
        .await;
        let completed = match result {
            Ok(p) => p,
            Err(e) => {
                let _ = client
                    .abort_multipart_upload()
                    .bucket(&dst.bucket)
                    .key(&dst.key)
                    .upload_id(&upload_id)
                    .send()
                    .await;
                return Err(e);
            }
        };
        client
            .complete_multipart_upload()
            .bucket(&dst.bucket)
            .key(&dst.key)
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(completed))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| map_sdk(e, &target))?;
        let copied = self.head(dst).await?.map(|m| m.size);
        if copied != Some(size) {
            return Err(Error::CopyMismatch {
                src: src.url.to_string(),
                dst: target,
                message: format!(
                    "{} bytes, expected {size}",
                    copied.map_or("no object".to_string(), |c| c.to_string())
                ),
            });
        }
        Ok(())
    }

    /// Every page of a listing, with the SDK's paginator on the bucket's regional client.
    async fn list_pages(
        &self,
        prefix: &ObjectUrl,
        delimiter: Option<&str>,
        start_after: Option<&str>,
    ) -> Result<Vec<ObjectMeta>> {
        let target = prefix.to_string();
        let mut retried = false;
        'again: loop {
            let region = self.region_of(&prefix.bucket).await?;
            let mut pages = self
                .client(&region)
                .list_objects_v2()
                .bucket(&prefix.bucket)
                .prefix(&prefix.key)
                .set_delimiter(delimiter.map(str::to_owned))
                .set_start_after(start_after.map(str::to_owned))
                .into_paginator()
                .send();
            let mut out = Vec::new();
            while let Some(page) = pages.next().await {
                let page = match page {
                    Ok(p) => p,
                    Err(e) => match redirect_region(&e) {
                        Some(actual) if actual != region && !retried => {
                            self.learn(&prefix.bucket, &actual);
                            retried = true;
                            continue 'again;
                        }
                        _ => return Err(map_sdk(e, &target)),
                    },
                };
                // Tags that are not content hashes (KMS) would make every object differ from
                // its copy: listed without them, objects compare by size.
                let hashes = self.copy.etags_are_hashes();
                for o in page.contents() {
                    out.push(ObjectMeta {
                        key: o.key().unwrap_or_default().to_string(),
                        size: o.size().unwrap_or_default().max(0) as u64,
                        etag: unquote(o.e_tag()).filter(|_| hashes),
                        version_id: None,
                        last_modified: to_system_time(o.last_modified()),
                    });
                }
            }
            out.sort_by(|a, b| a.key.cmp(&b.key));
            return Ok(out);
        }
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    fn scheme(&self) -> Scheme {
        Scheme::S3
    }

    async fn list(&self, prefix: &ObjectUrl) -> Result<Vec<ObjectMeta>> {
        self.list_pages(prefix, None, None).await
    }

    async fn list_dir(
        &self,
        prefix: &ObjectUrl,
        start_after: Option<&str>,
    ) -> Result<Vec<ObjectMeta>> {
        self.list_pages(prefix, Some("/"), start_after).await
    }

    async fn head(&self, url: &ObjectUrl) -> Result<Option<ObjectMeta>> {
        let got = self
            .send(&url.bucket, &url.to_string(), |c| async move {
                c.head_object()
                    .bucket(&url.bucket)
                    .key(&url.key)
                    .send()
                    .await
            })
            .await;
        match got {
            Ok(o) => Ok(Some(ObjectMeta {
                key: url.key.clone(),
                size: o.content_length().unwrap_or_default().max(0) as u64,
                etag: unquote(o.e_tag()),
                version_id: o.version_id().map(str::to_owned),
                last_modified: to_system_time(o.last_modified()),
            })),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }

    async fn get(&self, url: &ObjectUrl, version_id: Option<&str>) -> Result<GetResult> {
        let out = self
            .send(&url.bucket, &url.to_string(), |c| async move {
                c.get_object()
                    .bucket(&url.bucket)
                    .key(&url.key)
                    .set_version_id(version_id.map(str::to_owned))
                    .send()
                    .await
            })
            .await?;
        let meta = ObjectMeta {
            key: url.key.clone(),
            size: out.content_length().unwrap_or_default().max(0) as u64,
            etag: unquote(out.e_tag()),
            version_id: out.version_id().map(str::to_owned),
            last_modified: to_system_time(out.last_modified()),
        };
        let content_type = out.content_type().map(str::to_owned);
        let metadata: BTreeMap<String, String> = out
            .metadata()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| Error::Transient {
                target: url.to_string(),
                message: format!("reading body: {}", lakedr::error::chain(&e)),
            })?
            .into_bytes();
        Ok(GetResult {
            body,
            meta,
            content_type,
            metadata,
        })
    }

    async fn get_range(&self, url: &ObjectUrl, range: std::ops::Range<u64>) -> Result<Bytes> {
        if range.end <= range.start {
            return Ok(Bytes::new());
        }
        let out = self
            .send(&url.bucket, &url.to_string(), |c| {
                let range = format!("bytes={}-{}", range.start, range.end - 1);
                async move {
                    c.get_object()
                        .bucket(&url.bucket)
                        .key(&url.key)
                        .range(range)
                        .send()
                        .await
                }
            })
            .await?;
        Ok(out
            .body
            .collect()
            .await
            .map_err(|e| Error::Transient {
                target: url.to_string(),
                message: format!("reading body: {}", lakedr::error::chain(&e)),
            })?
            .into_bytes())
    }

    async fn put(&self, url: &ObjectUrl, body: Bytes, opts: &PutOptions) -> Result<ObjectMeta> {
        let size = body.len() as u64;
        let out = self
            .send(&url.bucket, &url.to_string(), |c| {
                let body = body.clone();
                async move {
                    let mut req = c
                        .put_object()
                        .bucket(&url.bucket)
                        .key(&url.key)
                        .body(body.into())
                        .set_content_type(opts.content_type.clone())
                        .set_metadata(
                            (!opts.metadata.is_empty())
                                .then(|| opts.metadata.clone().into_iter().collect()),
                        );
                    req = match &opts.mode {
                        PutMode::Overwrite => req,
                        PutMode::IfAbsent => req.if_none_match("*"),
                        PutMode::IfMatch(etag) => req.if_match(quote(etag)),
                    };
                    if let Some((sse, key)) = self.kms() {
                        req = req.server_side_encryption(sse).ssekms_key_id(key);
                    }
                    req.send().await
                }
            })
            .await?;
        Ok(ObjectMeta {
            key: url.key.clone(),
            size,
            etag: unquote(out.e_tag()),
            version_id: out.version_id().map(str::to_owned),
            last_modified: None,
        })
    }

    async fn copy(&self, src: &CopySource, dst: &ObjectUrl) -> Result<()> {
        // A failure that is not "the source version is gone" names both ends: a copy's
        // `NoSuchBucket` or `AccessDenied` may be about either bucket.
        self.copy_planned(src, dst).await.map_err(|e| match e {
            Error::Storage { message, .. } => Error::Storage {
                target: format!("copy of {} to {dst}", src.url),
                message,
            },
            Error::Transient { message, .. } => Error::Transient {
                target: format!("copy of {} to {dst}", src.url),
                message,
            },
            e => e,
        })
    }

    async fn delete(&self, url: &ObjectUrl) -> Result<()> {
        self.send(&url.bucket, &url.to_string(), |c| async move {
            c.delete_object()
                .bucket(&url.bucket)
                .key(&url.key)
                .send()
                .await
        })
        .await?;
        Ok(())
    }

    async fn exists_prefix(&self, prefix: &ObjectUrl) -> Result<bool> {
        let out = self
            .send(&prefix.bucket, &prefix.to_string(), |c| async move {
                c.list_objects_v2()
                    .bucket(&prefix.bucket)
                    .prefix(&prefix.key)
                    .max_keys(1)
                    .send()
                    .await
            })
            .await?;
        Ok(!out.contents().is_empty())
    }
}
