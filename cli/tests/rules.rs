//! `trailwatch rules`: the catalog as people and programs read it, and the README's copy.

use std::process::{Command, Output};

fn trailwatch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .args(args)
        .output()
        .expect("trailwatch runs")
}

fn rules(format: &str) -> String {
    let output = trailwatch(&["rules", "--format", format]);
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A CloudTrail record of the DeleteBucket call, as the S3 documentation's CloudTrail
/// example writes it.
const DELETE_BUCKET: &str = r#"{"eventVersion": "1.09", "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": "arn:aws:iam::111122223333:user/alice", "accountId": "111122223333", "userName": "alice"}, "eventTime": "2026-11-02T09:15:00Z", "eventSource": "s3.amazonaws.com", "eventName": "DeleteBucket", "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.7", "userAgent": "aws-cli/2.17.0", "requestParameters": {"bucketName": "acme-backups-eu", "Host": "s3.us-east-1.amazonaws.com"}, "responseElements": null, "requestID": "R1", "eventID": "E1", "readOnly": false, "eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": "111122223333"}"#;

/// A user's own rule, with one positive and one negative case.
fn backups_rule(expect_for_other_bucket: &str) -> String {
    format!(
        r#"id: ACME-BACKUPS-001
title: Backups bucket deleted
severity: critical
tactic: Impact
technique: T1485
description: The bucket that holds our backups was deleted.
legitimate: Nobody; backups buckets are retired by a change request that disables this rule first.
calls: [s3:DeleteBucket]
when:
  field: /requestParameters/bucketName
  starts_with: acme-backups
reason: "{{principal}} deleted backups bucket {{/requestParameters/bucketName}}"
tests:
  - name: a backups bucket
    record: {DELETE_BUCKET}
    expect: fires
  - name: another bucket
    record: {DELETE_BUCKET}
    set: {{/requestParameters/bucketName: scratch}}
    expect: {expect_for_other_bucket}
"#
    )
}

#[test]
fn rules_test_runs_a_directorys_cases_and_names_each_failure_by_file_and_case() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backups.yaml");
    std::fs::write(&path, backups_rule("quiet")).unwrap();
    let dir_arg = dir.path().to_str().unwrap();
    let passed = trailwatch(&["rules", "test", dir_arg]);
    assert!(passed.status.success(), "{}", text(&passed.stdout));
    assert_eq!(
        text(&passed.stdout),
        "1 rule files, 2 cases: 2 passed, 0 failed\n"
    );

    std::fs::write(&path, backups_rule("fires")).unwrap();
    let failed = trailwatch(&["rules", "test", dir_arg]);
    assert_eq!(failed.status.code(), Some(1));
    assert_eq!(
        text(&failed.stdout),
        format!(
            "FAIL {}: tests[1] \"another bucket\": should fire on s3:DeleteBucket, but did not fire\n1 rule files, 2 cases: 1 passed, 1 failed\n",
            path.display()
        )
    );

    std::fs::write(
        &path,
        backups_rule("quiet").replace("starts_with:", "startswith:"),
    )
    .unwrap();
    let malformed = trailwatch(&["rules", "test", dir_arg]);
    assert_eq!(malformed.status.code(), Some(2));
    assert_eq!(
        text(&malformed.stderr),
        format!(
            "trailwatch: {}: when.startswith: \"startswith\" is not a test; the tests are equals, one_of, contains, starts_with, present or is\n",
            path.display()
        )
    );
}

#[test]
fn the_built_in_catalog_passes_its_own_cases() {
    let output = trailwatch(&["rules", "test"]);
    assert!(output.status.success(), "{}", text(&output.stdout));
    assert!(text(&output.stdout).ends_with(" failed\n"));
}

#[test]
fn scan_adds_a_users_rules_and_lets_them_replace_built_in_ones() {
    let rules = tempfile::tempdir().unwrap();
    std::fs::write(rules.path().join("backups.yaml"), backups_rule("quiet")).unwrap();
    let trail = tempfile::tempdir().unwrap();
    let file = trail.path().join("trail.json");
    // The same call by the root user, which the built-in TW-ROOT-001 reports.
    let by_root = DELETE_BUCKET
        .replace("\"E1\"", "\"E2\"")
        .replace("\"type\": \"IAMUser\"", "\"type\": \"Root\"")
        .replace("user/alice", "root");
    std::fs::write(
        &file,
        format!("{{\"Records\": [{DELETE_BUCKET}, {by_root}]}}"),
    )
    .unwrap();
    let scan = |rules_dir: Option<&std::path::Path>| {
        let mut args = vec!["scan", "--format", "findings", file.to_str().unwrap()];
        if let Some(dir) = rules_dir {
            args.extend(["--rules", dir.to_str().unwrap()]);
        }
        let output = trailwatch(&args);
        assert!(output.status.success(), "{}", text(&output.stderr));
        let detections: Vec<String> = text(&output.stdout)
            .lines()
            .map(|line| {
                let finding: serde_json::Value = serde_json::from_str(line).unwrap();
                finding["detection"]["id"].as_str().unwrap().to_string()
            })
            .collect();
        (detections, text(&output.stderr))
    };
    let (built_in_only, _) = scan(None);
    assert!(
        !built_in_only.contains(&"ACME-BACKUPS-001".to_string()),
        "{built_in_only:?}"
    );
    assert!(
        built_in_only.contains(&"TW-ROOT-001".to_string()),
        "{built_in_only:?}"
    );
    let (with_ours, said) = scan(Some(rules.path()));
    assert!(
        with_ours.contains(&"ACME-BACKUPS-001".to_string()),
        "{with_ours:?}"
    );
    assert!(said.contains("1 rule files loaded from"), "{said}");

    // Our own file with a built-in rule's id and `enabled: false` turns the built-in off.
    std::fs::write(
        rules.path().join("off.yaml"),
        "id: TW-ROOT-001\ntitle: off\nseverity: low\ntactic: Impact\ntechnique: T1485\ndescription: Turned off.\nenabled: false\n",
    )
    .unwrap();
    let (turned_off, said) = scan(Some(rules.path()));
    assert!(
        !turned_off.contains(&"TW-ROOT-001".to_string()),
        "{turned_off:?}"
    );
    assert!(
        turned_off.contains(&"ACME-BACKUPS-001".to_string()),
        "{turned_off:?}"
    );
    assert!(said.contains("(1 replace built-in rules)"), "{said}");
}

