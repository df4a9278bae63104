//! The collector function: an SQS batch of S3 notifications handed to
//! `trailwatch_shared::collect`, answered with the ids of exactly the notifications to retry
//! (`ReportBatchItemFailures`).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use trailwatch_shared::collect::{self, Collector};
// The SQS batch glue is the detector's: one way to read a batch and answer it.
use trailwatch_detector::{batch_response, incoming_messages, stop_by};
use trailwatch_shared::ports::{EventQueue, ObjectSource};

pub async fn handle<S: ObjectSource, Q: EventQueue, D: EventQueue>(
    collector: &Collector<'_, S, Q, D>,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    let stop_by = stop_by(&event.context);
    let messages = incoming_messages(event.payload);
    let report = collect::process_batch(collector, &messages, stop_by).await;
    tracing::info!(
        notifications = messages.len(),
        objects_read = report.objects_read,
        objects_skipped = report.objects_skipped,
        records = report.records,
        messages = report.messages,
        rejected = report.records_rejected,
        dead_lettered = report.dead_lettered,
        failed = report.failed_message_ids.len(),
        "batch done"
    );
    Ok(batch_response(report.failed_message_ids))
}
