//! The function handlers, shared by the Lambda binaries and the CLI.
//!
//! * [`Replicator`]: object events in; immutable objects copied at once, Delta log files handed
//!   to the ordered stage (or, without an ordered queue, brought up to date inline).
//! * [`OrderedSync`]: ordered-stage messages in; one [`TableSync`] run per table.
//!
//! Both answer SQS batches with partial batch failures: a retryable error returns the message
//! to the queue, a permanent one sends it to the dead-letter queue with the error attached and
//! acknowledges it, so one bad message never holds the batch.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use aws_lambda_events::s3::batch_job::{S3BatchJobResponse, S3BatchJobResult};
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use serde::Serialize;
use serde_json::{Value, json};

use crate::artifacts::ArtifactReport;
use crate::classify::{KeyClass, classify};
use crate::config::{Config, DeletePolicy, Rule};
use crate::error::{Disposition, Error, Result};
use crate::event::{BatchJobInvocation, ChangeKind, ObjectEvent, parse_object_events};
use crate::index::WaitEntry;
use crate::ordered::{TableReport, TableSync};
use crate::queue::{InMessage, OrderedMessage, OutMessage, Queue, Unit};
use crate::store::{CopySource, Stores};
use crate::stream::file_sink::{FileSinkReport, FileSinkSync};
use crate::stream::sync::{StreamReport, StreamSync};
use crate::tablelog::LogHints;

/// Everything a handler needs, built once per process (Lambda init or CLI start).
#[derive(Clone, Debug)]
pub struct Context {
    pub config: Arc<Config>,
    pub stores: Stores,
    /// FIFO queue of the ordered stage; `None` runs ordered units inline.
    pub ordered: Option<Arc<dyn Queue>>,
    /// Where the replicator sends messages that can never succeed.
    pub dead_letter: Option<Arc<dyn Queue>>,
    /// Where the ordered stage sends messages that can never succeed.
    pub ordered_dead_letter: Option<Arc<dyn Queue>>,
    /// Where DR logs' newest checkpoints were last seen, kept across invocations.
    pub hints: Arc<LogHints>,
}

/// What happened to one object event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// Copied to DR.
    Copied { key: String },
    /// Handed to the ordered stage (a table, a checkpoint, a file sink, an artifact set).
    Enqueued { unit: Unit, root: String },
    /// Ordered unit brought up to date inline.
    Synced { report: UnitReport },
    /// Covered by a rule but deliberately not copied (excluded, temporary, delete retained).
    Skipped { key: String, reason: String },
    /// No rule covers it: refused and counted, never copied.
    Refused { url: String },
    /// Deleted in DR (delete policy `mirror-non-table`).
    Deleted { key: String },
}

/// Per-batch counts, logged as one structured line (queryable in CloudWatch Logs Insights).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub copied: u64,
    pub enqueued: u64,
    pub synced: u64,
    pub skipped: u64,
    pub refused: u64,
    pub deleted: u64,
    pub dead_lettered: u64,
    pub deferred: u64,
    pub retried: u64,
}

impl Counts {
    fn merge(&mut self, o: &Counts) {
        let Counts {
            copied,
            enqueued,
            synced,
            skipped,
            refused,
            deleted,
            dead_lettered,
            deferred,
            retried,
        } = o;
        self.copied += copied;
        self.enqueued += enqueued;
        self.synced += synced;
        self.skipped += skipped;
        self.refused += refused;
        self.deleted += deleted;
        self.dead_lettered += dead_lettered;
        self.deferred += deferred;
        self.retried += retried;
    }

    fn add(&mut self, o: &Outcome) {
        match o {
            Outcome::Copied { .. } => self.copied += 1,
            Outcome::Enqueued { .. } => self.enqueued += 1,
            Outcome::Synced { .. } => self.synced += 1,
            Outcome::Skipped { .. } => self.skipped += 1,
            Outcome::Refused { .. } => self.refused += 1,
            Outcome::Deleted { .. } => self.deleted += 1,
        }
    }

