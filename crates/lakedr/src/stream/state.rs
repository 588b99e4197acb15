//! The files that load one version of a state store, as Spark's providers load it:
//!
//! * HDFS-backed store: the newest `<S>.snapshot` with S <= V, then every `<v>.delta` for
//!   S < v <= V (from 1 when there is no snapshot);
//! * RocksDB, checkpoint format 1: the newest `<S>.zip` with S <= V and the SSTs its `metadata`
//!   lists (`SSTs/`, `logs/`), then every `<v>.changelog` for S < v <= V (changelog
//!   checkpointing), or `<V>.zip` itself (without);
//! * RocksDB, checkpoint format 2: files named `<v>_<unique id>`; the id of version v of a
//!   partition is the one `commits/<v - 1>` gives it. `<V>_<id>.zip` if there is one, else
//!   `<V>_<id>.changelog` and the versions before it the same way (each with the id its own
//!   commit gives), back to a zip or to version 1.

use std::collections::BTreeMap;

use super::Commit;

/// A state store directory: `state/<op>/<partition>/`, or `state/<op>/<partition>/<store>/`
/// for a stream-stream join's stores.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct StoreDir {
    pub op: String,
    pub partition: usize,
    pub store: Option<String>,
}

impl StoreDir {
    /// The directory, relative to the checkpoint root, ending in `/`.
    pub fn prefix(&self) -> String {
        match &self.store {
            Some(s) => format!("state/{}/{}/{s}/", self.op, self.partition),
            None => format!("state/{}/{}/", self.op, self.partition),
        }
    }
}

/// A file of a state store directory.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum StateFile {
    Delta(u64),
    Snapshot(u64),
    Changelog {
        version: u64,
        id: Option<String>,
    },
    Zip {
        version: u64,
        id: Option<String>,
    },
    /// `SSTs/<name>` or `logs/<name>`: shared by the snapshots that list them.
    Shared(String),
    /// Schemas, operator metadata, checksums, Hadoop `.crc` siblings: copied, not needed to
    /// load a version.
    Other,
}

fn versioned(stem: &str) -> Option<(u64, Option<String>)> {
    let (v, id) = match stem.split_once('_') {
        Some((v, id)) if !id.is_empty() => (v, Some(id.to_string())),
        _ => (stem, None),
    };
    (!v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .then(|| v.parse().ok().map(|v| (v, id)))
        .flatten()
}

/// What `rel` (relative to the checkpoint root) is, if it is under `state/`.
pub fn parse(rel: &str) -> Option<(StoreDir, StateFile)> {
    let rest = rel.strip_prefix("state/")?;
    let mut segs: Vec<&str> = rest.split('/').collect();
    let name = segs.pop()?;
    if segs.len() < 2 {
        return None; // state/<op>/_metadata/... : the operator's metadata
    }
    let op = segs[0].to_string();
    let partition: usize = segs[1].parse().ok()?;
    let mut store = None;
    let mut shared = false;
    for s in &segs[2..] {
        match *s {
            "SSTs" | "logs" => shared = true,
            "_metadata" => {
                return Some((
                    StoreDir {
                        op,
                        partition,
                        store,
                    },
                    StateFile::Other,
                ));
            }
            other if store.is_none() && !shared => store = Some(other.to_string()),
            _ => return None,
        }
    }
    let dir = StoreDir {
        op,
        partition,
        store,
    };
    if shared {
        let sub = segs[segs.len() - 1];
        return Some((dir, StateFile::Shared(format!("{sub}/{name}"))));
    }
    if name.starts_with('.') {
        return Some((dir, StateFile::Other));
    }
    let file = if let Some(stem) = name.strip_suffix(".delta") {
        versioned(stem)
            .filter(|(_, id)| id.is_none())
            .map_or(StateFile::Other, |(v, _)| StateFile::Delta(v))
    } else if let Some(stem) = name.strip_suffix(".snapshot") {
        versioned(stem)
            .filter(|(_, id)| id.is_none())
            .map_or(StateFile::Other, |(v, _)| StateFile::Snapshot(v))
    } else if let Some(stem) = name.strip_suffix(".changelog") {
        versioned(stem).map_or(StateFile::Other, |(version, id)| StateFile::Changelog {
            version,
            id,
        })
    } else if let Some(stem) = name.strip_suffix(".zip") {
        versioned(stem).map_or(StateFile::Other, |(version, id)| StateFile::Zip {
            version,
            id,
        })
    } else {
        StateFile::Other
    };
    Some((dir, file))
}

/// The name of a versioned file in its store directory.
fn name_of(f: &StateFile) -> String {
    let with = |v: u64, id: &Option<String>, ext: &str| match id {
        Some(id) => format!("{v}_{id}.{ext}"),
        None => format!("{v}.{ext}"),
    };
    match f {
        StateFile::Delta(v) => format!("{v}.delta"),
        StateFile::Snapshot(v) => format!("{v}.snapshot"),
        StateFile::Changelog { version, id } => with(*version, id, "changelog"),
        StateFile::Zip { version, id } => with(*version, id, "zip"),
        StateFile::Shared(n) => n.clone(),
        StateFile::Other => String::new(),
    }
}

/// What loading a version takes: the files (relative to the checkpoint root), and the
/// snapshots among them whose SSTs must be read from their `metadata`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Required {
    pub files: Vec<String>,
    pub zips: Vec<String>,
}

