//! The four functions as Lambda runs them, each built once from the environment the SAM template
//! gives it. The binaries in `functions/` are [`serve`] of one [`FunctionName`]; `lakedr invoke`
//! builds the very same [`Function`] and calls [`Function::handle`] on an event file.
//!
//! | function | environment |
//! |---|---|
//! | `replicator`, `ordered-sync` | `LAKEDR_CONFIG` (path or text), queue URLs (`LAKEDR_*_URL`), `LAKEDR_KMS_KEY_ID` |
//! | `audit-events` | `LAKEDR_EVENT_BUS`, `LAKEDR_CONTROL_STATE` (`s3://bucket/prefix/`), optional `LAKEDR_CONTROL_DEST` and `LAKEDR_WORKSPACE_NAME` (the export whose latest manifest resolves the ids records name another way) |
//! | `control-plane-export` | `LAKEDR_DATABRICKS_SECRET`, `LAKEDR_CONTROL_DEST`, `LAKEDR_WORKSPACE_NAME`, optional `LAKEDR_DATABRICKS_RPS`, `LAKEDR_CONFIG` (the rules and `[dr]` settings), `LAKEDR_DBFS_ROOT`, `LAKEDR_DATABRICKS_ACCOUNT_ID` with `LAKEDR_DATABRICKS_WORKSPACE_ID` (the account level, with the same credentials) |
//!
//! Every function also reads `LAKEDR_S3_FORCE_PATH_STYLE` (S3-compatible servers) and the
//! standard `AWS_*` variables.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use lakedr::store::ObjectUrl;
use lakedr::{Config, OrderedSync, Replicator, Stores};
use lakedr_control::export::{AccountApi, Destination, RunOptions};
use lakedr_control::functions::{handle_audit, handle_export, index_of};
use lakedr_control::{DatabricksClient, TfConfig};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

use crate::control::{ChangePublisher, databricks_config};

/// The functions of the deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FunctionName {
    Replicator,
    OrderedSync,
    AuditEvents,
    ControlPlaneExport,
}

impl FunctionName {
    /// The name the template and the binaries use.
    pub fn as_str(self) -> &'static str {
        match self {
            FunctionName::Replicator => "replicator",
            FunctionName::OrderedSync => "ordered-sync",
            FunctionName::AuditEvents => "audit-events",
            FunctionName::ControlPlaneExport => "control-plane-export",
        }
    }

    /// Time kept back before the invocation deadline to finish the work in flight.
    fn margin(self) -> Duration {
        match self {
            FunctionName::Replicator => Duration::from_secs(10),
            FunctionName::OrderedSync => Duration::from_secs(20),
            FunctionName::AuditEvents | FunctionName::ControlPlaneExport => Duration::ZERO,
        }
    }
}

/// The audit function's parts.
#[derive(Debug)]
pub struct AuditEvents {
    pub stores: Stores,
    pub state: ObjectUrl,
    pub publisher: ChangePublisher,
    /// The export whose latest manifest resolves ids records give another way.
    pub export: Option<Destination>,
}

/// The export function's parts.
#[derive(Debug)]
pub struct ControlPlaneExport {
    pub client: DatabricksClient,
    pub dest: Destination,
    pub opts: RunOptions,
}

/// A function, built.
#[derive(Debug)]
pub enum Function {
    Replicator(Replicator),
    OrderedSync(OrderedSync),
    AuditEvents(Box<AuditEvents>),
    ControlPlaneExport(Box<ControlPlaneExport>),
}

/// A required, non-empty environment variable.
fn env(name: &str) -> Result<String, String> {
    crate::required_env(name)
}

/// `LAKEDR_S3_FORCE_PATH_STYLE`: path-style addressing for S3-compatible servers.
pub fn force_path_style_from_env() -> bool {
    std::env::var("LAKEDR_S3_FORCE_PATH_STYLE")
        .is_ok_and(|v| matches!(v.trim(), "1" | "true" | "TRUE" | "True" | "yes"))
}

