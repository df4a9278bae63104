//! The narrow interfaces the domain needs from the outside world. AWS adapters and local
//! adapters implement the same traits and pass the same contract tests.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::anomaly::Anomaly;
use crate::baseline::{BaselineConfig, Features, Observation, Tallied, Tally};
use crate::casebook::Recorded;
use crate::finding::{Contribution, Finding};
use crate::incident::Incident;
use crate::query::{CaseFilter, Page, QueryError, StatusChange};
use crate::suppress::SuppressionRule;

/// One message for the events queue, named by an id unique within its batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub id: String,
    pub body: String,
    /// String message attributes (name, value).
    pub attributes: Vec<(&'static str, String)>,
}

impl OutgoingMessage {
    /// What the message counts for against SQS's size limits: its body, and each
    /// attribute's name, type (`String`) and value.
    pub fn size(&self) -> usize {
        self.body.len()
            + self
                .attributes
                .iter()
                .map(|(name, value)| name.len() + "String".len() + value.len())
                .sum::<usize>()
    }
}

/// A message of a batch that the queue did not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFailure {
    pub id: String,
    pub reason: String,
    /// False when the message itself is at fault and sending it again cannot succeed.
    pub retryable: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The whole batch call failed (network, throttling, permissions).
    #[error("sending to the events queue failed: {0}")]
    Send(String),
}

/// Where the ingest API puts events for the detector.
pub trait EventQueue: Send + Sync {
    /// Sends up to ten messages in one call; returns the ones that were not taken.
    fn send_batch(
        &self,
        messages: &[OutgoingMessage],
    ) -> impl Future<Output = Result<Vec<SendFailure>, QueueError>> + Send;
}

/// Whether a conditional put wrote the anomaly or found it already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    Inserted,
    /// An anomaly for this event exists already: a redelivered message, not an error.
    AlreadyPresent,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the anomaly store request failed: {0}")]
    Request(String),
    /// The store refuses what it was given and always will (DynamoDB's
    /// `ValidationException`: a key or item over its limits): retrying cannot help.
    #[error("the store refuses the item: {0}")]
    Rejected(String),
    #[error("the anomaly store holds an item it cannot read: {0}")]
    Corrupt(String),
}

/// Where anomalies are kept, one per event.
pub trait AnomalyStore: Send + Sync {
    /// Writes the anomaly unless one for the same event exists.
    fn put_if_absent(
        &self,
        anomaly: &Anomaly,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + Send;

    fn get(
        &self,
        event_id: &str,
    ) -> impl Future<Output = Result<Option<Anomaly>, StoreError>> + Send;
}

/// Where anomalies, the findings they make and the incidents those make are kept.
pub trait CaseStore: Send + Sync {
    /// Writes the anomaly unless one for the same event exists and, in the same atomic step,
    /// counts its contributions into their findings and their subjects' trails, opening or
    /// extending incidents: a redelivered event changes nothing
    /// ([`PutOutcome::AlreadyPresent`], nothing recorded).
    fn record(
        &self,
        anomaly: &Anomaly,
        contributions: &[Contribution],
    ) -> impl Future<Output = Result<(PutOutcome, Recorded), StoreError>> + Send;

    fn finding(&self, id: &str)
    -> impl Future<Output = Result<Option<Finding>, StoreError>> + Send;

    fn incident(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Incident>, StoreError>> + Send;
}

/// Findings and incidents read back, newest first, a page at a time; and a finding's status
/// set by a person.
pub trait CaseQueries: Send + Sync {
    fn findings(
        &self,
        filter: &CaseFilter,
    ) -> impl Future<Output = Result<Page<Finding>, QueryError>> + Send;

    fn incidents(
        &self,
        filter: &CaseFilter,
    ) -> impl Future<Output = Result<Page<Incident>, QueryError>> + Send;

    /// Sets a finding's status; the finding as it is now, or `None` when there is none.
    fn set_status(
        &self,
        id: &str,
        change: &StatusChange,
    ) -> impl Future<Output = Result<Option<Finding>, StoreError>> + Send;
}

/// Where suppression rules made at run time are kept (the packaged file's are read apart).
pub trait SuppressionStore: Send + Sync {
    /// Every rule, checked or not: the caller compiles them and reports bad ones.
    fn rules(&self) -> impl Future<Output = Result<Vec<SuppressionRule>, StoreError>> + Send;

