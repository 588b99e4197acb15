//! Object storage: addresses ([`ObjectUrl`]), the [`ObjectStore`] contract every adapter keeps,
//! the local-directory adapter, and [`Stores`], which routes a call to the adapter of its scheme
//! and copies across schemes.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use md5::{Digest, Md5};

use crate::error::{Error, Result};

/// Where an object lives: an S3 bucket, or a local directory standing in for one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// `s3://bucket/key`
    S3,
    /// A local directory; `bucket` is the directory path.
    Local,
}

/// The address of an object or of a prefix.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectUrl {
    pub scheme: Scheme,
    /// S3 bucket name, or the root directory for [`Scheme::Local`].
    pub bucket: String,
    /// Key (or key prefix) inside the bucket, without a leading `/`.
    pub key: String,
}

impl ObjectUrl {
    /// Parses `s3://bucket/prefix`, `file:///dir` or a plain directory path.
    pub fn parse(s: &str) -> Result<Self> {
        if let Some(rest) = s.strip_prefix("s3://") {
            let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(Error::config("url", format!("`{s}` has no bucket name")));
            }
            return Ok(Self::s3(bucket, key));
        }
        if s.contains("://") && !s.starts_with("file://") {
            return Err(Error::config(
                "url",
                format!("`{s}`: expected s3://bucket/prefix or a local directory"),
            ));
        }
        let path = s.strip_prefix("file://").unwrap_or(s);
        if path.is_empty() {
            return Err(Error::config("url", "empty path"));
        }
        Ok(Self::local(path, ""))
    }

    /// An S3 address.
    pub fn s3(bucket: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            scheme: Scheme::S3,
            bucket: bucket.into(),
            key: key.into(),
        }
    }

    /// A local-directory address.
    pub fn local(dir: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            scheme: Scheme::Local,
            bucket: dir.into(),
            key: key.into(),
        }
    }

    /// The same bucket with `rel` appended to the key.
    pub fn join(&self, rel: &str) -> Self {
        Self {
            scheme: self.scheme,
            bucket: self.bucket.clone(),
            key: format!("{}{rel}", self.key),
        }
    }

    /// The same bucket with another key.
    pub fn with_key(&self, key: impl Into<String>) -> Self {
        Self {
            scheme: self.scheme,
            bucket: self.bucket.clone(),
            key: key.into(),
        }
    }
}

impl fmt::Display for ObjectUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scheme {
            Scheme::S3 => write!(f, "s3://{}/{}", self.bucket, self.key),
            Scheme::Local => {
                write!(f, "{}", Path::new(&self.bucket).join(&self.key).display())
            }
        }
    }
}

/// What a listing or a HEAD says about an object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectMeta {
    /// Full key in the bucket.
    pub key: String,
    pub size: u64,
    /// Entity tag without quotes, when the store has one.
    pub etag: Option<String>,
    pub version_id: Option<String>,
    pub last_modified: Option<SystemTime>,
}

/// A whole object read into memory (only used for small log files).
#[derive(Clone, Debug, Default)]
pub struct GetResult {
    pub body: Bytes,
    pub meta: ObjectMeta,
    pub content_type: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

/// How a put treats an existing object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum PutMode {
    /// Replace whatever is there.
    #[default]
    Overwrite,
    /// Create only; fail with [`Error::PreconditionFailed`] if the key exists.
    IfAbsent,
    /// Replace only the version with this entity tag (compare and swap).
    IfMatch(String),
}

