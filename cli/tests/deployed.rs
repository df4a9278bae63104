//! `trailwatch findings|incidents|suppress` against a stack's tables on the local endpoint:
//! an attack goes through the detector's handler, then the commands list it, acknowledge it,
//! and add a suppression that marks the next matching finding.

use std::process::{Command, Output};

use serde_json::Value;
use trailwatch_shared::casebook::Triage;
use trailwatch_tests::harness::Harness;
use trailwatch_tests::scenarios::{
    BOT, detect_all, send_all, stop_on_the_next_day, three_step_attack,
};

fn trailwatch(harness: &Harness, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .args(args)
        .args([
            "--cases-table",
            harness.cases_table(),
            "--suppressions-table",
            harness.suppressions_table(),
        ])
        .output()
        .expect("trailwatch runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn jsonl(output: &Output) -> Vec<Value> {
    assert!(output.status.success(), "{}", stderr(output));
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object a line"))
        .collect()
}

#[tokio::test]
async fn findings_are_listed_acknowledged_and_suppressed_from_the_command_line() {
    let Some(harness) = Harness::new("cli_deployed").await else {
        return;
    };
    let attack = three_step_attack();
    send_all(&harness, &attack).await;
    detect_all(&harness, &Triage::default(), attack.len()).await;

    // Listed, newest first; filtered as the API filters.
    let listed = trailwatch(&harness, &["findings", "list"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let table = stdout(&listed);
    assert!(table.starts_with("FINDINGS\n"), "{table}");
    assert!(
        table.contains("TW-CLOUDTRAIL-001") && table.contains("open"),
        "{table}"
    );
    let high = jsonl(&trailwatch(
        &harness,
        &[
            "findings",
            "list",
            "--principal",
            BOT,
            "--min-severity",
            "high",
            "--format",
            "jsonl",
        ],
    ));
    let mut ids: Vec<&str> = high
        .iter()
        .map(|finding| finding["detection"]["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, vec!["TW-CLOUDTRAIL-001", "TW-IAM-004"]);
    let stop = high
        .iter()
        .find(|finding| finding["detection"]["id"] == "TW-CLOUDTRAIL-001")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Paged: one at a time, the cursor printed on stderr.
    let first = trailwatch(
        &harness,
        &["findings", "list", "--limit", "1", "--format", "jsonl"],
    );
    assert_eq!(jsonl(&first).len(), 1);
    let hint = stderr(&first);
    let cursor = hint
        .trim()
        .strip_prefix("trailwatch: more: --next ")
        .unwrap_or_else(|| panic!("a cursor: {hint}"));
    let second = jsonl(&trailwatch(
        &harness,
        &[
            "findings", "list", "--limit", "1", "--next", cursor, "--format", "jsonl",
        ],
    ));
    assert_eq!(second.len(), 1);
    assert_ne!(second[0]["id"], jsonl(&first)[0]["id"]);

    // Acknowledged, with who and why.
    let ack = trailwatch(&harness, &["findings", "ack", &stop, "--note", "on it"]);
    assert!(ack.status.success(), "{}", stderr(&ack));
    assert!(stdout(&ack).starts_with(&format!("{stop} is now acknowledged (arn:aws:")));
    let acknowledged = jsonl(&trailwatch(
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
    assert_eq!(acknowledged.len(), 1);
    assert_eq!(acknowledged[0]["status"], "acknowledged");
    assert_eq!(acknowledged[0]["status_change"]["note"], "on it");
    let shown = stdout(&trailwatch(&harness, &["findings", "show", &stop]));
    assert!(
        shown.contains("acknowledged by arn:aws:") && shown.contains(": on it"),
        "{shown}"
    );
    let missing = trailwatch(&harness, &["findings", "ack", "F-0000000000000000"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("no finding F-0000000000000000"));

    let incidents = stdout(&trailwatch(&harness, &["incidents", "list"]));
    assert!(incidents.starts_with("INCIDENTS\n"), "{incidents}");
    assert!(incidents.contains("user/build-bot: burst of access-denied errors (Discovery)"));

    // A suppression added here marks the next matching finding, which is still stored.
    let added = trailwatch(
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
    assert!(added.status.success(), "{}", stderr(&added));
    let rules = stdout(&trailwatch(&harness, &["suppress", "list"]));
    assert!(
        rules.contains("bot-stops") && rules.contains("the bot rotates trails (OPS-7)"),
        "{rules}"
    );
    let triage = harness.triage_with_table_suppressions().await;
    let next_day = stop_on_the_next_day();
    send_all(&harness, &[next_day]).await;
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

    let bad = trailwatch(
        &harness,
        &["suppress", "add", "--id", "all", "--reason", "too noisy"],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("suppression all: detection or another matcher"));
    assert!(
        trailwatch(&harness, &["suppress", "remove", "bot-stops"])
            .status
            .success()
    );
    let again = trailwatch(&harness, &["suppress", "remove", "bot-stops"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("no suppression bot-stops"));
    harness.cleanup().await;
}

#[tokio::test]
async fn a_stack_that_is_not_there_is_named_with_the_way_out() {
    let Some(harness) = Harness::new("cli_no_stack").await else {
        return;
    };
    let output = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .args(["findings", "list", "--stack", "no-such-trailwatch"])
        .output()
        .expect("trailwatch runs");
    assert_eq!(output.status.code(), Some(2));
    let error = stderr(&output);
    assert!(
        error.contains("cannot read stack \"no-such-trailwatch\"")
            && error.contains("--cases-table"),
        "{error}"
    );
    harness.cleanup().await;
}
