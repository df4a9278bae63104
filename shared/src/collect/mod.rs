//! The collector: CloudTrail's own record of what happened, read from the trail's S3 bucket.
//! An object named by an S3 notification is streamed, gunzipped as it is read, each record
//! validated, and the records put on the events queue packed many to a message.

pub mod delivery;
pub mod keys;
pub mod notification;
mod split;

use tokio::sync::mpsc;

use crate::dead_letter::{DeadLetter, send_dead_letters};
use crate::enqueue::{MAX_QUEUE_BODY_BYTES, enqueue};
use crate::ingest::{FROM_S3, ORIGIN_ATTRIBUTE};
use crate::input::{self, Problem};
use crate::pack::Packer;
use crate::ports::{EventQueue, ObjectError, ObjectSource, OutgoingMessage, SendFailure};
use delivery::{DeliveryFileError, read_records};
use keys::TrailKey;
pub use notification::{Notification, ObjectRef};

/// The message attribute naming the object a packed message came from.
pub const OBJECT_ATTRIBUTE: &str = "trailwatch-object";
/// Packed bodies waiting for the queue while the file is read on: bounds memory.
const PACKS_IN_FLIGHT: usize = 2;

/// What became of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Collected {
    /// Its records are on the queue.
    Read(ObjectReport),
    /// Not a log file of API calls (a digest, Insights events, another service's logs).
    Skipped(&'static str),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectReport {
    /// Records read from the file.
    pub records: usize,
    /// Messages put on the queue.
    pub messages: usize,
    /// Records that are not valid events, each with its problems: logged, never queued.
    pub rejected: Vec<Problem>,
}

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error(transparent)]
    Open(#[from] ObjectError),
    #[error("{object}: {reason}")]
    Corrupt { object: String, reason: String },
    #[error("{object}: {} messages not put on the events queue: {}", .failures.len(), .failures.first().map(|f| f.reason.as_str()).unwrap_or_default())]
    Queue {
        object: String,
        failures: Vec<SendFailure>,
    },
    #[error("{object}: reading stopped unexpectedly: {reason}")]
    Interrupted { object: String, reason: String },
}

impl CollectError {
    /// Whether trying again cannot help (the object is gone or is not a delivery file): the
    /// notification is dead-lettered at once rather than retried.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            CollectError::Open(ObjectError::NotFound(_)) | CollectError::Corrupt { .. }
        )
    }
}

/// Reads one object and puts its records on the queue.
pub async fn collect_object<S: ObjectSource, Q: EventQueue>(
    source: &S,
    queue: &Q,
    object: &ObjectRef,
) -> Result<Collected, CollectError> {
    if let Some(reason) = TrailKey::of(&object.key).skip_reason() {
        return Ok(Collected::Skipped(reason));
    }
    let reader = source.open(&object.bucket, &object.key).await?;
    let bridge = tokio_util::io::SyncIoBridge::new(reader);
    let (packs, mut packed) = mpsc::channel::<String>(PACKS_IN_FLIGHT);
    // Reading and gunzipping are blocking work: on their own thread, handing packed bodies
    // over as they fill, so a file of any size takes a few bodies of memory.
    let reading = tokio::task::spawn_blocking(move || read_and_pack(bridge, &packs));

    let name = object.to_string();
    let mut messages = 0;
    let mut failures = Vec::new();
    while let Some(body) = packed.recv().await {
        let message = OutgoingMessage {
            id: format!("p{messages}"),
            body,
            attributes: vec![
                (ORIGIN_ATTRIBUTE, FROM_S3.to_string()),
                (OBJECT_ATTRIBUTE, name.clone()),
            ],
        };
        messages += 1;
        failures = enqueue(queue, vec![message]).await;
        if !failures.is_empty() {
            // Stop reading: the notification is retried and the file read again.
            drop(packed);
            break;
        }
    }
    let read = reading.await.map_err(|error| CollectError::Interrupted {
        object: name.clone(),
        reason: error.to_string(),
    })?;
    if !failures.is_empty() {
        return Err(CollectError::Queue {
            object: name,
            failures,
        });
    }
    let (records, rejected) = read.map_err(|error| match error {
        DeliveryFileError::Corrupt(reason) => CollectError::Corrupt {
            object: name.clone(),
            reason,
        },
        DeliveryFileError::Stopped(reason) => CollectError::Interrupted {
            object: name.clone(),
            reason,
        },
    })?;
    Ok(Collected::Read(ObjectReport {
        records,
        messages,
        rejected,
    }))
}

