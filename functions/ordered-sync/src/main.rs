//! Lambda: the ordered stage. Consumes the FIFO queue (one message group per Delta table) and
//! publishes each table's DR copy in an order that never exposes a torn version.

use std::time::Duration;

use lakedr::OrderedSync;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lakedr_aws::init_lambda_tracing();
    let config = lakedr_aws::config_from_env()?;
    let ordered = OrderedSync {
        ctx: lakedr_aws::build_context(config).await,
    };
    let ordered = &ordered;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline =
            lakedr_aws::deadline_from_epoch_ms(event.context.deadline, Duration::from_secs(20));
        ordered
            .handle(event.payload, Some(deadline))
            .await
            .map_err(Error::from)
    }))
    .await
}
