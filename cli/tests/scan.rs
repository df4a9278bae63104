//! `trailwatch scan` as a user runs it: files in, anomalies out, problems on stderr.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};

const DELIVERY: &str = include_str!("../../events/cloudtrail-delivery.json");
const EVENTBRIDGE: &str = include_str!("../../events/eventbridge-cloudtrail.json");

fn scan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .arg("scan")
        .args(args)
        .output()
        .expect("trailwatch runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn jsonl(output: &Output) -> Vec<Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is one JSON object"))
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}

fn gzip(bytes: impl AsRef<[u8]>) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes.as_ref()).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn the_sample_file_prints_its_findings_as_a_readable_table() {
    let output = scan(&["../events/cloudtrail-delivery.json"]);
    assert!(output.status.success());
    let table = stdout(&output);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], "FINDINGS");
    assert!(
        lines[1].starts_with("ID")
            && lines[1].contains("SEVERITY")
            && lines[1].contains("COUNT")
            && lines[1].contains("FIRST SEEN")
            && lines[1].contains("PRINCIPAL")
    );
    assert!(table.contains("arn:aws:iam::111122223333:root"));
    assert!(table.contains("the root user signed in to the console from 198.51.100.23"));
    assert!(table.contains("CloudTrail logging stopped"));
    assert!(
        stderr(&output).contains(
            "6 events from 1 file → 2 anomalies (1 critical, 1 high) → 3 findings, 0 incidents"
        ),
        "{}",
        stderr(&output)
    );
}

/// `count` records of one identity, a second apart from 09:00 on 2 November, through `make`.
fn records(count: usize, make: impl Fn(usize) -> Value) -> Vec<Value> {
    (0..count).map(make).collect()
}

fn call(id: String, second: usize, identity: Value, name: &str, error: Option<&str>) -> Value {
    let mut record = json!({"eventVersion": "1.10", "eventID": id,
        "eventTime": format!("2026-11-02T09:{:02}:{:02}Z", second / 60, second % 60),
        "eventSource": "s3.amazonaws.com", "eventName": name, "awsRegion": "eu-west-1",
        "sourceIPAddress": "203.0.113.10", "userAgent": "aws-cli/2.17.32",
        "recipientAccountId": "111122223333", "userIdentity": identity});
    if let Some(code) = error {
        record["errorCode"] = code.into();
    }
    record
}

fn root() -> Value {
    json!({"type": "Root", "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333"})
}

