//! The detector function: an SQS batch handed to `trailwatch_shared::detect`, answered with
//! the ids of exactly the messages to retry (`ReportBatchItemFailures`); messages no retry can
//! help go to the dead-letter queue at once, with the reason.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use std::time::{Instant, SystemTime};

use lambda_runtime::{Context, Error, LambdaEvent};
use trailwatch_shared::Engine;
use trailwatch_shared::adapters::usage::Usage;
use trailwatch_shared::dead_letter::send_dead_letters;
use trailwatch_shared::detect::{self, IncomingMessage, Stores};
use trailwatch_shared::ingest::{CALLER_ATTRIBUTE, ORIGIN_ATTRIBUTE};
use trailwatch_shared::ports::{CaseStore, EventQueue, ProfileStore, ReceiptStore};
use trailwatch_shared::suppress::{SuppressionError, Suppressions};

/// Handles one batch. Without a dead-letter queue (`None`), messages that can never succeed
/// are failed like the rest and reach the queue's dead-letter queue by its redrive policy.
pub async fn handle<C: CaseStore, P: ProfileStore, R: ReceiptStore, D: EventQueue>(
    engine: &Engine,
    stores: Stores<'_, C, P, R>,
    dead_letters: Option<&D>,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    let stop_by = stop_by(&event.context);
    let messages = incoming_messages(event.payload);
    let mut report =
        detect::process_batch(engine, stores, &messages, chrono::Utc::now(), stop_by).await;
    let unsent = send_dead_letters(dead_letters, &messages, &report.dead_letters).await;
    let dead_lettered = report.dead_letters.len() - unsent.len();
    report.failed_message_ids.extend(unsent);
    tracing::info!(
        messages = messages.len(),
        events = report.events,
        anomalies = report.anomalies_written,
        duplicates = report.duplicates,
        findings_counted = report.findings_counted,
        incidents_opened = report.incidents_opened,
        incidents_extended = report.incidents_extended,
        already_evaluated = report.already_evaluated,
        delivery_gaps = report.delivery_gaps,
        dead_lettered,
        failed = report.failed_message_ids.len(),
        "batch done"
    );
    Ok(batch_response(report.failed_message_ids))
}

/// The suppression rules compiled into the function (`suppressions.yaml` beside its crate).
pub const PACKAGED_SUPPRESSIONS: &str = include_str!("../suppressions.yaml");

/// The packaged rules, checked.
pub fn packaged_suppressions() -> Result<Suppressions, SuppressionError> {
    Suppressions::parse(PACKAGED_SUPPRESSIONS)
}

/// The invocation's deadline as an instant; none when the context has none (a test's).
pub fn stop_by(context: &Context) -> Option<Instant> {
    if context.deadline == 0 {
        return None;
    }
    let left = context
        .deadline()
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    Some(Instant::now() + left)
}

/// Counts what Lambda's poller asked of SQS for a batch: its receive, billed by the bytes of
/// the messages' bodies, its delete, and the messages it handed over.
pub fn meter_polled_batch(usage: &Usage, event: &SqsEvent) {
    let payload_bytes = event
        .records
        .iter()
        .map(|message| message.body.as_deref().map_or(0, str::len))
        .sum();
    usage.add_polled_batch(payload_bytes, event.records.len());
}

/// The messages of an SQS batch as the domain reads them.
pub fn incoming_messages(event: SqsEvent) -> Vec<IncomingMessage> {
    event
        .records
        .into_iter()
        .map(|record| {
            let attribute = |name: &str| {
                record
                    .message_attributes
                    .get(name)
                    .and_then(|attribute| attribute.string_value.clone())
            };
            IncomingMessage {
                origin: attribute(ORIGIN_ATTRIBUTE),
                caller: attribute(CALLER_ATTRIBUTE),
                message_id: record.message_id.unwrap_or_default(),
                body: record.body,
            }
        })
        .collect()
}

/// The answer that makes Lambda retry exactly these messages.
pub fn batch_response(failed_message_ids: Vec<String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for message_id in failed_message_ids {
        response.add_failure(message_id);
    }
    response
}
