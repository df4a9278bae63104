//! The catalog held to account: every built-in rule file's cases pass (positive and
//! negative, on real CloudTrail records from the reference data `../shared/data/traildiscover`,
//! edited only where a case needs it), every rule has a negative case on its own API (the
//! engine never evaluates a rule against other APIs), every alternative of an `Any` fires
//! alone and every part of an `All` fails alone on some case, and a rule that fires on any
//! reference record has an unmodified one among its positive cases. Then the engine's
//! handling of attempts, reasons and envelopes.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use super::testing::{self, Expect, RuleCase};
use super::{FieldPath, When, built_in_files};
use crate::engine::Engine;
use crate::event::Event;
use crate::input::parse_value;

fn reference() -> std::path::PathBuf {
    crate::input::tests::traildiscover_dir()
}

/// The first record of a reference file, e.g. `CloudTrail/StopLogging`.
fn real(path: &str) -> Value {
    testing::reference_record(path, Some(&reference())).expect("reference data")
}

/// Sets fields by JSON pointer as a rule file's case does; `null` removes the field, so
/// removing `errorCode` and `errorMessage` makes a denied reference call a successful one.
fn with(mut record: Value, edits: &[(&str, Value)]) -> Value {
    for (pointer, value) in edits {
        testing::set(&mut record, pointer, value);
    }
    record
}

fn succeeded(record: Value) -> Value {
    with(
        record,
        &[("/errorCode", Value::Null), ("/errorMessage", Value::Null)],
    )
}

fn params(record: Value, parameters: Value) -> Value {
    with(succeeded(record), &[("/requestParameters", parameters)])
}

fn as_root(record: Value) -> Value {
    with(
        record,
        &[(
            "/userIdentity",
            json!({"type": "Root", "principalId": "111111111111", "arn": "arn:aws:iam::111111111111:root", "accountId": "111111111111"}),
        )],
    )
}

#[test]
fn every_built_in_rule_passes_its_own_cases() {
    let report = testing::run(built_in_files(), Some(&reference()));
    let failures: Vec<String> = report.failures.iter().map(ToString::to_string).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    println!("{} cases passed", report.passed);
}

#[test]
fn every_rule_has_a_positive_and_a_negative_case_on_its_own_api() {
    let mut missing = Vec::new();
    for file in built_in_files() {
        let positive = file.cases.iter().any(|case| case.expect != Expect::Quiet);
        // Negative: the rule's own detection is absent (its attempt may fire).
        let negative_on_own_api = file.cases.iter().any(|case| {
            case.expect != Expect::Fires
                && case
                    .event(Some(&reference()))
                    .is_ok_and(|event| file.rule.concerns(&event))
        });
        if !positive || !negative_on_own_api {
            missing.push(file.rule.id.as_str());
        }
    }
    assert!(
        missing.is_empty(),
        "rules without a positive case, or without a negative case on their own API (the engine never evaluates a rule against other APIs): {missing:?}"
    );
}

#[test]
fn the_catalog_is_large_unique_and_mapped_to_attack() {
    let files = built_in_files();
    assert!(files.len() >= 150, "{} rules", files.len());
    let ids: HashSet<&str> = files.iter().map(|file| file.rule.id.as_str()).collect();
    assert_eq!(ids.len(), files.len(), "rule ids are unique");
    for file in files {
        let rule = &file.rule;
        assert!(rule.id.starts_with("TW-"), "{}", rule.id);
        // What an attacker gains, and what a legitimate caller looks like: both said.
        assert!(rule.description.ends_with('.'), "{}", rule.id);
        assert!(rule.legitimate.ends_with('.'), "{}: legitimate", rule.id);
        assert!(file.enabled, "{}", rule.id);
    }
}

/// Every reference record, as compact JSON, with its file's name.
fn reference_records() -> HashMap<String, String> {
    let mut records = HashMap::new();
    let root = reference();
    let mut directories = vec![root.clone()];
    while let Some(directory) = directories.pop() {
        for entry in std::fs::read_dir(&directory).expect("reference data") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                directories.push(path);
            } else if path.to_string_lossy().ends_with(".json.cloudtrail") {
                let name = path
                    .strip_prefix(&root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .trim_end_matches(".json.cloudtrail")
                    .to_string();
                let file: Value =
                    serde_json::from_slice(&std::fs::read(&path).expect("file")).expect("JSON");
                let list = match file {
                    Value::Array(list) => list,
                    record => vec![record],
                };
                for record in list {
                    records.insert(record.to_string(), name.clone());
                }
            }
        }
    }
    records
}