/// Options of [`ObjectStore::put`].
#[derive(Clone, Debug, Default)]
pub struct PutOptions {
    pub mode: PutMode,
    pub content_type: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

/// The source of a copy, pinned to what the event saw.
#[derive(Clone, Debug)]
pub struct CopySource {
    pub url: ObjectUrl,
    /// Copy exactly this version (versioned buckets).
    pub version_id: Option<String>,
    /// Copy only if the object still has this entity tag.
    pub etag: Option<String>,
    /// Size, when known, to choose single or multipart copy and to verify the result.
    pub size: Option<u64>,
}

impl CopySource {
    /// An unpinned source.
    pub fn latest(url: ObjectUrl) -> Self {
        Self {
            url,
            version_id: None,
            etag: None,
            size: None,
        }
    }
}

/// The storage contract. Every adapter passes the same contract tests.
///
/// * Keys are opaque byte strings; no call decodes or encodes them.
/// * [`list`](Self::list) returns every object whose key starts with the prefix, recursively,
///   sorted by key (so 20-digit Delta versions come out in numeric order).
/// * [`list_dir`](Self::list_dir) returns the objects directly under a prefix ending in `/`
///   (no `/` in the rest of the key), sorted, and only those whose key sorts after
///   `start_after` when it is given: one LIST page per thousand keys *after* that point, so a
///   reader of what is new pays for what is new, not for the whole directory.
/// * [`get_range`](Self::get_range) returns exactly the bytes asked for (a Parquet footer).
/// * [`get`](Self::get) and [`copy`](Self::copy) of a missing object fail with
///   [`Error::NotFound`].
/// * [`put`](Self::put) with [`PutMode::IfAbsent`] is atomic: exactly one of two racing
///   writers wins, the other gets [`Error::PreconditionFailed`].
/// * [`copy`](Self::copy) is server-side where the store allows it, keeps content type,
///   user metadata and tags, and checks the copy has the source's size.
/// * [`delete`](Self::delete) of a missing object succeeds.
#[async_trait]
pub trait ObjectStore: Send + Sync + fmt::Debug {
    /// The scheme this store serves.
    fn scheme(&self) -> Scheme;
    /// All objects under `prefix`, sorted by key.
    async fn list(&self, prefix: &ObjectUrl) -> Result<Vec<ObjectMeta>>;
    /// Metadata of one object, `None` when absent.
    async fn head(&self, url: &ObjectUrl) -> Result<Option<ObjectMeta>>;
    /// The whole object.
    async fn get(&self, url: &ObjectUrl, version_id: Option<&str>) -> Result<GetResult>;
    /// The bytes `range` of an object (`range.end` at most its size).
    async fn get_range(&self, url: &ObjectUrl, range: Range<u64>) -> Result<Bytes> {
        let body = self.get(url, None).await?.body;
        let end = (range.end as usize).min(body.len());
        let start = (range.start as usize).min(end);
        Ok(body.slice(start..end))
    }
    /// Objects directly under `prefix` (which ends in `/`), sorted, after `start_after` (a full
    /// key) when given.
    async fn list_dir(
        &self,
        prefix: &ObjectUrl,
        start_after: Option<&str>,
    ) -> Result<Vec<ObjectMeta>> {
        Ok(self
            .list(prefix)
            .await?
            .into_iter()
            .filter(|m| !m.key[prefix.key.len().min(m.key.len())..].contains('/'))
            .filter(|m| start_after.is_none_or(|s| m.key.as_str() > s))
            .collect())
    }
    /// Writes a whole object.
    async fn put(&self, url: &ObjectUrl, body: Bytes, opts: &PutOptions) -> Result<ObjectMeta>;
    /// Copies within this store (both ends have this store's scheme).
    async fn copy(&self, src: &CopySource, dst: &ObjectUrl) -> Result<()>;
    /// Deletes an object; absent is fine.
    async fn delete(&self, url: &ObjectUrl) -> Result<()>;
    /// True if at least one object has a key starting with `prefix` (one cheap request).
    async fn exists_prefix(&self, prefix: &ObjectUrl) -> Result<bool> {
        Ok(!self.list(prefix).await?.is_empty())
    }
}

/// Routes calls to the store of each scheme; copies across schemes by get and put.
#[derive(Clone, Debug)]
pub struct Stores {
    local: Arc<dyn ObjectStore>,
    s3: Option<Arc<dyn ObjectStore>>,
}

impl Stores {
    /// Stores with the given S3 adapter (if any rule uses S3) and the local-directory adapter.
    pub fn new(s3: Option<Arc<dyn ObjectStore>>) -> Self {
        Self {
            local: Arc::new(LocalStore),
            s3,
        }
    }