/// Reads the file's records, validates each, and sends packed bodies of the valid ones.
fn read_and_pack(
    reader: impl std::io::Read,
    packs: &mpsc::Sender<String>,
) -> Result<(usize, Vec<Problem>), DeliveryFileError> {
    let mut packer = Packer::new(MAX_QUEUE_BODY_BYTES);
    let mut rejected = Vec::new();
    let mut index = 0;
    let send = |body: String| {
        packs
            .blocking_send(body)
            .map_err(|_| "the events queue stopped taking messages".to_string())
    };
    let records = read_records(reader, |record| {
        let position = index;
        index += 1;
        let event = match input::parse_event(position, record) {
            Ok(event) => event,
            Err(problems) => {
                rejected.extend(problems);
                return Ok(());
            }
        };
        let text = event.raw.value().to_string();
        if let Some(problem) = packer.refusal(position, text.len()) {
            rejected.push(problem);
            return Ok(());
        }
        match packer.push(&text) {
            Some(body) => send(body),
            None => Ok(()),
        }
    })?;
    if let Some(body) = packer.finish() {
        send(body).map_err(DeliveryFileError::Stopped)?;
    }
    Ok((records, rejected))
}

#[cfg(test)]
mod tests;

pub use crate::dead_letter::ERROR_ATTRIBUTE;

/// Where the collector reads and writes.
pub struct Collector<'a, S, Q, D> {
    pub objects: &'a S,
    pub events: &'a Q,
    /// The notifications' own dead-letter queue, for those that can never succeed.
    pub dead_letters: &'a D,
}

/// What one batch of notifications came to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CollectReport {
    pub objects_read: usize,
    pub objects_skipped: usize,
    pub records: usize,
    pub messages: usize,
    pub records_rejected: usize,
    /// Notifications sent to the dead-letter queue at once (corrupt or missing objects,
    /// unreadable notifications).
    pub dead_lettered: usize,
    /// Notifications to retry.
    pub failed_message_ids: Vec<String>,
}

/// Handles one batch of S3 notifications: every object they name is read and queued, or
/// its notification fails alone, retried when that may help and dead-lettered at once when
/// it cannot. Near `stop_by` (the function's deadline) no new notification is started.
pub async fn process_batch<S: ObjectSource, Q: EventQueue, D: EventQueue>(
    collector: &Collector<'_, S, Q, D>,
    messages: &[crate::detect::IncomingMessage],
    stop_by: Option<std::time::Instant>,
) -> CollectReport {
    let mut report = CollectReport::default();
    let mut dead = Vec::new();
    for (position, message) in messages.iter().enumerate() {
        if crate::detect::time_is_up(stop_by) {
            let left = messages[position..]
                .iter()
                .map(|message| message.message_id.clone());
            report.failed_message_ids.extend(left);
            tracing::warn!("deadline near: notifications left for a retry");
            break;
        }
        let outcome = match message.body.as_deref() {
            None => Err(Failure::Permanent("the message has no body".to_string())),
            Some(body) => process_notification(collector, body, &mut report).await,
        };
        let reason = match outcome {
            Ok(()) => continue,
            Err(Failure::Retry(reason)) => {
                tracing::warn!(message_id = %message.message_id, %reason, "notification failed; retried");
                report.failed_message_ids.push(message.message_id.clone());
                continue;
            }
            Err(Failure::Permanent(reason)) => reason,
        };
        dead.push(DeadLetter {
            message_id: message.message_id.clone(),
            reason,
        });
    }
    let unsent = send_dead_letters(Some(collector.dead_letters), messages, &dead).await;
    report.dead_lettered = dead.len() - unsent.len();
    report.failed_message_ids.extend(unsent);
    report
}

enum Failure {
    Retry(String),
    Permanent(String),
}

async fn process_notification<S: ObjectSource, Q: EventQueue, D: EventQueue>(
    collector: &Collector<'_, S, Q, D>,
    body: &str,
    report: &mut CollectReport,
) -> Result<(), Failure> {
    let objects = match notification::parse(body) {
        Ok(Notification::Created(objects)) => objects,
        Ok(Notification::Test) => {
            tracing::info!("S3 test notification: the bucket reaches the collector");
            return Ok(());
        }
        Err(error) => return Err(Failure::Permanent(error.to_string())),
    };
    for object in &objects {
        match collect_object(collector.objects, collector.events, object).await {
            Ok(Collected::Read(read)) => {
                for problem in &read.rejected {
                    tracing::warn!(%object, %problem, "rejected record");
                }
                tracing::info!(
                    %object,
                    records = read.records,
                    messages = read.messages,
                    rejected = read.rejected.len(),
                    "object collected"
                );
                report.objects_read += 1;
                report.records += read.records;
                report.messages += read.messages;
                report.records_rejected += read.rejected.len();
            }
            Ok(Collected::Skipped(reason)) => {
                tracing::info!(%object, reason, "object skipped");
                report.objects_skipped += 1;
            }
            Err(error) if error.is_permanent() => {
                return Err(Failure::Permanent(error.to_string()));
            }
            Err(error) => return Err(Failure::Retry(error.to_string())),
        }
    }
    Ok(())
}