#[test]
fn positive_cases_are_unmodified_real_records_where_the_reference_data_has_one() {
    let engine = Engine::default();
    // What each reference record fires: a rule that fires on some real record must have one
    // (any) among its positive cases, as it stands.
    let mut fired_by_reference: HashMap<String, Vec<String>> = HashMap::new();
    for (record, name) in reference_records() {
        let record: Value = serde_json::from_str(&record).expect("JSON");
        let Ok(mut events) = parse_value(record) else {
            continue;
        };
        let Some(Ok(event)) = events.pop().map(|parsed| parsed.outcome) else {
            continue;
        };
        for detection in engine.detect(&event) {
            let rule = detection.id.trim_end_matches("-ATTEMPT").to_string();
            fired_by_reference
                .entry(rule)
                .or_default()
                .push(name.clone());
        }
    }
    let missing: Vec<String> = built_in_files()
        .iter()
        .filter(|file| fired_by_reference.contains_key(&file.rule.id))
        .filter(|file| {
            !file
                .cases
                .iter()
                .any(|case| case.expect != Expect::Quiet && case.is_unmodified_reference())
        })
        .map(|file| format!("{} ({:?})", file.rule.id, fired_by_reference[&file.rule.id]))
        .collect();
    assert!(
        missing.is_empty(),
        "{} rules that fire on a reference record but have no unmodified one among their positive cases: {missing:?}",
        missing.len()
    );
}

/// The `Any` and `All` nodes of a condition, at any depth.
fn branching_nodes<'w>(when: &'w When, nodes: &mut Vec<&'w When>) {
    match when {
        When::Any(children) | When::All(children) => {
            nodes.push(when);
            for child in children {
                branching_nodes(child, nodes);
            }
        }
        When::Not(inner) => branching_nodes(inner, nodes),
        _ => {}
    }
}

