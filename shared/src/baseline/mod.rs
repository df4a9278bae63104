//! Per-principal baselines: what each identity normally does, learned as events arrive, and
//! the detections its departures make (first-seen API, network, region, user-agent family
//! and asset; call-volume spikes; access-denied bursts; new principals; instance credentials
//! used from a new network).

mod assess;
pub mod features;

use chrono::{DateTime, Duration, Utc};

pub use assess::assess;
pub use features::{Features, Kind};

/// The tuning knobs of the baselines.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineConfig {
    /// A principal is learning (first-seen values recorded, not reported) until it has this
    /// much history…
    pub learning_period: Duration,
    /// …and at least this many events.
    pub learning_min_events: u64,
    /// After the account's own learning period, a principal never seen before is reported.
    pub account_learning_period: Duration,
    /// An hour is a spike when it has more calls than this…
    pub volume_min_calls: u64,
    /// …and more than this many times the principal's typical active hour.
    pub volume_factor: f64,
    /// Access-denied errors within `denied_window` that make a burst.
    pub denied_burst: u32,
    pub denied_window: Duration,
    /// Most values a profile keeps per kind; the least recently seen go first.
    pub max_values_per_kind: usize,
    /// Hours of call-volume history kept.
    pub volume_history_hours: i64,
    /// Stored state expires this long after it was last seen.
    pub state_ttl: Duration,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        Self {
            learning_period: Duration::days(7),
            learning_min_events: 20,
            account_learning_period: Duration::days(7),
            volume_min_calls: 100,
            volume_factor: 5.0,
            denied_burst: 10,
            denied_window: Duration::minutes(5),
            max_values_per_kind: 500,
            volume_history_hours: 14 * 24,
            state_ttl: Duration::days(90),
        }
    }
}

/// What a profile store knew before an event, and what recording it changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    /// The principal's first event before this one; `None` for a principal never seen.
    pub first_seen: Option<DateTime<Utc>>,
    pub events_before: u64,
    /// Values this principal had never shown before this event. Each new value is reported
    /// to exactly one observer, however many record it at once.
    pub new_values: Vec<(Kind, String)>,
    /// Calls in this event's hour, this one included.
    pub hour_count: u64,
    /// The principal's mean calls per active hour before this hour; `None` without history.
    pub typical_hour: Option<f64>,
    /// Access-denied errors in the window ending with this event, this one included.
    pub denied_in_window: u32,
    /// The account's first event before this one.
    pub account_first_seen: Option<DateTime<Utc>>,
}

impl Observation {
    /// Whether the principal is still learning at `at`.
    pub fn learning(&self, at: DateTime<Utc>, config: &BaselineConfig) -> bool {
        match self.first_seen {
            None => true,
            Some(first) => {
                at - first < config.learning_period
                    || self.events_before < config.learning_min_events
            }
        }
    }
}

/// The hour an instant falls in, as hours since the epoch.
pub fn hour_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(3600)
}
