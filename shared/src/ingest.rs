//! The ingest API, independent of how the request arrived (API Gateway HTTP or REST API,
//! function URL, local server): route, check, validate every event, enqueue the valid ones
//! packed many to a message, and say exactly what happened to each.

use serde::Serialize;
use serde_json::json;

mod window;

pub use window::{DEFAULT_MAX_AGE_DAYS, EventTimeWindow, MAX_AGE_DAYS_VARIABLE};

use crate::enqueue::enqueue;
use crate::input::{self, BodyError, Problem};
use crate::pack::Packer;
use crate::ports::{EventQueue, IngestLedger, OutgoingMessage, QueuedEvent};

/// Largest body we read; API Gateway and Lambda cap requests near 6 MB anyway.
pub const MAX_BODY_BYTES: usize = 5 * 1024 * 1024;
/// Most events one request may carry.
pub const MAX_EVENTS: usize = 500;
pub use crate::enqueue::{MAX_BATCH_ENTRIES, MAX_MESSAGE_BYTES, MAX_QUEUE_BODY_BYTES};

/// The message attribute that says which path put a message on the events queue: `ingest`
/// (this API) or `s3` (the collector). EventBridge's messages carry none.
pub const ORIGIN_ATTRIBUTE: &str = "trailwatch-origin";
/// The origins a message can say; EventBridge's messages say none and mean the last.
pub const FROM_INGEST: &str = "ingest";
pub const FROM_S3: &str = "s3";
pub const FROM_EVENTBRIDGE: &str = "eventbridge";
/// The message attribute naming who posted an event to the ingest API (the SigV4 caller's
/// ARN), so what a caller sends can be told apart from what AWS delivered.
pub const CALLER_ATTRIBUTE: &str = "trailwatch-caller";

pub struct IngestRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
    /// The SigV4 caller's ARN, where the API authorizes with IAM.
    pub caller: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IngestResponse {
    pub status: u16,
    /// The `Allow` header for a 405.
    pub allow: Option<&'static str>,
    pub body: serde_json::Value,
}

/// An event that was valid but is not on the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failed {
    pub index: usize,
    pub event_id: String,
    pub reason: String,
}

#[derive(Debug, Default, Serialize)]
pub struct IngestReport {
    /// Event ids now on the queue, in request order.
    pub accepted: Vec<String>,
    pub rejected: Vec<Problem>,
    pub failed: Vec<Failed>,
}

impl IngestReport {
    fn status(&self) -> u16 {
        if !self.failed.is_empty() {
            503
        } else if self.accepted.is_empty() {
            400
        } else {
            202
        }
    }
}

/// Handles one request to the ingest API, accepting events whose time is inside `window`.
pub async fn handle<Q: EventQueue>(
    queue: &Q,
    window: &EventTimeWindow,
    request: IngestRequest<'_>,
) -> IngestResponse {
    handle_noting(
        queue,
        &None::<crate::adapters::memory_ledger::MemoryIngestLedger>,
        window,
        request,
    )
    .await
}

