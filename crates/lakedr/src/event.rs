//! Incoming payloads, parsed leniently into typed values.
//!
//! Accepted shapes: S3 event notifications (`Records[].s3`, keys URL-encoded with `+` for space),
//! EventBridge "Object Created"/"Object Deleted" events (keys as stored), either of them inside
//! an SNS envelope, the S3 test event, and S3 Batch Operations invocations (schema 1.0 and 2.0).
//! Fields that real S3 sends but test servers omit (`sequencer`, `versionId`, `userIdentity`) are
//! optional here.

use percent_encoding::percent_decode_str;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::store::ObjectUrl;

/// Created or deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Created,
    Deleted,
}

/// One object change, keys decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectEvent {
    pub url: ObjectUrl,
    pub kind: ChangeKind,
    pub size: Option<u64>,
    pub etag: Option<String>,
    pub version_id: Option<String>,
    pub sequencer: Option<String>,
}

impl ObjectEvent {
    /// A token that tells two events of one key apart.
    pub fn token(&self) -> String {
        self.version_id
            .clone()
            .or_else(|| self.sequencer.clone())
            .or_else(|| self.etag.clone())
            .unwrap_or_default()
    }
}

/// Decodes an S3 notification key: `+` is a space, then percent-decoding.
pub fn decode_notification_key(key: &str) -> String {
    percent_decode_str(&key.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

#[derive(Deserialize)]
struct S3Record {
    #[serde(rename = "eventName", default)]
    event_name: String,
    s3: Option<S3Entity>,
}

#[derive(Deserialize)]
struct S3Entity {
    bucket: NameOnly,
    object: S3Object,
}

#[derive(Deserialize)]
struct NameOnly {
    name: String,
}

#[derive(Deserialize)]
struct S3Object {
    key: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(rename = "eTag", default)]
    etag: Option<String>,
    #[serde(rename = "versionId", default)]
    version_id: Option<String>,
    #[serde(default)]
    sequencer: Option<String>,
}

#[derive(Deserialize)]
struct EbDetail {
    bucket: NameOnly,
    object: EbObject,
}

#[derive(Deserialize)]
struct EbObject {
    key: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    etag: Option<String>,
    #[serde(rename = "version-id", default)]
    version_id: Option<String>,
    #[serde(default)]
    sequencer: Option<String>,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
}

/// Parses one JSON document carrying object events (an SQS message body, or a direct
/// invocation). The S3 test event yields no events.
pub fn parse_object_events(id: Option<&str>, v: &Value) -> Result<Vec<ObjectEvent>> {
    // SNS envelope.
    if v.get("Type").and_then(Value::as_str) == Some("Notification") {
        let msg = v
            .get("Message")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::malformed(id, "SNS envelope without Message"))?;
        let inner: Value = serde_json::from_str(msg)
            .map_err(|e| Error::malformed(id, format!("SNS Message is not JSON: {e}")))?;
        return parse_object_events(id, &inner);
    }
    if v.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(Vec::new());
    }
    if let Some(records) = v.get("Records") {
        let records: Vec<S3Record> = serde_json::from_value(records.clone())
            .map_err(|e| Error::malformed(id, format!("S3 notification: {e}")))?;
        let mut out = Vec::with_capacity(records.len());
        for (i, r) in records.into_iter().enumerate() {
            let kind = if r.event_name.starts_with("ObjectCreated:") {
                ChangeKind::Created
            } else if r.event_name.starts_with("ObjectRemoved:")
                || r.event_name.starts_with("LifecycleExpiration:")
            {
                ChangeKind::Deleted
            } else {
                continue; // restore, replication, tagging... events change no bytes
            };
            let s3 =
                r.s3.ok_or_else(|| Error::malformed(id, format!("Records[{i}] has no s3 field")))?;
            out.push(ObjectEvent {
                url: ObjectUrl::s3(s3.bucket.name, decode_notification_key(&s3.object.key)),
                kind,
                size: s3.object.size,
                etag: non_empty(s3.object.etag),
                version_id: non_empty(s3.object.version_id),
                sequencer: non_empty(s3.object.sequencer),
            });
        }
        return Ok(out);
    }
    if let Some(dt) = v.get("detail-type").and_then(Value::as_str) {
        if v.get("source").and_then(Value::as_str) != Some("aws.s3") {
            return Err(Error::malformed(
                id,
                format!(
                    "EventBridge event from `{}`, expected aws.s3",
                    v.get("source").and_then(Value::as_str).unwrap_or("?")
                ),
            ));
        }
        let kind = match dt {
            "Object Created" => ChangeKind::Created,
            "Object Deleted" => ChangeKind::Deleted,
            _ => return Ok(Vec::new()),
        };
        let detail: EbDetail =
            serde_json::from_value(v.get("detail").cloned().unwrap_or(Value::Null))
                .map_err(|e| Error::malformed(id, format!("EventBridge detail: {e}")))?;
        return Ok(vec![ObjectEvent {
            url: ObjectUrl::s3(detail.bucket.name, detail.object.key),
            kind,
            size: detail.object.size,
            etag: non_empty(detail.object.etag),
            version_id: non_empty(detail.object.version_id),
            sequencer: non_empty(detail.object.sequencer),
        }]);
    }
    Err(Error::malformed(
        id,
        "neither an S3 notification nor an EventBridge S3 event",
    ))
}

