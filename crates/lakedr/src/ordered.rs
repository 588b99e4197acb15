//! The ordered stage: bring the DR copy of one Delta table up to date without ever exposing a
//! torn version.
//!
//! The run derives everything from the two listings (source and DR `_delta_log/`), so it keeps no
//! state of its own: it is idempotent, any number of runs may follow a crash at any point, and
//! the order events arrived in does not matter. The order of writes in DR is:
//!
//! 1. every file version `v` references (data, deletion vectors, change data), then `v.json`
//!    with put-if-absent, strictly `v = DR latest + 1, +2, ...` with no gap;
//! 2. for published versions: `.crc`, checkpoints (sidecars before the V2 file that names them,
//!    every part of a multi-part checkpoint), compactions whose range is published;
//! 3. `_last_checkpoint` last, only when it points at a checkpoint complete in DR, never
//!    backwards.
//!
//! A table whose source log starts at a checkpoint (old commits cleaned up) is bootstrapped from
//! the oldest complete checkpoint: the files it lists, its sidecars and parts, then its commit.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use serde_json::Value;

use crate::config::Rule;
use crate::delta::{
    self, CheckpointKind, FileRef, LOG_DIR, LogContents, LogFile, RefKind,
    parse_checkpoint_parquet, parse_ndjson,
};
use crate::error::{Error, Result};
use crate::store::{CopySource, ObjectMeta, ObjectUrl, PutMode, PutOptions, Stores};

/// What one run did to one table.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct TableReport {
    /// Table root relative to the rule source (`""` for the rule root).
    pub table: String,
    pub rule: String,
    /// Latest commit at the source when the run listed it.
    pub source_version: Option<u64>,
    /// Latest DR version before and after the run.
    pub dr_version_before: Option<u64>,
    pub dr_version: Option<u64>,
    pub commits_published: u64,
    pub files_copied: u64,
    pub log_files_copied: u64,
    /// False when the run stopped at its deadline with work left.
    pub complete: bool,
    /// Conditions the operator should know about that do not stop replication.
    pub warnings: Vec<String>,
}

/// One table of one rule, and how to reach it.
#[derive(Debug)]
pub struct TableSync<'a> {
    pub stores: &'a Stores,
    pub rule: &'a Rule,
    /// Table root relative to the rule source, `""` or ending in `/`.
    pub table: &'a str,
    /// Most copies in flight.
    pub concurrency: usize,
    /// Stop publishing new commits after this instant (Lambda timeout).
    pub deadline: Option<Instant>,
}

/// A `_delta_log` listing keyed by name relative to `_delta_log/`.
#[derive(Debug, Default)]
struct LogListing {
    files: BTreeMap<String, (LogFile, ObjectMeta)>,
}

impl LogListing {
    fn new(metas: Vec<ObjectMeta>, log_prefix_len: usize) -> Self {
        let mut files = BTreeMap::new();
        for m in metas {
            let name = m.key[log_prefix_len..].to_string();
            files.insert(name.clone(), (LogFile::parse(&name), m));
        }
        Self { files }
    }

    fn commits(&self) -> BTreeMap<u64, &ObjectMeta> {
        self.files
            .values()
            .filter_map(|(f, m)| match f {
                LogFile::Commit(v) => Some((*v, m)),
                _ => None,
            })
            .collect()
    }

    fn has(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }

