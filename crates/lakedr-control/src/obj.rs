//! Exported objects, and the walk that collects them.
//!
//! Every object becomes an [`Obj`]: a kind, an id unique within the kind, and the JSON body as
//! the API returned it, minus fields that describe run state rather than configuration (a
//! cluster's state or its driver's address), so that a restart does not count as a change.
//! Permissions and grants are kinds of their own whose id holds the object's type and id.

use futures::StreamExt;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::kind::{Kind, as_id};
use crate::terraform::TfConfig;

/// One exported object.
#[derive(Clone, Debug, PartialEq)]
pub struct Obj {
    pub kind: Kind,
    pub id: String,
    pub body: Value,
}

impl Obj {
    pub fn new(kind: Kind, id: impl Into<String>, body: Value) -> Self {
        Self {
            kind,
            id: id.into(),
            body,
        }
    }

    /// `kind/id`, its key in a manifest.
    pub fn key(&self) -> String {
        format!("{}/{}", self.kind, self.id)
    }
}

/// An object ready to store: its canonical bytes, their SHA-256, its Terraform JSON and what
/// the Terraform could not carry. The walk keeps objects in this form, a fraction of the
/// memory of parsed JSON values.
#[derive(Clone, Debug, PartialEq)]
pub struct Prepared {
    pub kind: Kind,
    pub id: String,
    pub bytes: Vec<u8>,
    pub sha256: String,
    pub terraform: Option<Vec<u8>>,
    pub terraform_sha256: Option<String>,
    /// What a restore from this Terraform must know (a location no rule covers, a value left
    /// to a variable...).
    pub notes: Vec<String>,
    /// The object's other name in audit records.
    pub alias: Option<String>,
}

impl Prepared {
    /// The stored form of an object; its Terraform comes later ([`Self::add_terraform`]), once
    /// the export knows which objects exist.
    pub fn new(o: &Obj) -> Self {
        let bytes = canonical(&o.body);
        Self {
            kind: o.kind,
            id: o.id.clone(),
            sha256: hex_sha256(&bytes),
            terraform: None,
            terraform_sha256: None,
            notes: Vec::new(),
            alias: o.kind.spec().alias(o),
            bytes,
        }
    }

    /// Writes the object's Terraform for `tf`.
    pub fn add_terraform(&mut self, tf: &TfConfig) {
        let body: Value = serde_json::from_slice(&self.bytes).unwrap_or(Value::Null);
        let o = Obj::new(self.kind, self.id.clone(), body);
        let (doc, notes) = crate::terraform::document(&o, tf);
        let terraform = doc.map(|d| canonical(&d));
        self.terraform_sha256 = terraform.as_deref().map(hex_sha256);
        self.terraform = terraform;
        self.notes = notes;
    }

    pub fn key(&self) -> String {
        format!("{}/{}", self.kind, self.id)
    }
}