    /// Adds a rule, or replaces the rule of the same id.
    fn put(&self, rule: &SuppressionRule) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes a rule; whether there was one.
    fn remove(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Where per-principal baselines live.
pub trait ProfileStore: Send + Sync {
    /// Records one event of a principal and says what the profile knew before it. Each new
    /// value is reported as new to exactly one caller, however many record it at once.
    fn observe(
        &self,
        features: &Features,
        at: DateTime<Utc>,
        config: &BaselineConfig,
    ) -> impl Future<Output = Result<Observation, StoreError>> + Send;

    /// Counts an event toward a threshold rule's window and says whether it reports the
    /// window. Distinct values are counted once however often they come; a call redelivered
    /// after a failure may be counted twice (counts err toward reporting).
    fn tally(
        &self,
        tally: &Tally,
        at: DateTime<Utc>,
        config: &BaselineConfig,
    ) -> impl Future<Output = Result<Tallied, StoreError>> + Send;

    /// Writes counts gathered in memory since the last flush (once a batch, not once an
    /// event).
    fn flush(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Why an object could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectError {
    /// Gone (deleted, or never there): asking again will not help.
    #[error("{0} does not exist")]
    NotFound(String),
    #[error("reading {object} failed: {reason}")]
    Read { object: String, reason: String },
}

/// Where CloudTrail's delivery files are read from (S3, or memory in tests).
pub trait ObjectSource: Send + Sync {
    type Reader: tokio::io::AsyncRead + Send + Unpin + 'static;

    /// Opens an object to stream its bytes.
    fn open(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Self::Reader, ObjectError>> + Send;
}

/// Which events were evaluated already, so an event that arrives again by a later path (the
/// trail's S3 record after EventBridge, a re-posted backfill, a file S3 delivered twice)
/// changes nothing. Receipts are kept per stream (account and region) and window of event
/// time (named by its first minute, see `detect::receipt_key`), one item per batch and
/// window, not one write per event.
pub trait ReceiptStore: Send + Sync {
    /// The event ids evaluated so far in one stream's window (named by its first minute).
    fn evaluated(
        &self,
        stream: &str,
        minute: i64,
    ) -> impl Future<Output = Result<std::collections::HashSet<String>, StoreError>> + Send;

    /// Records that these events of one stream's window were evaluated.
    fn record(
        &self,
        stream: &str,
        minute: i64,
        event_ids: &[String],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Notes that the stream is delivered in real time (by EventBridge) at `at`.
    fn note_realtime(
        &self,
        stream: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Since when the stream is delivered in real time (the earliest time noted), if it is.
    fn realtime_start(
        &self,
        stream: &str,
    ) -> impl Future<Output = Result<Option<DateTime<Utc>>, StoreError>> + Send;
}

/// Why an alert was not published; the publisher tries again, under the same alert id.
#[derive(Debug, thiserror::Error)]
#[error("publishing alert {alert_id} to {target} failed: {reason}")]
pub struct AlertError {
    pub alert_id: String,
    /// The topic or event bus.
    pub target: String,
    pub reason: String,
}

/// Where alerts go: an SNS topic and an EventBridge bus, or memory in tests.
pub trait AlertSink: Send + Sync {
    fn publish(
        &self,
        alert: &crate::alert::Alert,
    ) -> impl Future<Output = Result<(), AlertError>> + Send;

    /// Imports a finding an alert was published for where findings are kept beside others'
    /// (Security Hub); nothing by default.
    fn import_finding(
        &self,
        _finding: &Finding,
    ) -> impl Future<Output = Result<(), AlertError>> + Send {
        async { Ok(()) }
    }
}

/// An event the ingest API put on the queue: where its receipt will be once evaluated.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QueuedEvent {
    pub event_id: String,
    /// The receipts' stream (account and region) and window (its first minute) of the event.
    pub stream: String,
    pub minute: i64,
    pub queued_at: DateTime<Utc>,
}

/// What the ingest API queued, kept a while so `GET /events/{id}` can say what became of it.
pub trait IngestLedger: Send + Sync {
    fn note_queued(
        &self,
        events: &[QueuedEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn queued(
        &self,
        event_id: &str,
    ) -> impl Future<Output = Result<Option<QueuedEvent>, StoreError>> + Send;
}

/// No ledger (the bookkeeping turned off): nothing noted, nothing known.
impl<L: IngestLedger> IngestLedger for Option<L> {
    async fn note_queued(&self, events: &[QueuedEvent]) -> Result<(), StoreError> {
        match self {
            Some(ledger) => ledger.note_queued(events).await,
            None => Ok(()),
        }
    }

    async fn queued(&self, event_id: &str) -> Result<Option<QueuedEvent>, StoreError> {
        match self {
            Some(ledger) => ledger.queued(event_id).await,
            None => Ok(None),
        }
    }
}
