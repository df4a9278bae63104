use chrono::Utc;
use serde_json::json;

use super::*;
use crate::adapters::memory_cases::MemoryCaseStore;
use crate::adapters::memory_profiles::MemoryProfileStore;
use crate::adapters::memory_receipts::MemoryReceiptStore;
use crate::anomaly::Anomaly;
use crate::finding::Contribution;
use crate::ports::AnomalyStore;

/// Default windows, no suppression.
fn triage() -> &'static Triage {
    static TRIAGE: std::sync::OnceLock<Triage> = std::sync::OnceLock::new();
    TRIAGE.get_or_init(Triage::default)
}

fn message(id: &str, body: &str) -> IncomingMessage {
    IncomingMessage {
        message_id: id.to_string(),
        body: Some(body.to_string()),
        origin: None,
        caller: None,
    }
}

/// Runs one batch through the detector's logic, now.
async fn detect<C: CaseStore>(
    cases: &C,
    profiles: &MemoryProfileStore,
    messages: &[IncomingMessage],
) -> BatchReport {
    process_batch(
        &Engine::default(),
        Stores {
            cases,
            triage: triage(),
            profiles,
            receipts: &MemoryReceiptStore::default(),
            recent: &RecentEvents::default(),
        },
        messages,
        Utc::now(),
        None,
    )
    .await
}

fn stop_logging_seed(event_id: &str) -> String {
    json!({"RequestID": "r", "EventID": event_id, "RoleID": "role12",
           "EventType": "cloudtrail:StopLogging", "EventTimestamp": "2023-06-23T16:25:02Z",
           "AffectedAssets": []})
    .to_string()
}

/// A store that cannot be reached for one event id (or, `refuses`, always rejects it).
struct PartlyDownStore {
    inner: MemoryCaseStore,
    down_for: &'static str,
    refuses: bool,
}

impl CaseStore for PartlyDownStore {
    async fn record(
        &self,
        anomaly: &Anomaly,
        contributions: &[Contribution],
    ) -> Result<(PutOutcome, crate::casebook::Recorded), StoreError> {
        if anomaly.event_id == self.down_for {
            return Err(if self.refuses {
                StoreError::Rejected("ValidationException: item size too large".into())
            } else {
                StoreError::Request("throttled".into())
            });
        }
        self.inner.record(anomaly, contributions).await
    }

    async fn finding(&self, id: &str) -> Result<Option<crate::finding::Finding>, StoreError> {
        self.inner.finding(id).await
    }

    async fn incident(&self, id: &str) -> Result<Option<crate::incident::Incident>, StoreError> {
        self.inner.incident(id).await
    }
}

#[tokio::test]
async fn a_poison_message_is_dead_lettered_at_once_with_its_reason() {
    let store = MemoryCaseStore::default();
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
            origin: None,
            caller: None,
        },
        message("m5", r#"{"EventID": "half an event"}"#),
    ];
    let report = detect(&store, &profiles, &messages).await;
    assert!(
        report.failed_message_ids.is_empty(),
        "no retry can help them"
    );
    let dead: Vec<(&str, &str)> = report
        .dead_letters
        .iter()
        .map(|dead| (dead.message_id.as_str(), dead.reason.as_str()))
        .collect();
    assert_eq!(dead.len(), 3);
    assert_eq!(dead[0].0, "m3");
    assert!(dead[0].1.contains("not valid JSON"), "{dead:?}");
    assert_eq!(dead[1], ("m4", "the message has no body"));
    assert_eq!(dead[2].0, "m5");
    assert!(dead[2].1.contains("is required"), "{dead:?}");
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
    let store = MemoryCaseStore::default();
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
    let store = MemoryCaseStore::default();
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
        inner: MemoryCaseStore::default(),
        down_for: "e2",
        refuses: false,
    };
    let profiles = MemoryProfileStore::default();
    let messages = vec![
        message("m1", &stop_logging_seed("e1")),
        message("m2", &stop_logging_seed("e2")),
        message("m3", &stop_logging_seed("e3")),
    ];
    let report = detect(&store, &profiles, &messages).await;
    assert_eq!(report.failed_message_ids, vec!["m2"]);
    assert!(report.dead_letters.is_empty(), "a throttle may pass");
    assert_eq!(store.inner.len(), 2);
}

