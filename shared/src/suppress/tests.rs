use serde_json::json;

use super::*;
use crate::anomaly::Severity;
use crate::input::parse_event;

fn denied_write(principal_type: &str, source: &str, at: &str) -> Event {
    let identity = match principal_type {
        "service" => json!({"type": "AWSService", "invokedBy": "delivery.logs.amazonaws.com"}),
        _ => json!({"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/build-bot",
            "accountId": "111122223333"}),
    };
    parse_event(
        0,
        json!({"eventID": "e1", "eventTime": at, "eventSource": "s3.amazonaws.com",
            "eventName": "PutObject", "awsRegion": "eu-west-1", "sourceIPAddress": source,
            "userAgent": "aws-internal/3 aws-sdk-java/1.12", "errorCode": "AccessDenied",
            "recipientAccountId": "111122223333", "userIdentity": identity}),
    )
    .expect("valid")
}

fn detection(id: &str) -> Detection {
    Detection {
        id: id.into(),
        title: "t".into(),
        severity: Severity::Medium,
        tactic: "Discovery".into(),
        technique: "T1580".into(),
        reason: "r".into(),
        tags: Vec::new(),
        attribution: None,
    }
}

const RULES: &str = r#"
- id: flow-logs-bucket
  detection: TW-BASE-DENIED
  principal: "delivery.*.amazonaws.com"
  reason: flow logs cannot write to the audit bucket; OPS-1234
  expires: 2026-10-31
- id: office
  network: 203.0.113.0/24
  user_agent: aws-sdk-java
  account: "111122223333"
  region: eu-west-1
  reason: the office's build machines
"#;

#[test]
fn a_rule_suppresses_what_all_its_matchers_match_until_it_expires() {
    let rules = Suppressions::parse(RULES).expect("valid rules");
    let burst = detection("TW-BASE-DENIED");
    let service = denied_write(
        "service",
        "delivery.logs.amazonaws.com",
        "2026-10-02T09:00:00Z",
    );
    assert_eq!(
        rules.suppressing(&burst, &service),
        Some("flow-logs-bucket")
    );
    // Another detection on the same event is not what the rule names.
    assert_eq!(rules.suppressing(&detection("TW-S3-001"), &service), None);
    // The last day of the rule still counts; the day after does not.
    let last_day = denied_write("service", "x", "2026-10-31T23:00:00Z");
    assert_eq!(
        rules.suppressing(&burst, &last_day),
        Some("flow-logs-bucket")
    );
    let expired = denied_write("service", "x", "2026-11-01T00:00:01Z");
    assert_eq!(rules.suppressing(&burst, &expired), None);

    let office = denied_write("user", "203.0.113.44", "2026-10-02T09:00:00Z");
    assert_eq!(
        rules.suppressing(&detection("TW-ANY"), &office),
        Some("office")
    );
    let elsewhere = denied_write("user", "198.51.100.44", "2026-10-02T09:00:00Z");
    assert_eq!(rules.suppressing(&detection("TW-ANY"), &elsewhere), None);
}

#[test]
fn a_rule_without_reason_or_matcher_or_with_a_bad_field_is_refused_by_name() {
    let refused = |text: &str| Suppressions::parse(text).unwrap_err().to_string();
    assert_eq!(
        refused("- id: quiet\n  detection: TW-ROOT-001\n"),
        "suppression quiet: reason is required: say why this is suppressed"
    );
    assert!(
        refused("- id: all\n  reason: too noisy\n")
            .contains("suppression all: detection or another matcher")
    );
    assert!(
        refused("- id: net\n  network: 10.0.0/8\n  reason: r\n")
            .contains("suppression net: network \"10.0.0/8\" is not a network")
    );
    assert!(
        refused("- id: when\n  region: x\n  reason: r\n  expires: next week\n")
            .contains("suppression when: expires")
    );
    assert!(refused("- detection: X\n  reason: r\n").contains("suppression #1: id is required"));
    assert!(
        refused("- id: a\n  region: x\n  reason: r\n- id: a\n  region: y\n  reason: r\n")
            .contains("id is used by another rule")
    );
    assert!(refused("- id: a\n  regoin: x\n  reason: r\n").contains("unknown field `regoin`"));
    assert!(Suppressions::parse("").expect("no rules").is_empty());
}

#[test]
fn rules_in_json_read_the_same() {
    let rules = Suppressions::parse(
        r#"[{"id": "root-drill", "detection": "TW-ROOT-001", "principal": "arn:aws:iam::*:root", "reason": "quarterly break-glass drill"}]"#,
    )
    .expect("valid");
    let root = parse_event(
        0,
        json!({"eventID": "e", "eventTime": "2026-10-02T09:00:00Z",
        "eventSource": "ec2.amazonaws.com", "eventName": "DescribeInstances",
        "userIdentity": {"type": "Root", "arn": "arn:aws:iam::111122223333:root"}}),
    )
    .expect("valid");
    assert_eq!(
        rules.suppressing(&detection("TW-ROOT-001"), &root),
        Some("root-drill")
    );
}
