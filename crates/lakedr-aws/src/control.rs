//! The control-plane functions' AWS side: audit-log files to "control-plane change" events
//! on EventBridge, credentials from Secrets Manager, and the export run a change event or a
//! schedule asks for.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use bytes::Bytes;
use lakedr::store::{ObjectUrl, PutOptions, Stores};
use lakedr_control::audit::{self, Change};
use lakedr_control::export::{Destination, RunOptions, export_full, export_one};
use lakedr_control::{ClientConfig, DatabricksClient};
use serde_json::{Value, json};

/// Source and detail type of the change events.
pub const SOURCE: &str = "lakedr.audit";
pub const DETAIL_TYPE: &str = "lakedr control-plane change";

/// Publishes changes to an event bus: batches of ten (the PutEvents limit), entries that
/// failed retried with backoff.
#[derive(Clone, Debug)]
pub struct ChangePublisher {
    pub client: aws_sdk_eventbridge::Client,
    pub bus: String,
}

impl ChangePublisher {
    pub async fn publish(&self, changes: &[Change]) -> Result<u64, String> {
        let mut published = 0;
        for chunk in changes.chunks(10) {
            let mut pending: Vec<PutEventsRequestEntry> = chunk
                .iter()
                .map(|c| {
                    PutEventsRequestEntry::builder()
                        .source(SOURCE)
                        .detail_type(DETAIL_TYPE)
                        .event_bus_name(&self.bus)
                        .detail(serde_json::to_string(c).unwrap_or_default())
                        .build()
                })
                .collect();
            for attempt in 0..6u32 {
                let out = self
                    .client
                    .put_events()
                    .set_entries(Some(pending.clone()))
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "PutEvents to {}: {}",
                            self.bus,
                            crate::error::one_line(
                                &e,
                                e.raw_response().map(|r| r.status().as_u16())
                            )
                        )
                    })?;
                let failed: Vec<PutEventsRequestEntry> = out
                    .entries()
                    .iter()
                    .zip(&pending)
                    .filter(|(r, _)| r.error_code().is_some())
                    .map(|(_, e)| e.clone())
                    .collect();
                published += (pending.len() - failed.len()) as u64;
                if failed.is_empty() {
                    break;
                }
                if attempt == 5 {
                    return Err(format!(
                        "{} events not accepted by {} after retries",
                        failed.len(),
                        self.bus
                    ));
                }
                pending = failed;
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
        }
        Ok(published)
    }
}

/// Databricks credentials from a Secrets Manager secret (JSON: `host` and `token`, or `host`,
/// `client_id` and `client_secret`).
pub async fn databricks_config(
    sdk: &aws_config::SdkConfig,
    secret_id: &str,
) -> Result<ClientConfig, String> {
    let out = aws_sdk_secretsmanager::Client::new(sdk)
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| {
            format!(
                "reading secret {secret_id}: {}",
                crate::error::one_line(&e, e.raw_response().map(|r| r.status().as_u16()))
            )
        })?;
    let text = out
        .secret_string()
        .ok_or_else(|| format!("secret {secret_id} has no string value"))?;
    ClientConfig::from_secret_json(text).map_err(|e| format!("secret {secret_id}: {e}"))
}

/// Where the export finds model artifacts and their DR copies: the replication rules of
/// `LAKEDR_CONFIG` (the data plane's configuration, when set) and the DBFS root bucket of
/// `LAKEDR_DBFS_ROOT` (`s3://bucket/prefix/`, when set).
pub fn artifact_locations_from_env(
    stores: Stores,
) -> Result<lakedr_control::ArtifactLocations, String> {
    let config = match std::env::var("LAKEDR_CONFIG") {
        Ok(v) if !v.trim().is_empty() => Some(crate::config_from_env().map_err(|e| e.to_string())?),
        _ => None,
    };
    let dbfs_root = match std::env::var("LAKEDR_DBFS_ROOT") {
        Ok(v) if !v.trim().is_empty() => {
            Some(ObjectUrl::parse(&v).map_err(|e| format!("LAKEDR_DBFS_ROOT: {e}"))?)
        }
        _ => None,
    };
    Ok(match config {
        Some(c) => lakedr_control::ArtifactLocations::new(stores, &c, dbfs_root),
        None => lakedr_control::ArtifactLocations::default(),
    })
}

