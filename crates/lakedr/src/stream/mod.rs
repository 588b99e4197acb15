//! Structured Streaming checkpoints, without I/O: what a file of a checkpoint is, what the
//! offset and commit logs say, and which state files a query needs to restart after a batch.
//!
//! A checkpoint root holds `metadata` (the query id, stable across restarts), `offsets/<N>` (the
//! write-ahead log: batch N's planned offsets, written before it runs), `commits/<N>` (written
//! after batch N's sink and state succeeded), `sources/<i>/<N>[.compact]` (a file source's log)
//! and `state/<op>/<partition>/...` (the state stores). The state version of batch N is N + 1.
//! On restart Spark takes the latest `offsets/N`: with `commits/N` it runs N + 1 from state
//! version N + 1; without, it re-runs N from state version N.
//!
//! * [`split`]: which checkpoint (and which log entry) a key belongs to;
//! * [`Offsets`], [`Commit`]: the two logs;
//! * [`state`]: the files that load one state version, per store provider.

pub mod file_sink;
pub mod state;
pub mod sync;
pub mod zip;

use std::collections::BTreeMap;

use serde_json::Value;

/// A log entry of a checkpoint, named relative to its root.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum StreamFile {
    /// `metadata`: `{"id": "<query id>"}`.
    Metadata,
    /// `offsets/<N>`.
    Offsets(u64),
    /// `commits/<N>`.
    Commit(u64),
}

impl StreamFile {
    /// The name under the checkpoint root.
    pub fn name(&self) -> String {
        match self {
            StreamFile::Metadata => "metadata".into(),
            StreamFile::Offsets(n) => format!("offsets/{n}"),
            StreamFile::Commit(n) => format!("commits/{n}"),
        }
    }
}

