//! The detector's work on one queue batch: parse each message on its own, evaluate each
//! event once however it came and however often, store each anomaly once, and name exactly
//! the messages that must be retried.
//!
//! Each event is evaluated once: duplicates within a batch and events this warm instance
//! evaluated already are dropped in memory; events from the late paths (the trail's S3
//! record, the ingest API) are checked against the receipts of what was evaluated, which
//! every batch records (one write per batch and hour of event time, not per event). Events
//! that arrive by S3 only, in a stream EventBridge delivers in real time, are delivery gaps:
//! counted, and logged once a batch and stream.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::casebook::Triage;
use crate::dead_letter::DeadLetter;
use crate::engine::Engine;
use crate::event::Event;
use crate::incident::IncidentChange;
use crate::ingest::{FROM_EVENTBRIDGE, FROM_INGEST, FROM_S3};
use crate::input::{self, BodyError, Problem};
use crate::ports::{CaseStore, ProfileStore, PutOutcome, ReceiptStore, StoreError};

/// A queue message as the detector receives it.
#[derive(Debug, Clone, Default)]
pub struct IncomingMessage {
    pub message_id: String,
    pub body: Option<String>,
    /// The `trailwatch-origin` attribute: `s3` or `ingest`; none for EventBridge.
    pub origin: Option<String>,
    /// The `trailwatch-caller` attribute: who posted the event to the ingest API.
    pub caller: Option<String>,
}

impl IncomingMessage {
    /// Whether the message came by a path that may repeat what EventBridge delivered.
    fn is_late_path(&self) -> bool {
        self.origin.is_some()
    }

    /// `eventbridge`, `s3` or `ingest`.
    pub fn origin_name(&self) -> &str {
        self.origin.as_deref().unwrap_or(FROM_EVENTBRIDGE)
    }

    /// Someone posted it to the ingest API (rather than AWS delivering it).
    fn is_posted(&self) -> bool {
        self.origin.as_deref() == Some(FROM_INGEST)
    }

    fn is_from_s3(&self) -> bool {
        self.origin.as_deref() == Some(FROM_S3)
    }
}

/// The event ids a warm detector evaluated lately, bounded: the oldest are forgotten first.
#[derive(Debug)]
pub struct RecentEvents {
    capacity: usize,
    ids: Mutex<(HashSet<String>, VecDeque<String>)>,
}

impl RecentEvents {
    /// Remembers up to `capacity` ids (each held twice, in the set and in the order).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            ids: Mutex::new((HashSet::new(), VecDeque::new())),
        }
    }

    pub fn contains(&self, event_id: &str) -> bool {
        self.ids
            .lock()
            .map(|ids| ids.0.contains(event_id))
            .unwrap_or(false)
    }

    pub fn insert(&self, event_id: &str) {
        let Ok(mut guard) = self.ids.lock() else {
            return;
        };
        let (set, order) = &mut *guard;
        if set.insert(event_id.to_string()) {
            order.push_back(event_id.to_string());
            while order.len() > self.capacity {
                if let Some(oldest) = order.pop_front() {
                    set.remove(&oldest);
                }
            }
        }
    }
}

impl Default for RecentEvents {
    /// 100,000 ids: some megabytes, hours of a busy account's events.
    fn default() -> Self {
        Self::new(100_000)
    }
}

/// Minutes of event time one receipt item covers. An hour: a quiet account (a few events a
/// minute) writes one item per batch and hour instead of one per event, and a busy one's hour
/// (tens of thousands of ids) is still one query for a late path.
pub const RECEIPT_WINDOW_MINUTES: i64 = 60;

/// The receipts key of an event: its stream (account and region) and the first minute of its
/// receipt window.
pub fn receipt_key(event: &Event) -> (String, i64) {
    let stream = format!(
        "{}/{}",
        event.account_id.as_deref().unwrap_or("-"),
        event.region.as_deref().unwrap_or("-")
    );
    let minute = event.event_time.timestamp().div_euclid(60);
    (stream, minute - minute.rem_euclid(RECEIPT_WINDOW_MINUTES))
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
    /// The function's deadline is near: the rest of the message waits for a retry (what was
    /// evaluated is not evaluated again).
    #[error("the deadline is near: {0} events of the message left for a retry")]
    Deadline(usize),
}

impl MessageError {
    /// Whether no retry can help: the message itself is wrong, or the store refuses what it
    /// makes. Such a message is dead-lettered at once.
    pub fn is_permanent(&self) -> bool {
        match self {
            MessageError::NoBody | MessageError::Unreadable(_) | MessageError::Invalid(_) => true,
            MessageError::Store(error) => matches!(error, StoreError::Rejected(_)),
            MessageError::Deadline(_) => false,
        }
    }
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
    /// Findings events were counted into (one per detection of each new anomaly).
    pub findings_counted: usize,
    /// Incidents opened, and incidents that gained findings, tactics or severity.
    pub incidents_opened: usize,
    pub incidents_extended: usize,
    /// Events not evaluated because they were evaluated already (another path, a repeat).
    pub already_evaluated: usize,
    /// Events that arrived by S3 only, in a stream EventBridge delivers in real time.
    pub delivery_gaps: usize,
    /// Messages to retry (and, after the queue's limit, to dead-letter).
    pub failed_message_ids: Vec<String>,
    /// Messages no retry can help, with the reason: for the dead-letter queue at once.
    pub dead_letters: Vec<DeadLetter>,
}