    /// Replaces the adapters (tests wrap them to inject faults).
    pub fn with_adapters(local: Arc<dyn ObjectStore>, s3: Option<Arc<dyn ObjectStore>>) -> Self {
        Self { local, s3 }
    }

    /// The store serving `url`.
    pub fn get_store(&self, url: &ObjectUrl) -> Result<&dyn ObjectStore> {
        match url.scheme {
            Scheme::Local => Ok(self.local.as_ref()),
            Scheme::S3 => self.s3.as_deref().ok_or_else(|| Error::Storage {
                target: url.to_string(),
                message: "no S3 client is configured".into(),
            }),
        }
    }

    pub async fn list(&self, prefix: &ObjectUrl) -> Result<Vec<ObjectMeta>> {
        self.get_store(prefix)?.list(prefix).await
    }
    pub async fn head(&self, url: &ObjectUrl) -> Result<Option<ObjectMeta>> {
        self.get_store(url)?.head(url).await
    }
    pub async fn get(&self, url: &ObjectUrl) -> Result<GetResult> {
        self.get_store(url)?.get(url, None).await
    }
    pub async fn get_range(&self, url: &ObjectUrl, range: Range<u64>) -> Result<Bytes> {
        self.get_store(url)?.get_range(url, range).await
    }
    pub async fn list_dir(
        &self,
        prefix: &ObjectUrl,
        start_after: Option<&str>,
    ) -> Result<Vec<ObjectMeta>> {
        self.get_store(prefix)?.list_dir(prefix, start_after).await
    }
    pub async fn put(&self, url: &ObjectUrl, body: Bytes, opts: &PutOptions) -> Result<ObjectMeta> {
        self.get_store(url)?.put(url, body, opts).await
    }
    pub async fn delete(&self, url: &ObjectUrl) -> Result<()> {
        self.get_store(url)?.delete(url).await
    }

    /// Copies `src` to `dst`: server-side within one store, through memory across stores.
    pub async fn copy(&self, src: &CopySource, dst: &ObjectUrl) -> Result<()> {
        if src.url.scheme == dst.scheme {
            return self.get_store(dst)?.copy(src, dst).await;
        }
        let got = self
            .get_store(&src.url)?
            .get(&src.url, src.version_id.as_deref())
            .await?;
        if let Some(etag) = &src.etag
            && got.meta.etag.as_ref().is_some_and(|e| e != etag)
        {
            return Err(Error::PreconditionFailed {
                url: src.url.to_string(),
            });
        }
        let opts = PutOptions {
            mode: PutMode::Overwrite,
            content_type: got.content_type,
            metadata: got.metadata,
        };
        self.get_store(dst)?.put(dst, got.body, &opts).await?;
        Ok(())
    }
}

/// The same object at two places: the same size, and the same entity tag where both tags are
/// content hashes (the MD5 of a single-part object; not a multipart `<hash>-<parts>`, not a
/// KMS-encrypted object's, not a store without tags).
pub fn same_object(a: &ObjectMeta, b: &ObjectMeta) -> bool {
    fn hash(e: &Option<String>) -> Option<&str> {
        e.as_deref().filter(|e| !e.contains('-'))
    }
    a.size == b.size
        && match (hash(&a.etag), hash(&b.etag)) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        }
}

