//! Putting messages on the events queue within SQS's limits, retrying what may pass: shared
//! by the ingest API and the S3 collector.

use std::time::Duration;

use crate::ports::{EventQueue, OutgoingMessage, SendFailure};

/// SQS's limit for one message and for one `SendMessageBatch` call.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// The most a message body may take: SQS's limit less room for the message attributes.
pub const MAX_QUEUE_BODY_BYTES: usize = MAX_MESSAGE_BYTES - 2048;
/// SQS's limit of entries per `SendMessageBatch` call.
pub const MAX_BATCH_ENTRIES: usize = 10;
/// Attempts per batch before its messages are reported as failed.
const SEND_ATTEMPTS: u32 = 3;

/// Sends every event in batches within SQS's limits, retrying what failed for reasons that
/// may pass; returns the messages that still failed.
pub async fn enqueue<Q: EventQueue>(queue: &Q, messages: Vec<OutgoingMessage>) -> Vec<SendFailure> {
    let mut failures = Vec::new();
    for batch in batches(messages) {
        failures.extend(send_with_retries(queue, batch).await);
    }
    failures
}

/// Groups messages into batches of at most ten entries and at most one message's size.
pub fn batches(messages: Vec<OutgoingMessage>) -> Vec<Vec<OutgoingMessage>> {
    let mut batches: Vec<Vec<OutgoingMessage>> = Vec::new();
    let mut size = 0;
    for message in messages {
        let bytes = message.size();
        let fits = batches.last().is_some_and(|batch| {
            batch.len() < MAX_BATCH_ENTRIES && size + bytes <= MAX_MESSAGE_BYTES
        });
        if !fits {
            batches.push(Vec::new());
            size = 0;
        }
        size += bytes;
        if let Some(batch) = batches.last_mut() {
            batch.push(message);
        }
    }
    batches
}

async fn send_with_retries<Q: EventQueue>(
    queue: &Q,
    mut pending: Vec<OutgoingMessage>,
) -> Vec<SendFailure> {
    let mut final_failures = Vec::new();
    for attempt in 1..=SEND_ATTEMPTS {
        let failures = match queue.send_batch(&pending).await {
            Ok(failures) => failures,
            Err(error) => pending
                .iter()
                .map(|message| SendFailure {
                    id: message.id.clone(),
                    reason: error.to_string(),
                    retryable: true,
                })
                .collect(),
        };
        let (retry, permanent): (Vec<_>, Vec<_>) =
            failures.into_iter().partition(|failure| failure.retryable);
        final_failures.extend(permanent);
        if retry.is_empty() {
            return final_failures;
        }
        if attempt == SEND_ATTEMPTS {
            final_failures.extend(retry);
            return final_failures;
        }
        pending.retain(|message| retry.iter().any(|failure| failure.id == message.id));
        tokio::time::sleep(Duration::from_millis(50 * 4u64.pow(attempt - 1))).await;
    }
    final_failures
}
