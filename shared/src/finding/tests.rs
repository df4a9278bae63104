use chrono::TimeZone;
use serde_json::json;

use super::*;
use crate::casebook::Casebook;
use crate::engine::Engine;
use crate::input::parse_event;

/// A call by root at `minute` past 09:00 on 2 November (day 0) or a later day.
fn root_call(id: &str, day: i64, minute: i64, source: &str) -> Event {
    let at = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
        + Duration::days(day)
        + Duration::minutes(minute);
    let record = json!({"eventID": id, "eventTime": at.to_rfc3339(), "eventSource": "ec2.amazonaws.com",
        "eventName": "DescribeInstances", "awsRegion": "us-east-1", "sourceIPAddress": source,
        "userAgent": "aws-cli/2.17.32", "recipientAccountId": "111111111111",
        "userIdentity": {"type": "Root", "arn": "arn:aws:iam::111111111111:root", "accountId": "111111111111"}});
    parse_event(0, record).expect("valid")
}

fn anomaly(event: &Event) -> Anomaly {
    Engine::default()
        .evaluate_rules(event, Utc::now())
        .expect("root at work is an anomaly")
}

#[test]
fn a_root_session_of_many_calls_is_one_finding_with_its_count_and_each_event_counts_once() {
    let mut book = Casebook::default();
    for minute in 0..50 {
        let event = root_call(&format!("e{minute}"), 0, minute, "198.51.100.7");
        book.record(&event, &anomaly(&event));
    }
    // Redelivered: nothing changes.
    let again = root_call("e3", 0, 3, "198.51.100.7");
    assert!(book.record(&again, &anomaly(&again)).findings.is_empty());

    let findings = book.findings();
    assert_eq!(findings.len(), 1);
    let finding = findings[0];
    assert_eq!(finding.detection.id, "TW-ROOT-001");
    assert_eq!(finding.count, 50);
    assert_eq!(finding.event_ids.len(), MAX_SAMPLES);
    assert_eq!(finding.event_ids[0], "e0");
    assert_eq!(finding.first_seen, root_call("x", 0, 0, "x").event_time);
    assert_eq!(finding.last_seen, root_call("x", 0, 49, "x").event_time);
    assert_eq!(
        finding.networks.iter().collect::<Vec<_>>(),
        vec!["198.51.100.0/24"]
    );
    assert_eq!(finding.severity, Severity::High);
    assert!(finding.reason.contains("root"), "{}", finding.reason);
}

#[test]
fn windows_split_findings_and_ids_are_stable() {
    let mut book = Casebook::default();
    for (id, day) in [("a", 0), ("b", 0), ("c", 1)] {
        let event = root_call(id, day, 0, "198.51.100.7");
        book.record(&event, &anomaly(&event));
    }
    let counts: Vec<u64> = book
        .findings()
        .iter()
        .map(|finding| finding.count)
        .collect();
    assert_eq!(counts, vec![2, 1]);

    let start = window_start(
        root_call("x", 0, 0, "x").event_time,
        &FindingSettings::default(),
    );
    assert_eq!(start.to_rfc3339(), "2026-11-02T00:00:00+00:00");
    // The same grouping names the same finding anywhere, any time (FNV-1a of the grouping,
    // pinned so a change of scheme is a decision, not an accident).
    assert_eq!(
        finding_id(Some("1"), "p", "TW-X", None, start),
        finding_id(Some("1"), "p", "TW-X", None, start)
    );
    assert_ne!(
        finding_id(Some("1"), "p", "TW-X", None, start),
        finding_id(Some("1"), "p", "TW-X", Some("k"), start)
    );
    assert_eq!(
        finding_id(Some("111111111111"), "root", "TW-ROOT-001", None, start),
        "F-324d182f717ddf3d"
    );
}

#[test]
fn closing_takes_out_the_findings_whose_window_has_passed_and_a_late_event_opens_one_again() {
    let mut book = Casebook::default();
    for (id, day) in [("a", 0), ("b", 0), ("c", 2)] {
        let event = root_call(id, day, 0, "198.51.100.7");
        book.record(&event, &anomaly(&event));
    }
    let day_one = root_call("x", 1, 0, "x").event_time;
    let closed = book.close(day_one);
    assert_eq!(closed.findings.len(), 1);
    let first = &closed.findings[0];
    assert_eq!(first.count, 2);
    assert_eq!(book.findings().len(), 1, "day 2's finding is still open");
    assert!(book.close(day_one).findings.is_empty(), "closed once");

    let late = root_call("late", 0, 30, "198.51.100.7");
    let recorded = book.record(&late, &anomaly(&late));
    assert_eq!(
        recorded.findings,
        std::slice::from_ref(&first.id),
        "the same finding, again"
    );
    let mut rest = book.close_all().findings;
    rest.sort_by_key(|finding| finding.first_seen);
    assert_eq!(rest.len(), 2);
    assert_eq!((rest[0].id.as_str(), rest[0].count), (first.id.as_str(), 1));
    assert!(book.findings().is_empty());

    let mut whole = first.clone();
    whole.merge(rest.remove(0));
    assert_eq!(whole.count, 3);
    assert_eq!(whole.event_ids, ["a", "b", "late"]);
}

#[test]
fn first_networks_and_regions_are_keyed_by_what_they_saw_and_first_calls_are_not() {
    use crate::anomaly::Detection;
    let event = root_call("n", 0, 0, "203.0.113.9");
    let detection = |id: &str| Detection {
        id: id.into(),
        title: String::new(),
        severity: Severity::Low,
        tactic: String::new(),
        technique: String::new(),
        reason: String::new(),
        tags: Vec::new(),
        attribution: None,
    };
    assert_eq!(
        key_of(&detection("TW-BASE-NETWORK"), &event).as_deref(),
        Some("203.0.113.0/24")
    );
    assert_eq!(key_of(&detection("TW-BASE-API"), &event), None);
    assert_eq!(
        key_of(&detection("TW-BASE-REGION"), &event).as_deref(),
        Some("us-east-1")
    );
    assert_eq!(key_of(&detection("TW-ROOT-001"), &event), None);
}