    fn log(&self) {
        tracing::info!(
            copied = self.copied,
            enqueued = self.enqueued,
            synced = self.synced,
            skipped = self.skipped,
            refused = self.refused,
            deleted = self.deleted,
            dead_lettered = self.dead_lettered,
            deferred = self.deferred,
            retried = self.retried,
            "batch done"
        );
    }
}

/// Copies one object of a rule to DR, pinned to what the event saw: the current object, only
/// if it still has the event's entity tag (an event for an older version of a key overwritten
/// since is skipped, never copied over the newer one, versioned bucket or not); a version id
/// alone (no entity tag) pins that version.
pub async fn copy_object(
    ctx: &Context,
    rule: &Rule,
    rel: &str,
    ev: Option<&ObjectEvent>,
) -> Result<()> {
    let src = rule.src_url(rel);
    let etag = ev.and_then(|e| e.etag.clone());
    let source = CopySource {
        url: src,
        version_id: ev
            .filter(|_| etag.is_none())
            .and_then(|e| e.version_id.clone()),
        etag,
        size: ev.and_then(|e| e.size),
    };
    ctx.stores.copy(&source, &rule.dr_url(rel)).await
}

/// The replicator function.
#[derive(Clone, Debug)]
pub struct Replicator {
    pub ctx: Context,
}

impl Replicator {
    /// Whether `root` (relative to the rule) holds a query's `metadata` at the source: asked
    /// once per root and process once it does (Spark writes it before any other file).
    async fn in_checkpoint(&self, rule: &Rule, root: &str) -> Result<bool> {
        let url = rule.src_url(root);
        if self.ctx.hints.is_checkpoint(&url) {
            return Ok(true);
        }
        let yes = StreamSync::is_checkpoint(&self.ctx.stores, &url).await?;
        if yes {
            self.ctx.hints.set_checkpoint(&url);
        }
        Ok(yes)
    }

    /// Handles one object event.
    pub async fn on_event(&self, ev: &ObjectEvent, deadline: Option<Instant>) -> Result<Outcome> {
        let Some((rule, rel)) = self.ctx.config.rule_for(&ev.url) else {
            tracing::warn!(url = %ev.url, "refused: no rule covers this object");
            return Ok(Outcome::Refused {
                url: ev.url.to_string(),
            });
        };
        if !rule.selects(rel) {
            return Ok(Outcome::Skipped {
                key: ev.url.key.clone(),
                reason: "excluded by the rule".into(),
            });
        }
        let class = classify(rel);
        let unit = class.unit();
        match ev.kind {
            ChangeKind::Created => {}
            ChangeKind::Deleted => return self.on_delete(rule, rel, &class).await,
            ChangeKind::Unchanged(what) => {
                return Ok(Outcome::Skipped {
                    key: ev.url.key.clone(),
                    reason: format!("{what}: no bytes changed"),
                });
            }
        }
        match class {
            KeyClass::Temporary => Ok(Outcome::Skipped {
                key: ev.url.key.clone(),
                reason: "temporary file".into(),
            }),
            KeyClass::StreamBatchFile { root } if self.in_checkpoint(rule, &root).await? => {
                Ok(Outcome::Skipped {
                    key: ev.url.key.clone(),
                    reason: "copied by its checkpoint's ordered stage with the batch that needs it"
                        .into(),
                })
            }
            // Laid out like a checkpoint's file, under no query's `metadata`: an object.
            KeyClass::Object | KeyClass::StreamBatchFile { .. } => {
                match copy_object(&self.ctx, rule, rel, Some(ev)).await {
                    Ok(()) => {
                        tracing::debug!(key = %ev.url.key, "copied");
                        Ok(Outcome::Copied {
                            key: ev.url.key.clone(),
                        })
                    }
                    // Gone or replaced since the event: a later event (or reconcile) carries it.
                    Err(Error::NotFound { .. } | Error::PreconditionFailed { .. }) => {
                        Ok(Outcome::Skipped {
                            key: ev.url.key.clone(),
                            reason: "the version the event named is no longer at the source".into(),
                        })
                    }
                    Err(e) => Err(e),
                }
            }
            KeyClass::DeltaLog { table: root, .. }
            | KeyClass::Stream { root, .. }
            | KeyClass::FileSinkLog { root, .. } => {
                self.ordered(rule, unit, root, ev, deadline).await
            }
            KeyClass::Artifact { set } => {
                match copy_object(&self.ctx, rule, rel, Some(ev)).await {
                    Ok(()) => {}
                    Err(Error::NotFound { .. } | Error::PreconditionFailed { .. }) => {
                        return Ok(Outcome::Skipped {
                            key: ev.url.key.clone(),
                            reason: "the version the event named is no longer at the source".into(),
                        });
                    }
                    Err(e) => return Err(e),
                }
                self.ordered(rule, Unit::Artifacts, set, ev, deadline).await
            }
        }
    }