#[tokio::test]
async fn a_packed_message_that_fails_midway_is_retried_whole_and_stores_each_anomaly_once() {
    let store = PartlyDownStore {
        inner: MemoryCaseStore::default(),
        down_for: "e2",
        refuses: false,
    };
    let profiles = MemoryProfileStore::default();
    let records: Vec<serde_json::Value> = ["e1", "e2", "e3"]
        .iter()
        .map(|id| serde_json::from_str(&stop_logging_seed(id)).unwrap())
        .collect();
    let batch = [packed("p1", crate::ingest::FROM_INGEST, &records)];
    let first = detect(&store, &profiles, &batch).await;
    assert_eq!(first.failed_message_ids, vec!["p1"], "the whole message");
    assert_eq!(store.inner.len(), 1, "e1 was stored before e2 failed");

    // The retry, once the store answers: e1 is found stored, e2 and e3 are new.
    let retry = detect(&store.inner, &profiles, &batch).await;
    assert!(retry.failed_message_ids.is_empty());
    assert_eq!((retry.anomalies_written, retry.duplicates), (2, 1));
    assert_eq!(store.inner.len(), 3);
}

#[tokio::test]
async fn what_the_store_will_always_refuse_is_dead_lettered_not_retried() {
    let store = PartlyDownStore {
        inner: MemoryCaseStore::default(),
        down_for: "e2",
        refuses: true,
    };
    let profiles = MemoryProfileStore::default();
    let messages = vec![
        message("m1", &stop_logging_seed("e1")),
        message("m2", &stop_logging_seed("e2")),
    ];
    let report = detect(&store, &profiles, &messages).await;
    assert!(report.failed_message_ids.is_empty());
    assert_eq!(report.dead_letters.len(), 1);
    assert_eq!(report.dead_letters[0].message_id, "m2");
    assert!(
        report.dead_letters[0]
            .reason
            .contains("ValidationException")
    );
    assert_eq!(store.inner.len(), 1);
}

#[tokio::test]
async fn a_delivery_file_message_with_a_bad_record_writes_nothing_and_is_dead_lettered() {
    let store = MemoryCaseStore::default();
    let profiles = MemoryProfileStore::default();
    let body = format!(
        r#"{{"Records": [{}, {{"eventID": "x"}}]}}"#,
        include_str!("../../../events/eventbridge-cloudtrail.json")
    );
    let report = detect(&store, &profiles, &[message("m1", &body)]).await;
    assert_eq!(report.dead_letters[0].message_id, "m1");
    assert!(report.failed_message_ids.is_empty());
    assert!(store.is_empty());
}

fn sample_records() -> Vec<serde_json::Value> {
    let file: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/cloudtrail-delivery.json")).unwrap();
    file["Records"].as_array().unwrap().clone()
}

/// A record as the EventBridge rule puts it on the queue: no origin attribute.
fn from_eventbridge(id: &str, record: &serde_json::Value) -> IncomingMessage {
    let envelope = json!({"version": "0", "id": id, "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.cloudtrail", "account": "111122223333", "time": record["eventTime"],
        "region": record["awsRegion"], "resources": [], "detail": record});
    message(id, &envelope.to_string())
}

fn packed(id: &str, origin: &str, records: &[serde_json::Value]) -> IncomingMessage {
    IncomingMessage {
        origin: Some(origin.to_string()),
        ..message(id, &json!({ "Records": records }).to_string())
    }
}

