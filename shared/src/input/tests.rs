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

/// Every record of the TrailDiscover files that are JSON.
fn traildiscover_records() -> Vec<serde_json::Value> {
    traildiscover_files()
        .iter()
        .filter_map(|path| serde_json::from_str(&std::fs::read_to_string(path).unwrap()).ok())
        .flat_map(|value| match value {
            serde_json::Value::Array(items) => items,
            other => vec![other],
        })
        .collect()
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
        event.raw.value(),
        &serde_json::from_str::<serde_json::Value>(EXAMPLE).unwrap()
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
    assert_eq!(
        event.raw.value()["detail-type"],
        "AWS API Call via CloudTrail"
    );
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
    let just_before = problems(record(&|detail| {
        detail["eventTime"] = json!("2005-12-31T23:59:59Z")
    }));
    assert!(
        just_before[0].1.contains("2006 or later"),
        "{just_before:?}"
    );
    assert!(
        problems(record(&|detail| {
            detail["eventTime"] = json!("2006-01-01T00:00:00Z")
        }))
        .is_empty()
    );
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

/// The event read from a record's text, or `None` where that way declines it; when it reads
/// one, it is the event the record's tree makes.
fn read_from_text_as_the_tree_reads(text: &str) -> Option<Event> {
    let from_text = read_cloudtrail_text(text.into()).ok()?;
    assert!(
        !from_text.raw.is_parsed(),
        "the tree is built only when asked for"
    );
    let value: serde_json::Value = serde_json::from_str(text).expect("read only from JSON");
    let from_tree = parse_event(0, value).expect("read only when the tree has no problem");
    // The fields the rules take from the event say what the tree says.
    for pointer in [
        "/userAgent",
        "/errorCode",
        "/sourceIPAddress",
        "/eventSource",
        "/userIdentity/type",
        "/userIdentity/arn",
        "/userIdentity/invokedBy",
        "/userIdentity/accessKeyId",
    ] {
        let in_tree = from_tree
            .record()
            .pointer(pointer)
            .filter(|value| !value.is_null());
        let in_tree = in_tree.map(|value| value.as_str().expect("a string, or not read"));
        assert_eq!(
            from_text.known_field(pointer),
            Some(in_tree),
            "{pointer} of {text}"
        );
        assert_eq!(
            from_tree.known_field(pointer),
            None,
            "a tree is read as a tree"
        );
    }
    assert!(
        !from_text.raw.is_parsed(),
        "the rules' fields are read without the tree"
    );
    assert_eq!(from_text, from_tree, "{text}");
    Some(from_text)
}

#[test]
fn a_record_read_from_its_text_is_the_event_its_tree_makes() {
    let engine = crate::engine::Engine::default();
    let (mut records, mut read) = (0, 0);
    for record in traildiscover_records() {
        let valid = parse_event(0, record.clone()).is_ok();
        records += usize::from(valid);
        for text in [
            record.to_string(),
            serde_json::to_string_pretty(&record).unwrap(),
        ] {
            let Some(from_text) = read_from_text_as_the_tree_reads(&text) else {
                continue;
            };
            read += 1;
            // The rules judge it as they judge its tree.
            let from_tree = parse_event(0, record.clone()).unwrap();
            assert_eq!(
                engine.detect(&from_text),
                engine.detect(&from_tree),
                "{text}"
            );
        }
    }
    // Both layouts of nearly every valid record take the quick way.
    assert!(records > 100, "{records} records");
    assert!(
        read * 100 >= records * 2 * 95,
        "{read} of {records} records"
    );

    let event = read_from_text_as_the_tree_reads(&example_record().to_string()).unwrap();
    assert_eq!(
        event.principal,
        "arn:aws:iam::111122223333:role/Admin as alice@example.com"
    );
    assert_eq!(
        event.identity_arn.as_deref(),
        Some("arn:aws:sts::111122223333:assumed-role/Admin/alice@example.com")
    );
    assert_eq!(event.assets, ["arn:aws:s3:::logs"]);
    assert_eq!(event.event_name, "UpdateFunctionCode");
    // Its tree is the record's, built when something reads it.
    assert_eq!(event.record()["requestParameters"]["bucketName"], "logs");
    assert!(event.raw.is_parsed());
}

/// A CloudTrail record with a field of most kinds the reader takes.
fn example_record() -> serde_json::Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLE:alice@example.com",
            "arn": "arn:aws:sts::111122223333:assumed-role/Admin/alice@example.com",
            "accountId": "111122223333",
            "accessKeyId": "ASIAEXAMPLE",
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::111122223333:role/Admin"},
                "attributes": {"mfaAuthenticated": "false"}
            }
        },
        "eventTime": "2026-11-02T10:00:00Z",
        "eventSource": "lambda.amazonaws.com",
        "eventName": "UpdateFunctionCode20150331v2",
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-cli/2.15.0 Python/3.11",
        "requestParameters": {"bucketName": "logs", "nested": [1, {"a": null}]},
        "responseElements": null,
        "requestID": "r-1",
        "eventID": "e-1",
        "resources": [{"ARN": "arn:aws:s3:::logs", "type": "AWS::S3::Bucket"}, {"type": "x"}],
        "recipientAccountId": "111122223333"
    })
}