fn batch(s: &str) -> Option<u64> {
    (!s.is_empty() && s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// `(checkpoint root, entry)` when `rel` is a log entry of a checkpoint: `<root>offsets/<N>`,
/// `<root>commits/<N>` or `<root>metadata` (not a state store's own `_metadata/metadata`).
/// The root is `""` or ends in `/`.
pub fn split(rel: &str) -> Option<(&str, StreamFile)> {
    let (dir, name) = match rel.rfind('/') {
        Some(i) => (&rel[..=i], &rel[i + 1..]),
        None => ("", rel),
    };
    if name == "metadata" {
        let parent = dir.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        let inside = dir
            .split('/')
            .any(|seg| matches!(seg, "state" | "sources" | "offsets" | "commits"));
        if parent == "_metadata" || inside || dir.contains("_delta_log/") {
            return None;
        }
        return Some((dir, StreamFile::Metadata));
    }
    let n = batch(name)?;
    let parent = dir.strip_suffix('/')?;
    let (root, log) = match parent.rfind('/') {
        Some(i) => (&parent[..=i], &parent[i + 1..]),
        None => ("", parent),
    };
    match log {
        "offsets" => Some((root, StreamFile::Offsets(n))),
        "commits" => Some((root, StreamFile::Commit(n))),
        _ => None,
    }
}

/// `Some(root)` when `rel` is a file a checkpoint's ordered stage copies with the batch that
/// needs it: a source log entry (`<root>sources/<i>/<N>[.compact]`), a state store's file or an
/// operator's metadata (`<root>state/<op>/...`), or the checksum sibling (`.<name>.crc`, which
/// Hadoop's local and HDFS file systems write) of any file of a checkpoint. Nothing copies them
/// on their own event: in DR ahead of their batch they would break a restart from DR (Spark
/// refuses to write `offsets/N` beside a stale `.N.crc`, and reuses a stale source log entry).
pub fn split_batch_file(rel: &str) -> Option<&str> {
    if let Some(sibling) = crc_sibling(rel) {
        let root = split(&sibling)
            .map(|(r, _)| r.len())
            .or_else(|| split_batch_file(&sibling).map(str::len))?;
        return Some(&rel[..root]);
    }
    let at_segment = |i: usize| i == 0 || rel.as_bytes()[i - 1] == b'/';
    for (i, _) in rel
        .match_indices("sources/")
        .filter(|(i, _)| at_segment(*i))
    {
        if source_log_batch(&rel[i..]).is_some() {
            return Some(&rel[..i]);
        }
    }
    for (i, _) in rel.match_indices("state/").filter(|(i, _)| at_segment(*i)) {
        // state/<op>/<partition or _metadata>/...: digits, then digits or `_`, then a file.
        let mut segs = rel[i + "state/".len()..].split('/');
        let op = segs.next().and_then(batch);
        let second = segs
            .next()
            .filter(|s| batch(s).is_some() || s.starts_with('_'));
        if op.is_some() && second.is_some() && segs.next().is_some_and(|s| !s.is_empty()) {
            return Some(&rel[..i]);
        }
    }
    None
}

/// The file a Hadoop checksum file (`<dir>.<name>.crc`) belongs to: `<dir><name>`.
pub fn crc_sibling(rel: &str) -> Option<String> {
    let (dir, name) = match rel.rfind('/') {
        Some(i) => (&rel[..=i], &rel[i + 1..]),
        None => ("", rel),
    };
    let inner = name.strip_prefix('.')?.strip_suffix(".crc")?;
    (!inner.is_empty()).then(|| format!("{dir}{inner}"))
}

/// The checksum file Hadoop writes beside `rel`: `<dir>.<name>.crc`.
pub fn crc_of(rel: &str) -> String {
    match rel.rfind('/') {
        Some(i) => format!("{}.{}.crc", &rel[..=i], &rel[i + 1..]),
        None => format!(".{rel}.crc"),
    }
}

/// `<out>/_spark_metadata/<N>[.compact]`: a file sink's log. `(output root, batch)`.
pub fn split_file_sink(rel: &str) -> Option<(&str, u64)> {
    let i = rel.find("_spark_metadata/")?;
    let (root, name) = (&rel[..i], &rel[i + "_spark_metadata/".len()..]);
    if !(root.is_empty() || root.ends_with('/')) {
        return None;
    }
    let n = batch(name.strip_suffix(".compact").unwrap_or(name))?;
    Some((root, n))
}

/// A source log entry, `sources/<i>/<N>[.compact]`: its number.
pub fn source_log_batch(rel_to_root: &str) -> Option<u64> {
    source_log_entry(rel_to_root).map(|(_, n)| n)
}

/// A source log entry, `sources/<i>/<N>[.compact]`: `(i, N)`.
pub fn source_log_entry(rel_to_root: &str) -> Option<(usize, u64)> {
    let rest = rel_to_root.strip_prefix("sources/")?;
    let (index, name) = rest.split_once('/')?;
    let i = usize::try_from(batch(index)?).ok()?;
    if name.contains('/') {
        return None;
    }
    Some((i, batch(name.strip_suffix(".compact").unwrap_or(name))?))
}

/// The lines of a versioned log file: `v<k>` then JSON lines.
fn versioned(body: &[u8], what: &str) -> Result<(u32, Vec<String>), String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("{what} is not UTF-8: {e}"))?;
    let mut lines = text.lines();
    let head = lines.next().unwrap_or_default().trim();
    let version = head
        .strip_prefix('v')
        .and_then(|v| v.parse::<u32>().ok())
        .ok_or_else(|| format!("{what} does not start with a version line (`v1`): `{head}`"))?;
    Ok((version, lines.map(str::to_owned).collect()))
}

/// An offset log entry: batch metadata, then one offset per source (`None` where a source had
/// none yet).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Offsets {
    pub metadata: Value,
    pub sources: Vec<Option<Value>>,
}

/// What a Delta source's offset asks of its table: the table's id, and the version a reader
/// must find in it to run the batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeltaSourceNeed {
    pub reservoir_id: String,
    pub version: u64,
}

