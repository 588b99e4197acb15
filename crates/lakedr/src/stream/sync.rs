//! The ordered stage of a streaming checkpoint: bring its DR copy up to date without it ever
//! being ahead of what a restart from DR needs.
//!
//! For each batch N, in ascending order, from the one after DR's newest `commits/N`:
//!
//! 1. `metadata` first (a checkpoint without it restarts as a new query, with a new id);
//! 2. the source logs of batches up to N, every state file that loads state version N + 1
//!    ([`super::state`]), the operators' metadata and schemas, and `offsets/N - 1` (a restart
//!    reads it beside the newest);
//! 3. then `offsets/N`, then `commits/N`, and only when:
//!    * every Delta table the batch reads (by `reservoirId` in `offsets/N`) has, in DR, the
//!      version the batch read (see [`super::Offsets::delta_sources`]);
//!    * every DR table written with the query's app id (its Delta sink: found in the index the
//!      table stage keeps, or declared in `[[stream]]`) has a `txn` of version >= N;
//!    * a declared file sink has `_spark_metadata/N` in DR.
//!
//! A batch whose gate is not open is left for later: the run stops there, says what it waits
//! for, and (for a sink) registers itself to be run again when the sink publishes. A batch whose
//! files are gone at the source (purged) is skipped when a later batch can be published whole.
//! The latest uncommitted `offsets/N + 1` is not copied: a restart from DR plans it afresh.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

use super::state::{self, Need, StateFile, StoreDir};
use super::{Commit, Offsets, StreamFile};
use crate::config::{Config, Rule, StreamDecl};
use crate::error::{Error, Result};
use crate::index::{self, WaitEntry};
use crate::store::{CopySource, ObjectMeta, ObjectUrl, Stores, same_object};
use crate::tablelog::{LAST_CHECKPOINT, TableLog, last_checkpoint_version};
use crate::verify::TableVerdict;

/// What one run did to one checkpoint.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct StreamReport {
    /// Checkpoint root relative to the rule source.
    pub checkpoint: String,
    pub rule: String,
    pub query_id: Option<String>,
    /// Newest `commits/N` at the source and in DR (before and after the run).
    pub source_batch: Option<u64>,
    pub dr_batch_before: Option<u64>,
    pub dr_batch: Option<u64>,
    pub batches_published: u64,
    pub files_copied: u64,
    /// What the next batch waits for, when it waits.
    pub waiting: Option<String>,
    pub complete: bool,
    pub warnings: Vec<String>,
    /// Checkpoints to run again (the table stage wakes the ones waiting for it).
    #[serde(skip)]
    pub wake: Vec<WaitEntry>,
}

/// One checkpoint of one rule.
#[derive(Debug)]
pub struct StreamSync<'a> {
    pub stores: &'a Stores,
    /// Every rule (sinks and sources may be under other rules), and the declared streams.
    pub config: &'a Config,
    pub rule: &'a Rule,
    /// Checkpoint root relative to the rule source, `""` or ending in `/`.
    pub root: &'a str,
    pub concurrency: usize,
    pub deadline: Option<Instant>,
    /// Look only: register no wait with a sink (verify).
    pub readonly: bool,
}

/// The checkpoint's files, by name relative to its root.
type Listing = BTreeMap<String, ObjectMeta>;

/// The outcome of the gates and files of one batch.
enum Batch {
    /// Everything it needs: `first` (the files a RocksDB snapshot `.zip` lists, which must be
    /// in DR before the zip that names them), then `files`; the logs go last.
    Ready {
        first: Vec<String>,
        files: Vec<String>,
    },
    /// A gate is not open yet.
    Waiting(String),
    /// A file it needs is gone at the source.
    Missing(String),
}

