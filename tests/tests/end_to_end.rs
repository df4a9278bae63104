//! The whole flow through the real AWS SDK against a local endpoint: ingest handler → real
//! SQS queue → detector handler → real DynamoDB table.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use serde_json::{Value, json};
use trailwatch_shared::adapters::dynamodb_cases::{DynamoDbCaseStore, Retention};
use trailwatch_shared::dead_letter::ERROR_ATTRIBUTE;
use trailwatch_shared::incident::IncidentSettings;
use trailwatch_tests::harness::{Harness, http_api_request, text};

const EXAMPLE: &str = r#"{"RequestID":"8f884d95-b266-4018-8767-c4a79ecee7a6","EventID":"8f884d95-b266-4018-8767-c4a79ecee7a6","RoleID":"role12","EventType":"type1","EventTimestamp":"2023-06-23T16:23:18Z","AffectedAssets":["asset1","asset2"]}"#;
const STOP_LOGGING_ID: &str = "c0ffee00-0000-4000-8000-000000000001";

fn seed(event_id: &str, event_type: &str) -> Value {
    json!({"RequestID": event_id, "EventID": event_id, "RoleID": "role12", "EventType": event_type,
           "EventTimestamp": "2023-06-23T16:25:02Z", "AffectedAssets": ["arn:aws:cloudtrail:us-east-1:111122223333:trail/main"]})
}

fn failed_ids(response: &aws_lambda_events::event::sqs::SqsBatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|failure| failure.item_identifier.clone())
        .collect()
}

#[tokio::test]
async fn a_posted_event_flows_to_an_anomaly_item() {
    let Some(harness) = Harness::new("posted_event_flows").await else {
        return;
    };
    // The sample request: the prototype's example and a seed event recording StopLogging.
    let request =
        lambda_http::request::from_str(include_str!("../../events/apigw-http-ingest.json"))
            .unwrap();
    let (status, body) = harness.ingest(request).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        body["accepted"],
        json!(["8f884d95-b266-4018-8767-c4a79ecee7a6", STOP_LOGGING_ID])
    );

    // Both events travel in one message.
    let messages = harness.receive(harness.events_queue_url(), 1).await;
    assert_eq!(messages.len(), 1);
    let response = harness.detect(&messages).await;
    assert!(response.batch_item_failures.is_empty());

    let item = harness
        .anomaly_item(STOP_LOGGING_ID)
        .await
        .expect("an anomaly item");
    // The prototype's fields…
    assert_eq!(text(&item, "request_id"), STOP_LOGGING_ID);
    assert_eq!(text(&item, "event_id"), STOP_LOGGING_ID);
    assert_eq!(text(&item, "role_id"), "role12");
    assert_eq!(text(&item, "event_type"), "cloudtrail:StopLogging");
    assert_eq!(text(&item, "event_time"), "2023-06-23T16:25:02Z");
    assert_eq!(
        item["affected_assets"],
        AttributeValue::L(vec![AttributeValue::S(
            "arn:aws:cloudtrail:us-east-1:111122223333:trail/management-events".into()
        )])
    );
    assert_eq!(item["anomaly_score"], AttributeValue::N("0.75".into()));
    // …and what explains it.
    assert_eq!(text(&item, "severity"), "high");
    // Where it came from, and who sent it: the SigV4 caller of the ingest API.
    assert_eq!(text(&item, "origin"), "ingest");
    assert_eq!(
        text(&item, "caller"),
        "arn:aws:sts::111122223333:assumed-role/log-shipper/backfill-job"
    );
    let AttributeValue::L(detections) = &item["detections"] else {
        panic!("detections is a list")
    };
    let AttributeValue::M(detection) = &detections[0] else {
        panic!("a detection is a map")
    };
    assert_eq!(
        detection["id"],
        AttributeValue::S("TW-CLOUDTRAIL-001".into())
    );
    assert_eq!(
        item["reasons"],
        AttributeValue::L(vec![AttributeValue::S(
            "role12 stopped trail arn:aws:cloudtrail:us-east-1:111122223333:trail/management-events".into()
        )])
    );
    assert!(item.contains_key("detected_at"));

    // The prototype's example fires no rule, so it makes no anomaly.
    assert!(
        harness
            .anomaly_item("8f884d95-b266-4018-8767-c4a79ecee7a6")
            .await
            .is_none()
    );
    harness.cleanup().await;
}

