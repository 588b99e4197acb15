//! Databricks audit logs (JSON lines, as delivered to
//! `workspaceId=<id>/date=<day>/auditlogs_*.json`) to control-plane changes: which object of
//! which kind a successful mutating request changed, by id.
//!
//! Each kind says which records change it ([`crate::kind::KindSpec::audit`]); a record names its
//! object by id (`requestParams.job_id`, `resourceId` of an ACL change), in `response.result`
//! (the id of what a create made), by path, by name, or by another id the export knows it by (a
//! workspace object's numeric id, a serving endpoint's id): those are resolved through the
//! latest export ([`Index`]). Reads, failed requests and actions not followed are counted, not
//! published; duplicates (one `requestId` seen twice, as when a delivered file is overwritten in
//! place) are dropped. Only the served workspace's records are followed, and Unity Catalog
//! records of another workspace on the same metastore (Unity Catalog objects belong to the
//! metastore); account-level records (workspace id 0) change account objects.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::kind::{Hit, Kind};

/// One changed object. `id` is empty when the change is known only by kind (the next full
/// export captures it).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Change {
    pub workspace_id: String,
    pub kind: String,
    pub id: String,
    pub service: String,
    pub action: String,
    pub request_id: String,
    /// Milliseconds since the epoch, from the audit record.
    pub timestamp: u64,
}

/// One audit record, as the kinds read it.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    pub raw: &'a Value,
    pub service: &'a str,
    pub action: &'a str,
}

impl<'a> Record<'a> {
    pub fn new(raw: &'a Value) -> Option<Self> {
        Some(Self {
            raw,
            service: raw["serviceName"].as_str()?,
            action: raw["actionName"].as_str()?,
        })
    }

    /// The record is `service` with one of `actions`.
    pub fn is(&self, service: &str, actions: &[&str]) -> bool {
        self.service == service && actions.contains(&self.action)
    }

    /// An account-level record (workspace id 0, or `ACCOUNT_LEVEL`).
    pub fn account_level(&self) -> bool {
        self.raw["auditLevel"] == "ACCOUNT_LEVEL"
            || crate::kind::as_id(&self.raw["workspaceId"]).as_deref() == Some("0")
    }

    /// The first of `names` among the request parameters, as a string.
    pub fn param(&self, names: &[&str]) -> Option<String> {
        names
            .iter()
            .find_map(|n| match &self.raw["requestParams"][*n] {
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                Value::Number(x) => Some(x.to_string()),
                _ => None,
            })
    }

    /// A field of the response's `result`, which the audit log carries as a JSON string.
    pub fn result(&self, name: &str) -> Option<String> {
        let v: Value = match &self.raw["response"]["result"] {
            Value::String(s) => serde_json::from_str(s).ok()?,
            other => other.clone(),
        };
        crate::kind::as_id(&v[name])
    }

    /// `catalog.schema.name` from three parameters.
    pub fn three(&self, c: &[&str], s: &[&str], n: &[&str]) -> Option<String> {
        Some(format!(
            "{}.{}.{}",
            self.param(c)?,
            self.param(s)?,
            self.param(n)?
        ))
    }

    /// The same parent with another last name segment: `a.b.c` and `d` give `a.b.d`.
    pub fn sibling(full: &str, new_name: &str) -> String {
        match full.rsplit_once('.') {
            Some((parent, _)) => format!("{parent}.{new_name}"),
            None => new_name.to_string(),
        }
    }
}

/// What the export knows that records do not say: the other ids objects are known by, which
/// kind a workspace path is, the metastore.
pub trait Index {
    /// The object known in audit records as `alias` (a workspace object id...).
    fn resolve(&self, alias: &str) -> Option<(Kind, String)>;
    /// The kind of the workspace object at `path`.
    fn kind_at(&self, path: &str) -> Option<Kind>;
    /// The workspace's metastore id.
    fn metastore_id(&self) -> Option<String>;
}

/// An index that knows nothing (no export yet).
#[derive(Debug, Default)]
pub struct NoIndex;

impl Index for NoIndex {
    fn resolve(&self, _: &str) -> Option<(Kind, String)> {
        None
    }
    fn kind_at(&self, _: &str) -> Option<Kind> {
        None
    }
    fn metastore_id(&self) -> Option<String> {
        None
    }
}