    /// Checkpoint files grouped by version and family, each group with its names in copy order.
    fn checkpoints(&self) -> BTreeMap<u64, Vec<CheckpointSet>> {
        let mut by_version: BTreeMap<u64, Vec<CheckpointSet>> = BTreeMap::new();
        let mut multi: BTreeMap<(u64, u32), BTreeMap<u32, String>> = BTreeMap::new();
        for (name, (f, _)) in &self.files {
            if let LogFile::Checkpoint { version, kind } = f {
                match kind {
                    CheckpointKind::Classic => {
                        by_version
                            .entry(*version)
                            .or_default()
                            .push(CheckpointSet::Single {
                                name: name.clone(),
                                uuid: None,
                            })
                    }
                    CheckpointKind::Uuid { json } => {
                        by_version
                            .entry(*version)
                            .or_default()
                            .push(CheckpointSet::Single {
                                name: name.clone(),
                                uuid: Some(*json),
                            })
                    }
                    CheckpointKind::MultiPart { part, parts } => {
                        multi
                            .entry((*version, *parts))
                            .or_default()
                            .insert(*part, name.clone());
                    }
                }
            }
        }
        for ((version, parts), present) in multi {
            let complete = (1..=parts).all(|p| present.contains_key(&p));
            by_version
                .entry(version)
                .or_default()
                .push(CheckpointSet::Multi {
                    names: present.into_values().collect(),
                    complete,
                });
        }
        by_version
    }

    /// Versions with a checkpoint a reader can use (all parts present).
    fn complete_checkpoints(&self) -> BTreeSet<u64> {
        self.checkpoints()
            .into_iter()
            .filter(|(_, sets)| sets.iter().any(CheckpointSet::is_complete))
            .map(|(v, _)| v)
            .collect()
    }
}

#[derive(Clone, Debug)]
enum CheckpointSet {
    /// Classic (`uuid: None`) or V2 (`uuid: Some(is_json)`).
    Single { name: String, uuid: Option<bool> },
    /// The parts present, in part order.
    Multi { names: Vec<String>, complete: bool },
}

impl CheckpointSet {
    /// The files of the set, in copy order.
    fn names(&self) -> Vec<&String> {
        match self {
            CheckpointSet::Single { name, .. } => vec![name],
            CheckpointSet::Multi { names, .. } => names.iter().collect(),
        }
    }

    fn is_complete(&self) -> bool {
        match self {
            CheckpointSet::Single { .. } => true,
            CheckpointSet::Multi { complete, .. } => *complete,
        }
    }
}

/// `_last_checkpoint` contents that matter here.
fn last_checkpoint_version(body: &[u8]) -> Option<u64> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v.get("version")?.as_u64()
}

