use serde_json::{Value, json};

use super::*;
use crate::adapters::memory_cases::{MemoryCaseStore, MemorySuppressionStore};
use crate::adapters::memory_ledger::MemoryIngestLedger;
use crate::adapters::memory_receipts::MemoryReceiptStore;
use crate::casebook::Triage;
use crate::engine::Engine;
use crate::incident::IncidentSettings;
use crate::ports::QueuedEvent;

const BOT: &str = "arn:aws:iam::111122223333:user/build-bot";

#[derive(Default)]
struct Stores {
    cases: MemoryCaseStore,
    suppressions: MemorySuppressionStore,
    ledger: MemoryIngestLedger,
    receipts: MemoryReceiptStore,
}

impl Stores {
    fn api(
        &self,
    ) -> QueryApi<
        '_,
        MemoryCaseStore,
        MemoryCaseStore,
        MemorySuppressionStore,
        MemoryIngestLedger,
        MemoryReceiptStore,
    > {
        QueryApi {
            cases: &self.cases,
            anomalies: &self.cases,
            suppressions: &self.suppressions,
            ledger: &self.ledger,
            receipts: &self.receipts,
        }
    }

    async fn call(&self, method: &str, path: &str, body: &str) -> ApiResponse {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let query = query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                (name.to_string(), value.to_string())
            })
            .collect();
        self.api()
            .handle(ApiRequest {
                method,
                path,
                query,
                body: body.as_bytes(),
                caller: Some("arn:aws:iam::111122223333:user/alice"),
            })
            .await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self.call("GET", path, "").await;
        (response.status, response.body)
    }
}

fn record(id: &str, minute: u32, source: &str, name: &str, parameters: Value) -> Value {
    json!({
        "eventVersion": "1.10", "eventID": id, "requestID": format!("req-{id}"),
        "eventTime": format!("2026-11-30T10:{minute:02}:00Z"),
        "eventSource": format!("{source}.amazonaws.com"), "eventName": name,
        "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.10",
        "userAgent": "python-requests/2.32.3", "recipientAccountId": "111122223333",
        "userIdentity": {"type": "IAMUser", "arn": BOT, "accountId": "111122223333",
                         "principalId": "AIDABOT", "accessKeyId": "AKIABOT"},
        "requestParameters": parameters
    })
}

/// The detector's path, in memory: each record evaluated by the rules and recorded with
/// its contributions, its raw record and its findings.
async fn detect(stores: &Stores, records: &[Value]) {
    let engine = Engine::default();
    let triage = Triage::default();
    let body = serde_json::to_vec(&json!({ "Records": records })).unwrap();
    for parsed in crate::input::parse_body(&body).unwrap() {
        let event = parsed.outcome.expect("a valid record");
        let mut anomaly = engine
            .evaluate_rules(&event, event.event_time)
            .expect("an anomaly");
        anomaly.raw_event = crate::anomaly::raw_event_text(event.record());
        let contributions = triage.contributions(&event, &anomaly);
        anomaly.finding_ids = contributions.iter().map(|c| c.finding_id.clone()).collect();
        stores.cases.record(&anomaly, &contributions).await.unwrap();
    }
}