#[test]
fn records_of_another_shape_or_with_problems_are_left_to_the_tree() {
    let with = |pointer: &str, value: serde_json::Value| {
        let mut record = example_record();
        *record.pointer_mut(pointer).unwrap() = value;
        record.to_string()
    };
    for (text, why) in [
        (with("/eventID", json!(7)), "an id that is not a string"),
        (with("/eventID", json!(" ")), "an empty id"),
        (with("/eventID", json!("e".repeat(300))), "an id too long"),
        (
            with("/eventTime", json!("yesterday")),
            "a time that is not one",
        ),
        (with("/eventName", json!(null)), "a name that is null"),
        (
            with("/userIdentity", json!("root")),
            "an identity that is not an object",
        ),
        (
            with("/userAgent", json!("")),
            "an empty field the rules read",
        ),
        (
            with("/userIdentity/type", json!("")),
            "an empty field the rules read",
        ),
        (
            with("/userAgent", json!(5)),
            "a string field that is a number",
        ),
        (
            with("/resources", json!({"ARN": "x"})),
            "resources that are not a list",
        ),
        (
            with("/resources/1", json!("arn:x")),
            "a resource that is not an object",
        ),
        (
            r#"{"eventID": "a", "eventID": "b", "eventTime": "2026-11-02T10:00:00Z",
                "eventSource": "s3.amazonaws.com", "eventName": "GetObject"}"#
                .to_string(),
            "a field given twice",
        ),
        (
            json!({"detail": null, "eventID": "a", "eventTime": "2026-11-02T10:00:00Z",
                "eventSource": "s3.amazonaws.com", "eventName": "GetObject"})
            .to_string(),
            "an EventBridge envelope",
        ),
        (EXAMPLE.to_string(), "a seed event"),
        ("[1]".to_string(), "not an object"),
        (
            r#"["e-1", "2026-11-02T10:00:00Z", "s3.amazonaws.com", "GetObject"]"#.to_string(),
            "an array, which serde would read as a struct's fields in order",
        ),
        (
            r#"{"eventID": "a", "eventTime": "2026-11-02T10:00:00Z",
                "eventSource": "s3.amazonaws.com", "eventName": "GetObject", "x": tru}"#
                .to_string(),
            "bad JSON after the fields",
        ),
    ] {
        assert!(read_cloudtrail_text(text.into()).is_err(), "{why}");
    }
}

mod properties {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::{example_record, read_from_text_as_the_tree_reads};

    /// JSON of the kinds CloudTrail's fields hold, and of the kinds they should not.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            prop::sample::select(vec![
                "",
                "AssumedRole",
                "AWSService",
                "AWSAccount",
                "IdentityCenterUser",
                "Success",
                "No",
                "Yes",
                "ConsoleLogin",
                "AccessDenied",
                "2026-11-02T10:00:00Z",
                "arn:aws:sts::1:assumed-role/AWSReservedSSO_Admin/bob",
                "arn:aws:sts::1:assumed-role/Web/i-0123456789abcdef0",
                "a\"quoted\\u00e9\"",
            ])
            .prop_map(Value::from),
            "[a-z:/@ -]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
                prop::collection::btree_map(
                    prop::sample::select(vec![
                        "ARN",
                        "arn",
                        "type",
                        "userId",
                        "ConsoleLogin",
                        "MFAUsed",
                        "x",
                    ])
                    .prop_map(str::to_string),
                    inner,
                    0..3
                )
                .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    /// Where a record's fields sit; each may be set to anything.
    const FIELDS: [&str; 24] = [
        "eventID",
        "eventTime",
        "eventSource",
        "eventName",
        "requestID",
        "userIdentity",
        "userIdentity/type",
        "userIdentity/arn",
        "userIdentity/invokedBy",
        "userIdentity/accessKeyId",
        "userIdentity/accountId",
        "userIdentity/principalId",
        "userIdentity/onBehalfOf",
        "userIdentity/sessionContext",
        "userIdentity/sessionContext/sessionIssuer",
        "userIdentity/sessionContext/sourceIdentity",
        "resources",
        "sourceIPAddress",
        "awsRegion",
        "userAgent",
        "errorCode",
        "recipientAccountId",
        "responseElements",
        "additionalEventData",
    ];

    proptest! {
        /// Whatever a record's fields hold, the event read from its text is the one its tree
        /// makes, or the text is left to the tree.
        #[test]
        fn a_record_s_text_and_its_tree_make_the_same_event(
            changes in prop::collection::vec((prop::sample::select(FIELDS.to_vec()), any_json()), 1..5),
            console in any::<bool>(),
        ) {
            let mut record = example_record();
            if console {
                record["eventName"] = json!("ConsoleLogin");
                record["responseElements"] = json!({"ConsoleLogin": "Success"});
                record["additionalEventData"] = json!({"MFAUsed": "No"});
            }
            for (field, value) in changes {
                // Set where its parent is still an object (an earlier change may have
                // replaced it).
                let (parent, key) = match field.rsplit_once('/') {
                    Some((parent, key)) => (format!("/{parent}"), key),
                    None => (String::new(), field),
                };
                if let Some(Value::Object(object)) = record.pointer_mut(&parent) {
                    object.insert(key.to_string(), value);
                }
            }
            read_from_text_as_the_tree_reads(&record.to_string());
        }
    }
}
