//! The S3 path end to end through the real SDK: a delivery file put into a bucket → S3's own
//! notification on the trail objects queue → collector handler (streaming the object from
//! S3) → events queue, packed → detector handler → anomalies. Digest files are skipped and a
//! corrupt file is dead-lettered with its key. The same records delivered by EventBridge and
//! by S3 are evaluated once.

use std::io::Write;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
    QueueConfiguration, S3KeyFilter,
};
use aws_sdk_sqs::types::Message;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::Value;
use trailwatch_tests::harness::Harness;
use trailwatch_tests::records::eventbridge_envelope;

const LOG_KEY: &str = "AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/us-east-1/2026/11/02/111122223333_CloudTrail_us-east-1_20261102T0915Z_a1B2c3D4e5F6g7H8.json.gz";
const DIGEST_KEY: &str = "AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail-Digest/us-east-1/2026/11/02/111122223333_CloudTrail-Digest_us-east-1_org_us-east-1_20261102T101500Z.json.gz";
const CORRUPT_KEY: &str = "AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/us-east-1/2026/11/02/111122223333_CloudTrail_us-east-1_20261102T0920Z_corrupt.json.gz";

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A bucket whose ObjectCreated notifications for `.json.gz` go to the trail objects queue,
/// as the README tells users to configure theirs.
async fn trail_bucket(harness: &Harness) -> String {
    let bucket = harness.prefix.to_ascii_lowercase();
    harness
        .s3
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("CreateBucket");
    let suffix = FilterRule::builder()
        .name(FilterRuleName::Suffix)
        .value(".json.gz")
        .build();
    let queue = QueueConfiguration::builder()
        .queue_arn(&harness.resources.queue("TrailObjectsQueue").arn)
        .events(Event::S3ObjectCreated)
        .filter(
            NotificationConfigurationFilter::builder()
                .key(S3KeyFilter::builder().filter_rules(suffix).build())
                .build(),
        )
        .build()
        .unwrap();
    harness
        .s3
        .put_bucket_notification_configuration()
        .bucket(&bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(queue)
                .build(),
        )
        .send()
        .await
        .expect("PutBucketNotificationConfiguration");
    bucket
}

async fn put(harness: &Harness, bucket: &str, key: &str, bytes: Vec<u8>) {
    harness
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(bytes))
        .send()
        .await
        .expect("PutObject");
}

/// The notifications of created objects (S3's test event, if the endpoint sends one, aside).
async fn notifications(harness: &Harness, expected: usize) -> Vec<Message> {
    let url = &harness.resources.queue("TrailObjectsQueue").url;
    let mut found = Vec::new();
    for message in harness.receive(url, expected + 1).await {
        if !message.body().unwrap_or_default().contains("s3:TestEvent") {
            found.push(message);
        }
    }
    found
}

fn attribute(message: &Message, name: &str) -> Option<String> {
    message
        .message_attributes()
        .and_then(|attributes| attributes.get(name))
        .and_then(|value| value.string_value().map(str::to_string))
}

#[tokio::test]
async fn a_delivery_file_in_the_bucket_becomes_anomalies_and_bad_objects_are_reported() {
    let Some(harness) = Harness::new("collector_flow").await else {
        return;
    };
    let bucket = trail_bucket(&harness).await;
    let file = include_bytes!("../../events/cloudtrail-delivery.json");
    put(&harness, &bucket, LOG_KEY, gzip(file)).await;
    put(
        &harness,
        &bucket,
        DIGEST_KEY,
        gzip(br#"{"awsAccountId":"111122223333"}"#),
    )
    .await;
    put(
        &harness,
        &bucket,
        CORRUPT_KEY,
        b"\x1f\x8b\x08\x00 not really gzip".to_vec(),
    )
    .await;

    let notified = notifications(&harness, 3).await;
    assert_eq!(notified.len(), 3, "one notification per object");
    let response = harness.collect(&notified).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "nothing is left to retry: {:?}",
        response.batch_item_failures
    );

    // The corrupt file's notification is dead-lettered at once, naming its key.
    let dead = harness
        .receive(
            &harness.resources.queue("TrailObjectsDeadLetterQueue").url,
            1,
        )
        .await;
    assert_eq!(dead.len(), 1);
    let reason = attribute(&dead[0], "trailwatch-error").expect("the reason travels with it");
    assert!(reason.contains(CORRUPT_KEY), "{reason}");

    // The log file's six records travel as one packed message marked as from S3.
    let packed = harness.receive(harness.events_queue_url(), 1).await;
    assert_eq!(packed.len(), 1, "six records, one message");
    assert_eq!(
        attribute(&packed[0], "trailwatch-origin").as_deref(),
        Some("s3")
    );
    assert_eq!(
        attribute(&packed[0], "trailwatch-object"),
        Some(format!("s3://{bucket}/{LOG_KEY}"))
    );
    let response = harness.detect(&packed).await;
    assert!(response.batch_item_failures.is_empty());
    harness.assert_sample_delivery_anomalies().await;
    harness.cleanup().await;
}

/// The `events` counter of a principal's profile, as DynamoDB holds it.
async fn profile_events(harness: &Harness, principal: &str) -> u64 {
    let item = harness
        .dynamodb
        .get_item()
        .table_name(harness.profiles_table())
        .key("pk", AttributeValue::S(format!("P#{principal}")))
        .key("sk", AttributeValue::S("PROFILE".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem")
        .item
        .expect("the principal has a profile");
    match item.get("events") {
        Some(AttributeValue::N(events)) => events.parse().unwrap(),
        other => panic!("events is {other:?}"),
    }
}

#[tokio::test]
async fn events_from_eventbridge_and_from_s3_are_evaluated_once() {
    let Some(harness) = Harness::new("collector_once").await else {
        return;
    };
    let file: Value =
        serde_json::from_str(include_str!("../../events/cloudtrail-delivery.json")).unwrap();
    // EventBridge first, into one detector instance…
    for record in file["Records"].as_array().unwrap() {
        harness
            .send_raw(&eventbridge_envelope(record).to_string())
            .await;
    }
    let realtime = harness.receive(harness.events_queue_url(), 6).await;
    assert_eq!(realtime.len(), 6);
    assert!(
        harness
            .detect(&realtime)
            .await
            .batch_item_failures
            .is_empty()
    );
    let anomalies = harness.anomaly_count().await;
    let alice = "arn:aws:iam::111122223333:user/alice";
    assert_eq!(profile_events(&harness, alice).await, 3);

    // …then the same records from the trail's bucket, into another.
    let bucket = trail_bucket(&harness).await;
    let bytes = include_bytes!("../../events/cloudtrail-delivery.json");
    put(&harness, &bucket, LOG_KEY, gzip(bytes)).await;
    let notified = notifications(&harness, 1).await;
    assert!(
        harness
            .collect(&notified)
            .await
            .batch_item_failures
            .is_empty()
    );
    let packed = harness.receive(harness.events_queue_url(), 1).await;
    assert_eq!(packed.len(), 1);
    let other_instance = harness.detector();
    let response = harness.detect_with(&other_instance, &packed).await;
    assert!(response.batch_item_failures.is_empty());

    assert_eq!(
        harness.anomaly_count().await,
        anomalies,
        "each anomaly once"
    );
    assert_eq!(
        profile_events(&harness, alice).await,
        3,
        "each event counted once in the baseline"
    );
    harness.cleanup().await;
}
