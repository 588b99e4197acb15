//! Lambda: new Databricks audit-log files in (S3 notification, or EventBridge "Object
//! Created"); one "control-plane change" event per changed object out to EventBridge, reads,
//! failed requests, unknown actions and duplicates dropped.
//!
//! Environment: `LAKEDR_EVENT_BUS` (bus name or ARN), `LAKEDR_CONTROL_STATE` (`s3://bucket/
//! prefix/` where the request ids already published for each file are kept).

use std::process::ExitCode;

use lakedr_aws::functions::{FunctionName, serve};

#[tokio::main]
async fn main() -> ExitCode {
    serve(FunctionName::AuditEvents).await
}