#[tokio::test]
async fn the_same_event_delivered_twice_makes_one_item() {
    let Some(harness) = Harness::new("delivered_twice").await else {
        return;
    };
    let (status, _) = harness
        .ingest(http_api_request(
            &seed("twice", "cloudtrail:DeleteTrail").to_string(),
        ))
        .await;
    assert_eq!(status, 202);
    let messages = harness.receive(harness.events_queue_url(), 1).await;
    let first = harness.detect(&messages).await;
    let kept = harness
        .anomaly_item("twice")
        .await
        .expect("the first delivery stores the anomaly");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let second = harness.detect(&messages).await;
    assert!(first.batch_item_failures.is_empty() && second.batch_item_failures.is_empty());
    assert_eq!(harness.anomaly_count().await, 1);
    // The first anomaly is the one kept: a redelivery does not overwrite it.
    let after_redelivery = harness.anomaly_item("twice").await;
    assert_eq!(
        text(after_redelivery.as_ref().unwrap(), "detected_at"),
        text(&kept, "detected_at")
    );

    // Posted twice, too: two messages, still one anomaly.
    harness
        .ingest(http_api_request(
            &seed("twice", "cloudtrail:DeleteTrail").to_string(),
        ))
        .await;
    let again = harness.receive(harness.events_queue_url(), 1).await;
    assert!(harness.detect(&again).await.batch_item_failures.is_empty());
    assert_eq!(harness.anomaly_count().await, 1);
    assert_eq!(harness.anomaly_item("twice").await, Some(kept));
    harness.cleanup().await;
}

#[tokio::test]
async fn an_invalid_event_is_a_400_naming_the_field_and_nothing_is_queued() {
    let Some(harness) = Harness::new("invalid_event").await else {
        return;
    };
    let body = EXAMPLE.replace("2023-06-23T16:23:18Z", "June 23rd");
    let (status, answer) = harness.ingest(http_api_request(&body)).await;
    assert_eq!(status, 400);
    assert_eq!(answer["rejected"][0]["field"], "EventTimestamp");
    assert!(
        answer["rejected"][0]["problem"]
            .as_str()
            .unwrap()
            .contains("RFC 3339")
    );
    assert!(
        harness
            .receive(harness.events_queue_url(), 1)
            .await
            .is_empty()
    );
    harness.cleanup().await;
}