impl StreamSync<'_> {
    fn src(&self, rel: &str) -> ObjectUrl {
        self.rule.src_url(&format!("{}{rel}", self.root))
    }

    fn dst(&self, rel: &str) -> ObjectUrl {
        self.rule.dr_url(&format!("{}{rel}", self.root))
    }

    fn name(&self) -> String {
        self.src("").to_string()
    }

    async fn listing(&self, root: ObjectUrl) -> Result<Listing> {
        Ok(self
            .stores
            .list(&root)
            .await?
            .into_iter()
            .map(|m| (m.key[root.key.len()..].to_string(), m))
            .collect())
    }

    /// The batches with a `commits/N` (or, `commits: false`, an `offsets/N`).
    fn batches(l: &Listing, commits: bool) -> BTreeSet<u64> {
        l.keys()
            .filter_map(|k| match super::split(k)? {
                ("", StreamFile::Commit(n)) if commits => Some(n),
                ("", StreamFile::Offsets(n)) if !commits => Some(n),
                _ => None,
            })
            .collect()
    }

    /// The declaration of this checkpoint in `[[stream]]`, if any.
    fn declared(&self) -> Option<&StreamDecl> {
        let me = self.src("");
        self.config.streams.iter().find(|s| s.checkpoint == me)
    }

    async fn get(&self, rel: &str, batch: u64) -> Result<bytes::Bytes> {
        match self.stores.get(&self.src(rel)).await {
            Ok(g) => Ok(g.body),
            Err(Error::NotFound { .. }) => Err(Error::MissingSourceFile {
                table: self.name(),
                version: batch,
                key: self.src(rel).key,
            }),
            Err(e) => Err(e),
        }
    }

    fn invalid(&self, rel: &str, batch: u64, message: String) -> Error {
        Error::InvalidLogFile {
            table: self.name(),
            version: batch,
            key: self.src(rel).key,
            message,
        }
    }

    /// Runs the ordered publication of the checkpoint.
    pub async fn run(&self) -> Result<StreamReport> {
        let mut report = StreamReport {
            checkpoint: self.root.to_string(),
            rule: self.rule.name.clone(),
            complete: true,
            ..StreamReport::default()
        };
        let src = self.listing(self.src("")).await?;
        let mut dst = self.listing(self.dst("")).await?;
        let commits = Self::batches(&src, true);
        let dr_commits = Self::batches(&dst, true);
        report.source_batch = commits.last().copied();
        report.dr_batch_before = dr_commits.last().copied();
        report.dr_batch = report.dr_batch_before;
        let Some(meta) = src.get("metadata") else {
            return self.not_a_checkpoint(&src, &mut dst, report).await;
        };
        let query = match super::query_id(&self.get("metadata", 0).await?) {
            Ok(q) => q,
            // A file named `metadata` that is not a query's, with no log beside it.
            Err(_) if commits.is_empty() && Self::batches(&src, false).is_empty() => {
                return self.not_a_checkpoint(&src, &mut dst, report).await;
            }
            Err(m) => return Err(self.invalid("metadata", 0, m)),
        };
        report.query_id = Some(query.clone());
        match dst.get("metadata") {
            None => {
                self.copy("metadata", meta.size, &mut dst).await?;
                report.files_copied += 1;
                report.files_copied += self
                    .ensure(&crcs(&["metadata"], &src), &src, &mut dst)
                    .await?;
            }
            Some(d) if !same_object(meta, d) => {
                // A checkpoint deleted and started again under the same path: DR keeps the old
                // query's, which a restart would mistake for the new one.
                return Err(Error::Diverged {
                    table: self.name(),
                    version: 0,
                    key: self.dst("metadata").key,
                });
            }
            Some(_) => {}
        }
        let Some(&latest) = commits.last() else {
            return Ok(report);
        };
        let from = match dr_commits.last() {
            Some(d) => d + 1,
            None => *commits.first().unwrap_or(&0),
        };
        let mut parsed: BTreeMap<u64, Commit> = BTreeMap::new();
        for n in commits.range(from..).copied() {
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                report.complete = false;
                break;
            }
            match self
                .batch(n, &query, &src, &dst, &mut parsed, &mut report)
                .await?
            {
                Batch::Ready { first, files } => {
                    // A zip in DR whose SSTs are not would be what a restart loads: the SSTs
                    // first, whatever happens to the run after them.
                    for pass in [&first, &files] {
                        report.files_copied += self.ensure(pass, &src, &mut dst).await?;
                        report.files_copied +=
                            self.ensure(&crcs(pass, &src), &src, &mut dst).await?;
                    }
                    for log in [format!("offsets/{n}"), format!("commits/{n}")] {
                        let size = src.get(&log).map(|m| m.size).unwrap_or_default();
                        match dst.get(&log) {
                            Some(d) if src.get(&log).is_some_and(|s| !same_object(s, d)) => {
                                return Err(Error::Diverged {
                                    table: self.name(),
                                    version: n,
                                    key: self.dst(&log).key,
                                });
                            }
                            Some(_) => {}
                            None => {
                                self.copy(&log, size, &mut dst).await?;
                                report.files_copied += 1;
                            }
                        }
                        // A checksum sibling after its file: never one without the other's bytes.
                        report.files_copied +=
                            self.ensure(&crcs(&[&log], &src), &src, &mut dst).await?;
                    }
                    report.batches_published += 1;
                    report.dr_batch = Some(n);
                    tracing::info!(checkpoint = %self.name(), batch = n, "published commit");
                }
                Batch::Waiting(why) => {
                    report.waiting = Some(why);
                    break;
                }
                Batch::Missing(key) if n < latest => {
                    report.warnings.push(format!(
                        "batch {n}: {key} is gone at the source; DR continues from a later batch"
                    ));
                }
                Batch::Missing(key) => {
                    return Err(Error::MissingSourceFile {
                        table: self.name(),
                        version: n,
                        key: self.src(&key).key,
                    });
                }
            }
        }
        Ok(report)
    }

    /// A root laid out like a checkpoint (a file named `metadata`, `offsets/<N>`,
    /// `state/<d>/<d>/...`) without a query's `metadata` at the source, which Spark writes
    /// before anything else: its files are ordinary objects, copied as they are. Unless one of
    /// its log entries is Spark's (`v<N>` on its first line): then it is a checkpoint whose
    /// `metadata` has not arrived yet (copied in from elsewhere), and nothing is copied before it.
    async fn not_a_checkpoint(
        &self,
        src: &Listing,
        dst: &mut Listing,
        mut report: StreamReport,
    ) -> Result<StreamReport> {
        if let Some(why) = self.log_without_metadata(src).await? {
            report.waiting = Some(why);
            return Ok(report);
        }
        let owned = self.owned(src);
        if owned.is_empty() {
            return Ok(report);
        }
        let copied = self.ensure(&owned, src, dst).await?;
        report.files_copied += copied;
        report.warnings.push(format!(
            "not a streaming checkpoint (no query metadata at the source): its {} files are \
             copied as plain objects ({copied} now)",
            owned.len()
        ));
        Ok(report)
    }

    /// A Spark log entry of a root without a query's `metadata`: what it waits for.
    async fn log_without_metadata(&self, src: &Listing) -> Result<Option<String>> {
        for k in self.owned(src) {
            if matches!(
                super::split(&k),
                Some(("", StreamFile::Offsets(_) | StreamFile::Commit(_)))
            ) && super::spark_log(&self.get(&k, 0).await?)
            {
                return Ok(Some(format!(
                    "{k} is a Spark log entry but metadata is not at the source yet"
                )));
            }
        }
        Ok(None)
    }

    /// The files of the listing that the classifier gives to this root.
    fn owned(&self, src: &Listing) -> Vec<String> {
        src.keys()
            .filter(
                |k| match crate::classify::classify(&format!("{}{k}", self.root)) {
                    crate::classify::KeyClass::Stream { root, .. }
                    | crate::classify::KeyClass::StreamBatchFile { root } => root == self.root,
                    _ => false,
                },
            )
            .cloned()
            .collect()
    }

    /// The first file that one of DR's snapshot `zips` lists and DR lacks, if any.
    async fn zip_files_in_dr(
        &self,
        dir: &StoreDir,
        zips: &[String],
        dst: &Listing,
    ) -> Result<Option<String>> {
        for zip in zips {
            let body = match self.stores.get(&self.dst(zip)).await {
                Ok(g) => g.body,
                Err(Error::NotFound { .. }) => return Ok(Some(zip.clone())),
                Err(e) => return Err(e),
            };
            let listed = match super::zip::entry(&body, "metadata")
                .and_then(|m| state::snapshot_files(&m))
            {
                Ok(l) => l,
                Err(m) => return Ok(Some(format!("a readable {zip} ({m})"))),
            };
            for f in listed {
                let k = format!("{}{f}", dir.prefix());
                if !dst.contains_key(&k) {
                    return Ok(Some(format!("{k} (listed by {zip})")));
                }
            }
        }
        Ok(None)
    }

    /// Whether a root holds a query's `metadata`.
    pub async fn is_checkpoint(stores: &Stores, root: &ObjectUrl) -> Result<bool> {
        match stores.get(&root.join("metadata")).await {
            Ok(g) => Ok(super::query_id(&g.body).is_ok()),
            Err(Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Invariant 3 on the DR copy: its newest `commits/N` has `offsets/N` (and `offsets/N - 1`),
    /// the state files that load version N + 1, the same `metadata` as the source, and is not
    /// ahead of the query's Delta sinks and sources in DR; plus the lag, and what the next batch
    /// waits for.
    pub async fn verify(&self) -> Result<TableVerdict> {
        let mut v = TableVerdict {
            unit: "stream".into(),
            rule: self.rule.name.clone(),
            table: self.root.to_string(),
            ..TableVerdict::default()
        };
        let src = self.listing(self.src("")).await?;
        let dst = self.listing(self.dst("")).await?;
        if !Self::is_checkpoint(self.stores, &self.src("")).await?
            && !Self::is_checkpoint(self.stores, &self.dst("")).await?
        {
            match self.log_without_metadata(&src).await? {
                Some(why) => v.blocked = Some(why),
                None => {
                    let missing = self
                        .owned(&src)
                        .into_iter()
                        .filter(|k| dst.get(k).is_none_or(|d| !same_object(&src[k], d)))
                        .count();
                    v.unit = "objects".into();
                    v.warnings.push(format!(
                        "not a streaming checkpoint (no query metadata at the source): its files \
                         are plain objects, {missing} not in DR yet"
                    ));
                }
            }
            return Ok(v);
        }
        let (commits, dr_commits) = (Self::batches(&src, true), Self::batches(&dst, true));
        v.source_version = commits.last().copied();
        v.dr_version = dr_commits.last().copied();
        v.lag_versions = match (v.source_version, v.dr_version) {
            (Some(s), Some(d)) => s.saturating_sub(d),
            (Some(s), None) => s + 1,
            _ => 0,
        };
        for n in &dr_commits {
            if !dst.contains_key(&format!("offsets/{n}")) {
                v.problems
                    .push(format!("commits/{n} is in DR without offsets/{n}"));
            }
        }
        if let Some(&d) = dr_commits.last() {
            match (src.get("metadata"), dst.get("metadata")) {
                (_, None) => v
                    .problems
                    .push(format!("commits/{d} is in DR without metadata")),
                (Some(s), Some(m)) if !same_object(s, m) => v
                    .problems
                    .push("metadata in DR is not the source's (another query id)".into()),
                _ => {}
            }
            if d > 0 && !dst.contains_key(&format!("offsets/{}", d - 1)) {
                v.problems.push(format!(
                    "commits/{d} is in DR without offsets/{}, which a restart reads",
                    d - 1
                ));
            }
            // What DR's own files load: the state of version d + 1, named by DR's own commits.
            let mut stores_of: BTreeMap<StoreDir, Vec<StateFile>> = BTreeMap::new();
            for k in dst.keys() {
                if let Some((dir, f)) = state::parse(k) {
                    stores_of.entry(dir).or_default().push(f);
                }
            }
            let mut parsed = BTreeMap::new();
            for (dir, files) in &stores_of {
                let r = loop {
                    match state::required(dir, files, d + 1, &parsed) {
                        Ok(r) => break Ok(r),
                        Err(Need::Commit(c)) => {
                            match self.stores.get(&self.dst(&format!("commits/{c}"))).await {
                                Ok(g) => match Commit::parse(&g.body) {
                                    Ok(commit) => {
                                        parsed.insert(c, commit);
                                    }
                                    Err(m) => break Err(format!("a readable commits/{c} ({m})")),
                                },
                                Err(Error::NotFound { .. }) => break Err(format!("commits/{c}")),
                                Err(e) => return Err(e),
                            }
                        }
                        Err(Need::Missing(k)) => break Err(k),
                    }
                };
                let r = match r {
                    // A snapshot zip loads only with the files its metadata lists.
                    Ok(req) => self.zip_files_in_dr(dir, &req.zips, &dst).await?,
                    Err(k) => Some(k),
                };
                if let Some(k) = r {
                    v.problems.push(format!(
                        "commits/{d} is in DR but {k}, which a restart after it needs, is not"
                    ));
                }
            }
            if let Some(q) = self.query_of(&dst, &src).await? {
                let mut none = StreamReport::default();
                if let Some(why) = self.sink_gate(d, &q, &mut none).await? {
                    v.problems
                        .push(format!("commits/{d} is ahead of its sink: {why}"));
                }
                v.warnings.extend(none.warnings);
            }
            if let Ok(g) = self.stores.get(&self.dst(&format!("offsets/{d}"))).await
                && let Ok(o) = Offsets::parse(&g.body)
            {
                for need in o.delta_sources() {
                    let at =
                        match index::table_with_id(self.stores, self.config, &need.reservoir_id)
                            .await?
                        {
                            Some(t) => match self.config.rule_named(&t.rule) {
                                Some(r) => dr_latest(self.stores, &r.dr_url(&t.table)).await?,
                                None => None,
                            },
                            None => None,
                        };
                    if at.is_none_or(|a| a < need.version) {
                        v.problems.push(format!(
                            "commits/{d} read version {} of the Delta table {}, which DR does not have",
                            need.version, need.reservoir_id
                        ));
                    }
                }
            }
        }
        // A file source's log names the primary's paths: a restart elsewhere fails.
        if let Some(k) = src.keys().rfind(|k| super::source_log_batch(k).is_some())
            && let Ok(g) = self.stores.get(&self.src(k)).await
            && String::from_utf8_lossy(&g.body).contains("\"path\":")
        {
            v.warnings.push(
                "not portable: a file source's log names the primary's paths (a restart from DR \
                 works only with the input at the same path); prefer Delta sources"
                    .into(),
            );
        }
        if v.lag_versions > 0 && v.problems.is_empty() {
            let next = v
                .dr_version
                .map_or(*commits.first().unwrap_or(&0), |d| d + 1);
            let mut parsed = BTreeMap::new();
            let mut scratch = StreamReport::default();
            let query = self.query_of(&dst, &src).await?.unwrap_or_default();
            v.blocked = match self
                .batch(next, &query, &src, &dst, &mut parsed, &mut scratch)
                .await
            {
                Ok(Batch::Ready { .. }) => None,
                Ok(Batch::Waiting(why)) => Some(why),
                Ok(Batch::Missing(k)) if Some(next) < v.source_version => Some(format!(
                    "batch {next}: {k} is gone at the source (a later batch may be published instead)"
                )),
                Ok(Batch::Missing(k)) => {
                    Some(format!("batch {next}: {k} is missing at the source"))
                }
                // Bad input stops the unit (the ordered stage dead-letters it): said, not thrown.
                Err(e) if !e.is_retryable() => Some(e.to_string()),
                Err(e) => return Err(e),
            };
        }
        Ok(v)
    }

    /// The query id: DR's `metadata` (what a restart from DR reads), else the source's.
    async fn query_of(&self, dst: &Listing, src: &Listing) -> Result<Option<String>> {
        for (listing, url) in [(dst, self.dst("metadata")), (src, self.src("metadata"))] {
            if listing.contains_key("metadata") {
                match self.stores.get(&url).await {
                    Ok(g) => {
                        if let Ok(q) = super::query_id(&g.body) {
                            return Ok(Some(q));
                        }
                    }
                    Err(Error::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(None)
    }

    /// The gates and files of batch `n` (`dst`: what DR holds).
    async fn batch(
        &self,
        n: u64,
        query: &str,
        src: &Listing,
        dst: &Listing,
        parsed: &mut BTreeMap<u64, Commit>,
        report: &mut StreamReport,
    ) -> Result<Batch> {
        let offsets_name = format!("offsets/{n}");
        if !src.contains_key(&offsets_name) {
            return Ok(Batch::Missing(offsets_name));
        }
        let offsets = Offsets::parse(&self.get(&offsets_name, n).await?)
            .map_err(|m| self.invalid(&offsets_name, n, m))?;
        // The Delta tables it read: in DR at the version it read.
        for need in offsets.delta_sources() {
            let Some(t) =
                index::table_with_id(self.stores, self.config, &need.reservoir_id).await?
            else {
                return Ok(Batch::Waiting(format!(
                    "batch {n} reads the Delta table with id {}, which is not in DR yet",
                    need.reservoir_id
                )));
            };
            let Some(rule) = self.config.rule_named(&t.rule) else {
                return Ok(Batch::Waiting(format!(
                    "batch {n} reads the Delta table with id {}, indexed under the rule `{}`, \
                     which is not configured",
                    need.reservoir_id, t.rule
                )));
            };
            let at = dr_latest(self.stores, &rule.dr_url(&t.table)).await?;
            if at.is_none_or(|v| v < need.version) {
                return Ok(Batch::Waiting(format!(
                    "batch {n} read version {} of {}, which DR has up to {}",
                    need.version,
                    rule.src_url(&t.table),
                    at.map_or("no version".into(), |v| format!("version {v}"))
                )));
            }
        }
        if let Some(why) = self.sink_gate(n, query, report).await? {
            return Ok(Batch::Waiting(why));
        }
        if let Some(why) = self.file_sink_gate(n).await? {
            return Ok(Batch::Waiting(why));
        }
        // The files a restart after batch n needs (`first`: those a zip names).
        let mut files: Vec<String> = Vec::new();
        let mut first: Vec<String> = Vec::new();
        let mut stores_of: BTreeMap<StoreDir, Vec<StateFile>> = BTreeMap::new();
        // A file source's log up to the entry the batch read (later ones are later batches'),
        // which must still be there; other sources' logs (a Kafka source's initial offsets) up
        // to the batch.
        let file_logs = offsets.file_source_logs();
        for (i, k) in &file_logs {
            let entry = [
                format!("sources/{i}/{k}"),
                format!("sources/{i}/{k}.compact"),
            ];
            if !entry
                .iter()
                .any(|e| src.contains_key(e) || dst.contains_key(e))
            {
                return Ok(Batch::Missing(entry[0].clone()));
            }
        }
        for k in src.keys() {
            if let Some((i, b)) = super::source_log_entry(k)
                && b <= file_logs.get(&i).copied().unwrap_or(n)
            {
                files.push(k.clone());
            }
            // The operators' metadata and the stores' schemas go too (a restart rewrites the
            // former when absent, and reads the schema files (`_stateSchema/`) the metadata
            // names; a copy that lacks them is not the source's).
            let hidden = k.rsplit('/').next().is_some_and(|n| n.starts_with('.'));
            let described = k.starts_with("state/")
                && (k.contains("/_metadata/") || k.contains("/_stateSchema/"))
                && !hidden;
            if described {
                files.push(k.clone());
            }
            if let Some((dir, f)) = state::parse(k) {
                stores_of.entry(dir).or_default().push(f);
            }
        }
        for (dir, dir_files) in &stores_of {
            let needed = loop {
                match state::required(dir, dir_files, n + 1, parsed) {
                    Ok(r) => break r,
                    Err(Need::Commit(c)) => {
                        let name = format!("commits/{c}");
                        if !src.contains_key(&name) {
                            return Ok(Batch::Missing(name));
                        }
                        let c_body = self.get(&name, c).await?;
                        let commit =
                            Commit::parse(&c_body).map_err(|m| self.invalid(&name, c, m))?;
                        parsed.insert(c, commit);
                    }
                    Err(Need::Missing(k)) => return Ok(Batch::Missing(k)),
                }
            };
            for zip in &needed.zips {
                let body = self.get(zip, n).await?;
                let listed = super::zip::entry(&body, "metadata")
                    .and_then(|m| state::snapshot_files(&m))
                    .map_err(|m| self.invalid(zip, n, m))?;
                for f in listed {
                    let k = format!("{}{f}", dir.prefix());
                    if !src.contains_key(&k) {
                        return Ok(Batch::Missing(k));
                    }
                    first.push(k);
                }
            }
            files.extend(needed.files);
        }
        for f in &files {
            if !src.contains_key(f) {
                return Ok(Batch::Missing(f.clone()));
            }
        }
        // A restart reads `offsets/N - 1` beside the newest (its committed offsets): without it
        // (purged at the source before DR had it) the batch cannot be DR's newest.
        if n > 0 {
            let prev = format!("offsets/{}", n - 1);
            if src.contains_key(&prev) {
                files.push(prev);
            } else if !dst.contains_key(&prev) {
                return Ok(Batch::Missing(prev));
            }
        }
        files.sort();
        files.dedup();
        first.sort();
        first.dedup();
        files.retain(|f| !first.contains(f));
        Ok(Batch::Ready { first, files })
    }

    /// The query's Delta sinks in DR must hold its `txn` of version >= `n`.
    async fn sink_gate(
        &self,
        n: u64,
        query: &str,
        report: &mut StreamReport,
    ) -> Result<Option<String>> {
        let decl = self.declared();
        let app = decl
            .and_then(|d| d.sink_app_id.clone())
            .unwrap_or_else(|| query.to_string());
        let declared_sink = decl.and_then(|d| d.sink_table.as_ref());
        if let Some(sink) = declared_sink
            && self.config.rule_for(sink).is_none()
        {
            return Ok(Some(format!(
                "the declared sink {sink} is under no replication rule"
            )));
        }
        let (behind, known) = self.sinks_behind(n, &app).await?;
        if !known {
            if !report.warnings.iter().any(|w| w.contains("no Delta sink")) {
                report.warnings.push(format!(
                    "no Delta sink with app id {app} is in DR: commits are published without a sink \
                     gate (declare the sink in [[stream]] if the query writes a Delta table)"
                ));
            }
            return Ok(None);
        }
        if behind.is_empty() {
            return Ok(None);
        }
        // Be woken when the sinks publish: registered with each sink behind first, then every
        // sink looked at again, so one that publishes meanwhile is not missed.
        let wait = WaitEntry {
            rule: self.rule.name.clone(),
            root: self.root.to_string(),
            app_id: app.clone(),
            batch: n,
            by: String::new(),
        };
        if !self.readonly {
            let rules: BTreeSet<&str> = behind.iter().map(|(r, _, _)| r.as_str()).collect();
            for r in rules.into_iter().filter_map(|r| self.config.rule_named(r)) {
                index::wait_for(self.stores, r, &wait).await?;
            }
        }
        let behind = if self.readonly {
            behind
        } else {
            self.sinks_behind(n, &app).await?.0
        };
        let Some((sink_rule, sink_table, version)) = behind.into_iter().next() else {
            return Ok(None);
        };
        let where_ = self
            .config
            .rule_named(&sink_rule)
            .map_or(sink_table.clone(), |r| r.src_url(&sink_table).to_string());
        Ok(Some(format!(
            "waiting for table {where_} at txn {n} of app id {app} (DR has {})",
            version.map_or("none".into(), |v| v.to_string())
        )))
    }

    /// The query's Delta sinks whose DR copy has no `txn` of `app` at version >= `n`:
    /// `(rule, table, DR's version)`, a declared sink among them until DR has a `txn`; and
    /// whether any sink is known (declared, or found with a `txn` of `app`).
    async fn sinks_behind(
        &self,
        n: u64,
        app: &str,
    ) -> Result<(Vec<(String, String, Option<i64>)>, bool)> {
        let declared = self.declared().and_then(|d| d.sink_table.as_ref());
        let (entries, missing) = match declared.and_then(|s| self.config.rule_for(s)) {
            Some((rule, rel)) => match index::txn_in(self.stores, rule, rel, app).await? {
                Some(e) => (vec![e], None),
                None => (Vec::new(), Some((rule.name.clone(), rel.to_string(), None))),
            },
            None => (index::txns_of(self.stores, self.config, app).await?, None),
        };
        let known = declared.is_some() || !entries.is_empty();
        let behind = entries
            .into_iter()
            .filter(|e| i64::try_from(n).is_ok_and(|n| e.version < n))
            .map(|e| (e.rule, e.table, Some(e.version)))
            .chain(missing)
            .collect();
        Ok((behind, known))
    }

    /// A declared file sink must have, in DR, `_spark_metadata/n` or a later entry (an older
    /// one may have been compacted away at the source: a later entry, or compaction, holds it).
    async fn file_sink_gate(&self, n: u64) -> Result<Option<String>> {
        let Some(sink) = self.declared().and_then(|d| d.file_sink.as_ref()) else {
            return Ok(None);
        };
        let Some((rule, rel)) = self.config.rule_for(sink) else {
            return Ok(Some(format!(
                "the declared file sink {sink} is under no replication rule"
            )));
        };
        let log = rule.dr_url(&format!("{rel}_spark_metadata/"));
        let newest = self
            .stores
            .list(&log)
            .await?
            .iter()
            .filter_map(|m| {
                let name = &m.key[log.key.len()..];
                name.strip_suffix(".compact")
                    .unwrap_or(name)
                    .parse::<u64>()
                    .ok()
            })
            .max();
        if newest.is_some_and(|m| m >= n) {
            return Ok(None);
        }
        Ok(Some(format!(
            "waiting for the file sink {sink}: _spark_metadata/{n} is not in DR yet"
        )))
    }

    /// Copies `files` (names under the root) that DR lacks or holds with other bytes.
    async fn ensure(&self, files: &[String], src: &Listing, dst: &mut Listing) -> Result<u64> {
        let todo: Vec<(&String, &ObjectMeta)> = files
            .iter()
            .filter_map(|f| src.get(f).map(|m| (f, m)))
            .filter(|(f, m)| dst.get(*f).is_none_or(|d| !same_object(m, d)))
            .collect();
        let copied: Vec<(String, ObjectMeta)> =
            futures::stream::iter(todo.into_iter().map(|(f, m)| async move {
                let source = CopySource {
                    url: self.src(f),
                    version_id: None,
                    etag: m.etag.clone(),
                    size: Some(m.size),
                };
                match self.stores.copy(&source, &self.dst(f)).await {
                    Ok(()) => Ok((f.clone(), m.clone())),
                    Err(Error::NotFound { .. } | Error::PreconditionFailed { .. }) => {
                        Err(Error::MissingSourceFile {
                            table: self.name(),
                            version: 0,
                            key: self.src(f).key,
                        })
                    }
                    Err(e) => Err(e),
                }
            }))
            .buffer_unordered(self.concurrency.max(1))
            .try_collect()
            .await?;
        let n = copied.len() as u64;
        dst.extend(copied);
        Ok(n)
    }

    async fn copy(&self, rel: &str, size: u64, dst: &mut Listing) -> Result<()> {
        let source = CopySource {
            size: Some(size),
            ..CopySource::latest(self.src(rel))
        };
        match self.stores.copy(&source, &self.dst(rel)).await {
            Ok(()) => {}
            Err(Error::NotFound { .. }) => {
                return Err(Error::MissingSourceFile {
                    table: self.name(),
                    version: 0,
                    key: self.src(rel).key,
                });
            }
            Err(e) => return Err(e),
        }
        dst.insert(
            rel.to_string(),
            ObjectMeta {
                key: self.dst(rel).key,
                size,
                ..ObjectMeta::default()
            },
        );
        Ok(())
    }
}

/// The checksum siblings (`.<name>.crc`) the source has of `files`.
fn crcs<S: AsRef<str>>(files: &[S], src: &Listing) -> Vec<String> {
    files
        .iter()
        .map(|f| super::crc_of(f.as_ref()))
        .filter(|c| src.contains_key(c))
        .collect()
}

/// The newest version of a DR table (from its newest checkpoint on).
async fn dr_latest(stores: &Stores, table: &ObjectUrl) -> Result<Option<u64>> {
    let log = TableLog::new(stores, table.clone(), table.to_string());
    let from = match stores.get(&log.url(LAST_CHECKPOINT)).await {
        Ok(g) => last_checkpoint_version(&g.body),
        Err(Error::NotFound { .. }) => None,
        Err(e) => return Err(e),
    };
    let mut listing = log.list_from(from).await?;
    if from.is_some() && listing.latest().is_none() {
        listing = log.list_from(None).await?;
    }
    Ok(listing.latest())
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, Mutex};

    use async_trait::async_trait;
    use bytes::Bytes;

    use super::*;
    use crate::store::{GetResult, LocalStore, ObjectStore, PutOptions, Scheme};

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/streaming")
            .join(name)
            .join("checkpoint")
    }

    fn config(src: &Path, dst: &Path, extra: &str) -> Config {
        Config::from_text(&format!(
            "[[rule]]\nname = \"s\"\nsource = \"{}/\"\ndestination = \"{}/\"\n{extra}",
            src.display(),
            dst.display()
        ))
        .unwrap()
    }

    fn write(dir: &Path, rel: &str, body: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }

    async fn run(stores: &Stores, config: &Config) -> Result<StreamReport> {
        StreamSync {
            stores,
            config,
            rule: &config.rules[0],
            root: "",
            concurrency: 8,
            deadline: None,
            readonly: false,
        }
        .run()
        .await
    }

    /// A local store that records when each copy starts and ends.
    #[derive(Debug, Default)]
    struct Recording {
        events: Mutex<Vec<(bool, String)>>,
    }

    #[async_trait]
    impl ObjectStore for Recording {
        fn scheme(&self) -> Scheme {
            Scheme::Local
        }
        async fn list(&self, prefix: &ObjectUrl) -> Result<Vec<ObjectMeta>> {
            LocalStore.list(prefix).await
        }
        async fn head(&self, url: &ObjectUrl) -> Result<Option<ObjectMeta>> {
            LocalStore.head(url).await
        }
        async fn get(&self, url: &ObjectUrl, version_id: Option<&str>) -> Result<GetResult> {
            LocalStore.get(url, version_id).await
        }
        async fn put(&self, url: &ObjectUrl, body: Bytes, opts: &PutOptions) -> Result<ObjectMeta> {
            LocalStore.put(url, body, opts).await
        }
        async fn copy(&self, src: &CopySource, dst: &ObjectUrl) -> Result<()> {
            let name = |dst: &ObjectUrl| dst.key.clone();
            self.events.lock().unwrap().push((true, name(dst)));
            // Let the other copies of the pass start meanwhile.
            tokio::task::yield_now().await;
            let r = LocalStore.copy(src, dst).await;
            self.events.lock().unwrap().push((false, name(dst)));
            r
        }
        async fn delete(&self, url: &ObjectUrl) -> Result<()> {
            LocalStore.delete(url).await
        }
    }

    /// A RocksDB snapshot in DR is what a restart loads: every SST it lists is there before
    /// the zip is (copied in an earlier pass, not beside it).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rocksdb_ssts_are_in_dr_before_the_zip_that_lists_them() {
        let dr = tempfile::tempdir().unwrap();
        let config = config(&fixture("spark43-rocksdb-changelog"), dr.path(), "");
        let rec = Arc::new(Recording::default());
        let stores = Stores::with_adapters(rec.clone(), None);
        let report = run(&stores, &config).await.unwrap();
        assert_eq!(report.dr_batch, Some(3), "{report:?}");
        let events = rec.events.lock().unwrap().clone();
        let mut zips = 0;
        for (i, (start, name)) in events.iter().enumerate() {
            if !*start || !name.ends_with(".zip") {
                continue;
            }
            zips += 1;
            // The files the snapshot lists, read from the fixture's zip itself.
            let body = std::fs::read(fixture("spark43-rocksdb-changelog").join(name)).unwrap();
            let listed =
                state::snapshot_files(&super::super::zip::entry(&body, "metadata").unwrap())
                    .unwrap();
            assert!(!listed.is_empty(), "{name}");
            let partition = &name[..name.rfind('/').unwrap() + 1];
            for f in listed {
                let sst = format!("{partition}{f}");
                assert!(
                    events[..i].contains(&(false, sst.clone())),
                    "{name} started before {sst} was in DR: {events:?}"
                );
            }
        }
        assert!(zips >= 4, "{events:?}");

        // verify reads the zip DR's newest commit loads, and finds an SST it lists missing.
        let sync = StreamSync {
            stores: &stores,
            config: &config,
            rule: &config.rules[0],
            root: "",
            concurrency: 4,
            deadline: None,
            readonly: true,
        };
        assert!(sync.verify().await.unwrap().ok());
        let sst = "state/0/0/SSTs/000009-661290ad-a2d1-430e-98fe-6afe6435d861.sst";
        std::fs::remove_file(dr.path().join(sst)).unwrap();
        let v = sync.verify().await.unwrap();
        assert!(
            v.problems
                .iter()
                .any(|p| p.contains(sst) && p.contains("listed by state/0/0/4.zip")),
            "{v:?}"
        );
    }

    /// Spark purges `offsets/` with `commits/`: the oldest batch at the source has no
    /// `offsets/N - 1`, which a restart reads. It is never DR's newest: DR starts after it.
    #[tokio::test]
    async fn a_batch_whose_previous_offsets_are_purged_is_never_dr_s_newest() {
        let (src, dr) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write(
            src.path(),
            "metadata",
            r#"{"id":"3f0c1a6e-6a52-4b8e-9a5e-1d2c3b4a5f60"}"#,
        );
        for n in [5, 6] {
            write(
                src.path(),
                &format!("offsets/{n}"),
                "v1\n{\"batchWatermarkMs\":0,\"batchTimestampMs\":0,\"conf\":{}}\n",
            );
            write(
                src.path(),
                &format!("commits/{n}"),
                "v1\n{\"nextBatchWatermarkMs\":0}\n",
            );
        }
        let config = config(src.path(), dr.path(), "");
        let stores = Stores::new(None);
        let report = run(&stores, &config).await.unwrap();
        assert_eq!(report.dr_batch, Some(6), "{report:?}");
        assert!(!dr.path().join("commits/5").exists());
        assert!(dr.path().join("offsets/5").exists() && dr.path().join("commits/6").exists());
        assert!(
            report.warnings.iter().any(|w| w.contains("offsets/4")),
            "{report:?}"
        );

        // With the newest batch in that state, nothing is published: it is reported.
        std::fs::remove_file(src.path().join("offsets/5")).unwrap();
        std::fs::remove_file(src.path().join("commits/5")).unwrap();
        let dr2 = tempfile::tempdir().unwrap();
        let config = self::config(src.path(), dr2.path(), "");
        let e = run(&stores, &config).await.unwrap_err();
        assert!(e.to_string().contains("offsets/5"), "{e}");
        assert!(!dr2.path().join("commits/6").exists());
    }

    /// A file sink whose older entries were compacted away: a later entry in DR holds them.
    #[tokio::test]
    async fn the_file_sink_gate_takes_a_later_or_compacted_entry() {
        let (src, dr) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let cp = src.path().join("cp");
        write(
            &cp,
            "metadata",
            r#"{"id":"3f0c1a6e-6a52-4b8e-9a5e-1d2c3b4a5f60"}"#,
        );
        for n in [4, 5] {
            write(
                &cp,
                &format!("offsets/{n}"),
                "v1\n{\"batchWatermarkMs\":0,\"batchTimestampMs\":0,\"conf\":{}}\n",
            );
            write(
                &cp,
                &format!("commits/{n}"),
                "v1\n{\"nextBatchWatermarkMs\":0}\n",
            );
        }
        let decl = format!(
            "[[stream]]\ncheckpoint = \"{}/\"\nfile_sink = \"{}/out/\"\n",
            cp.display(),
            src.path().display()
        );
        let config = config(src.path(), dr.path(), &decl);
        let stores = Stores::new(None);
        let sync = StreamSync {
            stores: &stores,
            config: &config,
            rule: &config.rules[0],
            root: "cp/",
            concurrency: 4,
            deadline: None,
            readonly: false,
        };
        let report = sync.run().await.unwrap();
        assert_eq!(
            report.dr_batch, None,
            "nothing of the sink in DR: {report:?}"
        );
        assert!(report.waiting.unwrap().contains("_spark_metadata/4"));
        write(dr.path(), "out/_spark_metadata/9.compact", "v1\n");
        let report = sync.run().await.unwrap();
        assert_eq!(report.dr_batch, Some(5), "{report:?}");
    }

    /// Keys laid out like a checkpoint's, under no query's `metadata`, are ordinary objects
    /// and reach DR on their events; a real checkpoint's state file waits for its batch, and a
    /// Spark log entry whose `metadata` has not arrived waits for it.
    #[tokio::test]
    async fn checkpoint_shaped_keys_outside_a_checkpoint_are_copied_as_objects() {
        use crate::event::{ChangeKind, ObjectEvent};
        use crate::handler::{Context, Outcome, Replicator};
        let (src, dr) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let plain = [
            ("vendor/metadata", "not a query's"),
            ("vendor/state/2024/06/data.csv", "a,b\n"),
            ("git/commits/2024", "a list of commits\n"),
            ("git/offsets/7", "{\"x\": 1}"),
            // Alone under its root: only its own event can copy it.
            ("lone/state/2024/07/x.csv", "c,d\n"),
        ];
        let held = [
            (
                "cp/metadata",
                r#"{"id":"3f0c1a6e-6a52-4b8e-9a5e-1d2c3b4a5f60"}"#,
            ),
            ("cp/state/0/0/1.delta", "state"),
            ("pending/offsets/0", "v1\n{\"batchWatermarkMs\":0}\n"),
        ];
        for (k, body) in plain.iter().chain(&held) {
            write(src.path(), k, body);
        }
        let config = config(src.path(), dr.path(), "");
        let replicator = Replicator {
            ctx: Context {
                config: Arc::new(config.clone()),
                stores: Stores::new(None),
                ordered: None,
                dead_letter: None,
                ordered_dead_letter: None,
                hints: Default::default(),
            },
        };
        for (k, body) in plain.iter().chain(&held) {
            let ev = ObjectEvent {
                url: config.rules[0].src_url(k),
                kind: ChangeKind::Created,
                size: Some(body.len() as u64),
                etag: None,
                version_id: None,
                sequencer: None,
            };
            let out = replicator.on_event(&ev, None).await.unwrap();
            assert!(!matches!(out, Outcome::Refused { .. }), "{k}: {out:?}");
        }
        for (k, body) in plain {
            assert_eq!(
                std::fs::read_to_string(dr.path().join(k)).ok().as_deref(),
                Some(body),
                "{k}"
            );
        }
        for k in ["cp/state/0/0/1.delta", "pending/offsets/0"] {
            assert!(
                !dr.path().join(k).exists(),
                "{k} copied ahead of its checkpoint"
            );
        }
        // verify says why the pending one does not advance, and the others are objects.
        let sync = |root: &'static str| StreamSync {
            stores: &replicator.ctx.stores,
            config: &config,
            rule: &config.rules[0],
            root,
            concurrency: 4,
            deadline: None,
            readonly: true,
        };
        let v = sync("pending/").verify().await.unwrap();
        assert!(
            v.blocked.as_ref().is_some_and(|b| b.contains("metadata")),
            "{v:?}"
        );
        let v = sync("vendor/").verify().await.unwrap();
        assert!(
            v.ok() && v.warnings.iter().any(|w| w.contains("0 not in DR")),
            "{v:?}"
        );
    }

    /// A file source's log entries go with the batch that read them (its `logOffset`), not
    /// with an earlier batch of a higher number; a batch whose entry is gone is not published.
    #[tokio::test]
    async fn a_file_source_log_goes_with_the_batch_that_read_it() {
        let (src, dr) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write(
            src.path(),
            "metadata",
            r#"{"id":"3f0c1a6e-6a52-4b8e-9a5e-1d2c3b4a5f60"}"#,
        );
        let meta = "{\"batchWatermarkMs\":0,\"batchTimestampMs\":0,\"conf\":{}}";
        // Batch 1 found no new file (a no-data batch): it read the log up to entry 0, and
        // entry 1 was written when batch 2 was planned.
        for (n, log) in [(0, 0), (1, 0)] {
            write(
                src.path(),
                &format!("offsets/{n}"),
                &format!("v1\n{meta}\n{{\"logOffset\":{log}}}\n"),
            );
            write(
                src.path(),
                &format!("commits/{n}"),
                "v1\n{\"nextBatchWatermarkMs\":0}\n",
            );
        }
        write(
            src.path(),
            "offsets/2",
            &format!("v1\n{meta}\n{{\"logOffset\":1}}\n"),
        );
        for e in ["sources/0/0", "sources/0/1"] {
            write(
                src.path(),
                e,
                "v1\n{\"path\":\"file:/in/x\",\"timestamp\":0,\"batchId\":0}\n",
            );
        }
        let config = config(src.path(), dr.path(), "");
        let stores = Stores::new(None);
        let report = run(&stores, &config).await.unwrap();
        assert_eq!(report.dr_batch, Some(1), "{report:?}");
        assert!(dr.path().join("sources/0/0").exists());
        assert!(
            !dr.path().join("sources/0/1").exists(),
            "batch 2's log entry in DR with batch 1"
        );

        // Batch 2 commits, but its entry is gone (purged after a compaction): not published.
        write(
            src.path(),
            "commits/2",
            "v1\n{\"nextBatchWatermarkMs\":0}\n",
        );
        std::fs::remove_file(src.path().join("sources/0/1")).unwrap();
        let e = run(&stores, &config).await.unwrap_err();
        assert!(e.to_string().contains("sources/0/1"), "{e}");
        assert!(!dr.path().join("commits/2").exists());
    }
}