#[tokio::test]
async fn each_event_is_evaluated_once_whichever_way_it_came_and_s3_only_events_are_gaps() {
    let anomalies = MemoryCaseStore::default();
    let profiles = MemoryProfileStore::default();
    let receipts = MemoryReceiptStore::default();
    let (realtime_instance, s3_instance) = (RecentEvents::default(), RecentEvents::default());
    let records = sample_records();
    // EventBridge delivers all but the last record, to one detector instance…
    let realtime: Vec<IncomingMessage> = records[..5]
        .iter()
        .enumerate()
        .map(|(n, record)| from_eventbridge(&format!("eb{n}"), record))
        .collect();
    let stores = |recent| Stores {
        cases: &anomalies,
        triage: triage(),
        profiles: &profiles,
        receipts: &receipts,
        recent,
    };
    let first = process_batch(
        &Engine::default(),
        stores(&realtime_instance),
        &realtime,
        Utc::now(),
        None,
    )
    .await;
    assert_eq!((first.events, first.already_evaluated), (5, 0));
    // …then the trail's file brings all six to another.
    let second = process_batch(
        &Engine::default(),
        stores(&s3_instance),
        &[packed("s3", "s3", &records)],
        Utc::now(),
        None,
    )
    .await;
    assert_eq!(
        second,
        BatchReport {
            events: 6,
            already_evaluated: 5,
            delivery_gaps: 1,
            ..BatchReport::default()
        },
        "only the record EventBridge missed is evaluated, and it is a gap"
    );
    // The file delivered again changes nothing, on either instance.
    for recent in [&s3_instance, &realtime_instance] {
        let again = process_batch(
            &Engine::default(),
            stores(recent),
            &[packed("s3-again", "s3", &records)],
            Utc::now(),
            None,
        )
        .await;
        assert_eq!((again.already_evaluated, again.delivery_gaps), (6, 0));
    }
    assert_eq!(
        anomalies.len(),
        2,
        "the root login and StopLogging, once each"
    );
}

#[tokio::test]
async fn repeats_within_a_batch_are_evaluated_once_and_backfill_is_no_gap() {
    let anomalies = MemoryCaseStore::default();
    let profiles = MemoryProfileStore::default();
    let receipts = MemoryReceiptStore::default();
    let recent = RecentEvents::default();
    let records = sample_records();
    // EventBridge has delivered this stream, so an S3-only event would be a gap…
    receipts
        .note_realtime(
            "111122223333/us-east-1",
            Utc::now() - chrono::Duration::days(3650),
        )
        .await
        .unwrap();
    let twice: Vec<serde_json::Value> = records.iter().chain(&records).cloned().collect();
    let report = process_batch(
        &Engine::default(),
        Stores {
            cases: &anomalies,
            triage: triage(),
            profiles: &profiles,
            receipts: &receipts,
            recent: &recent,
        },
        // …but events posted to the ingest API are backfill, not gaps.
        &[packed("m1", "ingest", &twice)],
        Utc::now(),
        None,
    )
    .await;
    assert_eq!(
        (
            report.events,
            report.already_evaluated,
            report.delivery_gaps
        ),
        (12, 6, 0)
    );
}

#[test]
fn recent_events_forget_the_oldest_first() {
    let recent = RecentEvents::new(2);
    for id in ["a", "b", "c"] {
        recent.insert(id);
    }
    assert!(!recent.contains("a"));
    assert!(recent.contains("b") && recent.contains("c"));
}

#[tokio::test]
async fn near_the_deadline_no_message_is_started_and_all_are_left_for_a_retry() {
    let anomalies = MemoryCaseStore::default();
    let profiles = MemoryProfileStore::default();
    let messages = vec![
        message("m1", &stop_logging_seed("e1")),
        message("m2", &stop_logging_seed("e2")),
    ];
    let receipts = MemoryReceiptStore::default();
    let recent = RecentEvents::default();
    let stores = || Stores {
        cases: &anomalies,
        triage: triage(),
        profiles: &profiles,
        receipts: &receipts,
        recent: &recent,
    };
    let soon = std::time::Instant::now() + DEADLINE_MARGIN / 2;
    let report = process_batch(
        &Engine::default(),
        stores(),
        &messages,
        Utc::now(),
        Some(soon),
    )
    .await;
    assert_eq!(report.failed_message_ids, vec!["m1", "m2"]);
    assert_eq!(report.events, 0);
    assert!(anomalies.is_empty());

    let later = std::time::Instant::now() + DEADLINE_MARGIN * 4;
    let report = process_batch(
        &Engine::default(),
        stores(),
        &messages,
        Utc::now(),
        Some(later),
    )
    .await;
    assert!(report.failed_message_ids.is_empty());
    assert_eq!(report.anomalies_written, 2);
}