fn attack() -> Vec<Value> {
    vec![
        record(
            "e-admin",
            0,
            "iam",
            "AttachUserPolicy",
            json!({"userName": "build-bot", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        ),
        record(
            "e-stop",
            5,
            "cloudtrail",
            "StopLogging",
            json!({"name": "management"}),
        ),
    ]
}

async fn attacked() -> Stores {
    let stores = Stores {
        cases: MemoryCaseStore::new(IncidentSettings::default()),
        ..Stores::default()
    };
    detect(&stores, &attack()).await;
    stores
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn findings_are_listed_newest_first_filtered_and_paged() {
    let stores = attacked().await;
    let (status, page) = stores.get("/findings").await;
    assert_eq!(status, 200);
    let items = page["items"].as_array().unwrap();
    assert!(items.len() >= 2, "{page}");
    let last_seen: Vec<&str> = items
        .iter()
        .map(|f| f["last_seen"].as_str().unwrap())
        .collect();
    let mut sorted = last_seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(last_seen, sorted, "newest first");

    let (_, stopped) = stores.get("/findings?detection=TW-CLOUDTRAIL-001").await;
    assert_eq!(stopped["items"].as_array().unwrap().len(), 1, "{stopped}");
    let (_, none) = stores.get("/findings?principal=someone-else").await;
    assert_eq!(none["items"], json!([]));

    let (_, first) = stores.get("/findings?limit=1").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    let next = first["next"].as_str().expect("a cursor");
    let (_, second) = stores.get(&format!("/findings?limit=1&next={next}")).await;
    assert_ne!(ids(&first), ids(&second));
}

#[tokio::test]
async fn a_bad_parameter_is_a_400_that_names_it() {
    let stores = attacked().await;
    for (path, parameter) in [
        ("/findings?limit=500", "limit"),
        ("/findings?min_severity=urgent", "min_severity"),
        ("/findings?since=yesterday", "since"),
        ("/findings?status=closed", "status"),
        ("/findings?next=forged", "next"),
        ("/findings?colour=red", "query"),
        ("/incidents?detection=TW-IAM-004", "detection"),
        ("/findings/F-1?verbose=1", "verbose"),
    ] {
        let (status, body) = stores.get(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"]["parameter"], parameter, "{path}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().len() > 10);
    }
}

#[tokio::test]
async fn a_finding_shows_its_anomalies_and_their_raw_events() {
    let stores = attacked().await;
    let (_, page) = stores.get("/findings?detection=TW-CLOUDTRAIL-001").await;
    let id = ids(&page).remove(0);
    let (status, body) = stores.get(&format!("/findings/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(body["finding"]["id"], id.as_str());
    let anomalies = body["anomalies"].as_array().unwrap();
    assert_eq!(anomalies.len(), 1);
    assert_eq!(anomalies[0]["event_id"], "e-stop");
    assert_eq!(anomalies[0]["event"]["eventName"], "StopLogging");
    assert_eq!(
        anomalies[0]["event"]["requestParameters"]["name"],
        "management"
    );
    assert_eq!(anomalies[0].get("raw_event"), None);

    let (status, body) = stores.get("/findings/F-0000000000000000").await;
    assert_eq!(status, 404);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("F-0000000000000000")
    );
}

#[tokio::test]
async fn an_incident_is_listed_and_shown_with_its_findings() {
    let stores = attacked().await;
    let (status, page) = stores.get("/incidents?min_severity=high").await;
    assert_eq!(status, 200);
    let incident_ids = ids(&page);
    assert_eq!(incident_ids.len(), 1, "{page}");
    let (status, body) = stores.get(&format!("/incidents/{}", incident_ids[0])).await;
    assert_eq!(status, 200);
    assert_eq!(body["incident"]["principal"], BOT);
    let findings: Vec<&str> = body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["detection"]["id"].as_str().unwrap())
        .collect();
    assert!(findings.contains(&"TW-CLOUDTRAIL-001"), "{findings:?}");
    assert_eq!(stores.get("/incidents/I-nope").await.0, 404);
}

#[tokio::test]
async fn a_status_set_keeps_who_when_and_why() {
    let stores = attacked().await;
    let (_, page) = stores.get("/findings?detection=TW-CLOUDTRAIL-001").await;
    let id = ids(&page).remove(0);
    let path = format!("/findings/{id}");
    let response = stores
        .call(
            "PATCH",
            &path,
            r#"{"status": "acknowledged", "note": "on it"}"#,
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.body["status"], "acknowledged");
    assert_eq!(
        response.body["status_change"]["by"],
        "arn:aws:iam::111122223333:user/alice"
    );
    assert_eq!(response.body["status_change"]["note"], "on it");
    let (_, acknowledged) = stores.get("/findings?status=acknowledged").await;
    assert_eq!(ids(&acknowledged), std::slice::from_ref(&id));

    for (body, parameter) in [
        (r#"{"status": "closed"}"#, "status"),
        (r#"{"state": "resolved"}"#, "body"),
        ("not json", "body"),
    ] {
        let response = stores.call("PATCH", &path, body).await;
        assert_eq!(response.status, 400, "{body}");
        assert_eq!(response.body["error"]["parameter"], parameter, "{body}");
    }
    let missing = stores
        .call("PATCH", "/findings/F-nope", r#"{"status": "resolved"}"#)
        .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn suppressions_are_added_listed_and_removed_and_a_bad_rule_is_refused_by_field() {
    let stores = attacked().await;
    let rule = r#"{"id": "ci-deploys", "principal": "arn:aws:iam::*:role/ci-*", "reason": "CI deploys", "detection": "TW-IAM-006"}"#;
    let added = stores.call("POST", "/suppressions", rule).await;
    assert_eq!(added.status, 201, "{}", added.body);
    let (_, listed) = stores.get("/suppressions").await;
    assert_eq!(listed["items"][0]["id"], "ci-deploys");

    for (body, field) in [
        (r#"{"id": "x", "detection": "TW-IAM-006"}"#, "reason"),
        (
            r#"{"id": "x", "reason": "r", "network": "10.0.0.0/33"}"#,
            "network",
        ),
        (r#"{"id": "x", "reason": "r", "colour": "red"}"#, "body"),
    ] {
        let refused = stores.call("POST", "/suppressions", body).await;
        assert_eq!(refused.status, 400, "{body}: {}", refused.body);
        assert_eq!(
            refused.body["error"]["parameter"], field,
            "{body}: {}",
            refused.body
        );
    }

    assert_eq!(
        stores
            .call("DELETE", "/suppressions/ci-deploys", "")
            .await
            .status,
        200
    );
    assert_eq!(
        stores
            .call("DELETE", "/suppressions/ci-deploys", "")
            .await
            .status,
        404
    );
    let (_, listed) = stores.get("/suppressions").await;
    assert_eq!(listed["items"], json!([]));
}

#[tokio::test]
async fn an_event_says_whether_it_is_queued_evaluated_or_an_anomaly() {
    let stores = attacked().await;
    let (status, body) = stores.get("/events/e-stop").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "anomaly");
    assert_eq!(body["anomaly"]["event"]["eventName"], "StopLogging");
    assert!(!body["findings"].as_array().unwrap().is_empty());

    let queued = |id: &str| QueuedEvent {
        event_id: id.into(),
        stream: "111122223333/us-east-1".into(),
        minute: 29_410_000,
        queued_at: Utc::now(),
    };
    stores
        .ledger
        .note_queued(&[queued("e-quiet"), queued("e-waiting")])
        .await
        .unwrap();
    stores
        .receipts
        .record(
            "111122223333/us-east-1",
            29_410_000,
            &["e-quiet".to_string()],
        )
        .await
        .unwrap();
    assert_eq!(stores.get("/events/e-quiet").await.1["status"], "evaluated");
    assert_eq!(stores.get("/events/e-waiting").await.1["status"], "queued");
    let (status, body) = stores.get("/events/e-never").await;
    assert_eq!(status, 404);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("e-never")
    );
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_with_allow() {
    let stores = attacked().await;
    assert_eq!(stores.get("/nowhere").await.0, 404);
    assert_eq!(stores.get("/findings/a/b").await.0, 404);
    let response = stores.call("DELETE", "/findings/F-1", "").await;
    assert_eq!(response.status, 405);
    assert_eq!(response.allow.as_deref(), Some("GET, PATCH"));
    assert_eq!(response.body["error"]["status"], 405);
    // A stage prefix (REST API) is dropped.
    assert_eq!(stores.get("/prod/findings").await.0, 200);
}

/// `openapi.yaml`, the document users read.
fn document() -> Value {
    serde_norway::from_str(include_str!("../../../openapi.yaml")).expect("openapi.yaml parses")
}

/// Follows a `$ref` within the document.
fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let mut target = document;
            for part in reference.trim_start_matches("#/").split('/') {
                target = &target[part];
            }
            resolve(document, target)
        }
        None => value,
    }
}

/// Where `value` breaks `schema` (the JSON Schema the document uses: type, enum, required,
/// properties, additionalProperties false, items, minimum/maximum, maxItems), by path.
fn violations(document: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    let schema = resolve(document, schema);
    let mut found = Vec::new();
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let kind = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let admitted = types.contains(&kind) || (kind == "integer" && types.contains(&"number"));
        if !admitted {
            return vec![format!("{at}: {kind}, documented {types:?}")];
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        found.push(format!("{at}: {value} not in {allowed:?}"));
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(required) {
                found.push(format!("{at}: missing {required}"));
            }
        }
        for (name, item) in object {
            match properties.and_then(|properties| properties.get(name)) {
                Some(property) => found.extend(violations(
                    document,
                    property,
                    item,
                    &format!("{at}.{name}"),
                )),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    found.push(format!("{at}.{name}: not documented"))
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (index, item) in array.iter().enumerate() {
            found.extend(violations(document, items, item, &format!("{at}[{index}]")));
        }
        if let Some(most) = schema.get("maxItems").and_then(Value::as_u64)
            && array.len() as u64 > most
        {
            found.push(format!("{at}: {} items, at most {most}", array.len()));
        }
    }
    found
}

#[test]
fn the_document_lists_exactly_the_routes_the_api_serves() {
    let document = document();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in ["get", "post", "patch", "delete", "put"] {
            if item.get(method).is_some() {
                documented.push((path.clone(), method.to_uppercase()));
            }
        }
    }
    documented.sort();
    let mut served: Vec<(String, String)> = ROUTES
        .iter()
        .flat_map(|(path, methods)| methods.iter().map(|m| (path.to_string(), m.to_string())))
        .collect();
    served.sort();
    assert_eq!(documented, served);
}

#[tokio::test]
async fn every_answer_is_documented_for_its_operation_and_matches_its_schema() {
    let document = document();
    let stores = attacked().await;
    let (_, page) = stores.get("/findings?detection=TW-CLOUDTRAIL-001").await;
    let finding = ids(&page).remove(0);
    let (_, page) = stores.get("/incidents").await;
    let incident = ids(&page).remove(0);
    let rule = r#"{"id": "ci", "principal": "arn:aws:iam::*:role/ci", "reason": "CI"}"#;
    let calls: Vec<(&str, String, &str)> = vec![
        ("GET", "/findings".into(), ""),
        ("GET", "/findings?limit=1&min_severity=high&status=open&since=2026-11-01&until=2026-12-31T00:00:00Z&principal=x&detection=y".into(), ""),
        ("GET", "/findings?limit=0".into(), ""),
        ("PUT", "/findings".into(), ""),
        ("GET", format!("/findings/{finding}"), ""),
        ("GET", "/findings/F-none".into(), ""),
        ("PATCH", format!("/findings/{finding}"), r#"{"status": "resolved", "note": "rotated the key"}"#),
        ("PATCH", format!("/findings/{finding}"), r#"{"status": "done"}"#),
        ("PATCH", "/findings/F-none".into(), r#"{"status": "resolved"}"#),
        ("GET", "/incidents".into(), ""),
        ("GET", "/incidents?status=open".into(), ""),
        ("GET", format!("/incidents/{incident}"), ""),
        ("GET", "/incidents/I-none".into(), ""),
        ("POST", "/suppressions".into(), rule),
        ("POST", "/suppressions".into(), r#"{"id": "bad"}"#),
        ("GET", "/suppressions".into(), ""),
        ("DELETE", "/suppressions/ci".into(), ""),
        ("DELETE", "/suppressions/ci".into(), ""),
        ("GET", "/events/e-stop".into(), ""),
        ("GET", "/events/e-none".into(), ""),
        ("POST", "/events/e-stop".into(), ""),
    ];
    let mut exercised = std::collections::BTreeSet::new();
    for (method, path, body) in &calls {
        let response = stores.call(method, path, body).await;
        let (route, _) = route_of(path.split('?').next().unwrap()).unwrap();
        let item = &document["paths"][route];
        // A method the path does not take: the document lists the ones it does (Allow).
        let operation = match item.get(method.to_lowercase()) {
            Some(operation) => operation,
            None => {
                assert_eq!(response.status, 405, "{method} {path}");
                let any = ["get", "post", "patch", "delete"]
                    .iter()
                    .find_map(|m| item.get(*m))
                    .unwrap();
                assert!(any["responses"].get("405").is_some());
                continue;
            }
        };
        exercised.insert((route, *method));
        let status = response.status.to_string();
        let documented = operation["responses"]
            .get(&status)
            .unwrap_or_else(|| panic!("{method} {path}: {status} is not documented"));
        let schema = &resolve(&document, documented)["content"]["application/json"]["schema"];
        let broken = violations(&document, schema, &response.body, "body");
        assert!(broken.is_empty(), "{method} {path} ({status}): {broken:#?}");
    }
    // The ingest operation, answered by the ingest function's handler.
    let body = serde_json::to_string(&attack()).unwrap();
    for (method, content_type, expected) in [
        ("POST", "application/json", 202),
        ("GET", "application/json", 405),
        ("POST", "text/plain", 415),
    ] {
        let ingest = crate::ingest::handle(
            &crate::adapters::memory::MemoryQueue::default(),
            &crate::ingest::EventTimeWindow::widest(),
            crate::ingest::IngestRequest {
                method,
                path: "/ingest",
                content_type: Some(content_type),
                body: body.as_bytes(),
                caller: None,
            },
        )
        .await;
        assert_eq!(ingest.status, expected);
        let documented = &document["paths"]["/ingest"]["post"]["responses"][expected.to_string()];
        let schema = &resolve(&document, documented)["content"]["application/json"]["schema"];
        let broken = violations(&document, schema, &ingest.body, "body");
        assert!(
            broken.is_empty(),
            "{method} /ingest ({expected}): {broken:#?}"
        );
    }
    for (route, methods) in ROUTES.iter().filter(|(route, _)| *route != "/ingest") {
        for method in *methods {
            assert!(
                exercised.contains(&(*route, *method)),
                "{method} {route} untested"
            );
        }
    }
}

#[test]
fn the_schema_check_finds_what_is_wrong() {
    let document = document();
    let page = json!({"$ref": "#/components/schemas/FindingPage"});
    let broken = violations(
        &document,
        &page,
        &json!({"items": [{"id": 7, "severity": "severe"}]}),
        "body",
    );
    for expected in [
        "body: missing next",
        "body.items[0].id: integer",
        "body.items[0].severity",
    ] {
        assert!(
            broken.iter().any(|v| v.starts_with(expected)),
            "{expected}: {broken:?}"
        );
    }
    let rule = json!({"$ref": "#/components/schemas/SuppressionRule"});
    let extra = violations(
        &document,
        &rule,
        &json!({"id": "a", "reason": "r", "colour": 1}),
        "b",
    );
    assert_eq!(extra, ["b.colour: not documented"]);
}
