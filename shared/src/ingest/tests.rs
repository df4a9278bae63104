use std::sync::Mutex;

use serde_json::{Value, json};

use super::*;
use crate::adapters::memory::MemoryQueue;
use crate::ports::{QueueError, SendFailure};

const EXAMPLE: &str = r#"{"RequestID":"8f884d95-b266-4018-8767-c4a79ecee7a6","EventID":"8f884d95-b266-4018-8767-c4a79ecee7a6","RoleID":"role12","EventType":"type1","EventTimestamp":"2023-06-23T16:23:18Z","AffectedAssets":["asset1","asset2"]}"#;

fn post(body: &[u8]) -> IngestRequest<'_> {
    IngestRequest {
        method: "POST",
        path: "/ingest",
        content_type: Some("application/json"),
        body,
        caller: None,
    }
}

/// The samples are dated 2023; these tests are about everything but the time window.
async fn handle_any_past<Q: EventQueue>(queue: &Q, request: IngestRequest<'_>) -> IngestResponse {
    handle(queue, &EventTimeWindow::widest(), request).await
}

fn seed(id: &str) -> Value {
    json!({"RequestID": id, "EventID": id, "RoleID": "role12", "EventType": "type1",
           "EventTimestamp": "2023-06-23T16:23:18Z", "AffectedAssets": []})
}