impl Function {
    /// Builds `name` from the environment, as Lambda does at init. The data-plane functions
    /// take `config` when given (the CLI's `--config`), else `LAKEDR_CONFIG`.
    pub async fn from_env(name: FunctionName, config: Option<Config>) -> Result<Function, String> {
        let data_plane = |config: Option<Config>| async move {
            let config = match config {
                Some(c) => c,
                None => crate::config_from_env().map_err(|e| e.to_string())?,
            };
            Ok::<_, String>(crate::build_context(config).await)
        };
        Ok(match name {
            FunctionName::Replicator => Function::Replicator(Replicator {
                ctx: data_plane(config).await?,
            }),
            FunctionName::OrderedSync => Function::OrderedSync(OrderedSync {
                ctx: data_plane(config).await?,
            }),
            FunctionName::AuditEvents => {
                let sdk = crate::sdk_config().await;
                let state = ObjectUrl::parse(&env("LAKEDR_CONTROL_STATE")?)
                    .map_err(|e| format!("LAKEDR_CONTROL_STATE: {e}"))?;
                let stores = crate::s3_stores(&sdk, force_path_style_from_env());
                let export = match (env("LAKEDR_CONTROL_DEST"), env("LAKEDR_WORKSPACE_NAME")) {
                    (Ok(dest), Ok(ws)) => Some(Destination::new(
                        stores.clone(),
                        &ObjectUrl::parse(&dest)
                            .map_err(|e| format!("LAKEDR_CONTROL_DEST: {e}"))?,
                        &ws,
                    )),
                    _ => None,
                };
                Function::AuditEvents(Box::new(AuditEvents {
                    publisher: ChangePublisher {
                        client: aws_sdk_eventbridge::Client::new(&sdk),
                        bus: env("LAKEDR_EVENT_BUS")?,
                    },
                    stores,
                    state,
                    export,
                }))
            }
            FunctionName::ControlPlaneExport => {
                let sdk = crate::sdk_config().await;
                let mut cfg = databricks_config(&sdk, &env("LAKEDR_DATABRICKS_SECRET")?).await?;
                if let Ok(rps) = env("LAKEDR_DATABRICKS_RPS") {
                    cfg.requests_per_second = rps
                        .parse()
                        .map_err(|_| format!("LAKEDR_DATABRICKS_RPS: `{rps}` is not a number"))?;
                }
                let account = match (
                    env("LAKEDR_DATABRICKS_ACCOUNT_ID"),
                    env("LAKEDR_DATABRICKS_WORKSPACE_ID"),
                ) {
                    (Ok(account_id), Ok(workspace_id)) => {
                        let host = env("LAKEDR_DATABRICKS_ACCOUNTS_HOST")
                            .unwrap_or_else(|_| "https://accounts.cloud.databricks.com".into());
                        let client = DatabricksClient::new(cfg.for_account(&host, &account_id))
                            .map_err(|e| e.to_string())?;
                        Some(AccountApi {
                            api: std::sync::Arc::new(client),
                            account_id,
                            workspace_id,
                        })
                    }
                    _ => None,
                };
                let client = DatabricksClient::new(cfg).map_err(|e| e.to_string())?;
                let stores = crate::s3_stores(&sdk, force_path_style_from_env());
                let data_plane = crate::control::data_plane_from_env()?;
                let artifacts = crate::control::artifact_locations_from_env(
                    stores.clone(),
                    data_plane.as_ref(),
                )?;
                let dest = Destination::new(
                    stores,
                    &ObjectUrl::parse(&env("LAKEDR_CONTROL_DEST")?)
                        .map_err(|e| format!("LAKEDR_CONTROL_DEST: {e}"))?,
                    &env("LAKEDR_WORKSPACE_NAME")?,
                );
                Function::ControlPlaneExport(Box::new(ControlPlaneExport {
                    client,
                    dest,
                    opts: RunOptions {
                        artifacts,
                        terraform: data_plane.as_ref().map(TfConfig::new).unwrap_or_default(),
                        account,
                        ..RunOptions::default()
                    },
                }))
            }
        })
    }

    /// Handles one invocation's payload. An error is typed by its kind, for Lambda's
    /// `errorType` (`MalformedEvent`, `AuditError`...), with a one-line message.
    pub async fn handle(
        &self,
        payload: Value,
        deadline: Option<Instant>,
    ) -> Result<Value, Diagnostic> {
        let typed = |kind: &str, message: String| Diagnostic {
            error_type: kind.to_string(),
            error_message: message,
        };
        match self {
            Function::Replicator(f) => f
                .handle(payload, deadline)
                .await
                .map_err(|e| typed(e.kind(), e.to_string())),
            Function::OrderedSync(f) => f
                .handle(payload, deadline)
                .await
                .map_err(|e| typed(e.kind(), e.to_string())),
            Function::AuditEvents(f) => {
                let index = match &f.export {
                    Some(dest) => index_of(dest)
                        .await
                        .map_err(|e| typed(e.kind(), e.to_string()))?,
                    None => lakedr_control::audit::ManifestIndex::default(),
                };
                handle_audit(&payload, &f.stores, &f.state, &f.publisher, &index)
                    .await
                    .map_err(|e| typed(e.kind(), e.to_string()))
            }
            Function::ControlPlaneExport(f) => handle_export(&payload, &f.client, &f.dest, &f.opts)
                .await
                .map_err(|e| typed(e.kind(), e.to_string())),
        }
    }
}

/// Runs `name` under the Lambda Runtime API. A function that cannot start (a variable missing,
/// a configuration that does not validate) logs one line saying why and exits with status 1,
/// which Lambda reports as an init failure.
pub async fn serve(name: FunctionName) -> ExitCode {
    crate::init_lambda_tracing();
    let function = match Function::from_env(name, None).await {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(function = name.as_str(), error = %e, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    let function = &function;
    let served = lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = crate::deadline_from_epoch_ms(event.context.deadline, name.margin());
        function.handle(event.payload, Some(deadline)).await
    }))
    .await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(function = name.as_str(), error = %e, "runtime stopped");
            ExitCode::FAILURE
        }
    }
}
