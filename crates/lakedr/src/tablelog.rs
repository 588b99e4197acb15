//! A table's `_delta_log` as read from a store: the one reading of a log that the ordered stage,
//! verify and sync share.
//!
//! * [`TableLog::list_full`] lists the whole log, `_sidecars/` included (verify, bootstrap);
//! * [`TableLog::list_from`] lists the top level of the log from a version on, with one LIST
//!   `StartAfter` that version: what a commit costs does not grow with the log's length;
//! * [`LogListing::checkpoints`] groups checkpoint files into sets (every part of a multi-part
//!   checkpoint) and says which are complete;
//! * [`TableLog::checkpoint_sidecars`] and [`TableLog::checkpoint_contents`] decide what a
//!   checkpoint holds by its content, not its name: a classic-named `N.checkpoint.parquet` may
//!   hold V2 content (`checkpointMetadata` and `sidecar` actions), which the protocol allows.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use bytes::Bytes;
use serde_json::Value;

use crate::delta::{
    CheckpointKind, FileRef, LOG_DIR, LogContents, LogFile, RefKind, parse_checkpoint_parquet,
    parse_ndjson,
};
use crate::error::{Error, Result};
use crate::store::{ObjectMeta, ObjectUrl, Stores};

/// The name of the only mutable log file.
pub const LAST_CHECKPOINT: &str = "_last_checkpoint";

/// A `_delta_log` listing keyed by name relative to `_delta_log/`.
#[derive(Clone, Debug, Default)]
pub struct LogListing {
    pub files: BTreeMap<String, (LogFile, ObjectMeta)>,
    /// The listing holds the files of versions `>= from` (and the non-versioned files), or
    /// every file when `None`.
    pub from: Option<u64>,
}

/// The files of one checkpoint of one version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckpointSet {
    /// Classic (`<v>.checkpoint.parquet`) or UUID-named (`<v>.checkpoint.<uuid>.json|parquet`):
    /// one file, whatever it holds.
    Single { name: String, size: u64 },
    /// `<v>.checkpoint.<part>.<parts>.parquet`: the parts present, in part order.
    Multi {
        parts: u32,
        present: Vec<(u32, String, u64)>,
    },
}

impl CheckpointSet {
    /// The files of the set, in copy order, with their sizes.
    pub fn files(&self) -> Vec<(&str, u64)> {
        match self {
            CheckpointSet::Single { name, size } => vec![(name.as_str(), *size)],
            CheckpointSet::Multi { present, .. } => {
                present.iter().map(|(_, n, s)| (n.as_str(), *s)).collect()
            }
        }
    }

    /// Every part present. (Sidecars are a matter of content: see
    /// [`TableLog::checkpoint_sidecars`].)
    pub fn is_complete(&self) -> bool {
        match self {
            CheckpointSet::Single { .. } => true,
            CheckpointSet::Multi { parts, present } => present.len() as u32 == *parts,
        }
    }
}

impl LogListing {
    fn new(metas: Vec<ObjectMeta>, log_prefix_len: usize, from: Option<u64>) -> Self {
        let files = metas
            .into_iter()
            .map(|m| {
                let name = m.key[log_prefix_len..].to_string();
                (name.clone(), (LogFile::parse(&name), m))
            })
            .collect();
        Self { files, from }
    }

    /// Records a file written after the listing.
    pub fn insert(&mut self, name: &str, meta: ObjectMeta) {
        self.files
            .insert(name.to_string(), (LogFile::parse(name), meta));
    }

    pub fn has(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }

    pub fn meta(&self, name: &str) -> Option<&ObjectMeta> {
        self.files.get(name).map(|(_, m)| m)
    }

    /// Commits by version.
    pub fn commits(&self) -> BTreeMap<u64, &ObjectMeta> {
        self.files
            .values()
            .filter_map(|(f, m)| match f {
                LogFile::Commit(v) => Some((*v, m)),
                _ => None,
            })
            .collect()
    }

    /// The newest commit.
    pub fn latest(&self) -> Option<u64> {
        self.commits().keys().next_back().copied()
    }