/// A queue that records each call's size and fails the way a test says.
#[derive(Default)]
struct ScriptedQueue {
    calls: Mutex<Vec<Vec<OutgoingMessage>>>,
    /// Entry ids to fail on every call, with whether the failure may pass on retry.
    fail: Vec<(&'static str, bool)>,
    /// Fail them only on the first call.
    only_first_call: bool,
    /// Fail whole calls.
    down: bool,
}

impl ScriptedQueue {
    fn calls(&self) -> Vec<Vec<OutgoingMessage>> {
        self.calls.lock().unwrap().clone()
    }
}

impl EventQueue for ScriptedQueue {
    async fn send_batch(
        &self,
        messages: &[OutgoingMessage],
    ) -> Result<Vec<SendFailure>, QueueError> {
        let mut calls = self.calls.lock().unwrap();
        calls.push(messages.to_vec());
        if self.down {
            return Err(QueueError::Send("connection refused".into()));
        }
        if self.only_first_call && calls.len() > 1 {
            return Ok(Vec::new());
        }
        Ok(messages
            .iter()
            .filter_map(|message| {
                self.fail
                    .iter()
                    .find(|(id, _)| *id == message.id)
                    .map(|(id, retryable)| SendFailure {
                        id: id.to_string(),
                        reason: "InternalError: try again".into(),
                        retryable: *retryable,
                    })
            })
            .collect())
    }
}

#[tokio::test]
async fn the_prototype_example_is_accepted_and_queued_as_sent() {
    let queue = MemoryQueue::default();
    let response = handle_any_past(&queue, post(EXAMPLE.as_bytes())).await;
    assert_eq!(response.status, 202);
    assert_eq!(
        response.body,
        json!({"accepted": ["8f884d95-b266-4018-8767-c4a79ecee7a6"], "rejected": [], "failed": []})
    );
    let bodies = queue.bodies();
    assert_eq!(bodies.len(), 1);
    assert_eq!(
        serde_json::from_str::<Value>(&bodies[0]).unwrap(),
        json!({"Records": [serde_json::from_str::<Value>(EXAMPLE).unwrap()]})
    );
}

/// The event ids a queued message carries, in order.
fn ids_in(body: &str) -> Vec<String> {
    let body: Value = serde_json::from_str(body).unwrap();
    body["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["EventID"].as_str().unwrap().to_string())
        .collect()
}

/// A seed event of about 100 KiB: two fit in one queue message, three do not.
fn big_seed(id: &str) -> Value {
    let mut event = seed(id);
    event["Notes"] = json!("x".repeat(100 * 1024));
    event
}

#[tokio::test]
async fn valid_events_go_through_beside_invalid_neighbours() {
    let queue = MemoryQueue::default();
    let mut bad = seed("bad");
    bad["EventTimestamp"] = json!("23/06/2023");
    let body = json!([seed("one"), bad, seed("two")]).to_string();
    let response = handle_any_past(&queue, post(body.as_bytes())).await;
    assert_eq!(response.status, 202);
    assert_eq!(response.body["accepted"], json!(["one", "two"]));
    assert_eq!(response.body["rejected"][0]["index"], 1);
    assert_eq!(response.body["rejected"][0]["field"], "EventTimestamp");
    let bodies = queue.bodies();
    assert_eq!(bodies.len(), 1, "one message carries both");
    assert_eq!(ids_in(&bodies[0]), vec!["one", "two"]);
}

#[tokio::test]
async fn nothing_valid_is_a_400_naming_every_field() {
    let queue = MemoryQueue::default();
    let body = json!([{"EventID": "x"}]).to_string();
    let response = handle_any_past(&queue, post(body.as_bytes())).await;
    assert_eq!(response.status, 400);
    let fields: Vec<&str> = response.body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|problem| problem["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        vec![
            "RequestID",
            "RoleID",
            "EventType",
            "EventTimestamp",
            "AffectedAssets"
        ]
    );
    assert!(queue.bodies().is_empty());
}

#[tokio::test]
async fn unparseable_json_is_a_400() {
    let response = handle_any_past(&MemoryQueue::default(), post(b"{\"EventID\": ")).await;
    assert_eq!(response.status, 400);
    assert!(
        response.body["rejected"][0]["problem"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
}

#[tokio::test]
async fn only_json_is_accepted() {
    let queue = MemoryQueue::default();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let request = IngestRequest {
            content_type,
            ..post(EXAMPLE.as_bytes())
        };
        assert_eq!(
            handle_any_past(&queue, request).await.status,
            415,
            "{content_type:?}"
        );
    }
    for content_type in [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/cloudevents+json",
    ] {
        let request = IngestRequest {
            content_type: Some(content_type),
            ..post(EXAMPLE.as_bytes())
        };
        assert_eq!(
            handle_any_past(&queue, request).await.status,
            202,
            "{content_type}"
        );
    }
}

#[tokio::test]
async fn other_paths_and_methods_are_refused() {
    let queue = MemoryQueue::default();
    let other_path = IngestRequest {
        path: "/events",
        ..post(EXAMPLE.as_bytes())
    };
    assert_eq!(handle_any_past(&queue, other_path).await.status, 404);
    let deep_path = IngestRequest {
        path: "/a/b/ingest",
        ..post(EXAMPLE.as_bytes())
    };
    assert_eq!(handle_any_past(&queue, deep_path).await.status, 404);
    let get = IngestRequest {
        method: "GET",
        ..post(EXAMPLE.as_bytes())
    };
    let response = handle_any_past(&queue, get).await;
    assert_eq!((response.status, response.allow), (405, Some("POST")));
    // A REST API stage prefix and a trailing slash still reach the route.
    for path in ["/Prod/ingest", "/ingest/"] {
        let request = IngestRequest {
            path,
            ..post(EXAMPLE.as_bytes())
        };
        assert_eq!(handle_any_past(&queue, request).await.status, 202, "{path}");
    }
}

#[tokio::test]
async fn oversized_requests_are_a_413() {
    let queue = MemoryQueue::default();
    let huge = vec![b' '; MAX_BODY_BYTES + 1];
    assert_eq!(handle_any_past(&queue, post(&huge)).await.status, 413);
    let many: Vec<Value> = (0..=MAX_EVENTS).map(|i| seed(&format!("id{i}"))).collect();
    let body = serde_json::to_vec(&many).unwrap();
    let response = handle_any_past(&queue, post(&body)).await;
    assert_eq!(response.status, 413);
    assert!(
        response.body["error"]
            .as_str()
            .unwrap()
            .contains("more than 500 events")
    );
    assert!(queue.bodies().is_empty());

    // Past the limit, elements that are not events are a 400 that says so, not a 413.
    let numbers = format!("[{}1]", "1,".repeat(100_000));
    let response = handle_any_past(&queue, post(numbers.as_bytes())).await;
    assert_eq!(response.status, 400, "{}", response.body);
    assert!(
        response.body["rejected"][0]["problem"]
            .as_str()
            .unwrap()
            .contains("element 0 is a number, not an event object"),
        "{}",
        response.body
    );
}

#[tokio::test]
async fn an_event_too_big_for_one_queue_message_is_rejected_alone() {
    let queue = MemoryQueue::default();
    let mut big = seed("big");
    // Any field may be large; the raw event is what travels.
    big["Notes"] = json!("a".repeat(MAX_MESSAGE_BYTES));
    let body = json!([seed("small"), big]).to_string();
    let response = handle_any_past(&queue, post(body.as_bytes())).await;
    assert_eq!(response.status, 202);
    assert_eq!(response.body["accepted"], json!(["small"]));
    assert_eq!(response.body["rejected"][0]["index"], 1);
    assert!(
        response.body["rejected"][0]["problem"]
            .as_str()
            .unwrap()
            .contains("queue message")
    );
}

#[tokio::test]
async fn events_are_packed_many_to_a_message_within_the_size_limit_of_sqs() {
    let queue = ScriptedQueue::default();
    let events: Vec<Value> = (0..500).map(|i| seed(&format!("id{i}"))).collect();
    let response = handle_any_past(&queue, post(json!(events).to_string().as_bytes())).await;
    assert_eq!(response.status, 202);
    assert_eq!(response.body["accepted"].as_array().unwrap().len(), 500);
    let calls = queue.calls();
    assert_eq!(calls.len(), 1, "500 small events: one request");
    assert_eq!(calls[0].len(), 1, "and one message");
    assert_eq!(ids_in(&calls[0][0].body).len(), 500);

    // Events of ~100 KiB: two fit in a message, and one message in a request.
    let queue = ScriptedQueue::default();
    let events: Vec<Value> = (0..5).map(|i| big_seed(&format!("big{i}"))).collect();
    let response = handle_any_past(&queue, post(json!(events).to_string().as_bytes())).await;
    assert_eq!(response.status, 202);
    let calls = queue.calls();
    let carried: Vec<Vec<Vec<String>>> = calls
        .iter()
        .map(|call| call.iter().map(|message| ids_in(&message.body)).collect())
        .collect();
    assert_eq!(
        carried,
        vec![
            vec![vec!["big0", "big1"]],
            vec![vec!["big2", "big3"]],
            vec![vec!["big4"]]
        ]
    );
    for call in &calls {
        let total: usize = call.iter().map(OutgoingMessage::size).sum();
        assert!(total <= MAX_MESSAGE_BYTES, "a request of {total} bytes");
    }
    // Where the request came from travels with every message.
    assert!(calls.iter().flatten().all(|message| {
        message
            .attributes
            .contains(&(ORIGIN_ATTRIBUTE, FROM_INGEST.to_string()))
    }));
}

#[tokio::test(start_paused = true)]
async fn a_message_that_fails_once_is_retried_whole_and_accepted() {
    let queue = ScriptedQueue {
        fail: vec![("m0", true)],
        only_first_call: true,
        ..Default::default()
    };
    let body = json!([seed("a"), seed("b"), seed("c")]).to_string();
    let response = handle_any_past(&queue, post(body.as_bytes())).await;
    assert_eq!(response.status, 202);
    assert_eq!(response.body["accepted"], json!(["a", "b", "c"]));
    let calls = queue.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(ids_in(&calls[1][0].body), vec!["a", "b", "c"]);
}

#[tokio::test(start_paused = true)]
async fn what_never_reaches_the_queue_is_reported_failed_event_by_event_with_a_503() {
    let queue = ScriptedQueue {
        fail: vec![("m1", true)],
        ..Default::default()
    };
    let body = json!([big_seed("a"), big_seed("b"), big_seed("c"), seed("d")]).to_string();
    let response = handle_any_past(&queue, post(body.as_bytes())).await;
    assert_eq!(response.status, 503);
    assert_eq!(response.body["accepted"], json!(["a", "b"]));
    let failed: Vec<(u64, &str)> = response.body["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|failed| {
            (
                failed["index"].as_u64().unwrap(),
                failed["event_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        failed,
        vec![(2, "c"), (3, "d")],
        "the failed message's events"
    );
    assert_eq!(queue.calls().len(), 4, "one try of m0, three of m1");

    let down = ScriptedQueue {
        down: true,
        ..Default::default()
    };
    let response = handle_any_past(&down, post(EXAMPLE.as_bytes())).await;
    assert_eq!(response.status, 503);
    assert_eq!(response.body["accepted"], json!([]));
    assert!(
        response.body["failed"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("connection refused")
    );
}

#[tokio::test]
async fn a_failure_the_sender_caused_is_not_retried() {
    let queue = ScriptedQueue {
        fail: vec![("m0", false)],
        ..Default::default()
    };
    let response = handle_any_past(&queue, post(json!([seed("a")]).to_string().as_bytes())).await;
    assert_eq!(response.status, 503);
    assert_eq!(queue.calls().len(), 1);
}

/// A CloudTrail record for alice from the network an attacker will use, dated `time`.
fn record_at(id: &str, time: &str) -> Value {
    json!({"eventVersion": "1.08", "eventID": id, "eventTime": time,
           "eventSource": "iam.amazonaws.com", "eventName": "ListUsers",
           "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9",
           "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice",
                            "accountId": "111122223333"}})
}

#[tokio::test]
async fn forged_history_and_forged_futures_are_refused_by_field_while_recent_events_pass() {
    let now = chrono::Utc::now();
    let recent = (now - chrono::Duration::days(2)).to_rfc3339();
    let forged_past = (now - chrono::Duration::days(400)).to_rfc3339();
    let forged_future = (now + chrono::Duration::hours(2)).to_rfc3339();
    let eventbridge = json!({"version": "0", "id": "e", "detail-type": "AWS API Call via CloudTrail",
                             "source": "aws.iam", "account": "111122223333",
                             "time": forged_past, "region": "us-east-1", "resources": [],
                             "detail": record_at("in-detail", &forged_past)});
    let body = json!([
        record_at("recent", &recent),
        record_at("past", &forged_past),
        record_at("future", &forged_future),
        eventbridge
    ]);
    let queue = MemoryQueue::default();
    let response = handle(
        &queue,
        &EventTimeWindow::default(),
        post(body.to_string().as_bytes()),
    )
    .await;

    assert_eq!(response.status, 202, "{}", response.body);
    assert_eq!(response.body["accepted"], json!(["recent"]));
    let rejected = response.body["rejected"].as_array().unwrap();
    let fields: Vec<(u64, &str)> = rejected
        .iter()
        .map(|problem| {
            (
                problem["index"].as_u64().unwrap(),
                problem["field"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        fields,
        [(1, "eventTime"), (2, "eventTime"), (3, "detail.eventTime")]
    );
    assert!(
        rejected[0]["problem"]
            .as_str()
            .unwrap()
            .contains("400 days old"),
        "{}",
        response.body
    );
    assert!(
        rejected[1]["problem"].as_str().unwrap().contains("ahead"),
        "{}",
        response.body
    );
    assert_eq!(queue.messages().len(), 1);
}

#[tokio::test]
async fn a_widened_window_admits_a_backfill_of_old_history() {
    let old = (chrono::Utc::now() - chrono::Duration::days(400)).to_rfc3339();
    let body = json!([record_at("old", &old)]).to_string();
    let backfill = EventTimeWindow::with_max_age_days(730).unwrap();
    let response = handle(&MemoryQueue::default(), &backfill, post(body.as_bytes())).await;
    assert_eq!(response.status, 202, "{}", response.body);
}

/// The bad-input corpus: every hostile body gets a specific 4xx naming what is wrong, never
/// a panic, a hang or a 5xx.
#[tokio::test]
async fn hostile_bodies_get_a_specific_client_error() {
    let deep_array = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_object = format!("{}1{}", r#"{"a":"#.repeat(50_000), "}".repeat(50_000));
    let mut invalid_utf8 = br#"[{"eventID": "x", "eventName": ""#.to_vec();
    invalid_utf8.extend_from_slice(&[0xff, 0xfe, 0xc3]);
    invalid_utf8.extend_from_slice(br#""}]"#);
    let huge_string = json!([{"eventID": "x", "eventTime": "2026-01-01T00:00:00Z",
                              "eventSource": "s3.amazonaws.com",
                              "eventName": "a".repeat(300 * 1024)}])
    .to_string();
    let huge_record = json!([{"eventID": "x", "eventTime": "2026-01-01T00:00:00Z",
                              "eventSource": "s3.amazonaws.com", "eventName": "PutObject",
                              "requestParameters": {"policy": "a".repeat(300 * 1024)}}])
    .to_string();
    let wrong_types = json!([{"eventID": 7, "eventTime": ["now"], "eventSource": {},
                              "eventName": null}])
    .to_string();
    let oversized = vec![b' '; MAX_BODY_BYTES + 1];
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "deep array",
            deep_array.into_bytes(),
            400,
            "recursion limit",
        ),
        (
            "deep object",
            deep_object.into_bytes(),
            400,
            "recursion limit",
        ),
        ("invalid UTF-8", invalid_utf8, 400, "not valid JSON"),
        (
            "truncated",
            b"[{\"eventID\": \"x\"".to_vec(),
            400,
            "not valid JSON",
        ),
        (
            "huge name",
            huge_string.into_bytes(),
            400,
            "at most 256 are allowed",
        ),
        (
            "huge record",
            huge_record.into_bytes(),
            400,
            "fit in one queue message",
        ),
        (
            "wrong types",
            wrong_types.into_bytes(),
            400,
            "must be a string",
        ),
        ("oversized", oversized, 413, "at most"),
        ("a bare number", b"7".to_vec(), 400, "object or array"),
        ("empty", Vec::new(), 400, "not valid JSON"),
    ];
    for (name, body, status, says) in cases {
        let queue = MemoryQueue::default();
        let response = handle_any_past(&queue, post(&body)).await;
        assert_eq!(response.status, status, "{name}: {}", response.body);
        assert!(
            response.body.to_string().contains(says),
            "{name}: {}",
            response.body
        );
        assert!(queue.messages().is_empty(), "{name}");
    }
    // A wrong content type is refused before the body is read.
    let request = IngestRequest {
        content_type: Some("text/plain"),
        ..post(b"[]")
    };
    assert_eq!(
        handle_any_past(&MemoryQueue::default(), request)
            .await
            .status,
        415
    );
}

#[tokio::test]
async fn duplicate_keys_are_read_as_json_parsers_do_the_last_one_wins() {
    // No error, but no ambiguity either: what is queued is the record as we read it.
    let body = br#"{"RequestID":"r","EventID":"first","EventID":"last","RoleID":"role12",
                    "EventType":"type1","EventTimestamp":"2023-06-23T16:23:18Z",
                    "AffectedAssets":[]}"#;
    let queue = MemoryQueue::default();
    let response = handle_any_past(&queue, post(body)).await;
    assert_eq!(response.body["accepted"], json!(["last"]));
    assert_eq!(ids_in(&queue.bodies()[0]), vec!["last"]);
}
