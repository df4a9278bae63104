use std::path::PathBuf;

use serde_json::json;

use super::*;
use crate::event::Origin;

const EXAMPLE: &str = r#"{"RequestID":"8f884d95-b266-4018-8767-c4a79ecee7a6","EventID":"8f884d95-b266-4018-8767-c4a79ecee7a6","RoleID":"role12","EventType":"type1","EventTimestamp":"2023-06-23T16:23:18Z","AffectedAssets":["asset1","asset2"]}"#;

fn only_event(body: &str) -> Result<Event, Vec<Problem>> {
    let mut parsed = parse_body(body.as_bytes()).expect("a readable body");
    assert_eq!(parsed.len(), 1);
    parsed.remove(0).outcome
}

fn fields_of(problems: &[Problem]) -> Vec<&str> {
    problems
        .iter()
        .map(|problem| problem.field.as_str())
        .collect()
}

pub(crate) fn traildiscover_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/traildiscover/events")
}

/// Every TrailDiscover file of CloudTrail records (`<service>/<call>.json.cloudtrail`).
pub(crate) fn traildiscover_files() -> Vec<PathBuf> {
    let services =
        std::fs::read_dir(traildiscover_dir()).expect("../shared/data is laid beside the repo");
    let mut files: Vec<PathBuf> = services
        .flat_map(|service| std::fs::read_dir(service.unwrap().path()).unwrap())
        .map(|file| file.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(".json.cloudtrail"))
        .collect();
    files.sort();
    files
}

#[test]
fn the_prototype_example_becomes_an_event() {
    let event = only_event(EXAMPLE).expect("valid");
    assert_eq!(event.origin, Origin::Seed);
    assert_eq!(event.event_id, "8f884d95-b266-4018-8767-c4a79ecee7a6");
    assert_eq!(
        event.request_id.as_deref(),
        Some("8f884d95-b266-4018-8767-c4a79ecee7a6")
    );
    assert_eq!(event.principal, "role12");
    assert_eq!(event.event_name, "type1");
    assert_eq!(event.event_source, None);
    assert_eq!(event.event_time.to_rfc3339(), "2023-06-23T16:23:18+00:00");
    assert_eq!(event.assets, vec!["asset1", "asset2"]);
    assert_eq!(
        event.raw,
        serde_json::from_str::<serde_json::Value>(EXAMPLE).unwrap()
    );
}

#[test]
fn a_seed_event_type_may_name_its_service() {
    let body = EXAMPLE.replace("\"type1\"", "\"cloudtrail:StopLogging\"");
    let event = only_event(&body).expect("valid");
    assert_eq!(
        event.event_source.as_deref(),
        Some("cloudtrail.amazonaws.com")
    );
    assert_eq!(event.event_name, "StopLogging");
    assert_eq!(event.action(), "cloudtrail:StopLogging");
}

#[test]
fn every_problem_of_a_seed_event_is_reported_at_once() {
    let body = json!({
        "EventID": "",
        "RoleID": "r".repeat(257),
        "EventType": 7,
        "EventTimestamp": "yesterday",
        "AffectedAssets": ["ok", 3],
    })
    .to_string();
    let problems = only_event(&body).expect_err("invalid");
    assert_eq!(
        fields_of(&problems),
        vec![
            "RequestID",
            "EventID",
            "RoleID",
            "EventType",
            "EventTimestamp",
            "AffectedAssets[1]"
        ]
    );
    assert_eq!(problems[0].problem, "is required");
    assert_eq!(problems[1].problem, "must not be empty");
    assert!(problems[2].problem.contains("257 characters"));
    assert!(
        problems[3]
            .problem
            .contains("must be a string, found a number")
    );
    assert!(problems[4].problem.contains("RFC 3339"));
    assert!(problems.iter().all(|problem| problem.index == 0));
}

