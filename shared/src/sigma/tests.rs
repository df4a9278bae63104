//! Every SigmaHQ CloudTrail rule in the reference data loads (or is reported unsupported with
//! its reason), fires on a record built to satisfy its selections, and not on one without.

use std::path::PathBuf;

use serde_json::{Value, json};
use serde_norway::{Mapping, Value as Yaml};

use super::*;
use crate::input::parse_value;

fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/sigma-aws-cloudtrail")
}

/// An ordinary CloudTrail record the selections are written onto.
fn base_record() -> Value {
    json!({
        "eventVersion": "1.10", "eventTime": "2026-11-02T09:00:00Z", "eventID": "sigma-case",
        "eventSource": "example.amazonaws.com", "eventName": "Example", "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.1", "userAgent": "aws-cli/2.17.32",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111111111111:user/tester", "accountId": "111111111111", "userName": "tester"},
        "recipientAccountId": "111111111111"
    })
}

/// The selections a condition needs true: those not negated, `1 of x*` choosing the first.
fn positive_selections(condition: &str, detection: &Mapping) -> Vec<String> {
    let names: Vec<String> = detection
        .keys()
        .filter_map(Yaml::as_str)
        .filter(|name| *name != "condition")
        .map(str::to_string)
        .collect();
    let tokens: Vec<&str> = condition.split_whitespace().collect();
    let mut chosen = Vec::new();
    let mut negated = false;
    let mut index = 0;
    while index < tokens.len() {
        let token = tokens[index].trim_matches(|c| c == '(' || c == ')');
        match token {
            "and" | "or" => {}
            "not" => {
                negated = true;
                index += 1;
                continue;
            }
            "1" | "all" if tokens.get(index + 1) == Some(&"of") => {
                let pattern = tokens
                    .get(index + 2)
                    .copied()
                    .unwrap_or_default()
                    .trim_matches(|c| c == '(' || c == ')');
                let prefix = pattern.trim_end_matches('*');
                let mut matching: Vec<&String> = names
                    .iter()
                    .filter(|name| name.starts_with(prefix))
                    .collect();
                matching.sort();
                if !negated {
                    let take = if token == "1" { 1 } else { matching.len() };
                    chosen.extend(matching.into_iter().take(take).cloned());
                }
                index += 3;
                negated = false;
                continue;
            }
            name => {
                if !negated {
                    chosen.push(name.to_string());
                }
            }
        }
        negated = false;
        index += 1;
    }
    chosen
}

fn scalar(value: &Yaml) -> String {
    match value {
        Yaml::String(text) => text.clone(),
        Yaml::Number(number) => number.to_string(),
        Yaml::Bool(flag) => flag.to_string(),
        other => panic!("unexpected value {other:?}"),
    }
}

/// A value that satisfies a field's modifiers.
fn satisfying(modifiers: &[&str], values: &Yaml) -> Value {
    if values.is_null() {
        return Value::Null;
    }
    let list: Vec<String> = match values {
        Yaml::Sequence(items) => items.iter().map(scalar).collect(),
        other => vec![scalar(other)],
    };
    let wildcard = |text: &str| text.replace(['*', '?'], "x");
    let first = list[0].clone();
    let text = match modifiers {
        [] => {
            if let Yaml::Number(number) = values {
                return serde_json::from_str(&number.to_string()).unwrap();
            }
            wildcard(&first)
        }
        ["contains", "all"] => format!("x{}x", list.join(" ")),
        ["contains"] => format!("x{}x", wildcard(&first)),
        ["startswith"] => format!("{}x", wildcard(&first)),
        ["endswith"] => format!("x{}", wildcard(&first)),
        ["re"] => first.replace(".+", "x").replace(".*", "").replace('\\', ""),
        other => panic!("no case builder for modifiers {other:?}"),
    };
    Value::String(text)
}

fn set(record: &mut Value, path: &str, value: Value) {
    let mut target = record;
    let keys: Vec<&str> = path.split('.').collect();
    for key in &keys[..keys.len() - 1] {
        if !target.get(*key).is_some_and(Value::is_object) {
            target[*key] = json!({});
        }
        target = &mut target[*key];
    }
    target[keys[keys.len() - 1]] = value;
}

