//! Classify, then act: every key under a rule becomes a [`KeyClass`] by a pure function.

use crate::delta::{LOG_DIR, LogFile};

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
    /// A declared temporary file (`_temporary/`, `.tmp/` commits, staged commits): never copied.
    Temporary,
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
    }
}