    /// Hands an ordered unit to the ordered stage, or runs it inline without an ordered queue.
    async fn ordered(
        &self,
        rule: &Rule,
        unit: Unit,
        root: String,
        ev: &ObjectEvent,
        deadline: Option<Instant>,
    ) -> Result<Outcome> {
        let msg = OrderedMessage {
            rule: rule.name.clone(),
            table: root.clone(),
            unit,
            key: ev.url.key.clone(),
        };
        match &self.ctx.ordered {
            Some(q) => {
                q.send(&[msg.to_out(&ev.token())]).await?;
                Ok(Outcome::Enqueued { unit, root })
            }
            None => {
                let report = run_unit(&self.ctx, rule, unit, &root, deadline).await?;
                Ok(Outcome::Synced { report })
            }
        }
    }

    async fn on_delete(&self, rule: &Rule, rel: &str, class: &KeyClass) -> Result<Outcome> {
        let key = rule.src_url(rel).key;
        let retained = |reason: &str| {
            Ok(Outcome::Skipped {
                key: key.clone(),
                reason: reason.into(),
            })
        };
        match (rule.delete_policy, class) {
            (DeletePolicy::Retain, _) => retained("delete policy is retain"),
            (DeletePolicy::MirrorNonTable, KeyClass::Object) => {
                if in_delta_table(&self.ctx.stores, rule, rel).await? {
                    return retained("part of a Delta table: DR versions may still need it");
                }
                // A noncurrent version expired, or a delete event older than the object written
                // since: the source still has the key, and so does DR.
                if self.ctx.stores.head(&rule.src_url(rel)).await?.is_some() {
                    return retained("the source still has the object");
                }
                self.ctx.stores.delete(&rule.dr_url(rel)).await?;
                Ok(Outcome::Deleted { key })
            }
            (DeletePolicy::MirrorNonTable, KeyClass::Artifact { .. }) => {
                retained("artifact sets are kept whole in DR")
            }
            (DeletePolicy::MirrorNonTable, _) => {
                retained("log files of tables and checkpoints are never deleted by events")
            }
        }
    }

    /// Handles an SQS batch of S3 / EventBridge events with partial batch failures, and logs
    /// one line of counts per batch (copied, enqueued, refused...).
    ///
    /// Records are handled concurrently (a batch of large copies would otherwise outlast the
    /// function); one not started by the deadline is given back to the queue.
    pub async fn handle_sqs(&self, event: SqsEvent, deadline: Option<Instant>) -> SqsBatchResponse {
        // Inline ordered units (no ordered queue: the CLI) run one at a time, as before.
        let n = if self.ctx.ordered.is_some() {
            self.ctx.config.copy.max_concurrency.max(1)
        } else {
            1
        };
        use futures::StreamExt as _;
        let results = futures::stream::iter(event.records.into_iter().map(|record| async move {
            let msg = InMessage {
                id: record.message_id.clone().unwrap_or_default(),
                receipt: String::new(),
                body: record.body.clone().unwrap_or_default(),
                group_id: None,
                attributes: BTreeMap::new(),
            };
            let mut counts = Counts::default();
            if deadline.is_some_and(|d| Instant::now() >= d) {
                counts.retried += 1;
                return (msg.id, false, counts);
            }
            let done = self.handle_counted(&msg, deadline, &mut counts).await;
            (msg.id, done, counts)
        }))
        .buffer_unordered(n);
        let results: Vec<(String, bool, Counts)> = results.collect().await;
        let mut counts = Counts::default();
        let mut failures = Vec::new();
        for (id, done, c) in results {
            counts.merge(&c);
            if !done {
                failures.push(id);
            }
        }
        counts.log();
        batch_response(failures)
    }

