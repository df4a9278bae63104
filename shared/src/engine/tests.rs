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
        .evaluate_rules(&event(value), Utc::now())
        .map(|anomaly| anomaly.detections.into_iter().map(|d| d.id).collect())
        .unwrap_or_default()
}

fn reference_record(path: &str) -> Value {
    let file = crate::input::tests::traildiscover_dir().join(path);
    serde_json::from_slice(&std::fs::read(&file).expect("reference data")).expect("JSON")
}

#[test]
fn an_anomaly_carries_the_event_and_its_detections() {
    let anomaly = Engine::default()
        .evaluate_rules(
            &event(reference_record("CloudTrail/StopLogging.json.cloudtrail")),
            Utc::now(),
        )
        .expect("an anomaly");
    assert_eq!(anomaly.event_id, "de53d94e-f8b3-4111-b2d2-4f1c2f77a2b1");
    assert_eq!(
        anomaly.principal,
        "arn:aws:iam::111111111111:user/TrailDiscover"
    );
    assert_eq!(anomaly.action, "cloudtrail:StopLogging");
    // The reference call was denied: an attempt, one level below the rule's high.
    assert_eq!(anomaly.detections[0].id, "TW-CLOUDTRAIL-001-ATTEMPT");
    assert_eq!(anomaly.detections[0].technique, "T1562.008");
    assert_eq!(anomaly.severity, Severity::Medium);
    assert_eq!(anomaly.reasons, vec![anomaly.detections[0].reason.clone()]);
}

#[test]
fn ordinary_calls_make_no_anomaly() {
    for path in [
        "CloudTrail/LookupEvents",
        "EC2/DescribeInstances",
        "S3/ListBuckets",
        "SecurityTokenService/GetCallerIdentity",
    ] {
        assert!(
            fired(reference_record(&format!("{path}.json.cloudtrail"))).is_empty(),
            "{path}"
        );
    }
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
    assert_eq!(fired(seed("DeleteTrail")), vec!["TW-CLOUDTRAIL-002"]);
    assert!(fired(seed("type1")).is_empty());
    assert!(fired(seed("s3:StopLogging")).is_empty());
}

#[test]
fn rules_for_every_call_meet_events_of_any_name() {
    let mut record = reference_record("S3/ListBuckets.json.cloudtrail")[0].clone();
    record["userAgent"] =
        json!("aws-cli/2.15.0 Python/3.11.8 Linux/6.6.9-amd64 exe/x86_64.kali.2024");
    record["userIdentity"] = json!({"type": "Root", "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333"});
    assert_eq!(fired(record), vec!["TW-ROOT-001", "TW-TOOL-001"]);
}

#[test]
fn corroborating_detections_raise_the_score_and_keep_every_reason() {
    let login = json!({
        "eventID": "login-1", "eventTime": "2026-11-02T09:14:03Z",
        "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
        "userIdentity": {"type": "Root", "arn": "arn:aws:iam::111122223333:root"},
        "sourceIPAddress": "198.51.100.23",
        "responseElements": {"ConsoleLogin": "Success"},
        "additionalEventData": {"MFAUsed": "No"}
    });
    let anomaly = Engine::default()
        .evaluate_rules(&event(login), Utc::now())
        .expect("an anomaly");
    let ids: Vec<&str> = anomaly.detections.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, vec!["TW-ROOT-002", "TW-SIGNIN-001"]);
    // High, corroborated by a medium: one level up.
    assert_eq!(anomaly.severity, Severity::Critical);
    assert!(anomaly.score > 0.75 && anomaly.score < 1.0);
    assert_eq!(anomaly.reasons.len(), 2);
    assert!(anomaly.reasons[1].contains("without MFA from 198.51.100.23"));
}

#[test]
fn severity_is_raised_only_by_corroboration() {
    let detection = |severity| Detection {
        id: "X".into(),
        title: "x".into(),
        severity,
        tactic: "t".into(),
        technique: "T0".into(),
        reason: "r".into(),
        tags: Vec::new(),
        attribution: None,
    };
    use Severity::*;
    assert_eq!(severity_of(&[]), None);
    assert_eq!(severity_of(&[detection(High)]), Some(High));
    assert_eq!(severity_of(&[detection(High), detection(Low)]), Some(High));
    assert_eq!(
        severity_of(&[detection(Medium), detection(Medium)]),
        Some(High)
    );
    assert_eq!(
        severity_of(&[detection(Low), detection(Low), detection(Low)]),
        Some(Medium)
    );
    assert_eq!(
        severity_of(&[detection(Critical), detection(High)]),
        Some(Critical)
    );
}

#[test]
fn calls_aws_services_make_are_told_from_calls_people_make() {
    let identity = |identity: Value| {
        event(json!({"eventID": "e", "eventTime": "2026-11-02T09:00:00Z",
            "eventSource": "s3.amazonaws.com", "eventName": "PutObject",
            "userIdentity": identity}))
    };
    let service =
        identity(json!({"type": "AWSService", "invokedBy": "delivery.logs.amazonaws.com"}));
    assert_eq!(service.principal, "delivery.logs.amazonaws.com");
    assert!(service.is_aws_service_call());
    let on_behalf = identity(json!({"type": "AssumedRole",
        "arn": "arn:aws:sts::111122223333:assumed-role/app/s", "invokedBy": "secretsmanager.amazonaws.com",
        "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::111122223333:role/app"}}}));
    assert!(on_behalf.is_aws_service_call());
    let linked = identity(json!({"type": "AssumedRole",
        "arn": "arn:aws:sts::111122223333:assumed-role/AWSServiceRoleForConfig/s",
        "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::111122223333:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"}}}));
    assert!(linked.is_aws_service_call());
    // A person in the console: `invokedBy: signin.amazonaws.com` is not a service at work.
    let console = identity(
        json!({"type": "Root", "arn": "arn:aws:iam::111122223333:root",
        "invokedBy": "signin.amazonaws.com", "accessKeyId": "ASIAROOTCONSOLE"}),
    );
    assert!(!console.is_aws_service_call());
    assert_eq!(console.access_key_id.as_deref(), Some("ASIAROOTCONSOLE"));
}

