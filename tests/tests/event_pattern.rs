//! The EventBridge rules' pattern, as template.yaml and forwarder.yaml declare it, matched
//! against real CloudTrail records by the local endpoint's `TestEventPattern`: read-only
//! management calls arrive, data events, KMS's cryptographic noise and trailwatch's own calls
//! do not.

use serde_json::{Value, json};
use trailwatch_tests::harness::{local_endpoint, skipped};
use trailwatch_tests::records::{eventbridge_envelope, traildiscover};
use trailwatch_tests::template::Template;

const DETECTOR_ROLE: &str = "arn:aws:iam::111111111111:role/trailwatch-DetectorFunctionRole-1A2B3C";
const INGEST_ROLE: &str = "arn:aws:iam::111111111111:role/trailwatch-IngestFunctionRole-4D5E6F";

/// The pattern of a rule, with the stack's function roles standing for their `!GetAtt`s and
/// parameters at their defaults.
fn pattern(file: &str, rule: &str) -> Value {
    Template::load_file(file)
        .unwrap()
        .event_pattern(rule, |tag, argument| match (tag, argument) {
            ("GetAtt", "DetectorFunctionRole.Arn") => Some(json!(DETECTOR_ROLE)),
            ("GetAtt", "IngestFunctionRole.Arn") => Some(json!(INGEST_ROLE)),
            _ => None,
        })
        .unwrap_or_else(|error| panic!("{file} {rule}: {error}"))
}

/// The root console sign-in of the sample delivery file (real records have no
/// `sessionContext` for root).
fn root_console_login() -> Value {
    let file: Value =
        serde_json::from_str(include_str!("../../events/cloudtrail-delivery.json")).unwrap();
    file["Records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|record| record["eventName"] == "ConsoleLogin")
        .cloned()
        .unwrap()
}

fn with(record: &Value, pointer: &str, value: Value) -> Value {
    let mut record = record.clone();
    *record.pointer_mut(pointer).unwrap() = value;
    record
}

/// (what it is, the EventBridge event, whether the rules take it)
fn cases() -> Vec<(&'static str, Value, bool)> {
    let secret = traildiscover("SecretsManager/GetSecretValue");
    let describe_key = traildiscover("KMS/DescribeKey");
    let mut from_custom_source = eventbridge_envelope(&secret);
    from_custom_source["source"] = json!("custom.app");
    vec![
        (
            "a read-only GetSecretValue",
            eventbridge_envelope(&secret),
            true,
        ),
        (
            "sts:GetCallerIdentity",
            eventbridge_envelope(&traildiscover("SecurityTokenService/GetCallerIdentity")),
            true,
        ),
        (
            "a read-only kms:DescribeKey by an SSO role",
            eventbridge_envelope(&describe_key),
            true,
        ),
        (
            "a console sign-in event (GetSigninToken)",
            eventbridge_envelope(&traildiscover("SignIn/GetSigninToken")),
            true,
        ),
        (
            "root's console login (no session context)",
            eventbridge_envelope(&root_console_login()),
            true,
        ),
        (
            "a data event (ses:SendEmail)",
            eventbridge_envelope(&traildiscover("SES/SendEmail")),
            false,
        ),
        (
            "kms:Decrypt, left out by default",
            eventbridge_envelope(&with(&describe_key, "/eventName", json!("Decrypt"))),
            false,
        ),
        (
            "a CloudTrail-shaped event from a custom source",
            from_custom_source,
            false,
        ),
    ]
}

/// Set where the endpoint must evaluate patterns (CI's LocalStack run): a silent endpoint
/// then fails the tests instead of skipping them.
const REQUIRE_PATTERN_MATCHING: &str = "TRAILWATCH_REQUIRE_PATTERN_MATCHING";

/// A client of an endpoint that really evaluates patterns, or `None` (after saying so):
/// moto's server takes `TestEventPattern` but answers with an empty body.
async fn pattern_tester(test: &str) -> Option<aws_sdk_eventbridge::Client> {
    let config = local_endpoint(test).await?;
    let client = aws_sdk_eventbridge::Client::new(&config);
    let probe = json!({"version": "0", "id": "probe", "detail-type": "probe", "source": "probe",
        "account": "111122223333", "time": "2026-11-02T09:00:00Z", "region": "us-east-1",
        "resources": [], "detail": {}});
    if matches(&client, &json!({"source": ["probe"]}), &probe).await {
        return Some(client);
    }
    if std::env::var_os(REQUIRE_PATTERN_MATCHING).is_some() {
        panic!(
            "{REQUIRE_PATTERN_MATCHING} is set but the endpoint does not evaluate TestEventPattern"
        );
    }
    skipped(
        test,
        "this endpoint does not evaluate TestEventPattern (moto); CI runs it on LocalStack",
    );
    None
}

async fn matches(client: &aws_sdk_eventbridge::Client, pattern: &Value, event: &Value) -> bool {
    client
        .test_event_pattern()
        .event_pattern(pattern.to_string())
        .event(event.to_string())
        .send()
        .await
        .unwrap_or_else(|error| {
            panic!(
                "TestEventPattern: {}",
                aws_sdk_eventbridge::error::DisplayErrorContext(&error)
            )
        })
        .result
}

#[tokio::test]
async fn the_rules_take_management_events_read_only_included_and_nothing_else() {
    let Some(client) = pattern_tester("rule_pattern").await else {
        return;
    };
    let patterns = [
        ("template.yaml", "CloudTrailRule"),
        ("template.yaml", "ForwardedCloudTrailRule"),
        ("forwarder.yaml", "ForwardCloudTrailRule"),
    ];
    for (file, rule) in patterns {
        let pattern = pattern(file, rule);
        for (what, event, expected) in cases() {
            assert_eq!(
                matches(&client, &pattern, &event).await,
                expected,
                "{file} {rule}: {what}"
            );
        }
    }
}

#[tokio::test]
async fn the_stacks_own_function_roles_are_left_out() {
    let Some(client) = pattern_tester("own_roles").await else {
        return;
    };
    let call = traildiscover("KMS/DescribeKey");
    let issuer = "/userIdentity/sessionContext/sessionIssuer/arn";
    for rule in ["CloudTrailRule", "ForwardedCloudTrailRule"] {
        let pattern = pattern("template.yaml", rule);
        for role in [DETECTOR_ROLE, INGEST_ROLE] {
            let own = eventbridge_envelope(&with(&call, issuer, json!(role)));
            assert!(!matches(&client, &pattern, &own).await, "{rule}: {role}");
        }
        let other = eventbridge_envelope(&with(
            &call,
            issuer,
            json!("arn:aws:iam::111111111111:role/trailwatch-deploy"),
        ));
        assert!(
            matches(&client, &pattern, &other).await,
            "{rule}: another role of the account"
        );
    }
}
