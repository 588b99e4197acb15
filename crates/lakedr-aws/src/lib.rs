//! AWS adapters for `lakedr`: [`S3Store`] (server-side copies, multipart UploadPartCopy,
//! conditional writes) and [`SqsQueue`], and [`build_context`], which builds every client once.
//!
//! The endpoint comes from the standard `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_S3` /
//! `AWS_ENDPOINT_URL_SQS` variables (read by `aws-config`), so tests point the very same code at
//! a server on loopback.

pub mod control;
mod error;
pub mod functions;
mod s3;
mod sqs;

use std::sync::Arc;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::config::SharedHttpClient;
use aws_smithy_http_client::tls;
use lakedr::queue::Queue;
use lakedr::{Config, Context, Stores};

pub use s3::S3Store;
pub use sqs::SqsQueue;

/// The HTTPS client every SDK client shares: hyper with rustls (ring), connection pooling.
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// Loads the shared AWS configuration: standard retries with backoff and jitter, timeouts.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .retry_config(RetryConfig::standard().with_max_attempts(5))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(std::time::Duration::from_secs(5))
                .operation_attempt_timeout(std::time::Duration::from_secs(120))
                .build(),
        )
        .load()
        .await
}

/// Builds the handler context: an S3 client if any rule uses S3, SQS clients for the queues.
/// A configuration with only local directories and no queues loads no AWS configuration at
/// all (no region or credential lookups, which would probe the instance metadata endpoint).
pub async fn build_context(config: Config) -> Context {
    let q = &config.queues;
    let needs_aws = config.uses_s3()
        || [
            &q.events_url,
            &q.ordered_url,
            &q.dead_letter_url,
            &q.ordered_dead_letter_url,
        ]
        .iter()
        .any(|u| u.is_some());
    let sdk = if needs_aws {
        sdk_config().await
    } else {
        aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .build()
    };
    build_context_with(config, &sdk)
}

/// [`build_context`] with a given SDK configuration.
pub fn build_context_with(config: Config, sdk: &aws_config::SdkConfig) -> Context {
    let s3: Option<Arc<dyn lakedr::ObjectStore>> = config.uses_s3().then(|| {
        Arc::new(
            S3Store::new(sdk, config.s3.force_path_style, config.copy.clone())
                .with_bucket_regions(config.bucket_regions()),
        ) as Arc<dyn lakedr::ObjectStore>
    });
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let queue = |url: &Option<String>| -> Option<Arc<dyn Queue>> {
        url.as_ref()
            .map(|u| Arc::new(SqsQueue::new(sqs.clone(), u.clone())) as Arc<dyn Queue>)
    };
    let ordered = queue(&config.queues.ordered_url);
    let dead_letter = queue(&config.queues.dead_letter_url);
    let ordered_dead_letter =
        queue(&config.queues.ordered_dead_letter_url).or_else(|| dead_letter.clone());
    Context {
        config: Arc::new(config),
        stores: Stores::new(s3),
        ordered,
        dead_letter,
        ordered_dead_letter,
        hints: Default::default(),
    }
}

/// An SQS queue client for `url` built from the default configuration.
pub async fn sqs_queue(url: &str) -> SqsQueue {
    SqsQueue::new(
        aws_sdk_sqs::Client::new(&sdk_config().await),
        url.to_string(),
    )
}

/// Loads the configuration named by `LAKEDR_CONFIG`: a file path, or the TOML/JSON text itself
/// (the SAM template passes it inline).
pub fn config_from_env() -> lakedr::Result<Config> {
    let value = std::env::var("LAKEDR_CONFIG").map_err(|_| lakedr::Error::Config {
        field: "LAKEDR_CONFIG".into(),
        message: "not set: give a path to a config file or the config text".into(),
    })?;
    let path = std::path::Path::new(&value);
    if !value.contains('\n') && !value.trim_start().starts_with('{') && path.exists() {
        Config::from_file(path)
    } else {
        Config::from_text(&value)
    }
}

/// Local directories and S3 (default copy settings): the stores of the control-plane
/// functions and of `lakedr export`, which copy nothing.
pub fn s3_stores(sdk: &aws_config::SdkConfig, force_path_style: bool) -> Stores {
    Stores::new(Some(Arc::new(S3Store::new(
        sdk,
        force_path_style || functions::force_path_style_from_env(),
        lakedr::config::CopySettings::default(),
    ))))
}

/// A required, non-empty environment variable, or an error naming it.
pub fn required_env(name: &str) -> Result<String, String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("{name} is not set"))
}

/// JSON logs for Lambda (CloudWatch Logs Insights can query the fields), level from `RUST_LOG`.
pub fn init_lambda_tracing() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .init();
}

/// The instant to stop starting new work: the invocation deadline (epoch milliseconds) minus a
/// margin for finishing the work in flight.
pub fn deadline_from_epoch_ms(deadline_ms: u64, margin: std::time::Duration) -> std::time::Instant {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    let left = std::time::Duration::from_millis(deadline_ms.saturating_sub(now_ms));
    std::time::Instant::now() + left.saturating_sub(margin)
}