#[tokio::test]
async fn a_mixed_batch_delivers_its_valid_events() {
    let Some(harness) = Harness::new("mixed_batch").await else {
        return;
    };
    let mut missing_role = seed("no-role", "type1");
    missing_role.as_object_mut().unwrap().remove("RoleID");
    let body = json!([
        seed("ok-1", "type1"),
        missing_role,
        seed("ok-2", "cloudtrail:StopLogging"),
        17
    ]);
    let (status, answer) = harness.ingest(http_api_request(&body.to_string())).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["accepted"], json!(["ok-1", "ok-2"]));
    let rejected: Vec<(u64, &str)> = answer["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|problem| {
            (
                problem["index"].as_u64().unwrap(),
                problem["field"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(rejected, vec![(1, "RoleID"), (3, "")]);

    let messages = harness.receive(harness.events_queue_url(), 1).await;
    assert_eq!(messages.len(), 1, "the valid events, packed in one message");
    let body: Value = serde_json::from_str(messages[0].body.as_deref().unwrap()).unwrap();
    let ids: Vec<&str> = body["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["EventID"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["ok-1", "ok-2"]);
    harness.cleanup().await;
}

#[tokio::test]
async fn a_poison_message_is_dead_lettered_at_its_first_receive_with_the_reason() {
    let Some(harness) = Harness::new("poison_message").await else {
        return;
    };
    harness.send_raw("{\"this is\": \"not an event\"}").await;
    harness
        .send_raw(&seed("fine", "cloudtrail:StopLogging").to_string())
        .await;
    let messages = harness.receive(harness.events_queue_url(), 2).await;
    assert_eq!(messages.len(), 2);
    let response = harness.detect(&messages).await;
    assert!(failed_ids(&response).is_empty(), "nothing to retry");
    assert!(harness.anomaly_item("fine").await.is_some());

    let dead = harness.receive(harness.dead_letter_queue_url(), 1).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(
        dead[0].body.as_deref(),
        Some("{\"this is\": \"not an event\"}")
    );
    let reason = dead[0]
        .message_attributes()
        .and_then(|attributes| attributes.get(ERROR_ATTRIBUTE))
        .and_then(|attribute| attribute.string_value())
        .unwrap_or_default();
    assert!(
        reason.contains("not a recognised event"),
        "reason: {reason:?}"
    );
    harness.cleanup().await;
}

#[tokio::test]
async fn a_message_failing_for_a_reason_that_may_pass_is_dead_lettered_after_five_receives() {
    let Some(harness) = Harness::new("retried_message").await else {
        return;
    };
    harness
        .send_raw(&seed("unstorable", "cloudtrail:StopLogging").to_string())
        .await;
    // A missing anomalies table (mid-deployment, say) may be there on the next try.
    let mut detector = harness.detector();
    detector.cases = DynamoDbCaseStore::new(
        harness.dynamodb.clone(),
        format!("{}-no-such-table", harness.prefix),
        harness.cases_table(),
        IncidentSettings::default(),
        Retention::default(),
    );
    // Received five times in all, it fails every time; then the queue's redrive policy
    // moves it to the dead-letter queue.
    let mut message_id = None;
    for receive in 1..=5 {
        let again = harness.receive(harness.events_queue_url(), 1).await;
        assert_eq!(again.len(), 1, "receive {receive}");
        let count = again[0]
            .attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
            .cloned();
        assert_eq!(count.as_deref(), Some(receive.to_string().as_str()));
        message_id = again[0].message_id.clone();
        assert_eq!(
            failed_ids(&harness.detect_with(&detector, &again).await),
            vec![message_id.clone().unwrap()]
        );
        // What Lambda does with a failure: let it come back when its visibility ends.
        harness
            .sqs
            .change_message_visibility()
            .queue_url(harness.events_queue_url())
            .receipt_handle(again[0].receipt_handle.as_deref().unwrap())
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
    }
    assert!(
        harness
            .receive(harness.events_queue_url(), 1)
            .await
            .is_empty()
    );
    let dead = harness.receive(harness.dead_letter_queue_url(), 1).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].message_id, message_id);
    harness.cleanup().await;
}

#[tokio::test]
async fn a_cloudtrail_delivery_file_flows_through() {
    let Some(harness) = Harness::new("delivery_file").await else {
        return;
    };
    let (status, answer) = harness
        .ingest(http_api_request(include_str!(
            "../../events/cloudtrail-delivery.json"
        )))
        .await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["accepted"].as_array().unwrap().len(), 6);
    let messages = harness.receive(harness.events_queue_url(), 1).await;
    assert_eq!(messages.len(), 1, "the six records packed in one message");
    assert!(
        harness
            .detect(&messages)
            .await
            .batch_item_failures
            .is_empty()
    );
    assert_eq!(harness.anomaly_count().await, 2);
    harness.assert_sample_delivery_anomalies().await;
    harness.cleanup().await;
}