/// A case store that takes its time, as DynamoDB across a network does.
struct SlowStore {
    inner: MemoryCaseStore,
    delay: Duration,
}

impl CaseStore for SlowStore {
    async fn record(
        &self,
        anomaly: &Anomaly,
        contributions: &[Contribution],
    ) -> Result<(PutOutcome, crate::casebook::Recorded), StoreError> {
        tokio::time::sleep(self.delay).await;
        self.inner.record(anomaly, contributions).await
    }

    async fn finding(&self, id: &str) -> Result<Option<crate::finding::Finding>, StoreError> {
        self.inner.finding(id).await
    }

    async fn incident(&self, id: &str) -> Result<Option<crate::incident::Incident>, StoreError> {
        self.inner.incident(id).await
    }
}

#[tokio::test]
async fn a_packed_message_the_deadline_overtakes_is_left_for_a_retry_midway() {
    let store = SlowStore {
        inner: MemoryCaseStore::default(),
        delay: Duration::from_millis(10),
    };
    let profiles = MemoryProfileStore::default();
    let receipts = MemoryReceiptStore::default();
    let recent = RecentEvents::default();
    let records: Vec<serde_json::Value> = (0..60)
        .map(|n| serde_json::from_str(&stop_logging_seed(&format!("e{n}"))).unwrap())
        .collect();
    let batch = [packed("p1", crate::ingest::FROM_INGEST, &records)];
    let stores = || Stores {
        cases: &store,
        triage: triage(),
        profiles: &profiles,
        receipts: &receipts,
        recent: &recent,
    };
    // 60 events of 10 ms each; the deadline comes within the first 100 ms.
    let deadline = Instant::now() + DEADLINE_MARGIN + Duration::from_millis(100);
    let first = process_batch(
        &Engine::default(),
        stores(),
        &batch,
        Utc::now(),
        Some(deadline),
    )
    .await;
    assert_eq!(
        first.failed_message_ids,
        vec!["p1"],
        "retried, not dead-lettered"
    );
    assert!(first.dead_letters.is_empty());
    assert!(first.events < 60, "stopped midway: {} events", first.events);

    // The retry finishes what is left; nothing is stored twice.
    let retry = process_batch(&Engine::default(), stores(), &batch, Utc::now(), None).await;
    assert!(retry.failed_message_ids.is_empty());
    assert_eq!(store.inner.len(), 60);
    assert_eq!(retry.anomalies_written + first.anomalies_written, 60);
}

/// A profile store in an outage.
struct DownProfiles;

impl ProfileStore for DownProfiles {
    async fn observe(
        &self,
        _features: &crate::baseline::Features,
        _at: chrono::DateTime<Utc>,
        _config: &crate::baseline::BaselineConfig,
    ) -> Result<crate::baseline::Observation, StoreError> {
        Err(StoreError::Request(
            "ProvisionedThroughputExceededException".into(),
        ))
    }

    async fn tally(
        &self,
        _tally: &crate::baseline::Tally,
        _at: chrono::DateTime<Utc>,
        _config: &crate::baseline::BaselineConfig,
    ) -> Result<crate::baseline::Tallied, StoreError> {
        Err(StoreError::Request(
            "ProvisionedThroughputExceededException".into(),
        ))
    }

