//! Messages that can never succeed go to their dead-letter queue at once, with the reason,
//! instead of being received five times first: no retries wasted, and the on-call engineer
//! reads why. Shared by the detector (poison events) and the collector (corrupt objects).

use crate::detect::IncomingMessage;
use crate::enqueue::enqueue;
use crate::ingest::{CALLER_ATTRIBUTE, ORIGIN_ATTRIBUTE};
use crate::ports::{EventQueue, OutgoingMessage};

/// The message attribute that says why a message was dead-lettered.
pub const ERROR_ATTRIBUTE: &str = "trailwatch-error";

/// A message to dead-letter, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub message_id: String,
    pub reason: String,
}

/// Sends each message to `queue` with its reason and its origin and caller attributes (so a
/// redrive back to the events queue cannot make a posted event look delivered by AWS).
/// Returns the ids that could not be sent, to be failed and left to the queue's own
/// redrive; with no queue configured, that is all of them.
pub async fn send_dead_letters<D: EventQueue>(
    queue: Option<&D>,
    messages: &[IncomingMessage],
    dead: &[DeadLetter],
) -> Vec<String> {
    let Some(queue) = queue else {
        return dead.iter().map(|dead| dead.message_id.clone()).collect();
    };
    let outgoing: Vec<OutgoingMessage> = dead
        .iter()
        .enumerate()
        .map(|(position, dead)| {
            let message = messages
                .iter()
                .find(|message| message.message_id == dead.message_id);
            let mut attributes = vec![(ERROR_ATTRIBUTE, bounded(&dead.reason))];
            if let Some(origin) = message.and_then(|message| message.origin.clone()) {
                attributes.push((ORIGIN_ATTRIBUTE, origin));
            }
            if let Some(caller) = message.and_then(|message| message.caller.clone()) {
                attributes.push((CALLER_ATTRIBUTE, caller));
            }
            OutgoingMessage {
                id: position.to_string(),
                body: message
                    .and_then(|message| message.body.clone())
                    .unwrap_or_default(),
                attributes,
            }
        })
        .collect();
    let failures = enqueue(queue, outgoing).await;
    let mut unsent = Vec::new();
    for (position, dead) in dead.iter().enumerate() {
        match failures
            .iter()
            .find(|failure| failure.id == position.to_string())
        {
            Some(failure) => {
                tracing::error!(message_id = %dead.message_id, reason = %dead.reason,
                    error = %failure.reason, "not dead-lettered: left to the queue's redrive");
                unsent.push(dead.message_id.clone());
            }
            None => {
                tracing::error!(message_id = %dead.message_id, reason = %dead.reason,
                    "dead-lettered");
            }
        }
    }
    unsent
}

/// The reason, short enough that body and attributes still fit in one message.
fn bounded(reason: &str) -> String {
    const MOST: usize = 512;
    if reason.len() <= MOST {
        return reason.to_string();
    }
    let mut end = MOST;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &reason[..end])
}