    /// Handles one queued message; returns false if it must be retried.
    pub async fn handle_message(&self, msg: &InMessage, deadline: Option<Instant>) -> bool {
        self.handle_counted(msg, deadline, &mut Counts::default())
            .await
    }

    async fn handle_counted(
        &self,
        msg: &InMessage,
        deadline: Option<Instant>,
        counts: &mut Counts,
    ) -> bool {
        let result = async {
            let v: Value = serde_json::from_str(&msg.body)
                .map_err(|e| Error::malformed(Some(&msg.id), format!("body is not JSON: {e}")))?;
            let events = parse_object_events(Some(&msg.id), &v)?;
            for ev in &events {
                let outcome = self.on_event(ev, deadline).await?;
                counts.add(&outcome);
            }
            Ok::<_, Error>(())
        }
        .await;
        let disposition = result.as_ref().err().map(Error::disposition);
        let done = settle(self.ctx.dead_letter.as_deref(), "replicator", msg, result).await;
        match (done, disposition) {
            (false, _) => counts.retried += 1,
            (true, Some(Disposition::DeadLetter)) => counts.dead_lettered += 1,
            (true, Some(Disposition::Defer)) => counts.deferred += 1,
            (true, _) => {}
        }
        done
    }

    /// Handles an S3 Batch Operations invocation (backfill).
    pub async fn handle_batch_job(
        &self,
        job: BatchJobInvocation,
        deadline: Option<Instant>,
    ) -> S3BatchJobResponse {
        let mut results = Vec::with_capacity(job.tasks.len());
        for task in &job.tasks {
            let outcome = match task.object() {
                Ok(ev) => self.on_event(&ev, deadline).await,
                Err(e) => Err(e),
            };
            let (code, text) = match outcome {
                Ok(o) => ("Succeeded", serde_json::to_string(&o).unwrap_or_default()),
                Err(e) => match e.disposition() {
                    // Batch Operations retries temporary failures: a table waiting for its
                    // checkpoint is tried again with it.
                    Disposition::Retry | Disposition::Defer => ("TemporaryFailure", e.to_string()),
                    Disposition::DeadLetter => ("PermanentFailure", e.to_string()),
                },
            };
            let mut r = S3BatchJobResult::default();
            r.task_id = Some(task.task_id.clone());
            r.result_code = Some(code.to_string());
            r.result_string = Some(text);
            results.push(r);
        }
        let mut resp = S3BatchJobResponse::default();
        resp.invocation_schema_version = Some(job.invocation_schema_version);
        resp.invocation_id = Some(job.invocation_id);
        resp.treat_missing_keys_as = Some("PermanentFailure".to_string());
        resp.results = results;
        resp
    }

    /// Dispatches any payload the function accepts: SQS batch, Batch Operations job, direct
    /// S3 notification or EventBridge event.
    pub async fn handle(&self, payload: Value, deadline: Option<Instant>) -> Result<Value> {
        if payload.get("invocationSchemaVersion").is_some() {
            let job: BatchJobInvocation = serde_json::from_value(payload).map_err(|e| {
                Error::malformed(None, format!("S3 Batch Operations invocation: {e}"))
            })?;
            return Ok(
                serde_json::to_value(self.handle_batch_job(job, deadline).await)
                    .unwrap_or(Value::Null),
            );
        }
        if is_sqs(&payload) {
            let ev: SqsEvent = serde_json::from_value(payload)
                .map_err(|e| Error::malformed(None, format!("SQS event: {e}")))?;
            return Ok(
                serde_json::to_value(self.handle_sqs(ev, deadline).await).unwrap_or(Value::Null)
            );
        }
        let events = parse_object_events(None, &payload)?;
        let mut outcomes = Vec::with_capacity(events.len());
        for ev in &events {
            outcomes.push(self.on_event(ev, deadline).await?);
        }
        Ok(json!({ "outcomes": outcomes }))
    }
}