impl Offsets {
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let (_, lines) = versioned(body, "the offset log entry")?;
        let mut it = lines.into_iter();
        let metadata = match it.next() {
            Some(l) => serde_json::from_str(&l).map_err(|e| format!("batch metadata: {e}"))?,
            None => return Err("the offset log entry has no batch metadata".into()),
        };
        let mut sources = Vec::new();
        for l in it {
            let l = l.trim();
            if l.is_empty() || l == "-" {
                sources.push(None);
                continue;
            }
            // A v2 offset log prefixes each offset with the source's id (`<id>:<offset>`).
            let json = match serde_json::from_str::<Value>(l) {
                Ok(v) => v,
                Err(_) => match l.split_once(':').map(|(_, o)| serde_json::from_str(o)) {
                    Some(Ok(v)) => v,
                    _ => Value::String(l.to_string()),
                },
            };
            sources.push(Some(json));
        }
        Ok(Self { metadata, sources })
    }

    /// The file sources' log offsets (`{"logOffset": K}`), by source index: the batch has read
    /// their logs up to entry K, and later entries belong to later batches.
    pub fn file_source_logs(&self) -> BTreeMap<usize, u64> {
        self.sources
            .iter()
            .enumerate()
            .filter_map(|(i, o)| Some((i, o.as_ref()?["logOffset"].as_u64()?)))
            .collect()
    }

    /// The Delta tables the batch reads, and the version each must have. A Delta source's
    /// offset names the next change to read: `(v, -1)` (not the starting version) means
    /// "everything of version v - 1 was read", so the batch needs v - 1; any other index names a
    /// change inside version v.
    pub fn delta_sources(&self) -> Vec<DeltaSourceNeed> {
        self.sources
            .iter()
            .flatten()
            .filter_map(|o| {
                let id = o["reservoirId"].as_str()?;
                let v = o["reservoirVersion"].as_u64()?;
                let index = o["index"].as_i64().unwrap_or(-1);
                let starting = o["isStartingVersion"].as_bool().unwrap_or(false);
                let version = if index == -1 && !starting {
                    v.saturating_sub(1)
                } else {
                    v
                };
                Some(DeltaSourceNeed {
                    reservoir_id: id.to_string(),
                    version,
                })
            })
            .collect()
    }
}

/// A commit log entry: `v1` (no state ids) or `v2` (checkpoint format 2: the unique id of the
/// state each partition of each stateful operator committed, `operator -> partition -> store`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Commit {
    pub state_ids: BTreeMap<String, Vec<Vec<String>>>,
}

impl Commit {
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let (_, lines) = versioned(body, "the commit log entry")?;
        let meta: Value = match lines.first() {
            Some(l) => serde_json::from_str(l).map_err(|e| format!("commit metadata: {e}"))?,
            None => Value::Null,
        };
        let mut state_ids = BTreeMap::new();
        if let Some(m) = meta["stateUniqueIds"].as_object() {
            for (op, parts) in m {
                let parts: Vec<Vec<String>> = parts
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|stores| {
                        stores
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|s| s.as_str().map(str::to_owned))
                            .collect()
                    })
                    .collect();
                state_ids.insert(op.clone(), parts);
            }
        }
        Ok(Self { state_ids })
    }

    /// The unique id the commit gives the first store of `partition` of operator `op`.
    pub fn state_id(&self, op: &str, partition: usize) -> Option<&str> {
        self.state_ids
            .get(op)?
            .get(partition)?
            .first()
            .map(String::as_str)
    }
}

/// Whether a file reads like an entry of Spark's metadata logs (`offsets/N`, `commits/N`,
/// `sources/<i>/N`): a version line `v<N>` first.
pub fn spark_log(body: &[u8]) -> bool {
    let first = body.split(|b| *b == b'\n').next().unwrap_or_default();
    first.len() > 1 && first[0] == b'v' && first[1..].iter().all(u8::is_ascii_digit)
}

