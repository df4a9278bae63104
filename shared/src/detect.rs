//! The detector's work on one queue batch: parse each message on its own, detect, store
//! each anomaly once, and name exactly the messages that must be retried.

use chrono::{DateTime, Utc};

use crate::engine::Engine;
use crate::input::{self, BodyError, Problem};
use crate::ports::{AnomalyStore, ProfileStore, PutOutcome, StoreError};

/// A queue message as the detector receives it.
#[derive(Debug, Clone)]
pub struct IncomingMessage {
    pub message_id: String,
    pub body: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("the message has no body")]
    NoBody,
    #[error("{0}")]
    Unreadable(#[from] BodyError),
    #[error("invalid event: {}", describe(.0))]
    Invalid(Vec<Problem>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn describe(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// What one batch came to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchReport {
    pub events: usize,
    pub anomalies_written: usize,
    /// Anomalies already stored by an earlier delivery of the same event.
    pub duplicates: usize,
    /// Messages to retry (and, after the queue's limit, to dead-letter).
    pub failed_message_ids: Vec<String>,
}

/// The stores the detector works with.
pub struct Stores<'a, A, P> {
    pub anomalies: &'a A,
    pub profiles: &'a P,
}

pub async fn process_batch<A: AnomalyStore, P: ProfileStore>(
    engine: &Engine,
    stores: Stores<'_, A, P>,
    messages: &[IncomingMessage],
    now: DateTime<Utc>,
) -> BatchReport {
    let mut report = BatchReport::default();
    for message in messages {
        if let Err(error) = process_message(engine, &stores, message, now, &mut report).await {
            tracing::warn!(message_id = %message.message_id, %error, "message failed");
            report.failed_message_ids.push(message.message_id.clone());
        }
    }
    // Call counts are approximate by nature: a failed flush costs some counts, not events.
    if let Err(error) = stores.profiles.flush().await {
        tracing::warn!(%error, "profile counts not saved");
    }
    report
}

async fn process_message<A: AnomalyStore, P: ProfileStore>(
    engine: &Engine,
    stores: &Stores<'_, A, P>,
    message: &IncomingMessage,
    now: DateTime<Utc>,
    report: &mut BatchReport,
) -> Result<(), MessageError> {
    let body = message.body.as_deref().ok_or(MessageError::NoBody)?;
    let parsed = input::parse_body(body.as_bytes())?;
    // Validate the whole message before writing anything, so a bad record fails its
    // message without half of it having been stored.
    let mut events = Vec::with_capacity(parsed.len());
    let mut problems = Vec::new();
    for item in parsed {
        match item.outcome {
            Ok(event) => events.push(event),
            Err(more) => problems.extend(more),
        }
    }
    if !problems.is_empty() {
        return Err(MessageError::Invalid(problems));
    }
    for event in events {
        report.events += 1;
        let Some(anomaly) = engine.evaluate(&event, stores.profiles, now).await? else {
            continue;
        };
        match stores.anomalies.put_if_absent(&anomaly).await? {
            PutOutcome::Inserted => {
                report.anomalies_written += 1;
                tracing::info!(
                    event_id = %anomaly.event_id,
                    principal = %anomaly.principal,
                    action = %anomaly.action,
                    severity = %anomaly.severity,
                    score = anomaly.score,
                    reasons = ?anomaly.reasons,
                    "anomaly"
                );
            }
            PutOutcome::AlreadyPresent => report.duplicates += 1,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