#[test]
fn a_root_session_is_one_finding_with_its_count_and_a_file_delivered_twice_counts_once() {
    let dir = tempfile::tempdir().unwrap();
    let session = records(50, |n| {
        call(format!("root-{n}"), n, root(), "ListBuckets", None)
    });
    let file = json!({"Records": session}).to_string();
    write(dir.path(), "first.json", file.as_bytes());
    write(dir.path(), "again.json", file.as_bytes());
    let output = scan(&["--format", "findings", dir.path().to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let findings = jsonl(&output);
    assert_eq!(findings.len(), 1, "{findings:?}");
    let finding = &findings[0];
    assert_eq!(finding["detection"]["id"], "TW-ROOT-001");
    assert_eq!(finding["count"], 50);
    assert_eq!(finding["principal"], "arn:aws:iam::111122223333:root");
    assert_eq!(finding["account_id"], "111122223333");
    assert_eq!(finding["first_seen"], "2026-11-02T09:00:00Z");
    assert_eq!(finding["last_seen"], "2026-11-02T09:00:49Z");
    assert_eq!(finding["event_ids"].as_array().unwrap().len(), 20);
    assert!(finding["suppressed_by"].is_null());
    for field in ["id", "severity", "reason"] {
        assert!(finding[field].is_string(), "{field}");
    }
    for field in ["title", "tactic", "technique"] {
        assert!(finding["detection"][field].is_string(), "{field}");
    }
    let errors = stderr(&output);
    assert!(
        errors.contains("50 repeated events counted once"),
        "{errors}"
    );
    assert!(errors.contains("→ 1 finding, 0 incidents"), "{errors}");
}

#[test]
fn an_aws_service_failing_to_write_its_logs_raises_nothing_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let service = json!({"type": "AWSService", "invokedBy": "delivery.logs.amazonaws.com"});
    let history = records(30, |n| {
        let mut record = call(format!("ok-{n}"), n, service.clone(), "PutObject", None);
        record["eventTime"] = format!("2026-10-{:02}T09:00:00Z", 1 + n % 20).into();
        record
    });
    let failing = records(200, |n| {
        call(
            format!("denied-{n}"),
            n,
            service.clone(),
            "PutObject",
            Some("AccessDenied"),
        )
    });
    let all: Vec<Value> = history.into_iter().chain(failing).collect();
    let path = write(
        dir.path(),
        "logs.json",
        json!({"Records": all}).to_string().as_bytes(),
    );
    let quiet = scan(&["--format", "findings", &path]);
    assert!(jsonl(&quiet).is_empty(), "{}", stdout(&quiet));
    let judged = scan(&[
        "--format",
        "findings",
        "--judge-aws-services",
        "true",
        &path,
    ]);
    let findings = jsonl(&judged);
    let bursts: Vec<&Value> = findings
        .iter()
        .filter(|finding| finding["detection"]["id"] == "TW-BASE-DENIED")
        .collect();
    assert_eq!(bursts.len(), 1, "one burst, one finding: {findings:?}");
}

/// build-bot: a dozen denied listings, then AdministratorAccess for itself, then the trail
/// stopped.
fn three_step_attack() -> Vec<Value> {
    let bot = json!({"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/build-bot",
        "accountId": "111122223333", "accessKeyId": "AKIABUILDBOT"});
    let mut all = records(12, |n| {
        let mut record = call(
            format!("probe-{n}"),
            n,
            bot.clone(),
            "ListBuckets",
            Some("AccessDenied"),
        );
        record["eventSource"] = "s3.amazonaws.com".into();
        record
    });
    let mut admin = call("admin".into(), 120, bot.clone(), "AttachUserPolicy", None);
    admin["eventSource"] = "iam.amazonaws.com".into();
    admin["requestParameters"] = json!({"userName": "build-bot",
        "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"});
    let mut stop = call("stop".into(), 300, bot, "StopLogging", None);
    stop["eventSource"] = "cloudtrail.amazonaws.com".into();
    stop["requestParameters"] = json!({"name": "management-events"});
    all.push(admin);
    all.push(stop);
    all
}

#[test]
fn a_three_step_attack_is_one_critical_incident_shown_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "attack.json",
        json!({"Records": three_step_attack()})
            .to_string()
            .as_bytes(),
    );
    let incidents = jsonl(&scan(&["--format", "incidents", &path]));
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    let incident = &incidents[0];
    assert_eq!(incident["severity"], "critical");
    assert_eq!(
        incident["principal"],
        "arn:aws:iam::111122223333:user/build-bot"
    );
    assert_eq!(
        incident["tactics"],
        json!(["Discovery", "Privilege Escalation", "Defense Evasion"])
    );
    assert_eq!(incident["finding_ids"].as_array().unwrap().len(), 3);
    assert_eq!(incident["first_seen"], "2026-11-02T09:00:09Z");
    assert_eq!(incident["last_seen"], "2026-11-02T09:05:00Z");
    assert_eq!(
        incident["summary"],
        "user/build-bot: burst of access-denied errors (Discovery), then administrator policy attached (Privilege Escalation), then CloudTrail logging stopped (Defense Evasion)"
    );
    let table = stdout(&scan(&[&path]));
    assert!(table.starts_with("INCIDENTS\n"), "{table}");
    let findings_at = table.find("FINDINGS").expect("findings follow");
    assert!(table[..findings_at].contains("user/build-bot: burst of access-denied errors"));
}