fn is_sqs(v: &Value) -> bool {
    v.get("Records")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .and_then(|r| r.get("eventSource"))
        .and_then(Value::as_str)
        == Some("aws:sqs")
}

fn batch_response(failures: Vec<String>) -> SqsBatchResponse {
    let mut resp = SqsBatchResponse::default();
    resp.batch_item_failures = failures
        .into_iter()
        .map(|id| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id;
            f
        })
        .collect();
    resp
}

/// Decides a message's fate: `true` = done (succeeded, or dead-lettered), `false` = retry.
async fn settle(
    dlq: Option<&dyn Queue>,
    function: &str,
    msg: &InMessage,
    result: Result<()>,
) -> bool {
    let err = match result {
        Ok(()) => return true,
        Err(e) => e,
    };
    match err.disposition() {
        Disposition::Retry => {
            tracing::warn!(message_id = %msg.id, error = %err, "will retry");
            return false;
        }
        Disposition::Defer => {
            // The unit waits for a file whose own event runs it again.
            tracing::warn!(message_id = %msg.id, error = %err, "deferred until the unit's next event");
            return true;
        }
        Disposition::DeadLetter => {}
    }
    tracing::error!(message_id = %msg.id, error = %err, kind = err.kind(), "dead-lettering message");
    let Some(dlq) = dlq else {
        // No DLQ to hand it to: let the queue's redrive policy move it after its retries.
        return false;
    };
    let out = dead_letter(function, msg, &err);
    match dlq.send(&[out]).await {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(message_id = %msg.id, error = %e, "could not dead-letter; will retry");
            false
        }
    }
}

/// The dead-letter copy of a message: the original body, the error in attributes.
pub fn dead_letter(function: &str, msg: &InMessage, err: &Error) -> OutMessage {
    let mut attributes = BTreeMap::new();
    attributes.insert("lakedr-function".to_string(), function.to_string());
    attributes.insert("lakedr-error-kind".to_string(), err.kind().to_string());
    let text: String = err.to_string().chars().take(1000).collect();
    attributes.insert("lakedr-error".to_string(), text);
    attributes.insert("lakedr-message-id".to_string(), msg.id.clone());
    OutMessage {
        body: msg.body.clone(),
        group_id: Some(msg.group_id.clone().unwrap_or_else(|| "dead-letter".into())),
        dedup_id: Some(crate::queue::hex_md5(&format!(
            "{}\u{0}{}",
            msg.id, msg.body
        ))),
        attributes,
    }
}

/// Runs the ordered stage for one table of one rule.
pub async fn sync_table(
    ctx: &Context,
    rule: &Rule,
    table: &str,
    deadline: Option<Instant>,
) -> Result<TableReport> {
    table_sync(ctx, rule, table, deadline).run().await
}

fn table_sync<'a>(
    ctx: &'a Context,
    rule: &'a Rule,
    table: &'a str,
    deadline: Option<Instant>,
) -> TableSync<'a> {
    TableSync {
        stores: &ctx.stores,
        rule,
        table,
        concurrency: ctx.config.copy.max_concurrency,
        deadline,
        hints: Some(&ctx.hints),
    }
}

/// What one run of the ordered stage did, by unit.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(tag = "unit", rename_all = "kebab-case")]
pub enum UnitReport {
    Table(TableReport),
    Stream(StreamReport),
    FileSink(FileSinkReport),
    Artifacts(ArtifactReport),
}

