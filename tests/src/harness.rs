//! What every end-to-end test starts from: SDK clients for the local endpoint and a private
//! copy of the template's resources.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_config::SdkConfig;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage, SqsMessageAttribute};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use lambda_runtime::{Context, LambdaEvent};
use trailwatch_shared::Engine;
use trailwatch_shared::adapters::dynamodb::DynamoDbAnomalyStore;
use trailwatch_shared::adapters::dynamodb_cases::{DynamoDbCaseStore, Retention};
use trailwatch_shared::adapters::dynamodb_ledger::DynamoDbIngestLedger;
use trailwatch_shared::adapters::dynamodb_profiles::DynamoDbProfileStore;
use trailwatch_shared::adapters::dynamodb_receipts::DynamoDbReceiptStore;
use trailwatch_shared::adapters::dynamodb_suppressions::DynamoDbSuppressionStore;
use trailwatch_shared::adapters::s3::S3ObjectSource;
use trailwatch_shared::adapters::sqs::SqsEventQueue;
use trailwatch_shared::api::QueryApi;
use trailwatch_shared::casebook::Triage;
use trailwatch_shared::collect::Collector;
use trailwatch_shared::detect::{RecentEvents, Stores};
use trailwatch_shared::incident::IncidentSettings;
use trailwatch_shared::ingest::EventTimeWindow;

use crate::Error;
use crate::resources::LocalResources;
use crate::template::Template;

/// Set to `1` to skip the tests that need a local endpoint when there is none; each skip is
/// then written to the terminal, past the test harness's output capture.
pub const SKIP_ENDPOINT_TESTS: &str = "TRAILWATCH_SKIP_ENDPOINT_TESTS";

pub struct Harness {
    pub config: SdkConfig,
    pub sqs: aws_sdk_sqs::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub resources: LocalResources,
    /// The name prefix of this test's resources.
    pub prefix: String,
}

impl Harness {
    /// A harness with its own queues and tables on the local endpoint, or `None` when the
    /// endpoint is missing and skipping was asked for (see [`local_endpoint`]).
    pub async fn new(test: &str) -> Option<Harness> {
        let config = local_endpoint(test).await?;
        let harness = Self::create(config, test)
            .await
            .unwrap_or_else(|error| panic!("setting up {test}: {error}"));
        Some(harness)
    }

    async fn create(config: SdkConfig, test: &str) -> Result<Harness, Error> {
        let prefix = unique_prefix(test);
        let resources = LocalResources::create(&config, &Template::load()?, &prefix).await?;
        Ok(Harness {
            prefix,
            sqs: aws_sdk_sqs::Client::new(&config),
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            s3: aws_sdk_s3::Client::new(&config),
            config,
            resources,
        })
    }

    pub fn events_queue_url(&self) -> &str {
        &self.resources.queue("EventsQueue").url
    }

    pub fn dead_letter_queue_url(&self) -> &str {
        &self.resources.queue("EventsDeadLetterQueue").url
    }

    pub fn anomalies_table(&self) -> &str {
        self.resources.table("AnomaliesTable")
    }

    pub fn profiles_table(&self) -> &str {
        self.resources.table("ProfilesTable")
    }

    pub fn cases_table(&self) -> &str {
        self.resources.table("CasesTable")
    }

    pub fn suppressions_table(&self) -> &str {
        self.resources.table("SuppressionsTable")
    }

    pub async fn cleanup(self) {
        self.resources.delete(&self.config).await;
    }
}

/// The SDK's configuration for the local endpoint; never real AWS. Without
/// `AWS_ENDPOINT_URL` the test fails, naming what it needs, unless [`SKIP_ENDPOINT_TESTS`]
/// is `1`: then the skip is written to the terminal and the test gets `None`, so a run
/// without an endpoint never looks like a run that tested it.
pub async fn local_endpoint(test: &str) -> Option<SdkConfig> {
    if std::env::var_os("AWS_ENDPOINT_URL").is_some() {
        return Some(aws_config::load_from_env().await);
    }
    if std::env::var(SKIP_ENDPOINT_TESTS).as_deref() == Ok("1") {
        skipped(
            test,
            &format!("no AWS_ENDPOINT_URL and {SKIP_ENDPOINT_TESTS}=1"),
        );
        return None;
    }
    panic!(
        "{test} needs a local AWS endpoint and AWS_ENDPOINT_URL is not set: run scripts/test \
         (it starts one), or set {SKIP_ENDPOINT_TESTS}=1 to skip the tests that need it"
    )
}

