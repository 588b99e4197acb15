//! The order a writer creates a table's files in, reconstructed from its log: referenced files,
//! then the commit, then `.crc`, sidecars and checkpoint parts, compactions, `_last_checkpoint`.
//! Files no present commit references (added by cleaned-up commits, orphans) come first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use lakedr::delta::{LogFile, parse_checkpoint_parquet, parse_ndjson};

fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        let key = format!("{rel}{name}");
        if e.file_type().unwrap().is_dir() {
            walk(&e.path(), &format!("{key}/"), out);
        } else {
            out.push(key);
        }
    }
}

/// Relative paths of every file under `table`, in write order.
pub fn write_order(table: &Path) -> Vec<String> {
    let mut all = Vec::new();
    walk(table, "", &mut all);
    all.sort();
    let present: BTreeSet<String> = all.iter().cloned().collect();
    let mut placed: BTreeSet<String> = BTreeSet::new();
    let mut order: Vec<String> = Vec::new();
    let mut log: BTreeMap<u64, Vec<(LogFile, String)>> = BTreeMap::new();
    let mut per_version_refs: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let mut last_checkpoint = None;
    for f in &all {
        if let Some(name) = f.strip_prefix("_delta_log/") {
            let lf = LogFile::parse(name);
            match &lf {
                LogFile::Commit(v) => {
                    if let Ok(c) = parse_ndjson(&std::fs::read(table.join(f)).unwrap()) {
                        per_version_refs.insert(*v, c.files.into_iter().map(|r| r.rel).collect());
                    }
                    log.entry(*v).or_default().push((lf.clone(), f.clone()));
                }
                LogFile::LastCheckpoint => last_checkpoint = Some(f.clone()),
                other => {
                    if let Some(v) = other.version() {
                        log.entry(v).or_default().push((lf.clone(), f.clone()));
                    }
                }
            }
        }
    }
    let referenced: BTreeSet<&String> = per_version_refs.values().flatten().collect();
    // Pre-existing files: not referenced by any present commit, not in the log.
    for f in &all {
        if !f.starts_with("_delta_log/") && !referenced.contains(f) {
            order.push(f.clone());
            placed.insert(f.clone());
        }
    }
    let lc_version = last_checkpoint.as_ref().and_then(|p| {
        serde_json::from_slice::<serde_json::Value>(&std::fs::read(table.join(p)).ok()?)
            .ok()?
            .get("version")?
            .as_u64()
    });
    let push = |f: &String, order: &mut Vec<String>, placed: &mut BTreeSet<String>| {
        if present.contains(f) && placed.insert(f.clone()) {
            order.push(f.clone());
            let sibling = match f.rsplit_once('/') {
                Some((d, n)) => format!("{d}/.{n}.crc"),
                None => format!(".{f}.crc"),
            };
            if present.contains(&sibling) && placed.insert(sibling.clone()) {
                order.push(sibling);
            }
        }
    };
    for (v, mut files) in log {
        files.sort();
        for r in per_version_refs.get(&v).cloned().unwrap_or_default() {
            push(&r, &mut order, &mut placed);
        }
        for (lf, f) in &files {
            if matches!(lf, LogFile::Commit(_)) {
                push(f, &mut order, &mut placed);
            }
        }
        for (lf, f) in &files {
            match lf {
                LogFile::Crc(_) => push(f, &mut order, &mut placed),
                LogFile::Checkpoint { .. } => {
                    // Sidecars of a V2 checkpoint first.
                    let body = std::fs::read(table.join(f)).unwrap();
                    let parsed = if f.ends_with(".json") {
                        parse_ndjson(&body).ok()
                    } else {
                        parse_checkpoint_parquet(body.into()).ok()
                    };
                    for r in parsed.map(|p| p.files).unwrap_or_default() {
                        if r.rel.starts_with("_delta_log/_sidecars/") {
                            push(&r.rel, &mut order, &mut placed);
                        }
                    }
                    push(f, &mut order, &mut placed);
                }
                LogFile::Compacted { .. } => push(f, &mut order, &mut placed),
                _ => {}
            }
        }
        if lc_version == Some(v)
            && let Some(p) = &last_checkpoint
        {
            push(p, &mut order, &mut placed);
        }
    }
    for f in &all {
        if placed.insert(f.clone()) {
            order.push(f.clone());
        }
    }
    order
}
