//! Receipts in DynamoDB, in the profiles table (key `pk`, `sk`; TTL `expires_at`):
//! - `R#<stream>#<minute>` / `<first event id>`: the ids of one batch's events of the receipt
//!   window starting at that minute (a string set), kept [`RECEIPT_TTL_DAYS`] days;
//! - `RT#<stream>` / `REALTIME`: when real-time delivery of the stream began.
//!
//! One write per batch and window, one query per window a late path's batch touches; a warm
//! detector remembers when each stream went real-time and asks no more.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Duration, Utc};
use tokio::sync::Mutex;

use super::dynamodb_profiles::{get_item, lower_first_seen, parse_time, text};
use super::store_error;
use crate::ports::{ReceiptStore, StoreError};

/// How long a receipt is kept: an event arriving again later than this is evaluated again.
pub const RECEIPT_TTL_DAYS: i64 = 7;
/// Ids per receipt item: 36-character ids keep an item far below DynamoDB's 400 KB.
const IDS_PER_ITEM: usize = 5_000;

pub struct DynamoDbReceiptStore {
    client: Client,
    table: String,
    realtime: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl DynamoDbReceiptStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            realtime: Mutex::new(HashMap::new()),
        }
    }
}

fn receipt_key(stream: &str, minute: i64) -> String {
    format!("R#{stream}#{minute}")
}

fn realtime_key(stream: &str) -> String {
    format!("RT#{stream}")
}

impl ReceiptStore for DynamoDbReceiptStore {
    async fn evaluated(&self, stream: &str, minute: i64) -> Result<HashSet<String>, StoreError> {
        let mut ids = HashSet::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(receipt_key(stream, minute)))
                .projection_expression("ids")
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|error| store_error(&error))?;
            for item in output.items.unwrap_or_default() {
                if let Some(AttributeValue::Ss(batch)) = item.get("ids") {
                    ids.extend(batch.iter().cloned());
                }
            }
            match output.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(ids),
            }
        }
    }

    async fn record(
        &self,
        stream: &str,
        minute: i64,
        event_ids: &[String],
    ) -> Result<(), StoreError> {
        let expires = (Utc::now() + Duration::days(RECEIPT_TTL_DAYS)).timestamp();
        for chunk in event_ids.chunks(IDS_PER_ITEM) {
            let Some(first) = chunk.first() else {
                continue;
            };
            // Keyed by its first id: a retried batch writes the same item again.
            self.client
                .put_item()
                .table_name(&self.table)
                .item("pk", AttributeValue::S(receipt_key(stream, minute)))
                .item("sk", AttributeValue::S(first.clone()))
                .item("ids", AttributeValue::Ss(chunk.to_vec()))
                .item("expires_at", AttributeValue::N(expires.to_string()))
                .send()
                .await
                .map_err(|error| store_error(&error))?;
        }
        Ok(())
    }

    async fn note_realtime(&self, stream: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        // Only an event earlier than this instance knows of can change the record.
        let mut known = self.realtime.lock().await;
        if known.get(stream).is_some_and(|since| *since <= at) {
            return Ok(());
        }
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(realtime_key(stream)))
            .key("sk", AttributeValue::S("REALTIME".into()))
            .update_expression("SET first_seen = if_not_exists(first_seen, :at)")
            .expression_attribute_values(":at", AttributeValue::S(at.to_rfc3339()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|error| store_error(&error))?;
        let stored = output
            .attributes
            .as_ref()
            .and_then(|item| text(item, "first_seen"))
            .and_then(|time| parse_time(&time))
            .unwrap_or(at);
        let since = if at < stored {
            lower_first_seen(
                &self.client,
                &self.table,
                &realtime_key(stream),
                "REALTIME",
                at,
            )
            .await?;
            at
        } else {
            stored
        };
        known.insert(stream.to_string(), since);
        Ok(())
    }

    async fn realtime_start(&self, stream: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(
            get_item(&self.client, &self.table, &realtime_key(stream), "REALTIME")
                .await?
                .and_then(|item| text(&item, "first_seen"))
                .and_then(|time| parse_time(&time)),
        )
    }
}
