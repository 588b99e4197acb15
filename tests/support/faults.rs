//! Fault injection: an object store that fails calls at seeded random points, before or after
//! doing the work, as a process killed at that point would leave things.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use lakedr::store::{
    CopySource, GetResult, ObjectMeta, ObjectStore, ObjectUrl, PutOptions, Scheme,
};
use lakedr::{Error, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(Debug)]
pub struct FaultyStore<S> {
    inner: S,
    rng: Mutex<StdRng>,
    /// Probability that a call fails.
    rate: f64,
    pub injected: AtomicU64,
}

enum When {
    Before,
    After,
    No,
}

impl<S> FaultyStore<S> {
    pub fn new(inner: S, seed: u64, rate: f64) -> Self {
        Self {
            inner,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            rate,
            injected: AtomicU64::new(0),
        }
    }

    fn roll(&self) -> When {
        let mut rng = self.rng.lock().unwrap();
        if rng.random_bool(self.rate) {
            self.injected.fetch_add(1, Ordering::Relaxed);
            if rng.random_bool(0.5) {
                When::Before
            } else {
                When::After
            }
        } else {
            When::No
        }
    }

    fn crash(what: &str, url: &ObjectUrl) -> Error {
        Error::Transient {
            target: url.to_string(),
            message: format!("injected crash during {what}"),
        }
    }
}

#[async_trait]
impl<S: ObjectStore> ObjectStore for FaultyStore<S> {
    fn scheme(&self) -> Scheme {
        self.inner.scheme()
    }
    async fn list(&self, prefix: &ObjectUrl) -> Result<Vec<ObjectMeta>> {
        match self.roll() {
            When::Before => Err(Self::crash("list", prefix)),
            _ => self.inner.list(prefix).await,
        }
    }
    async fn head(&self, url: &ObjectUrl) -> Result<Option<ObjectMeta>> {
        match self.roll() {
            When::Before => Err(Self::crash("head", url)),
            _ => self.inner.head(url).await,
        }
    }
    async fn get(&self, url: &ObjectUrl, v: Option<&str>) -> Result<GetResult> {
        match self.roll() {
            When::Before => Err(Self::crash("get", url)),
            _ => self.inner.get(url, v).await,
        }
    }
    async fn put(&self, url: &ObjectUrl, body: Bytes, opts: &PutOptions) -> Result<ObjectMeta> {
        match self.roll() {
            When::Before => Err(Self::crash("put", url)),
            When::After => {
                self.inner.put(url, body, opts).await?;
                Err(Self::crash("put (after it landed)", url))
            }
            When::No => self.inner.put(url, body, opts).await,
        }
    }
    async fn copy(&self, src: &CopySource, dst: &ObjectUrl) -> Result<()> {
        match self.roll() {
            When::Before => Err(Self::crash("copy", dst)),
            When::After => {
                self.inner.copy(src, dst).await?;
                Err(Self::crash("copy (after it landed)", dst))
            }
            When::No => self.inner.copy(src, dst).await,
        }
    }
    async fn delete(&self, url: &ObjectUrl) -> Result<()> {
        self.inner.delete(url).await
    }
    async fn exists_prefix(&self, prefix: &ObjectUrl) -> Result<bool> {
        self.inner.exists_prefix(prefix).await
    }
}