    async fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[tokio::test]
async fn a_profile_store_outage_keeps_the_rules_detections_and_retries_the_rest() {
    let anomalies = MemoryCaseStore::default();
    let receipts = MemoryReceiptStore::default();
    let recent = RecentEvents::default();
    let benign = stop_logging_seed("e2").replace("cloudtrail:StopLogging", "type1");
    let report = process_batch(
        &Engine::default(),
        Stores {
            cases: &anomalies,
            triage: triage(),
            profiles: &DownProfiles,
            receipts: &receipts,
            recent: &recent,
        },
        &[
            message("m1", &stop_logging_seed("e1")),
            message("m2", &benign),
        ],
        Utc::now(),
        None,
    )
    .await;
    // StopLogging is stored at once, marked; the benign event waits for the baseline.
    assert_eq!(report.failed_message_ids, vec!["m2"]);
    let stored = anomalies
        .get("e1")
        .await
        .unwrap()
        .expect("the rule anomaly");
    assert_eq!(stored.detections[0].id, "TW-CLOUDTRAIL-001");
    assert!(
        stored
            .baseline_error
            .as_deref()
            .is_some_and(|error| error.contains("ProvisionedThroughputExceeded"))
    );
}

#[tokio::test]
async fn posted_events_teach_the_baselines_only_from_trusted_callers() {
    let anomalies = MemoryCaseStore::default();
    let receipts = MemoryReceiptStore::default();
    let recent = RecentEvents::default();
    let record = sample_records()[0].clone();
    let posted = |id: &str, caller: &str| IncomingMessage {
        origin: Some("ingest".into()),
        caller: Some(caller.into()),
        ..message(id, &json!({"Records": [with_id(&record, id)]}).to_string())
    };
    let trusted = Engine::new(
        crate::rules::built_in(),
        crate::baseline::BaselineConfig {
            trusted_backfill_roles: vec!["arn:aws:iam::111122223333:role/log-shipper".into()],
            ..crate::baseline::BaselineConfig::default()
        },
    );
    for (caller, teaches) in [
        ("arn:aws:sts::111122223333:assumed-role/intruder/s", false),
        (
            "arn:aws:sts::111122223333:assumed-role/log-shipper/backfill-job",
            true,
        ),
    ] {
        let profiles = MemoryProfileStore::default();
        process_batch(
            &trusted,
            Stores {
                cases: &anomalies,
                triage: triage(),
                profiles: &profiles,
                receipts: &receipts,
                recent: &recent,
            },
            &[posted(&format!("posted-by-{teaches}"), caller)],
            Utc::now(),
            None,
        )
        .await;
        let known = profiles.values_kept(
            "arn:aws:iam::111122223333:role/deploy",
            crate::baseline::Kind::Network,
        );
        assert_eq!(known, usize::from(teaches), "{caller}");
    }
}

fn with_id(record: &serde_json::Value, id: &str) -> serde_json::Value {
    let mut record = record.clone();
    record["eventID"] = json!(id);
    record
}

#[tokio::test]
async fn each_event_counts_once_toward_its_finding_however_often_it_is_delivered() {
    let cases = MemoryCaseStore::default();
    let profiles = MemoryProfileStore::default();
    let messages: Vec<IncomingMessage> = (0..30)
        .map(|n| message(&format!("m{n}"), &stop_logging_seed(&format!("e{n}"))))
        .collect();
    let first = detect(&cases, &profiles, &messages).await;
    assert_eq!(first.findings_counted, 30);
    // Delivered again to another instance (no warm memory of the events): nothing counts.
    let again = process_batch(
        &Engine::default(),
        Stores {
            cases: &cases,
            triage: triage(),
            profiles: &profiles,
            receipts: &MemoryReceiptStore::default(),
            recent: &RecentEvents::default(),
        },
        &messages,
        Utc::now(),
        None,
    )
    .await;
    assert_eq!((again.duplicates, again.findings_counted), (30, 0));
    let findings = cases.findings();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].count, 30);
    assert_eq!(findings[0].detection.id, "TW-CLOUDTRAIL-001");
}
