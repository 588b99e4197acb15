//! Lambda: S3 / EventBridge events (via SQS, or direct) and S3 Batch Operations tasks in;
//! immutable objects copied to DR, Delta log files handed to the ordered stage.

use std::time::Duration;

use lakedr::Replicator;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lakedr_aws::init_lambda_tracing();
    let config = lakedr_aws::config_from_env()?;
    let replicator = Replicator {
        ctx: lakedr_aws::build_context(config).await,
    };
    let replicator = &replicator;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline =
            lakedr_aws::deadline_from_epoch_ms(event.context.deadline, Duration::from_secs(10));
        replicator
            .handle(event.payload, Some(deadline))
            .await
            .map_err(Error::from)
    }))
    .await
}
