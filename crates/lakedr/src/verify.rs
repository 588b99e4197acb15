//! Checks invariants 1 and 2 on every DR table, measures lag, and says when a table cannot
//! advance.
//!
//! The logs are read with [`crate::tablelog`], as the ordered stage reads them, whole (verify
//! is the full check; the ordered stage lists from DR's last checkpoint on).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use bytes::Bytes;
use serde::Serialize;

use crate::classify::{KeyClass, classify};
use crate::config::{Config, Rule};
use crate::delta::{LOG_DIR, LogContents, LogFile, RefKind, parse_ndjson};
use crate::error::{Error, Result};
use crate::ordered::TableSync;
use crate::store::{ObjectUrl, Stores};
use crate::tablelog::{LAST_CHECKPOINT, LogListing, last_checkpoint_version};

/// The verdict on one table.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct TableVerdict {
    /// `table` or `stream`.
    pub unit: String,
    pub rule: String,
    pub table: String,
    pub source_version: Option<u64>,
    pub dr_version: Option<u64>,
    /// Versions DR is behind the source.
    pub lag_versions: u64,
    /// Invariant violations: what DR holds is not safe to fail over to.
    pub problems: Vec<String>,
    /// Why the table cannot advance, when it cannot (the error its next run would meet): DR is
    /// consistent but will not catch up by itself.
    pub blocked: Option<String>,
    /// Worth knowing, not violations (e.g. not self-contained).
    pub warnings: Vec<String>,
}

impl TableVerdict {
    /// True when no invariant is violated and nothing stops the table from advancing.
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.blocked.is_none()
    }
}

/// Verifies every Delta table and streaming checkpoint of a rule (found at the source or in
/// DR). `config` holds every rule: a checkpoint's sink may be under another.
pub async fn verify_rule(
    stores: &Stores,
    config: &Config,
    rule: &Rule,
) -> Result<Vec<TableVerdict>> {
    let mut tables = BTreeSet::new();
    let mut streams = BTreeSet::new();
    for (root, metas) in [
        (&rule.source, stores.list(&rule.source).await?),
        (&rule.destination, stores.list(&rule.destination).await?),
    ] {
        for m in metas {
            match classify(&m.key[root.key.len()..]) {
                KeyClass::DeltaLog { table, .. } => {
                    tables.insert(table);
                }
                KeyClass::Stream { root, .. } | KeyClass::StreamBatchFile { root } => {
                    streams.insert(root);
                }
                KeyClass::Object
                | KeyClass::FileSinkLog { .. }
                | KeyClass::Artifact { .. }
                | KeyClass::Temporary => {}
            }
        }
    }
    let mut out = Vec::new();
    let cache = LogCache::default();
    for t in tables {
        out.push(verify_table_cached(stores, rule, &t, &cache).await?);
    }
    for s in streams {
        let sync = crate::stream::sync::StreamSync {
            stores,
            config,
            rule,
            root: &s,
            concurrency: 8,
            deadline: None,
            readonly: true,
        };
        out.push(sync.verify().await?);
    }
    Ok(out)
}

/// Log files already read, keyed by (URL, entity tag): a file whose tag is unchanged is not
/// read again. Lets a long-running checker (or repeated verifies) avoid re-reading immutable
/// commits and checkpoints.
#[derive(Debug, Default)]
pub struct LogCache {
    entries: Mutex<HashMap<(String, String), Bytes>>,
}

impl LogCache {
    async fn get(&self, stores: &Stores, url: &ObjectUrl, etag: Option<&str>) -> Result<Bytes> {
        let key = |e: &str| (url.to_string(), e.to_string());
        if let Some(e) = etag
            && let Some(b) = self
                .entries
                .lock()
                .ok()
                .and_then(|m| m.get(&key(e)).cloned())
        {
            return Ok(b);
        }
        let got = stores.get(url).await?;
        if let (Some(e), Ok(mut m)) = (got.meta.etag.as_deref(), self.entries.lock()) {
            m.insert(key(e), got.body.clone());
        }
        Ok(got.body)
    }
}

