//! Rule files that cannot be used are refused naming the file, the field and the problem.

use super::RuleFile;
use crate::rules::When;

const GOOD: &str = r#"
id: ACME-001
title: Backups bucket deleted
severity: high
tactic: Impact
technique: T1485
description: The backups bucket is gone.
calls: [s3:DeleteBucket]
when:
  field: /requestParameters/bucketName
  starts_with: acme-backups
tests:
  - name: the backups bucket
    record: {eventVersion: "1.08", eventSource: s3.amazonaws.com, eventName: DeleteBucket, eventTime: "2026-11-02T09:15:00Z", eventID: e1, awsRegion: us-east-1, userIdentity: {type: IAMUser, arn: "arn:aws:iam::111111111111:user/alice", accountId: "111111111111"}, requestParameters: {bucketName: acme-backups-eu}}
    expect: fires
"#;

fn refused(text: &str) -> (String, String) {
    let error = RuleFile::parse("acme.yaml", text).expect_err("refused");
    assert_eq!(error.file, "acme.yaml");
    (error.field, error.problem)
}

#[test]
fn a_good_file_reads_with_its_condition_and_cases() {
    let file = RuleFile::parse("acme.yaml", GOOD).expect("valid");
    assert_eq!(file.rule.id, "ACME-001");
    assert_eq!(file.rule.reason, "{principal} called {action}{outcome}");
    assert!(
        matches!(file.rule.when, When::Field(ref path, _) if path.pointer() == "/requestParameters/bucketName")
    );
    assert_eq!(file.cases.len(), 1);
    let report = crate::rules::testing::run(&[file], None);
    assert_eq!(
        (report.passed, report.failures.len()),
        (1, 0),
        "{:?}",
        report.failures
    );
}

#[test]
fn each_malformed_field_is_named_with_its_problem() {
    let cases = [
        (
            "severity: high",
            "severity: urgent",
            "severity",
            "unknown variant `urgent`",
        ),
        (
            "technique: T1485",
            "technique: 1485",
            "technique",
            "not a MITRE ATT&CK technique",
        ),
        ("id: ACME-001", "id: ACME 001", "id", "not a rule id"),
        (
            "tactic: Impact",
            "tactic: Sabotage",
            "tactic",
            "\"Sabotage\" is not a MITRE ATT&CK Enterprise tactic",
        ),
        (
            "calls: [s3:DeleteBucket]",
            "calls: [DeleteBucket]",
            "calls[0]",
            "not service:EventName",
        ),
        (
            "  starts_with: acme-backups",
            "  startswith: acme-backups",
            "when.startswith",
            "not a test",
        ),
        (
            "  field: /requestParameters/bucketName",
            "  field: requestParameters.bucketName",
            "when.field",
            "not a JSON pointer",
        ),
        (
            "title: Backups bucket deleted\n",
            "",
            "(file)",
            "missing field `title`",
        ),
        (
            "    expect: fires",
            "    expect: fire",
            "tests[0].expect",
            "unknown variant `fire`",
        ),
        (
            "tactic: Impact",
            "tactic: Impact\nseverityy: low",
            "(file)",
            "unknown field `severityy`",
        ),
    ];
    for (from, to, field, problem) in cases {
        let text = GOOD.replacen(from, to, 1);
        assert_ne!(text, GOOD, "{from}");
        let (named, said) = refused(&text);
        assert!(
            named == field && said.contains(problem),
            "{to:?}: named {named:?}, said {said:?}; expected {field:?}, {problem:?}"
        );
    }
}