#[test]
fn suppressed_findings_are_shown_marked_raise_nothing_and_still_make_incidents() {
    let dir = tempfile::tempdir().unwrap();
    let attack = write(
        dir.path(),
        "attack.json",
        json!({"Records": three_step_attack()})
            .to_string()
            .as_bytes(),
    );
    let rules = write(
        dir.path(),
        "suppressions.yaml",
        b"- id: bot-denials\n  detection: TW-BASE-DENIED\n  principal: \"*:user/build-bot\"\n  reason: build-bot probes for permissions by design (OPS-12)\n",
    );
    let findings = jsonl(&scan(&[
        "--format",
        "findings",
        "--suppressions",
        &rules,
        &attack,
    ]));
    let burst = findings
        .iter()
        .find(|finding| finding["detection"]["id"] == "TW-BASE-DENIED")
        .expect("the burst's finding is kept");
    assert_eq!(burst["suppressed_by"], "bot-denials");
    let incidents = jsonl(&scan(&[
        "--format",
        "incidents",
        "--suppressions",
        &rules,
        &attack,
    ]));
    assert_eq!(
        incidents.len(),
        1,
        "a suppressed signal still counts toward the incident"
    );

    let stats = scan(&["--stats", "--suppressions", &rules, &attack]);
    let table = stdout(&stats);
    let burst_row = table
        .lines()
        .find(|line| line.starts_with("TW-BASE-DENIED"))
        .expect("a row per detection");
    let columns: Vec<&str> = burst_row.split_whitespace().collect();
    assert_eq!(
        columns,
        vec!["TW-BASE-DENIED", "1", "1", "1", "1"],
        "{table}"
    );
    assert!(table.contains("PRINCIPAL"), "{table}");
    assert!(
        table.contains("3 findings (2 would alert, 1 suppressed), 1 incidents"),
        "{table}"
    );

    // A rule with no reason is refused, naming the rule and the field.
    let bad = write(
        dir.path(),
        "bad.yaml",
        b"- id: quiet\n  detection: TW-ROOT-001\n",
    );
    let refused = scan(&["--suppressions", &bad, &attack]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains("suppression quiet: reason is required"));

    // Suppressing root on the sample file: --fail-on no longer trips on it.
    let root_rule = write(
        dir.path(),
        "root.yaml",
        b"- id: drill\n  principal: \"arn:aws:iam::*:root\"\n  reason: break-glass drill\n- id: alice\n  principal: \"*:user/alice\"\n  reason: alice is testing the trail\n",
    );
    let sample = "../events/cloudtrail-delivery.json";
    assert_eq!(scan(&["--fail-on", "high", sample]).status.code(), Some(1));
    assert_eq!(
        scan(&["--fail-on", "high", "--suppressions", &root_rule, sample])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn findings_print_as_ocsf_detection_findings_and_as_asff() {
    let sample = "../events/cloudtrail-delivery.json";
    let ocsf = jsonl(&scan(&["--format", "ocsf", sample]));
    assert_eq!(ocsf.len(), 3);
    for finding in &ocsf {
        assert_eq!(finding["class_uid"], 2004);
        assert_eq!(finding["metadata"]["product"]["name"], "trailwatch");
        assert!(
            finding["finding_info"]["uid"]
                .as_str()
                .unwrap()
                .starts_with("F-")
        );
    }
    let asff = jsonl(&scan(&["--format", "asff", sample]));
    assert_eq!(asff.len(), 3);
    for finding in &asff {
        assert_eq!(finding["SchemaVersion"], "2018-10-08");
        assert_eq!(finding["AwsAccountId"], "111122223333");
        assert!(
            finding["Resources"]
                .as_array()
                .is_some_and(|r| !r.is_empty())
        );
    }
}

#[test]
fn jsonl_prints_one_complete_object_per_anomaly() {
    let output = scan(&["--format", "jsonl", "../events/cloudtrail-delivery.json"]);
    assert!(output.status.success());
    let anomalies = jsonl(&output);
    assert_eq!(anomalies.len(), 2);
    for anomaly in &anomalies {
        for field in ["event_id", "principal", "action", "event_time"] {
            assert!(anomaly[field].is_string(), "{field} in {anomaly}");
        }
        let score = anomaly["score"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&score));
        assert!(
            ["low", "medium", "high", "critical"].contains(&anomaly["severity"].as_str().unwrap())
        );
        for detection in anomaly["detections"].as_array().unwrap() {
            for field in ["id", "title", "severity", "reason"] {
                assert!(detection[field].is_string(), "{field} in {detection}");
            }
        }
    }
    assert_eq!(anomalies[1]["action"], "cloudtrail:StopLogging");
}

#[test]
fn files_are_read_in_every_shape_and_evaluated_in_event_time_order() {
    let dir = tempfile::tempdir().unwrap();
    // The EventBridge event (Nov 3) sits in a file that sorts first; the delivery file
    // (Nov 2) in a gzipped one; JSON lines hold two single records.
    write(dir.path(), "a-eventbridge.json", EVENTBRIDGE.as_bytes());
    write(dir.path(), "b-delivery.json.gz", &gzip(DELIVERY));
    let records: Value = serde_json::from_str(DELIVERY).unwrap();
    let mut line_record = records["Records"][4].clone();
    line_record["eventID"] = "from-json-lines".into();
    write(
        dir.path(),
        "c-lines.jsonl",
        format!("{line_record}\n{}\n", records["Records"][0]).as_bytes(),
    );
    write(
        dir.path(),
        "ignored.txt",
        b"not scanned: not a JSON file name",
    );

    let output = scan(&["--format", "jsonl", dir.path().to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let ids: Vec<String> = jsonl(&output)
        .iter()
        .map(|a| a["event_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        ids,
        vec![
            "5b0c1e0a-1111-4e6f-8a9b-000000000002",
            "5b0c1e0a-1111-4e6f-8a9b-000000000005",
            "from-json-lines",
            "5b0c1e0a-1111-4e6f-8a9b-000000000007",
        ]
    );
    assert!(stderr(&output).contains("from 3 files"));
}

#[test]
fn an_unreadable_file_is_named_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.json", DELIVERY.as_bytes());
    let broken = write(dir.path(), "broken.json", b"{\"Records\": [");
    let missing = dir
        .path()
        .join("missing.json")
        .to_string_lossy()
        .into_owned();
    let output = scan(&["--format", "jsonl", &broken, &missing, &good]);
    assert!(output.status.success());
    assert_eq!(jsonl(&output).len(), 2);
    let errors = stderr(&output);
    assert!(errors.contains(&format!("skipping {broken}")), "{errors}");
    assert!(errors.contains(&format!("skipping {missing}")), "{errors}");
}

#[test]
fn invalid_records_are_reported_and_valid_ones_still_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let mut delivery: Value = serde_json::from_str(DELIVERY).unwrap();
    delivery["Records"][1]["eventTime"] = "last tuesday".into();
    let file = write(
        dir.path(),
        "partly-bad.json",
        delivery.to_string().as_bytes(),
    );
    let output = scan(&["--format", "jsonl", &file]);
    assert!(output.status.success());
    assert_eq!(
        jsonl(&output).len(),
        1,
        "the root login is gone, StopLogging remains"
    );
    let errors = stderr(&output);
    assert!(
        errors.contains("event 1: eventTime must be an RFC 3339 timestamp"),
        "{errors}"
    );
    assert!(errors.contains("1 invalid records skipped"), "{errors}");
}

/// A record that is not JSON spoils only itself: the records after it in the file are
/// still read and scanned.
#[test]
fn a_record_that_is_not_json_is_named_and_the_rest_of_its_file_still_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let broken = DELIVERY.replacen(
        "\"Records\": [",
        "\"Records\": [{\"eventID\": \"broken\" \"eventTime\": 1},",
        1,
    );
    assert_ne!(broken, DELIVERY);
    let file = write(dir.path(), "broken-record.json", broken.as_bytes());
    let whole = scan(&["--format", "jsonl", "../events/cloudtrail-delivery.json"]);
    let output = scan(&["--format", "jsonl", &file]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        jsonl(&output).len(),
        jsonl(&whole).len(),
        "the other records' anomalies"
    );
    let errors = stderr(&output);
    assert!(
        errors.contains(&format!("{file}: event 0: not JSON: expected `,` or `}}`")),
        "{errors}"
    );
    assert!(errors.contains("1 invalid records skipped"), "{errors}");
}

#[test]
fn nothing_readable_is_a_failure() {
    let output = scan(&["/nonexistent/trail.json"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("nothing could be read"));
    assert!(stdout(&output).is_empty());
}

#[test]
fn min_severity_hides_lesser_anomalies_and_fail_on_sets_the_exit_code() {
    let critical_only = scan(&[
        "--format",
        "jsonl",
        "--min-severity",
        "critical",
        "../events/cloudtrail-delivery.json",
    ]);
    assert!(critical_only.status.success());
    let shown = jsonl(&critical_only);
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0]["severity"], "critical");

    let failing = scan(&["--fail-on", "high", "../events/cloudtrail-delivery.json"]);
    assert_eq!(failing.status.code(), Some(1));
    assert!(
        !stdout(&failing).is_empty(),
        "the report is printed all the same"
    );
    let passing = scan(&[
        "--fail-on",
        "critical",
        "../events/eventbridge-cloudtrail.json",
    ]);
    assert_eq!(passing.status.code(), Some(0));
}