/// Why a version cannot be loaded yet: a file missing at the source, or a commit entry to
/// read first (checkpoint format 2 names each version's file in the commit before it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Need {
    Missing(String),
    Commit(u64),
}

/// The files that load version `version` of the store `dir`, whose files are `files`.
/// `commits` holds the commit log entries read so far.
pub fn required(
    dir: &StoreDir,
    files: &[StateFile],
    version: u64,
    commits: &BTreeMap<u64, Commit>,
) -> Result<Required, Need> {
    let prefix = dir.prefix();
    let path = |f: &StateFile| format!("{prefix}{}", name_of(f));
    let has = |f: &StateFile| files.contains(f);
    let mut out = Required::default();
    let hdfs = files
        .iter()
        .any(|f| matches!(f, StateFile::Delta(_) | StateFile::Snapshot(_)));
    let v2 = files.iter().any(|f| {
        matches!(
            f,
            StateFile::Changelog { id: Some(_), .. } | StateFile::Zip { id: Some(_), .. }
        )
    });
    if hdfs {
        let snapshot = files
            .iter()
            .filter_map(|f| match f {
                StateFile::Snapshot(s) if *s <= version => Some(*s),
                _ => None,
            })
            .max();
        let from = match snapshot {
            Some(s) => {
                out.files.push(path(&StateFile::Snapshot(s)));
                s + 1
            }
            None => 1,
        };
        for v in from..=version {
            let d = StateFile::Delta(v);
            if !has(&d) {
                return Err(Need::Missing(path(&d)));
            }
            out.files.push(path(&d));
        }
        return Ok(out);
    }
    if v2 {
        let mut v = version;
        loop {
            // The id of version v is the one the commit of batch v - 1 gives this store.
            let Some(commit) = commits.get(&(v - 1)) else {
                return Err(Need::Commit(v - 1));
            };
            let Some(id) = commit.state_id(&dir.op, dir.partition) else {
                return Err(Need::Missing(format!(
                    "{prefix}{v}_<id>: commits/{} names no state id for operator {} partition {}",
                    v - 1,
                    dir.op,
                    dir.partition
                )));
            };
            let zip = StateFile::Zip {
                version: v,
                id: Some(id.to_string()),
            };
            if has(&zip) {
                out.files.push(path(&zip));
                out.zips.push(path(&zip));
                break;
            }
            let log = StateFile::Changelog {
                version: v,
                id: Some(id.to_string()),
            };
            if !has(&log) {
                return Err(Need::Missing(path(&log)));
            }
            out.files.push(path(&log));
            if v == 1 {
                break;
            }
            v -= 1;
        }
        out.files.reverse();
        return Ok(out);
    }
    let changelogs = files
        .iter()
        .any(|f| matches!(f, StateFile::Changelog { .. }));
    let zip = files
        .iter()
        .filter_map(|f| match f {
            StateFile::Zip {
                version: s,
                id: None,
            } if *s <= version => Some(*s),
            _ => None,
        })
        .max();
    if !changelogs {
        let want = StateFile::Zip { version, id: None };
        if zip != Some(version) {
            return Err(Need::Missing(path(&want)));
        }
        out.files.push(path(&want));
        out.zips.push(path(&want));
        return Ok(out);
    }
    let from = match zip {
        Some(s) => {
            let z = StateFile::Zip {
                version: s,
                id: None,
            };
            out.files.push(path(&z));
            out.zips.push(path(&z));
            s + 1
        }
        None => 1,
    };
    for v in from..=version {
        let c = StateFile::Changelog {
            version: v,
            id: None,
        };
        if !has(&c) {
            return Err(Need::Missing(path(&c)));
        }
        out.files.push(path(&c));
    }
    Ok(out)
}

