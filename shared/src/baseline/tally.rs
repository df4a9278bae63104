//! Counts for threshold rules: one group's matching calls (or distinct values of a field)
//! within a sliding window of whole minutes, kept per minute so that every detector and
//! `scan` count the same window the same way.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

/// One event counted toward a threshold rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub rule: String,
    /// Whose calls count together: a principal, or a source address.
    pub group: String,
    /// The value the event counts as when distinct values are counted; `None` counts calls.
    pub value: Option<String>,
    pub at_least: u64,
    pub within_minutes: i64,
    pub event_id: String,
}

/// What counting an event found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tallied {
    /// Calls (or distinct values) in the window ending with this event's minute, this one
    /// included.
    pub count: u64,
    /// The count reached the threshold and this event reports the window (once per window
    /// length; a run that goes on across a window's edge is reported once; a retry of the
    /// reporting event reports again).
    pub reports: bool,
}

/// One minute of a group's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Minute {
    pub calls: u64,
    pub values: BTreeSet<String>,
}

/// The minute an instant falls in, as minutes since the epoch.
pub fn minute_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(60)
}

/// The first minute of the window that ends with `minute`.
pub fn window_start(minute: i64, within_minutes: i64) -> i64 {
    minute - within_minutes + 1
}

/// The report window an instant falls in: a threshold is reported once per window length.
pub fn report_window(at: DateTime<Utc>, within_minutes: i64) -> i64 {
    at.timestamp().div_euclid(within_minutes.max(1) * 60)
}

/// The count of the window ending with `minute`, from per-minute counts: calls, or distinct
/// values across the minutes. A minute's values stop growing at the threshold (`full`: the
/// event's value found no room), so a full minute counts as at least the threshold.
pub fn count_in_window(
    minutes: &BTreeMap<i64, Minute>,
    tally: &Tally,
    minute: i64,
    full: bool,
) -> u64 {
    let window = minutes
        .range(window_start(minute, tally.within_minutes)..=minute)
        .map(|(_, counts)| counts);
    let counted = if tally.value.is_some() {
        let mut values = BTreeSet::new();
        for counts in window {
            values.extend(counts.values.iter());
        }
        values.len() as u64
    } else {
        window.map(|counts| counts.calls).sum()
    };
    if full {
        counted.max(tally.at_least)
    } else {
        counted
    }
}