mod stateful {
    use super::*;
    use crate::adapters::memory_profiles::MemoryProfileStore;
    use crate::rules::RuleFile;

    const BULK_DELETES: &str = r#"
id: ACME-BULK
title: Bulk deletes
severity: high
tactic: Impact
technique: T1485
description: Many objects deleted.
calls: [s3:DeleteObject]
when: succeeded
threshold: {at_least: 3, within_minutes: 5, per: principal}
reason: "{principal} deleted {count} objects within {window}"
"#;

    const FIRST_INVOCATION: &str = r#"
id: ACME-FIRST
title: First model invocation
severity: medium
tactic: Impact
technique: T1496
description: A first model invocation.
calls: [bedrock:InvokeModel]
first_time: call
"#;

    fn engine(text: &str) -> Engine {
        let rule = RuleFile::parse("acme.yaml", text).expect("valid").rule;
        Engine::new(vec![rule], BaselineConfig::default())
    }

    fn call(name: &str, id: &str, at: &str) -> Event {
        let source = if name == "InvokeModel" {
            "bedrock.amazonaws.com"
        } else {
            "s3.amazonaws.com"
        };
        event(
            json!({"eventVersion": "1.09", "eventID": id, "eventTime": at, "eventSource": source,
            "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.7",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice", "accountId": "111122223333"},
            "requestParameters": {"bucketName": "b", "key": id}}),
        )
    }

    async fn ids<S: ProfileStore>(
        engine: &Engine,
        store: &S,
        event: &Event,
        learns: bool,
    ) -> Vec<String> {
        engine
            .evaluate_with(event, store, Utc::now(), learns)
            .await
            .unwrap()
            .map(|anomaly| anomaly.detections.into_iter().map(|d| d.id).collect())
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn a_threshold_fires_once_at_its_floor_even_for_a_principal_never_seen() {
        let engine = engine(BULK_DELETES);
        let store = MemoryProfileStore::default();
        let mut fired = Vec::new();
        let mut reasons = Vec::new();
        for n in 0..6 {
            let event = call(
                "DeleteObject",
                &format!("d{n}"),
                &format!("2026-11-02T09:0{n}:00Z"),
            );
            let anomaly = engine.evaluate(&event, &store, Utc::now()).await.unwrap();
            if let Some(anomaly) =
                anomaly.filter(|a| a.detections.iter().any(|d| d.id == "ACME-BULK"))
            {
                fired.push(n);
                reasons = anomaly.reasons;
            }
        }
        assert_eq!(
            fired,
            vec![2],
            "the third delete, once; the run goes on unreported"
        );
        assert!(
            reasons.contains(
                &"arn:aws:iam::111122223333:user/alice deleted 3 objects within 5 minutes"
                    .to_string()
            ),
            "{reasons:?}"
        );
        let retried = call("DeleteObject", "d2", "2026-11-02T09:02:00Z");
        assert!(
            ids(&engine, &store, &retried, true)
                .await
                .contains(&"ACME-BULK".to_string()),
            "the reporting call, retried, reports again"
        );
    }

    #[tokio::test]
    async fn posted_events_that_teach_nothing_count_toward_no_threshold() {
        let engine = engine(BULK_DELETES);
        let store = MemoryProfileStore::default();
        for n in 0..5 {
            let event = call("DeleteObject", &format!("p{n}"), "2026-11-02T09:00:00Z");
            assert!(ids(&engine, &store, &event, false).await.is_empty());
        }
    }

    #[tokio::test]
    async fn a_first_time_rule_waits_for_the_baseline_and_fires_once() {
        let engine = engine(FIRST_INVOCATION);
        let store = MemoryProfileStore::default();
        // Still learning: its first invocation is not judged.
        let early = call("InvokeModel", "early", "2026-11-01T08:00:00Z");
        assert!(
            !ids(&engine, &store, &early, true)
                .await
                .contains(&"ACME-FIRST".to_string())
        );
        // A principal with a settled history (another one, so its first call is still ahead).
        let settled = |id: &str, name: &str, at: &str| {
            let mut event = call(name, id, at);
            event.principal = "arn:aws:iam::111122223333:user/bob".into();
            event
        };
        for n in 0..25 {
            let history = settled(
                &format!("h{n}"),
                "ListBuckets",
                &format!("2026-11-01T09:{n:02}:00Z"),
            );
            ids(&engine, &store, &history, true).await;
        }
        let first = settled("first", "InvokeModel", "2026-11-10T09:00:00Z");
        let second = settled("second", "InvokeModel", "2026-11-10T09:05:00Z");
        assert!(
            ids(&engine, &store, &first, true)
                .await
                .contains(&"ACME-FIRST".to_string())
        );
        assert!(
            !ids(&engine, &store, &second, true)
                .await
                .contains(&"ACME-FIRST".to_string())
        );
    }
}