#[test]
fn conditions_name_the_path_of_what_is_wrong() {
    let with_when = |when: &str| {
        GOOD.replacen(
            "when:\n  field: /requestParameters/bucketName\n  starts_with: acme-backups",
            when,
            1,
        )
    };
    let (field, problem) = refused(&with_when(
        "when:\n  all:\n    - succeeded\n    - check: is_evil",
    ));
    assert_eq!(field, "when.all[1].check");
    assert!(
        problem.contains("\"is_evil\" is not a known check"),
        "{problem}"
    );
    let (field, problem) = refused(&with_when("when:\n  any: []"));
    assert_eq!(
        (field.as_str(), problem.as_str()),
        ("when.any", "is an empty list")
    );
    let (field, problem) = refused(&with_when("when:\n  not: sometimes"));
    assert_eq!(field, "when.not");
    assert!(
        problem.contains("\"sometimes\" is not a condition"),
        "{problem}"
    );
    let (field, problem) = refused(&with_when("when:\n  field: /a\n  equals: x\n  one_of: [y]"));
    assert_eq!(field, "when");
    assert!(problem.contains("exactly one test"), "{problem}");
    let (field, _) = refused(&GOOD.replacen(
        "calls: [s3:DeleteBucket]",
        "calls: [s3:DeleteBucket]\nreason: \"{who} did it\"",
        1,
    ));
    assert_eq!(field, "reason");
}

#[test]
fn cases_say_where_their_record_comes_from() {
    let (field, problem) = refused(&GOOD.replacen("    record: {", "    recrd: {", 1));
    assert_eq!(field, "tests[0]");
    assert!(problem.contains("unknown field `recrd`"), "{problem}");
    let without = GOOD
        .lines()
        .filter(|line| !line.starts_with("    record:"))
        .collect::<Vec<_>>()
        .join("\n");
    let (field, problem) = refused(&without);
    assert_eq!(field, "tests[0].record");
    assert!(problem.starts_with("missing"), "{problem}");
    let (field, problem) = refused(&GOOD.replacen(
        "    expect: fires",
        "    set: {requestParameters: {}}\n    expect: fires",
        1,
    ));
    assert_eq!(field, "tests[0].set");
    assert!(problem.contains("not a JSON pointer"), "{problem}");
}

#[test]
fn stateful_rules_are_read_and_their_bounds_checked() {
    let threshold = GOOD.replacen(
        "tests:",
        "threshold: {at_least: 5, within_minutes: 10, per: source_ip, distinct: /userIdentity/userName}\nreason: \"{count} within {window}\"\ntests:",
        1,
    );
    let file = RuleFile::parse("acme.yaml", &threshold).expect("valid");
    assert_eq!(
        file.rule.stateful,
        Some(crate::rules::Stateful::Threshold(crate::rules::Threshold {
            at_least: 5,
            within_minutes: 10,
            per: crate::rules::Group::SourceIp,
            distinct: Some("/userIdentity/userName".into()),
        }))
    );
    let first_time = GOOD.replacen("tests:", "first_time: network\ntests:", 1);
    assert_eq!(
        RuleFile::parse("acme.yaml", &first_time)
            .expect("valid")
            .rule
            .stateful,
        Some(crate::rules::Stateful::FirstTime(
            crate::rules::FirstTime::Network
        ))
    );

    let cases = [
        (
            "threshold: {at_least: 1, within_minutes: 10, per: principal}",
            "threshold.at_least",
            "too few",
        ),
        (
            "threshold: {at_least: 5, within_minutes: 90, per: principal}",
            "threshold.within_minutes",
            "outside 1–60",
        ),
        (
            "threshold: {at_least: 5000, within_minutes: 10, per: principal, distinct: /a}",
            "threshold.at_least",
            "more than the 1000",
        ),
        (
            "threshold: {at_least: 5, within_minutes: 10, per: principal, distinct: a.b}",
            "threshold.distinct",
            "not a JSON pointer",
        ),
        (
            "threshold: {at_least: 5, within_minutes: 10, per: account}",
            "threshold.per",
            "unknown variant `account`",
        ),
        (
            "threshold: {at_least: 5, within_minutes: 10, per: principal}\nfirst_time: call",
            "first_time",
            "not both",
        ),
        ("first_time: ever", "first_time", "unknown variant `ever`"),
        ("first_time: call\nsignal: true", "signal", "cannot be one"),
        (
            "reason: \"{count} deleted\"",
            "reason",
            "only for a rule with a threshold",
        ),
    ];
    for (added, field, problem) in cases {
        let text = GOOD.replacen("tests:", &format!("{added}\ntests:"), 1);
        let (named, said) = refused(&text);
        assert!(
            named == field && said.contains(problem),
            "{added:?}: named {named:?}, said {said:?}; expected {field:?}, {problem:?}"
        );
    }
}
