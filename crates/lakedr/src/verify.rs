//! Checks invariants 1 and 2 on every DR table and measures lag.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use bytes::Bytes;

use serde::Serialize;

use crate::classify::{KeyClass, classify};
use crate::config::Rule;
use crate::delta::{
    LOG_DIR, LogContents, LogFile, RefKind, parse_checkpoint_parquet, parse_ndjson,
};
use crate::error::Result;
use crate::store::{ObjectMeta, ObjectUrl, Stores};

/// The verdict on one table.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct TableVerdict {
    pub rule: String,
    pub table: String,
    pub source_version: Option<u64>,
    pub dr_version: Option<u64>,
    /// Versions DR is behind the source.
    pub lag_versions: u64,
    /// Invariant violations: DR is not safe to fail over to.
    pub problems: Vec<String>,
    /// Worth knowing, not violations (e.g. not self-contained).
    pub warnings: Vec<String>,
}

impl TableVerdict {
    /// True when no invariant is violated.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Verifies every Delta table of a rule (tables found at the source or in DR).
pub async fn verify_rule(stores: &Stores, rule: &Rule) -> Result<Vec<TableVerdict>> {
    let mut tables = BTreeSet::new();
    for (root, metas) in [
        (&rule.source, stores.list(&rule.source).await?),
        (&rule.destination, stores.list(&rule.destination).await?),
    ] {
        for m in metas {
            if let KeyClass::DeltaLog { table, .. } = classify(&m.key[root.key.len()..]) {
                tables.insert(table);
            }
        }
    }
    let mut out = Vec::new();
    for t in tables {
        out.push(verify_table(stores, rule, &t).await?);
    }
    Ok(out)
}

fn log_map(metas: Vec<ObjectMeta>, prefix_len: usize) -> BTreeMap<String, (LogFile, ObjectMeta)> {
    metas
        .into_iter()
        .map(|m| {
            let name = m.key[prefix_len..].to_string();
            (name.clone(), (LogFile::parse(&name), m))
        })
        .collect()
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
/// every visible version present with its size, checkpoints complete, `_last_checkpoint` sound.
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
    let src_root = rule.src_url(table);
    let dst_root = rule.dr_url(table);
    let mut v = TableVerdict {
        rule: rule.name.clone(),
        table: table.to_string(),
        ..TableVerdict::default()
    };
    let src_log = src_root.join(LOG_DIR);
    let dst_log = dst_root.join(LOG_DIR);
    let src = log_map(stores.list(&src_log).await?, src_log.key.len());
    let dst = log_map(stores.list(&dst_log).await?, dst_log.key.len());
    let commits = |m: &BTreeMap<String, (LogFile, ObjectMeta)>| -> BTreeSet<u64> {
        m.values()
            .filter_map(|(f, _)| {
                if let LogFile::Commit(c) = f {
                    Some(*c)
                } else {
                    None
                }
            })
            .collect()
    };
    let (src_commits, dst_commits) = (commits(&src), commits(&dst));
    v.source_version = src_commits.last().copied();
    v.dr_version = dst_commits.last().copied();
    v.lag_versions = match (v.source_version, v.dr_version) {
        (Some(s), Some(d)) => s.saturating_sub(d),
        (Some(s), None) => s + 1,
        _ => 0,
    };
    let Some(&first) = dst_commits.first() else {
        return Ok(v);
    };

    // Complete checkpoints in DR, and what those that start a run of commits list.
    let starts_segment = |c: u64| {
        c == first || (c > 0 && !dst_commits.contains(&(c - 1)) && dst_commits.contains(&c))
    };
    let mut parts: BTreeMap<(u64, u32), BTreeSet<u32>> = BTreeMap::new();
    let mut complete: BTreeSet<u64> = BTreeSet::new();
    let mut files_at_first = LogContents::default();
    for (name, (f, meta)) in &dst {
        match f {
            LogFile::Checkpoint {
                version,
                kind: crate::delta::CheckpointKind::MultiPart { part, parts: n },
            } => {
                parts.entry((*version, *n)).or_default().insert(*part);
            }
            LogFile::Checkpoint { version, kind } => {
                let body = cache
                    .get(stores, &dst_log.join(name), meta.etag.as_deref())
                    .await?;
                let parsed = if matches!(kind, crate::delta::CheckpointKind::Uuid { json: true }) {
                    parse_ndjson(&body)
                } else {
                    parse_checkpoint_parquet(body)
                };
                match parsed {
                    Err(e) => v
                        .problems
                        .push(format!("checkpoint {name} is unreadable: {e}")),
                    Ok(c) => {
                        let missing: Vec<_> = c
                            .files
                            .iter()
                            .filter(|f| {
                                f.kind == RefKind::Sidecar
                                    && !dst.contains_key(f.rel.trim_start_matches(LOG_DIR))
                            })
                            .map(|f| f.rel.clone())
                            .collect();
                        if missing.is_empty() {
                            complete.insert(*version);
                        } else {
                            v.problems.push(format!(
                                "checkpoint {name} is visible but its sidecars {missing:?} are not"
                            ));
                        }
                        if starts_segment(*version) {
                            for sc in c.files.iter().filter(|f| f.kind == RefKind::Sidecar) {
                                if let Ok(g) = stores.get(&dst_root.join(&sc.rel)).await
                                    && let Ok(s) = parse_checkpoint_parquet(g.body)
                                {
                                    files_at_first.files.extend(s.files);
                                }
                            }
                            files_at_first.files.extend(c.files);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    for ((version, n), present) in &parts {
        if present.len() as u32 == *n {
            complete.insert(*version);
            if starts_segment(*version) {
                for p in 1..=*n {
                    let name = format!("{version:020}.checkpoint.{p:010}.{n:010}.parquet");
                    if let Ok(g) = stores.get(&dst_log.join(&name)).await
                        && let Ok(c) = parse_checkpoint_parquet(g.body)
                    {
                        files_at_first.files.extend(c.files);
                    }
                }
            }
        }
    }
    if first != 0 && !complete.contains(&first) {
        v.problems.push(format!(
            "DR log starts at version {first} without a complete checkpoint there"
        ));
    }
    // A hole is only legal right before a complete checkpoint (older versions cleaned up at the
    // source before they were replicated): readers start at the checkpoint.
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
    let dst_objects: BTreeMap<String, u64> = stores
        .list(&dst_root)
        .await?
        .into_iter()
        .map(|m| (m.key[dst_root.key.len()..].to_string(), m.size))
        .collect();
    let mut needed = files_at_first.files;
    for c in &dst_commits {
        let name = format!("{c:020}.json");
        let etag = |m: &BTreeMap<String, (LogFile, ObjectMeta)>| {
            m.get(&name).and_then(|(_, meta)| meta.etag.clone())
        };
        let d = cache
            .get(stores, &dst_log.join(&name), etag(&dst).as_deref())
            .await?;
        match cache
            .get(stores, &src_log.join(&name), etag(&src).as_deref())
            .await
        {
            Ok(s) if s != d => v
                .problems
                .push(format!("commit {c} differs from the source")),
            Ok(_) => {}
            Err(e) => v
                .warnings
                .push(format!("commit {c}: source unavailable: {e}")),
        }
        match parse_ndjson(&d) {
            Ok(parsed) => {
                if parsed.catalog_managed() && !v.warnings.iter().any(|w| w.contains("catalog")) {
                    v.warnings.push("not self-contained: catalog-managed table (the catalog, not storage, is authoritative)".into());
                }
                if !parsed.external.is_empty() {
                    v.problems.push(format!(
                        "commit {c} references files outside the table: {:?}",
                        parsed.external
                    ));
                }
                needed.extend(parsed.files);
            }
            Err(e) => v.problems.push(format!("commit {c} is unreadable: {e}")),
        }
    }
    for f in needed.iter().filter(|f| f.kind != RefKind::Sidecar) {
        match dst_objects.get(&f.rel) {
            None => v.problems.push(format!(
                "{} is referenced but missing in DR",
                dst_root.join(&f.rel)
            )),
            Some(size) if f.size.is_some_and(|s| s != *size) => v.problems.push(format!(
                "{} has {size} bytes in DR, the log says {:?}",
                dst_root.join(&f.rel),
                f.size
            )),
            Some(_) => {}
        }
    }

    // Checkpoints only for published versions; _last_checkpoint at a complete one.
    for (name, (f, _)) in &dst {
        if let Some(ver) = f.version()
            && matches!(
                f,
                LogFile::Checkpoint { .. } | LogFile::Crc(_) | LogFile::Compacted { .. }
            )
            && !dst_commits.contains(&ver)
        {
            v.problems
                .push(format!("{name} is in DR before commit {ver}"));
        }
    }
    if dst.contains_key("_last_checkpoint") {
        let body = stores.get(&dst_log.join("_last_checkpoint")).await?.body;
        let version = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|j| j.get("version").and_then(serde_json::Value::as_u64));
        match version {
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