impl UnitReport {
    /// False when the run stopped at its deadline with work left.
    pub fn complete(&self) -> bool {
        match self {
            UnitReport::Table(r) => r.complete,
            UnitReport::Stream(r) => r.complete,
            UnitReport::FileSink(_) | UnitReport::Artifacts(_) => true,
        }
    }

    pub fn warnings(&self) -> &[String] {
        match self {
            UnitReport::Table(r) => &r.warnings,
            UnitReport::Stream(r) => &r.warnings,
            UnitReport::FileSink(r) => &r.warnings,
            UnitReport::Artifacts(_) => &[],
        }
    }

    /// Checkpoints that waited for what this run published.
    pub fn wake(&self) -> &[WaitEntry] {
        match self {
            UnitReport::Table(r) => &r.wake,
            UnitReport::Stream(r) => &r.wake,
            UnitReport::FileSink(_) | UnitReport::Artifacts(_) => &[],
        }
    }

    /// Where the unit's DR copy got to (tells the continuation of a run apart).
    fn progress(&self) -> String {
        let v = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
        match self {
            UnitReport::Table(r) => v(r.dr_version),
            UnitReport::Stream(r) => v(r.dr_batch),
            UnitReport::FileSink(r) => r.entries_published.to_string(),
            UnitReport::Artifacts(r) => r.files.to_string(),
        }
    }
}

/// Runs the ordered stage for one unit of one rule; checkpoints woken by a table's new
/// versions are run after it (inline when there is no ordered queue, else queued).
pub async fn run_unit(
    ctx: &Context,
    rule: &Rule,
    unit: Unit,
    root: &str,
    deadline: Option<Instant>,
) -> Result<UnitReport> {
    let n = ctx.config.copy.max_concurrency;
    let report = match unit {
        Unit::Table => {
            let (result, wake) = table_sync(ctx, rule, root, deadline).run_waking().await;
            match result {
                Ok(r) => UnitReport::Table(r),
                Err(e) => {
                    // What was published before the failure still wakes its checkpoints.
                    if let Err(w) = wake_checkpoints(ctx, &wake, deadline).await {
                        tracing::warn!(table = %root, error = %w, "waking checkpoints failed");
                    }
                    return Err(e);
                }
            }
        }
        Unit::Stream => UnitReport::Stream(
            StreamSync {
                stores: &ctx.stores,
                config: &ctx.config,
                rule,
                root,
                concurrency: n,
                deadline,
                readonly: false,
            }
            .run()
            .await?,
        ),
        Unit::FileSink => UnitReport::FileSink(
            FileSinkSync {
                stores: &ctx.stores,
                config: &ctx.config,
                rule,
                root,
            }
            .run()
            .await?,
        ),
        Unit::Artifacts => UnitReport::Artifacts(
            crate::artifacts::publish_manifest(&ctx.stores, rule, root).await?,
        ),
    };
    wake_checkpoints(ctx, report.wake(), deadline).await?;
    Ok(report)
}

/// Runs again (queued, or inline without a queue) the checkpoints a table's publication
/// unblocked.
async fn wake_checkpoints(
    ctx: &Context,
    wake: &[crate::index::WaitEntry],
    deadline: Option<Instant>,
) -> Result<()> {
    for w in wake {
        let Some(r) = ctx.config.rule_named(&w.rule) else {
            continue;
        };
        let msg = OrderedMessage {
            rule: w.rule.clone(),
            table: w.root.clone(),
            unit: Unit::Stream,
            key: format!("woken by {} at {}", w.app_id, w.batch),
        };
        match &ctx.ordered {
            // One message per publication that wakes it (not deduplicated with an earlier one).
            Some(q) => {
                q.send(&[msg.to_out(&format!("wake-{}-{}", w.batch, w.by))])
                    .await?
            }
            None => {
                Box::pin(run_unit(ctx, r, Unit::Stream, &w.root, deadline)).await?;
            }
        }
    }
    Ok(())
}

