use chrono::Utc;
use serde_json::json;

use super::*;
use crate::adapters::memory::MemoryAnomalyStore;
use crate::adapters::memory_profiles::MemoryProfileStore;
use crate::anomaly::Anomaly;

fn message(id: &str, body: &str) -> IncomingMessage {
    IncomingMessage {
        message_id: id.to_string(),
        body: Some(body.to_string()),
    }
}

/// Runs one batch through the detector's logic, now.
async fn detect<A: AnomalyStore>(
    anomalies: &A,
    profiles: &MemoryProfileStore,
    messages: &[IncomingMessage],
) -> BatchReport {
    process_batch(
        &Engine::default(),
        Stores {
            anomalies,
            profiles,
        },
        messages,
        Utc::now(),
    )
    .await
}

fn stop_logging_seed(event_id: &str) -> String {
    json!({"RequestID": "r", "EventID": event_id, "RoleID": "role12",
           "EventType": "cloudtrail:StopLogging", "EventTimestamp": "2023-06-23T16:25:02Z",
           "AffectedAssets": []})
    .to_string()
}

/// A store that cannot be reached for one event id.
struct PartlyDownStore {
    inner: MemoryAnomalyStore,
    down_for: &'static str,
}

impl AnomalyStore for PartlyDownStore {
    async fn put_if_absent(&self, anomaly: &Anomaly) -> Result<PutOutcome, StoreError> {
        if anomaly.event_id == self.down_for {
            return Err(StoreError::Request("throttled".into()));
        }
        self.inner.put_if_absent(anomaly).await
    }

    async fn get(&self, event_id: &str) -> Result<Option<Anomaly>, StoreError> {
        self.inner.get(event_id).await
    }
}

#[tokio::test]
async fn a_poison_message_fails_alone() {
    let store = MemoryAnomalyStore::default();
    let profiles = MemoryProfileStore::default();
    let messages = vec![
        message("m1", &stop_logging_seed("e1")),
        message(
            "m2",
            include_str!("../../../events/eventbridge-cloudtrail.json"),
        ),
        message("m3", "this is not an event"),
        IncomingMessage {
            message_id: "m4".into(),
            body: None,
        },
        message("m5", r#"{"EventID": "half an event"}"#),
    ];
    let report = detect(&store, &profiles, &messages).await;
    assert_eq!(report.failed_message_ids, vec!["m3", "m4", "m5"]);
    assert_eq!(report.anomalies_written, 2);
    assert!(store.get("e1").await.unwrap().is_some());
    assert!(
        store
            .get("5b0c1e0a-1111-4e6f-8a9b-000000000007")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_redelivered_message_writes_no_second_anomaly() {
    let store = MemoryAnomalyStore::default();
    let profiles = MemoryProfileStore::default();
    let batch = vec![message("m1", &stop_logging_seed("e1"))];
    let first = detect(&store, &profiles, &batch).await;
    let again = detect(&store, &profiles, &batch).await;
    assert_eq!((first.anomalies_written, first.duplicates), (1, 0));
    assert_eq!((again.anomalies_written, again.duplicates), (0, 1));
    assert!(again.failed_message_ids.is_empty());
    assert_eq!(store.len(), 1);
}

#[tokio::test]
async fn events_without_detections_write_nothing() {
    let store = MemoryAnomalyStore::default();
    let profiles = MemoryProfileStore::default();
    let benign = stop_logging_seed("e1").replace("cloudtrail:StopLogging", "type1");
    let report = detect(&store, &profiles, &[message("m1", &benign)]).await;
    assert_eq!(
        report,
        BatchReport {
            events: 1,
            ..BatchReport::default()
        }
    );
    assert!(store.is_empty());
}

#[tokio::test]
async fn a_store_failure_fails_only_its_message() {
    let store = PartlyDownStore {
        inner: MemoryAnomalyStore::default(),
        down_for: "e2",
    };
    let profiles = MemoryProfileStore::default();
    let messages = vec![
        message("m1", &stop_logging_seed("e1")),
        message("m2", &stop_logging_seed("e2")),
        message("m3", &stop_logging_seed("e3")),
    ];
    let report = detect(&store, &profiles, &messages).await;
    assert_eq!(report.failed_message_ids, vec!["m2"]);
    assert_eq!(store.inner.len(), 2);
}

#[tokio::test]
async fn a_delivery_file_message_with_a_bad_record_writes_nothing_and_fails() {
    let store = MemoryAnomalyStore::default();
    let profiles = MemoryProfileStore::default();
    let body = format!(
        r#"{{"Records": [{}, {{"eventID": "x"}}]}}"#,
        include_str!("../../../events/eventbridge-cloudtrail.json")
    );
    let report = detect(&store, &profiles, &[message("m1", &body)]).await;
    assert_eq!(report.failed_message_ids, vec!["m1"]);
    assert!(store.is_empty());
}
