//! Lambda: a "control-plane change" event exports that object (and its permissions or
//! grants); the EventBridge schedule exports the whole workspace and finds deletions.
//!
//! Environment: `LAKEDR_DATABRICKS_SECRET` (Secrets Manager id of `{"host", "token"}` or
//! `{"host", "client_id", "client_secret"}`), `LAKEDR_CONTROL_DEST` (`s3://bucket/prefix/`),
//! `LAKEDR_WORKSPACE_NAME`, optional `LAKEDR_DATABRICKS_RPS` (requests per second). Model
//! versions say whether their artifacts are complete in DR, found through the replication rules
//! of `LAKEDR_CONFIG` and, for `dbfs:/` artifacts, the DBFS root bucket `LAKEDR_DBFS_ROOT`.

use lakedr::ObjectUrl;
use lakedr_aws::control::{databricks_config, handle_export};
use lakedr_control::DatabricksClient;
use lakedr_control::export::{Destination, RunOptions};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

fn env(name: &str) -> Result<String, Error> {
    lakedr_aws::required_env(name).map_err(Error::from)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lakedr_aws::init_lambda_tracing();
    let sdk = lakedr_aws::sdk_config().await;
    let mut cfg = databricks_config(&sdk, &env("LAKEDR_DATABRICKS_SECRET")?).await?;
    if let Ok(rps) = env("LAKEDR_DATABRICKS_RPS") {
        cfg.requests_per_second = rps
            .parse()
            .map_err(|_| Error::from(format!("LAKEDR_DATABRICKS_RPS: `{rps}` is not a number")))?;
    }
    let client = DatabricksClient::new(cfg)?;
    let stores = lakedr_aws::s3_stores(&sdk, false);
    let artifacts = lakedr_aws::control::artifact_locations_from_env(stores.clone())?;
    let dest = Destination::new(
        stores,
        &ObjectUrl::parse(&env("LAKEDR_CONTROL_DEST")?)?,
        &env("LAKEDR_WORKSPACE_NAME")?,
    );
    let opts = RunOptions {
        artifacts,
        ..RunOptions::default()
    };
    let (client, dest, opts) = (&client, &dest, &opts);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle_export(&event.payload, client, dest, opts)
            .await
            .map_err(Error::from)
    }))
    .await
}
