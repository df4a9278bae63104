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

/// The ledger the functions' environment names: the table `INGESTED_EVENTS_TABLE`, keeping
/// events `TRAILWATCH_EVENT_STATUS_HOURS` (default 24). No table, or 0 hours, is no ledger:
/// nothing is noted, and `GET /events/{id}` knows posted events only by their anomalies.
pub fn ledger_from_env(
    client: Client,
) -> Result<Option<DynamoDbIngestLedger>, crate::baseline::SettingError> {
    let settings = ledger_settings(
        std::env::var("INGESTED_EVENTS_TABLE").ok(),
        std::env::var(RETENTION_VARIABLE).ok(),
    )?;
    Ok(settings.map(|(table, retention)| DynamoDbIngestLedger::new(client, table, retention)))
}

const RETENTION_VARIABLE: &str = "TRAILWATCH_EVENT_STATUS_HOURS";

/// The ledger's table and retention, if there is to be one.
fn ledger_settings(
    table: Option<String>,
    hours: Option<String>,
) -> Result<Option<(String, Duration)>, crate::baseline::SettingError> {
    let retention = match hours {
        None => Duration::hours(24),
        Some(value) => value
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|hours| (0..=8_784).contains(hours))
            .map(Duration::hours)
            .ok_or_else(|| crate::baseline::SettingError {
                name: RETENTION_VARIABLE.to_string(),
                expected: "a whole number of hours from 0 (no ledger) to 8784",
                value,
            })?,
    };
    Ok(table
        .filter(|table| !table.is_empty() && retention > Duration::zero())
        .map(|table| (table, retention)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ledger_is_kept_the_hours_asked_and_none_at_zero_or_without_a_table() {
        let table = || Some("ingested".to_string());
        assert_eq!(
            ledger_settings(table(), None),
            Ok(Some(("ingested".into(), Duration::hours(24))))
        );
        assert_eq!(
            ledger_settings(table(), Some(" 48 ".into())),
            Ok(Some(("ingested".into(), Duration::hours(48))))
        );
        assert_eq!(ledger_settings(table(), Some("0".into())), Ok(None));
        assert_eq!(ledger_settings(None, Some("24".into())), Ok(None));
        assert_eq!(ledger_settings(Some(String::new()), None), Ok(None));
        let refused = ledger_settings(table(), Some("-1".into())).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "TRAILWATCH_EVENT_STATUS_HOURS must be a whole number of hours from 0 (no ledger) \
             to 8784, found \"-1\""
        );
    }
}