/// True if some ancestor directory of `rel` holds a Delta log in DR or at the source.
async fn in_delta_table(stores: &Stores, rule: &Rule, rel: &str) -> Result<bool> {
    let mut dirs: Vec<&str> = rel.match_indices('/').map(|(i, _)| &rel[..=i]).collect();
    dirs.insert(0, "");
    for dir in dirs.into_iter().rev() {
        let log = format!("{dir}{}", crate::delta::LOG_DIR);
        for root in [rule.dr_url(&log), rule.src_url(&log)] {
            if stores.get_store(&root)?.exists_prefix(&root).await? {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// The ordered-stage function.
#[derive(Clone, Debug)]
pub struct OrderedSync {
    pub ctx: Context,
}

impl OrderedSync {
    /// Handles a batch of ordered-stage messages: one run per table, in arrival order.
    ///
    /// Returns the ids of messages to retry. On FIFO queues, once a message of a group fails,
    /// the later messages of that group in the batch fail too, so order is kept.
    pub async fn handle_messages(
        &self,
        msgs: &[InMessage],
        deadline: Option<Instant>,
    ) -> Vec<String> {
        let mut failed = Vec::new();
        let mut failed_groups: BTreeSet<String> = BTreeSet::new();
        let mut done_tables: BTreeMap<(String, String), bool> = BTreeMap::new();
        for msg in msgs {
            let group = msg.group_id.clone().unwrap_or_default();
            if failed_groups.contains(&group) {
                failed.push(msg.id.clone());
                continue;
            }
            let parsed = OrderedMessage::parse(&msg.id, &msg.body);
            let result = match parsed {
                Err(e) => Err(e),
                Ok(m) => {
                    let k = (m.rule.clone(), m.table.clone());
                    if done_tables.get(&k) == Some(&true) {
                        Ok(()) // this batch already brought the table up to date after this message was sent
                    } else {
                        let r = self.run_one(&m, deadline).await.map(|_| ());
                        done_tables.insert(k, r.is_ok());
                        r
                    }
                }
            };
            if !settle(
                self.ctx.ordered_dead_letter.as_deref(),
                "ordered-sync",
                msg,
                result,
            )
            .await
            {
                failed.push(msg.id.clone());
                failed_groups.insert(group);
            }
        }
        failed
    }

    /// One run for the unit a message names; out of time, it queues its own continuation.
    async fn run_one(&self, m: &OrderedMessage, deadline: Option<Instant>) -> Result<UnitReport> {
        let rule = self
            .ctx
            .config
            .rule_named(&m.rule)
            .ok_or_else(|| Error::malformed(None, format!("unknown rule `{}`", m.rule)))?;
        let report = run_unit(&self.ctx, rule, m.unit, &m.table, deadline).await?;
        for w in report.warnings() {
            tracing::warn!(unit = %m.table, rule = %m.rule, "{w}");
        }
        if !report.complete() {
            // Out of time: hand the rest to the next invocation of this unit's group.
            if let Some(q) = &self.ctx.ordered {
                let token = format!("continue-{}", report.progress());
                q.send(&[m.to_out(&token)]).await?;
            }
        }
        Ok(report)
    }

    /// Handles a Lambda SQS (FIFO) event.
    pub async fn handle_sqs(&self, event: SqsEvent, deadline: Option<Instant>) -> SqsBatchResponse {
        let msgs: Vec<InMessage> = event
            .records
            .into_iter()
            .map(|r| InMessage {
                id: r.message_id.unwrap_or_default(),
                receipt: String::new(),
                body: r.body.unwrap_or_default(),
                group_id: r.attributes.get("MessageGroupId").cloned(),
                attributes: BTreeMap::new(),
            })
            .collect();
        batch_response(self.handle_messages(&msgs, deadline).await)
    }

    /// Dispatches an SQS event or a single ordered-stage message.
    pub async fn handle(&self, payload: Value, deadline: Option<Instant>) -> Result<Value> {
        if is_sqs(&payload) {
            let ev: SqsEvent = serde_json::from_value(payload)
                .map_err(|e| Error::malformed(None, format!("SQS event: {e}")))?;
            return Ok(
                serde_json::to_value(self.handle_sqs(ev, deadline).await).unwrap_or(Value::Null)
            );
        }
        let m: OrderedMessage = serde_json::from_value(payload)
            .map_err(|e| Error::malformed(None, format!("ordered-stage message: {e}")))?;
        let report = self.run_one(&m, deadline).await?;
        Ok(serde_json::to_value(report).unwrap_or(Value::Null))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::ObjectEvent;

    /// Mirrored deletes: a delete event removes the DR copy only once the source no longer
    /// has the key (a noncurrent version expired, or an older delete event arriving after the
    /// key was written again, leaves both in place).
    #[tokio::test]
    async fn a_mirrored_delete_waits_until_the_source_has_no_such_object() {
        let (src, dr) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        for dir in [src.path(), dr.path()] {
            std::fs::create_dir_all(dir.join("docs")).unwrap();
            std::fs::write(dir.join("docs/a.txt"), "a").unwrap();
        }
        let config = Config::from_text(&format!(
            "[[rule]]\nname = \"r\"\nsource = \"{}/\"\ndestination = \"{}/\"\ndelete_policy = \"mirror-non-table\"\n",
            src.path().display(),
            dr.path().display()
        ))
        .unwrap();
        let url = config.rules[0].src_url("docs/a.txt");
        let replicator = Replicator {
            ctx: Context {
                config: Arc::new(config),
                stores: Stores::new(None),
                ordered: None,
                dead_letter: None,
                ordered_dead_letter: None,
                hints: Default::default(),
            },
        };
        let delete = ObjectEvent {
            url,
            kind: ChangeKind::Deleted,
            size: None,
            etag: None,
            version_id: None,
            sequencer: None,
        };
        let out = replicator.on_event(&delete, None).await.unwrap();
        assert!(matches!(out, Outcome::Skipped { .. }), "{out:?}");
        assert!(dr.path().join("docs/a.txt").exists());
        std::fs::remove_file(src.path().join("docs/a.txt")).unwrap();
        let out = replicator.on_event(&delete, None).await.unwrap();
        assert!(matches!(out, Outcome::Deleted { .. }), "{out:?}");
        assert!(!dr.path().join("docs/a.txt").exists());
    }

    /// Records not started by the deadline go back to the queue; the others are handled.
    #[tokio::test]
    async fn records_not_started_by_the_deadline_are_given_back() {
        let (src, dr) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        std::fs::write(src.path().join("a.txt"), "a").unwrap();
        let config = Config::from_text(&format!(
            "[[rule]]\nname = \"r\"\nsource = \"{}/\"\ndestination = \"{}/\"\n",
            src.path().display(),
            dr.path().display()
        ))
        .unwrap();
        let replicator = Replicator {
            ctx: Context {
                config: Arc::new(config),
                stores: Stores::new(None),
                ordered: None,
                dead_letter: None,
                ordered_dead_letter: None,
                hints: Default::default(),
            },
        };
        let body = serde_json::json!({"Records": [{"eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": src.path().display().to_string()}, "object": {"key": "a.txt", "size": 1}}}]});
        let event = |ids: &[&str]| -> SqsEvent {
            serde_json::from_value(
                serde_json::json!({"Records": ids.iter().map(|id| serde_json::json!({
                "messageId": id, "receiptHandle": "r", "body": body.to_string(), "attributes": {},
                "messageAttributes": {}, "eventSource": "aws:sqs"})).collect::<Vec<_>>()}),
            )
            .unwrap()
        };
        let past = Some(Instant::now());
        let resp = replicator.handle_sqs(event(&["m1", "m2"]), past).await;
        let failed: Vec<&str> = resp
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["m1", "m2"], "none started after the deadline");
        let resp = replicator.handle_sqs(event(&["m3"]), None).await;
        assert!(resp.batch_item_failures.is_empty());
    }
}
