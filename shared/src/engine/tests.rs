use chrono::Utc;
use serde_json::{Value, json};

use super::*;
use crate::anomaly::Severity;
use crate::input::parse_value;

fn event(value: Value) -> Event {
    let mut parsed = parse_value(value).expect("readable");
    parsed.remove(0).outcome.expect("valid")
}

fn fired(value: Value) -> Vec<String> {
    Engine::default()
        .evaluate(&event(value), Utc::now())
        .map(|anomaly| anomaly.detections.into_iter().map(|d| d.id).collect())
        .unwrap_or_default()
}

fn reference_record(path: &str) -> Value {
    let file = crate::input::tests::traildiscover_dir().join(path);
    serde_json::from_slice(&std::fs::read(&file).expect("reference data")).expect("JSON")
}

fn console_login(identity_type: &str, mfa: &str, outcome: &str) -> Value {
    json!({
        "eventID": "login-1", "eventTime": "2026-11-02T09:14:03Z",
        "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
        "userIdentity": {"type": identity_type, "arn": "arn:aws:iam::111122223333:user/bob"},
        "sourceIPAddress": "198.51.100.23",
        "responseElements": {"ConsoleLogin": outcome},
        "additionalEventData": {"MFAUsed": mfa}
    })
}

#[test]
fn stopping_cloudtrail_fires_even_when_denied_and_says_so() {
    let anomaly = Engine::default()
        .evaluate(
            &event(reference_record("CloudTrail/StopLogging.json.cloudtrail")),
            Utc::now(),
        )
        .expect("an anomaly");
    assert_eq!(anomaly.detections[0].id, "TW-CLOUDTRAIL-001");
    assert_eq!(anomaly.detections[0].technique, "T1562.008");
    assert_eq!(anomaly.severity, Severity::High);
    assert_eq!(
        anomaly.reasons,
        vec![
            "arn:aws:iam::111111111111:user/TrailDiscover called cloudtrail:StopLogging (denied: AccessDenied)"
        ]
    );
    assert_eq!(
        fired(reference_record("CloudTrail/DeleteTrail.json.cloudtrail")),
        vec!["TW-CLOUDTRAIL-001"]
    );
}

#[test]
fn ordinary_calls_make_no_anomaly() {
    assert!(fired(reference_record("CloudTrail/LookupEvents.json.cloudtrail")).is_empty());
    assert!(fired(reference_record("CloudTrail/UpdateTrail.json.cloudtrail")).is_empty());
    // The same name from another service is not CloudTrail being stopped.
    let mut other = reference_record("CloudTrail/StopLogging.json.cloudtrail");
    other[0]["eventSource"] = json!("logs.amazonaws.com");
    assert!(fired(other).is_empty());
}

#[test]
fn a_seed_event_fires_by_its_event_type() {
    let seed = |event_type: &str| {
        json!({"RequestID": "r", "EventID": "e", "RoleID": "role12", "EventType": event_type,
               "EventTimestamp": "2023-06-23T16:23:18Z", "AffectedAssets": []})
    };
    assert_eq!(
        fired(seed("cloudtrail:StopLogging")),
        vec!["TW-CLOUDTRAIL-001"]
    );
    assert_eq!(fired(seed("DeleteTrail")), vec!["TW-CLOUDTRAIL-001"]);
    assert!(fired(seed("type1")).is_empty());
    assert!(fired(seed("s3:StopLogging")).is_empty());
}

#[test]
fn root_use_fires_unless_a_service_acted_for_root() {
    let mut call = reference_record("CloudTrail/LookupEvents.json.cloudtrail")[0].clone();
    call["userIdentity"] = json!({"type": "Root", "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333"});
    assert_eq!(fired(call.clone()), vec!["TW-ROOT-001"]);
    call["userIdentity"]["invokedBy"] = json!("support.amazonaws.com");
    assert!(fired(call).is_empty());
}

#[test]
fn console_login_without_mfa_fires_only_for_successful_iam_user_and_root_logins() {
    assert_eq!(
        fired(console_login("IAMUser", "No", "Success")),
        vec!["TW-SIGNIN-001"]
    );
    assert!(fired(console_login("IAMUser", "Yes", "Success")).is_empty());
    assert!(fired(console_login("IAMUser", "No", "Failure")).is_empty());
    // Identity Center and SAML sign-ins carry MFAUsed: No whatever the IdP enforced.
    assert!(fired(console_login("AssumedRole", "No", "Success")).is_empty());
}

#[test]
fn corroborating_detections_raise_the_score_and_keep_every_reason() {
    let anomaly = Engine::default()
        .evaluate(&event(console_login("Root", "No", "Success")), Utc::now())
        .expect("an anomaly");
    assert_eq!(anomaly.detections.len(), 2);
    assert_eq!(anomaly.severity, Severity::High);
    assert!(anomaly.score > 0.75 && anomaly.score < 1.0);
    assert_eq!(anomaly.reasons.len(), 2);
    assert!(anomaly.reasons[1].contains("without MFA from 198.51.100.23"));
}

#[test]
fn every_rule_has_its_attack_mapping() {
    for rule in Engine::default().rules() {
        assert!(rule.id.starts_with("TW-"), "{}", rule.id);
        assert!(!rule.title.is_empty() && !rule.tactic.is_empty());
        assert!(rule.technique.starts_with('T'), "{}", rule.technique);
    }
}