/// The latest export's manifest as an [`Index`].
#[derive(Debug, Default)]
pub struct ManifestIndex {
    aliases: BTreeMap<String, (Kind, String)>,
    paths: BTreeMap<String, Kind>,
    metastore: Option<String>,
}

impl ManifestIndex {
    pub fn new(m: &crate::export::Manifest) -> Self {
        let mut out = Self::default();
        for (key, e) in &m.objects {
            let Some((kind, id)) = key.split_once('/') else {
                continue;
            };
            let Some(kind) = Kind::parse(kind) else {
                continue;
            };
            if let Some(a) = &e.alias {
                out.aliases.insert(a.clone(), (kind, id.to_string()));
            }
            match kind {
                Kind::Notebooks | Kind::Directories | Kind::WorkspaceFiles => {
                    out.paths.insert(id.to_string(), kind);
                }
                Kind::Metastore => out.metastore = Some(id.to_string()),
                _ => {}
            }
        }
        out
    }
}

impl Index for ManifestIndex {
    fn resolve(&self, alias: &str) -> Option<(Kind, String)> {
        self.aliases.get(alias).cloned()
    }
    fn kind_at(&self, path: &str) -> Option<Kind> {
        self.paths.get(path).copied()
    }
    fn metastore_id(&self) -> Option<String> {
        self.metastore.clone()
    }
}

/// What a file gave.
#[derive(Debug, Default)]
pub struct Parsed {
    pub changes: Vec<Change>,
    /// Lines that are not audit records, with their line numbers (1-based).
    pub malformed: Vec<(usize, String)>,
    /// Records of services or actions not followed (by `service.action`).
    pub ignored: BTreeMap<String, u64>,
    /// Failed requests (nothing changed).
    pub failed: u64,
    /// Records whose `requestId` was seen before.
    pub duplicates: u64,
    /// Records of other workspaces.
    pub other_workspaces: u64,
}

/// `workspaceId=<id>` from an audit-log key.
pub fn workspace_of(key: &str) -> Option<&str> {
    key.split('/').find_map(|s| s.strip_prefix("workspaceId="))
}

/// The `(kind, id)` a record changed; an empty id when the record names the object in a way
/// the index cannot resolve (the next full export captures it).
pub fn classify(r: &Value, index: &dyn Index) -> Vec<(Kind, String)> {
    let Some(rec) = Record::new(r) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for k in Kind::ALL {
        if let Some(hit) = k.spec().audit(&rec) {
            flatten(*k, hit, index, &mut out);
        }
    }
    out.sort();
    out.dedup();
    out
}

fn flatten(kind: Kind, hit: Hit, index: &dyn Index, out: &mut Vec<(Kind, String)>) {
    match hit {
        Hit::Id(id) => out.push((kind, id)),
        Hit::Renamed(old, new) => {
            out.push((kind, old));
            out.push((kind, new));
        }
        Hit::Other(k, id) => out.push((k, id)),
        Hit::Alias(a) => match index.resolve(&a) {
            Some((k, id)) => out.push((k, id)),
            None => out.push((kind, String::new())),
        },
        Hit::Paths(paths) => {
            let k = paths.first().and_then(|p| index.kind_at(p)).unwrap_or(kind);
            out.extend(paths.into_iter().map(|p| (k, p)));
        }
        Hit::Many(hits) => {
            for h in hits {
                flatten(kind, h, index, out);
            }
        }
    }
}

