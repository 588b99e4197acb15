//! What the two control-plane functions do, without AWS: audit-log files to change events on an
//! [`EventBus`], and the export run a change event or a schedule asks for. The AWS adapter
//! gives the bus (EventBridge), the storage (S3) and the credentials (Secrets Manager).

use std::collections::BTreeSet;

use async_trait::async_trait;
use bytes::Bytes;
use lakedr::store::{ObjectUrl, PutOptions, Stores};
use serde_json::{Value, json};

use crate::api::WorkspaceApi;
use crate::audit::{self, Change, Index};
use crate::error::{Disposition, Error, Result};
use crate::export::{Destination, RunOptions, export_full, export_one};
use crate::kind::Kind;

/// Source and detail type of the change events.
pub const SOURCE: &str = "lakedr.audit";
pub const DETAIL_TYPE: &str = "lakedr control-plane change";

/// Where change events go.
#[async_trait]
pub trait EventBus: Send + Sync {
    /// Publishes every change (retrying what the bus refuses); how many it took.
    async fn publish(&self, changes: &[Change]) -> Result<u64>;
}

/// The audit state of one audit-log file: the request ids already published from it. A state
/// that does not read back is an error, never "nothing seen" (that would publish it all again,
/// or worse, hide what was lost).
async fn seen_of(stores: &Stores, url: &ObjectUrl) -> Result<BTreeSet<String>> {
    match stores.get(url).await {
        Ok(g) => serde_json::from_slice(&g.body).map_err(|e| Error::Corrupt {
            key: url.to_string(),
            detail: format!("the audit state does not parse: {e}"),
        }),
        Err(lakedr::Error::NotFound { .. }) => Ok(BTreeSet::new()),
        Err(e) => Err(e.into()),
    }
}

/// The audit function: for each audit-log file an event names (S3 notification or
/// EventBridge "Object Created"), publishes the changes not published before. Which request ids
/// a file has given is kept beside the exports (`<state>/audit-state/<bucket>/<key>.json`), so a
/// file overwritten in place publishes only its new records. `index` resolves what records name
/// by another id (the latest export).
pub async fn handle_audit(
    payload: &Value,
    stores: &Stores,
    state: &ObjectUrl,
    bus: &dyn EventBus,
    index: &dyn Index,
) -> Result<Value> {
    let objects = lakedr::event::parse_object_events(None, payload).map_err(|e| match e {
        e @ lakedr::Error::MalformedEvent { .. } => Error::Malformed(e.to_string()),
        e => e.into(),
    })?;
    let mut report = Vec::new();
    for ev in objects {
        match ev.kind {
            lakedr::event::ChangeKind::Created => {}
            // A removed audit file, or one whose tags or storage class changed: nothing new.
            lakedr::event::ChangeKind::Deleted | lakedr::event::ChangeKind::Unchanged(_) => {
                continue;
            }
        }
        let url = ev.url.clone();
        let Some(workspace) = audit::workspace_of(&url.key).map(str::to_owned) else {
            report.push(json!({"key": url.key, "skipped": "not under workspaceId=<id>/"}));
            continue;
        };
        let body = stores.get(&url).await?;
        let text = String::from_utf8_lossy(&body.body);
        let state_url = state.join(&format!("audit-state/{}/{}.json", url.bucket, url.key));
        let mut seen = seen_of(stores, &state_url).await?;
        let parsed = audit::parse(&workspace, &text, &mut seen, index);
        for (line, e) in &parsed.malformed {
            tracing::warn!(key = %url.key, line, error = %e, "malformed audit record");
        }
        let published = bus.publish(&parsed.changes).await?;
        // Only after the events are accepted: a crash before this line publishes them again
        // (harmless: an export of an unchanged object writes nothing).
        stores
            .put(
                &state_url,
                Bytes::from(serde_json::to_vec(&seen).unwrap_or_default()),
                &PutOptions::default(),
            )
            .await?;
        report.push(json!({
            "key": url.key, "workspace_id": workspace, "published": published,
            "duplicates": parsed.duplicates, "failed_requests": parsed.failed,
            "other_workspaces": parsed.other_workspaces,
            "ignored": parsed.ignored, "malformed": parsed.malformed.len(),
        }));
    }
    Ok(json!({ "files": report }))
}

/// The export function: a change event exports that object (and its permissions or grants);
/// a change known only by kind, or of a kind not read one object at a time, waits for the next
/// full export; anything else (the schedule's input) runs a full export.
pub async fn handle_export(
    payload: &Value,
    api: &dyn WorkspaceApi,
    dest: &Destination,
    opts: &RunOptions,
) -> Result<Value> {
    let manifest = if payload["detail-type"] == DETAIL_TYPE {
        let id = payload["id"].as_str().unwrap_or("(no id)");
        let change: Change = serde_json::from_value(payload["detail"].clone())
            .map_err(|e| Error::Malformed(format!("malformed change event {id}: {e}")))?;
        let Some(kind) = Kind::parse(&change.kind) else {
            return Err(Error::Malformed(format!(
                "malformed change event {id}: unknown kind `{}`",
                change.kind
            )));
        };
        if change.id.is_empty() {
            return Ok(
                json!({"deferred": change.kind, "reason": "known by kind only: captured by the next full export"}),
            );
        }
        match export_one(api, dest, kind, &change.id, opts).await {
            Err(e) if e.disposition() == Disposition::Defer => {
                return Ok(json!({"deferred": change.kind, "reason": e.to_string()}));
            }
            other => other?,
        }
    } else {
        export_full(api, dest, opts).await?
    };
    Ok(json!({
        "snapshot": manifest.snapshot, "mode": manifest.mode, "written": manifest.written,
        "unchanged": manifest.unchanged, "deleted": manifest.deleted,
        "errors": manifest.errors, "api_calls": manifest.api_calls, "duration_ms": manifest.duration_ms,
    }))
}

/// The latest export of `dest` as an audit index (an empty one before the first export).
pub async fn index_of(dest: &Destination) -> Result<audit::ManifestIndex> {
    Ok(match dest.latest().await? {
        Some((m, _)) => audit::ManifestIndex::new(&m),
        None => audit::ManifestIndex::default(),
    })
}

/// An event bus that keeps what it is given (tests, `lakedr audit`).
#[derive(Debug, Default)]
pub struct MemoryBus {
    pub changes: std::sync::Mutex<Vec<Change>>,
}

#[async_trait]
impl EventBus for MemoryBus {
    async fn publish(&self, changes: &[Change]) -> Result<u64> {
        let mut c = self.changes.lock().map_err(|_| Error::Bus {
            bus: "memory".into(),
            message: "poisoned".into(),
        })?;
        c.extend_from_slice(changes);
        Ok(changes.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_corrupt_audit_state_is_an_error_not_nothing_seen() {
        let dir = tempfile::tempdir().unwrap();
        let stores = Stores::new(None);
        let state = ObjectUrl::local(dir.path().to_str().unwrap(), "");
        let url = state.join("audit-state/b/workspaceId=1/x.json.json");
        std::fs::create_dir_all(dir.path().join("audit-state/b/workspaceId=1")).unwrap();
        std::fs::write(
            dir.path().join("audit-state/b/workspaceId=1/x.json.json"),
            b"{not json",
        )
        .unwrap();
        let e = seen_of(&stores, &url).await.unwrap_err();
        assert!(e.to_string().contains("audit state"), "{e}");
        assert_eq!(e.disposition(), Disposition::Fail);
        let missing = seen_of(&stores, &state.join("audit-state/none.json"))
            .await
            .unwrap();
        assert!(missing.is_empty());
    }
}