/// Hex MD5 of a body: the entity tag S3 gives a single-part upload, used by the local store.
pub fn md5_hex(body: &[u8]) -> String {
    let digest = Md5::digest(body);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

const LOCAL_TMP_PREFIX: &str = ".lakedr-tmp-";

/// A local directory as an object store: `bucket` is the directory, keys are relative paths.
///
/// Writes go to a temporary file that is then renamed (or hard-linked for put-if-absent), so a
/// reader never sees a partial object.
#[derive(Clone, Copy, Debug, Default)]
pub struct LocalStore;

impl LocalStore {
    fn path(url: &ObjectUrl) -> PathBuf {
        Path::new(&url.bucket).join(&url.key)
    }

    fn meta_of(key: String, md: &std::fs::Metadata) -> ObjectMeta {
        ObjectMeta {
            key,
            size: md.len(),
            etag: None,
            version_id: None,
            last_modified: md.modified().ok(),
        }
    }

    fn tmp_path(dst: &Path) -> PathBuf {
        let name = format!("{LOCAL_TMP_PREFIX}{}", uuid::Uuid::new_v4());
        dst.parent()
            .map(|p| p.join(&name))
            .unwrap_or_else(|| PathBuf::from(name))
    }

    fn write_new(dst: &Path, body: &[u8], mode: &PutMode, url: &ObjectUrl) -> Result<()> {
        if let Some(parent) = dst.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent.display(), e))?;
        }
        let tmp = Self::tmp_path(dst);
        std::fs::write(&tmp, body).map_err(|e| Error::io(tmp.display(), e))?;
        let result = match mode {
            PutMode::IfAbsent => match std::fs::hard_link(&tmp, dst) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    Err(Error::PreconditionFailed {
                        url: url.to_string(),
                    })
                }
                Err(e) => Err(Error::io(dst.display(), e)),
            },
            PutMode::IfMatch(etag) => {
                let current = std::fs::read(dst).map(|b| md5_hex(&b));
                match current {
                    Ok(cur) if &cur == etag => {
                        std::fs::rename(&tmp, dst).map_err(|e| Error::io(dst.display(), e))
                    }
                    _ => Err(Error::PreconditionFailed {
                        url: url.to_string(),
                    }),
                }
            }
            PutMode::Overwrite => {
                std::fs::rename(&tmp, dst).map_err(|e| Error::io(dst.display(), e))
            }
        };
        let _ = std::fs::remove_file(&tmp);
        result
    }
}

fn walk(dir: &Path, rel: &str, out: &mut Vec<(String, std::fs::Metadata)>) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(LOCAL_TMP_PREFIX) {
            continue;
        }
        let md = entry.metadata()?;
        let key = format!("{rel}{name}");
        if md.is_dir() {
            walk(&entry.path(), &format!("{key}/"), out)?;
        } else {
            out.push((key, md));
        }
    }
    Ok(())
}

#[async_trait]
impl ObjectStore for LocalStore {
    fn scheme(&self) -> Scheme {
        Scheme::Local
    }

    async fn list(&self, prefix: &ObjectUrl) -> Result<Vec<ObjectMeta>> {
        // Walk from the deepest directory the prefix names, then filter by the full prefix.
        let dir_part = match prefix.key.rfind('/') {
            Some(i) => &prefix.key[..=i],
            None => "",
        };
        let start = Path::new(&prefix.bucket).join(dir_part);
        let mut found = Vec::new();
        walk(&start, dir_part, &mut found).map_err(|e| Error::io(start.display(), e))?;
        let mut out: Vec<ObjectMeta> = found
            .into_iter()
            .filter(|(k, _)| k.starts_with(&prefix.key))
            .map(|(k, md)| Self::meta_of(k, &md))
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn list_dir(
        &self,
        prefix: &ObjectUrl,
        start_after: Option<&str>,
    ) -> Result<Vec<ObjectMeta>> {
        let dir = Path::new(&prefix.bucket).join(&prefix.key);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(dir.display(), e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(dir.display(), e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let md = entry.metadata().map_err(|e| Error::io(dir.display(), e))?;
            let key = format!("{}{name}", prefix.key);
            if md.is_dir()
                || name.starts_with(LOCAL_TMP_PREFIX)
                || start_after.is_some_and(|s| key.as_str() <= s)
            {
                continue;
            }
            out.push(Self::meta_of(key, &md));
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn get_range(&self, url: &ObjectUrl, range: Range<u64>) -> Result<Bytes> {
        use std::io::{Read, Seek, SeekFrom};
        let path = Self::path(url);
        let mut f = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound {
                    url: url.to_string(),
                });
            }
            Err(e) => return Err(Error::io(url, e)),
        };
        f.seek(SeekFrom::Start(range.start))
            .map_err(|e| Error::io(url, e))?;
        let mut buf = Vec::with_capacity(range.end.saturating_sub(range.start) as usize);
        f.take(range.end.saturating_sub(range.start))
            .read_to_end(&mut buf)
            .map_err(|e| Error::io(url, e))?;
        Ok(Bytes::from(buf))
    }

    async fn head(&self, url: &ObjectUrl) -> Result<Option<ObjectMeta>> {
        match std::fs::metadata(Self::path(url)) {
            Ok(md) if md.is_file() => Ok(Some(Self::meta_of(url.key.clone(), &md))),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(url, e)),
        }
    }

