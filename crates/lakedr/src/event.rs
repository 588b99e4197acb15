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

/// What an event says happened to an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Created,
    Deleted,
    /// A known S3 event that changes no bytes (restore, tagging, ACL, storage class,
    /// replication status...): nothing to copy. Names the event.
    Unchanged(&'static str),
}

/// The S3 notification event names (`Records[].eventName`, without the `s3:` prefix), by what
/// they mean for a copy. An unknown name is an error: an event lakedr does not understand is
/// never taken for one it can skip.
fn notification_kind(name: &str) -> Option<ChangeKind> {
    let (family, _) = name.split_once(':').unwrap_or((name, ""));
    Some(match family {
        "ObjectCreated" => ChangeKind::Created,
        "ObjectRemoved" | "LifecycleExpiration" => ChangeKind::Deleted,
        "ObjectRestore" => ChangeKind::Unchanged("ObjectRestore"),
        "ObjectTagging" => ChangeKind::Unchanged("ObjectTagging"),
        "ObjectAcl" => ChangeKind::Unchanged("ObjectAcl"),
        "Replication" => ChangeKind::Unchanged("Replication"),
        "LifecycleTransition" => ChangeKind::Unchanged("LifecycleTransition"),
        "IntelligentTiering" => ChangeKind::Unchanged("IntelligentTiering"),
        // The source lost its copy of a Reduced Redundancy object: DR keeps its own.
        "ReducedRedundancyLostObject" => ChangeKind::Unchanged("ReducedRedundancyLostObject"),
        _ => return None,
    })
}

/// The EventBridge detail types of S3 (source `aws.s3`), by what they mean for a copy.
fn eventbridge_kind(detail_type: &str) -> Option<ChangeKind> {
    Some(match detail_type {
        "Object Created" => ChangeKind::Created,
        "Object Deleted" => ChangeKind::Deleted,
        "Object Restore Initiated" => ChangeKind::Unchanged("Object Restore Initiated"),
        "Object Restore Completed" => ChangeKind::Unchanged("Object Restore Completed"),
        "Object Restore Expired" => ChangeKind::Unchanged("Object Restore Expired"),
        "Object Tags Added" => ChangeKind::Unchanged("Object Tags Added"),
        "Object Tags Deleted" => ChangeKind::Unchanged("Object Tags Deleted"),
        "Object ACL Updated" => ChangeKind::Unchanged("Object ACL Updated"),
        "Object Storage Class Changed" => ChangeKind::Unchanged("Object Storage Class Changed"),
        "Object Access Tier Changed" => ChangeKind::Unchanged("Object Access Tier Changed"),
        _ => return None,
    })
}

/// The shapes of payload that carry object events; one arm each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `{"Records": [{"eventSource": "aws:s3", "s3": ...}]}`
    S3Notification,
    /// `{"source": "aws.s3", "detail-type": ..., "detail": ...}`
    EventBridge,
    /// `{"Type": "Notification", "Message": "<one of these, as text>"}`
    SnsEnvelope,
    /// `{"Event": "s3:TestEvent"}`, sent when notifications are configured.
    S3TestEvent,
}

impl Shape {
    /// The shape of `v`, if it is one of them.
    pub fn of(v: &Value) -> Option<Shape> {
        if v.get("Type").and_then(Value::as_str) == Some("Notification") {
            Some(Shape::SnsEnvelope)
        } else if v.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
            Some(Shape::S3TestEvent)
        } else if v.get("Records").is_some() {
            Some(Shape::S3Notification)
        } else if v.get("detail-type").is_some() {
            Some(Shape::EventBridge)
        } else {
            None
        }
    }
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
    #[serde(rename = "eventSource", default)]
    event_source: Option<String>,
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
/// invocation). The S3 test event yields no events; a shape, record or event name lakedr does
/// not know is an error naming it (the message is dead-lettered, never dropped as done).
pub fn parse_object_events(id: Option<&str>, v: &Value) -> Result<Vec<ObjectEvent>> {
    let Some(shape) = Shape::of(v) else {
        return Err(Error::malformed(
            id,
            "neither an S3 notification nor an EventBridge S3 event",
        ));
    };
    match shape {
        Shape::SnsEnvelope => {
            let msg = v
                .get("Message")
                .and_then(Value::as_str)
                .ok_or_else(|| Error::malformed(id, "SNS envelope without Message"))?;
            let inner: Value = serde_json::from_str(msg)
                .map_err(|e| Error::malformed(id, format!("SNS Message is not JSON: {e}")))?;
            parse_object_events(id, &inner)
        }
        Shape::S3TestEvent => Ok(Vec::new()),
        Shape::S3Notification => parse_notification(id, v),
        Shape::EventBridge => parse_eventbridge(id, v),
    }
}