/// Verifies one table: DR commits contiguous and byte-identical to the source, every file of
/// every visible version present with its size, checkpoints complete, `_last_checkpoint` sound,
/// and, when DR is behind, that the next step can be taken.
pub async fn verify_table(stores: &Stores, rule: &Rule, table: &str) -> Result<TableVerdict> {
    verify_table_cached(stores, rule, table, &LogCache::default()).await
}

/// [`verify_table`] reusing log files read by earlier calls.
pub async fn verify_table_cached(
    stores: &Stores,
    rule: &Rule,
    table: &str,
    cache: &LogCache,
) -> Result<TableVerdict> {
    let sync = TableSync {
        stores,
        rule,
        table,
        concurrency: 8,
        deadline: None,
        hints: None,
    };
    let (src_log, dst_log) = (sync.source_log(), sync.dr_log());
    let mut v = TableVerdict {
        unit: "table".into(),
        rule: rule.name.clone(),
        table: table.to_string(),
        ..TableVerdict::default()
    };
    let src = src_log.list_full().await?;
    let dst = dst_log.list_full().await?;
    let src_commits: BTreeSet<u64> = src.commits().keys().copied().collect();
    let dst_commits: BTreeSet<u64> = dst.commits().keys().copied().collect();
    v.source_version = src_commits.last().copied();
    v.dr_version = dst_commits.last().copied();
    v.lag_versions = match (v.source_version, v.dr_version) {
        (Some(s), Some(d)) => s.saturating_sub(d),
        (Some(s), None) => s + 1,
        _ => 0,
    };
    if v.lag_versions > 0 {
        v.blocked = sync.blocked(&src, &dst).await?.map(|e| e.to_string());
    }
    let Some(&first) = dst_commits.first() else {
        return Ok(v);
    };
    let starts_segment = |c: u64| {
        c == first || (c > 0 && !dst_commits.contains(&(c - 1)) && dst_commits.contains(&c))
    };

    // Every file of the DR log: what it is, and whether it is where it may be.
    let mut complete: BTreeSet<u64> = BTreeSet::new();
    let mut needed = LogContents::default();
    for (name, (f, _)) in &dst.files {
        match f {
            LogFile::Commit(_) => {} // below, in version order
            LogFile::Crc(ver) | LogFile::Compacted { end: ver, .. } => {
                if !dst_commits.contains(ver) {
                    v.problems
                        .push(format!("{name} is in DR before commit {ver}"));
                }
            }
            LogFile::Checkpoint { version, .. } => {
                if !dst_commits.contains(version) {
                    v.problems
                        .push(format!("{name} is in DR before commit {version}"));
                }
            }
            LogFile::LastCheckpoint => {} // last, against the complete checkpoints
            LogFile::Sidecar => {}        // through the checkpoints that name them
            LogFile::Temporary => v
                .problems
                .push(format!("{name} is a temporary file and must not be in DR")),
            LogFile::Unknown => {} // copied as a plain object, never interpreted
        }
    }
    // Checkpoints: complete when every part is there and every sidecar their content names.
    for (version, sets) in dst.checkpoints() {
        for set in sets {
            let names: Vec<&str> = set.files().iter().map(|(n, _)| *n).collect();
            if !set.is_complete() {
                continue; // readers ignore an incomplete multi-part set
            }
            let mut set_ok = true;
            for (name, size) in set.files() {
                match dst_log.checkpoint_sidecars(name, size, version).await {
                    Ok(sidecars) => {
                        let missing: Vec<String> = sidecars
                            .iter()
                            .filter(|s| !dst.has(s.rel.trim_start_matches(LOG_DIR)))
                            .map(|s| s.rel.clone())
                            .collect();
                        if !missing.is_empty() {
                            set_ok = false;
                            v.problems.push(format!(
                                "checkpoint {name} is visible but its sidecars are not: {}",
                                missing.join(", ")
                            ));
                        }
                    }
                    Err(e) => {
                        set_ok = false;
                        v.problems
                            .push(format!("checkpoint {name} is unreadable: {e}"));
                    }
                }
            }
            if !set_ok {
                continue;
            }
            complete.insert(version);
            if starts_segment(version) && dst_commits.contains(&version) {
                match dst_log.checkpoint_contents(&set, version).await {
                    Ok(c) => needed.files.extend(c.contents.files),
                    Err(e) => v.problems.push(format!(
                        "checkpoint {} is unreadable: {e}",
                        names.join(", ")
                    )),
                }
            }
        }
    }
    if first != 0 && !complete.contains(&first) {
        v.problems.push(format!(
            "DR log starts at version {first} without a complete checkpoint there"
        ));
    }
    // A hole is only legal right before a complete checkpoint (older versions the source
    // could not read whole when they were replicated): readers start at the checkpoint.
    let mut prev = first;
    for &c in dst_commits.iter().skip(1) {
        if c != prev + 1 && !complete.contains(&c) {
            v.problems.push(format!(
                "DR log has a gap: versions {}..{} are missing",
                prev + 1,
                c - 1
            ));
        }
        prev = c;
    }

    // Every commit identical to the source, every referenced file present with its size.
    let dst_root = dst_log.root.clone();
    let dst_objects: BTreeMap<String, u64> = stores
        .list(&dst_root)
        .await?
        .into_iter()
        .map(|m| (m.key[dst_root.key.len()..].to_string(), m.size))
        .collect();
    for c in &dst_commits {
        let name = format!("{c:020}.json");
        let etag = |l: &LogListing| l.meta(&name).and_then(|m| m.etag.clone());
        let d = cache
            .get(stores, &dst_log.url(&name), etag(&dst).as_deref())
            .await?;
        match cache
            .get(stores, &src_log.url(&name), etag(&src).as_deref())
            .await
        {
            Ok(s) if s != d => v
                .problems
                .push(format!("commit {c} differs from the source")),
            Ok(_) => {}
            Err(Error::NotFound { .. }) => v.warnings.push(format!(
                "commit {c} is no longer at the source (cleaned up); DR keeps it"
            )),
            Err(e) => return Err(e),
        }
        match parse_ndjson(&d) {
            Ok(parsed) => {
                if parsed.catalog_managed() && !v.warnings.iter().any(|w| w.contains("catalog")) {
                    v.warnings.push("not self-contained: catalog-managed table (the catalog, not storage, is authoritative)".into());
                }
                if !parsed.external.is_empty() {
                    v.problems.push(format!(
                        "commit {c} references files outside the table: {}",
                        parsed.external.join(", ")
                    ));
                }
                needed.files.extend(parsed.files);
            }
            Err(e) => v.problems.push(format!("commit {c} is unreadable: {e}")),
        }
    }
    for f in needed.files.iter().filter(|f| f.kind != RefKind::Sidecar) {
        match dst_objects.get(&f.rel) {
            None => v.problems.push(format!(
                "{} is referenced but missing in DR",
                dst_root.join(&f.rel)
            )),
            Some(size) => {
                if let Some(want) = f.size.filter(|s| s != size) {
                    v.problems.push(format!(
                        "{} has {size} bytes in DR, the log says {want}",
                        dst_root.join(&f.rel)
                    ));
                }
            }
        }
    }

    // `_last_checkpoint` only at a complete checkpoint.
    if dst.has(LAST_CHECKPOINT) {
        let body = stores.get(&dst_log.url(LAST_CHECKPOINT)).await?.body;
        match last_checkpoint_version(&body) {
            Some(ver) if complete.contains(&ver) => {}
            Some(ver) => v.problems.push(format!(
                "_last_checkpoint points at version {ver}, which has no complete checkpoint in DR"
            )),
            None => v
                .problems
                .push("_last_checkpoint in DR is unreadable".into()),
        }
    }
    Ok(v)
}