/// The audit function: for each audit-log file an event names (S3 notification or
/// EventBridge "Object Created"), publishes the changes not published before. Which request
/// ids a file has given is kept beside the exports (`<state>/audit-state/<key>.json`), so a
/// file overwritten in place publishes only its new records.
pub async fn handle_audit(
    payload: &Value,
    stores: &Stores,
    state: &ObjectUrl,
    publisher: &ChangePublisher,
) -> Result<Value, String> {
    let objects = lakedr::event::parse_object_events(None, payload).map_err(|e| e.to_string())?;
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
        let body = stores.get(&url).await.map_err(|e| format!("{url}: {e}"))?;
        let text = String::from_utf8_lossy(&body.body);
        let state_url = state.join(&format!("audit-state/{}/{}.json", url.bucket, url.key));
        let mut seen: BTreeSet<String> = match stores.get(&state_url).await {
            Ok(g) => serde_json::from_slice(&g.body).unwrap_or_default(),
            Err(lakedr::Error::NotFound { .. }) => BTreeSet::new(),
            Err(e) => return Err(format!("{state_url}: {e}")),
        };
        let parsed = audit::parse(&workspace, &text, &mut seen);
        for (line, e) in &parsed.malformed {
            tracing::warn!(key = %url.key, line, error = %e, "malformed audit record");
        }
        let published = publisher.publish(&parsed.changes).await?;
        // Only after the events are accepted: a crash before this line publishes them again
        // (harmless: an export of an unchanged object writes nothing).
        stores
            .put(
                &state_url,
                Bytes::from(serde_json::to_vec(&seen).unwrap_or_default()),
                &PutOptions::default(),
            )
            .await
            .map_err(|e| format!("{state_url}: {e}"))?;
        report.push(json!({
            "key": url.key, "workspace_id": workspace, "published": published,
            "duplicates": parsed.duplicates, "failed_requests": parsed.failed,
            "ignored": parsed.ignored, "malformed": parsed.malformed.len(),
        }));
    }
    Ok(json!({ "files": report }))
}

/// The export function: a change event exports that object (and its permissions or
/// grants); a change known only by kind waits for the next full export; anything else (the
/// schedule's input) runs a full export.
pub async fn handle_export(
    payload: &Value,
    client: &DatabricksClient,
    dest: &Destination,
    opts: &RunOptions,
) -> Result<Value, String> {
    let manifest = if payload["detail-type"] == DETAIL_TYPE {
        let change: Change = serde_json::from_value(payload["detail"].clone())
            .map_err(|e| format!("change event {}: {e}", payload["id"]))?;
        if change.id.is_empty() {
            return Ok(
                json!({"deferred": change.kind, "reason": "captured by the next full export"}),
            );
        }
        match export_one(client, dest, &change.kind, &change.id, opts).await {
            Err(lakedr_control::export::ExportFailure::Api(lakedr_control::ApiError::Config(
                why,
            ))) => {
                return Ok(json!({"deferred": change.kind, "reason": why}));
            }
            other => other.map_err(|e| e.to_string())?,
        }
    } else {
        export_full(client, dest, opts)
            .await
            .map_err(|e| e.to_string())?
    };
    Ok(json!({
        "snapshot": manifest.snapshot, "mode": manifest.mode, "written": manifest.written,
        "unchanged": manifest.unchanged, "deleted": manifest.deleted,
        "errors": manifest.errors, "api_calls": manifest.api_calls, "duration_ms": manifest.duration_ms,
    }))
}