/// The SHA-256 of bytes, in hex.
pub fn hex_sha256(b: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(b)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A failure to read one object, or a whole kind.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct ExportError {
    pub kind: String,
    /// The object, or empty when the listing of the kind itself failed.
    pub id: String,
    pub error: String,
}

/// The result of walking the workspace: objects, and what could not be read. `complete` lists
/// the kinds whose listing succeeded: only those can reveal deletions.
#[derive(Debug, Default)]
pub struct Walk {
    pub objects: Vec<Prepared>,
    pub errors: Vec<ExportError>,
    pub complete: Vec<Kind>,
    /// Objects one kind's walk found for another (Git folders outside `/Repos`, found in the
    /// workspace tree).
    pub hints: Vec<(Kind, String)>,
}

impl Walk {
    pub fn new() -> Self {
        Self::default()
    }

    /// A kind's listing: its items, the kind marked complete; or the failure recorded.
    pub fn listed<T>(&mut self, kind: Kind, r: Result<T>) -> Option<T> {
        match r {
            Ok(v) => {
                self.complete.push(kind);
                Some(v)
            }
            Err(e) => {
                self.fail(kind, "", &e);
                None
            }
        }
    }

    /// Keeps an object (in its stored form).
    pub fn push(&mut self, o: Obj) {
        self.objects.push(Prepared::new(&o));
    }

    pub fn fail(&mut self, kind: Kind, id: &str, e: &Error) {
        self.errors.push(ExportError {
            kind: kind.name().into(),
            id: id.into(),
            error: e.to_string(),
        });
    }

    /// Marks the kinds walked as parts of others complete when all their parents are.
    pub fn close(&mut self) {
        for k in Kind::ALL {
            let parents = k.spec().parents();
            let derived: Vec<Kind> = match k {
                Kind::Permissions => Kind::ALL
                    .iter()
                    .copied()
                    .filter(|p| p.spec().acl().is_some())
                    .collect(),
                Kind::Grants => Kind::ALL
                    .iter()
                    .copied()
                    .filter(|p| p.spec().securable().is_some())
                    .collect(),
                _ => parents.to_vec(),
            };
            if !derived.is_empty()
                && !self.complete.contains(k)
                && derived.iter().all(|p| self.complete.contains(p))
            {
                self.complete.push(*k);
            }
        }
    }
}

/// Reads many objects with bounded concurrency; failures are recorded, not fatal; an object
/// deleted since it was listed is left out.
pub async fn each<T, F, Fut>(walk: &mut Walk, kind: Kind, items: Vec<(String, T)>, n: usize, f: F)
where
    F: Fn(String, T) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<Obj>>>,
{
    let results: Vec<(String, Result<Vec<Obj>>)> =
        futures::stream::iter(items.into_iter().map(|(id, t)| {
            let fut = f(id.clone(), t);
            async move { (id, fut.await) }
        }))
        .buffer_unordered(n.max(1))
        .collect()
        .await;
    for (id, r) in results {
        match r {
            Ok(objs) => objs.into_iter().for_each(|o| walk.push(o)),
            Err(e) if e.is_not_found() => {}
            Err(e) => walk.fail(kind, &id, &e),
        }
    }
}

/// Run state, not configuration: dropped before comparing and storing.
pub const VOLATILE: &[&str] = &[
    "state",
    "state_message",
    "start_time",
    "terminated_time",
    "last_state_loss_time",
    "last_restarted_time",
    "last_activity_time",
    "termination_reason",
    "driver",
    "executors",
    "spark_context_id",
    "jdbc_port",
    "cluster_memory_mb",
    "cluster_cores",
    "cluster_log_status",
    "num_clusters",
    "num_active_sessions",
    "health",
    "stats",
    "status",
    "next_page_token",
    "has_more",
    "latest_updates",
];

pub fn strip_volatile(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        for k in VOLATILE {
            m.remove(*k);
        }
    }
    v
}

/// `(v[field] as an id, v)`, for values that have it.
pub fn keyed(v: Value, field: &str) -> Option<(String, Value)> {
    let k = as_id(&v[field])?;
    Some((k, v))
}

/// Items of a list answer under `key` (an absent key is an empty list).
pub fn items_of(page: &Value, key: &str) -> Vec<Value> {
    page[key].as_array().cloned().unwrap_or_default()
}

/// A path segment, percent-encoded.
pub fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A canonical form of a JSON value: object keys sorted at every depth, compact.
pub fn canonical(v: &Value) -> Vec<u8> {
    fn sort(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let mut out = Map::new();
                for k in keys {
                    out.insert(k.clone(), sort(&m[k]));
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    // serde_json's map keeps insertion order only with `preserve_order`; sorting first makes
    // the bytes canonical either way.
    serde_json::to_vec(&sort(v)).unwrap_or_default()
}

/// True when `key` is a part directly under `prefix` (a version of that model, not of a model
/// whose name continues with `/`).
pub fn is_part(key: &str, prefix: &str) -> bool {
    key.strip_prefix(prefix)
        .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let v = json!({"b": 1, "a": {"d": [{"z": 1, "y": 2}], "c": null}});
        assert_eq!(
            canonical(&v),
            br#"{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}"#
        );
    }

    #[test]
    fn parts_are_direct() {
        assert!(is_part("model_versions/a/1", "model_versions/a/"));
        assert!(!is_part("model_versions/a/1/2", "model_versions/a/"));
    }
}