    /// Checkpoint files grouped into sets by version (a version may have several).
    pub fn checkpoints(&self) -> BTreeMap<u64, Vec<CheckpointSet>> {
        let mut by_version: BTreeMap<u64, Vec<CheckpointSet>> = BTreeMap::new();
        // (version, parts) to (part, file name, size) of each part found.
        type Parts = Vec<(u32, String, u64)>;
        let mut multi: BTreeMap<(u64, u32), Parts> = BTreeMap::new();
        for (name, (f, meta)) in &self.files {
            let LogFile::Checkpoint { version, kind } = f else {
                continue;
            };
            match kind {
                CheckpointKind::Classic | CheckpointKind::Uuid { .. } => by_version
                    .entry(*version)
                    .or_default()
                    .push(CheckpointSet::Single {
                        name: name.clone(),
                        size: meta.size,
                    }),
                CheckpointKind::MultiPart { part, parts } => multi
                    .entry((*version, *parts))
                    .or_default()
                    .push((*part, name.clone(), meta.size)),
            }
        }
        for ((version, parts), mut present) in multi {
            present.sort();
            by_version
                .entry(version)
                .or_default()
                .push(CheckpointSet::Multi { parts, present });
        }
        by_version
    }

    /// Versions with a checkpoint whose every part is in the listing.
    pub fn complete_checkpoints(&self) -> BTreeSet<u64> {
        self.checkpoints()
            .into_iter()
            .filter(|(_, sets)| sets.iter().any(CheckpointSet::is_complete))
            .map(|(v, _)| v)
            .collect()
    }
}

/// Where each DR log's newest complete checkpoint was last seen (the version of its
/// `_last_checkpoint`, or none), kept for the life of a process, so that a run lists the log
/// from there without reading `_last_checkpoint` again. A hint older than the truth only makes
/// a listing longer; one the log does not bear out is dropped.
#[derive(Debug, Default)]
pub struct LogHints(
    Mutex<HashMap<String, Option<u64>>>,
    /// Source roots known to hold a streaming query's `metadata`.
    Mutex<std::collections::HashSet<String>>,
);

impl LogHints {
    /// `Some(hint)` when this process has looked at the log before.
    pub fn get(&self, log: &ObjectUrl) -> Option<Option<u64>> {
        self.0.lock().ok()?.get(&log.to_string()).copied()
    }

    /// Records what was seen, never moving a hint backwards.
    pub fn set(&self, log: &ObjectUrl, version: Option<u64>) {
        if let Ok(mut m) = self.0.lock() {
            let e = m.entry(log.to_string()).or_insert(version);
            *e = (*e).max(version);
        }
    }

    /// Whether `root` was seen holding a query's `metadata` (a checkpoint stays one).
    pub fn is_checkpoint(&self, root: &ObjectUrl) -> bool {
        self.1.lock().is_ok_and(|s| s.contains(&root.to_string()))
    }

    pub fn set_checkpoint(&self, root: &ObjectUrl) {
        if let Ok(mut s) = self.1.lock() {
            s.insert(root.to_string());
        }
    }

    pub fn forget(&self, log: &ObjectUrl) {
        if let Ok(mut m) = self.0.lock() {
            m.remove(&log.to_string());
        }
    }
}

/// The `version` a `_last_checkpoint` names, if it is readable.
pub fn last_checkpoint_version(body: &[u8]) -> Option<u64> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v.get("version")?.as_u64()
}

/// The `_delta_log/` of one table root in one store.
#[derive(Clone, Debug)]
pub struct TableLog<'a> {
    pub stores: &'a Stores,
    /// The table root (ends in `/` or is a bucket root).
    pub root: ObjectUrl,
    /// How errors name the table.
    pub table: String,
}

impl<'a> TableLog<'a> {
    pub fn new(stores: &'a Stores, root: ObjectUrl, table: String) -> Self {
        Self {
            stores,
            root,
            table,
        }
    }

    /// The address of a log file by its name under `_delta_log/`.
    pub fn url(&self, name: &str) -> ObjectUrl {
        self.root.join(&format!("{LOG_DIR}{name}"))
    }

    /// Every file of the log, `_sidecars/` included.
    pub async fn list_full(&self) -> Result<LogListing> {
        let prefix = self.root.join(LOG_DIR);
        let metas = self.stores.list(&prefix).await?;
        Ok(LogListing::new(metas, prefix.key.len(), None))
    }

    /// The top level of the log (no `_sidecars/`, `_staged_commits/`...) from version `from`
    /// on, or all of it. Names sort by version (20 digits), then `_last_checkpoint`.
    pub async fn list_from(&self, from: Option<u64>) -> Result<LogListing> {
        let prefix = self.root.join(LOG_DIR);
        // Every file of version v is named `<v:020>.<something>`, so it sorts after `<v:020>`.
        let start = from.map(|v| format!("{}{v:020}", prefix.key));
        let metas = self.stores.list_dir(&prefix, start.as_deref()).await?;
        Ok(LogListing::new(metas, prefix.key.len(), from))
    }

