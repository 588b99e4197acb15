//! moto server on a free loopback port, and SDK clients pointed at it.

use aws_config::BehaviorVersion;
use aws_sdk_s3::config::{Credentials, Region};

/// A moto server; killed on drop.
pub struct Moto {
    _server: crate::PyServer,
    pub endpoint: String,
}

impl Moto {
    /// Starts moto and waits until it answers.
    pub fn start() -> Moto {
        let server = crate::PyServer::start("moto_server.py", true, |port| {
            ["-H", "127.0.0.1", "-p", &port.to_string()]
                .map(Into::into)
                .to_vec()
        });
        Moto {
            endpoint: server.url(),
            _server: server,
        }
    }

    /// SDK configuration for this server.
    pub fn sdk(&self) -> aws_config::SdkConfig {
        sdk_at(&self.endpoint, "us-east-1")
    }

    /// Creates a bucket in `region` (moto checks the location against the signing region).
    pub async fn create_bucket_in(&self, name: &str, region: &str) {
        let client = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk_at(&self.endpoint, region))
                .force_path_style(true)
                .build(),
        );
        let mut req = client.create_bucket().bucket(name);
        if region != "us-east-1" {
            req = req.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        req.send().await.unwrap();
    }
}

/// A front on loopback before moto that answers like S3 about regions: a request signed for a
/// region other than its bucket's gets `301 PermanentRedirect` with `x-amz-bucket-region`
/// (`tests/py/s3_region_front.py`). The product's clients go through it; test set-up and
/// checks may go to moto directly.
pub struct RegionFront {
    _server: crate::PyServer,
    pub endpoint: String,
}

impl RegionFront {
    pub fn start(upstream: &str) -> RegionFront {
        let server = crate::PyServer::start("s3_region_front.py", true, |port| {
            ["--port", &port.to_string(), "--upstream", upstream]
                .map(Into::into)
                .to_vec()
        });
        RegionFront {
            endpoint: server.url(),
            _server: server,
        }
    }

    /// The front's counters: requests forwarded, requests redirected (by bucket).
    pub fn stats(&self) -> serde_json::Value {
        let mut stream =
            std::net::TcpStream::connect(self.endpoint.trim_start_matches("http://")).unwrap();
        use std::io::{Read, Write};
        write!(
            stream,
            "GET /__front/stats HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
        serde_json::from_str(body).unwrap_or_else(|e| panic!("front stats {body:?}: {e}"))
    }
}

/// SDK configuration for an endpoint, signing for `region`.
pub fn sdk_at(endpoint: &str, region: &str) -> aws_config::SdkConfig {
    {
        aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(lakedr_aws::http_client())
            .region(Region::new(region.to_string()))
            .endpoint_url(endpoint)
            .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
                Credentials::new("test", "test", None, None, "test"),
            ))
            .build()
    }
}

impl Moto {
    pub fn s3(&self) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.sdk())
                .force_path_style(true)
                .build(),
        )
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk())
    }

    /// deltalake (object_store) options to read this server.
    pub fn storage_options(&self) -> serde_json::Value {
        serde_json::json!({
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": "us-east-1",
            "AWS_ALLOW_HTTP": "true",
        })
    }

    pub async fn create_bucket(&self, name: &str) {
        self.s3().create_bucket().bucket(name).send().await.unwrap();
    }

    /// Creates a queue; FIFO if the name ends in `.fifo`. Returns its URL.
    pub async fn create_queue(&self, name: &str) -> String {
        let mut req = self.sqs().create_queue().queue_name(name);
        if name.ends_with(".fifo") {
            req = req
                .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
                .attributes(
                    aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                    "0",
                );
        }
        req.send().await.unwrap().queue_url().unwrap().to_string()
    }

    /// The ARN of the queue at `queue_url`.
    pub async fn queue_arn(&self, queue_url: &str) -> String {
        self.sqs()
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes()
            .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
            .clone()
    }

    /// S3 event notifications of `bucket` to the standard queue at `queue_url`.
    pub async fn notify(&self, bucket: &str, queue_url: &str) {
        use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
        let arn = self.queue_arn(queue_url).await;
        let qc = QueueConfiguration::builder()
            .queue_arn(arn)
            .events(Event::S3ObjectCreated)
            .events(Event::S3ObjectRemoved)
            .build()
            .unwrap();
        self.s3()
            .put_bucket_notification_configuration()
            .bucket(bucket)
            .notification_configuration(
                NotificationConfiguration::builder()
                    .queue_configurations(qc)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }

    /// Receives (and deletes) everything waiting in a queue.
    pub async fn drain(&self, queue_url: &str) -> Vec<aws_sdk_sqs::types::Message> {
        let sqs = self.sqs();
        let mut out = Vec::new();
        loop {
            let got = sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
                .send()
                .await
                .unwrap();
            let msgs = got.messages().to_vec();
            if msgs.is_empty() {
                return out;
            }
            delete_batch(&sqs, queue_url, &msgs.iter().collect::<Vec<_>>()).await;
            out.extend(msgs);
        }
    }
}

/// Deletes received messages in one request (a receive returns at most ten).
pub async fn delete_batch(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    msgs: &[&aws_sdk_sqs::types::Message],
) {
    if msgs.is_empty() {
        return;
    }
    let entries = msgs
        .iter()
        .enumerate()
        .map(|(i, m)| {
            aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(m.receipt_handle().unwrap())
                .build()
                .unwrap()
        })
        .collect::<Vec<_>>();
    let out = sqs
        .delete_message_batch()
        .queue_url(queue_url)
        .set_entries(Some(entries))
        .send()
        .await
        .unwrap();
    assert!(out.failed().is_empty(), "{:?}", out.failed());
}
