//! The ordered stage: bring the DR copy of one Delta table up to date without ever exposing a
//! torn version.
//!
//! The run derives everything from the two logs (source and DR `_delta_log/`), so it keeps no
//! state of its own: it is idempotent, any number of runs may follow a crash at any point, and
//! the order events arrived in does not matter. Both logs are listed from the version of DR's
//! own `_last_checkpoint` on (one LIST `StartAfter` that version each), so a commit costs the
//! same in a log of a hundred entries as in one of a hundred thousand. The order of writes in
//! DR is:
//!
//! 1. every file version `v` references (data, deletion vectors, change data), then `v.json`
//!    with put-if-absent, strictly `v = DR latest + 1, +2, ...` with no gap;
//! 2. for published versions: `.crc`, checkpoints (the sidecars a checkpoint's *content* names
//!    before it, whatever it is called; every part of a multi-part checkpoint), compactions
//!    whose range is published;
//! 3. `_last_checkpoint` last, only when it points at a checkpoint complete in DR, never
//!    backwards.
//!
//! DR is at least as readable as the source. A table that starts empty in DR starts at the
//! oldest version the source can still read whole: version 0 when every file of every commit
//! is there, else the oldest complete checkpoint whose live files all exist (old commits
//! cleaned up, old files vacuumed), followed by contiguous commits whose files exist. When the
//! next version cannot be read at the source (its files were vacuumed before DR copied them,
//! or its commits were cleaned up), DR continues from the oldest later checkpoint that can; a
//! version whose live files are missing is never published.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

use crate::config::Rule;
use crate::delta::{self, FileRef, LOG_DIR, LogContents, LogFile, parse_ndjson};
use crate::error::{Error, Result};
use crate::store::{CopySource, GetResult, ObjectMeta, ObjectUrl, PutMode, PutOptions, Stores};
use crate::tablelog::{
    CheckpointSet, Contents, LAST_CHECKPOINT, LogHints, LogListing, TableLog,
    last_checkpoint_version,
};

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
    /// Checkpoints that waited for the versions this run published.
    #[serde(skip)]
    pub wake: Vec<crate::index::WaitEntry>,
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
    /// Where DR logs' newest checkpoints were last seen by this process, if it keeps them.
    pub hints: Option<&'a LogHints>,
}

/// Where DR's copy of a table starts (or starts again after versions the source cannot read).
#[derive(Debug)]
struct Start {
    version: u64,
    /// The checkpoint it starts from, with what it holds; `None` for version 0.
    checkpoint: Option<(CheckpointSet, Contents)>,
}

/// Which files are at the source and in DR under a table root, sizes by relative key. Listed
/// only when a start must be chosen (bootstrap, or versions the source can no longer read).
#[derive(Debug, Default)]
struct Available {
    src: HashMap<String, u64>,
    dr: HashMap<String, u64>,
}

impl Available {
    /// True if a run can make `f` present in DR: it is there with its size, or at the source.
    fn has(&self, f: &FileRef) -> bool {
        self.dr
            .get(&f.rel)
            .is_some_and(|s| f.size.is_none_or(|want| want == *s))
            || self.src.contains_key(&f.rel)
    }
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