fn remove(record: &mut Value, path: &str) {
    let (parent, last) = path
        .rsplit_once('.')
        .map_or(("", path), |(parent, last)| (parent, last));
    let pointer = if parent.is_empty() {
        String::new()
    } else {
        format!("/{}", parent.replace('.', "/"))
    };
    if let Some(object) = record.pointer_mut(&pointer).and_then(Value::as_object_mut) {
        object.remove(last);
    }
}

/// A record that satisfies the rule's positive selections, and the fields it set.
fn positive_case(rule: &Yaml) -> (Value, Vec<String>) {
    let detection = rule["detection"].as_mapping().expect("a detection map");
    let condition = detection
        .get("condition")
        .and_then(Yaml::as_str)
        .expect("one condition");
    let mut record = base_record();
    let mut fields = Vec::new();
    for name in positive_selections(condition, detection) {
        let selection = match &detection[name.as_str()] {
            Yaml::Sequence(alternatives) => alternatives[0].clone(),
            selection => selection.clone(),
        };
        for (key, values) in selection.as_mapping().expect("a field map") {
            let key = key.as_str().unwrap();
            let mut parts = key.split('|');
            let field = parts.next().unwrap();
            let modifiers: Vec<&str> = parts.collect();
            set(&mut record, field, satisfying(&modifiers, values));
            fields.push(field.to_string());
        }
    }
    (record, fields)
}

fn fires(rules: &SigmaRules, record: Value, id: &str) -> bool {
    let event = parse_value(record).unwrap().remove(0).outcome.unwrap();
    let fired = ids(&rules.detect(&event));
    assert_eq!(
        fired,
        ids(&rules.detect_among(&event, |_| true)),
        "skipping rules by eventSource and eventName changed what fires"
    );
    fired.iter().any(|fired| *fired == format!("SIGMA-{id}"))
}

fn ids(detections: &[Detection]) -> Vec<String> {
    detections.iter().map(|d| d.id.clone()).collect()
}

#[test]
fn every_reference_rule_loads_fires_on_its_selection_and_not_without_it() {
    let loaded = SigmaRules::load_dir(&rules_dir()).expect("the rules directory");
    let files: Vec<PathBuf> = std::fs::read_dir(rules_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "yml"))
        .collect();
    assert_eq!(
        loaded.rules.len() + loaded.unsupported.len(),
        files.len(),
        "every file is accounted for"
    );
    for unsupported in &loaded.unsupported {
        assert!(
            !unsupported.reason.is_empty(),
            "{}",
            unsupported.file.display()
        );
    }
    assert!(
        loaded.rules.len() >= 50,
        "{} of {} loaded: {:?}",
        loaded.rules.len(),
        files.len(),
        loaded.unsupported
    );

    let mut checked = 0;
    for file in files {
        if loaded
            .unsupported
            .iter()
            .any(|unsupported| unsupported.file == file)
        {
            continue;
        }
        let rule: Yaml = serde_norway::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let id = rule["id"].as_str().expect("SigmaHQ rules have ids");
        let (positive, fields) = positive_case(&rule);
        assert!(
            fires(&loaded.rules, positive.clone(), id),
            "{}: does not fire on {positive}",
            file.display()
        );
        // Sigma compares plain strings without case; so does the choice of rules to try.
        let mut shouted = positive.clone();
        for field in ["eventSource", "eventName"] {
            let loud = shouted[field].as_str().map(str::to_uppercase);
            if let Some(loud) = loud {
                shouted[field] = loud.into();
            }
        }
        fires(&loaded.rules, shouted, id);
        let mut negative = positive;
        for field in &fields {
            // Fields every CloudTrail record has get another value; the rest go.
            if matches!(field.as_str(), "eventSource" | "eventName") {
                set(&mut negative, field, json!("Unrelated"));
            } else {
                remove(&mut negative, field);
            }
        }
        assert!(
            !fires(&loaded.rules, negative.clone(), id),
            "{}: fires without its selection: {negative}",
            file.display()
        );
        checked += 1;
    }
    assert_eq!(checked, loaded.rules.len());
}

