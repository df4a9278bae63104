//! The ingest function answers the same behind an HTTP API (payload 2.0), a REST API
//! (payload 1.0, with its stage in the path) and a function URL.

use base64::prelude::{BASE64_STANDARD, Engine as _};
use lambda_http::http::header::{ALLOW, CONTENT_TYPE};
use lambda_http::{Body, Request};
use serde_json::{Value, json};
use trailwatch_shared::adapters::memory::MemoryQueue;
use trailwatch_shared::adapters::memory_ledger::MemoryIngestLedger;
use trailwatch_shared::ingest::EventTimeWindow;

fn request(sample: &str) -> Request {
    lambda_http::request::from_str(sample).expect("a sample Lambda HTTP event")
}

async fn answer(queue: &MemoryQueue, request: Request) -> (u16, Value) {
    let response = trailwatch_ingest::handle(
        queue,
        &None::<MemoryIngestLedger>,
        &EventTimeWindow::widest(),
        request,
    )
    .await
    .unwrap();
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    let status = response.status().as_u16();
    (
        status,
        serde_json::from_slice(response.body().as_ref()).unwrap(),
    )
}

#[tokio::test]
async fn every_api_front_door_reaches_the_same_ingest() {
    let samples = [
        include_str!("../../../events/apigw-http-ingest.json"),
        include_str!("../../../events/apigw-rest-ingest.json"),
        include_str!("../../../events/function-url-ingest.json"),
    ];
    for sample in samples {
        let queue = MemoryQueue::default();
        let (status, body) = answer(&queue, request(sample)).await;
        assert_eq!(status, 202, "{body}");
        assert_eq!(
            body["accepted"],
            json!([
                "8f884d95-b266-4018-8767-c4a79ecee7a6",
                "c0ffee00-0000-4000-8000-000000000001"
            ])
        );
        assert_eq!(queue.bodies().len(), 1, "packed in one message");
    }
}

#[tokio::test]
async fn a_base64_encoded_body_is_decoded() {
    let mut event: Value =
        serde_json::from_str(include_str!("../../../events/function-url-ingest.json")).unwrap();
    let body = event["body"].as_str().unwrap().to_string();
    event["body"] = Value::String(BASE64_STANDARD.encode(body.as_bytes()));
    event["isBase64Encoded"] = Value::Bool(true);
    let queue = MemoryQueue::default();
    let (status, _) = answer(&queue, request(&event.to_string())).await;
    assert_eq!(status, 202);
}

#[tokio::test]
async fn a_wrong_method_gets_405_with_allow() {
    let mut event: Value =
        serde_json::from_str(include_str!("../../../events/apigw-http-ingest.json")).unwrap();
    event["requestContext"]["http"]["method"] = json!("GET");
    let response = trailwatch_ingest::handle(
        &MemoryQueue::default(),
        &None::<MemoryIngestLedger>,
        &EventTimeWindow::widest(),
        request(&event.to_string()),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()[ALLOW], "POST");
    assert!(matches!(response.body(), Body::Text(_)));
}

#[tokio::test]
async fn the_sigv4_caller_travels_with_each_event_it_posts() {
    let shipper = "arn:aws:sts::111122223333:assumed-role/log-shipper/backfill-job";
    for (sample, caller) in [
        (
            include_str!("../../../events/apigw-http-ingest.json"),
            Some(shipper),
        ),
        (
            include_str!("../../../events/apigw-rest-ingest.json"),
            Some(shipper),
        ),
        // The sample function URL has no IAM authorization: nobody to name.
        (
            include_str!("../../../events/function-url-ingest.json"),
            None,
        ),
    ] {
        let queue = MemoryQueue::default();
        let (status, _) = answer(&queue, request(sample)).await;
        assert_eq!(status, 202);
        for message in queue.messages() {
            let attribute = |name: &str| {
                message
                    .attributes
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| value.as_str())
            };
            assert_eq!(attribute("trailwatch-origin"), Some("ingest"));
            assert_eq!(attribute("trailwatch-caller"), caller);
        }
    }
}
