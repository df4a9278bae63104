//! What a function's clients count of what AWS bills, against the local endpoint: DynamoDB's
//! own consumed capacity, and SQS requests in 64 KiB units.

use aws_sdk_dynamodb::types::AttributeValue;
use trailwatch_shared::adapters::sqs::SqsEventQueue;
use trailwatch_shared::adapters::usage::Usage;
use trailwatch_shared::enqueue::enqueue;
use trailwatch_shared::ports::OutgoingMessage;
use trailwatch_tests::harness::Harness;

#[tokio::test]
async fn dynamodb_calls_report_the_capacity_they_consumed() {
    let Some(harness) = Harness::new("usage_dynamodb").await else {
        return;
    };
    let usage = Usage::default();
    let dynamodb = usage.dynamodb(&harness.config);
    let table = harness.anomalies_table();
    let item = [
        ("pk", AttributeValue::S("usage-1".into())),
        ("padding", AttributeValue::S("x".repeat(2500))),
    ];
    dynamodb
        .put_item()
        .table_name(table)
        .set_item(Some(item.into_iter().map(|(k, v)| (k.into(), v)).collect()))
        .send()
        .await
        .expect("PutItem");
    // A conditional write refused as a repeat is billed too, and counted.
    let repeat = dynamodb
        .put_item()
        .table_name(table)
        .item("pk", AttributeValue::S("usage-1".into()))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await;
    assert!(repeat.is_err(), "the item is there");
    dynamodb
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S("usage-1".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem");
    let counts = usage.take();
    assert_eq!(counts.dynamodb_requests, 3);
    // The units are DynamoDB's own answer: by size on DynamoDB and DynamoDB Local (3 to put
    // ~2.5 KB, one strong read), one a call on moto. The refused repeat adds one either way.
    assert!(
        (2.0..=4.0).contains(&counts.dynamodb_write_units),
        "{counts:?}"
    );
    assert!(
        (0.5..=1.0).contains(&counts.dynamodb_read_units),
        "{counts:?}"
    );
    harness.cleanup().await;
}

#[tokio::test]
async fn sqs_sends_are_counted_in_the_units_sqs_bills() {
    let Some(harness) = Harness::new("usage_sqs").await else {
        return;
    };
    let usage = Usage::default();
    let queue = SqsEventQueue::new(usage.sqs(&harness.config), harness.events_queue_url());
    let message = |id: &str, bytes: usize| OutgoingMessage {
        id: id.into(),
        body: "x".repeat(bytes),
        attributes: Vec::new(),
    };
    // Ten entries, 205,600 bytes, in the first request (4 units of 64 KiB); two in the next.
    let mut messages = vec![message("big0", 100 * 1024), message("big1", 100 * 1024)];
    messages.extend((0..10).map(|n| message(&format!("small{n}"), 100)));
    assert!(enqueue(&queue, messages).await.is_empty());
    let counts = usage.take();
    assert_eq!(counts.sqs_requests, 2, "{counts:?}");
    assert_eq!(counts.sqs_billed_requests, 4 + 1, "{counts:?}");
    harness.cleanup().await;
}
