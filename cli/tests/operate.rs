//! A day of running trailwatch, end to end on the local endpoint: an attack posted to the
//! ingest API → findings and an incident stored → the alert on the topic's SQS subscriber and
//! on the bus → `GET /findings` lists it → `PATCH` acknowledges it → `trailwatch findings
//! list` shows it acknowledged → a suppression added with the CLI marks the next matching
//! finding, stored and told to no one. `GET /events/{id}` follows a posted event throughout.

use std::collections::BTreeSet;
use std::process::Command;

use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use trailwatch_shared::alert::AlertPolicy;
use trailwatch_shared::casebook::Triage;
use trailwatch_tests::alerting::{Subscribers, cases_stream};
use trailwatch_tests::harness::{Harness, api_request, http_api_request};
use trailwatch_tests::scenarios::{BOT, detect_all, stop_on_the_next_day, three_step_attack};

const ALICE: &str = "arn:aws:iam::111122223333:user/alice";

fn trailwatch(harness: &Harness, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .args(args)
        .args(["--cases-table", harness.cases_table()])
        .args(["--suppressions-table", harness.suppressions_table()])
        .output()
        .expect("trailwatch runs");
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn jsonl(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object a line"))
        .collect()
}

/// Runs the publisher on the cases table's stream; the alert ids it published anew.
async fn publish(
    harness: &Harness,
    subscribers: &Subscribers,
    told: &mut BTreeSet<String>,
) -> Vec<Value> {
    let targets = subscribers.targets(harness);
    let stream = cases_stream(harness).await;
    let response = trailwatch_publisher::handle(
        &targets,
        &AlertPolicy::default(),
        LambdaEvent::new(stream, Context::default()),
    )
    .await
    .expect("the publisher answers");
    assert!(response.batch_item_failures.is_empty());
    // The stream is read from its start each time: earlier alerts come again under their
    // ids, as a retried batch would, and receivers drop them.
    subscribers
        .from_topic(harness)
        .await
        .into_iter()
        .filter(|alert| told.insert(alert["alert_id"].as_str().unwrap().to_string()))
        .collect()
}

async fn event_status(harness: &Harness, event_id: &str) -> Value {
    let (status, body) = harness
        .query(api_request(
            "GET",
            &format!("/events/{event_id}"),
            "",
            ALICE,
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn an_attack_is_alerted_listed_acknowledged_and_its_sequel_suppressed() {
    let Some(harness) = Harness::new("operate").await else {
        return;
    };
    let subscribers = Subscribers::create(&harness).await;
    let mut told = BTreeSet::new();

    // The attack, posted to the ingest API.
    let attack = three_step_attack();
    let (status, answer) = harness
        .ingest(http_api_request(&json!({ "Records": attack }).to_string()))
        .await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(event_status(&harness, "admin").await["status"], "queued");
    // The ingest function packs the request's events into one message.
    detect_all(&harness, &Triage::default(), 1).await;
    let admin = event_status(&harness, "admin").await;
    assert_eq!(admin["status"], "anomaly", "{admin}");
    assert_eq!(admin["anomaly"]["event"]["eventName"], "AttachUserPolicy");
    assert!(!admin["findings"].as_array().unwrap().is_empty());

    // Told: the incident once on the topic, and on the bus.
    let alerts = publish(&harness, &subscribers, &mut told).await;
    let incidents: Vec<&Value> = alerts.iter().filter(|a| a["kind"] == "Incident").collect();
    assert_eq!(incidents[0]["change"], "opened", "{alerts:#?}");
    assert_eq!(incidents[0]["principal"], BOT);
    assert!(!incidents[0]["timeline"].as_array().unwrap().is_empty());
    let on_bus = subscribers.from_bus(&harness).await;
    assert!(
        on_bus
            .iter()
            .any(|(kind, detail)| kind == "Incident"
                && detail["alert_id"] == incidents[0]["alert_id"]),
        "{on_bus:?}"
    );
    assert_eq!(on_bus.len(), alerts.len());

    // Listed by the API, then acknowledged there.
    let (status, page) = harness
        .query(api_request(
            "GET",
            "/findings?detection=TW-CLOUDTRAIL-001&min_severity=high",
            "",
            ALICE,
        ))
        .await;
    assert_eq!(status, 200, "{page}");
    let stop = page["items"][0]["id"]
        .as_str()
        .expect("the finding")
        .to_string();
    let (status, detail) = harness
        .query(api_request("GET", &format!("/findings/{stop}"), "", ALICE))
        .await;
    assert_eq!(status, 200);
    assert_eq!(detail["anomalies"][0]["event"]["eventName"], "StopLogging");
    let (status, acknowledged) = harness
        .query(api_request(
            "PATCH",
            &format!("/findings/{stop}"),
            r#"{"status": "acknowledged", "note": "asked the bot's owner"}"#,
            ALICE,
        ))
        .await;
    assert_eq!(status, 200, "{acknowledged}");
    let (status, refused) = harness
        .query(api_request(
            "PATCH",
            &format!("/findings/{stop}"),
            r#"{"status": "done"}"#,
            ALICE,
        ))
        .await;
    assert_eq!(
        (status, &refused["error"]["parameter"]),
        (400, &json!("status"))
    );
    // A status change is no news.
    assert!(publish(&harness, &subscribers, &mut told).await.is_empty());

    // The CLI sees what the API did, and who did it.
    let listed = jsonl(&trailwatch(
        &harness,
        &[
            "findings",
            "list",
            "--status",
            "acknowledged",
            "--format",
            "jsonl",
        ],
    ));
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], stop.as_str());
    assert_eq!(listed[0]["status_change"]["by"], ALICE);
    assert_eq!(listed[0]["status_change"]["note"], "asked the bot's owner");

    // A suppression from the CLI; the next day's stop is stored, marked, and told to no one.
    trailwatch(
        &harness,
        &[
            "suppress",
            "add",
            "--id",
            "bot-stops",
            "--detection",
            "TW-CLOUDTRAIL-001",
            "--principal",
            "*:user/build-bot",
            "--reason",
            "the bot rotates trails (OPS-7)",
        ],
    );
    let (_, rules) = harness
        .query(api_request("GET", "/suppressions", "", ALICE))
        .await;
    assert_eq!(rules["items"][0]["id"], "bot-stops");
    let triage = harness.triage_with_table_suppressions().await;
    let next_day = stop_on_the_next_day();
    let (status, _) = harness
        .ingest(http_api_request(&next_day.to_string()))
        .await;
    assert_eq!(status, 202);
    detect_all(&harness, &triage, 1).await;
    let suppressed = jsonl(&trailwatch(
        &harness,
        &[
            "findings",
            "list",
            "--since",
            "2026-11-03",
            "--detection",
            "TW-CLOUDTRAIL-001",
            "--format",
            "jsonl",
        ],
    ));
    assert_eq!(suppressed.len(), 1, "{suppressed:?}");
    assert_eq!(suppressed[0]["suppressed_by"], "bot-stops");
    let news = publish(&harness, &subscribers, &mut told).await;
    assert!(
        news.iter().all(|alert| alert["id"] != suppressed[0]["id"]),
        "a suppressed finding was told: {news:#?}"
    );
    assert_eq!(
        event_status(&harness, "stop-again").await["status"],
        "anomaly"
    );

    subscribers.delete(&harness).await;
    harness.cleanup().await;
}