#[test]
fn affected_assets_may_be_empty_but_must_be_an_array() {
    let empty = EXAMPLE.replace(r#"["asset1","asset2"]"#, "[]");
    assert_eq!(
        only_event(&empty).expect("valid").assets,
        Vec::<String>::new()
    );
    let not_array = EXAMPLE.replace(r#"["asset1","asset2"]"#, r#""asset1""#);
    let problems = only_event(&not_array).expect_err("invalid");
    assert_eq!(fields_of(&problems), vec!["AffectedAssets"]);
}

#[test]
fn a_console_sign_in_without_request_id_parses_and_names_the_root_user() {
    let delivery = include_str!("../../../events/cloudtrail-delivery.json");
    let parsed = parse_body(delivery.as_bytes()).expect("readable");
    let login = parsed[1].outcome.as_ref().expect("valid");
    assert_eq!(login.event_name, "ConsoleLogin");
    assert_eq!(login.request_id, None);
    assert_eq!(login.principal, "arn:aws:iam::111122223333:root");
    assert_eq!(login.identity_type.as_deref(), Some("Root"));
    let console = login.console_login.as_ref().expect("console facts");
    assert!(console.succeeded);
    assert_eq!(console.mfa_used, Some(false));
}

#[test]
fn an_assumed_role_is_named_by_its_role_not_its_session() {
    let delivery = include_str!("../../../events/cloudtrail-delivery.json");
    let parsed = parse_body(delivery.as_bytes()).expect("readable");
    let describe = parsed[0].outcome.as_ref().expect("valid");
    assert_eq!(describe.principal, "arn:aws:iam::111122223333:role/deploy");

    // Without a session issuer, the role is derived from the session ARN.
    let record = json!({
        "eventID": "e1", "eventTime": "2026-01-01T00:00:00Z", "eventSource": "s3.amazonaws.com",
        "eventName": "ListBuckets",
        "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/Admin/jane"}
    });
    let event = only_event(&record.to_string()).expect("valid");
    assert_eq!(event.principal, "arn:aws:iam::123456789012:role/Admin");
}

/// The first record of a TrailDiscover file, as CloudTrail wrote it.
fn traildiscover_record(path: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(traildiscover_dir().join(path)).expect("reference data");
    let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    match value {
        serde_json::Value::Array(mut records) => records.remove(0),
        record => record,
    }
}

fn principal_of(record: &serde_json::Value) -> String {
    only_event(&record.to_string()).expect("valid").principal
}

#[test]
fn each_identity_center_user_of_a_permission_set_has_a_baseline_of_their_own() {
    // A real Identity Center session: the role is the permission set's, the session the user.
    let record = traildiscover_record("KMS/CreateKey.json.cloudtrail");
    let role = "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/us-east-2/\
                AWSReservedSSO_ReadOnlyAccess_ff7f8c5c5851db50";
    assert_eq!(principal_of(&record), format!("{role} as AdanAlvarez"));

    let mut colleague = record.clone();
    colleague["userIdentity"]["arn"] = json!(
        "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_ReadOnlyAccess_ff7f8c5c5851db50/Mallory"
    );
    assert_eq!(principal_of(&colleague), format!("{role} as Mallory"));

    // A session acting for an Identity Center user names that user, whatever the session.
    let mut on_behalf = record.clone();
    on_behalf["userIdentity"]["onBehalfOf"] = json!({
        "userId": "544894e8-80c1-707f-60e3-3ba6510dfac1",
        "identityStoreArn": "arn:aws:identitystore::111111111111:identitystore/d-9067642ac7"
    });
    assert_eq!(
        principal_of(&on_behalf),
        format!("{role} as identity-center-user/544894e8-80c1-707f-60e3-3ba6510dfac1")
    );
    let mut application_user = record;
    application_user["userIdentity"] = json!({
        "type": "IdentityCenterUser", "accountId": "111111111111",
        "onBehalfOf": {"userId": "544894e8-80c1-707f-60e3-3ba6510dfac1",
                       "identityStoreArn": "arn:aws:identitystore::111111111111:identitystore/d-9067642ac7"},
        "credentialId": "EXAMPLEVHULjJdTUdPJfofVa1sufHDoj7aYcOYcxFVllWR_Whr1fEXAMPLE"
    });
    assert_eq!(
        principal_of(&application_user),
        "identity-center-user/544894e8-80c1-707f-60e3-3ba6510dfac1"
    );
}

#[test]
fn federated_people_are_told_apart_but_service_sessions_share_their_role() {
    let record = traildiscover_record("KMS/CreateKey.json.cloudtrail");
    let session = |role: &str, session: &str, source_identity: Option<&str>| {
        let mut record = record.clone();
        let identity = &mut record["userIdentity"];
        identity["arn"] = json!(format!(
            "arn:aws:sts::111111111111:assumed-role/{role}/{session}"
        ));
        identity["sessionContext"]["sessionIssuer"]["arn"] =
            json!(format!("arn:aws:iam::111111111111:role/{role}"));
        if let Some(source) = source_identity {
            identity["sessionContext"]["sourceIdentity"] = json!(source);
        }
        principal_of(&record)
    };
    // SAML/OIDC sessions are named by e-mail by convention; a source identity survives
    // role chaining and wins over the session name.
    assert_eq!(
        session("Engineers", "jane@example.com", None),
        "arn:aws:iam::111111111111:role/Engineers as jane@example.com"
    );
    assert_eq!(
        session("Engineers", "chained-session", Some("jane")),
        "arn:aws:iam::111111111111:role/Engineers as jane"
    );
    // Lambda, instance and pipeline sessions change name every time: one role, one baseline.
    for name in [
        "i-0123456789abcdef0",
        "botocore-session-1700000000",
        "GitHubActions",
    ] {
        assert_eq!(
            session("deploy", name, None),
            "arn:aws:iam::111111111111:role/deploy"
        );
    }
}

#[test]
fn another_accounts_caller_without_an_arn_is_one_principal_across_sessions() {
    let caller = |principal_id: &str| {
        principal_of(&json!({
            "eventID": principal_id, "eventTime": "2026-01-01T00:00:00Z",
            "eventSource": "s3.amazonaws.com", "eventName": "GetObject",
            "userIdentity": {"type": "AWSAccount", "principalId": principal_id,
                             "accountId": "444455556666"}
        }))
    };
    assert_eq!(
        caller("AROAEXAMPLEID:session-1"),
        "aws-account/444455556666/AROAEXAMPLEID"
    );
    assert_eq!(
        caller("AROAEXAMPLEID:session-2"),
        caller("AROAEXAMPLEID:session-1")
    );
}

#[test]
fn a_delivery_file_keeps_valid_records_beside_an_invalid_one() {
    let body = json!({"Records": [
        {"eventID": "a", "eventTime": "2026-01-01T00:00:00Z", "eventSource": "s3.amazonaws.com", "eventName": "ListBuckets"},
        {"eventID": "b", "eventSource": "s3.amazonaws.com", "eventName": "ListBuckets", "eventTime": "not a time"},
        {"eventID": "c", "eventTime": "2026-01-01T00:00:01Z", "eventSource": "s3.amazonaws.com", "eventName": "ListBuckets"}
    ]});
    let parsed = parse_value(body).expect("readable");
    assert_eq!(parsed.len(), 3);
    assert!(parsed[0].outcome.is_ok() && parsed[2].outcome.is_ok());
    let problems = parsed[1].outcome.as_ref().expect_err("invalid");
    assert_eq!(problems[0].index, 1);
    assert_eq!(problems[0].field, "eventTime");
}

#[test]
fn arrays_may_mix_events_and_delivery_files() {
    let body = format!(
        r#"[{EXAMPLE}, {{"Records": [{{"eventID": "x", "eventTime": "2026-01-01T00:00:00Z", "eventSource": "iam.amazonaws.com", "eventName": "CreateUser"}}]}}]"#
    );
    let parsed = parse_body(body.as_bytes()).expect("readable");
    let ids: Vec<_> = parsed
        .iter()
        .map(|item| item.outcome.as_ref().expect("valid").event_id.as_str())
        .collect();
    assert_eq!(ids, vec!["8f884d95-b266-4018-8767-c4a79ecee7a6", "x"]);
}

#[test]
fn an_eventbridge_cloudtrail_event_becomes_its_detail() {
    let event =
        only_event(include_str!("../../../events/eventbridge-cloudtrail.json")).expect("valid");
    assert_eq!(event.event_id, "5b0c1e0a-1111-4e6f-8a9b-000000000007");
    assert_eq!(event.action(), "cloudtrail:DeleteTrail");
    assert_eq!(event.principal, "arn:aws:iam::111122223333:role/deploy");
    assert_eq!(event.raw["detail-type"], "AWS API Call via CloudTrail");
}

#[test]
fn an_eventbridge_event_names_problems_inside_its_detail() {
    let body = json!({
        "detail-type": "Object Created", "source": "custom.app",
        "detail": {"eventID": "e", "eventSource": "s3.amazonaws.com", "eventName": "PutObject"}
    });
    let problems = only_event(&body.to_string()).expect_err("invalid");
    assert_eq!(
        fields_of(&problems),
        vec!["detail-type", "source", "detail.eventTime"]
    );
}

#[test]
fn bodies_that_are_not_events_say_why() {
    assert!(matches!(
        parse_body(b"{not json"),
        Err(BodyError::NotJson(_))
    ));
    assert_eq!(
        parse_body(b"42").unwrap_err(),
        BodyError::WrongShape("a number")
    );
    assert_eq!(parse_body(b"[]").unwrap_err(), BodyError::Empty);
    let problems = only_event(r#"{"hello": "world"}"#).expect_err("unrecognised");
    assert_eq!(problems[0].field, "");
    assert!(problems[0].problem.contains("not a recognised event"));
    let parsed = parse_body(br#"["just a string"]"#).expect("readable");
    let problems = parsed[0].outcome.as_ref().expect_err("not an object");
    assert!(problems[0].problem.contains("found a string"));
}

/// Real CloudTrail records of over a hundred APIs vary in every optional field; all of them
/// must parse.
#[test]
fn every_real_cloudtrail_record_in_the_reference_data_parses() {
    let mut files = 0;
    for path in traildiscover_files() {
        let bytes = std::fs::read(&path).unwrap();
        let parsed = match parse_body(&bytes) {
            // A few reference files hold no record at all.
            Err(BodyError::Empty) => continue,
            other => other.unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        };
        files += 1;
        for item in parsed {
            if let Err(problems) = item.outcome {
                panic!("{}: {problems:?}", path.display());
            }
        }
    }
    assert!(files > 100, "only {files} reference records found");
}

#[test]
fn times_sizes_and_counts_that_no_store_could_take_are_field_errors() {
    let record = |edit: &dyn Fn(&mut Value)| {
        let mut record: Value =
            serde_json::from_str(include_str!("../../../events/eventbridge-cloudtrail.json"))
                .unwrap();
        let mut detail = record["detail"].take();
        edit(&mut detail);
        record["detail"] = detail;
        record
    };
    let problems = |record: Value| -> Vec<(String, String)> {
        match parse_event(0, record) {
            Ok(_) => Vec::new(),
            Err(problems) => problems
                .into_iter()
                .map(|problem| (problem.field, problem.problem))
                .collect(),
        }
    };
    assert!(problems(record(&|_| {})).is_empty());

    let old = problems(record(&|detail| {
        detail["eventTime"] = json!("1969-12-31T23:59:59Z")
    }));
    assert_eq!(old[0].0, "detail.eventTime");
    assert!(old[0].1.contains("2006 or later"), "{old:?}");
    let ahead = problems(record(&|detail| {
        detail["eventTime"] = json!("9999-01-01T00:00:00Z")
    }));
    assert!(
        ahead[0].1.contains("more than a day in the future"),
        "{ahead:?}"
    );

    let long_id = problems(record(&|detail| detail["eventID"] = json!("x".repeat(300))));
    assert_eq!(long_id[0].0, "detail.eventID");
    let long_principal = problems(record(&|detail| {
        detail["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] = json!(format!(
            "arn:aws:iam::111122223333:user/{}",
            "u".repeat(2_000)
        ))
    }));
    assert_eq!(long_principal[0].0, "detail.userIdentity");
    let many_assets = problems(record(&|detail| {
        detail["resources"] = json!(
            (0..1_001)
                .map(|n| json!({"ARN": format!("arn:aws:s3:::b{n}")}))
                .collect::<Vec<_>>()
        )
    }));
    assert_eq!(many_assets[0].0, "detail.resources");
    assert!(many_assets[0].1.contains("1001 assets"), "{many_assets:?}");
}

/// What a scan orders a held record by is the time the record parses to, for every real
/// record; anything else is left to be parsed whole (and its problems named then).
#[test]
fn a_record_s_time_read_from_its_text_is_the_time_it_parses_to() {
    let mut compared = 0;
    for path in traildiscover_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let records = match value {
            serde_json::Value::Array(items) => items,
            other => vec![other],
        };
        for record in records {
            let text = record.to_string();
            let parsed = parse_event(0, record).map(|event| event.event_time).ok();
            assert_eq!(cloudtrail_record_time(&text), parsed, "{}", path.display());
            compared += 1;
        }
    }
    assert!(compared > 100, "{compared} records");

    let record = json!({"eventID": "a", "eventTime": "2026-11-02T10:00:00Z",
        "eventSource": "s3.amazonaws.com", "eventName": "GetObject"});
    assert!(cloudtrail_record_time(&record.to_string()).is_some());
    for (odd, why) in [
        (
            json!({"detail": null, "eventTime": "2026-11-02T10:00:00Z"}),
            "an EventBridge event",
        ),
        (
            json!({"detail-type": "AWS API Call via CloudTrail", "eventTime": "2026-11-02T10:00:00Z"}),
            "an EventBridge event",
        ),
        (
            json!({"eventTime": "last tuesday"}),
            "a time that is not one",
        ),
        (
            json!({"eventTime": "2005-12-31T23:59:59Z"}),
            "a time before AWS",
        ),
        (
            json!({"eventTime": "2999-01-01T00:00:00Z"}),
            "a time in the future",
        ),
        (json!({"eventTime": 1}), "a time that is not a string"),
        (
            json!({"EventTimestamp": "2026-11-02T10:00:00Z"}),
            "a seed event",
        ),
    ] {
        assert_eq!(cloudtrail_record_time(&odd.to_string()), None, "{why}");
    }
    let twice = r#"{"eventTime": "2026-11-02T10:00:00Z", "eventTime": "2026-11-03T10:00:00Z"}"#;
    assert_eq!(cloudtrail_record_time(twice), None, "a key given twice");
    assert_eq!(
        cloudtrail_record_time(r#"{"eventTime": "2026-11-02T10:00:00Z", "x": tru}"#),
        None
    );
}
