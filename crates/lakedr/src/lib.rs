//! # lakedr: consistent disaster-recovery replication for a Databricks lakehouse on S3
//!
//! S3 replication copies objects one by one in no order, so a Delta table copied that way can
//! be torn: a commit may land before the data files it adds, or before the commit before it.
//! This crate holds every rule that keeps a DR copy usable at every instant:
//!
//! * immutable objects are copied at once, server-side, pinned to the version the event named;
//! * a Delta commit is published in DR only after every file it references, in ascending
//!   version order with no gap, with put-if-absent; checkpoints only when complete, and
//!   `_last_checkpoint` last and never backwards;
//! * a streaming checkpoint's `commits/N` only after `offsets/N`, the state and source logs a
//!   restart after batch N needs, and its Delta sink's DR copy at `txn` N;
//! * an artifact set's manifest only after the files it lists;
//! * bad input (an unparseable commit, a file missing at the source, a gap) stops that table at
//!   its last consistent version with an error naming table, version and key.
//!
//! The crate does no AWS I/O itself: storage and queues are traits ([`store::ObjectStore`],
//! [`queue::Queue`]) implemented for S3/SQS by `lakedr-aws` and for local directories and memory
//! here.
//!
//! ## Layout
//!
//! * [`config`]: replication rules and settings, validated with errors naming the field.
//! * [`event`]: S3 notifications, EventBridge events, Batch Operations tasks parsed leniently.
//! * [`classify`]: each key becomes an immutable object, a Delta log file or a temporary file.
//! * [`delta`]: Delta log names, actions, checkpoints and deletion-vector ids, without I/O.
//! * [`tablelog`]: a table's `_delta_log` read from a store (listings whole or from a
//!   version on, checkpoint sets, checkpoint contents by content), shared by ordered and verify.
//! * [`ordered`]: the ordered publication of one table ([`ordered::TableSync`]).
//! * [`stream`]: Structured Streaming checkpoints (and file sinks), published batch by batch,
//!   never ahead of their sinks ([`stream::sync::StreamSync`]).
//! * [`artifacts`]: artifact sets (MLflow runs, model versions) and their DR manifests.
//! * [`index`]: what the table stage records beside the DR copies for the stream stage.
//! * [`handler`]: the Lambda handlers, shared with the CLI.
//! * [`deploy`]: the SAM template's parameters derived from a configuration.
//! * [`sync`]: full sync of every rule (backfill, reconcile).
//! * [`verify`]: invariant checks and lag per DR table.
//! * [`store`], [`queue`]: the I/O contracts and the local/in-memory adapters.
//! * [`error`]: the error type and its retry decision.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod artifacts;
pub mod classify;
pub mod config;
pub mod delta;
pub mod deploy;
pub mod error;
pub mod event;
pub mod handler;
pub mod index;
pub mod ordered;
pub mod queue;
pub mod store;
pub mod stream;
pub mod sync;
pub mod tablelog;
pub mod testing;
pub mod verify;

pub use config::{Config, Rule};
pub use error::{Error, Result};
pub use handler::{Context, OrderedSync, Replicator};
pub use store::{ObjectStore, ObjectUrl, Stores};