impl TableSync<'_> {
    fn src(&self, rel: &str) -> ObjectUrl {
        self.rule.src_url(&format!("{}{rel}", self.table))
    }

    fn dst(&self, rel: &str) -> ObjectUrl {
        self.rule.dr_url(&format!("{}{rel}", self.table))
    }

    fn table_name(&self) -> String {
        self.src("").to_string()
    }

    async fn list_log(&self, root: &ObjectUrl) -> Result<LogListing> {
        let prefix = root.join(LOG_DIR);
        let metas = self.stores.list(&prefix).await?;
        Ok(LogListing::new(metas, prefix.key.len()))
    }

    /// Runs the ordered publication. On error DR is at its last consistent state and the error
    /// names the table, version and key.
    pub async fn run(&self) -> Result<TableReport> {
        let mut report = TableReport {
            table: self.table.to_string(),
            rule: self.rule.name.clone(),
            complete: true,
            ..TableReport::default()
        };
        let src = self.list_log(&self.src("")).await?;
        let mut dst = self.list_log(&self.dst("")).await?;
        let src_commits = src.commits();
        report.source_version = src_commits.keys().next_back().copied();
        let dst_commits: BTreeSet<u64> = dst.commits().keys().copied().collect();
        report.dr_version_before = dst_commits.last().copied();
        report.dr_version = report.dr_version_before;

        let result = self
            .publish_commits(&src, &src_commits, &dst_commits, &mut dst, &mut report)
            .await;
        // Whatever happened to the commits, finish the log files of what is published.
        let aux = self.publish_aux(&src, &mut dst, &mut report).await;
        result?;
        aux?;
        Ok(report)
    }

    async fn publish_commits(
        &self,
        src: &LogListing,
        src_commits: &BTreeMap<u64, &ObjectMeta>,
        dst_commits: &BTreeSet<u64>,
        dst: &mut LogListing,
        report: &mut TableReport,
    ) -> Result<()> {
        let Some(&src_latest) = src_commits.keys().next_back() else {
            return Ok(()); // nothing committed yet (or only a checkpoint in flight)
        };
        let mut next = match dst_commits.last() {
            Some(d) => d + 1,
            None if src_commits.contains_key(&0) => 0,
            None => {
                let start = self.bootstrap_version(src, src_commits, 0)?;
                self.bootstrap(src, start, dst, report).await?;
                self.publish_commit(start, src_commits[&start], dst, report)
                    .await?;
                start + 1
            }
        };
        while next <= src_latest {
            let Some(meta) = src_commits.get(&next) else {
                // Commits missing at the source. If they were cleaned up behind a checkpoint,
                // continue from that checkpoint: readers start there and DR stays readable.
                let after = src_commits
                    .range(next..)
                    .next()
                    .map(|(v, _)| *v)
                    .unwrap_or(next);
                let gap = Error::LogGap {
                    table: self.table_name(),
                    version: next,
                    next: after,
                };
                // Cleanup keeps the checkpoint's commit and every later one, and nothing older:
                // anything else is a hole in the log.
                let Ok(start) = self.bootstrap_version(src, src_commits, next) else {
                    return Err(gap);
                };
                if src_commits.keys().next() != Some(&start) {
                    return Err(gap);
                }
                report.warnings.push(format!(
                    "versions {next}..{} were cleaned up at the source before they were replicated; DR continues from checkpoint {start}",
                    start - 1
                ));
                self.bootstrap(src, start, dst, report).await?;
                self.publish_commit(start, src_commits[&start], dst, report)
                    .await?;
                next = start + 1;
                continue;
            };
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                report.complete = false;
                return Ok(());
            }
            self.publish_commit(next, meta, dst, report).await?;
            next += 1;
        }
        Ok(())
    }

    /// The oldest version `>= min` with a complete checkpoint, its commit, and contiguous
    /// commits after it.
    fn bootstrap_version(
        &self,
        src: &LogListing,
        src_commits: &BTreeMap<u64, &ObjectMeta>,
        min: u64,
    ) -> Result<u64> {
        let complete = src.complete_checkpoints();
        let latest = src_commits.keys().next_back().copied().unwrap_or(0);
        complete
            .into_iter()
            .filter(|c| *c >= min)
            .find(|c| (*c..=latest).all(|v| src_commits.contains_key(&v)))
            .ok_or_else(|| Error::NoStartingPoint {
                table: self.table_name(),
                reason: format!(
                    "the source log has no commit 0 and no complete checkpoint followed by contiguous \
                     commits (first commit {:?})",
                    src_commits.keys().next()
                ),
            })
    }

    /// Copies what the checkpoint at `version` lists, then the checkpoint itself.
    async fn bootstrap(
        &self,
        src: &LogListing,
        version: u64,
        dst: &mut LogListing,
        report: &mut TableReport,
    ) -> Result<()> {
        let sets = src.checkpoints().remove(&version).unwrap_or_default();
        let Some(set) = sets.into_iter().find(CheckpointSet::is_complete) else {
            return Err(Error::NoStartingPoint {
                table: self.table_name(),
                reason: format!("checkpoint {version} is incomplete"),
            });
        };
        let names: Vec<String> = set.names().into_iter().cloned().collect();
        let mut contents = LogContents::default();
        for name in &names {
            let body = self.get_log(name, version).await?;
            let parsed = self.parse_checkpoint(name, version, body)?;
            contents.files.extend(parsed.files);
            contents.external.extend(parsed.external);
        }
        let sidecars: Vec<FileRef> = contents
            .files
            .iter()
            .filter(|f| f.kind == RefKind::Sidecar)
            .cloned()
            .collect();
        for sc in &sidecars {
            let name = sc.rel.trim_start_matches(LOG_DIR);
            let body = self.get_log(name, version).await?;
            let parsed = self.parse_checkpoint(name, version, body)?;
            contents.files.extend(parsed.files);
            contents.external.extend(parsed.external);
        }
        self.check_self_contained(version, &contents)?;
        let data: Vec<FileRef> = contents
            .files
            .iter()
            .filter(|f| f.kind != RefKind::Sidecar)
            .cloned()
            .collect();
        report.files_copied += self.ensure_files(version, &data).await?;
        report.log_files_copied += self.ensure_files(version, &sidecars).await?;
        self.copy_log_files(&names, dst, report).await
    }

    fn parse_checkpoint(&self, name: &str, version: u64, body: Bytes) -> Result<LogContents> {
        let parsed = if name.ends_with(".json") {
            parse_ndjson(&body)
        } else {
            parse_checkpoint_parquet(body)
        };
        parsed.map_err(|message| Error::InvalidLogFile {
            table: self.table_name(),
            version,
            key: self.src(&format!("{LOG_DIR}{name}")).key,
            message,
        })
    }

    async fn get_log(&self, name: &str, version: u64) -> Result<Bytes> {
        let url = self.src(&format!("{LOG_DIR}{name}"));
        match self.stores.get(&url).await {
            Ok(g) => Ok(g.body),
            Err(Error::NotFound { .. }) => Err(Error::MissingSourceFile {
                table: self.table_name(),
                version,
                key: url.key,
            }),
            Err(e) => Err(e),
        }
    }

    fn check_self_contained(&self, version: u64, c: &LogContents) -> Result<()> {
        if c.external.is_empty() {
            return Ok(());
        }
        Err(Error::NotSelfContained {
            table: self.table_name(),
            version,
            reason: format!(
                "references outside the table root ({}): the DR copy would depend on the primary region",
                c.external
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    }

    /// Files, commit: the one place a commit becomes visible in DR.
    async fn publish_commit(
        &self,
        version: u64,
        meta: &ObjectMeta,
        dst: &mut LogListing,
        report: &mut TableReport,
    ) -> Result<()> {
        let name = format!("{version:020}.json");
        let src_url = self.src(&format!("{LOG_DIR}{name}"));
        let got = match self.stores.get(&src_url).await {
            Ok(g) => g,
            Err(Error::NotFound { .. }) => {
                return Err(Error::MissingSourceFile {
                    table: self.table_name(),
                    version,
                    key: src_url.key,
                });
            }
            Err(e) => return Err(e),
        };
        let contents = parse_ndjson(&got.body).map_err(|message| Error::InvalidLogFile {
            table: self.table_name(),
            version,
            key: src_url.key.clone(),
            message,
        })?;
        self.check_self_contained(version, &contents)?;
        if contents.catalog_managed() {
            let w = format!(
                "version {version}: catalog-managed table: only commits published to storage are \
                 replicated; the catalog is authoritative, the DR copy is not self-contained"
            );
            if !report.warnings.contains(&w) {
                report.warnings.push(w);
            }
        }
        let files: Vec<FileRef> = contents.files.into_iter().collect();
        report.files_copied += self.ensure_files(version, &files).await?;

        let dst_url = self.dst(&delta::commit_name(version));
        let mut metadata = got.metadata.clone();
        if let Some(t) = meta.last_modified.or(got.meta.last_modified) {
            let secs = t
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default();
            metadata.insert("lakedr-source-mtime".into(), secs.to_string());
        }
        let opts = PutOptions {
            mode: PutMode::IfAbsent,
            content_type: got.content_type.clone(),
            metadata,
        };
        match self.stores.put(&dst_url, got.body.clone(), &opts).await {
            Ok(_) => {
                report.commits_published += 1;
                tracing::info!(table = %self.table_name(), version, "published commit");
            }
            Err(Error::PreconditionFailed { .. }) => {
                // Already there (a previous run crashed after the put, or a racing run): it
                // must be the same bytes.
                let existing = self.stores.get(&dst_url).await?;
                if existing.body != got.body {
                    return Err(Error::Diverged {
                        table: self.table_name(),
                        version,
                        key: dst_url.key,
                    });
                }
            }
            Err(e) => return Err(e),
        }
        dst.files.insert(
            name,
            (
                LogFile::Commit(version),
                ObjectMeta {
                    key: dst_url.key,
                    ..ObjectMeta::default()
                },
            ),
        );
        report.dr_version = Some(version);
        Ok(())
    }

    /// Makes sure each referenced file is in DR with the recorded size; copies what is not.
    /// Returns how many were copied.
    async fn ensure_files(&self, version: u64, files: &[FileRef]) -> Result<u64> {
        let copied = futures::stream::iter(files.iter().map(|f| async move {
            let dst = self.dst(&f.rel);
            if let Some(m) = self.stores.head(&dst).await?
                && f.size.is_none_or(|s| s == m.size)
            {
                return Ok::<u64, Error>(0);
            }
            let src = self.src(&f.rel);
            let source = CopySource {
                url: src.clone(),
                version_id: None,
                etag: None,
                size: f.size,
            };
            match self.stores.copy(&source, &dst).await {
                Ok(()) => Ok(1),
                Err(Error::NotFound { .. }) => Err(Error::MissingSourceFile {
                    table: self.table_name(),
                    version,
                    key: src.key,
                }),
                Err(e) => Err(e),
            }
        }))
        .buffer_unordered(self.concurrency.max(1))
        .try_fold(0u64, |acc, n| async move { Ok(acc + n) })
        .await?;
        Ok(copied)
    }

    /// Copies log files (by name under `_delta_log/`) in the given order, skipping those in DR.
    async fn copy_log_files(
        &self,
        names: &[String],
        dst: &mut LogListing,
        report: &mut TableReport,
    ) -> Result<()> {
        for name in names {
            if dst.has(name) {
                continue;
            }
            let rel = format!("{LOG_DIR}{name}");
            let (src_url, dst_url) = (self.src(&rel), self.dst(&rel));
            match self
                .stores
                .copy(&CopySource::latest(src_url.clone()), &dst_url)
                .await
            {
                Ok(()) => {}
                Err(Error::NotFound { .. }) => {
                    let version = LogFile::parse(name).version().unwrap_or_default();
                    return Err(Error::MissingSourceFile {
                        table: self.table_name(),
                        version,
                        key: src_url.key,
                    });
                }
                Err(e) => return Err(e),
            }
            report.log_files_copied += 1;
            dst.files.insert(
                name.clone(),
                (
                    LogFile::parse(name),
                    ObjectMeta {
                        key: dst_url.key,
                        ..ObjectMeta::default()
                    },
                ),
            );
        }
        Ok(())
    }

    /// `.crc`, checkpoints and compactions of published versions, then `_last_checkpoint`.
    async fn publish_aux(
        &self,
        src: &LogListing,
        dst: &mut LogListing,
        report: &mut TableReport,
    ) -> Result<()> {
        // Every run of contiguous commits in DR starts at version 0 or at a checkpoint whose
        // files were copied first, so a version whose commit is in DR has all its files there.
        let dst_commits: BTreeSet<u64> = dst.commits().keys().copied().collect();
        if dst_commits.is_empty() {
            return Ok(());
        }
        let mut names: Vec<String> = Vec::new();
        for (name, (f, _)) in &src.files {
            match f {
                // A checksum or a compaction is published only beside the commits it describes:
                // the DR log may skip versions the source cleaned up before they were copied.
                LogFile::Crc(v) if dst_commits.contains(v) && !dst.has(name) => {
                    names.push(name.clone())
                }
                LogFile::Compacted { start, end }
                    if (*start..=*end).all(|v| dst_commits.contains(&v)) && !dst.has(name) =>
                {
                    names.push(name.clone())
                }
                _ => {}
            }
        }
        self.copy_log_files(&names, dst, report).await?;

        for (version, sets) in src.checkpoints() {
            if !dst_commits.contains(&version) {
                continue;
            }
            for set in sets {
                if set.names().iter().all(|n| dst.has(n)) {
                    continue;
                }
                match set {
                    CheckpointSet::Single { name, uuid: None } => {
                        self.copy_log_files(&[name], dst, report).await?
                    }
                    CheckpointSet::Single {
                        name,
                        uuid: Some(_),
                    } => {
                        // Sidecars first, then the file that names them.
                        let body = self.get_log(&name, version).await?;
                        let parsed = self.parse_checkpoint(&name, version, body)?;
                        let sidecars: Vec<String> = parsed
                            .files
                            .iter()
                            .filter(|f| f.kind == RefKind::Sidecar)
                            .map(|f| f.rel.trim_start_matches(LOG_DIR).to_string())
                            .collect();
                        if let Some(missing) = sidecars.iter().find(|s| !src.has(s)) {
                            report.warnings.push(format!(
                                "checkpoint {version}: sidecar {missing} is not at the source yet; checkpoint not published"
                            ));
                            continue;
                        }
                        self.copy_log_files(&sidecars, dst, report).await?;
                        self.copy_log_files(&[name], dst, report).await?;
                    }
                    CheckpointSet::Multi {
                        names,
                        complete: true,
                    } => self.copy_log_files(&names, dst, report).await?,
                    CheckpointSet::Multi {
                        complete: false, ..
                    } => {}
                }
            }
        }
        self.publish_last_checkpoint(src, dst, report).await
    }

    async fn publish_last_checkpoint(
        &self,
        src: &LogListing,
        dst: &LogListing,
        report: &mut TableReport,
    ) -> Result<()> {
        const NAME: &str = "_last_checkpoint";
        if !src.has(NAME) {
            return Ok(());
        }
        let got = self
            .stores
            .get(&self.src(&format!("{LOG_DIR}{NAME}")))
            .await?;
        let Some(version) = last_checkpoint_version(&got.body) else {
            report.warnings.push(
                "source _last_checkpoint is empty or unreadable; not copied (readers list the log)"
                    .into(),
            );
            return Ok(());
        };
        if !dst.complete_checkpoints().contains(&version) {
            return Ok(()); // not complete in DR yet: a later run publishes it
        }
        let dst_url = self.dst(&format!("{LOG_DIR}{NAME}"));
        let mode = if dst.has(NAME) {
            let current = self.stores.get(&dst_url).await?;
            if last_checkpoint_version(&current.body).is_some_and(|v| v >= version) {
                return Ok(()); // never backwards
            }
            match current.meta.etag {
                Some(etag) => PutMode::IfMatch(etag),
                None => PutMode::Overwrite,
            }
        } else {
            PutMode::IfAbsent
        };
        let opts = PutOptions {
            mode,
            content_type: got.content_type,
            metadata: got.metadata,
        };
        match self.stores.put(&dst_url, got.body, &opts).await {
            Ok(_) => {
                report.log_files_copied += 1;
                Ok(())
            }
            // Another run moved it meanwhile; the next run compares again.
            Err(Error::PreconditionFailed { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Seconds since the epoch, for reports.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::config::Config;
    use crate::verify::verify_table;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/delta")
            .join(name)
    }

    fn rule(src: &Path, dst: &Path) -> Rule {
        let text = format!(
            "[[rule]]\nname = \"t\"\nsource = \"{}\"\ndestination = \"{}\"\n",
            src.display(),
            dst.display()
        );
        Config::from_text(&text).unwrap().rules.remove(0)
    }

    async fn run(rule: &Rule) -> Result<TableReport> {
        let stores = Stores::new(None);
        TableSync {
            stores: &stores,
            rule,
            table: "",
            concurrency: 4,
            deadline: None,
        }
        .run()
        .await
    }

    /// An `add` action line for a one-byte file.
    fn add(f: &str) -> String {
        format!(
            "{{\"add\":{{\"path\":\"{f}\",\"size\":1,\"partitionValues\":{{}},\"modificationTime\":0,\"dataChange\":true}}}}\n"
        )
    }

    fn write(dir: &Path, rel: &str, body: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }

    #[tokio::test]
    async fn replicates_a_checkpointed_table_and_is_idempotent() {
        let dr = tempfile::tempdir().unwrap();
        let r = rule(&fixture("rs-simple_table_with_checkpoint"), dr.path());
        let first = run(&r).await.unwrap();
        assert_eq!((first.dr_version, first.commits_published), (Some(10), 11));
        assert!(
            dr.path()
                .join("_delta_log/00000000000000000010.checkpoint.parquet")
                .exists()
        );
        assert!(dr.path().join("_delta_log/_last_checkpoint").exists());
        let again = run(&r).await.unwrap();
        assert_eq!(
            (
                again.commits_published,
                again.files_copied,
                again.log_files_copied
            ),
            (0, 0, 0)
        );
        let v = verify_table(&Stores::new(None), &r, "").await.unwrap();
        assert!(v.ok() && v.lag_versions == 0, "{v:?}");
    }

    #[tokio::test]
    async fn never_publishes_the_tmp_commit() {
        let dr = tempfile::tempdir().unwrap();
        let r = rule(&fixture("rs-simple_table"), dr.path());
        assert_eq!(run(&r).await.unwrap().dr_version, Some(4));
        assert!(
            !dr.path()
                .join("_delta_log/00000000000000000005.json")
                .exists()
        );
        assert!(!dr.path().join("_delta_log/.tmp").exists());
    }

    #[tokio::test]
    async fn diverged_commit_is_left_alone_and_reported() {
        let dr = tempfile::tempdir().unwrap();
        let r = rule(&fixture("rs-simple_table"), dr.path());
        run(&r).await.unwrap();
        let c1 = dr.path().join("_delta_log/00000000000000000001.json");
        std::fs::write(&c1, b"{\"commitInfo\":{}}\n").unwrap();
        run(&r).await.unwrap();
        assert_eq!(
            std::fs::read(&c1).unwrap(),
            b"{\"commitInfo\":{}}\n",
            "DR commits are never overwritten"
        );
        let v = verify_table(&Stores::new(None), &r, "").await.unwrap();
        assert!(
            v.problems.iter().any(|p| p.contains("commit 1 differs")),
            "{v:?}"
        );
    }

    #[tokio::test]
    async fn a_cleaned_log_whose_checkpoint_has_not_arrived_yet_is_retried_not_torn() {
        // A table with commits 0-4 cleaned up behind checkpoint 4, copied into the bucket
        // commits first: until the checkpoint lands there is nothing a reader could start from.
        let src = tempfile::tempdir().unwrap();
        let dr = tempfile::tempdir().unwrap();
        let cp = format!(
            "{}{{\"checkpointMetadata\":{{\"version\":4}}}}\n{}",
            r#"{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}
{"metaData":{"id":"t","format":{"provider":"parquet","options":{}},"schemaString":"{\"type\":\"struct\",\"fields\":[]}","partitionColumns":[],"configuration":{},"createdTime":0}}
"#,
            add("d4")
        );
        for v in [4, 5] {
            write(src.path(), &format!("d{v}"), "x");
            write(
                src.path(),
                &format!("_delta_log/{v:020}.json"),
                &add(&format!("d{v}")),
            );
        }
        let r = rule(src.path(), dr.path());
        let err = run(&r).await.unwrap_err();
        assert!(
            matches!(err, Error::NoStartingPoint { .. }) && err.is_retryable(),
            "{err:?}"
        );
        assert!(
            !dr.path().join("_delta_log").exists(),
            "nothing is published without a starting point"
        );
        write(
            src.path(),
            "_delta_log/00000000000000000004.checkpoint.3a0d65cd-4056-49b8-937b-95f9e3ee90e5.json",
            &cp,
        );
        let report = run(&r).await.unwrap();
        assert_eq!(report.dr_version, Some(5));
        let v = verify_table(&Stores::new(None), &r, "").await.unwrap();
        assert!(v.ok(), "{v:?}");
    }

    #[tokio::test]
    async fn continues_from_a_checkpoint_when_the_source_cleaned_up_unreplicated_commits() {
        let src = tempfile::tempdir().unwrap();
        let dr = tempfile::tempdir().unwrap();
        let meta = r#"{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}
{"metaData":{"id":"t","format":{"provider":"parquet","options":{}},"schemaString":"{\"type\":\"struct\",\"fields\":[]}","partitionColumns":[],"configuration":{},"createdTime":0}}
"#;
        write(src.path(), "_delta_log/00000000000000000000.json", meta);
        for v in 1..=2 {
            write(src.path(), &format!("d{v}"), "x");
            write(
                src.path(),
                &format!("_delta_log/{v:020}.json"),
                &add(&format!("d{v}")),
            );
        }
        let r = rule(src.path(), dr.path());
        assert_eq!(run(&r).await.unwrap().dr_version, Some(2));
        // The source moves on to version 6 and cleans up everything before checkpoint 5.
        for v in 3..=6 {
            write(src.path(), &format!("d{v}"), "x");
            write(
                src.path(),
                &format!("_delta_log/{v:020}.json"),
                &add(&format!("d{v}")),
            );
        }
        let cp: String = format!(
            "{meta}{{\"checkpointMetadata\":{{\"version\":5}}}}\n{}",
            (1..=5).map(|v| add(&format!("d{v}"))).collect::<String>()
        );
        write(
            src.path(),
            "_delta_log/00000000000000000005.checkpoint.3a0d65cd-4056-49b8-937b-95f9e3ee90e5.json",
            &cp,
        );
        for v in 0..5 {
            std::fs::remove_file(src.path().join(format!("_delta_log/{v:020}.json"))).unwrap();
        }
        // Files about versions DR skips, left behind by the cleanup: never published.
        let strays = [
            "00000000000000000003.crc",
            "00000000000000000002.00000000000000000004.compacted.json",
            "00000000000000000004.checkpoint.0f4b9ad3-d8b4-4bd6-a7b8-3d4d1f1c2b8e.json",
        ];
        write(src.path(), &format!("_delta_log/{}", strays[0]), "{}");
        write(src.path(), &format!("_delta_log/{}", strays[1]), &add("d3"));
        write(src.path(), &format!("_delta_log/{}", strays[2]), &cp);
        let report = run(&r).await.unwrap();
        assert_eq!(report.dr_version, Some(6));
        assert!(
            report.warnings.iter().any(|w| w.contains("cleaned up")),
            "{report:?}"
        );
        for stray in strays {
            assert!(
                !dr.path().join("_delta_log").join(stray).exists(),
                "{stray} published without its commits"
            );
        }
        let v = verify_table(&Stores::new(None), &r, "").await.unwrap();
        assert!(v.ok(), "{v:?}");
        // A hole that is not behind a checkpoint is an error.
        std::fs::remove_file(src.path().join("_delta_log/00000000000000000006.json")).unwrap();
        write(
            src.path(),
            "_delta_log/00000000000000000008.json",
            &add("d1"),
        );
        let err = run(&r).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::LogGap {
                    version: 7,
                    next: 8,
                    ..
                }
            ),
            "{err}"
        );
    }
}