/// The stores the detector works with, how it makes findings, and what its warm instance
/// remembers.
pub struct Stores<'a, C, P, R> {
    /// Anomalies, findings and incidents.
    pub cases: &'a C,
    /// How anomalies become findings: windows and the suppression rules in force.
    pub triage: &'a Triage,
    pub profiles: &'a P,
    pub receipts: &'a R,
    pub recent: &'a RecentEvents,
}

/// What one batch learns as it goes: receipts read, events evaluated.
#[derive(Default)]
struct BatchState {
    receipts: HashMap<(String, i64), HashSet<String>>,
    realtime_start: HashMap<String, Option<DateTime<Utc>>>,
    /// Evaluated in this batch, by receipt key: recorded at its end.
    evaluated: BTreeMap<(String, i64), Vec<String>>,
    /// The earliest real-time event of each stream in this batch.
    realtime: HashMap<String, DateTime<Utc>>,
    /// Delivery gaps by stream: one warning each at the batch's end, not one an event.
    gaps: BTreeMap<String, Gap>,
}

/// Events of one stream that arrived by S3 only, in one batch.
struct Gap {
    events: usize,
    first: (DateTime<Utc>, String),
    last: DateTime<Utc>,
}

/// How long before the function's deadline a batch stops starting messages: time for the one
/// under way, the receipts and the counts. Those not started are left to a retry.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(5);

/// Whether a batch that must be done by `stop_by` should start no more work.
pub fn time_is_up(stop_by: Option<Instant>) -> bool {
    stop_by.is_some_and(|deadline| Instant::now() + DEADLINE_MARGIN >= deadline)
}

/// Processes a batch; with `stop_by` (the function's deadline), messages not started in time
/// are reported failed, to be retried, rather than lost to a timeout with the whole batch.
pub async fn process_batch<C: CaseStore, P: ProfileStore, R: ReceiptStore>(
    engine: &Engine,
    stores: Stores<'_, C, P, R>,
    messages: &[IncomingMessage],
    now: DateTime<Utc>,
    stop_by: Option<Instant>,
) -> BatchReport {
    let mut report = BatchReport::default();
    let mut batch = BatchState::default();
    for (position, message) in messages.iter().enumerate() {
        if time_is_up(stop_by) {
            let left: Vec<String> = messages[position..]
                .iter()
                .map(|message| message.message_id.clone())
                .collect();
            tracing::warn!(
                left = left.len(),
                "deadline near: messages left for a retry"
            );
            report.failed_message_ids.extend(left);
            break;
        }
        let started = (message, stop_by);
        match process_message(engine, &stores, started, now, &mut report, &mut batch).await {
            Ok(()) => {}
            Err(error) if error.is_permanent() => report.dead_letters.push(DeadLetter {
                message_id: message.message_id.clone(),
                reason: error.to_string(),
            }),
            Err(error) => {
                tracing::warn!(message_id = %message.message_id, %error, "message failed; retried");
                report.failed_message_ids.push(message.message_id.clone());
            }
        }
    }
    // Receipts let a later path skip what this batch evaluated; a lost one costs a repeated
    // evaluation (the anomaly is still written once), never an event.
    for ((stream, minute), ids) in &batch.evaluated {
        if let Err(error) = stores.receipts.record(stream, *minute, ids).await {
            tracing::warn!(%error, %stream, minute, "receipts not saved");
        }
    }
    for (stream, gap) in &batch.gaps {
        tracing::warn!(
            %stream,
            events = gap.events,
            from = %gap.first.0,
            to = %gap.last,
            first_event_id = %gap.first.1,
            "delivery gap: events arrived by S3 only"
        );
    }
    for (stream, at) in &batch.realtime {
        if let Err(error) = stores.receipts.note_realtime(stream, *at).await {
            tracing::warn!(%error, %stream, "real-time delivery not noted");
        }
    }
    // Call counts are approximate by nature: a failed flush costs some counts, not events.
    if let Err(error) = stores.profiles.flush().await {
        tracing::warn!(%error, "profile counts not saved");
    }
    report
}