#[test]
fn a_hit_carries_title_level_tags_id_and_attribution() {
    let loaded = SigmaRules::load_dir(&rules_dir()).unwrap();
    let record = json!({
        "eventVersion": "1.10", "eventTime": "2026-11-02T09:00:00Z", "eventID": "e",
        "eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111111111111:user/tester"}
    });
    let event = parse_value(record).unwrap().remove(0).outcome.unwrap();
    let detections = loaded.rules.detect(&event);
    let hit = detections
        .iter()
        .find(|detection| detection.id == "SIGMA-4db60cc0-36fb-42b7-9b58-a5b53019fb74")
        .expect("AWS CloudTrail Important Change fires");
    assert_eq!(hit.title, "AWS CloudTrail Important Change");
    assert_eq!(hit.severity, Severity::Medium);
    assert!(hit.tags.contains(&"attack.t1685.002".to_string()));
    assert_eq!(hit.technique, "T1685.002");
    assert_eq!(hit.tactic, "Defense Impairment");
    assert_eq!(
        hit.attribution.as_deref(),
        Some(
            "Sigma rule 4db60cc0-36fb-42b7-9b58-a5b53019fb74 by vitaliy0x1, SigmaHQ, Detection Rule License 1.1"
        )
    );
    assert!(
        hit.reason
            .contains("Sigma rule \"AWS CloudTrail Important Change\" matched")
    );
}

#[test]
fn files_that_are_not_cloudtrail_rules_are_unsupported_with_a_reason() {
    let dir = std::env::temp_dir().join(format!("trailwatch-sigma-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("windows.yml"), "title: t\nlogsource:\n  product: windows\ndetection:\n  sel:\n    a: b\n  condition: sel\n").unwrap();
    std::fs::write(dir.join("broken.yml"), "title: [unclosed\n").unwrap();
    let loaded = SigmaRules::load_dir(&dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(loaded.rules.is_empty());
    let reasons: Vec<&str> = loaded
        .unsupported
        .iter()
        .map(|unsupported| unsupported.reason.as_str())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|reason| reason.contains("not a Sigma rule")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|reason| reason.contains("product windows")),
        "{reasons:?}"
    );
}

#[test]
fn most_rules_are_skipped_by_event_source_and_name_and_no_real_record_loses_a_detection() {
    let loaded = SigmaRules::load_dir(&rules_dir()).expect("the rules directory");
    let rules = loaded.rules;
    let narrowed = rules
        .rules
        .iter()
        .map(|loaded| &loaded.requires)
        .filter(|requires| requires.sources.is_some() || requires.names.is_some())
        .count();
    assert!(
        narrowed * 10 >= rules.len() * 8,
        "{narrowed} of {}",
        rules.len()
    );
    // The reference snapshot's figure, as the README gives it.
    assert_eq!((narrowed, rules.len()), (52, 57));

    let mut records = 0;
    let mut fired = 0;
    for path in crate::input::tests::traildiscover_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        let Ok(Value::Array(list)) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        for record in list {
            let Some(Ok(event)) = parse_value(record)
                .ok()
                .and_then(|mut parsed| parsed.pop())
                .map(|parsed| parsed.outcome)
            else {
                continue;
            };
            let chosen = ids(&rules.detect(&event));
            assert_eq!(
                chosen,
                ids(&rules.detect_among(&event, |_| true)),
                "{}",
                path.display()
            );
            records += 1;
            fired += usize::from(!chosen.is_empty());
        }
    }
    assert!(
        records > 100 && fired > 10,
        "{records} records, {fired} fired"
    );

    let ordinary = json!({"eventSource": "ec2.amazonaws.com", "eventName": "DescribeInstances"});
    let tried = rules
        .rules
        .iter()
        .map(|loaded| &loaded.requires)
        .filter(|requires| {
            requires.admits(
                ordinary["eventSource"].as_str().unwrap(),
                "DescribeInstances",
            )
        })
        .count();
    assert!(
        tried * 10 <= rules.len(),
        "{tried} rules tried on DescribeInstances"
    );
}
