//! The actions of commits and checkpoints that matter to a copy: which files a version needs.

use std::collections::BTreeSet;

use bytes::Bytes;
use percent_encoding::percent_decode_str;
use serde_json::Value;

use super::z85;

/// Why a file is referenced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RefKind {
    /// `add.path`
    Data,
    /// A `u` deletion vector of an `add`.
    DeletionVector,
    /// `cdc.path`
    ChangeData,
    /// `sidecar.path` of a V2 checkpoint (relative to `_delta_log/_sidecars/`).
    Sidecar,
}

/// A file a version needs, relative to the table root, already URI-decoded once.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileRef {
    pub rel: String,
    pub kind: RefKind,
    /// Size the log records, when it records one.
    pub size: Option<u64>,
}

/// What a commit or checkpoint says about files and features.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogContents {
    /// Files inside the table root that must exist for this version to be readable.
    pub files: BTreeSet<FileRef>,
    /// References outside the table root (absolute paths, `p` deletion vectors, `..`):
    /// the DR copy would depend on another location.
    pub external: Vec<String>,
    /// Reader/writer features of a `protocol` action, if any.
    pub features: BTreeSet<String>,
    /// `txn` actions: (appId, version).
    pub txns: Vec<(String, i64)>,
    /// `metaData.id`, the table's identity, when a `metaData` action is there.
    pub metadata_id: Option<String>,
    /// Number of actions read.
    pub actions: usize,
}

impl LogContents {
    /// True if the protocol makes the filesystem log non-authoritative (catalog-managed tables).
    pub fn catalog_managed(&self) -> bool {
        self.features
            .iter()
            .any(|f| f == "catalogManaged" || f == "catalogOwned-preview")
    }

    fn merge(&mut self, other: LogContents) {
        self.files.extend(other.files);
        self.external.extend(other.external);
        self.features.extend(other.features);
        self.txns.extend(other.txns);
        self.metadata_id = other.metadata_id.or(self.metadata_id.take());
        self.actions += other.actions;
    }

    fn accept(&mut self, action: &Value) {
        let Some(obj) = action.as_object() else {
            return;
        };
        self.actions += 1;
        for (name, body) in obj {
            if body.is_null() {
                continue;
            }
            match name.as_str() {
                "add" => {
                    self.path_ref(body, RefKind::Data);
                    self.deletion_vector(body.get("deletionVector"));
                }
                "cdc" => self.path_ref(body, RefKind::ChangeData),
                "sidecar" => {
                    if let Some(p) = body.get("path").and_then(Value::as_str) {
                        let name = decode_once(p);
                        if is_external(&name) || name.contains('/') {
                            self.external.push(p.to_string());
                        } else {
                            self.files.insert(FileRef {
                                rel: format!("{}_sidecars/{name}", super::LOG_DIR),
                                kind: RefKind::Sidecar,
                                size: body.get("sizeInBytes").and_then(Value::as_u64),
                            });
                        }
                    }
                }
                "protocol" => {
                    for key in ["readerFeatures", "writerFeatures"] {
                        if let Some(list) = body.get(key).and_then(Value::as_array) {
                            self.features
                                .extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
                        }
                    }
                }
                "metaData" => {
                    if let Some(id) = body.get("id").and_then(Value::as_str) {
                        self.metadata_id = Some(id.to_owned());
                    }
                }
                "txn" => {
                    if let (Some(app), Some(v)) = (
                        body.get("appId").and_then(Value::as_str),
                        body.get("version").and_then(Value::as_i64),
                    ) {
                        self.txns.push((app.to_owned(), v));
                    }
                }
                _ => {}
            }
        }
    }

    fn path_ref(&mut self, body: &Value, kind: RefKind) {
        let Some(p) = body.get("path").and_then(Value::as_str) else {
            return;
        };
        let rel = decode_once(p);
        if is_external(&rel) {
            self.external.push(p.to_string());
            return;
        }
        self.files.insert(FileRef {
            rel,
            kind,
            size: body.get("size").and_then(Value::as_u64),
        });
    }

    fn deletion_vector(&mut self, dv: Option<&Value>) {
        let Some(dv) = dv.filter(|d| !d.is_null()) else {
            return;
        };
        let storage = dv
            .get("storageType")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let path = dv
            .get("pathOrInlineDv")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match storage {
            "u" if path.len() >= 20 && path.is_char_boundary(path.len() - 20) => {
                let (prefix, id) = path.split_at(path.len() - 20);
                match z85::uuid(id) {
                    Some(uuid) => {
                        let dir = if prefix.is_empty() {
                            String::new()
                        } else {
                            format!("{prefix}/")
                        };
                        self.files.insert(FileRef {
                            rel: format!("{dir}deletion_vector_{uuid}.bin"),
                            kind: RefKind::DeletionVector,
                            size: None,
                        });
                    }
                    None => self
                        .external
                        .push(format!("undecodable deletion vector id `{path}`")),
                }
            }
            "u" => self
                .external
                .push(format!("undecodable deletion vector id `{path}`")),
            "p" => self.external.push(path.to_string()),
            _ => {} // "i": inline, no file
        }
    }
}