#[test]
fn the_readme_detection_table_is_the_catalog() {
    let readme = include_str!("../../README.md");
    let start = readme.find("<!-- rules:start -->\n").expect("start marker")
        + "<!-- rules:start -->\n".len();
    let end = readme.find("<!-- rules:end -->").expect("end marker");
    assert_eq!(
        &readme[start..end],
        rules("markdown"),
        "the README's detection table is stale: paste `trailwatch rules --format markdown` between the markers"
    );
}

#[test]
fn the_readme_coverage_table_is_the_catalogs() {
    let readme = include_str!("../../README.md");
    let start = readme
        .find("<!-- coverage:start -->\n")
        .expect("start marker")
        + "<!-- coverage:start -->\n".len();
    let end = readme.find("<!-- coverage:end -->").expect("end marker");
    assert_eq!(
        &readme[start..end],
        rules("coverage"),
        "the README's coverage table is stale: paste `trailwatch rules --format coverage` between the markers"
    );
}

#[test]
fn the_attack_layer_is_a_navigator_layer_of_every_rule() {
    let layer: serde_json::Value = serde_json::from_str(&rules("attack-layer")).expect("JSON");
    assert_eq!(layer["domain"], "enterprise-attack");
    let scores: u64 = layer["techniques"]
        .as_array()
        .expect("techniques")
        .iter()
        .map(|technique| technique["score"].as_u64().expect("a score"))
        .sum();
    assert_eq!(scores as usize, rules("jsonl").lines().count());
}

#[test]
fn jsonl_lists_every_rule_with_its_attack_mapping() {
    let lines: Vec<serde_json::Value> = rules("jsonl")
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(lines.len() >= 50);
    for rule in &lines {
        for field in [
            "id",
            "title",
            "description",
            "severity",
            "tactic",
            "technique",
        ] {
            assert!(rule[field].is_string(), "{field} in {rule}");
        }
        assert!(rule["calls"].is_array());
    }
}

#[test]
fn the_table_has_a_row_per_rule() {
    let table = rules("table");
    let jsonl = rules("jsonl");
    assert_eq!(table.lines().count(), jsonl.lines().count() + 1);
    assert!(table.lines().next().unwrap().starts_with("ID"));
    assert!(table.contains("TW-ROOT-001") && table.contains("(every call)"));
}

/// `n` DeleteObject data events by one role within a few minutes, as S3 records them.
fn deletes(n: usize) -> String {
    let records: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"eventVersion": "1.09", "userIdentity": {{"type": "AssumedRole", "principalId": "AROAEXAMPLE:job", "arn": "arn:aws:sts::111122223333:assumed-role/cleanup/job", "accountId": "111122223333", "sessionContext": {{"sessionIssuer": {{"type": "Role", "arn": "arn:aws:iam::111122223333:role/cleanup", "accountId": "111122223333"}}}}}}, "eventTime": "2026-11-02T09:{:02}:{:02}Z", "eventSource": "s3.amazonaws.com", "eventName": "DeleteObject", "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.7", "userAgent": "aws-cli/2.17.0", "requestParameters": {{"bucketName": "acme-data", "key": "part-{i}"}}, "responseElements": null, "eventID": "D{i}", "readOnly": false, "eventType": "AwsApiCall", "managementEvent": false, "recipientAccountId": "111122223333", "eventCategory": "Data"}}"#,
                i / 300,
                (i / 5) % 60
            )
        })
        .collect();
    format!("{{\"Records\": [{}]}}", records.join(", "))
}

#[test]
fn scan_reports_bulk_deletes_once_at_the_floor_and_a_users_copy_tunes_it() {
    let trail = tempfile::tempdir().unwrap();
    let file = trail.path().join("trail.json");
    let findings = |records: String, rules_dir: Option<&std::path::Path>| {
        std::fs::write(&file, records).unwrap();
        let mut args = vec!["scan", "--format", "findings", file.to_str().unwrap()];
        if let Some(dir) = rules_dir {
            args.extend(["--rules", dir.to_str().unwrap()]);
        }
        let output = trailwatch(&args);
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stdout)
            .lines()
            .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
            .filter(|finding| finding["detection"]["id"] == "TW-S3-015")
            .collect::<Vec<_>>()
    };
    // 999 deletes by a role never seen before: under the floor.
    assert!(findings(deletes(999), None).is_empty());
    // 1,200: one finding, counted from the thousandth.
    let found = findings(deletes(1200), None);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["severity"], "high");

    // A team's copy of the rule with a lower floor reports 50 deletes.
    let built_in = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/rules/s3/s3-bulk-object-deletes.yaml"),
    )
    .unwrap();
    let rules = tempfile::tempdir().unwrap();
    let tuned = built_in.replace("at_least: 1000", "at_least: 50");
    let tuned = &tuned[..tuned.find("tests:").unwrap()];
    std::fs::write(rules.path().join("deletes.yaml"), tuned).unwrap();
    assert_eq!(findings(deletes(60), Some(rules.path())).len(), 1);
    assert!(findings(deletes(60), None).is_empty());
}