#[test]
fn every_branch_of_every_condition_is_decided_by_some_case() {
    let reference = reference();
    let events = |cases: &[RuleCase], keep: &dyn Fn(&RuleCase) -> bool| -> Vec<Event> {
        cases
            .iter()
            .filter(|case| keep(case))
            .map(|case| case.event(Some(&reference)).expect("a valid case"))
            .collect()
    };
    let mut undecided = Vec::new();
    for file in built_in_files() {
        let rule = &file.rule;
        let positives = events(&file.cases, &|case| case.expect != Expect::Quiet);
        let negatives: Vec<Event> = events(&file.cases, &|case| case.expect != Expect::Fires)
            .into_iter()
            .filter(|event| rule.concerns(event))
            .collect();
        let mut nodes = Vec::new();
        branching_nodes(&rule.when, &mut nodes);
        for node in nodes {
            match node {
                // Each alternative alone makes some positive case fire.
                When::Any(alternatives) => {
                    for (index, alternative) in alternatives.iter().enumerate() {
                        let alone = positives.iter().any(|event| {
                            alternative.holds(event)
                                && alternatives
                                    .iter()
                                    .enumerate()
                                    .all(|(other, when)| other == index || !when.holds(event))
                        });
                        if !alone {
                            undecided.push(format!(
                                "{}: alternative {index} of {node:?} never fires alone",
                                rule.id
                            ));
                        }
                    }
                }
                // Each part alone failing keeps some negative case on the rule's API quiet.
                When::All(parts) => {
                    for (index, part) in parts.iter().enumerate() {
                        let decisive = negatives.iter().any(|event| {
                            !part.holds(event)
                                && parts
                                    .iter()
                                    .enumerate()
                                    .all(|(other, when)| other == index || when.holds(event))
                        });
                        if !decisive {
                            undecided.push(format!(
                                "{}: part {index} of {node:?} never fails alone",
                                rule.id
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    assert!(undecided.is_empty(), "{}", undecided.join("\n"));
}

/// The detection of this id among an event's detections.
fn only<'d>(detections: &'d [crate::Detection], id: &str) -> &'d crate::Detection {
    let found: Vec<&crate::Detection> = detections.iter().filter(|d| d.id == id).collect();
    let ids: Vec<&str> = detections.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(found.len(), 1, "{id} among {ids:?}");
    found[0]
}

#[test]
fn reasons_name_the_principal_the_target_and_a_denial() {
    let event = parse_value(real("CloudTrail/StopLogging"))
        .unwrap()
        .remove(0)
        .outcome
        .unwrap();
    let detections = Engine::default().detect(&event);
    assert_eq!(
        only(&detections, "TW-CLOUDTRAIL-001-ATTEMPT").reason,
        "arn:aws:iam::111111111111:user/TrailDiscover stopped trail (not recorded) (denied: AccessDenied)"
    );
    let record = params(
        real("IAM/CreateAccessKey"),
        json!({"userName": "backup-admin"}),
    );
    let event = parse_value(record).unwrap().remove(0).outcome.unwrap();
    let detections = Engine::default().detect(&event);
    assert_eq!(
        only(&detections, "TW-IAM-002").reason,
        "arn:aws:iam::111111111111:user/TrailDiscover created an access key for backup-admin"
    );
}

#[test]
fn lambda_and_cloudfront_event_names_lose_their_api_version() {
    let event = parse_value(real("Lambda/UpdateFunctionCode20150331v2"))
        .unwrap()
        .remove(0)
        .outcome
        .unwrap();
    assert_eq!(event.action(), "lambda:UpdateFunctionCode");
    let event = parse_value(real("CloudFront/CreateFunction2020_05_31"))
        .unwrap()
        .remove(0)
        .outcome
        .unwrap();
    assert_eq!(event.action(), "cloudfront:CreateFunction");
}

#[test]
fn rules_read_the_cloudtrail_record_inside_an_eventbridge_event() {
    let record = params(
        real("IAM/CreateAccessKey"),
        json!({"userName": "backup-admin"}),
    );
    let envelope = json!({"version": "0", "id": "1", "detail-type": "AWS API Call via CloudTrail", "source": "aws.iam",
                          "account": "111111111111", "time": "2024-08-18T13:00:00Z", "region": "us-east-1", "resources": [], "detail": record});
    let event = parse_value(envelope).unwrap().remove(0).outcome.unwrap();
    let ids: Vec<String> = Engine::default()
        .detect(&event)
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(ids, vec!["TW-IAM-002"]);
}

#[test]
fn a_failed_call_is_an_attempt_one_level_lower_and_root_at_work_fires_whatever_the_outcome() {
    let detect = |record: Value| {
        let event = parse_value(record).unwrap().remove(0).outcome.unwrap();
        Engine::default().detect(&event)
    };
    // The reference StopLogging was denied: nothing stopped, but someone tried.
    let denied = detect(real("CloudTrail/StopLogging"));
    let ids: Vec<&str> = denied.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["TW-CLOUDTRAIL-001-ATTEMPT"]);
    let attempt = only(&denied, "TW-CLOUDTRAIL-001-ATTEMPT");
    assert_eq!(attempt.title, "Failed attempt: CloudTrail logging stopped");
    assert_eq!(attempt.severity, crate::Severity::Medium);
    assert!(attempt.reason.ends_with("(denied: AccessDenied)"));
    // The CIS set's change signal for trails (TW-CIS-005) stands aside for the rule that
    // says what the change is, and speaks for a change no rule names.
    let stopped = detect(succeeded(real("CloudTrail/StopLogging")));
    let ids: Vec<&str> = stopped.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["TW-CLOUDTRAIL-001"]);
    assert_eq!(stopped[0].severity, crate::Severity::High);
    let retagged = detect(params(
        real("CloudTrail/UpdateTrail"),
        json!({"name": "main", "isMultiRegionTrail": true, "includeGlobalServiceEvents": true, "enableLogFileValidation": true}),
    ));
    let ids: Vec<&str> = retagged.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["TW-CIS-005"]);
    assert_eq!(retagged[0].severity, crate::Severity::Low);

    // Root calling anything is news, denied or not.
    let root = detect(as_root(real("CloudTrail/LookupEvents")));
    let ids: Vec<&str> = root.iter().map(|d| d.id.as_str()).collect();
    assert!(ids.contains(&"TW-ROOT-001"), "{ids:?}");
    let root_denied = detect(as_root(with(
        real("CloudTrail/LookupEvents"),
        &[("/errorCode", json!("AccessDenied"))],
    )));
    assert!(
        root_denied
            .iter()
            .any(|d| d.id == "TW-ROOT-001" && d.severity == crate::Severity::High)
    );
}

#[test]
fn the_engine_reads_the_same_rules_the_cases_test() {
    let engine: Vec<String> = super::built_in()
        .iter()
        .map(|rule| format!("{rule:?}"))
        .collect();
    let tested: Vec<String> = built_in_files()
        .iter()
        .map(|file| format!("{:?}", file.rule))
        .collect();
    assert_eq!(engine, tested);
}

#[test]
fn a_field_path_finds_what_a_json_pointer_finds() {
    let record = json!({
        "requestParameters": {"a/b": {"c~d": [10, {"e": "f"}]}, "list": ["x", "y"]},
        "0": "zero",
    });
    for pointer in [
        "/requestParameters/a~1b/c~0d/1/e",
        "/requestParameters/a~1b/c~0d/0",
        "/requestParameters/list/1",
        "/requestParameters/list/01",
        "/requestParameters/list/+1",
        "/requestParameters/list/2",
        "/requestParameters/list/x",
        "/requestParameters/missing",
        "/requestParameters/list/1/deeper",
        "/0",
        "",
    ] {
        assert_eq!(
            FieldPath::new(pointer).find(&record),
            record.pointer(pointer),
            "{pointer}"
        );
    }
}
