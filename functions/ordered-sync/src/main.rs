//! Lambda: the ordered stage. Consumes the FIFO queue (one message group per Delta table) and
//! publishes each table's DR copy in an order that never exposes a torn version.

use std::process::ExitCode;

use lakedr_aws::functions::{FunctionName, serve};

#[tokio::main]
async fn main() -> ExitCode {
    serve(FunctionName::OrderedSync).await
}