fn parse_notification(id: Option<&str>, v: &Value) -> Result<Vec<ObjectEvent>> {
    let records: Vec<S3Record> = serde_json::from_value(v["Records"].clone())
        .map_err(|e| Error::malformed(id, format!("S3 notification: {e}")))?;
    let mut out = Vec::with_capacity(records.len());
    for (i, r) in records.into_iter().enumerate() {
        if let Some(source) = r.event_source.as_deref().filter(|s| *s != "aws:s3") {
            return Err(Error::malformed(
                id,
                format!("Records[{i}] comes from `{source}`, not from S3 (aws:s3)"),
            ));
        }
        let kind = notification_kind(&r.event_name).ok_or_else(|| {
            Error::malformed(
                id,
                format!("Records[{i}]: unknown S3 event name `{}`", r.event_name),
            )
        })?;
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
    Ok(out)
}

fn parse_eventbridge(id: Option<&str>, v: &Value) -> Result<Vec<ObjectEvent>> {
    let dt = v
        .get("detail-type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if v.get("source").and_then(Value::as_str) != Some("aws.s3") {
        return Err(Error::malformed(
            id,
            format!(
                "EventBridge event from `{}`, expected aws.s3",
                v.get("source").and_then(Value::as_str).unwrap_or("?")
            ),
        ));
    }
    let kind = eventbridge_kind(dt).ok_or_else(|| {
        Error::malformed(id, format!("unknown S3 EventBridge detail type `{dt}`"))
    })?;
    let detail: EbDetail = serde_json::from_value(v.get("detail").cloned().unwrap_or(Value::Null))
        .map_err(|e| Error::malformed(id, format!("EventBridge detail: {e}")))?;
    Ok(vec![ObjectEvent {
        url: ObjectUrl::s3(detail.bucket.name, detail.object.key),
        kind,
        size: detail.object.size,
        etag: non_empty(detail.object.etag),
        version_id: non_empty(detail.object.version_id),
        sequencer: non_empty(detail.object.sequencer),
    }])
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
        assert_eq!(evs.len(), 3);
        assert_eq!(evs[0].url.key, "x y");
        assert_eq!(evs[0].etag.as_deref(), Some("abc"));
        assert_eq!(evs[1].kind, ChangeKind::Deleted);
        assert_eq!(evs[2].kind, ChangeKind::Unchanged("ObjectRestore"));
    }

    #[test]
    fn unknown_shapes_records_and_names_are_errors_that_say_which() {
        let cases = [
            (
                r#"{"Records":[{"eventSource":"aws:dynamodb","eventName":"INSERT"}]}"#,
                "aws:dynamodb",
            ),
            (
                r#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectTeleported:Now","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}"#,
                "ObjectTeleported:Now",
            ),
            (
                r#"{"source":"aws.s3","detail-type":"Object Teleported","detail":{}}"#,
                "Object Teleported",
            ),
            (
                r#"{"source":"aws.ec2","detail-type":"EC2 Instance State-change Notification","detail":{}}"#,
                "aws.ec2",
            ),
            (
                r#"{"Type":"Notification","Message":"{\"hello\":1}"}"#,
                "neither",
            ),
        ];
        for (body, needle) in cases {
            let v: Value = serde_json::from_str(body).unwrap();
            let e = parse_object_events(Some("m-7"), &v).unwrap_err();
            let text = e.to_string();
            assert!(
                text.contains(needle) && text.contains("m-7"),
                "{body}: {text}"
            );
            assert_eq!(e.disposition(), crate::error::Disposition::DeadLetter);
        }
        let tags: Value = serde_json::from_str(
            r#"{"source":"aws.s3","detail-type":"Object Tags Added","detail":{"bucket":{"name":"b"},"object":{"key":"k"}}}"#,
        )
        .unwrap();
        assert_eq!(
            parse_object_events(None, &tags).unwrap()[0].kind,
            ChangeKind::Unchanged("Object Tags Added")
        );
    }

    #[test]
    fn rejects_garbage_with_the_message_id() {
        let e = parse_object_events(Some("msg-1"), &serde_json::json!({"hello": 1})).unwrap_err();
        assert!(e.to_string().contains("msg-1"), "{e}");
        assert!(!e.is_retryable());
    }
}
