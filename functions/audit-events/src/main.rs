//! Lambda: new Databricks audit-log files in (S3 notification, or EventBridge "Object
//! Created"); one "control-plane change" event per changed object out to EventBridge, reads,
//! failed requests, unknown actions and duplicates dropped.
//!
//! Environment: `LAKEDR_EVENT_BUS` (bus name or ARN), `LAKEDR_CONTROL_STATE` (`s3://bucket/
//! prefix/` where the request ids already published for each file are kept).

use lakedr::ObjectUrl;
use lakedr_aws::control::{ChangePublisher, handle_audit};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

fn env(name: &str) -> Result<String, Error> {
    lakedr_aws::required_env(name).map_err(Error::from)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lakedr_aws::init_lambda_tracing();
    let sdk = lakedr_aws::sdk_config().await;
    let state = ObjectUrl::parse(&env("LAKEDR_CONTROL_STATE")?)?;
    let publisher = ChangePublisher {
        client: aws_sdk_eventbridge::Client::new(&sdk),
        bus: env("LAKEDR_EVENT_BUS")?,
    };
    let stores = lakedr_aws::s3_stores(&sdk, false);
    let (stores, state, publisher) = (&stores, &state, &publisher);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle_audit(&event.payload, stores, state, publisher)
            .await
            .map_err(Error::from)
    }))
    .await
}
