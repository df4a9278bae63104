//! Per-principal baselines: what each identity normally does, learned as events arrive, and
//! the detections its departures make (first-seen API, network, region, user-agent family
//! and asset; call-volume spikes; access-denied bursts; new principals; instance credentials
//! used from a new network).

mod assess;
pub mod features;
pub mod tally;

use chrono::{DateTime, Duration, Utc};

pub use assess::assess;
pub use features::{Features, Kind};
pub use tally::{Tallied, Tally};

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
    /// Callers of the ingest API whose posted events teach the baselines (backfill jobs):
    /// role ARNs (`arn:aws:iam::…:role/Name`, matching any session of the role) or IAM user
    /// ARNs. Everyone else's posted events are assessed but teach nothing.
    pub trusted_backfill_roles: Vec<String>,
    /// Whether calls AWS services make (`AWSService`, `invokedBy`, service-linked roles) are
    /// judged against their baselines like anyone's: first-seen values, access-denied bursts,
    /// volume spikes. Off by default; they still learn, and the rules still judge them.
    pub judge_aws_services: bool,
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
            trusted_backfill_roles: Vec::new(),
            judge_aws_services: false,
        }
    }
}

/// The settings a user may change, by the names the CLI's flags and the detector's
/// `TRAILWATCH_*` environment variables use.
pub const SETTINGS: [(&str, &str); 9] = [
    (
        "learning_days",
        "days of history before a principal's first-seen values are reported",
    ),
    (
        "learning_min_events",
        "events a principal needs before its first-seen values are reported",
    ),
    (
        "account_learning_days",
        "days after the account's first event before new principals are reported",
    ),
    (
        "volume_min_calls",
        "calls in an hour below which no hour is a spike",
    ),
    (
        "volume_factor",
        "how many times its typical hour an hour must be to be a spike",
    ),
    (
        "denied_burst",
        "access-denied errors within the window that make a burst",
    ),
    (
        "denied_window_minutes",
        "the window of an access-denied burst",
    ),
    (
        "state_ttl_days",
        "days after they were last seen that remembered values expire",
    ),
    (
        "trusted_backfill_roles",
        "comma-separated role or user ARNs whose events posted to the ingest API teach the baselines",
    ),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} must be {expected}, found {value:?}")]
pub struct SettingError {
    pub name: String,
    pub expected: &'static str,
    pub value: String,
}

impl BaselineConfig {
    /// Whether events this caller posted teach the baselines: it is a trusted role (any of
    /// its sessions) or user.
    pub fn trusts(&self, caller: &str) -> bool {
        let role = crate::input::role_arn_of_session(caller);
        self.trusted_backfill_roles
            .iter()
            .any(|trusted| trusted == caller || role.as_deref() == Some(trusted.as_str()))
    }

    /// The defaults with each setting `lookup` knows replaced; `lookup` is given the names
    /// in [`SETTINGS`] and `name_of` says how to name one in an error.
    pub fn with_settings(
        lookup: impl Fn(&str) -> Option<String>,
        name_of: impl Fn(&str) -> String,
    ) -> Result<Self, SettingError> {
        let mut config = Self::default();
        let whole = |key: &str| -> Result<Option<u64>, SettingError> {
            lookup(key)
                .map(|value| {
                    value.trim().parse::<u64>().map_err(|_| SettingError {
                        name: name_of(key),
                        expected: "a whole number",
                        value,
                    })
                })
                .transpose()
        };
        if let Some(days) = whole("learning_days")? {
            config.learning_period = Duration::days(days as i64);
        }
        if let Some(events) = whole("learning_min_events")? {
            config.learning_min_events = events;
        }
        if let Some(days) = whole("account_learning_days")? {
            config.account_learning_period = Duration::days(days as i64);
        }
        if let Some(calls) = whole("volume_min_calls")? {
            config.volume_min_calls = calls;
        }
        if let Some(value) = lookup("volume_factor") {
            config.volume_factor = value
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|factor| *factor >= 1.0 && factor.is_finite())
                .ok_or_else(|| SettingError {
                    name: name_of("volume_factor"),
                    expected: "a number of at least 1",
                    value,
                })?;
        }
        if let Some(burst) = whole("denied_burst")? {
            config.denied_burst = burst.max(1) as u32;
        }
        if let Some(minutes) = whole("denied_window_minutes")? {
            config.denied_window = Duration::minutes(minutes as i64);
        }
        if let Some(roles) = lookup("trusted_backfill_roles") {
            config.trusted_backfill_roles = roles
                .split(',')
                .map(str::trim)
                .filter(|role| !role.is_empty())
                .map(str::to_string)
                .collect();
        }
        if let Some(value) = lookup("judge_aws_services") {
            config.judge_aws_services = match value.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => true,
                "false" | "no" | "0" => false,
                _ => {
                    return Err(SettingError {
                        name: name_of("judge_aws_services"),
                        expected: "true or false",
                        value,
                    });
                }
            };
        }
        if let Some(days) = whole("state_ttl_days")? {
            config.state_ttl = Duration::days(days.max(1) as i64);
        }
        Ok(config)
    }

    /// The defaults with `TRAILWATCH_<SETTING>` environment variables applied.
    pub fn from_env() -> Result<Self, SettingError> {
        Self::with_settings(
            |key| std::env::var(setting_variable(key)).ok(),
            setting_variable,
        )
    }
}

