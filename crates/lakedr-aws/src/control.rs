//! The control-plane functions' AWS side: the event bus (EventBridge) the audit function
//! publishes changes to, Databricks credentials from Secrets Manager, and where the export
//! finds the data plane's rules. What the functions do is `lakedr_control::functions`.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use lakedr::store::{ObjectUrl, Stores};
use lakedr_control::ClientConfig;
use lakedr_control::audit::Change;
use lakedr_control::functions::{DETAIL_TYPE, EventBus, SOURCE};

/// Publishes changes to an event bus: batches of ten (the PutEvents limit), entries that
/// failed retried with backoff.
#[derive(Clone, Debug)]
pub struct ChangePublisher {
    pub client: aws_sdk_eventbridge::Client,
    pub bus: String,
}

#[async_trait]
impl EventBus for ChangePublisher {
    async fn publish(&self, changes: &[Change]) -> lakedr_control::Result<u64> {
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
                    .map_err(|e| lakedr_control::Error::Bus {
                        bus: self.bus.clone(),
                        message: crate::error::one_line(
                            &e,
                            e.raw_response().map(|r| r.status().as_u16()),
                        ),
                    })?;
                let refused: Vec<_> = out
                    .entries()
                    .iter()
                    .zip(&pending)
                    .filter(|(r, _)| r.error_code().is_some())
                    .collect();
                let reason = refused
                    .first()
                    .map(|(r, _)| {
                        format!(
                            "{}{}",
                            r.error_code().unwrap_or_default(),
                            r.error_message()
                                .map(|m| format!(": {m}"))
                                .unwrap_or_default()
                        )
                    })
                    .unwrap_or_default();
                let failed: Vec<PutEventsRequestEntry> =
                    refused.into_iter().map(|(_, e)| e.clone()).collect();
                published += (pending.len() - failed.len()) as u64;
                if failed.is_empty() {
                    break;
                }
                if attempt == 5 {
                    return Err(lakedr_control::Error::Bus {
                        bus: self.bus.clone(),
                        message: format!(
                            "{} events not accepted after retries; first: {reason}",
                            failed.len()
                        ),
                    });
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

/// The data plane's configuration of `LAKEDR_CONFIG`, when set: the rules that say where
/// model artifacts and storage locations have their DR copies, and the `[dr]` settings.
pub fn data_plane_from_env() -> Result<Option<lakedr::Config>, String> {
    match std::env::var("LAKEDR_CONFIG") {
        Ok(v) if !v.trim().is_empty() => {
            Ok(Some(crate::config_from_env().map_err(|e| e.to_string())?))
        }
        _ => Ok(None),
    }
}

/// Where the export finds model artifacts and their DR copies: the replication rules of
/// `LAKEDR_CONFIG` (when set) and the DBFS root bucket of `LAKEDR_DBFS_ROOT`
/// (`s3://bucket/prefix/`, when set).
pub fn artifact_locations_from_env(
    stores: Stores,
    config: Option<&lakedr::Config>,
) -> Result<lakedr_control::ArtifactLocations, String> {
    let dbfs_root = match std::env::var("LAKEDR_DBFS_ROOT") {
        Ok(v) if !v.trim().is_empty() => {
            Some(ObjectUrl::parse(&v).map_err(|e| format!("LAKEDR_DBFS_ROOT: {e}"))?)
        }
        _ => None,
    };
    Ok(match config {
        Some(c) => lakedr_control::ArtifactLocations::new(stores, c, dbfs_root),
        None => lakedr_control::ArtifactLocations::default(),
    })
}