    /// A log file's bytes; a missing one is [`Error::MissingSourceFile`] of `version`.
    pub async fn get(&self, name: &str, version: u64) -> Result<Bytes> {
        let url = self.url(name);
        match self.stores.get(&url).await {
            Ok(g) => Ok(g.body),
            Err(Error::NotFound { .. }) => Err(Error::MissingSourceFile {
                table: self.table.clone(),
                version,
                key: url.key,
            }),
            Err(e) => Err(e),
        }
    }

    fn invalid(&self, name: &str, version: u64, message: String) -> Error {
        Error::InvalidLogFile {
            table: self.table.clone(),
            version,
            key: self.url(name).key,
            message,
        }
    }

    /// Parses one checkpoint file (JSON or Parquet) or sidecar.
    pub async fn parse_checkpoint_file(&self, name: &str, version: u64) -> Result<LogContents> {
        let body = self.get(name, version).await?;
        let parsed = if name.ends_with(".json") {
            parse_ndjson(&body)
        } else {
            parse_checkpoint_parquet(body)
        };
        parsed.map_err(|m| self.invalid(name, version, m))
    }

    /// The sidecars a checkpoint file names (names under `_delta_log/`), by its content. A
    /// Parquet file is judged by its footer first: one without a `sidecar` column holds no
    /// sidecar actions and is not read further (a classic checkpoint of a large table is large).
    pub async fn checkpoint_sidecars(
        &self,
        name: &str,
        size: u64,
        version: u64,
    ) -> Result<Vec<FileRef>> {
        if !name.ends_with(".json")
            && !self
                .parquet_has_column(name, size, version, "sidecar")
                .await?
        {
            return Ok(Vec::new());
        }
        let contents = self.parse_checkpoint_file(name, version).await?;
        Ok(contents
            .files
            .into_iter()
            .filter(|f| f.kind == RefKind::Sidecar)
            .collect())
    }

    /// True if the Parquet file's schema has a top-level column `column` (two ranged reads at
    /// most: the footer's tail, then the footer if it is larger than the tail read).
    async fn parquet_has_column(
        &self,
        name: &str,
        size: u64,
        version: u64,
        column: &str,
    ) -> Result<bool> {
        use parquet::file::metadata::{FooterTail, ParquetMetaDataReader};
        const TAIL: u64 = 64 * 1024;
        if size < 12 {
            return Err(self.invalid(
                name,
                version,
                format!("{size} bytes is too short for Parquet"),
            ));
        }
        let url = self.url(name);
        let get = |range| async {
            match self.stores.get_range(&url, range).await {
                Err(Error::NotFound { .. }) => Err(Error::MissingSourceFile {
                    table: self.table.clone(),
                    version,
                    key: url.key.clone(),
                }),
                other => other,
            }
        };
        let tail_len = size.min(TAIL);
        let tail = get(size - tail_len..size).await?;
        if tail.len() as u64 != tail_len {
            return Err(self.invalid(name, version, "short read of the footer".into()));
        }
        let eight: [u8; 8] = tail
            .get(tail.len().saturating_sub(8)..)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| self.invalid(name, version, "short read of the footer".into()))?;
        let footer =
            FooterTail::try_new(&eight).map_err(|e| self.invalid(name, version, e.to_string()))?;
        let len = footer.metadata_length() as u64;
        if len + 8 > size {
            return Err(self.invalid(name, version, "footer longer than the file".into()));
        }
        let metadata = if len + 8 <= tail_len {
            let end = tail.len() - 8;
            tail.slice(end - len as usize..end)
        } else {
            get(size - 8 - len..size - 8).await?
        };
        let meta = ParquetMetaDataReader::decode_metadata(&metadata)
            .map_err(|e| self.invalid(name, version, e.to_string()))?;
        Ok(meta
            .file_metadata()
            .schema_descr()
            .root_schema()
            .get_fields()
            .iter()
            .any(|f| f.name() == column))
    }

    /// Everything a checkpoint set says about files: each part, and the sidecars any of them
    /// names (read as well), whatever the files are called.
    pub async fn checkpoint_contents(&self, set: &CheckpointSet, version: u64) -> Result<Contents> {
        let mut out = Contents::default();
        for (name, _) in set.files() {
            let parsed = self.parse_checkpoint_file(name, version).await?;
            out.contents.external.extend(parsed.external);
            out.contents.txns.extend(parsed.txns);
            out.contents.features.extend(parsed.features);
            for f in parsed.files {
                if f.kind == RefKind::Sidecar {
                    out.sidecars.push(f);
                } else {
                    out.contents.files.insert(f);
                }
            }
        }
        for sc in out.sidecars.clone() {
            let name = sc.rel.trim_start_matches(LOG_DIR);
            let parsed = self.parse_checkpoint_file(name, version).await?;
            out.contents.external.extend(parsed.external);
            out.contents.files.extend(
                parsed
                    .files
                    .into_iter()
                    .filter(|f| f.kind != RefKind::Sidecar),
            );
        }
        Ok(out)
    }
}

