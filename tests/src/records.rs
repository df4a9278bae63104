//! Real CloudTrail records from the reference data beside the repository
//! (`../shared/data/traildiscover`, read in place), and the shapes they travel in.

use std::path::PathBuf;

use serde_json::{Value, json};

pub fn traildiscover_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/traildiscover/events")
}

/// The first record of `<Service>/<Event>.json.cloudtrail`.
pub fn traildiscover(service_and_event: &str) -> Value {
    let path = traildiscover_dir().join(format!("{service_and_event}.json.cloudtrail"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
    let records: Value = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not JSON: {error}", path.display()));
    match records {
        Value::Array(mut records) if !records.is_empty() => records.swap_remove(0),
        record => record,
    }
}

/// A CloudTrail record as EventBridge delivers it: `aws.<service>` as the source, and the
/// console sign-in detail type for sign-in events.
pub fn eventbridge_envelope(record: &Value) -> Value {
    let event_source = record["eventSource"].as_str().unwrap_or("unknown");
    let service = event_source
        .strip_suffix(".amazonaws.com")
        .unwrap_or(event_source);
    let detail_type = if record["eventType"] == "AwsConsoleSignIn" {
        "AWS Console Sign In via CloudTrail"
    } else {
        "AWS API Call via CloudTrail"
    };
    json!({
        "version": "0",
        "id": format!("eb-{}", record["eventID"].as_str().unwrap_or("unknown")),
        "detail-type": detail_type,
        "source": format!("aws.{service}"),
        "account": record["recipientAccountId"].as_str().unwrap_or("111122223333"),
        "time": record["eventTime"],
        "region": record["awsRegion"],
        "resources": [],
        "detail": record,
    })
}
