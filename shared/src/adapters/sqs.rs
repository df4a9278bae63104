//! The events queue on Amazon SQS.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};

use super::sdk_error_text;
use crate::ports::{EventQueue, OutgoingMessage, QueueError, SendFailure};

#[derive(Debug, Clone)]
pub struct SqsEventQueue {
    client: Client,
    queue_url: String,
}

impl SqsEventQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }
}

impl EventQueue for SqsEventQueue {
    async fn send_batch(
        &self,
        messages: &[OutgoingMessage],
    ) -> Result<Vec<SendFailure>, QueueError> {
        let entries = messages
            .iter()
            .map(|message| {
                let mut entry = SendMessageBatchRequestEntry::builder()
                    .id(&message.id)
                    .message_body(&message.body);
                for (name, value) in &message.attributes {
                    let attribute = MessageAttributeValue::builder()
                        .data_type("String")
                        .string_value(value)
                        .build()
                        .map_err(|error| QueueError::Send(error.to_string()))?;
                    entry = entry.message_attributes(*name, attribute);
                }
                entry
                    .build()
                    .map_err(|error| QueueError::Send(error.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let output = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|error| QueueError::Send(sdk_error_text(&error)))?;
        Ok(output
            .failed
            .into_iter()
            .map(|failure| SendFailure {
                reason: format!("{}: {}", failure.code, failure.message.unwrap_or_default()),
                retryable: !failure.sender_fault,
                id: failure.id,
            })
            .collect())
    }
}