/// What a checkpoint set holds: the files its version needs (sidecars' contents included), and
/// the sidecars themselves (relative to the table root).
#[derive(Clone, Debug, Default)]
pub struct Contents {
    pub contents: LogContents,
    pub sidecars: Vec<FileRef>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_classic_named_v2_checkpoint_is_known_by_its_content() {
        // The UUID-named V2 parquet checkpoints of a real table, looked at under their own name
        // and under the classic one: the footer says they hold sidecars either way.
        let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/delta/krs-v2-checkpoints-parquet-with-sidecars");
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("_delta_log");
        std::fs::create_dir_all(&log).unwrap();
        let v2 = std::fs::read_dir(fixture.join("_delta_log"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .find(|n| n.starts_with("00000000000000000002.checkpoint.") && n.ends_with(".parquet"))
            .unwrap();
        let body = std::fs::read(fixture.join("_delta_log").join(&v2)).unwrap();
        std::fs::write(log.join("00000000000000000002.checkpoint.parquet"), &body).unwrap();
        let classic = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
                "../../../shared/fixtures/delta/rs-simple_table_with_checkpoint/_delta_log/00000000000000000010.checkpoint.parquet",
            ),
        )
        .unwrap();
        std::fs::write(
            log.join("00000000000000000010.checkpoint.parquet"),
            &classic,
        )
        .unwrap();
        let stores = Stores::new(None);
        let t = TableLog::new(
            &stores,
            ObjectUrl::local(dir.path().to_string_lossy(), ""),
            "t".into(),
        );
        let listing = t.list_full().await.unwrap();
        let sets = listing.checkpoints();
        let (name, size) = sets[&2][0].files()[0];
        let sidecars = t.checkpoint_sidecars(name, size, 2).await.unwrap();
        assert!(
            !sidecars.is_empty(),
            "sidecars of a classic-named V2 checkpoint"
        );
        assert!(
            sidecars
                .iter()
                .all(|s| s.rel.starts_with("_delta_log/_sidecars/")),
            "{sidecars:?}"
        );
        let (name, size) = sets[&10][0].files()[0];
        assert!(
            t.checkpoint_sidecars(name, size, 10)
                .await
                .unwrap()
                .is_empty()
        );
        // A file that is not Parquet says so, with its key.
        std::fs::write(
            log.join("00000000000000000011.checkpoint.parquet"),
            b"not parquet at all",
        )
        .unwrap();
        let err = t
            .checkpoint_sidecars("00000000000000000011.checkpoint.parquet", 18, 11)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidLogFile { version: 11, .. }),
            "{err}"
        );
    }

    #[tokio::test]
    async fn listing_from_a_version_skips_older_files_and_sub_directories() {
        let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/delta/krs-v2-checkpoints-parquet-with-sidecars");
        let stores = Stores::new(None);
        let t = TableLog::new(
            &stores,
            ObjectUrl::local(fixture.to_string_lossy(), ""),
            "t".into(),
        );
        let all = t.list_full().await.unwrap();
        let from = t.list_from(Some(4)).await.unwrap();
        assert!(all.files.values().any(|(f, _)| *f == LogFile::Sidecar));
        assert!(from.files.values().all(|(f, _)| *f != LogFile::Sidecar));
        assert_eq!(
            from.commits().keys().copied().collect::<Vec<_>>(),
            vec![4, 5, 6]
        );
        assert_eq!(all.latest(), from.latest());
        assert!(from.has(LAST_CHECKPOINT));
        assert_eq!(
            from.complete_checkpoints().into_iter().collect::<Vec<_>>(),
            vec![4, 5, 6]
        );
    }
}
