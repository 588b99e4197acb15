//! Snapshots of a workspace in the DR bucket (or a local directory):
//!
//! ```text
//! <root>/<workspace>/snapshots/<time>/<kind>/<id>.json   objects new or changed in that run
//! <root>/<workspace>/snapshots/<time>/manifest.json      the whole workspace as of that run
//! <root>/<workspace>/latest                              {"snapshot": <time>, "manifest": <key>}
//! ```
//!
//! Each object file is canonical JSON (keys sorted). The manifest indexes every object of the
//! workspace with the SHA-256 of its canonical bytes and the key of the file holding them, so
//! an object that did not change is not written again: its entry points at the file of an
//! earlier run. An object a full export no longer finds becomes a tombstone (the time it was
//! seen gone, and its last file), never silently dropped. A run writes its object files, then
//! its manifest, then moves `latest` with a compare-and-swap: a reader of `latest` always finds
//! a complete manifest whose files exist, and two runs at once cannot lose each other's work.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::StreamExt;
use lakedr::store::{ObjectUrl, PutMode, PutOptions, Stores};
use serde::{Deserialize, Serialize};

use crate::api::WorkspaceApi;
use crate::error::{Error, Result};
use crate::kind::{Account, Cx, Kind};
use crate::obj::{ExportError, Prepared, Walk, canonical, is_part};
use crate::terraform::TfConfig;

/// An exported object's entry in a manifest.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    pub sha256: String,
    /// Key of the file, relative to the workspace root.
    pub file: String,
    /// Its Terraform JSON (`databricks_*` resources), when the object has a Terraform form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terraform: Option<String>,
    /// The SHA-256 of that Terraform: a new version of the generator or of the DR settings
    /// rewrites it even when the object did not change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terraform_sha256: Option<String>,
    /// What a restore from that Terraform must know (a location no rule covers...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Another id audit records know the object by (a workspace object's numeric id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

/// An object a full export no longer found.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tombstone {
    /// When a run first saw it gone (RFC 3339).
    pub deleted_seen_at: String,
    /// Its last file, relative to the workspace root.
    pub last_file: String,
}

/// What a run did, and the whole workspace as of that run.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Manifest {
    pub workspace: String,
    pub host: String,
    pub snapshot: String,
    /// `full`, or `incremental` (one object after a change event).
    pub mode: String,
    pub started_at: String,
    pub duration_ms: u64,
    pub api_calls: u64,
    /// Objects per kind in the workspace.
    pub counts: BTreeMap<String, u64>,
    /// Objects written by this run (new or changed, with their Terraform), and tombstones.
    pub written: u64,
    pub unchanged: u64,
    pub deleted: u64,
    pub errors: Vec<ExportError>,
    /// `kind/id` to its current file.
    pub objects: BTreeMap<String, Entry>,
    pub tombstones: BTreeMap<String, Tombstone>,
}

/// The `latest` pointer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Latest {
    pub snapshot: String,
    pub manifest: String,
}

/// Where a workspace's export lives.
#[derive(Clone, Debug)]
pub struct Destination {
    pub stores: Stores,
    /// `<root>/<workspace>/`.
    pub root: ObjectUrl,
    pub workspace: String,
}

impl Destination {
    /// `root` is the export prefix (`s3://bucket/prefix/` or a directory); the workspace's
    /// files go under `<root>/<workspace>/`.
    pub fn new(stores: Stores, root: &ObjectUrl, workspace: &str) -> Self {
        let base = if root.key.is_empty() || root.key.ends_with('/') {
            root.key.clone()
        } else {
            format!("{}/", root.key)
        };
        Self {
            stores,
            root: root.with_key(format!("{base}{}/", safe_segment(workspace))),
            workspace: workspace.to_string(),
        }
    }