/// Says on the terminal that a test skipped its work and why. Written straight to stderr:
/// `eprintln!` is captured by the test harness and hidden when the test passes.
pub fn skipped(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// Queue and table names unique to this test and run, within SQS's 80 characters.
fn unique_prefix(test: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or_default();
    let short: String = test
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(24)
        .collect();
    format!(
        "tw-{short}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl Harness {
    /// Sends a request through the ingest function's handler, wired to the real queue.
    pub async fn ingest(&self, request: lambda_http::Request) -> (u16, serde_json::Value) {
        let queue = SqsEventQueue::new(self.sqs.clone(), self.events_queue_url());
        let response = trailwatch_ingest::handle(
            &queue,
            &self.ingest_ledger(),
            &EventTimeWindow::widest(),
            request,
        )
        .await
        .expect("the ingest handler answers every request");
        let status = response.status().as_u16();
        let body = serde_json::from_slice(response.body().as_ref()).expect("a JSON answer");
        (status, body)
    }

    /// The ledger of posted events, as the ingest and query functions build it.
    pub fn ingest_ledger(&self) -> DynamoDbIngestLedger {
        DynamoDbIngestLedger::new(
            self.dynamodb.clone(),
            self.resources.table("IngestedEventsTable"),
            chrono::Duration::hours(24),
        )
    }

    /// Sends a request through the query function's handler, wired to the real tables.
    pub async fn query(&self, request: lambda_http::Request) -> (u16, serde_json::Value) {
        let cases = DynamoDbCaseStore::new(
            self.dynamodb.clone(),
            self.anomalies_table(),
            self.cases_table(),
            IncidentSettings::default(),
            Retention::default(),
        );
        let anomalies = DynamoDbAnomalyStore::new(self.dynamodb.clone(), self.anomalies_table());
        let suppressions =
            DynamoDbSuppressionStore::new(self.dynamodb.clone(), self.suppressions_table());
        let ledger = self.ingest_ledger();
        let receipts = DynamoDbReceiptStore::new(self.dynamodb.clone(), self.profiles_table());
        let api = QueryApi {
            cases: &cases,
            anomalies: &anomalies,
            suppressions: &suppressions,
            ledger: &ledger,
            receipts: &receipts,
        };
        let response = trailwatch_query::handle(&api, request)
            .await
            .expect("the query handler answers every request");
        let status = response.status().as_u16();
        let body = serde_json::from_slice(response.body().as_ref()).expect("a JSON answer");
        (status, body)
    }

    /// Receives until `expected` messages have arrived, or three polls in a row find none.
    pub async fn receive(&self, queue_url: &str, expected: usize) -> Vec<Message> {
        let mut messages = Vec::new();
        let mut empty_polls = 0;
        // Local endpoints answer fast; three empty polls in a row mean nothing more is coming.
        while messages.len() < expected && empty_polls < 3 {
            let output = self
                .sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .message_attribute_names("All")
                .send()
                .await
                .expect("ReceiveMessage");
            let received = output.messages.unwrap_or_default();
            empty_polls = if received.is_empty() {
                empty_polls + 1
            } else {
                0
            };
            messages.extend(received);
        }
        messages
    }

    /// Runs the detector function's handler on messages as Lambda's SQS poller hands them
    /// over, with the real anomalies table.
    pub async fn detect(&self, messages: &[Message]) -> SqsBatchResponse {
        self.detect_with(&self.detector(), messages).await
    }

    /// A detector as the function's `main` builds it: its own stores and caches, as one warm
    /// Lambda instance has.
    pub fn detector(&self) -> Detector {
        self.detector_with(Triage::default())
    }

    /// The triage of a detector that has read the suppressions table, as the function's
    /// does once a minute.
    pub async fn triage_with_table_suppressions(&self) -> Triage {
        let table = DynamoDbSuppressionStore::new(self.dynamodb.clone(), self.suppressions_table());
        let live = trailwatch_shared::suppress::LiveSuppressions::new(
            trailwatch_shared::suppress::Suppressions::default(),
            std::time::Duration::from_secs(60),
        );
        Triage {
            suppressions: live.current(Some(&table)).await,
            ..Triage::default()
        }
    }

    /// A detector with these windows and suppression rules.
    pub fn detector_with(&self, triage: Triage) -> Detector {
        Detector {
            engine: Engine::default(),
            cases: DynamoDbCaseStore::new(
                self.dynamodb.clone(),
                self.anomalies_table(),
                self.cases_table(),
                IncidentSettings::default(),
                Retention::default(),
            ),
            triage,
            profiles: DynamoDbProfileStore::new(self.dynamodb.clone(), self.profiles_table()),
            receipts: DynamoDbReceiptStore::new(self.dynamodb.clone(), self.profiles_table()),
            recent: RecentEvents::default(),
        }
    }

    /// Runs one detector instance's handler on a batch.
    pub async fn detect_with(&self, detector: &Detector, messages: &[Message]) -> SqsBatchResponse {
        let event = LambdaEvent::new(sqs_event(messages), Context::default());
        let stores = Stores {
            cases: &detector.cases,
            triage: &detector.triage,
            profiles: &detector.profiles,
            receipts: &detector.receipts,
            recent: &detector.recent,
        };
        let dead_letters = SqsEventQueue::new(self.sqs.clone(), self.dead_letter_queue_url());
        trailwatch_detector::handle(&detector.engine, stores, Some(&dead_letters), event)
            .await
            .expect("the detector handler answers every batch")
    }

    /// Runs the collector function's handler on notifications, with the real bucket, events
    /// queue and notifications' dead-letter queue.
    pub async fn collect(&self, messages: &[Message]) -> SqsBatchResponse {
        let objects = S3ObjectSource::new(self.s3.clone());
        let events = SqsEventQueue::new(self.sqs.clone(), self.events_queue_url());
        let dead_letters = SqsEventQueue::new(
            self.sqs.clone(),
            &self.resources.queue("TrailObjectsDeadLetterQueue").url,
        );
        let collector = Collector {
            objects: &objects,
            events: &events,
            dead_letters: &dead_letters,
        };
        let event = LambdaEvent::new(sqs_event(messages), Context::default());
        trailwatch_collector::handle(&collector, event)
            .await
            .expect("the collector handler answers every batch")
    }

    /// The anomaly item stored for an event, as DynamoDB holds it.
    pub async fn anomaly_item(&self, event_id: &str) -> Option<HashMap<String, AttributeValue>> {
        self.dynamodb
            .get_item()
            .table_name(self.anomalies_table())
            .key("pk", AttributeValue::S(event_id.to_string()))
            .consistent_read(true)
            .send()
            .await
            .expect("GetItem")
            .item
    }

    /// Checks the anomalies `events/cloudtrail-delivery.json` must make: its root console
    /// login and its StopLogging.
    pub async fn assert_sample_delivery_anomalies(&self) {
        let root_login = self
            .anomaly_item("5b0c1e0a-1111-4e6f-8a9b-000000000002")
            .await
            .expect("the root console login is an anomaly");
        assert_eq!(
            text(&root_login, "role_id"),
            "arn:aws:iam::111122223333:root"
        );
        let stop = self
            .anomaly_item("5b0c1e0a-1111-4e6f-8a9b-000000000005")
            .await
            .expect("StopLogging is an anomaly");
        assert_eq!(text(&stop, "event_type"), "cloudtrail:StopLogging");
    }

    pub async fn anomaly_count(&self) -> usize {
        self.dynamodb
            .scan()
            .table_name(self.anomalies_table())
            .send()
            .await
            .expect("Scan")
            .items
            .unwrap_or_default()
            .len()
    }

    pub async fn send_raw(&self, body: &str) {
        self.sqs
            .send_message()
            .queue_url(self.events_queue_url())
            .message_body(body)
            .send()
            .await
            .expect("SendMessage");
    }
}

/// What one warm detector Lambda instance holds.
pub struct Detector {
    pub engine: Engine,
    pub cases: DynamoDbCaseStore,
    pub triage: Triage,
    pub profiles: DynamoDbProfileStore,
    pub receipts: DynamoDbReceiptStore,
    pub recent: RecentEvents,
}

/// SQS messages as the Lambda event source mapping delivers them.
pub fn sqs_event(messages: &[Message]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages
        .iter()
        .map(|message| {
            let mut record = SqsMessage::default();
            record.message_id = message.message_id.clone();
            record.receipt_handle = message.receipt_handle.clone();
            record.body = message.body.clone();
            record.message_attributes = message
                .message_attributes
                .iter()
                .flatten()
                .map(|(name, value)| {
                    let mut attribute = SqsMessageAttribute::default();
                    attribute.string_value = value.string_value.clone();
                    attribute.data_type = Some(value.data_type.clone());
                    (name.clone(), attribute)
                })
                .collect();
            record.event_source = Some("aws:sqs".to_string());
            record
        })
        .collect();
    event
}

/// An API Gateway HTTP API (payload 2.0) request to POST /ingest with this body, built from
/// `events/apigw-http-ingest.json`.
pub fn http_api_request(body: &str) -> lambda_http::Request {
    let mut event: serde_json::Value =
        serde_json::from_str(include_str!("../../events/apigw-http-ingest.json"))
            .expect("sample event");
    event["body"] = serde_json::Value::String(body.to_string());
    lambda_http::request::from_str(&event.to_string()).expect("an API Gateway request")
}

/// A string attribute of an item.
pub fn text(item: &HashMap<String, AttributeValue>, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(text)) => text.clone(),
        other => panic!("{name} is not a string attribute: {other:?}"),
    }
}

/// An API Gateway HTTP API (payload 2.0) request for the query API, signed by `caller`.
pub fn api_request(
    method: &str,
    path_and_query: &str,
    body: &str,
    caller: &str,
) -> lambda_http::Request {
    let mut event: serde_json::Value =
        serde_json::from_str(include_str!("../../events/apigw-http-ingest.json"))
            .expect("sample event");
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let parameters: serde_json::Map<String, serde_json::Value> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (
                name.to_string(),
                serde_json::Value::String(value.to_string()),
            )
        })
        .collect();
    event["rawPath"] = path.into();
    event["rawQueryString"] = query.into();
    event["routeKey"] = format!("ANY {path}").into();
    event["requestContext"]["http"]["method"] = method.into();
    event["requestContext"]["http"]["path"] = path.into();
    event["requestContext"]["authorizer"]["iam"]["userArn"] = caller.into();
    if !parameters.is_empty() {
        event["queryStringParameters"] = parameters.into();
    }
    event["body"] = body.into();
    lambda_http::request::from_str(&event.to_string()).expect("an API Gateway request")
}
