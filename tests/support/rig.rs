//! The delivery rig: a source and a DR bucket in moto, S3 notifications to a real SQS queue,
//! the replicator and ordered-sync handlers wired to real SQS queues, and a seeded shuffler
//! that delivers events late, out of order and more than once, checking DR after every
//! delivery.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use lakedr::config::Config;
use lakedr::store::{ObjectUrl, Stores};
use lakedr::verify::{LogCache, verify_table_cached};
use lakedr::{Context, OrderedSync, Replicator};
use lakedr_aws::S3Store;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::faults::FaultyStore;
use crate::oracle::Oracle;
use crate::stack::{Moto, RegionFront};
use crate::write_order::write_order;

pub const SRC: &str = "src-lake";
pub const DR: &str = "dr-lake";
pub const PREFIX: &str = "lake/";
/// The second source bucket of [`Rig::two_regions`] (the workspace root bucket, say).
pub const SRC2: &str = "src-root";
/// Regions of [`Rig::two_regions`]: the functions and the primary buckets in one (S3 sends a
/// bucket's events only to queues and buses of its own region), DR in another.
pub const PRIMARY_REGION: &str = "us-east-1";
pub const DR_REGION: &str = "us-west-2";

/// A table to replicate: where it is on disk, where it goes under the rule, and whether the
/// independent reader can read it (deltalake lacks deletion vectors and V2 checkpoints).
#[derive(Clone, Debug)]
pub struct TableCase {
    pub local: PathBuf,
    /// Table root relative to the rule, ending in `/`.
    pub prefix: String,
    pub oracle: bool,
    /// Index of the rule (in the rig's configuration) the table is under.
    pub rule: usize,
}

impl TableCase {
    pub fn fixture(name: &str, oracle: bool) -> Self {
        Self {
            local: crate::fixtures().join("delta").join(name),
            prefix: format!("{name}/"),
            oracle,
            rule: 0,
        }
    }
    pub fn generated(name: &str) -> Self {
        Self {
            local: crate::generated_tables().join(name),
            prefix: format!("gen/{name}/"),
            oracle: true,
            rule: 0,
        }
    }
    /// The same table under another rule.
    pub fn in_rule(self, rule: usize) -> Self {
        Self { rule, ..self }
    }
}

/// A query's directories under a rule (`<prefix>checkpoint/`, its input and output), watched
/// by the rig.
#[derive(Clone, Debug)]
pub struct StreamCase {
    /// The query's root relative to its rule, ending in `/`.
    pub prefix: String,
    /// The checkpoint relative to the prefix, ending in `/`.
    pub checkpoint: String,
    pub rule: usize,
}

pub struct Rig {
    pub moto: Moto,
    /// The region-enforcing front the product's S3 clients go through ([`Rig::two_regions`]).
    pub front: Option<RegionFront>,
    pub events_url: String,
    pub ordered_url: String,
    pub dlq_url: String,
    pub ordered_dlq_url: String,
    pub ctx: Context,
    replicator: Replicator,
    ordered: OrderedSync,
    /// Stores without injected faults, for checks.
    pub clean: Stores,
    pub faults: Option<Arc<FaultyStore<S3Store>>>,
    rng: StdRng,
    pending: Vec<String>,
    /// Events taken out of the pool by [`Rig::withhold`].
    withheld: Vec<String>,
    /// Checkpoints checked after every delivery under them.
    streams: Vec<StreamCase>,
    oracle: Oracle,
    checked: BTreeMap<String, BTreeSet<u64>>,
    /// The DR log each table had when it was last checked.
    verified_logs: BTreeMap<String, Vec<(String, Option<String>)>>,
    log_cache: LogCache,
    pub deliveries: u64,
    /// Objects written to the source bucket (each one event, at least one delivery).
    pub uploads: u64,
    pub oracle_checks: u64,
    /// Checkpoint checks made.
    pub stream_checks: u64,
    /// Deliveries after which the tables they touched were checked (all but those naming no
    /// table, such as the `s3:TestEvent` S3 sends when notifications are configured).
    pub checks_after_delivery: u64,
    /// Check DR after every delivery (on by default).
    pub check_every_delivery: bool,
    /// Seconds spent in each part of the rig, printed by `settle` (where test time goes).
    pub timing: BTreeMap<&'static str, f64>,
}