/// One URI-decode, as the protocol says (`%25` becomes `%`, never twice).
fn decode_once(p: &str) -> String {
    percent_decode_str(p).decode_utf8_lossy().into_owned()
}

/// Absolute URIs (`s3://`, `file:/`), absolute paths and `..` segments leave the table root.
fn is_external(rel: &str) -> bool {
    let scheme = rel.split_once(':').is_some_and(|(s, _)| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
            && s.starts_with(|c: char| c.is_ascii_alphabetic())
    });
    scheme || rel.starts_with('/') || rel.split('/').any(|seg| seg == "..")
}

/// Parses newline-delimited JSON actions (a commit, a JSON checkpoint, a compaction).
///
/// Errors carry the 1-based line number.
pub fn parse_ndjson(body: &[u8]) -> Result<LogContents, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("not UTF-8: {e}"))?;
    let mut out = LogContents::default();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
        if !v.is_object() {
            return Err(format!("line {}: an action must be a JSON object", i + 1));
        }
        out.accept(&v);
    }
    if out.actions == 0 {
        return Err("no actions".into());
    }
    Ok(out)
}

/// Reads a parquet checkpoint (classic, one part, V2 top-level or sidecar).
pub fn parse_checkpoint_parquet(body: Bytes) -> Result<LogContents, String> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(body).map_err(|e| e.to_string())?;
    let mut out = LogContents::default();
    let rows = reader.get_row_iter(None).map_err(|e| e.to_string())?;
    for row in rows {
        let row = row.map_err(|e| e.to_string())?;
        let mut one = LogContents::default();
        one.accept(&row.to_json_value());
        out.merge(one);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(body: &str) -> Vec<(String, RefKind)> {
        parse_ndjson(body.as_bytes())
            .unwrap()
            .files
            .into_iter()
            .map(|f| (f.rel, f.kind))
            .collect()
    }

    #[test]
    fn decodes_paths_exactly_once() {
        let got = files(
            r#"{"add":{"path":"x=B%2520B/part-0.parquet","size":3,"partitionValues":{},"modificationTime":0,"dataChange":true}}
{"add":{"path":"test%25file%25prefix-part-1.parquet","size":3}}
{"cdc":{"path":"_change_data/cdc-00000.parquet","size":1}}
{"remove":{"path":"gone.parquet"}}"#,
        );
        assert_eq!(
            got,
            vec![
                (
                    "_change_data/cdc-00000.parquet".to_string(),
                    RefKind::ChangeData
                ),
                ("test%file%prefix-part-1.parquet".to_string(), RefKind::Data),
                ("x=B%20B/part-0.parquet".to_string(), RefKind::Data),
            ]
        );
    }

    #[test]
    fn deletion_vectors_and_externals() {
        let c = parse_ndjson(
            br#"{"add":{"path":"a.parquet","size":1,"deletionVector":{"storageType":"u","pathOrInlineDv":"ab^-aqEH.-t@S}K{vb[*k^","offset":1,"sizeInBytes":36,"cardinality":2}}}
{"add":{"path":"b.parquet","size":1,"deletionVector":{"storageType":"i","pathOrInlineDv":"wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L","sizeInBytes":40,"cardinality":6}}}
{"add":{"path":"s3://other/c.parquet","size":1}}
{"add":{"path":"..//Users/x.parquet","size":1}}
{"add":{"path":"time=1971-07-22T03:06:40.000000Z/d.parquet","size":1}}
{"protocol":{"minReaderVersion":3,"minWriterVersion":7,"readerFeatures":["catalogManaged"]}}
{"txn":{"appId":"q1","version":4}}"#,
        )
        .unwrap();
        let rels: Vec<_> = c.files.iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(
            rels,
            vec![
                "a.parquet",
                "ab/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin",
                "b.parquet",
                "time=1971-07-22T03:06:40.000000Z/d.parquet"
            ]
        );
        assert_eq!(
            c.external,
            vec!["s3://other/c.parquet", "..//Users/x.parquet"]
        );
        assert!(c.catalog_managed());
        assert_eq!(c.txns, vec![("q1".to_string(), 4)]);
    }

    #[test]
    fn bad_commits_say_where() {
        assert!(
            parse_ndjson(b"{\"add\":{}}\n{oops")
                .unwrap_err()
                .contains("line 2")
        );
        assert!(parse_ndjson(b"").unwrap_err().contains("no actions"));
        assert!(parse_ndjson(b"[1]").unwrap_err().contains("line 1"));
    }
}