/// [`handle`], noting each queued event in the ledger `GET /events/{id}` reads. A ledger
/// that cannot be written costs only that answer: the events are on the queue already.
pub async fn handle_noting<Q: EventQueue, L: IngestLedger>(
    queue: &Q,
    ledger: &L,
    window: &EventTimeWindow,
    request: IngestRequest<'_>,
) -> IngestResponse {
    if !is_ingest_path(request.path) {
        return error(
            404,
            format!("no route for {}; POST events to /ingest", request.path),
        );
    }
    if !request.method.eq_ignore_ascii_case("POST") {
        return IngestResponse {
            allow: Some("POST"),
            ..error(
                405,
                format!("{} is not allowed on /ingest; use POST", request.method),
            )
        };
    }
    if !request.content_type.is_some_and(is_json) {
        return error(
            415,
            format!(
                "Content-Type must be application/json, found {}",
                request.content_type.unwrap_or("none")
            ),
        );
    }
    if request.body.len() > MAX_BODY_BYTES {
        return error(
            413,
            format!(
                "the body is {} bytes; at most {MAX_BODY_BYTES} are accepted",
                request.body.len()
            ),
        );
    }
    // Count before building anything: a body of millions of tiny elements is refused
    // without the memory that building them would take.
    let census = match input::census(request.body, MAX_EVENTS) {
        Ok(census) => census,
        Err(body_error) => return rejected_body(&body_error),
    };
    if census.over(MAX_EVENTS) {
        if let Some((index, kind)) = census.first_non_object {
            return rejected_body(&BodyError::NotEvents(format!(
                "element {index} is {kind}, not an event object, and the body holds more than \
                 {MAX_EVENTS} elements"
            )));
        }
        return error(
            413,
            format!(
                "the body holds more than {MAX_EVENTS} events; at most {MAX_EVENTS} are accepted \
                 per request"
            ),
        );
    }
    let parsed = match input::parse_body(request.body) {
        Ok(parsed) => parsed,
        Err(body_error) => return rejected_body(&body_error),
    };

    let mut report = IngestReport::default();
    let packer = Packer::new(MAX_QUEUE_BODY_BYTES);
    // Each valid event with its text, to be packed many to a message.
    let mut valid = Vec::new();
    let now = chrono::Utc::now();
    for item in parsed {
        let problems = match item.outcome {
            Ok(event) => match admit(item.index, &event, window, now, &packer) {
                Ok(text) => {
                    let (stream, minute) = crate::detect::receipt_key(&event);
                    valid.push((
                        QueuedEvent {
                            event_id: event.event_id,
                            stream,
                            minute,
                            queued_at: now,
                        },
                        item.index,
                        text,
                    ));
                    continue;
                }
                Err(problem) => vec![problem],
            },
            Err(problems) => problems,
        };
        tracing::warn!(
            index = item.index,
            event_id = item.claimed_id.as_deref(),
            problems = %problems.iter().map(Problem::to_string).collect::<Vec<_>>().join("; "),
            "rejected input"
        );
        report.rejected.extend(problems);
    }

    let mut attributes = vec![(ORIGIN_ATTRIBUTE, FROM_INGEST.to_string())];
    if let Some(caller) = request.caller {
        attributes.push((CALLER_ATTRIBUTE, caller.to_string()));
    }
    let packed = packer.pack_all(
        valid
            .into_iter()
            .map(|(event, index, text)| ((event, index), text)),
    );
    let mut messages = Vec::with_capacity(packed.len());
    let mut members = Vec::with_capacity(packed.len());
    for (position, (body, events)) in packed.into_iter().enumerate() {
        messages.push(OutgoingMessage {
            id: message_id(position),
            body,
            attributes: attributes.clone(),
        });
        members.push(events);
    }
    let failures = enqueue(queue, messages).await;
    // A message's events share its fate; packs keep request order, and so does the answer.
    let mut queued = Vec::new();
    for (position, events) in members.into_iter().enumerate() {
        let failure = failures
            .iter()
            .find(|failure| failure.id == message_id(position));
        for (event, index) in events {
            match failure {
                Some(failure) => {
                    tracing::error!(event_id = %event.event_id, reason = %failure.reason, "event not enqueued");
                    report.failed.push(Failed {
                        index,
                        event_id: event.event_id,
                        reason: failure.reason.clone(),
                    });
                }
                None => {
                    report.accepted.push(event.event_id.clone());
                    queued.push(event);
                }
            }
        }
    }
    if let Err(error) = ledger.note_queued(&queued).await {
        tracing::warn!(%error, events = queued.len(), "queued events not noted in the ledger");
    }
    IngestResponse {
        status: report.status(),
        allow: None,
        body: serde_json::to_value(&report).unwrap_or_else(|_| json!({})),
    }
}

/// The event's text for a queue message, if its time is inside the window and it fits in one.
fn admit(
    index: usize,
    event: &crate::Event,
    window: &EventTimeWindow,
    now: chrono::DateTime<chrono::Utc>,
    packer: &Packer,
) -> Result<String, Problem> {
    if let Some(problem) = window.problem(event.event_time, now) {
        return Err(Problem {
            index,
            field: input::field_path(event, "EventTimestamp", "eventTime"),
            problem,
        });
    }
    let text = event.raw.value().to_string();
    match packer.refusal(index, text.len()) {
        Some(problem) => Err(problem),
        None => Ok(text),
    }
}

/// `/ingest`, also under a REST API stage (`/Prod/ingest`) or with a trailing slash.
fn is_ingest_path(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    path == "/ingest"
        || path
            .strip_suffix("/ingest")
            .is_some_and(|stage| stage.matches('/').count() == 1 && stage.len() > 1)
}

fn is_json(content_type: &str) -> bool {
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    media_type == "application/json" || media_type.ends_with("+json")
}

fn error(status: u16, message: String) -> IngestResponse {
    IngestResponse {
        status,
        allow: None,
        body: json!({ "error": message }),
    }
}

fn rejected_body(body_error: &BodyError) -> IngestResponse {
    let report = IngestReport {
        rejected: vec![Problem {
            index: 0,
            field: String::new(),
            problem: body_error.to_string(),
        }],
        ..IngestReport::default()
    };
    IngestResponse {
        status: 400,
        allow: None,
        body: serde_json::to_value(&report).unwrap_or_else(|_| json!({})),
    }
}

/// The batch entry id of the packed message at `position`: unique in the request, and of
/// the characters SQS allows.
fn message_id(position: usize) -> String {
    format!("m{position}")
}

#[cfg(test)]
mod tests;