pub fn config_text(extra: &str) -> String {
    format!(
        r#"
[[rule]]
name = "lake"
source = "s3://{SRC}/{PREFIX}"
destination = "s3://{DR}/{PREFIX}"
{extra}
"#
    )
}

/// The rules of [`Rig::two_regions`]: the lake bucket and a second source bucket, both into
/// one DR bucket in another region.
pub fn two_region_rules() -> String {
    format!(
        r#"
[[rule]]
name = "lake"
source = "s3://{SRC}/{PREFIX}"
destination = "s3://{DR}/{PREFIX}"

[[rule]]
name = "root"
source = "s3://{SRC2}/warehouse/"
destination = "s3://{DR}/root/warehouse/"
"#
    )
}

impl Rig {
    pub async fn new(seed: u64, fault_rate: Option<f64>) -> Rig {
        Self::with_config(seed, fault_rate, &config_text(""), "").await
    }

    pub async fn with_config(
        seed: u64,
        fault_rate: Option<f64>,
        rule_text: &str,
        copy_text: &str,
    ) -> Rig {
        Self::build(seed, fault_rate, rule_text, copy_text, false).await
    }

    /// Buckets as a deployment has them: the lake bucket and a second source bucket in
    /// [`PRIMARY_REGION`], DR in [`DR_REGION`], the functions signing for [`PRIMARY_REGION`]
    /// with no region in the configuration, every S3 request of the product through a front
    /// that answers a request for the wrong region like S3 does.
    pub async fn two_regions(seed: u64, fault_rate: Option<f64>) -> Rig {
        Self::build(seed, fault_rate, &two_region_rules(), "", true).await
    }