    /// The current `latest` pointer and its manifest, with the pointer's entity tag.
    pub async fn latest(&self) -> Result<Option<(Manifest, Option<String>)>> {
        let url = self.root.join("latest");
        let got = match self.stores.get(&url).await {
            Ok(g) => g,
            Err(lakedr::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let latest: Latest = serde_json::from_slice(&got.body).map_err(|e| Error::Corrupt {
            key: url.key.clone(),
            detail: e.to_string(),
        })?;
        let murl = self.root.join(&latest.manifest);
        let m = self.stores.get(&murl).await?;
        let manifest = serde_json::from_slice(&m.body).map_err(|e| Error::Corrupt {
            key: murl.key,
            detail: e.to_string(),
        })?;
        Ok(Some((manifest, got.meta.etag)))
    }

    /// An object file's bytes (relative key as in a manifest).
    pub async fn read(&self, file: &str) -> Result<Bytes> {
        Ok(self.stores.get(&self.root.join(file)).await?.body)
    }
}

/// A file-name-safe form of an id: percent-encoded except for unreserved characters, `/`
/// encoded too (ids such as notebook paths hold slashes).
pub fn safe_segment(id: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'@');
    let s = percent_encoding::utf8_percent_encode(id, SET).to_string();
    match s.strip_prefix('.') {
        Some(rest) => format!("%2E{rest}"),
        None => s,
    }
}

/// Seconds and milliseconds since the epoch as `YYYYMMDDTHHMMSS.mmmZ` (sortable, a key segment).
pub fn snapshot_name(t: SystemTime) -> String {
    let rfc = rfc3339(t);
    rfc.replace(['-', ':'], "")
}

/// RFC 3339 with milliseconds, UTC.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = if month <= 2 { y + 1 } else { y };
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// The account API, for the account-level objects of the workspace.
#[derive(Clone)]
pub struct AccountApi {
    pub api: std::sync::Arc<dyn WorkspaceApi>,
    pub account_id: String,
    /// The workspace's id in the account.
    pub workspace_id: String,
}

impl std::fmt::Debug for AccountApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountApi")
            .field("account_id", &self.account_id)
            .field("workspace_id", &self.workspace_id)
            .finish()
    }
}

/// Options of a run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Objects read at once.
    pub concurrency: usize,
    /// Files written at once.
    pub write_concurrency: usize,
    /// Where model versions' artifacts are found in DR, to say whether they are complete.
    pub artifacts: crate::models::ArtifactLocations,
    /// What the Terraform is written for (the rules, the `[dr]` settings).
    pub terraform: TfConfig,
    /// The account level, when account credentials are given.
    pub account: Option<AccountApi>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            concurrency: 8,
            write_concurrency: 32,
            artifacts: Default::default(),
            terraform: TfConfig::default(),
            account: None,
        }
    }
}

/// The Terraform configuration with the principal running the export (it is never a
/// resource: it exists in DR as whoever applies).
async fn with_me(api: &dyn WorkspaceApi, tf: &TfConfig) -> TfConfig {
    let mut tf = tf.clone();
    if tf.me.is_none() {
        tf.me = api
            .get("/api/2.0/preview/scim/v2/Me", &[])
            .await
            .ok()
            .and_then(|m| crate::kind::as_id(&m["id"]));
    }
    tf
}

/// Walks the whole workspace (and the account level, with account credentials).
pub async fn walk_all(api: &dyn WorkspaceApi, opts: &RunOptions) -> Walk {
    let account = opts.account.as_ref().map(|a| Account {
        api: a.api.as_ref(),
        id: a.account_id.clone(),
        workspace_id: a.workspace_id.clone(),
    });
    let cx = Cx {
        api,
        account: account.as_ref(),
        arts: &opts.artifacts,
        concurrency: opts.concurrency,
    };
    let mut walk = Walk::new();
    for k in Kind::ALL {
        k.spec().walk(&cx, &mut walk).await;
    }
    walk.close();
    walk
}

/// A full export: walks the workspace, writes what changed, tombstones what is gone (for the
/// kinds whose listing succeeded), and moves `latest`.
pub async fn export_full(
    api: &dyn WorkspaceApi,
    dest: &Destination,
    opts: &RunOptions,
) -> Result<Manifest> {
    let started = Instant::now();
    let calls0 = api.calls();
    let mut tf = with_me(api, &opts.terraform).await;
    let mut walk = walk_all(api, opts).await;
    // The Terraform, once every object is known: a reference to an object the workspace does
    // not have stays the primary's id, with a note.
    tf.exists = Some(std::sync::Arc::new(
        walk.objects.iter().map(Prepared::key).collect(),
    ));
    for o in &mut walk.objects {
        o.add_terraform(&tf);
    }
    commit(dest, opts, "full", started, |prev| {
        let mut next = prev.cloned().unwrap_or_default();
        let mut seen = std::collections::BTreeSet::new();
        for o in &walk.objects {
            seen.insert(o.key());
        }
        // Gone: in the previous manifest, of a kind listed completely, not seen now, and not
        // an object (or the permissions, grants or parts of one) that failed to be read.
        let unreadable = |key: &str| {
            walk.errors.iter().any(|e| {
                !e.id.is_empty() && {
                    let (kind, id) = key.split_once('/').unwrap_or((key, ""));
                    id == e.id
                        || (matches!(kind, "permissions" | "grants")
                            && id.ends_with(&format!("/{}", e.id)))
                        || Kind::parse(&e.kind).is_some_and(|k| {
                            k.spec().dependents(&e.id).1.iter().any(|p| is_part(key, p))
                        })
                }
            })
        };
        let gone: Vec<String> = next
            .objects
            .keys()
            .filter(|k| {
                let kind = k.split('/').next().and_then(Kind::parse);
                kind.is_some_and(|kind| walk.complete.contains(&kind))
                    && !seen.contains(*k)
                    && !unreadable(k)
            })
            .cloned()
            .collect();
        Plan {
            base: std::mem::take(&mut next),
            upserts: &walk.objects,
            gone,
            errors: walk.errors.clone(),
            api_calls: api.calls() - calls0,
            host: api.host().to_string(),
        }
    })
    .await
}