/// Parses one audit-log file for the workspace `workspace_id`. `seen` holds request ids
/// already published for it (or for earlier files); new ones are added.
pub fn parse(
    workspace_id: &str,
    text: &str,
    seen: &mut BTreeSet<String>,
    index: &dyn Index,
) -> Parsed {
    let mut out = Parsed::default();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let r: Value = match serde_json::from_str(line) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => {
                out.malformed.push((i + 1, "not a JSON object".into()));
                continue;
            }
            Err(e) => {
                out.malformed.push((i + 1, e.to_string()));
                continue;
            }
        };
        let Some(rec) = Record::new(&r) else {
            out.malformed
                .push((i + 1, "no serviceName or actionName".into()));
            continue;
        };
        let status = r["response"]["statusCode"].as_u64().unwrap_or(200);
        if status >= 400 {
            out.failed += 1;
            continue;
        }
        let record_ws =
            crate::kind::as_id(&r["workspaceId"]).unwrap_or_else(|| workspace_id.to_string());
        let ours = record_ws == workspace_id
            || rec.account_level()
            || (rec.service == "unityCatalog"
                && rec
                    .param(&["metastore_id", "metastoreId"])
                    .is_some_and(|m| index.metastore_id().as_deref() == Some(m.as_str())));
        if !ours {
            out.other_workspaces += 1;
            continue;
        }
        let hits = classify(&r, index);
        if hits.is_empty() {
            *out.ignored
                .entry(format!("{}.{}", rec.service, rec.action))
                .or_default() += 1;
            continue;
        }
        let request_id = r["requestId"].as_str().unwrap_or_default().to_string();
        // A long request and its result share a request id: the pair is one record.
        let dedup = format!("{request_id}/{}", rec.action);
        if !request_id.is_empty() && !seen.insert(dedup) {
            out.duplicates += 1;
            continue;
        }
        for (kind, id) in hits {
            out.changes.push(Change {
                workspace_id: record_ws.clone(),
                kind: kind.name().to_string(),
                id,
                service: rec.service.to_string(),
                action: rec.action.to_string(),
                request_id: request_id.clone(),
                timestamp: r["timestamp"].as_u64().unwrap_or_default(),
            });
        }
    }
    // One event per object: the export reads its current state, whatever the number of edits.
    let mut last: BTreeMap<(String, String), Change> = BTreeMap::new();
    for c in out.changes.drain(..) {
        last.insert((c.kind.clone(), c.id.clone()), c);
    }
    out.changes = last.into_values().collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(service: &str, action: &str, req: &str, params: Value, status: u64) -> String {
        json!({"version": "2.0", "auditLevel": "WORKSPACE_LEVEL", "timestamp": 1764597782000u64,
            "workspaceId": 1234, "serviceName": service, "actionName": action, "requestId": req,
            "userIdentity": {"email": "alice@example.com"}, "sourceIPAddress": "10.0.0.1",
            "requestParams": params, "response": {"statusCode": status, "errorMessage": null,
            "result": if action == "create" && service == "jobs" { Value::String("{\"job_id\":77}".into()) } else { Value::Null }}})
        .to_string()
    }

    #[test]
    fn maps_mutations_drops_reads_failures_duplicates_and_unknowns() {
        let text = [
            rec("jobs", "create", "r1", json!({"name": "n"}), 200),
            rec("jobs", "update", "r2", json!({"job_id": "12"}), 200),
            rec("jobs", "update", "r2", json!({"job_id": "12"}), 200), // duplicate
            rec("jobs", "update", "r3", json!({"job_id": "12"}), 200), // same object
            rec("jobs", "get", "r4", json!({"job_id": "12"}), 200),    // a read
            rec("clusters", "edit", "r5", json!({"cluster_id": "c-1"}), 403), // failed
            rec(
                "unityCatalog",
                "updatePermissions",
                "r6",
                json!({"securable_type": "SCHEMA", "securable_full_name": "sales.orders"}),
                200,
            ),
            rec(
                "secrets",
                "putSecret",
                "r8",
                json!({"scope": "s", "key": "k"}),
                200,
            ),
            rec("brandNewService", "doThing", "r9", json!({}), 200),
            "{not json".to_string(),
        ]
        .join("\n");
        let mut seen = BTreeSet::new();
        let p = parse("1234", &text, &mut seen, &NoIndex);
        let got: Vec<(String, String)> = p
            .changes
            .iter()
            .map(|c| (c.kind.clone(), c.id.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("jobs".into(), "12".into()),
                ("jobs".into(), "77".into()),
                ("schemas".into(), "sales.orders".into()),
            ]
        );
        assert_eq!((p.duplicates, p.failed), (1, 1));
        assert_eq!(p.malformed.len(), 1);
        assert_eq!(p.malformed[0].0, 10);
        assert_eq!(p.ignored["jobs.get"], 1);
        assert_eq!(
            p.ignored["secrets.putSecret"], 1,
            "a secret value is never followed"
        );
        assert_eq!(p.ignored["brandNewService.doThing"], 1);
        let again = parse("1234", &text, &mut seen, &NoIndex);
        assert!(
            again.changes.is_empty() && again.duplicates == 5,
            "{again:?}"
        );
        assert_eq!(
            workspace_of("logs/workspaceId=42/date=2026-12-01/auditlogs_x.json"),
            Some("42")
        );
    }
}