/// The shared files a RocksDB snapshot's `metadata` (inside its zip) lists, relative to its
/// store directory: `SSTs/<dfsSstFileName>` and `logs/<dfsLogFileName>`.
pub fn snapshot_files(metadata: &[u8]) -> Result<Vec<String>, String> {
    let text = std::str::from_utf8(metadata).map_err(|e| format!("not UTF-8: {e}"))?;
    let json = text
        .split_once('\n')
        .map(|(_, rest)| rest)
        .ok_or_else(|| "no version line".to_string())?;
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
    let mut out = Vec::new();
    for (list, field, dir) in [
        ("sstFiles", "dfsSstFileName", "SSTs"),
        ("logFiles", "dfsLogFileName", "logs"),
    ] {
        for f in v[list].as_array().into_iter().flatten() {
            let name = f[field]
                .as_str()
                .ok_or_else(|| format!("a {list} entry has no {field}"))?;
            out.push(format!("{dir}/{name}"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files_of(dir: &str) -> (StoreDir, Vec<StateFile>) {
        let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/streaming")
            .join(dir);
        let root = base.join("checkpoint");
        let mut out = Vec::new();
        let mut store = None;
        for sub in ["state/0/0", "state/0/0/SSTs"] {
            for e in std::fs::read_dir(root.join(sub)).into_iter().flatten() {
                let e = e.unwrap();
                if e.file_type().unwrap().is_dir() {
                    continue;
                }
                let rel = format!("{sub}/{}", e.file_name().to_string_lossy());
                let (d, f) = parse(&rel).unwrap();
                store = Some(d);
                out.push(f);
            }
        }
        (store.unwrap(), out)
    }

    #[test]
    fn hdfs_loads_from_the_newest_snapshot_then_deltas() {
        let (dir, files) = files_of("spark43-hdfs-agg");
        assert_eq!(dir.prefix(), "state/0/0/");
        let none = BTreeMap::new();
        let r = required(&dir, &files, 4, &none).unwrap();
        assert_eq!(r.files, vec!["state/0/0/3.snapshot", "state/0/0/4.delta"]);
        let r = required(&dir, &files, 2, &none).unwrap();
        assert_eq!(r.files, vec!["state/0/0/1.delta", "state/0/0/2.delta"]);
        let gone: Vec<StateFile> = files
            .iter()
            .filter(|f| **f != StateFile::Delta(4))
            .cloned()
            .collect();
        assert_eq!(
            required(&dir, &gone, 4, &none),
            Err(Need::Missing("state/0/0/4.delta".into()))
        );
    }

    #[test]
    fn rocksdb_with_changelogs_loads_a_zip_its_ssts_and_later_changelogs() {
        let (dir, files) = files_of("spark43-rocksdb-changelog");
        let none = BTreeMap::new();
        let r = required(&dir, &files, 4, &none).unwrap();
        assert_eq!(r.files, vec!["state/0/0/4.zip"]);
        let r = required(&dir, &files, 3, &none).unwrap();
        assert_eq!(r.files, vec!["state/0/0/2.zip", "state/0/0/3.changelog"]);
        assert_eq!(r.zips, vec!["state/0/0/2.zip"]);
        assert!(files.contains(&StateFile::Shared(
            "SSTs/000008-733f09e4-b864-4356-93e7-091e75c13956.sst".into()
        )));
        let zip = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "../../../shared/fixtures/streaming/spark43-rocksdb-changelog/checkpoint/state/0/0/4.zip",
        ))
        .unwrap();
        let listed = snapshot_files(&crate::stream::zip::entry(&zip, "metadata").unwrap()).unwrap();
        assert_eq!(
            listed,
            vec![
                "SSTs/000008-733f09e4-b864-4356-93e7-091e75c13956.sst",
                "SSTs/000009-661290ad-a2d1-430e-98fe-6afe6435d861.sst"
            ]
        );
    }

    #[test]
    fn format_2_follows_each_versions_id_back_to_a_snapshot() {
        let dir = StoreDir {
            op: "0".into(),
            partition: 1,
            store: None,
        };
        let f = |v: u64, id: &str, zip: bool| {
            let id = Some(id.to_string());
            if zip {
                StateFile::Zip { version: v, id }
            } else {
                StateFile::Changelog { version: v, id }
            }
        };
        // A re-run of batch 2 left a changelog of another id beside the committed one.
        let files = vec![
            f(1, "a", false),
            f(2, "b", false),
            f(2, "b", true),
            f(3, "c", false),
            f(3, "x", false),
            f(4, "d", false),
        ];
        let commit = |ids: [&str; 2]| {
            Commit::parse(
                format!(
                    "v2\n{{\"nextBatchWatermarkMs\":0,\"stateUniqueIds\":{{\"0\":[[\"{}\"],[\"{}\"]]}}}}",
                    ids[0], ids[1]
                )
                .as_bytes(),
            )
            .unwrap()
        };
        let mut commits = BTreeMap::new();
        assert_eq!(required(&dir, &files, 4, &commits), Err(Need::Commit(3)));
        commits.insert(3, commit(["p0", "d"]));
        assert_eq!(required(&dir, &files, 4, &commits), Err(Need::Commit(2)));
        commits.insert(2, commit(["p0", "c"]));
        commits.insert(1, commit(["p0", "b"]));
        let r = required(&dir, &files, 4, &commits).unwrap();
        assert_eq!(
            r.files,
            vec![
                "state/0/1/2_b.zip",
                "state/0/1/3_c.changelog",
                "state/0/1/4_d.changelog"
            ]
        );
        assert_eq!(r.zips, vec!["state/0/1/2_b.zip"]);
    }

    #[test]
    fn names_of_join_stores_and_metadata() {
        assert_eq!(
            parse("state/1/3/left-keyToNumValues/2.delta"),
            Some((
                StoreDir {
                    op: "1".into(),
                    partition: 3,
                    store: Some("left-keyToNumValues".into())
                },
                StateFile::Delta(2)
            ))
        );
        assert_eq!(parse("state/0/_metadata/metadata"), None);
        assert_eq!(
            parse("state/0/0/_metadata/schema").map(|p| p.1),
            Some(StateFile::Other)
        );
        assert_eq!(
            parse("state/0/0/.4.delta.crc").map(|p| p.1),
            Some(StateFile::Other)
        );
    }
}
