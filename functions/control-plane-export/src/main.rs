//! Lambda: a "control-plane change" event exports that object (and its permissions or
//! grants); the EventBridge schedule exports the whole workspace and finds deletions.
//!
//! Environment: `LAKEDR_DATABRICKS_SECRET` (Secrets Manager id of `{"host", "token"}` or
//! `{"host", "client_id", "client_secret"}`), `LAKEDR_CONTROL_DEST` (`s3://bucket/prefix/`),
//! `LAKEDR_WORKSPACE_NAME`, optional `LAKEDR_DATABRICKS_RPS` (requests per second). Model
//! versions say whether their artifacts are complete in DR, found through the replication rules
//! of `LAKEDR_CONFIG` and, for `dbfs:/` artifacts, the DBFS root bucket `LAKEDR_DBFS_ROOT`.

use std::process::ExitCode;

use lakedr_aws::functions::{FunctionName, serve};

#[tokio::main]
async fn main() -> ExitCode {
    serve(FunctionName::ControlPlaneExport).await
}