    /// The source log.
    pub fn source_log(&self) -> TableLog<'_> {
        TableLog::new(self.stores, self.src(""), self.table_name())
    }

    /// The DR log.
    pub fn dr_log(&self) -> TableLog<'_> {
        TableLog::new(self.stores, self.dst(""), self.table_name())
    }

    /// The version DR's `_last_checkpoint` names: this process's hint, or read.
    async fn dr_hint(&self) -> Result<Option<u64>> {
        let root = self.dst("");
        if let Some(known) = self.hints.and_then(|h| h.get(&root)) {
            return Ok(known);
        }
        let version = match self.stores.get(&self.dr_log().url(LAST_CHECKPOINT)).await {
            Ok(g) => last_checkpoint_version(&g.body),
            Err(Error::NotFound { .. }) => None,
            Err(e) => return Err(e),
        };
        if let Some(h) = self.hints {
            h.set(&root, version);
        }
        Ok(version)
    }

    /// Lists both logs from the newest checkpoint DR's `_last_checkpoint` names (DR only ever
    /// points it at a complete checkpoint), or whole when DR has none.
    async fn listings(&self, from: Option<u64>) -> Result<(LogListing, LogListing)> {
        let mut dst = self.dr_log().list_from(from).await?;
        if let Some(b) = from
            && !(dst.commits().contains_key(&b) && dst.complete_checkpoints().contains(&b))
        {
            // A hint DR's log does not bear out: read it all.
            if let Some(h) = self.hints {
                h.forget(&self.dst(""));
            }
            dst = self.dr_log().list_from(None).await?;
        }
        let src = self.source_log().list_from(dst.from).await?;
        Ok((src, dst))
    }

    /// Runs the ordered publication. On error DR is at its last consistent state and the error
    /// names the table, version and key.
    pub async fn run(&self) -> Result<TableReport> {
        self.run_waking().await.0
    }

    /// [`Self::run`], and the checkpoints to wake for what it published, also when it failed
    /// after publishing some versions (the retry finds them published and would not know).
    pub async fn run_waking(&self) -> (Result<TableReport>, Vec<crate::index::WaitEntry>) {
        let mut report = TableReport {
            table: self.table.to_string(),
            rule: self.rule.name.clone(),
            complete: true,
            ..TableReport::default()
        };
        let result = self.run_into(&mut report).await;
        let wake = report.wake.clone();
        (result.map(|()| report), wake)
    }

    async fn run_into(&self, report: &mut TableReport) -> Result<()> {
        let from = self.dr_hint().await?;
        let (src, mut dst) = self.listings(from).await?;
        report.source_version = src.latest();
        report.dr_version_before = dst.latest();
        report.dr_version = report.dr_version_before;

        let result = self.publish_commits(&src, &mut dst, report).await;
        // Whatever happened to the commits, finish the log files of what is published.
        let aux = self.publish_aux(&src, &mut dst, report).await;
        result?;
        aux
    }

    async fn publish_commits(
        &self,
        src: &LogListing,
        dst: &mut LogListing,
        report: &mut TableReport,
    ) -> Result<()> {
        let src_commits = src.commits();
        let Some(&src_latest) = src_commits.keys().next_back() else {
            return Ok(()); // nothing committed yet (or only a checkpoint in flight)
        };
        // A start to publish (checkpoint and its commit) before following the log.
        let mut start = None;
        let mut next = match dst.latest() {
            Some(d) => d + 1,
            None => {
                let s = self.find_start(src, 0).await?;
                if s.version > 0 {
                    report.warnings.push(format!(
                        "DR starts at checkpoint {}: older versions cannot be read whole at the source",
                        s.version
                    ));
                }
                let v = s.version;
                start = Some(s);
                v
            }
        };
        loop {
            let published = match start.take() {
                Some(s) => self.publish_start(src, s, dst, report).await,
                None if next > src_latest => return Ok(()),
                None if self.deadline.is_some_and(|d| Instant::now() >= d) => {
                    report.complete = false;
                    return Ok(());
                }
                None => match src_commits.get(&next) {
                    Some(meta) => self
                        .publish_commit(next, meta, dst, report)
                        .await
                        .map(|()| next + 1),
                    None => Err(self.missing_commit(&src_commits, next)),
                },
            };
            match published {
                Ok(n) => next = n,
                Err(cause) => {
                    let s = self.restart(src, next, cause).await?;
                    report.warnings.push(format!(
                        "versions {next}..{} cannot be read at the source (cleaned up or vacuumed before they were replicated); DR continues from checkpoint {}",
                        s.version - 1,
                        s.version
                    ));
                    next = s.version;
                    start = Some(s);
                }
            }
        }
    }

    /// Why commit `next` is not at the source: the log was cleaned up behind a later
    /// checkpoint (no older commit is left), or it has a hole.
    fn missing_commit(&self, src_commits: &BTreeMap<u64, &ObjectMeta>, next: u64) -> Error {
        let after = src_commits
            .range(next..)
            .next()
            .map(|(v, _)| *v)
            .unwrap_or(next);
        Error::LogGap {
            table: self.table_name(),
            version: next,
            next: after,
        }
    }

    /// Version `next` cannot be published (`cause`): where DR continues, if anywhere.
    ///
    /// * Its commit is gone because the source cleaned up its log (no older commit is left):
    ///   continue from the oldest checkpoint the source can read from `next` on.
    /// * Its files are gone (vacuumed before DR copied them): the source cannot read it
    ///   either; continue from the oldest later checkpoint whose live files all exist.
    /// * Anything else (a hole in the log, an unparseable commit...) stops the table.
    async fn restart(&self, src: &LogListing, next: u64, cause: Error) -> Result<Start> {
        let min = match &cause {
            Error::LogGap { .. } if src.commits().range(..next).next().is_none() => next,
            Error::MissingSourceFile { version, .. } if *version == next => next + 1,
            _ => return Err(cause),
        };
        match self.find_start(src, min).await {
            Ok(start) => Ok(start),
            // No checkpoint to continue from: the original cause says best what is wrong.
            Err(Error::NoStartingPoint { .. }) => Err(match cause {
                Error::MissingSourceFile { version, key, .. } => Error::NoReadableVersion {
                    table: self.table_name(),
                    version,
                    key,
                },
                other => other,
            }),
            Err(e) => Err(e),
        }
    }

    /// Lists which files exist under the table root at the source and in DR.
    async fn available(&self) -> Result<Available> {
        let rels = |root: ObjectUrl| async move {
            let metas = self.stores.list(&root).await?;
            Ok::<_, Error>(
                metas
                    .into_iter()
                    .map(|m| (m.key[root.key.len()..].to_string(), m.size))
                    .collect::<HashMap<_, _>>(),
            )
        };
        Ok(Available {
            src: rels(self.src("")).await?,
            dr: rels(self.dst("")).await?,
        })
    }

    /// The oldest version `>= min` DR can start from and keep following: version 0, or a
    /// complete checkpoint, with contiguous commits after it to the source's latest, its live
    /// files and the files of every later commit present (at the source, or already in DR).
    ///
    /// The commits are read newest first, down to the first one that needs a file that is
    /// gone: no start below it can be read whole. Then the candidates above it are tried
    /// oldest first, each checkpoint read for its live files.
    async fn find_start(&self, src: &LogListing, min: u64) -> Result<Start> {
        let commits = src.commits();
        let latest = commits.keys().next_back().copied().unwrap_or(0);
        let contiguous = |c: u64| (c..=latest).all(|v| commits.contains_key(&v));
        let checkpoints = src.checkpoints();
        let mut candidates: Vec<u64> = checkpoints
            .iter()
            .filter(|(v, sets)| {
                **v >= min && sets.iter().any(CheckpointSet::is_complete) && contiguous(**v)
            })
            .map(|(v, _)| *v)
            .collect();
        if min == 0 && commits.contains_key(&0) && contiguous(0) && !candidates.contains(&0) {
            candidates.insert(0, 0);
        }
        let Some(&lowest) = candidates.first() else {
            // Commit 0 is there but the log has a hole and no checkpoint above it: publish what
            // the source can read, up to the hole, where the run stops with the gap.
            if min == 0 && commits.contains_key(&0) {
                return Ok(Start {
                    version: 0,
                    checkpoint: None,
                });
            }
            return Err(Error::NoStartingPoint {
                table: self.table_name(),
                reason: format!(
                    "the source log has no commit 0 and no complete checkpoint from version {min} on \
                     followed by contiguous commits (first commit {})",
                    commits
                        .keys()
                        .next()
                        .map_or("none".to_string(), u64::to_string)
                ),
            });
        };
        let available = self.available().await?;
        // Newest first, in batches read concurrently.
        let mut blocked: Option<(u64, String)> = None;
        let versions: Vec<u64> = (lowest..=latest).rev().collect();
        'scan: for batch in versions.chunks(self.concurrency.max(1)) {
            let read: Vec<(u64, LogContents)> = futures::stream::iter(
                batch
                    .iter()
                    .map(|v| async move { Ok::<_, Error>((*v, self.read_commit(*v).await?.1)) }),
            )
            .buffered(self.concurrency.max(1))
            .try_collect()
            .await?;
            for (v, contents) in read {
                if let Some(f) = contents.files.iter().find(|f| !available.has(f)) {
                    blocked = Some((v, self.src(&f.rel).key));
                    break 'scan;
                }
            }
        }
        let mut failed = blocked.clone();
        for c in candidates {
            if let Some((m, _)) = &blocked
                && c < *m
            {
                continue;
            }
            let sets = checkpoints.get(&c).cloned().unwrap_or_default();
            if sets.is_empty() {
                // Version 0 without a checkpoint: its live files are its commit's, all there.
                if blocked.is_none() {
                    return Ok(Start {
                        version: 0,
                        checkpoint: None,
                    });
                }
                continue;
            }
            for set in sets.into_iter().filter(CheckpointSet::is_complete) {
                let contents = match self.source_log().checkpoint_contents(&set, c).await {
                    Ok(contents) => contents,
                    // An unreadable checkpoint is no start; an older or newer one may be.
                    Err(Error::InvalidLogFile { key, .. }) => {
                        failed = Some((c, key));
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                match contents.contents.files.iter().find(|f| !available.has(f)) {
                    None => {
                        return Ok(Start {
                            version: c,
                            checkpoint: Some((set, contents)),
                        });
                    }
                    Some(f) => failed = Some((c, self.src(&f.rel).key)),
                }
            }
        }
        let (version, key) = failed.unwrap_or((lowest, String::new()));
        Err(Error::NoReadableVersion {
            table: self.table_name(),
            version,
            key,
        })
    }

    /// Publishes a start: the checkpoint's files, its sidecars, the checkpoint, then its
    /// commit. Returns the next version to publish.
    async fn publish_start(
        &self,
        src: &LogListing,
        start: Start,
        dst: &mut LogListing,
        report: &mut TableReport,
    ) -> Result<u64> {
        let meta = src
            .commits()
            .get(&start.version)
            .map(|m| (*m).clone())
            .unwrap_or_default();
        if let Some((set, contents)) = &start.checkpoint {
            self.check_self_contained(start.version, &contents.contents)?;
            let data: Vec<FileRef> = contents.contents.files.iter().cloned().collect();
            report.files_copied += self.ensure_files(start.version, &data).await?;
            report.log_files_copied += self.ensure_files(start.version, &contents.sidecars).await?;
            let names: Vec<(String, Option<u64>)> = set
                .files()
                .into_iter()
                .map(|(n, s)| (n.to_string(), Some(s)))
                .collect();
            self.copy_log_files(&names, dst, report).await?;
        }
        self.publish_commit(start.version, &meta, dst, report)
            .await?;
        if let Some((_, contents)) = &start.checkpoint {
            // What the checkpoint holds (every app id's transaction, the table's identity).
            self.record(&contents.contents, start.version, report)
                .await?;
        }
        Ok(start.version + 1)
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

    /// Reads and parses source commit `version`.
    async fn read_commit(&self, version: u64) -> Result<(GetResult, LogContents)> {
        let src_url = self.src(&delta::commit_name(version));
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
        Ok((got, contents))
    }

    /// Files, commit: the one place a commit becomes visible in DR.
    async fn publish_commit(
        &self,
        version: u64,
        meta: &ObjectMeta,
        dst: &mut LogListing,
        report: &mut TableReport,
    ) -> Result<()> {
        let (got, mut contents) = self.read_commit(version).await?;
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
        let described = LogContents {
            txns: std::mem::take(&mut contents.txns),
            metadata_id: contents.metadata_id.take(),
            ..LogContents::default()
        };
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
        dst.insert(
            &format!("{version:020}.json"),
            ObjectMeta {
                key: dst_url.key,
                ..ObjectMeta::default()
            },
        );
        report.dr_version = Some(version);
        self.record(&described, version, report).await
    }

    /// Tells the index what a version now in DR says (its identity, its app transactions).
    async fn record(
        &self,
        described: &LogContents,
        version: u64,
        report: &mut TableReport,
    ) -> Result<()> {
        if described.txns.is_empty() && described.metadata_id.is_none() {
            return Ok(());
        }
        let woken =
            crate::index::record_published(self.stores, self.rule, self.table, described, version)
                .await?;
        report.wake.extend(woken);
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

    /// Copies log files (by name under `_delta_log/`, with their size when known) in the
    /// given order, skipping those in DR.
    async fn copy_log_files(
        &self,
        names: &[(String, Option<u64>)],
        dst: &mut LogListing,
        report: &mut TableReport,
    ) -> Result<()> {
        for (name, size) in names {
            if dst.has(name) {
                continue;
            }
            let rel = format!("{LOG_DIR}{name}");
            let (src_url, dst_url) = (self.src(&rel), self.dst(&rel));
            let source = CopySource {
                size: *size,
                ..CopySource::latest(src_url.clone())
            };
            match self.stores.copy(&source, &dst_url).await {
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
            dst.insert(
                name,
                ObjectMeta {
                    key: dst_url.key,
                    size: size.unwrap_or_default(),
                    ..ObjectMeta::default()
                },
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
        // The listings hold versions from `from` on: a compaction reaching below it is left
        // to the next full listing (sync).
        let from = dst.from.unwrap_or(0);
        let mut names: Vec<(String, Option<u64>)> = Vec::new();
        for (name, (f, meta)) in &src.files {
            let publish = match f {
                // A checksum or a compaction is published only beside the commits it describes:
                // the DR log may skip versions the source cleaned up before they were copied.
                LogFile::Crc(v) => dst_commits.contains(v),
                LogFile::Compacted { start, end } => {
                    *start >= from && (*start..=*end).all(|v| dst_commits.contains(&v))
                }
                // In version order, above.
                LogFile::Commit(_) => false,
                // By sets, below, then `_last_checkpoint`.
                LogFile::Checkpoint { .. } | LogFile::LastCheckpoint => false,
                // With the checkpoint whose content names them.
                LogFile::Sidecar => false,
                // Never part of a snapshot; copied (or not) by the replicator as plain objects.
                LogFile::Temporary | LogFile::Unknown => false,
            };
            if publish && !dst.has(name) {
                names.push((name.clone(), Some(meta.size)));
            }
        }
        self.copy_log_files(&names, dst, report).await?;

        let source_log = self.source_log();
        for (version, sets) in src.checkpoints() {
            if !dst_commits.contains(&version) {
                continue;
            }
            'sets: for set in sets {
                if !set.is_complete() || set.files().iter().all(|(n, _)| dst.has(n)) {
                    continue;
                }
                // Sidecars first, then the files that name them, whatever they are called.
                let mut sidecars = Vec::new();
                for (name, size) in set.files() {
                    match source_log.checkpoint_sidecars(name, size, version).await {
                        Ok(s) => sidecars.extend(s),
                        Err(
                            e @ (Error::InvalidLogFile { .. } | Error::MissingSourceFile { .. }),
                        ) => {
                            report.warnings.push(format!(
                                "checkpoint {version}: {e}; checkpoint not published"
                            ));
                            continue 'sets;
                        }
                        Err(e) => return Err(e),
                    }
                }
                let sidecars: Vec<(String, Option<u64>)> = sidecars
                    .into_iter()
                    .map(|s| (s.rel.trim_start_matches(LOG_DIR).to_string(), s.size))
                    .collect();
                match self.copy_log_files(&sidecars, dst, report).await {
                    Ok(()) => {}
                    Err(Error::MissingSourceFile { key, .. }) => {
                        report.warnings.push(format!(
                            "checkpoint {version}: sidecar {key} is not at the source yet; checkpoint not published"
                        ));
                        continue;
                    }
                    Err(e) => return Err(e),
                }
                let files: Vec<(String, Option<u64>)> = set
                    .files()
                    .into_iter()
                    .map(|(n, s)| (n.to_string(), Some(s)))
                    .collect();
                self.copy_log_files(&files, dst, report).await?;
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
        let Some(src_meta) = src.meta(LAST_CHECKPOINT) else {
            return Ok(());
        };
        let dr_meta = dst.meta(LAST_CHECKPOINT);
        // DR's copy holds the source's bytes: equal entity tags, nothing to read.
        if let Some(m) = dr_meta
            && m.etag.is_some()
            && m.etag == src_meta.etag
        {
            return Ok(());
        }
        let got = self
            .stores
            .get(&self.source_log().url(LAST_CHECKPOINT))
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
        let dst_url = self.dr_log().url(LAST_CHECKPOINT);
        let mode = match dr_meta {
            Some(_) => {
                let current = self.stores.get(&dst_url).await?;
                if last_checkpoint_version(&current.body).is_some_and(|v| v >= version) {
                    return Ok(()); // never backwards
                }
                match current.meta.etag {
                    Some(etag) => PutMode::IfMatch(etag),
                    None => PutMode::Overwrite,
                }
            }
            None => PutMode::IfAbsent,
        };
        let opts = PutOptions {
            mode,
            content_type: got.content_type,
            metadata: got.metadata,
        };
        match self.stores.put(&dst_url, got.body, &opts).await {
            Ok(_) => {
                report.log_files_copied += 1;
                if let Some(h) = self.hints {
                    h.set(&self.dst(""), Some(version));
                }
                Ok(())
            }
            // Another run moved it meanwhile; the next run compares again.
            Err(Error::PreconditionFailed { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// What stops this table from advancing, if anything: the error the next run would meet,
    /// found by reading only (verify's question "can DR catch up, or is it stuck?").
    pub async fn blocked(&self, src: &LogListing, dst: &LogListing) -> Result<Option<Error>> {
        let src_commits = src.commits();
        let Some(&latest) = src_commits.keys().next_back() else {
            return Ok(None);
        };
        let outcome = match dst.latest() {
            Some(d) if d >= latest => return Ok(None),
            Some(d) => self.next_step_possible(src, &src_commits, d + 1).await,
            None => match self.find_start(src, 0).await {
                // Version 0 of a log with a hole is not checked by the search: check it here.
                Ok(Start {
                    version,
                    checkpoint: None,
                }) => self.next_step_possible(src, &src_commits, version).await,
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            },
        };
        match outcome {
            Ok(()) => Ok(None),
            Err(e) if e.is_retryable() => Err(e),
            Err(e) => Ok(Some(e)),
        }
    }

    /// Whether commit `next` can be published, or else a later start found, as a run would.
    async fn next_step_possible(
        &self,
        src: &LogListing,
        src_commits: &BTreeMap<u64, &ObjectMeta>,
        next: u64,
    ) -> Result<()> {
        let check = match src_commits.get(&next) {
            Some(_) => self.check_commit(next).await,
            None => Err(self.missing_commit(src_commits, next)),
        };
        match check {
            Ok(()) => Ok(()),
            Err(e) if e.is_retryable() => Err(e),
            Err(cause) => self.restart(src, next, cause).await.map(|_| ()),
        }
    }

    /// The checks [`Self::publish_commit`] makes before it writes: the commit parses, stays
    /// inside the table, and every file it needs is in DR or at the source.
    async fn check_commit(&self, version: u64) -> Result<()> {
        let (_, contents) = self.read_commit(version).await?;
        self.check_self_contained(version, &contents)?;
        for f in &contents.files {
            if let Some(m) = self.stores.head(&self.dst(&f.rel)).await?
                && f.size.is_none_or(|s| s == m.size)
            {
                continue;
            }
            if self.stores.head(&self.src(&f.rel)).await?.is_none() {
                return Err(Error::MissingSourceFile {
                    table: self.table_name(),
                    version,
                    key: self.src(&f.rel).key,
                });
            }
        }
        Ok(())
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
            hints: None,
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

    /// A `remove` action line.
    fn remove(f: &str) -> String {
        format!("{{\"remove\":{{\"path\":\"{f}\",\"deletionTimestamp\":0,\"dataChange\":true}}}}\n")
    }

    const META: &str = r#"{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}
{"metaData":{"id":"t","format":{"provider":"parquet","options":{}},"schemaString":"{\"type\":\"struct\",\"fields\":[]}","partitionColumns":[],"configuration":{},"createdTime":0}}
"#;

    /// Commit `v` of a table under `dir`: `body` (actions), plus the data files it adds.
    fn commit(dir: &Path, v: u64, adds: &[&str], removes: &[&str]) {
        let mut body = if v == 0 {
            META.to_string()
        } else {
            String::new()
        };
        for f in adds {
            write(dir, f, "x");
            body.push_str(&add(f));
        }
        for f in removes {
            body.push_str(&remove(f));
        }
        write(dir, &format!("_delta_log/{v:020}.json"), &body);
    }

    /// A V2 (UUID-named JSON) checkpoint at `v` listing `live`.
    fn checkpoint(dir: &Path, v: u64, live: &[&str]) {
        let body = format!(
            "{META}{{\"checkpointMetadata\":{{\"version\":{v}}}}}\n{}",
            live.iter().map(|f| add(f)).collect::<String>()
        );
        write(
            dir,
            &format!("_delta_log/{v:020}.checkpoint.3a0d65cd-4056-49b8-937b-95f9e3ee90e5.json"),
            &body,
        );
    }

    fn dr_commits(dr: &Path) -> Vec<u64> {
        let mut v: Vec<u64> = std::fs::read_dir(dr.join("_delta_log"))
            .map(|d| {
                d.filter_map(
                    |e| match LogFile::parse(&e.unwrap().file_name().to_string_lossy()) {
                        LogFile::Commit(c) => Some(c),
                        _ => None,
                    },
                )
                .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Twelve appends, an optimize that rewrites them into one file, a checkpoint, then a
    /// vacuum of everything the latest version does not need, then one more append.
    fn vacuumed_table(dir: &Path, checkpoint_at: u64) {
        let small: Vec<String> = (0..12).map(|i| format!("d{i}")).collect();
        for (i, f) in small.iter().enumerate() {
            commit(dir, i as u64, &[f.as_str()], &[]);
        }
        let olds: Vec<&str> = small.iter().map(String::as_str).collect();
        commit(dir, 12, &["big"], &olds);
        if checkpoint_at == 12 {
            checkpoint(dir, 12, &["big"]);
        } else {
            checkpoint(dir, checkpoint_at, &olds[..=checkpoint_at as usize]);
        }
        commit(dir, 13, &["d13"], &[]);
        for f in &small {
            std::fs::remove_file(dir.join(f)).unwrap();
        }
    }

    #[tokio::test]
    async fn a_vacuumed_table_starts_at_its_oldest_readable_checkpoint() {
        let (src, dr) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        vacuumed_table(src.path(), 12);
        let r = rule(src.path(), dr.path());
        let report = run(&r).await.unwrap();
        assert_eq!(report.dr_version, Some(13), "{report:?}");
        assert_eq!(
            dr_commits(dr.path()),
            vec![12, 13],
            "versions 0..11 cannot be read at the source"
        );
        assert!(dr.path().join("big").exists() && dr.path().join("d13").exists());
        assert!(
            report.warnings.iter().any(|w| w.contains("checkpoint 12")),
            "{report:?}"
        );
        let v = verify_table(&Stores::new(None), &r, "").await.unwrap();
        assert!(v.ok(), "{v:?}");
        assert_eq!(run(&r).await.unwrap().commits_published, 0);
    }

    #[tokio::test]
    async fn full_history_is_kept_where_the_source_can_still_read_it() {
        // Nothing vacuumed: DR starts at 0 although a checkpoint exists.
        let (src, dr) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        for v in 0..6 {
            commit(src.path(), v, &[&format!("d{v}")], &[]);
        }
        checkpoint(src.path(), 4, &["d0", "d1", "d2", "d3", "d4"]);
        let r = rule(src.path(), dr.path());
        run(&r).await.unwrap();
        assert_eq!(dr_commits(dr.path()), (0..6).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_table_with_no_readable_checkpoint_publishes_nothing_until_one_arrives() {
        // The checkpoint predates the optimize: its live files are the vacuumed ones.
        let (src, dr) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        vacuumed_table(src.path(), 5);
        let r = rule(src.path(), dr.path());
        let err = run(&r).await.unwrap_err();
        assert!(matches!(err, Error::NoReadableVersion { .. }), "{err}");
        assert_eq!(err.disposition(), crate::error::Disposition::DeadLetter);
        assert!(err.to_string().contains("d"), "{err}");
        assert!(
            dr_commits(dr.path()).is_empty(),
            "no version whose live files are missing"
        );
        let v = verify_table(&Stores::new(None), &r, "").await.unwrap();
        assert!(!v.ok(), "{v:?}");
        assert!(v.problems.is_empty(), "DR is consistent: {v:?}");
        assert!(
            v.blocked
                .as_deref()
                .is_some_and(|b| b.contains("no version from")),
            "{v:?}"
        );
        // The writer's next checkpoint is a start.
        checkpoint(src.path(), 13, &["big", "d13"]);
        assert_eq!(run(&r).await.unwrap().dr_version, Some(13));
        assert_eq!(dr_commits(dr.path()), vec![13]);
        assert!(verify_table(&Stores::new(None), &r, "").await.unwrap().ok());
    }

    #[tokio::test]
    async fn dr_continues_past_versions_vacuumed_before_they_were_replicated() {
        let (src, dr) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        for v in 0..3 {
            commit(src.path(), v, &[&format!("d{v}")], &[]);
        }
        let r = rule(src.path(), dr.path());
        run(&r).await.unwrap();
        // d3 is added, rewritten into d4, and vacuumed before DR sees version 3.
        commit(src.path(), 3, &["d3"], &[]);
        commit(src.path(), 4, &["d4"], &["d3"]);
        commit(src.path(), 5, &["d5"], &[]);
        checkpoint(src.path(), 5, &["d0", "d1", "d2", "d4", "d5"]);
        commit(src.path(), 6, &["d6"], &[]);
        std::fs::remove_file(src.path().join("d3")).unwrap();
        let blocked_before = {
            let stores = Stores::new(None);
            let sync = TableSync {
                stores: &stores,
                rule: &r,
                table: "",
                concurrency: 2,
                deadline: None,
                hints: None,
            };
            let (s, d) = (
                sync.source_log().list_full().await.unwrap(),
                sync.dr_log().list_full().await.unwrap(),
            );
            sync.blocked(&s, &d).await.unwrap()
        };
        assert!(
            blocked_before.is_none(),
            "a later checkpoint is a way on: {blocked_before:?}"
        );
        let report = run(&r).await.unwrap();
        assert_eq!(dr_commits(dr.path()), vec![0, 1, 2, 5, 6], "{report:?}");
        assert!(
            report.warnings.iter().any(|w| w.contains("versions 3..4")),
            "{report:?}"
        );
        let v = verify_table(&Stores::new(None), &r, "").await.unwrap();
        assert!(v.ok(), "{v:?}");
        // Without a later checkpoint the table stops at its last consistent version.
        let (src2, dr2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        for v in 0..3 {
            commit(src2.path(), v, &[&format!("d{v}")], &[]);
        }
        let r2 = rule(src2.path(), dr2.path());
        run(&r2).await.unwrap();
        commit(src2.path(), 3, &["d3"], &[]);
        commit(src2.path(), 4, &["d4"], &[]);
        std::fs::remove_file(src2.path().join("d3")).unwrap();
        let err = run(&r2).await.unwrap_err();
        assert!(
            matches!(&err, Error::NoReadableVersion { version: 3, key, .. } if key.ends_with("d3")),
            "{err}"
        );
        assert_eq!(dr_commits(dr2.path()), vec![0, 1, 2]);
    }

    /// The local store, recording what is written in which order and how many keys listings
    /// return.
    #[derive(Debug, Default)]
    struct Recording {
        writes: std::sync::Mutex<Vec<String>>,
        listed: std::sync::atomic::AtomicU64,
    }

    #[async_trait::async_trait]
    impl crate::store::ObjectStore for Recording {
        fn scheme(&self) -> crate::store::Scheme {
            crate::store::Scheme::Local
        }
        async fn list(&self, prefix: &ObjectUrl) -> Result<Vec<ObjectMeta>> {
            let got = crate::store::LocalStore.list(prefix).await?;
            self.listed
                .fetch_add(got.len() as u64, std::sync::atomic::Ordering::Relaxed);
            Ok(got)
        }
        async fn list_dir(
            &self,
            prefix: &ObjectUrl,
            after: Option<&str>,
        ) -> Result<Vec<ObjectMeta>> {
            let got = crate::store::LocalStore.list_dir(prefix, after).await?;
            self.listed
                .fetch_add(got.len() as u64, std::sync::atomic::Ordering::Relaxed);
            Ok(got)
        }
        async fn head(&self, url: &ObjectUrl) -> Result<Option<ObjectMeta>> {
            crate::store::LocalStore.head(url).await
        }
        async fn get(&self, url: &ObjectUrl, v: Option<&str>) -> Result<GetResult> {
            crate::store::LocalStore.get(url, v).await
        }
        async fn get_range(
            &self,
            url: &ObjectUrl,
            r: std::ops::Range<u64>,
        ) -> Result<bytes::Bytes> {
            crate::store::LocalStore.get_range(url, r).await
        }
        async fn put(
            &self,
            url: &ObjectUrl,
            body: bytes::Bytes,
            o: &PutOptions,
        ) -> Result<ObjectMeta> {
            self.writes.lock().unwrap().push(url.key.clone());
            crate::store::LocalStore.put(url, body, o).await
        }
        async fn copy(&self, src: &CopySource, dst: &ObjectUrl) -> Result<()> {
            crate::store::LocalStore.copy(src, dst).await?;
            self.writes.lock().unwrap().push(dst.key.clone());
            Ok(())
        }
        async fn delete(&self, url: &ObjectUrl) -> Result<()> {
            crate::store::LocalStore.delete(url).await
        }
    }

    async fn run_on(store: &std::sync::Arc<Recording>, rule: &Rule) -> Result<TableReport> {
        let stores = Stores::with_adapters(store.clone(), None);
        TableSync {
            stores: &stores,
            rule,
            table: "",
            concurrency: 4,
            deadline: None,
            hints: None,
        }
        .run()
        .await
    }

    #[tokio::test]
    async fn a_classic_named_v2_checkpoint_is_published_after_its_sidecars() {
        // A real V2 checkpoint with sidecars (written by Spark), under the classic name the
        // protocol also allows for V2 content.
        let src = tempfile::tempdir().unwrap();
        let dr = tempfile::tempdir().unwrap();
        let from = fixture("krs-v2-checkpoints-parquet-with-sidecars");
        for e in std::fs::read_dir(&from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_file() {
                std::fs::copy(e.path(), src.path().join(e.file_name())).unwrap();
            }
        }
        let log = src.path().join("_delta_log");
        std::fs::create_dir_all(log.join("_sidecars")).unwrap();
        for e in std::fs::read_dir(from.join("_delta_log/_sidecars")).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), log.join("_sidecars").join(e.file_name())).unwrap();
        }
        for e in std::fs::read_dir(from.join("_delta_log")).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            if !e.file_type().unwrap().is_file() || name == "_last_checkpoint" {
                continue;
            }
            let to = match LogFile::parse(&name) {
                LogFile::Checkpoint { version, .. } => format!("{version:020}.checkpoint.parquet"),
                _ => name,
            };
            std::fs::copy(e.path(), log.join(to)).unwrap();
        }
        write(
            src.path(),
            "_delta_log/_last_checkpoint",
            "{\"version\":6,\"size\":3}",
        );
        let r = rule(src.path(), dr.path());
        let store = std::sync::Arc::new(Recording::default());
        run_on(&store, &r).await.unwrap();
        let writes = store.writes.lock().unwrap().clone();
        let pos = |k: &str| writes.iter().position(|w| w.ends_with(k));
        let cp6 = pos("00000000000000000006.checkpoint.parquet").expect("checkpoint 6 published");
        let stores = Stores::new(None);
        let t = crate::tablelog::TableLog::new(&stores, r.src_url(""), "t".into());
        let size = std::fs::metadata(log.join("00000000000000000006.checkpoint.parquet"))
            .unwrap()
            .len();
        let sidecars = t
            .checkpoint_sidecars("00000000000000000006.checkpoint.parquet", size, 6)
            .await
            .unwrap();
        assert!(!sidecars.is_empty());
        for sc in &sidecars {
            let at = pos(&sc.rel).unwrap_or_else(|| panic!("{} not copied", sc.rel));
            assert!(
                at < cp6,
                "{} copied after the checkpoint that names it",
                sc.rel
            );
        }
        let lc = pos("_last_checkpoint").expect("_last_checkpoint published");
        assert!(lc > cp6);
        let v = verify_table(&stores, &r, "").await.unwrap();
        assert!(v.ok(), "{v:?}");
    }

    #[tokio::test]
    async fn a_commit_costs_the_same_in_a_long_log() {
        // 300 commits, a checkpoint at 290: once DR has it, a run lists from there.
        let (src, dr) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        for v in 0..300 {
            commit(src.path(), v, &[&format!("d{v}")], &[]);
        }
        let live: Vec<String> = (0..=290).map(|v| format!("d{v}")).collect();
        checkpoint(
            src.path(),
            290,
            &live.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        write(
            src.path(),
            "_delta_log/_last_checkpoint",
            "{\"version\":290,\"size\":293}",
        );
        let r = rule(src.path(), dr.path());
        let store = std::sync::Arc::new(Recording::default());
        run_on(&store, &r).await.unwrap();
        let (store, src, r) = (&store, &src, &r);
        let per_run = |n: u64| async move {
            let before = store.listed.load(std::sync::atomic::Ordering::Relaxed);
            commit(src.path(), n, &[&format!("d{n}")], &[]);
            let report = run_on(store, r).await.unwrap();
            assert_eq!(report.dr_version, Some(n));
            store.listed.load(std::sync::atomic::Ordering::Relaxed) - before
        };
        let first = per_run(300).await;
        let second = per_run(301).await;
        // Both logs from version 290 on: about 2 x 13 names, whatever the length of the log.
        assert!(
            first < 40 && second < 40,
            "keys listed per run: {first}, {second}"
        );
        assert!(second <= first + 2, "{first} -> {second}");
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
    async fn a_cleaned_log_whose_checkpoint_has_not_arrived_yet_is_deferred_not_torn() {
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
            matches!(err, Error::NoStartingPoint { .. })
                && err.disposition() == crate::error::Disposition::Defer,
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