/// The environment variable of a setting: `TRAILWATCH_<SETTING>`.
pub fn setting_variable(key: &str) -> String {
    format!("TRAILWATCH_{}", key.to_ascii_uppercase())
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
    /// Access-denied errors in the window ending with this event, this one included, each
    /// event counted once however often it is delivered.
    pub denied_in_window: u32,
    /// This event reports the principal's access-denied burst: the count reached the
    /// threshold (`>=`) and this event is the one that reports this window, every time it is
    /// processed (a retry reports again; another event of the window does not).
    pub denied_burst: bool,
    /// This event reports the principal's call-volume spike for its hour, likewise.
    pub volume_spike: bool,
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

/// Which kind of count a report marker is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Report {
    DeniedBurst,
    VolumeSpike,
    /// A threshold rule's window (the store keys it by rule and group).
    Threshold,
}

impl Report {
    /// Whether a report in the window before stands for this one too: a burst that goes on
    /// across a window's edge is one burst (a spike is reported once an hour).
    pub fn continues_across_windows(self) -> bool {
        matches!(self, Report::DeniedBurst | Report::Threshold)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Report::DeniedBurst => "denied",
            Report::VolumeSpike => "volume",
            Report::Threshold => "threshold",
        }
    }
}

/// The window a burst at `at` is reported for: bursts are reported once per window length.
pub fn denied_report_window(at: DateTime<Utc>, config: &BaselineConfig) -> i64 {
    at.timestamp()
        .div_euclid(config.denied_window.num_seconds().max(1))
}

/// Whether an hour's count is a spike against the principal's typical hour.
pub fn is_volume_spike(
    hour_count: u64,
    typical_hour: Option<f64>,
    config: &BaselineConfig,
) -> bool {
    typical_hour.is_some_and(|typical| {
        hour_count as f64 > (config.volume_factor * typical).max(config.volume_min_calls as f64)
    })
}

/// A principal's calls per hour (hours since the epoch), at most the history window's
/// worth, and the typical hour before the one last counted. Working that out walks the
/// window, and calls within one hour (most of them) do not change it: it is kept until a
/// call in another hour, or the window's oldest hour dropped.
#[derive(Debug, Default, Clone)]
pub struct CallHours {
    hours: std::collections::BTreeMap<i64, u64>,
    typical_before: Option<(i64, Option<f64>)>,
}

impl CallHours {
    /// Counts one call in its hour; returns the hour's count, this call included, and the
    /// mean count of the earlier active hours within the history window (`None` without any).
    pub fn count(&mut self, at: DateTime<Utc>, config: &BaselineConfig) -> (u64, Option<f64>) {
        let hour = hour_of(at);
        let typical = match self.typical_before {
            Some((before, typical)) if before == hour => typical,
            _ => {
                let typical = typical_hour(&self.hours, hour, config);
                self.typical_before = Some((hour, typical));
                typical
            }
        };
        let calls = self.hours.entry(hour).or_insert(0);
        *calls += 1;
        let calls = *calls;
        while self.hours.len() as i64 > config.volume_history_hours {
            // The oldest hour may be in the typical hour's window.
            self.hours.pop_first();
            self.typical_before = None;
        }
        (calls, typical)
    }
}

/// The mean count of the active hours before `hour` within the history window (`None`
/// without any).
pub fn typical_hour(
    hours: &std::collections::BTreeMap<i64, u64>,
    hour: i64,
    config: &BaselineConfig,
) -> Option<f64> {
    // Summed as it goes: this runs for every event, over up to the whole window's hours.
    let (active, calls) = hours
        .range(hour - config.volume_history_hours..hour)
        .fold((0_u64, 0_u64), |(active, sum), (_, calls)| {
            (active + 1, sum + calls)
        });
    (active > 0).then(|| calls as f64 / active as f64)
}

/// The hour an instant falls in, as hours since the epoch.
pub fn hour_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_override_the_defaults_and_bad_values_are_named() {
        let config = BaselineConfig::with_settings(
            |key| match key {
                "learning_days" => Some("3".into()),
                "volume_factor" => Some("2.5".into()),
                _ => None,
            },
            str::to_string,
        )
        .unwrap();
        assert_eq!(config.learning_period, Duration::days(3));
        assert_eq!(config.volume_factor, 2.5);
        assert_eq!(
            config.learning_min_events,
            BaselineConfig::default().learning_min_events
        );

        let error = BaselineConfig::with_settings(
            |key| (key == "denied_burst").then(|| "ten".to_string()),
            |key| format!("TRAILWATCH_{}", key.to_ascii_uppercase()),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "TRAILWATCH_DENIED_BURST must be a whole number, found \"ten\""
        );
        let error = BaselineConfig::with_settings(
            |key| (key == "volume_factor").then(|| "0.5".to_string()),
            str::to_string,
        )
        .unwrap_err();
        assert!(error.to_string().contains("at least 1"));
    }
}