#[test]
fn a_bad_setting_is_named() {
    let output = scan(&[
        "--learning-days",
        "a week",
        "../events/cloudtrail-delivery.json",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--learning-days must be a whole number, found \"a week\""));
    let output = scan(&[
        "--state-ttl-days",
        "forever",
        "../events/cloudtrail-delivery.json",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--state-ttl-days must be a whole number, found \"forever\""),
        "{}",
        stderr(&output)
    );
    let output = scan(&[
        "--min-severity",
        "severe",
        "../events/cloudtrail-delivery.json",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("severe"));
}

#[test]
fn baselines_learn_across_files_and_settings_change_what_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let records: Value = serde_json::from_str(DELIVERY).unwrap();
    let base = records["Records"][0].clone();
    // Three days of one role describing instances, then a first call from a new network.
    let mut history = Vec::new();
    for hour in 0..30 {
        let mut record = base.clone();
        record["eventID"] = format!("h{hour}").into();
        let time = chrono_time(hour * 3);
        record["eventTime"] = time.into();
        history.push(record);
    }
    let mut odd = base.clone();
    odd["eventID"] = "new-network".into();
    odd["eventTime"] = chrono_time(95).into();
    odd["sourceIPAddress"] = "198.51.100.77".into();
    write(
        dir.path(),
        "history.json",
        json!({"Records": history}).to_string().as_bytes(),
    );
    write(
        dir.path(),
        "later.json",
        json!({"Records": [odd]}).to_string().as_bytes(),
    );
    let path = dir.path().to_str().unwrap();

    // By default three days are still learning: nothing to report.
    assert!(jsonl(&scan(&["--format", "jsonl", path])).is_empty());
    let tuned = jsonl(&scan(&["--format", "jsonl", "--learning-days", "2", path]));
    assert_eq!(tuned.len(), 1, "{tuned:?}");
    assert_eq!(tuned[0]["event_id"], "new-network");
    assert_eq!(tuned[0]["detections"][0]["id"], "TW-BASE-NETWORK");
    assert!(
        tuned[0]["detections"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("from 198.51.100.0/24 in 3 days of history")
    );
}

/// 2026-11-02T00:00:00Z plus some hours, as CloudTrail writes times.
fn chrono_time(hours: u32) -> String {
    format!("2026-11-{:02}T{:02}:00:00Z", 2 + hours / 24, hours % 24)
}

#[test]
fn sigma_rules_are_evaluated_with_their_attribution() {
    let output = scan(&[
        "--format",
        "jsonl",
        "--sigma",
        "../../shared/data/sigma-aws-cloudtrail",
        "../events/cloudtrail-delivery.json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("57 Sigma rules loaded"),
        "{}",
        stderr(&output)
    );
    let anomalies = jsonl(&output);
    let stop = anomalies
        .iter()
        .find(|a| a["action"] == "cloudtrail:StopLogging")
        .unwrap();
    let sigma = stop["detections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "SIGMA-4db60cc0-36fb-42b7-9b58-a5b53019fb74")
        .expect("the Sigma rule fired");
    assert_eq!(sigma["title"], "AWS CloudTrail Important Change");
    assert!(
        sigma["attribution"]
            .as_str()
            .unwrap()
            .contains("Detection Rule License 1.1")
    );
    assert!(
        sigma["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|tag| tag == "attack.t1685.002")
    );

    let missing = scan(&[
        "--sigma",
        "/nonexistent/rules",
        "../events/cloudtrail-delivery.json",
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("cannot read the Sigma rules in /nonexistent/rules"));
}

/// The bad-input corpus: each hostile file is skipped with its reason, by name, while the
/// good file beside it is still scanned — never a panic, a hang or a crash.
#[test]
fn hostile_files_are_skipped_with_their_reason_and_the_good_one_is_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.json", DELIVERY.as_bytes());
    let delivery_gz = gzip(DELIVERY);
    let truncated = write(
        dir.path(),
        "truncated.json.gz",
        &delivery_gz[..delivery_gz.len() / 2],
    );
    // A delivery file's start, then 300 gzip members of 1 MiB of spaces each: 300 MiB from a
    // file of about 300 KB, JSON all the way to the limit.
    let mut bombed = gzip(r#"{"Records": ["#);
    bombed.extend(gzip(vec![b' '; 1024 * 1024]).repeat(300));
    let bomb = write(dir.path(), "bomb.json.gz", &bombed);
    let mut bad_utf8 = br#"{"Records": [{"eventID": ""#.to_vec();
    bad_utf8.extend_from_slice(&[0xff, 0xfe]);
    bad_utf8.extend_from_slice(br#""}]}"#);
    let invalid_utf8 = write(dir.path(), "utf8.json", &bad_utf8);
    let deep = write(
        dir.path(),
        "deep.json",
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).as_bytes(),
    );
    let not_json = write(dir.path(), "binary.json", &[0u8, 1, 2, 3, 0xff]);

    let output = scan(&[
        "--format",
        "jsonl",
        &truncated,
        &bomb,
        &invalid_utf8,
        &deep,
        &not_json,
        &good,
    ]);
    assert!(output.status.success(), "{output:?}");
    let anomalies = String::from_utf8(output.stdout).unwrap();
    assert_eq!(anomalies.lines().count(), 2, "the good file's anomalies");
    let errors = String::from_utf8(output.stderr).unwrap();
    for (file, reason) in [
        (&truncated, "skipping"),
        (&bomb, "more than 256 MiB"),
        (&invalid_utf8, "not JSON"),
        (&deep, "recursion limit"),
        (&not_json, "not JSON"),
    ] {
        let line = errors
            .lines()
            .find(|line| line.contains(file.as_str()))
            .unwrap_or_else(|| panic!("{file} is named: {errors}"));
        assert!(line.contains("skipping") && line.contains(reason), "{line}");
    }
}

/// A root call at a time of 2026-11-02.
fn root_call_at(id: &str, time: &str) -> Value {
    let mut record = call(id.into(), 0, root(), "ListBuckets", None);
    record["eventTime"] = format!("2026-11-02T{time}Z").into();
    record
}

fn anomaly_ids(output: &Output) -> Vec<String> {
    jsonl(output)
        .iter()
        .map(|a| a["event_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn delivery_files_are_read_in_the_order_their_names_give_and_late_records_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let put = |folder: &str, name: &str, records: Vec<Value>| {
        let folder = dir.path().join(folder);
        std::fs::create_dir_all(&folder).unwrap();
        write(
            &folder,
            name,
            &gzip(json!({"Records": records}).to_string()),
        );
    };
    // The walk meets the later delivery first: its folder sorts first.
    put(
        "a-us-west-2",
        "111122223333_CloudTrail_us-west-2_20261102T0930Z_a1.json.gz",
        vec![root_call_at("at-0925", "09:25:00")],
    );
    put(
        "b-eu-west-1",
        "111122223333_CloudTrail_eu-west-1_20261102T0910Z_b1.json.gz",
        vec![root_call_at("at-0905", "09:05:00")],
    );
    // A straggler 70 minutes behind the record before it in the same file.
    put(
        "b-eu-west-1",
        "111122223333_CloudTrail_eu-west-1_20261102T1015Z_b2.json.gz",
        vec![
            root_call_at("at-1010", "10:10:00"),
            root_call_at("straggler-0900", "09:00:00"),
        ],
    );
    let path = dir.path().to_str().unwrap();

    let output = scan(&["--format", "jsonl", path]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        anomaly_ids(&output),
        ["at-0905", "at-0925", "straggler-0900", "at-1010"],
        "beyond the 15-minute window the straggler is evaluated as it comes"
    );
    let errors = stderr(&output);
    assert!(
        errors.contains("4 events from 3 files")
            && errors.contains("1 late events evaluated out of order"),
        "{errors}"
    );

    let wide = scan(&["--format", "jsonl", "--reorder-window-minutes", "90", path]);
    assert_eq!(
        anomaly_ids(&wide),
        ["straggler-0900", "at-0905", "at-0925", "at-1010"]
    );
    assert!(!stderr(&wide).contains("late"), "{}", stderr(&wide));

    let refused = scan(&["--reorder-window-minutes", "2000", path]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("--reorder-window-minutes"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn a_week_of_findings_closed_as_the_scan_moves_on_comes_out_once_each_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let day_call = |id: String, day: u32, time: &str| {
        let mut record = call(id, 0, root(), "ListBuckets", None);
        record["eventTime"] = format!("2026-11-{day:02}T{time}Z").into();
        record
    };
    let mut week: Vec<Value> = (2..=8)
        .map(|day| day_call(format!("day-{day}"), day, "09:00:00"))
        .collect();
    // Six days late: its finding was closed and written out long before; it opens again.
    week.push(day_call("late".into(), 2, "10:00:00"));
    let file = write(
        dir.path(),
        "week.json",
        json!({"Records": week}).to_string().as_bytes(),
    );

    let output = scan(&["--format", "findings", &file]);
    assert!(output.status.success(), "{}", stderr(&output));
    let findings = jsonl(&output);
    let days: Vec<(&str, u64)> = findings
        .iter()
        .map(|f| {
            (
                f["first_seen"].as_str().unwrap(),
                f["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        days,
        [
            ("2026-11-02T09:00:00Z", 2),
            ("2026-11-03T09:00:00Z", 1),
            ("2026-11-04T09:00:00Z", 1),
            ("2026-11-05T09:00:00Z", 1),
            ("2026-11-06T09:00:00Z", 1),
            ("2026-11-07T09:00:00Z", 1),
            ("2026-11-08T09:00:00Z", 1),
        ]
    );
    assert_eq!(findings[0]["last_seen"], "2026-11-02T10:00:00Z");
    assert_eq!(findings[0]["event_ids"], json!(["day-2", "late"]));
    let errors = stderr(&output);
    assert!(
        errors.contains("→ 7 findings, 0 incidents") && errors.contains("1 late events"),
        "{errors}"
    );

    let table = stdout(&scan(&[&file]));
    assert_eq!(table.matches("TW-ROOT-001").count(), 7, "{table}");
    let stats = stdout(&scan(&["--stats", &file]));
    assert!(
        stats.contains("7 findings (7 would alert, 0 suppressed), 0 incidents"),
        "{stats}"
    );
}
