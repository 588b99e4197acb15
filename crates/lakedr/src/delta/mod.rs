//! Delta Lake knowledge, without I/O: log file names, actions, checkpoints, deletion-vector ids.
//!
//! * [`log`]: what a file under `_delta_log/` is ([`LogFile`]).
//! * [`actions`]: which files a commit or checkpoint references ([`LogContents`]).
//! * [`z85`]: deletion-vector ids to file names.

pub mod actions;
pub mod log;
pub mod z85;

pub use actions::{FileRef, LogContents, RefKind, parse_checkpoint_parquet, parse_ndjson};
pub use log::{CheckpointKind, LogFile};

/// The directory of the transaction log under a table root.
pub const LOG_DIR: &str = "_delta_log/";

/// Relative key (from the table root) of commit `version`.
pub fn commit_name(version: u64) -> String {
    format!("{LOG_DIR}{version:020}.json")
}