/// An S3 Batch Operations invocation (schema 1.0 or 2.0).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchJobInvocation {
    pub invocation_schema_version: String,
    pub invocation_id: String,
    pub tasks: Vec<BatchTask>,
}

/// One task of a batch job.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchTask {
    pub task_id: String,
    pub s3_key: String,
    #[serde(default)]
    pub s3_version_id: Option<String>,
    /// Schema 1.0.
    #[serde(default)]
    pub s3_bucket_arn: Option<String>,
    /// Schema 2.0.
    #[serde(default)]
    pub s3_bucket: Option<String>,
}

impl BatchTask {
    /// The object the task names; keys arrive URL-encoded.
    pub fn object(&self) -> Result<ObjectEvent> {
        let bucket = self
            .s3_bucket
            .clone()
            .or_else(|| {
                self.s3_bucket_arn
                    .as_deref()
                    .map(|a| a.rsplit(':').next().unwrap_or(a).to_string())
            })
            .filter(|b| !b.is_empty())
            .ok_or_else(|| {
                Error::malformed(
                    Some(&self.task_id),
                    "task has neither s3Bucket nor s3BucketArn",
                )
            })?;
        Ok(ObjectEvent {
            url: ObjectUrl::s3(
                bucket,
                percent_decode_str(&self.s3_key)
                    .decode_utf8_lossy()
                    .into_owned(),
            ),
            kind: ChangeKind::Created,
            size: None,
            etag: None,
            version_id: non_empty(self.s3_version_id.clone()),
            sequencer: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_notification_keys() {
        assert_eq!(
            decode_notification_key("a+b%2Bc%25d%3A%26%C3%A9"),
            "a b+c%d:&é"
        );
    }

    #[test]
    fn parses_lenient_s3_records() {
        let v: Value = serde_json::from_str(
            r#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"x+y","size":3,"eTag":"abc"}}},
            {"eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"z"}}},
            {"eventName":"ObjectRestore:Completed","s3":{"bucket":{"name":"b"},"object":{"key":"z"}}}]}"#,
        )
        .unwrap();
        let evs = parse_object_events(None, &v).unwrap();
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].url.key, "x y");
        assert_eq!(evs[0].etag.as_deref(), Some("abc"));
        assert_eq!(evs[1].kind, ChangeKind::Deleted);
    }

    #[test]
    fn rejects_garbage_with_the_message_id() {
        let e = parse_object_events(Some("msg-1"), &serde_json::json!({"hello": 1})).unwrap_err();
        assert!(e.to_string().contains("msg-1"), "{e}");
        assert!(!e.is_retryable());
    }
}
