//! The ingest ledger in DynamoDB: one item an event posted to `/ingest` (key `pk`, the event
//! id), expiring by TTL (`expires_at`). One write request unit an event, written in batches
//! of 25 after the events are on the queue.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::store_error;
use crate::ports::{IngestLedger, QueuedEvent, StoreError};

/// Items one `BatchWriteItem` takes.
const BATCH: usize = 25;
/// Rounds of resending what DynamoDB left unprocessed (throttling).
const ATTEMPTS: usize = 4;

#[derive(Debug, Serialize, Deserialize)]
struct LedgerItem {
    pk: String,
    expires_at: i64,
    #[serde(flatten)]
    event: QueuedEvent,
}

pub struct DynamoDbIngestLedger {
    client: Client,
    table: String,
    retention: Duration,
}

impl DynamoDbIngestLedger {
    pub fn new(client: Client, table: impl Into<String>, retention: Duration) -> Self {
        Self {
            client,
            table: table.into(),
            retention,
        }
    }
}

impl IngestLedger for DynamoDbIngestLedger {
    async fn note_queued(&self, events: &[QueuedEvent]) -> Result<(), StoreError> {
        for chunk in events.chunks(BATCH) {
            let mut requests = chunk
                .iter()
                .map(|event| {
                    let item = serde_dynamo::to_item(LedgerItem {
                        pk: event.event_id.clone(),
                        expires_at: (event.queued_at + self.retention).timestamp(),
                        event: event.clone(),
                    })
                    .map_err(|error| StoreError::Rejected(format!("ledger item: {error}")))?;
                    Ok(WriteRequest::builder()
                        .put_request(
                            PutRequest::builder()
                                .set_item(Some(item))
                                .build()
                                .map_err(|error| StoreError::Rejected(error.to_string()))?,
                        )
                        .build())
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            for _ in 0..ATTEMPTS {
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(|error| store_error(&error))?;
                requests = output
                    .unprocessed_items
                    .and_then(|mut left| left.remove(&self.table))
                    .unwrap_or_default();
                if requests.is_empty() {
                    break;
                }
            }
            if !requests.is_empty() {
                return Err(StoreError::Request(format!(
                    "{} ledger items left unprocessed",
                    requests.len()
                )));
            }
        }
        Ok(())
    }

    async fn queued(&self, event_id: &str) -> Result<Option<QueuedEvent>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(event_id.to_string()))
            .send()
            .await
            .map_err(|error| store_error(&error))?;
        output
            .item
            .map(|item: HashMap<String, AttributeValue>| {
                serde_dynamo::from_item::<_, LedgerItem>(item)
                    .map(|item| item.event)
                    .map_err(|error| StoreError::Corrupt(format!("{event_id}: {error}")))
            })
            .transpose()
    }
}

/// How long the ledger keeps an event: `TRAILWATCH_EVENT_STATUS_HOURS` (default 24).
pub fn ledger_retention() -> Result<Duration, crate::baseline::SettingError> {
    let variable = "TRAILWATCH_EVENT_STATUS_HOURS";
    match std::env::var(variable) {
        Err(_) => Ok(Duration::hours(24)),
        Ok(value) => value
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|hours| (1..=8_784).contains(hours))
            .map(Duration::hours)
            .ok_or_else(|| crate::baseline::SettingError {
                name: variable.to_string(),
                expected: "a whole number of hours from 1 to 8784",
                value,
            }),
    }
}