    async fn get(&self, url: &ObjectUrl, _version_id: Option<&str>) -> Result<GetResult> {
        let path = Self::path(url);
        let body = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound {
                    url: url.to_string(),
                });
            }
            Err(e) => return Err(Error::io(url, e)),
        };
        let md = std::fs::metadata(&path).map_err(|e| Error::io(url, e))?;
        let mut meta = Self::meta_of(url.key.clone(), &md);
        meta.etag = Some(md5_hex(&body));
        Ok(GetResult {
            body: Bytes::from(body),
            meta,
            ..GetResult::default()
        })
    }

    async fn put(&self, url: &ObjectUrl, body: Bytes, opts: &PutOptions) -> Result<ObjectMeta> {
        let path = Self::path(url);
        Self::write_new(&path, &body, &opts.mode, url)?;
        Ok(ObjectMeta {
            key: url.key.clone(),
            size: body.len() as u64,
            etag: Some(md5_hex(&body)),
            version_id: None,
            last_modified: Some(SystemTime::now()),
        })
    }

    async fn copy(&self, src: &CopySource, dst: &ObjectUrl) -> Result<()> {
        let from = Self::path(&src.url);
        let to = Self::path(dst);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent.display(), e))?;
        }
        let tmp = Self::tmp_path(&to);
        let copied = match std::fs::copy(&from, &tmp) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound {
                    url: src.url.to_string(),
                });
            }
            Err(e) => return Err(Error::io(&src.url, e)),
        };
        if let Some(size) = src.size.filter(|s| *s != copied) {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::CopyMismatch {
                src: src.url.to_string(),
                dst: dst.to_string(),
                message: format!("expected {size} bytes, copied {copied}"),
            });
        }
        std::fs::rename(&tmp, &to).map_err(|e| Error::io(dst, e))
    }

    async fn delete(&self, url: &ObjectUrl) -> Result<()> {
        match std::fs::remove_file(Self::path(url)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(url, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let u = ObjectUrl::parse("s3://bucket/a/b/").unwrap();
        assert_eq!(
            (u.scheme, u.bucket.as_str(), u.key.as_str()),
            (Scheme::S3, "bucket", "a/b/")
        );
        let l = ObjectUrl::parse("file:///tmp/x").unwrap();
        assert_eq!((l.scheme, l.bucket.as_str()), (Scheme::Local, "/tmp/x"));
        assert!(ObjectUrl::parse("s3:///nokey").is_err());
        assert!(ObjectUrl::parse("gs://b/k").is_err());
    }

    #[tokio::test]
    async fn local_store_keeps_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        let root = ObjectUrl::local(dir.path().to_string_lossy(), "");
        crate::testing::store_contract(&LocalStore, &root).await;
    }
}
