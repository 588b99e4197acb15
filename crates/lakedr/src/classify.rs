//! Classify, then act: every key under a rule becomes a [`KeyClass`] by a pure function.

use crate::delta::{LOG_DIR, LogFile};
use crate::stream::StreamFile;

/// What a key (relative to its rule's source prefix) is, and so how it is replicated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyClass {
    /// An immutable object (data file, deletion vector, change data, state file, artifact...):
    /// copied at once, in any order.
    Object,
    /// A file of a Delta log that must be published in order: handed to the ordered stage.
    DeltaLog {
        /// Table root relative to the rule's source, with a trailing `/` (empty for the root).
        table: String,
        file: LogFile,
    },
    /// A log entry of a Structured Streaming checkpoint (`metadata`, `offsets/N`,
    /// `commits/N`): the checkpoint is an ordered unit of its own.
    Stream {
        /// Checkpoint root relative to the rule's source (`""` or ending in `/`).
        root: String,
        file: StreamFile,
    },
    /// A file a checkpoint's batch needs (source log, state file, checksum sibling): copied
    /// by the checkpoint's ordered stage with that batch, never on its own.
    StreamBatchFile { root: String },
    /// A file sink's log entry (`<output>/_spark_metadata/N`): published after the files it
    /// lists, in order.
    FileSinkLog { root: String, batch: u64 },
    /// A file of an artifact set (an MLflow run's artifacts, a model version's): copied at
    /// once; the set's manifest in DR follows.
    Artifact { set: String },
    /// A declared temporary file (`_temporary/`, `.tmp/` commits, staged commits), or the
    /// product's own index: never copied.
    Temporary,
}

impl KeyClass {
    /// The ordered unit a key of this class belongs to.
    pub fn unit(&self) -> crate::queue::Unit {
        use crate::queue::Unit;
        match self {
            KeyClass::DeltaLog { .. } => Unit::Table,
            KeyClass::Stream { .. } | KeyClass::StreamBatchFile { .. } => Unit::Stream,
            KeyClass::FileSinkLog { .. } => Unit::FileSink,
            KeyClass::Artifact { .. } => Unit::Artifacts,
            KeyClass::Object | KeyClass::Temporary => Unit::Table,
        }
    }
}

/// Classifies a key relative to the rule's source prefix.
pub fn classify(rel: &str) -> KeyClass {
    if rel.is_empty() || rel.ends_with('/') {
        return KeyClass::Temporary; // directory markers carry nothing
    }
    if rel
        .split('/')
        .any(|seg| seg == "_temporary" || seg.starts_with(".spark-staging"))
    {
        return KeyClass::Temporary;
    }
    if let Some((table, name)) = split_log(rel) {
        return match LogFile::parse(name) {
            LogFile::Temporary => KeyClass::Temporary,
            LogFile::Unknown => KeyClass::Object,
            file => KeyClass::DeltaLog {
                table: table.to_string(),
                file,
            },
        };
    }
    if rel.starts_with(crate::index::DIR) || rel.contains(&format!("/{}", crate::index::DIR)) {
        return KeyClass::Temporary;
    }
    if let Some((root, file)) = crate::stream::split(rel) {
        return KeyClass::Stream {
            root: root.to_string(),
            file,
        };
    }
    if let Some(root) = crate::stream::split_batch_file(rel) {
        return KeyClass::StreamBatchFile {
            root: root.to_string(),
        };
    }
    // A file sink entry's checksum goes with the entry (after it), in the sink's ordered unit.
    let sink_entry = crate::stream::crc_sibling(rel);
    let sink_entry = sink_entry
        .as_deref()
        .filter(|s| crate::stream::split_file_sink(s).is_some());
    if let Some((root, batch)) = crate::stream::split_file_sink(sink_entry.unwrap_or(rel)) {
        return KeyClass::FileSinkLog {
            root: root.to_string(),
            batch,
        };
    }
    if let Some(set) = crate::artifacts::set_of(rel) {
        return KeyClass::Artifact {
            set: set.to_string(),
        };
    }
    KeyClass::Object
}

/// Splits `a/b/_delta_log/rest` into (`a/b/`, `rest`).
pub fn split_log(rel: &str) -> Option<(&str, &str)> {
    if let Some(rest) = rel.strip_prefix(LOG_DIR) {
        return Some(("", rest));
    }
    let i = rel.find(&format!("/{LOG_DIR}"))?;
    Some((&rel[..=i], &rel[i + 1 + LOG_DIR.len()..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_keys() {
        assert_eq!(classify("db/t/part-0.parquet"), KeyClass::Object);
        assert_eq!(
            classify("db/t/_delta_log/00000000000000000003.json"),
            KeyClass::DeltaLog {
                table: "db/t/".into(),
                file: LogFile::Commit(3)
            }
        );
        assert_eq!(
            classify("_delta_log/_last_checkpoint"),
            KeyClass::DeltaLog {
                table: String::new(),
                file: LogFile::LastCheckpoint
            }
        );
        assert_eq!(
            classify("db/t/_delta_log/.tmp/00000000000000000005.json"),
            KeyClass::Temporary
        );
        assert_eq!(
            classify("db/t/_delta_log/.00000000000000000000.json.crc"),
            KeyClass::Object
        );
        assert_eq!(classify("out/_temporary/0/part"), KeyClass::Temporary);
        assert_eq!(classify("db/t/"), KeyClass::Temporary);
        assert_eq!(classify("my_delta_log/x.json"), KeyClass::Object);
        assert_eq!(
            classify("cp/q1/commits/4"),
            KeyClass::Stream {
                root: "cp/q1/".into(),
                file: StreamFile::Commit(4)
            }
        );
        for batch_file in [
            "cp/q1/state/0/0/4.delta",
            "cp/q1/sources/0/4",
            "cp/q1/offsets/.4.crc",
        ] {
            assert_eq!(
                classify(batch_file),
                KeyClass::StreamBatchFile {
                    root: "cp/q1/".into()
                },
                "{batch_file}"
            );
        }
        assert_eq!(
            classify("out/_spark_metadata/2"),
            KeyClass::FileSinkLog {
                root: "out/".into(),
                batch: 2
            }
        );
        assert_eq!(
            classify("out/_spark_metadata/.2.crc"),
            classify("out/_spark_metadata/2")
        );
        assert_eq!(classify("out/.part-0.parquet.crc"), KeyClass::Object);
        assert_eq!(
            classify("ml/1/0123456789abcdef0123456789abcdef/artifacts/model/MLmodel"),
            KeyClass::Artifact {
                set: "ml/1/0123456789abcdef0123456789abcdef/artifacts/".into()
            }
        );
        assert_eq!(classify("_lakedr/txn/q/t.json"), KeyClass::Temporary);
    }
}