/// Whether the event was evaluated already: in this batch, by this instance, or (for the
/// late paths) by any detector, according to the receipts.
async fn evaluated_already<R: ReceiptStore>(
    receipts: &R,
    recent: &RecentEvents,
    batch: &mut BatchState,
    message: &IncomingMessage,
    event: &Event,
    key: &(String, i64),
) -> Result<bool, StoreError> {
    if recent.contains(&event.event_id) {
        return Ok(true);
    }
    if !message.is_late_path() {
        return Ok(false);
    }
    if !batch.receipts.contains_key(key) {
        let seen = receipts.evaluated(&key.0, key.1).await?;
        batch.receipts.insert(key.clone(), seen);
    }
    Ok(batch
        .receipts
        .get(key)
        .is_some_and(|seen| seen.contains(&event.event_id)))
}

async fn is_delivery_gap<R: ReceiptStore>(
    receipts: &R,
    batch: &mut BatchState,
    message: &IncomingMessage,
    event: &Event,
    stream: &str,
) -> Result<bool, StoreError> {
    if !message.is_from_s3() {
        return Ok(false);
    }
    let start = match batch.realtime_start.get(stream) {
        Some(start) => *start,
        None => {
            let start = receipts.realtime_start(stream).await?;
            batch.realtime_start.insert(stream.to_string(), start);
            start
        }
    };
    Ok(start.is_some_and(|since| event.event_time >= since))
}

/// Evaluates one message's events; a packed message holds hundreds, so the deadline
/// (`stop_by`) is checked before each one.
async fn process_message<C: CaseStore, P: ProfileStore, R: ReceiptStore>(
    engine: &Engine,
    stores: &Stores<'_, C, P, R>,
    (message, stop_by): (&IncomingMessage, Option<Instant>),
    now: DateTime<Utc>,
    report: &mut BatchReport,
    batch: &mut BatchState,
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
    let total = events.len();
    for (done, event) in events.into_iter().enumerate() {
        if time_is_up(stop_by) {
            return Err(MessageError::Deadline(total - done));
        }
        report.events += 1;
        let key = receipt_key(&event);
        if evaluated_already(stores.receipts, stores.recent, batch, message, &event, &key).await? {
            report.already_evaluated += 1;
            continue;
        }
        if is_delivery_gap(stores.receipts, batch, message, &event, &key.0).await? {
            report.delivery_gaps += 1;
            let at = event.event_time;
            let gap = batch.gaps.entry(key.0.clone()).or_insert_with(|| Gap {
                events: 0,
                first: (at, event.event_id.clone()),
                last: at,
            });
            gap.events += 1;
            if at < gap.first.0 {
                gap.first = (at, event.event_id.clone());
            }
            gap.last = gap.last.max(at);
        }
        // What AWS delivered teaches the baselines; what someone posted does only when the
        // caller is trusted for backfill.
        let learns = !message.is_posted()
            || message
                .caller
                .as_deref()
                .is_some_and(|caller| engine.baseline().trusts(caller));
        if let Some(mut anomaly) = engine
            .evaluate_with(&event, stores.profiles, now, learns)
            .await?
        {
            anomaly.origin = Some(message.origin_name().to_string());
            anomaly.caller = message.caller.clone();
            anomaly.raw_event = crate::anomaly::raw_event_text(event.record());
            let contributions = stores.triage.contributions(&event, &anomaly);
            anomaly.finding_ids = contributions
                .iter()
                .map(|contribution| contribution.finding_id.clone())
                .collect();
            match stores.cases.record(&anomaly, &contributions).await? {
                (PutOutcome::Inserted, recorded) => {
                    report.anomalies_written += 1;
                    report.findings_counted += recorded.findings.len();
                    for (incident, change) in &recorded.incidents {
                        match change {
                            IncidentChange::Opened => report.incidents_opened += 1,
                            IncidentChange::Extended => report.incidents_extended += 1,
                            IncidentChange::Updated => {}
                        }
                        if *change != IncidentChange::Updated {
                            tracing::info!(%incident, principal = %anomaly.principal, ?change, "incident");
                        }
                    }
                    tracing::info!(
                        event_id = %anomaly.event_id,
                        principal = %anomaly.principal,
                        action = %anomaly.action,
                        severity = %anomaly.severity,
                        score = anomaly.score,
                        reasons = ?anomaly.reasons,
                        origin = message.origin_name(),
                        caller = message.caller.as_deref(),
                        findings = ?recorded.findings,
                        suppressed_by = ?contributions.iter().filter_map(|c| c.suppressed_by.as_deref()).collect::<Vec<_>>(),
                        "anomaly"
                    );
                }
                (PutOutcome::AlreadyPresent, _) => report.duplicates += 1,
            }
        }
        // Evaluated and its anomaly stored: whatever happens to the rest of the message,
        // this event is not evaluated again. (Until here a retry evaluates it again, so an
        // anomaly is never lost to a failed write.)
        stores.recent.insert(&event.event_id);
        if !message.is_late_path() {
            let earliest = batch
                .realtime
                .entry(key.0.clone())
                .or_insert(event.event_time);
            *earliest = (*earliest).min(event.event_time);
        }
        batch
            .evaluated
            .entry(key)
            .or_default()
            .push(event.event_id.clone());
    }
    Ok(())
}

#[cfg(test)]
mod tests;
