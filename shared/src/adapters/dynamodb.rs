//! Anomalies in Amazon DynamoDB, one item per event, written with a conditional put so a
//! redelivered message never writes a second one.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::store_error;
use crate::anomaly::{Anomaly, Detection, Severity};
use crate::ports::{AnomalyStore, PutOutcome, StoreError};

/// The anomalies table's partition key attribute: the event id.
pub const PARTITION_KEY: &str = "pk";

#[derive(Debug, Clone)]
pub struct DynamoDbAnomalyStore {
    client: Client,
    table: String,
}

impl DynamoDbAnomalyStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

/// The stored item. It keeps the prototype's attribute names (`role_id`, `event_type`,
/// `affected_assets`, `anomaly_score`) so its readers keep working.
#[derive(Debug, Serialize, Deserialize)]
struct AnomalyItem {
    pk: String,
    event_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    role_id: String,
    event_type: String,
    event_time: DateTime<Utc>,
    affected_assets: Vec<String>,
    anomaly_score: f64,
    severity: Severity,
    detections: Vec<Detection>,
    reasons: Vec<String>,
    detected_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    origin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    caller: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    baseline_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    raw_event: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    finding_ids: Vec<String>,
}

impl From<&Anomaly> for AnomalyItem {
    fn from(anomaly: &Anomaly) -> Self {
        let anomaly = anomaly.clone();
        Self {
            pk: anomaly.event_id.clone(),
            event_id: anomaly.event_id,
            request_id: anomaly.request_id,
            role_id: anomaly.principal,
            event_type: anomaly.action,
            event_time: anomaly.event_time,
            affected_assets: anomaly.assets,
            anomaly_score: anomaly.score,
            severity: anomaly.severity,
            detections: anomaly.detections,
            reasons: anomaly.reasons,
            detected_at: anomaly.detected_at,
            source_ip: anomaly.source_ip,
            region: anomaly.region,
            account_id: anomaly.account_id,
            origin: anomaly.origin,
            caller: anomaly.caller,
            baseline_error: anomaly.baseline_error,
            raw_event: anomaly.raw_event,
            finding_ids: anomaly.finding_ids,
        }
    }
}

impl From<AnomalyItem> for Anomaly {
    fn from(item: AnomalyItem) -> Self {
        Self {
            event_id: item.event_id,
            request_id: item.request_id,
            principal: item.role_id,
            action: item.event_type,
            event_time: item.event_time,
            assets: item.affected_assets,
            score: item.anomaly_score,
            severity: item.severity,
            detections: item.detections,
            reasons: item.reasons,
            detected_at: item.detected_at,
            source_ip: item.source_ip,
            region: item.region,
            account_id: item.account_id,
            origin: item.origin,
            caller: item.caller,
            baseline_error: item.baseline_error,
            raw_event: item.raw_event,
            finding_ids: item.finding_ids,
        }
    }
}

/// An anomaly as the anomalies table stores it.
pub(crate) fn anomaly_item(
    anomaly: &Anomaly,
) -> Result<std::collections::HashMap<String, AttributeValue>, StoreError> {
    serde_dynamo::to_item(AnomalyItem::from(anomaly))
        .map_err(|error| StoreError::Rejected(format!("cannot encode the anomaly: {error}")))
}

impl AnomalyStore for DynamoDbAnomalyStore {
    async fn put_if_absent(&self, anomaly: &Anomaly) -> Result<PutOutcome, StoreError> {
        let item = anomaly_item(anomaly)?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .send()
            .await;
        match result {
            Ok(_) => Ok(PutOutcome::Inserted),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|service| service.is_conditional_check_failed_exception()) =>
            {
                Ok(PutOutcome::AlreadyPresent)
            }
            Err(error) => Err(store_error(&error)),
        }
    }

    async fn get(&self, event_id: &str) -> Result<Option<Anomaly>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, AttributeValue::S(event_id.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| store_error(&error))?;
        output
            .item
            .map(|item| {
                serde_dynamo::from_item::<_, AnomalyItem>(item)
                    .map(Anomaly::from)
                    .map_err(|error| StoreError::Corrupt(format!("{event_id}: {error}")))
            })
            .transpose()
    }
}
