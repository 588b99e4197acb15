//! Queues: the [`Queue`] contract (SQS in Lambda, an in-memory queue in tests) and the message
//! the replicator hands to the ordered stage.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::Mutex;

use async_trait::async_trait;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A message to send. On a FIFO queue `group_id` orders messages of one unit and `dedup_id`
/// drops duplicates within the queue's window.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutMessage {
    pub body: String,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
    /// String message attributes (error details on dead-lettered messages).
    pub attributes: BTreeMap<String, String>,
}

/// A received message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InMessage {
    pub id: String,
    pub receipt: String,
    pub body: String,
    pub group_id: Option<String>,
    pub attributes: BTreeMap<String, String>,
}

/// The queue contract.
///
/// * [`send`](Self::send) delivers every message or fails as a whole (callers retry);
/// * [`receive`](Self::receive) returns at most `max` messages, possibly none, and hides them
///   until deleted or their visibility times out;
/// * [`delete`](Self::delete) acknowledges a received message; deleting twice is fine.
#[async_trait]
pub trait Queue: Send + Sync + fmt::Debug {
    /// The queue's address, for logs.
    fn url(&self) -> &str;
    async fn send(&self, messages: &[OutMessage]) -> Result<()>;
    async fn receive(&self, max: usize) -> Result<Vec<InMessage>>;
    async fn delete(&self, receipt: &str) -> Result<()>;
}

/// What kind of ordered unit a message names.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Unit {
    /// A Delta table (the root of its `_delta_log/`).
    #[default]
    Table,
    /// A Structured Streaming checkpoint.
    Stream,
    /// A file sink's `_spark_metadata/` log.
    FileSink,
    /// An artifact set, whose DR manifest follows its files.
    Artifacts,
}

/// What the replicator tells the ordered stage: "unit U of rule R may have new files".
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OrderedMessage {
    /// Rule name.
    pub rule: String,
    /// The unit's root relative to the rule source (`""` or ending in `/`): a table, a
    /// checkpoint, a file sink's output, an artifact set.
    pub table: String,
    /// What the root is (a table when absent).
    #[serde(default, skip_serializing_if = "is_table")]
    pub unit: Unit,
    /// The key that triggered it (for logs and dead letters).
    #[serde(default)]
    pub key: String,
}

fn is_table(u: &Unit) -> bool {
    *u == Unit::Table
}

impl OrderedMessage {
    /// FIFO message group: one per unit, so one run at a time per unit.
    pub fn group_id(&self) -> String {
        hex_md5(&format!("{}\u{0}{}", self.rule, self.table))
    }

    /// Parses a body, with the message id in the error.
    pub fn parse(id: &str, body: &str) -> Result<Self> {
        serde_json::from_str(body)
            .map_err(|e| Error::malformed(Some(id), format!("not an ordered-stage message: {e}")))
    }

    /// The message to send; `token` tells apart triggers of one key (etag, version, sequencer).
    pub fn to_out(&self, token: &str) -> OutMessage {
        OutMessage {
            body: serde_json::to_string(self).unwrap_or_default(),
            group_id: Some(self.group_id()),
            dedup_id: Some(hex_md5(&format!(
                "{}\u{0}{}\u{0}{}\u{0}{token}",
                self.rule, self.table, self.key
            ))),
            attributes: BTreeMap::new(),
        }
    }
}

/// Hex MD5, short enough for SQS group and deduplication ids.
pub fn hex_md5(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An in-memory queue for unit tests and single-process runs. No visibility timeout:
/// received messages are gone until [`MemoryQueue::requeue`] puts them back.
#[derive(Debug, Default)]
pub struct MemoryQueue {
    name: String,
    inner: Mutex<MemoryQueueInner>,
}

#[derive(Debug, Default)]
struct MemoryQueueInner {
    ready: VecDeque<InMessage>,
    in_flight: BTreeMap<String, InMessage>,
    next_id: u64,
}

impl MemoryQueue {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            inner: Mutex::default(),
        }
    }

    /// Messages sent and not yet received.
    pub fn len(&self) -> usize {
        self.inner.lock().map(|g| g.ready.len()).unwrap_or_default()
    }

    /// True when nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes and returns every waiting message.
    pub fn drain(&self) -> Vec<InMessage> {
        self.inner
            .lock()
            .map(|mut g| g.ready.drain(..).collect())
            .unwrap_or_default()
    }

    /// Puts received but undeleted messages back (a visibility timeout).
    pub fn requeue(&self) {
        if let Ok(mut g) = self.inner.lock() {
            let back: Vec<InMessage> = std::mem::take(&mut g.in_flight).into_values().collect();
            g.ready.extend(back);
        }
    }
}

#[async_trait]
impl Queue for MemoryQueue {
    fn url(&self) -> &str {
        &self.name
    }

    async fn send(&self, messages: &[OutMessage]) -> Result<()> {
        let mut g = self.inner.lock().map_err(|_| Error::Transient {
            target: self.name.clone(),
            message: "poisoned".into(),
        })?;
        for m in messages {
            g.next_id += 1;
            let id = format!("m{}", g.next_id);
            g.ready.push_back(InMessage {
                receipt: id.clone(),
                id,
                body: m.body.clone(),
                group_id: m.group_id.clone(),
                attributes: m.attributes.clone(),
            });
        }
        Ok(())
    }

    async fn receive(&self, max: usize) -> Result<Vec<InMessage>> {
        let mut g = self.inner.lock().map_err(|_| Error::Transient {
            target: self.name.clone(),
            message: "poisoned".into(),
        })?;
        let n = max.min(g.ready.len());
        let got: Vec<InMessage> = g.ready.drain(..n).collect();
        for m in &got {
            g.in_flight.insert(m.receipt.clone(), m.clone());
        }
        Ok(got)
    }

    async fn delete(&self, receipt: &str) -> Result<()> {
        if let Ok(mut g) = self.inner.lock() {
            g.in_flight.remove(receipt);
        }
        Ok(())
    }
}
