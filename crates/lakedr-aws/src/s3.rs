//! [`S3Store`]: the object-store contract over `aws-sdk-s3`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_s3::Client;
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

/// S3 through one shared client, built once per process.
#[derive(Clone, Debug)]
pub struct S3Store {
    client: Client,
    copy: CopySettings,
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
    /// A store over a client built from `sdk`, path-style if asked.
    pub fn new(sdk: &aws_config::SdkConfig, force_path_style: bool, copy: CopySettings) -> Self {
        let conf = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(force_path_style)
            .build();
        Self::from_client(Client::from_conf(conf), copy)
    }

    /// A store over an existing client (e.g. one with interceptors).
    pub fn from_client(client: Client, copy: CopySettings) -> Self {
        Self { client, copy }
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
        self.client
            .head_object()
            .bucket(&src.url.bucket)
            .key(&src.url.key)
            .set_version_id(src.version_id.clone())
            .set_if_match(src.etag.as_deref().map(quote))
            .send()
            .await
            .map_err(|e| map_sdk(e, &src.url.to_string()))
    }

    async fn copy_single(&self, src: &CopySource, dst: &ObjectUrl) -> Result<()> {
        let mut req = self
            .client
            .copy_object()
            .bucket(&dst.bucket)
            .key(&dst.key)
            .copy_source(Self::copy_source(src))
            .set_copy_source_if_match(src.etag.as_deref().map(quote));
        if let Some((sse, key)) = self.kms() {
            req = req.server_side_encryption(sse).ssekms_key_id(key);
        }
        let out = req
            .send()
            .await
            .map_err(|e| map_sdk(e, &src.url.to_string()))?;
        // Single-part MD5 entity tags survive a plain copy; check them when comparable.
        let dst_etag = unquote(out.copy_object_result().and_then(|r| r.e_tag()));
        if let (Some(want), Some(got)) = (&src.etag, &dst_etag)
            && self.copy.kms_key_id.is_none()
            && !want.contains('-')
            && want != got
        {
            return Err(Error::CopyMismatch {
                src: src.url.to_string(),
                dst: dst.to_string(),
                message: format!("entity tag {got}, expected {want}"),
            });
        }
        Ok(())
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
        let tags = match self
            .client
            .get_object_tagging()
            .bucket(&src.url.bucket)
            .key(&src.url.key)
            .set_version_id(src.version_id.clone())
            .send()
            .await
        {
            Ok(t) => t.tag_set().to_vec(),
            // An S3-compatible store without object tagging has no tags to carry.
            Err(e)
                if aws_sdk_s3::error::ProvideErrorMetadata::code(&e) == Some("NotImplemented") =>
            {
                Vec::new()
            }
            Err(e) => return Err(map_sdk(e, &src.url.to_string())),
        };
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
        let mut create = self
            .client
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
        let upload = create.send().await.map_err(|e| map_sdk(e, &target))?;
        let upload_id = upload.upload_id().unwrap_or_default().to_string();
        let part_size = self.copy.multipart_part_size_bytes;
        let parts = size.div_ceil(part_size).max(1);
        let source = Self::copy_source(src);
        let etag = src.etag.clone().or_else(|| unquote(head.e_tag()));
        let result: Result<Vec<CompletedPart>> = futures::stream::iter((0..parts).map(|i| {
            let (source, upload_id, etag) = (source.clone(), upload_id.clone(), etag.clone());
            let target = target.clone();
            async move {
                let start = i * part_size;
                let end = (start + part_size).min(size) - 1;
                let out = self
                    .client
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
                let _ = self
                    .client
                    .abort_multipart_upload()
                    .bucket(&dst.bucket)
                    .key(&dst.key)
                    .upload_id(&upload_id)
                    .send()
                    .await;
                return Err(e);
            }
        };
        self.client
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
                message: format!("size {copied:?}, expected {size}"),
            });
        }
        Ok(())
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    fn scheme(&self) -> Scheme {
        Scheme::S3
    }

    async fn list(&self, prefix: &ObjectUrl) -> Result<Vec<ObjectMeta>> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&prefix.bucket)
            .prefix(&prefix.key)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| map_sdk(e, &prefix.to_string()))?;
            for o in page.contents() {
                out.push(ObjectMeta {
                    key: o.key().unwrap_or_default().to_string(),
                    size: o.size().unwrap_or_default().max(0) as u64,
                    etag: unquote(o.e_tag()),
                    version_id: None,
                    last_modified: to_system_time(o.last_modified()),
                });
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn head(&self, url: &ObjectUrl) -> Result<Option<ObjectMeta>> {
        match self
            .client
            .head_object()
            .bucket(&url.bucket)
            .key(&url.key)
            .send()
            .await
        {
            Ok(o) => Ok(Some(ObjectMeta {
                key: url.key.clone(),
                size: o.content_length().unwrap_or_default().max(0) as u64,
                etag: unquote(o.e_tag()),
                version_id: o.version_id().map(str::to_owned),
                last_modified: to_system_time(o.last_modified()),
            })),
            Err(e) => match map_sdk(e, &url.to_string()) {
                Error::NotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn get(&self, url: &ObjectUrl, version_id: Option<&str>) -> Result<GetResult> {
        let out = self
            .client
            .get_object()
            .bucket(&url.bucket)
            .key(&url.key)
            .set_version_id(version_id.map(str::to_owned))
            .send()
            .await
            .map_err(|e| map_sdk(e, &url.to_string()))?;
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
                message: format!("reading body: {e}"),
            })?
            .into_bytes();
        Ok(GetResult {
            body,
            meta,
            content_type,
            metadata,
        })
    }

    async fn put(&self, url: &ObjectUrl, body: Bytes, opts: &PutOptions) -> Result<ObjectMeta> {
        let size = body.len() as u64;
        let mut req = self
            .client
            .put_object()
            .bucket(&url.bucket)
            .key(&url.key)
            .body(body.into())
            .set_content_type(opts.content_type.clone())
            .set_metadata(
                (!opts.metadata.is_empty()).then(|| opts.metadata.clone().into_iter().collect()),
            );
        req = match &opts.mode {
            PutMode::Overwrite => req,
            PutMode::IfAbsent => req.if_none_match("*"),
            PutMode::IfMatch(etag) => req.if_match(quote(etag)),
        };
        if let Some((sse, key)) = self.kms() {
            req = req.server_side_encryption(sse).ssekms_key_id(key);
        }
        let out = req.send().await.map_err(|e| map_sdk(e, &url.to_string()))?;
        Ok(ObjectMeta {
            key: url.key.clone(),
            size,
            etag: unquote(out.e_tag()),
            version_id: out.version_id().map(str::to_owned),
            last_modified: None,
        })
    }

    async fn copy(&self, src: &CopySource, dst: &ObjectUrl) -> Result<()> {
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

    async fn delete(&self, url: &ObjectUrl) -> Result<()> {
        self.client
            .delete_object()
            .bucket(&url.bucket)
            .key(&url.key)
            .send()
            .await
            .map_err(|e| map_sdk(e, &url.to_string()))?;
        Ok(())
    }

    async fn exists_prefix(&self, prefix: &ObjectUrl) -> Result<bool> {
        let out = self
            .client
            .list_objects_v2()
            .bucket(&prefix.bucket)
            .prefix(&prefix.key)
            .max_keys(1)
            .send()
            .await
            .map_err(|e| map_sdk(e, &prefix.to_string()))?;
        Ok(!out.contents().is_empty())
    }
}
