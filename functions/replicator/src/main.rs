//! Lambda: S3 / EventBridge events (via SQS, or direct) and S3 Batch Operations tasks in;
//! immutable objects copied to DR, Delta log files handed to the ordered stage.

use std::process::ExitCode;

use lakedr_aws::functions::{FunctionName, serve};

#[tokio::main]
async fn main() -> ExitCode {
    serve(FunctionName::Replicator).await
}
