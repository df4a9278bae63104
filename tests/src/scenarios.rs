//! Small attack scenarios the end-to-end tests of findings, incidents and the CLI share,
//! and the way they drive them through the detector's handler.

use serde_json::{Value, json};
use trailwatch_shared::casebook::Triage;

use crate::harness::Harness;

pub const BOT: &str = "arn:aws:iam::111122223333:user/build-bot";

/// A call by build-bot `second` seconds after 09:00 on 2 November.
pub fn bot_call(id: &str, second: u32, source: &str, name: &str, denied: bool) -> Value {
    let mut record = json!({"eventVersion": "1.10", "eventID": id,
        "eventTime": format!("2026-11-02T09:{:02}:{:02}Z", second / 60, second % 60),
        "eventSource": format!("{source}.amazonaws.com"), "eventName": name,
        "awsRegion": "eu-west-1", "sourceIPAddress": "203.0.113.10",
        "userAgent": "python-requests/2.32.3", "recipientAccountId": "111122223333",
        "userIdentity": {"type": "IAMUser", "arn": BOT, "accountId": "111122223333",
            "accessKeyId": "AKIABUILDBOT"}});
    if denied {
        record["errorCode"] = json!("AccessDenied");
    }
    record
}

/// The bot stops the trail again the next day: a new window, so a new finding.
pub fn stop_on_the_next_day() -> Value {
    let mut next_day = bot_call("stop-again", 0, "cloudtrail", "StopLogging", false);
    next_day["eventTime"] = "2026-11-03T10:00:00Z".into();
    next_day
}

/// Sends each record as a message of its own, as EventBridge delivers them.
pub async fn send_all(harness: &Harness, records: &[Value]) {
    for record in records {
        harness.send_raw(&record.to_string()).await;
    }
}

/// Hands the queue's messages to detectors in batches of ten, each batch to a fresh detector
/// instance in turn (so no warm memory hides a repeat from the store).
pub async fn detect_all(harness: &Harness, triage: &Triage, expected: usize) {
    let messages = harness.receive(harness.events_queue_url(), expected).await;
    assert_eq!(messages.len(), expected);
    let detectors = [
        harness.detector_with(triage.clone()),
        harness.detector_with(triage.clone()),
    ];
    for (turn, batch) in messages.chunks(10).enumerate() {
        let response = harness.detect_with(&detectors[turn % 2], batch).await;
        assert!(response.batch_item_failures.is_empty());
    }
}

/// build-bot: a dozen denied listings, AdministratorAccess for itself, then the trail stopped.
pub fn three_step_attack() -> Vec<Value> {
    let mut records: Vec<Value> = (0..12)
        .map(|n| bot_call(&format!("probe-{n}"), n, "s3", "ListBuckets", true))
        .collect();
    let mut admin = bot_call("admin", 120, "iam", "AttachUserPolicy", false);
    admin["requestParameters"] = json!({"userName": "build-bot",
        "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"});
    let mut stop = bot_call("stop", 300, "cloudtrail", "StopLogging", false);
    stop["requestParameters"] = json!({"name": "management-events"});
    records.push(admin);
    records.push(stop);
    records
}
