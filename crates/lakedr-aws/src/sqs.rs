//! [`SqsQueue`]: the queue contract over `aws-sdk-sqs`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    MessageAttributeValue, MessageSystemAttributeName, SendMessageBatchRequestEntry,
};
use lakedr::queue::{InMessage, OutMessage, Queue};
use lakedr::{Error, Result};

/// One SQS queue (standard or FIFO) through a shared client.
#[derive(Clone, Debug)]
pub struct SqsQueue {
    client: Client,
    url: String,
}

impl SqsQueue {
    pub fn new(client: Client, url: String) -> Self {
        Self { client, url }
    }

    fn is_fifo(&self) -> bool {
        self.url.ends_with(".fifo")
    }

    fn err(&self, e: impl std::fmt::Display) -> Error {
        Error::Transient {
            target: self.url.clone(),
            message: e.to_string(),
        }
    }
}

#[async_trait]
impl Queue for SqsQueue {
    fn url(&self) -> &str {
        &self.url
    }

    async fn send(&self, messages: &[OutMessage]) -> Result<()> {
        for chunk in messages.chunks(10) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, m) in chunk.iter().enumerate() {
                let mut e = SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(&m.body);
                if self.is_fifo() {
                    e = e
                        .message_group_id(m.group_id.clone().unwrap_or_else(|| "default".into()))
                        .set_message_deduplication_id(m.dedup_id.clone());
                }
                for (k, v) in &m.attributes {
                    let value = MessageAttributeValue::builder()
                        .data_type("String")
                        .string_value(v)
                        .build()
                        .map_err(|e| self.err(e))?;
                    e = e.message_attributes(k, value);
                }
                entries.push(e.build().map_err(|e| self.err(e))?);
            }
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| {
                    self.err(crate::error::one_line(
                        &e,
                        e.raw_response().map(|r| r.status().as_u16()),
                    ))
                })?;
            if let Some(f) = out.failed().first() {
                return Err(self.err(format!(
                    "{} of {} messages not sent; entry {}: {}{}",
                    out.failed().len(),
                    chunk.len(),
                    f.id(),
                    f.code(),
                    f.message().map(|m| format!(": {m}")).unwrap_or_default()
                )));
            }
        }
        Ok(())
    }

    async fn receive(&self, max: usize) -> Result<Vec<InMessage>> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .wait_time_seconds(0)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| {
                self.err(crate::error::one_line(
                    &e,
                    e.raw_response().map(|r| r.status().as_u16()),
                ))
            })?;
        Ok(out
            .messages()
            .iter()
            .map(|m| InMessage {
                id: m.message_id().unwrap_or_default().to_string(),
                receipt: m.receipt_handle().unwrap_or_default().to_string(),
                body: m.body().unwrap_or_default().to_string(),
                group_id: m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
                    .cloned(),
                attributes: m
                    .message_attributes()
                    .map(|a| {
                        a.iter()
                            .filter_map(|(k, v)| {
                                v.string_value().map(|s| (k.clone(), s.to_string()))
                            })
                            .collect()
                    })
                    .unwrap_or_else(BTreeMap::new),
            })
            .collect())
    }

    async fn delete(&self, receipt: &str) -> Result<()> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| {
                self.err(crate::error::one_line(
                    &e,
                    e.raw_response().map(|r| r.status().as_u16()),
                ))
            })?;
        Ok(())
    }
}