/// Exports one object after a change event: writes it if it changed, or a tombstone if it no
/// longer exists. A kind that cannot be read one object at a time is `Error::Deferred`.
pub async fn export_one(
    api: &dyn WorkspaceApi,
    dest: &Destination,
    kind: Kind,
    id: &str,
    opts: &RunOptions,
) -> Result<Manifest> {
    let started = Instant::now();
    let calls0 = api.calls();
    let mut tf = with_me(api, &opts.terraform).await;
    let account = opts.account.as_ref().map(|a| Account {
        api: a.api.as_ref(),
        id: a.account_id.clone(),
        workspace_id: a.workspace_id.clone(),
    });
    let cx = Cx {
        api,
        account: account.as_ref(),
        arts: &opts.artifacts,
        concurrency: opts.concurrency,
    };
    let read = match kind.spec().read_one(&cx, id).await {
        Ok(v) => v,
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(e),
    };
    let mut read: Option<Vec<Prepared>> = read.map(|objs| objs.iter().map(Prepared::new).collect());
    let mut exists: std::collections::BTreeSet<String> = match dest.latest().await? {
        Some((m, _)) => m.objects.into_keys().collect(),
        None => Default::default(),
    };
    exists.extend(read.iter().flatten().map(Prepared::key));
    tf.exists = Some(std::sync::Arc::new(exists));
    for o in read.iter_mut().flatten() {
        o.add_terraform(&tf);
    }
    let key = format!("{kind}/{id}");
    let (dependents, prefixes) = kind.spec().dependents(id);
    commit(dest, opts, "incremental", started, |prev| {
        let base = prev.cloned().unwrap_or_default();
        // Parts of the object (a model's versions) are read whole with it: those it no
        // longer has are gone.
        let parts_gone = |keep: &[Prepared]| -> Vec<String> {
            base.objects
                .keys()
                .filter(|k| prefixes.iter().any(|p| is_part(k, p)))
                .filter(|k| !keep.iter().any(|o| o.key() == **k))
                .cloned()
                .collect()
        };
        match &read {
            Some(objs) => Plan {
                gone: parts_gone(objs),
                base,
                upserts: objs,
                errors: Vec::new(),
                api_calls: api.calls() - calls0,
                host: api.host().to_string(),
            },
            None => {
                // The object and what hangs on it (its permissions or grants) are gone.
                let mut gone = vec![key.clone()];
                gone.extend(dependents.iter().cloned());
                gone.extend(parts_gone(&[]));
                Plan {
                    base,
                    upserts: &[],
                    gone,
                    errors: Vec::new(),
                    api_calls: api.calls() - calls0,
                    host: api.host().to_string(),
                }
            }
        }
    })
    .await
}

/// What a run changes, relative to the manifest it starts from.
struct Plan<'a> {
    base: Manifest,
    upserts: &'a [Prepared],
    gone: Vec<String>,
    errors: Vec<ExportError>,
    api_calls: u64,
    host: String,
}