/// The query id a checkpoint's `metadata` holds.
pub fn query_id(body: &[u8]) -> Result<String, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("metadata is not JSON: {e}"))?;
    v["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "metadata has no `id`".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(rel: &str) -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/fixtures/streaming")
                .join(rel),
        )
        .unwrap()
    }

    #[test]
    fn splits_keys_into_checkpoint_roots() {
        assert_eq!(
            split("cp/orders/offsets/12"),
            Some(("cp/orders/", StreamFile::Offsets(12)))
        );
        assert_eq!(split("commits/0"), Some(("", StreamFile::Commit(0))));
        assert_eq!(
            split("cp/orders/metadata"),
            Some(("cp/orders/", StreamFile::Metadata))
        );
        for not in [
            "cp/orders/state/0/_metadata/metadata",
            "cp/orders/state/0/0/_metadata/schema",
            "cp/orders/offsets/.3.crc",
            "cp/orders/offsets/3.tmp",
            "cp/orders/sources/0/3",
            "t/_delta_log/metadata",
        ] {
            assert_eq!(split(not), None, "{not}");
        }
        for (batch_file, root) in [
            ("cp/q/sources/0/3", "cp/q/"),
            ("cp/q/sources/0/9.compact", "cp/q/"),
            ("cp/q/state/0/1/4.delta", "cp/q/"),
            ("cp/q/state/0/1/SSTs/000008-9f.sst", "cp/q/"),
            ("cp/q/state/0/_metadata/metadata", "cp/q/"),
            ("state/0/0/_metadata/schema", ""),
            ("cp/q/offsets/.3.crc", "cp/q/"),
            ("cp/q/commits/.3.crc", "cp/q/"),
            ("cp/q/.metadata.crc", "cp/q/"),
            ("cp/q/state/0/1/.4.delta.crc", "cp/q/"),
        ] {
            assert_eq!(split_batch_file(batch_file), Some(root), "{batch_file}");
        }
        for not in [
            "cp/q/offsets/3",
            "t/state/part-0.parquet",
            "t/state=CA/part-0.parquet",
            "t/state/0/part-0.parquet",
            "t/sources/a/3",
            "out/.part-0.parquet.crc",
            "mystate/0/0/1.delta",
        ] {
            assert_eq!(split_batch_file(not), None, "{not}");
        }
        assert_eq!(split_file_sink("out/_spark_metadata/4"), Some(("out/", 4)));
        assert_eq!(
            split_file_sink("out/_spark_metadata/2.compact"),
            Some(("out/", 2))
        );
        assert_eq!(split_file_sink("out/_spark_metadata/.2.crc"), None);
        assert_eq!(source_log_batch("sources/0/3"), Some(3));
        assert_eq!(source_log_batch("sources/0/9.compact"), Some(9));
        assert_eq!(source_log_batch("sources/0/.9.crc"), None);
    }

    #[test]
    fn reads_the_logs_of_a_real_checkpoint() {
        let root = "spark43-rocksdb-changelog/checkpoint/";
        assert_eq!(
            query_id(&fixture(&format!("{root}metadata"))).unwrap(),
            "7f655ca6-be87-4a4c-be1f-2fb2f0ad3d8c"
        );
        let o = Offsets::parse(&fixture(&format!("{root}offsets/3"))).unwrap();
        assert_eq!(o.sources, vec![Some(serde_json::json!({"logOffset": 3}))]);
        assert!(o.metadata["batchTimestampMs"].is_u64());
        assert!(o.delta_sources().is_empty());
        let c = Commit::parse(&fixture(&format!("{root}commits/3"))).unwrap();
        assert!(c.state_ids.is_empty());
        let v2 = Commit::parse(
            b"v2\n{\"nextBatchWatermarkMs\":0,\"stateUniqueIds\":{\"0\":[[\"a\"],[\"b\"]]}}",
        )
        .unwrap();
        assert_eq!(
            (v2.state_id("0", 1), v2.state_id("0", 2)),
            (Some("b"), None)
        );
        assert!(Offsets::parse(b"{}").unwrap_err().contains("version line"));
    }

    #[test]
    fn a_delta_source_needs_the_version_before_the_next_one_it_names() {
        let o = Offsets::parse(
            br#"v1
{"batchWatermarkMs":0}
{"sourceVersion":1,"reservoirId":"t-1","reservoirVersion":8,"index":-1,"isStartingVersion":false}
{"sourceVersion": 1, "reservoirId": "t-2", "reservoirVersion": 5, "index": 3, "isStartingVersion": false}
{"sourceVersion":1,"reservoirId":"t-3","reservoirVersion":2,"index":-1,"isStartingVersion":true}"#,
        )
        .unwrap();
        let needs: Vec<(String, u64)> = o
            .delta_sources()
            .into_iter()
            .map(|n| (n.reservoir_id, n.version))
            .collect();
        assert_eq!(
            needs,
            vec![("t-1".into(), 7), ("t-2".into(), 5), ("t-3".into(), 2)]
        );
    }
}
