//! The publisher function: a batch of the cases table's stream records handed to
//! `trailwatch_shared::publish`, answered with the record to resume from when one failed
//! (`ReportBatchItemFailures`).

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use lambda_runtime::{Error, LambdaEvent};
use trailwatch_shared::adapters::dynamodb_cases::case_from_image;
use trailwatch_shared::alert::{AlertPolicy, CaseChange};
use trailwatch_shared::ports::AlertSink;
use trailwatch_shared::publish::{ChangeRecord, publish_changes};

pub async fn handle<S: AlertSink>(
    sink: &S,
    policy: &AlertPolicy,
    event: LambdaEvent<Event>,
) -> Result<DynamoDbEventResponse, Error> {
    let records: Vec<ChangeRecord> = event
        .payload
        .records
        .into_iter()
        .map(change_record)
        .collect();
    let report = publish_changes(&records, sink, policy).await;
    tracing::info!(
        records = records.len(),
        changes = report.changes,
        alerts = report.alerts_published,
        failed_at = report.failed_at.as_deref().unwrap_or(""),
        "batch done"
    );
    let mut response = DynamoDbEventResponse::default();
    if let Some(sequence_number) = report.failed_at {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(sequence_number);
        response.batch_item_failures.push(failure);
    }
    Ok(response)
}

/// A stream record as the domain reads it.
pub fn change_record(record: EventRecord) -> ChangeRecord {
    let sequence_number = record.change.sequence_number.clone().unwrap_or_default();
    let change = case_from_image(record.change.old_image)
        .and_then(|before| Ok((before, case_from_image(record.change.new_image)?)))
        .map(|(before, after)| CaseChange { before, after })
        .map_err(|error| error.to_string());
    ChangeRecord {
        sequence_number,
        change,
    }
}