/// Writes a run: changed objects, tombstones, the manifest, then `latest` (compare-and-swap;
/// the plan is rebuilt on the newer manifest if another run moved it meanwhile).
async fn commit<'a>(
    dest: &Destination,
    opts: &RunOptions,
    mode: &str,
    started: Instant,
    plan: impl Fn(Option<&Manifest>) -> Plan<'a>,
) -> Result<Manifest> {
    const TRIES: u32 = 5;
    let wall = SystemTime::now();
    let snapshot = snapshot_name(wall);
    for _ in 0..TRIES {
        let prev = dest.latest().await?;
        let (prev_manifest, etag) = match &prev {
            Some((m, e)) => (Some(m), e.clone()),
            None => (None, None),
        };
        let p = plan(prev_manifest);
        let mut m = p.base;
        m.workspace = dest.workspace.clone();
        m.host = p.host;
        m.snapshot = snapshot.clone();
        m.mode = mode.to_string();
        m.started_at = rfc3339(wall);
        m.errors = p.errors;
        m.api_calls = p.api_calls;
        m.written = 0;
        m.unchanged = 0;
        m.deleted = 0;

        // Objects: write the new and the changed.
        // Changed objects are copied into a request body only as they are written.
        let mut writes: Vec<(String, Cow<'_, [u8]>)> = Vec::new();
        for o in p.upserts {
            let key = o.key();
            if m.objects.get(&key).is_some_and(|e| {
                e.sha256 == o.sha256
                    && e.terraform_sha256 == o.terraform_sha256
                    && e.notes == o.notes
            }) {
                m.unchanged += 1;
                continue;
            }
            let seg = safe_segment(&o.id);
            let file = format!("snapshots/{snapshot}/{}/{seg}.json", o.kind);
            let terraform = o.terraform.as_ref().map(|doc| {
                let tf = format!("snapshots/{snapshot}/terraform/{}/{seg}.tf.json", o.kind);
                writes.push((tf.clone(), Cow::Borrowed(doc.as_slice())));
                tf
            });
            m.tombstones.remove(&key);
            m.objects.insert(
                key,
                Entry {
                    sha256: o.sha256.clone(),
                    file: file.clone(),
                    terraform,
                    terraform_sha256: o.terraform_sha256.clone(),
                    notes: o.notes.clone(),
                    alias: o.alias.clone(),
                },
            );
            writes.push((file, Cow::Borrowed(o.bytes.as_slice())));
        }
        // Tombstones: a file saying when the object was seen gone, and the manifest entry.
        for key in &p.gone {
            let Some(entry) = m.objects.remove(key) else {
                continue;
            };
            let (kind, id) = key.split_once('/').unwrap_or((key.as_str(), ""));
            let file = format!(
                "snapshots/{snapshot}/{kind}/{}.tombstone.json",
                safe_segment(id)
            );
            let t = Tombstone {
                deleted_seen_at: rfc3339(wall),
                last_file: entry.file,
            };
            writes.push((
                file,
                Cow::Owned(canonical(&serde_json::to_value(&t).unwrap_or_default())),
            ));
            m.tombstones.insert(key.clone(), t);
            m.deleted += 1;
        }
        m.written = (p.upserts.len() as u64 - m.unchanged) + m.deleted;
        m.counts = BTreeMap::new();
        for key in m.objects.keys() {
            let kind = key.split('/').next().unwrap_or_default().to_string();
            *m.counts.entry(kind).or_default() += 1;
        }
        let json_opts = PutOptions {
            mode: PutMode::Overwrite,
            content_type: Some("application/json".into()),
            metadata: BTreeMap::new(),
        };
        let results: Vec<Result<(), lakedr::Error>> =
            futures::stream::iter(writes.into_iter().map(|(file, bytes)| {
                let url = dest.root.join(&file);
                let o = json_opts.clone();
                async move {
                    dest.stores
                        .put(&url, Bytes::from(bytes.into_owned()), &o)
                        .await
                        .map(|_| ())
                }
            }))
            .buffer_unordered(opts.write_concurrency.max(1))
            .collect()
            .await;
        for r in results {
            r?;
        }
        m.duration_ms = started.elapsed().as_millis() as u64;
        let manifest_file = format!("snapshots/{snapshot}/manifest.json");
        let body = serde_json::to_vec_pretty(&m).map_err(|e| Error::Corrupt {
            key: manifest_file.clone(),
            detail: e.to_string(),
        })?;
        dest.stores
            .put(
                &dest.root.join(&manifest_file),
                Bytes::from(body),
                &json_opts,
            )
            .await?;
        let latest = serde_json::to_vec(&Latest {
            snapshot: snapshot.clone(),
            manifest: manifest_file,
        })
        .unwrap_or_default();
        let mode = match etag {
            Some(e) => PutMode::IfMatch(e),
            None if prev.is_none() => PutMode::IfAbsent,
            None => PutMode::Overwrite, // a store without entity tags: last writer wins
        };
        let put = dest
            .stores
            .put(
                &dest.root.join("latest"),
                Bytes::from(latest),
                &PutOptions {
                    mode,
                    ..json_opts.clone()
                },
            )
            .await;
        match put {
            Ok(_) => {
                tracing::info!(workspace = %m.workspace, snapshot = %m.snapshot, written = m.written,
                    unchanged = m.unchanged, deleted = m.deleted, errors = m.errors.len(), "export committed");
                return Ok(m);
            }
            Err(lakedr::Error::PreconditionFailed { .. }) => continue, // another run moved it
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Contended(TRIES))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_names() {
        let t = UNIX_EPOCH + std::time::Duration::from_millis(1_764_597_782_123);
        assert_eq!(rfc3339(t), "2025-12-01T14:03:02.123Z");
        assert_eq!(snapshot_name(t), "20251201T140302.123Z");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap = UNIX_EPOCH + std::time::Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(&rfc3339(leap)[..10], "2000-02-29");
    }

    #[test]
    fn ids_become_single_safe_segments() {
        assert_eq!(
            safe_segment("/Shared/report über"),
            "%2FShared%2Freport%20%C3%BCber"
        );
        assert_eq!(safe_segment("alice@example.com"), "alice@example.com");
        assert_eq!(safe_segment(".."), "%2E.");
        assert_eq!(safe_segment("sales.orders"), "sales.orders");
    }
}
