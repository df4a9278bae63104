//! Findings, incidents and suppression as the deployed detector keeps them: the detector's
//! handler on SQS batches from the real queue, writing to the template's tables on the local
//! endpoint, read back through the indexes the query API will use.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use trailwatch_shared::adapters::dynamodb_suppressions::DynamoDbSuppressionStore;
use trailwatch_shared::casebook::Triage;
use trailwatch_shared::ports::SuppressionStore;
use trailwatch_shared::suppress::{LiveSuppressions, SuppressionRule, Suppressions};
use trailwatch_tests::harness::{Harness, text};
use trailwatch_tests::scenarios::{BOT, bot_call, detect_all, send_all, three_step_attack};

/// The findings or incidents of a principal, newest first, through the by-principal index.
async fn cases_of(
    harness: &Harness,
    principal: &str,
    kind: &str,
) -> Vec<HashMap<String, AttributeValue>> {
    let output = harness
        .dynamodb
        .query()
        .table_name(harness.cases_table())
        .index_name("by-principal")
        .key_condition_expression("principal = :principal")
        .expression_attribute_values(":principal", AttributeValue::S(principal.to_string()))
        .scan_index_forward(false)
        .send()
        .await
        .expect("Query by-principal");
    output
        .items
        .unwrap_or_default()
        .into_iter()
        .filter(|item| text(item, "sk") == kind)
        .collect()
}

/// A case item's state, as JSON.
fn state(item: &HashMap<String, AttributeValue>) -> Value {
    let value: Value = serde_dynamo::from_attribute_value(item["state"].clone()).expect("state");
    value
}

fn finding_of<'a>(findings: &'a [Value], detection: &str) -> &'a Value {
    findings
        .iter()
        .find(|finding| finding["detection"]["id"] == detection)
        .unwrap_or_else(|| panic!("no {detection} finding in {findings:?}"))
}

#[tokio::test]
async fn fifty_denied_calls_are_one_finding_of_fifty_and_redelivery_leaves_it_at_fifty() {
    let Some(harness) = Harness::new("findings_burst").await else {
        return;
    };
    let attempts: Vec<Value> = (0..50)
        .map(|n| {
            bot_call(
                &format!("stop-{n}"),
                n * 3,
                "cloudtrail",
                "StopLogging",
                true,
            )
        })
        .collect();
    send_all(&harness, &attempts).await;
    detect_all(&harness, &Triage::default(), 50).await;

    let findings: Vec<Value> = cases_of(&harness, BOT, "finding")
        .await
        .iter()
        .map(state)
        .collect();
    let attempt = finding_of(&findings, "TW-CLOUDTRAIL-001-ATTEMPT");
    assert_eq!(attempt["count"], 50, "{attempt}");
    assert_eq!(attempt["first_seen"], "2026-11-02T09:00:00Z");
    assert_eq!(attempt["last_seen"], "2026-11-02T09:02:27Z");
    assert_eq!(attempt["event_ids"].as_array().unwrap().len(), 20);
    // The burst of denials is reported once, by the tenth: one finding, one event.
    assert_eq!(finding_of(&findings, "TW-BASE-DENIED")["count"], 1);
    assert_eq!(findings.len(), 2, "{findings:?}");

    // Every message delivered again, to fresh instances: nothing is counted twice.
    send_all(&harness, &attempts).await;
    detect_all(&harness, &Triage::default(), 50).await;
    let again: Vec<Value> = cases_of(&harness, BOT, "finding")
        .await
        .iter()
        .map(state)
        .collect();
    assert_eq!(finding_of(&again, "TW-CLOUDTRAIL-001-ATTEMPT")["count"], 50);
    assert_eq!(finding_of(&again, "TW-BASE-DENIED")["count"], 1);
    assert_eq!(harness.anomaly_count().await, 50);
    harness.cleanup().await;
}