    async fn build(
        seed: u64,
        fault_rate: Option<f64>,
        rule_text: &str,
        copy_text: &str,
        regions: bool,
    ) -> Rig {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "warn".into()),
            )
            .with_test_writer()
            .try_init();
        let moto = Moto::start();
        let events_url = moto.create_queue("events").await;
        let ordered_url = moto.create_queue("ordered.fifo").await;
        let dlq_url = moto.create_queue("events-dlq").await;
        let ordered_dlq_url = moto.create_queue("ordered-dlq.fifo").await;
        let front = if regions {
            moto.create_bucket_in(SRC, PRIMARY_REGION).await;
            moto.create_bucket_in(SRC2, PRIMARY_REGION).await;
            moto.create_bucket_in(DR, DR_REGION).await;
            moto.notify(SRC, &events_url).await;
            moto.notify(SRC2, &events_url).await;
            Some(RegionFront::start(&moto.endpoint))
        } else {
            moto.create_bucket(SRC).await;
            moto.create_bucket(DR).await;
            moto.notify(SRC, &events_url).await;
            None
        };
        // The product's S3 clients go through the front when there is one (SQS stays on moto).
        let s3_endpoint = front
            .as_ref()
            .map_or(moto.endpoint.clone(), |f| f.endpoint.clone());

        let text = format!(
            "{rule_text}\n[queues]\nevents_url = \"{events_url}\"\nordered_url = \"{ordered_url}\"\ndead_letter_url = \"{dlq_url}\"\nordered_dead_letter_url = \"{ordered_dlq_url}\"\n[s3]\nforce_path_style = true\n{copy_text}"
        );
        let config = Config::from_text(&text).unwrap();
        let s3_sdk = crate::stack::sdk_at(&s3_endpoint, PRIMARY_REGION);
        let mut ctx = lakedr_aws::build_context_with(config.clone(), &moto.sdk());
        let s3 = |sdk: &aws_config::SdkConfig| {
            S3Store::new(sdk, true, config.copy.clone())
                .with_bucket_regions(config.bucket_regions())
        };
        ctx.stores = Stores::new(Some(Arc::new(s3(&s3_sdk))));
        let clean = ctx.stores.clone();
        let faults =
            fault_rate.map(|rate| Arc::new(FaultyStore::new(s3(&s3_sdk), seed ^ 0x5eed, rate)));
        if let Some(f) = &faults {
            ctx.stores = Stores::with_adapters(
                Arc::new(lakedr::store::LocalStore),
                Some(f.clone() as Arc<dyn lakedr::ObjectStore>),
            );
        }
        Rig {
            replicator: Replicator { ctx: ctx.clone() },
            ordered: OrderedSync { ctx: ctx.clone() },
            moto,
            front,
            events_url,
            ordered_url,
            dlq_url,
            ordered_dlq_url,
            ctx,
            clean,
            faults,
            rng: StdRng::seed_from_u64(seed),
            pending: Vec::new(),
            withheld: Vec::new(),
            streams: Vec::new(),
            oracle: Oracle::start(),
            checked: BTreeMap::new(),
            verified_logs: BTreeMap::new(),
            log_cache: LogCache::default(),
            deliveries: 0,
            uploads: 0,
            oracle_checks: 0,
            stream_checks: 0,
            checks_after_delivery: 0,
            check_every_delivery: true,
            timing: BTreeMap::new(),
        }
    }

    fn spent(&mut self, part: &'static str, since: std::time::Instant) {
        *self.timing.entry(part).or_default() += since.elapsed().as_secs_f64();
    }

    pub async fn put_source(&mut self, key: &str, body: Vec<u8>) {
        self.put_object(&ObjectUrl::s3(SRC, key), body).await;
    }

    /// Writes a source object (directly to moto: it is the writer's request, not the product's).
    pub async fn put_object(&mut self, url: &ObjectUrl, body: Vec<u8>) {
        let t = std::time::Instant::now();
        self.uploads += 1;
        self.moto
            .s3()
            .put_object()
            .bucket(&url.bucket)
            .key(&url.key)
            .body(body.into())
            .send()
            .await
            .unwrap();
        self.spent("upload", t);
    }

    /// Moves new notifications from the events queue into the pending pool.
    pub async fn collect(&mut self) {
        let t = std::time::Instant::now();
        for m in self.moto.drain(&self.events_url).await {
            self.pending.push(m.body().unwrap().to_string());
        }
        self.spent("collect", t);
    }

    /// Takes the pending events naming a key `which` matches out of the pool (an object whose
    /// replication lags); [`Self::deliver_withheld`] puts them back. How many were taken.
    pub async fn withhold(&mut self, which: impl Fn(&ObjectUrl) -> bool) -> usize {
        self.collect().await;
        let (aside, keep): (Vec<String>, Vec<String>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|body| {
                let v: Value = serde_json::from_str(body).unwrap();
                lakedr::event::parse_object_events(None, &v)
                    .unwrap()
                    .iter()
                    .any(|e| which(&e.url))
            });
        self.pending = keep;
        self.withheld.extend(aside);
        self.withheld.len()
    }

    /// Returns the withheld events to the pool.
    pub fn deliver_withheld(&mut self) {
        self.pending.append(&mut self.withheld);
    }

    /// Checks a checkpoint after every delivery under `case.prefix`.
    pub fn watch_stream(&mut self, case: StreamCase) {
        self.streams.push(case);
    }

    /// Uploads the files `rels` of `local` (relative paths, in that order) under `prefix` of
    /// rule `rule`; after each upload delivers 0 to 2 pending events, checking the tables of
    /// `cases` and the watched checkpoints they touch.
    pub async fn write_files(
        &mut self,
        local: &std::path::Path,
        rels: &[String],
        rule: usize,
        prefix: &str,
        cases: &[TableCase],
    ) {
        for rel in rels {
            let body = std::fs::read(local.join(rel)).unwrap();
            let url = self.ctx.config.rules[rule].src_url(&format!("{prefix}{rel}"));
            self.put_object(&url, body).await;
            self.collect().await;
            let n = self.rng.random_range(0..=2);
            for _ in 0..n {
                if let Some(body) = self.deliver_one().await {
                    self.check_delivered(&body, cases).await;
                }
            }
        }
    }

    /// Invariant 3 on a checkpoint's DR copy (verify's stream check must find no problem).
    pub async fn check_stream(&mut self, case: &StreamCase) -> lakedr::verify::TableVerdict {
        let t = std::time::Instant::now();
        let rule = &self.ctx.config.rules[case.rule];
        let root = format!("{}{}", case.prefix, case.checkpoint);
        let v = lakedr::stream::sync::StreamSync {
            stores: &self.clean,
            config: &self.ctx.config,
            rule,
            root: &root,
            concurrency: 4,
            deadline: None,
            readonly: true,
        }
        .verify()
        .await
        .unwrap();
        self.spent("verify", t);
        assert!(
            v.problems.is_empty(),
            "after delivery {}: checkpoint {root}: {:?}",
            self.deliveries,
            v.problems
        );
        self.stream_checks += 1;
        v
    }

    fn sqs_event(records: &[(String, String, Option<String>)]) -> Value {
        json!({ "Records": records.iter().map(|(id, body, group)| {
            let mut attrs = serde_json::Map::new();
            if let Some(g) = group { attrs.insert("MessageGroupId".into(), json!(g)); }
            json!({"messageId": id, "receiptHandle": id, "body": body, "attributes": attrs, "messageAttributes": {},
                   "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1"})
        }).collect::<Vec<_>>() })
    }

    /// Delivers one random pending event (sometimes keeping a duplicate), then runs the
    /// ordered stage until its queue is empty. Returns the delivered body, `None` if nothing
    /// was pending. A delivery can only change DR under the table of the key it names.
    pub async fn deliver_one(&mut self) -> Option<String> {
        if self.pending.is_empty() {
            return None;
        }
        let i = self.rng.random_range(0..self.pending.len());
        let body = if self.rng.random_bool(0.25) {
            self.pending[i].clone()
        } else {
            self.pending.swap_remove(i)
        };
        let id = format!("ev-{}", self.deliveries);
        let t = std::time::Instant::now();
        let resp = self
            .replicator
            .handle(Self::sqs_event(&[(id, body.clone(), None)]), None)
            .await
            .unwrap();
        if !resp["batchItemFailures"].as_array().unwrap().is_empty() {
            self.pending.push(body.clone()); // returned to the queue: delivered again later
        }
        self.spent("replicator", t);
        self.deliveries += 1;
        let t = std::time::Instant::now();
        self.drain_ordered().await;
        self.spent("ordered", t);
        Some(body)
    }

    /// Runs the ordered stage until its FIFO queue is empty (`true`), or until it stalls: every
    /// message received failed with a retryable error for many rounds in a row, as when a table's
    /// starting point has not been uploaded yet (`false`). Stalled messages stay in the queue and
    /// are retried by the next drain, as SQS redelivers them after their visibility timeout.
    pub async fn drain_ordered(&mut self) -> bool {
        const STALLED_ROUNDS: usize = 50;
        let sqs = self.moto.sqs();
        let mut stalled = 0;
        for _ in 0..2000 {
            let got = sqs
                .receive_message()
                .queue_url(&self.ordered_url)
                .max_number_of_messages(10)
                .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
                .send()
                .await
                .unwrap();
            let msgs = got.messages().to_vec();
            if msgs.is_empty() {
                return true;
            }
            let records: Vec<(String, String, Option<String>)> = msgs
                .iter()
                .map(|m| {
                    let group = m
                        .attributes()
                        .and_then(|a| {
                            a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId)
                        })
                        .cloned();
                    (
                        m.message_id().unwrap().to_string(),
                        m.body().unwrap().to_string(),
                        group,
                    )
                })
                .collect();
            let resp = self
                .ordered
                .handle(Self::sqs_event(&records), None)
                .await
                .unwrap();
            let failed: BTreeSet<String> = resp["batchItemFailures"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["itemIdentifier"].as_str().unwrap().to_string())
                .collect();
            if failed.len() == msgs.len() {
                stalled += 1;
                if stalled == STALLED_ROUNDS {
                    return false;
                }
            } else {
                stalled = 0;
            }
            let done: Vec<_> = msgs
                .iter()
                .filter(|m| !failed.contains(m.message_id().unwrap()))
                .collect();
            crate::stack::delete_batch(&sqs, &self.ordered_url, &done).await;
        }
        panic!("the ordered stage did not settle after 2000 receives");
    }

    /// Delivers everything pending (duplicates included) until nothing is left.
    pub async fn settle(&mut self, cases: &[TableCase]) {
        loop {
            self.collect().await;
            let Some(body) = self.deliver_one().await else {
                break;
            };
            self.check_delivered(&body, cases).await;
        }
        // Everything is at the source now: every message left must go through.
        assert!(
            self.drain_ordered().await,
            "the ordered stage stalled with every source file uploaded"
        );
        eprintln!(
            "rig: {} uploads, {} deliveries, {} reader checks; seconds per part: {:?}",
            self.uploads, self.deliveries, self.oracle_checks, self.timing
        );
    }

    /// Checks the tables a delivered body names (a delivery changes DR only under them). The
    /// body is decoded by the product's own event parser, so a key encoding the rig did not
    /// foresee cannot silently skip the check.
    async fn check_delivered(&mut self, body: &str, cases: &[TableCase]) {
        if !self.check_every_delivery {
            return;
        }
        let v: Value = serde_json::from_str(body).unwrap();
        let urls: Vec<ObjectUrl> = lakedr::event::parse_object_events(None, &v)
            .unwrap()
            .into_iter()
            .map(|e| e.url)
            .collect();
        let mut matched = false;
        for c in self.streams.clone() {
            let root = self.ctx.config.rules[c.rule].src_url(&c.prefix);
            if urls
                .iter()
                .any(|u| u.bucket == root.bucket && u.key.starts_with(&root.key))
            {
                matched = true;
                self.check_stream(&c).await;
            }
        }
        for c in cases {
            let root = self.src_url(c, "");
            if urls
                .iter()
                .any(|u| u.bucket == root.bucket && u.key.starts_with(&root.key))
            {
                matched = true;
                self.check(c).await;
            }
        }
        if matched {
            self.checks_after_delivery += 1;
        }
    }

    /// Uploads `case` in write order; after each upload delivers 0 to 2 random pending events
    /// (of any of `cases`), checking DR after each delivery.
    pub async fn write_table(&mut self, case: &TableCase, cases: &[TableCase]) {
        for rel in write_order(&case.local) {
            let body = std::fs::read(case.local.join(&rel)).unwrap();
            let url = self.src_url(case, &rel);
            self.put_object(&url, body).await;
            self.collect().await;
            let n = self.rng.random_range(0..=2);
            for _ in 0..n {
                if let Some(body) = self.deliver_one().await {
                    self.check_delivered(&body, cases).await;
                }
            }
        }
    }

    /// The rule a table is under.
    pub fn rule(&self, case: &TableCase) -> &lakedr::Rule {
        &self.ctx.config.rules[case.rule]
    }

    /// Source address of a table's file.
    pub fn src_url(&self, case: &TableCase, rel: &str) -> ObjectUrl {
        self.rule(case).src_url(&format!("{}{rel}", case.prefix))
    }

    /// DR address of a table's file.
    pub fn dr_url(&self, case: &TableCase, rel: &str) -> ObjectUrl {
        self.rule(case).dr_url(&format!("{}{rel}", case.prefix))
    }

    /// The DR log of a table: (file name, entity tag) of every object under `_delta_log/`.
    async fn dr_log(&self, case: &TableCase) -> Vec<(String, Option<String>)> {
        let prefix = self.dr_url(case, "_delta_log/");
        self.clean
            .list(&prefix)
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.key[prefix.key.len()..].to_string(), m.etag))
            .collect()
    }

    /// Commit versions visible in DR for a table.
    pub async fn dr_commits(&self, case: &TableCase) -> BTreeSet<u64> {
        commits(&self.dr_log(case).await)
    }

    /// Invariants 1 and 2 on the DR copy of `case`: the structural verifier, and the
    /// independent reader on the versions that became visible since the last check (and the
    /// latest, whose snapshot new checkpoints may change).
    pub async fn check(&mut self, case: &TableCase) {
        // The verdict is a function of the DR log and of the files it references. Tests that
        // use the rig only add objects, so a file referenced once stays there: if the DR log
        // is the one last verified (names and entity tags), both checks would answer the same.
        let log = self.dr_log(case).await;
        if self.verified_logs.get(&case.prefix) == Some(&log) {
            return;
        }
        let t = std::time::Instant::now();
        let rule = self.rule(case);
        let verdict = verify_table_cached(&self.clean, rule, &case.prefix, &self.log_cache)
            .await
            .unwrap();
        self.spent("verify", t);
        assert!(
            verdict.problems.is_empty(),
            "after delivery {}: {}: {:?}",
            self.deliveries,
            case.prefix,
            verdict.problems
        );
        self.verified_logs.insert(case.prefix.clone(), log.clone());
        if !case.oracle {
            return;
        }
        let commits = commits(&log);
        let Some(&latest) = commits.last() else {
            return;
        };
        let seen = self.checked.entry(case.prefix.clone()).or_default();
        let mut versions: Vec<u64> = commits
            .iter()
            .copied()
            .filter(|v| !seen.contains(v))
            .collect();
        if !versions.contains(&latest) {
            versions.push(latest);
        }
        self.run_oracle(case, &versions, latest);
    }

    /// [`Self::check`] even if the DR log has not changed since the last check.
    pub async fn check_again(&mut self, case: &TableCase) {
        self.verified_logs.remove(&case.prefix);
        self.check(case).await;
    }

    /// The independent reader on every visible version.
    pub async fn check_all_versions(&mut self, case: &TableCase) {
        if !case.oracle {
            return;
        }
        let commits: Vec<u64> = self.dr_commits(case).await.into_iter().collect();
        if let Some(&latest) = commits.last() {
            self.run_oracle(case, &commits, latest);
        }
    }

    fn run_oracle(&mut self, case: &TableCase, versions: &[u64], latest: u64) {
        let dr = self
            .dr_url(case, "")
            .to_string()
            .trim_end_matches('/')
            .to_string();
        let storage = self.moto.storage_options();
        let t = std::time::Instant::now();
        let v = self.oracle.check(
            case.local.to_str().unwrap(),
            &dr,
            versions,
            Some(latest),
            &storage,
        );
        assert!(
            v.unsupported.is_none(),
            "{}: the reader cannot read the source: {:?}",
            case.prefix,
            v.unsupported
        );
        assert!(
            v.ok,
            "after delivery {}: {}: {:?}",
            self.deliveries, case.prefix, v.problems
        );
        self.spent("reader", t);
        self.oracle_checks += 1;
        self.checked
            .entry(case.prefix.clone())
            .or_default()
            .extend(v.checked);
    }

    /// Where DR's copy of `case` should start, by the independent reader: the oldest version
    /// from which the source can be read whole at every version to its latest, among those a
    /// reader can start from (version 0, or a checkpoint's version).
    pub fn expected_start(&mut self, case: &TableCase) -> Option<u64> {
        let mut commits = BTreeSet::new();
        let mut starts = BTreeSet::new();
        for e in std::fs::read_dir(case.local.join("_delta_log")).unwrap() {
            match lakedr::delta::LogFile::parse(&e.unwrap().file_name().to_string_lossy()) {
                lakedr::delta::LogFile::Commit(v) => {
                    commits.insert(v);
                    if v == 0 {
                        starts.insert(0);
                    }
                }
                lakedr::delta::LogFile::Checkpoint { version, .. } => {
                    starts.insert(version);
                }
                _ => {}
            }
        }
        let versions: Vec<u64> = commits.iter().copied().collect();
        let readable: BTreeSet<u64> = self
            .oracle
            .readable(case.local.to_str().unwrap(), &versions)
            .into_iter()
            .collect();
        let latest = *commits.last()?;
        starts
            .into_iter()
            .find(|s| commits.contains(s) && (*s..=latest).all(|v| readable.contains(&v)))
    }

    /// Every source object of `case` (except temporary files, and the log files of versions
    /// older than DR's first: versions the source could not read whole, never published) is in
    /// DR with identical bytes.
    pub async fn assert_nothing_lost(&self, case: &TableCase) {
        let s3 = self.moto.s3();
        let first = self.dr_commits(case).await.first().copied().unwrap_or(0);
        for rel in write_order(&case.local) {
            match lakedr::classify::classify(&rel) {
                lakedr::classify::KeyClass::Temporary => continue,
                lakedr::classify::KeyClass::DeltaLog { file, .. }
                    if file.version().is_some_and(|v| v < first) =>
                {
                    continue;
                }
                _ => {}
            }
            let url = self.dr_url(case, &rel);
            let key = url.to_string();
            let dr = s3
                .get_object()
                .bucket(&url.bucket)
                .key(&url.key)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{key} missing in DR: {e:?}"));
            let got = dr.body.collect().await.unwrap().into_bytes();
            assert_eq!(
                &got[..],
                &std::fs::read(case.local.join(&rel)).unwrap()[..],
                "{key} differs in DR"
            );
        }
    }

    /// Messages in a dead-letter queue: (body, attributes).
    pub async fn dead_letters(&self, url: &str) -> Vec<(String, BTreeMap<String, String>)> {
        self.moto
            .drain(url)
            .await
            .into_iter()
            .map(|m| {
                let attrs = m
                    .message_attributes()
                    .map(|a| {
                        a.iter()
                            .map(|(k, v)| {
                                (k.clone(), v.string_value().unwrap_or_default().to_string())
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                (m.body().unwrap_or_default().to_string(), attrs)
            })
            .collect()
    }
}

/// Commit versions in a log listing of [`Rig::dr_log`].
fn commits(log: &[(String, Option<String>)]) -> BTreeSet<u64> {
    log.iter()
        .filter_map(|(name, _)| match lakedr::delta::LogFile::parse(name) {
            lakedr::delta::LogFile::Commit(v) => Some(v),
            _ => None,
        })
        .collect()
}