#[tokio::test]
async fn an_eventbridge_cloudtrail_event_on_the_queue_flows_through() {
    let Some(harness) = Harness::new("eventbridge_event").await else {
        return;
    };
    // What the EventBridge rule puts on the queue: the event itself, as the message body.
    harness
        .send_raw(include_str!("../../events/eventbridge-cloudtrail.json"))
        .await;
    let messages = harness.receive(harness.events_queue_url(), 1).await;
    assert!(
        harness
            .detect(&messages)
            .await
            .batch_item_failures
            .is_empty()
    );
    let item = harness
        .anomaly_item("5b0c1e0a-1111-4e6f-8a9b-000000000007")
        .await
        .expect("an anomaly item");
    assert_eq!(text(&item, "event_type"), "cloudtrail:DeleteTrail");
    assert_eq!(
        text(&item, "role_id"),
        "arn:aws:iam::111122223333:role/deploy"
    );
    assert_eq!(text(&item, "origin"), "eventbridge");
    assert!(
        !item.contains_key("caller"),
        "AWS delivered it, nobody posted it"
    );
    harness.cleanup().await;
}

/// A CloudTrail record of the deploy role, from the sample delivery file, at a given time.
fn deploy_role_call(event_id: &str, name: &str, source: &str, hours_after_start: i64) -> Value {
    let delivery: Value =
        serde_json::from_str(include_str!("../../events/cloudtrail-delivery.json")).unwrap();
    let mut record = delivery["Records"][0].clone();
    let time = chrono::DateTime::parse_from_rfc3339("2026-11-02T09:00:00Z").unwrap()
        + chrono::Duration::hours(hours_after_start);
    record["eventID"] = json!(event_id);
    record["eventName"] = json!(name);
    record["eventSource"] = json!(source);
    record["eventTime"] = json!(time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    record
}

#[tokio::test]
async fn baselines_learn_in_one_detector_and_alert_in_another() {
    let Some(harness) = Harness::new("baselines_persist").await else {
        return;
    };
    // Nine days of the deploy role describing instances, seen by one warm detector.
    let history = harness.detector();
    for event in 0..27 {
        harness
            .send_raw(
                &deploy_role_call(
                    &format!("history-{event}"),
                    "DescribeInstances",
                    "ec2.amazonaws.com",
                    event * 8,
                )
                .to_string(),
            )
            .await;
    }
    let messages = harness.receive(harness.events_queue_url(), 27).await;
    assert_eq!(messages.len(), 27);
    for batch in messages.chunks(10) {
        assert!(
            harness
                .detect_with(&history, batch)
                .await
                .batch_item_failures
                .is_empty()
        );
    }
    assert_eq!(
        harness.anomaly_count().await,
        0,
        "learning: nothing to report"
    );

    // Then a call the role never made, handled by another detector that starts cold: what it
    // knows of the role comes from the table.
    let fresh = harness.detector();
    harness
        .send_raw(
            &deploy_role_call(
                "first-stop",
                "StopLogging",
                "cloudtrail.amazonaws.com",
                27 * 8,
            )
            .to_string(),
        )
        .await;
    let messages = harness.receive(harness.events_queue_url(), 1).await;
    assert!(
        harness
            .detect_with(&fresh, &messages)
            .await
            .batch_item_failures
            .is_empty()
    );

    let item = harness
        .anomaly_item("first-stop")
        .await
        .expect("an anomaly");
    let AttributeValue::L(detections) = &item["detections"] else {
        panic!("detections is a list")
    };
    let ids: Vec<String> = detections
        .iter()
        .map(|detection| match detection {
            AttributeValue::M(detection) => text(detection, "id"),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids, vec!["TW-CLOUDTRAIL-001", "TW-BASE-API"]);
    let AttributeValue::L(reasons) = &item["reasons"] else {
        panic!("reasons is a list")
    };
    assert_eq!(
        reasons[1],
        AttributeValue::S("first call of cloudtrail:StopLogging by arn:aws:iam::111122223333:role/deploy in 9 days of history".into())
    );
    // A low detection does not corroborate a high one enough to raise it.
    assert_eq!(text(&item, "severity"), "high");
    harness.cleanup().await;
}