#[tokio::test]
async fn a_three_step_attack_is_one_critical_incident_listed_newest_first() {
    let Some(harness) = Harness::new("findings_incident").await else {
        return;
    };
    let attack = three_step_attack();
    send_all(&harness, &attack).await;
    detect_all(&harness, &Triage::default(), attack.len()).await;

    let listed = harness
        .dynamodb
        .query()
        .table_name(harness.cases_table())
        .index_name("by-last-seen")
        .key_condition_expression("#list = :incident")
        .expression_attribute_names("#list", "list")
        .expression_attribute_values(":incident", AttributeValue::S("incident".into()))
        .scan_index_forward(false)
        .send()
        .await
        .expect("Query by-last-seen")
        .items
        .unwrap_or_default();
    assert_eq!(listed.len(), 1, "one incident");
    let incident = state(&listed[0]);
    assert_eq!(incident["severity"], "critical");
    assert_eq!(incident["principal"], BOT);
    assert_eq!(
        incident["tactics"],
        json!(["Discovery", "Privilege Escalation", "Defense Evasion"])
    );
    assert_eq!(incident["finding_ids"].as_array().unwrap().len(), 3);
    assert!(
        incident["summary"]
            .as_str()
            .unwrap()
            .starts_with("user/build-bot: burst of access-denied errors (Discovery), then administrator policy attached"),
        "{incident}"
    );
    let critical = harness
        .dynamodb
        .query()
        .table_name(harness.cases_table())
        .index_name("by-severity")
        .key_condition_expression("severity_list = :critical")
        .expression_attribute_values(":critical", AttributeValue::S("incident#critical".into()))
        .send()
        .await
        .expect("Query by-severity")
        .items
        .unwrap_or_default();
    assert_eq!(critical.len(), 1);
    harness.cleanup().await;
}

#[tokio::test]
async fn a_suppressed_detection_is_stored_marked_with_its_rule_and_still_makes_the_incident() {
    let Some(harness) = Harness::new("findings_suppressed").await else {
        return;
    };
    // A rule added at run time, to the stack's table, as the API will add it.
    let table =
        DynamoDbSuppressionStore::new(harness.dynamodb.clone(), harness.suppressions_table());
    let rule = SuppressionRule {
        id: "bot-denials".into(),
        detection: Some("TW-BASE-DENIED".into()),
        principal: Some("*:user/build-bot".into()),
        account: None,
        network: Some("203.0.113.0/24".into()),
        user_agent: None,
        region: None,
        reason: "build-bot probes its permissions by design (OPS-12)".into(),
        expires: None,
    };
    table.put(&rule).await.expect("PutItem");
    assert_eq!(table.rules().await.expect("Scan"), vec![rule.clone()]);
    let live = LiveSuppressions::new(Suppressions::default(), std::time::Duration::from_secs(60));
    let triage = Triage {
        suppressions: live.current(Some(&table)).await,
        ..Triage::default()
    };

    let attack = three_step_attack();
    send_all(&harness, &attack).await;
    detect_all(&harness, &triage, attack.len()).await;
    let findings: Vec<Value> = cases_of(&harness, BOT, "finding")
        .await
        .iter()
        .map(state)
        .collect();
    assert_eq!(
        finding_of(&findings, "TW-BASE-DENIED")["suppressed_by"],
        "bot-denials"
    );
    assert!(finding_of(&findings, "TW-IAM-004")["suppressed_by"].is_null());
    let incidents = cases_of(&harness, BOT, "incident").await;
    assert_eq!(
        incidents.len(),
        1,
        "a suppressed signal still counts toward the incident"
    );
    assert!(table.remove("bot-denials").await.expect("DeleteItem"));
    assert!(!table.remove("bot-denials").await.expect("DeleteItem"));
    harness.cleanup().await;
}

#[tokio::test]
async fn dynamodb_keeps_the_case_contract_through_its_indexes() {
    let Some(harness) = Harness::new("case_contract").await else {
        return;
    };
    trailwatch_shared::contract_cases::check_case_queries(&harness.detector().cases).await;
    harness.cleanup().await;
}

#[tokio::test]
async fn dynamodb_keeps_the_ingest_ledger_and_suppression_store_contracts() {
    let Some(harness) = Harness::new("ledger_contract").await else {
        return;
    };
    trailwatch_shared::contract_cases::check_ingest_ledger(&harness.ingest_ledger()).await;
    trailwatch_shared::contract_cases::check_suppression_store(&DynamoDbSuppressionStore::new(
        harness.dynamodb.clone(),
        harness.suppressions_table(),
    ))
    .await;
    harness.cleanup().await;
}
