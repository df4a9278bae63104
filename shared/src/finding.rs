//! Findings: what a person reads instead of one alert per event. Every detection an anomaly
//! holds joins the finding of its (account, principal, detection id, key) in its window of
//! event time: a burst of denied calls, a root session's hundred calls, or a release day's
//! volume is one finding with a count, first and last seen, sample events and the networks,
//! clients, regions and resources it was seen with.
//!
//! Windows are fixed spans of event time (default 24 hours, counted from the Unix epoch), so
//! a finding's id is the same wherever and whenever it is computed — in `scan`, in any
//! detector, on a retry — and a store can update it by id atomically.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::anomaly::{Anomaly, Detection, Severity};
use crate::baseline::features::network_of;
use crate::event::Event;
use crate::suppress::Suppressions;

/// Sample event ids a finding keeps.
pub const MAX_SAMPLES: usize = 20;
/// Distinct networks, clients, regions and resources a finding keeps, each.
pub const MAX_SEEN: usize = 20;

/// How findings are grouped.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingSettings {
    pub window: Duration,
}

impl Default for FindingSettings {
    fn default() -> Self {
        Self {
            window: Duration::hours(24),
        }
    }
}

/// The detection a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectionRef {
    pub id: String,
    pub title: String,
    pub tactic: String,
    pub technique: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub id: String,
    pub account_id: Option<String>,
    pub principal: String,
    pub detection: DetectionRef,
    /// What the detection is about where that matters: the network of a first call from a
    /// network, the region of a first activity. `None` for detections about the principal's
    /// conduct (its calls are listed in `actions`).
    pub key: Option<String>,
    pub window_start: DateTime<Utc>,
    pub severity: Severity,
    /// The reason of the first event.
    pub reason: String,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub count: u64,
    /// The first events, at most [`MAX_SAMPLES`].
    pub event_ids: Vec<String>,
    /// The calls (`service:Name`) seen.
    pub actions: BTreeSet<String>,
    pub networks: BTreeSet<String>,
    pub user_agents: BTreeSet<String>,
    pub regions: BTreeSet<String>,
    pub resources: BTreeSet<String>,
    /// The suppression rule that matched every event of the finding, if one did: stored,
    /// raising no alert. One event no rule matches lifts it.
    pub suppressed_by: Option<String>,
    /// Where a person has taken it: open until someone says otherwise.
    #[serde(default)]
    pub status: crate::query::Status,
    /// Who last changed the status, when, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_change: Option<crate::query::StatusChange>,
}

/// The key of a detection: what it is about, where one finding per value is wanted.
pub fn key_of(detection: &Detection, event: &Event) -> Option<String> {
    match detection.id.as_str() {
        "TW-BASE-NETWORK" | "TW-BASE-NETWORK-CLIENT" | "TW-BASE-INSTANCECREDS" => {
            event.source_ip.as_deref().and_then(network_of)
        }
        "TW-BASE-REGION" => event.region.clone(),
        // First calls, denied or not, and first touches are one finding a window, listing
        // the calls and resources: a dozen APIs probed is one thing that happened, not twelve.
        _ => None,
    }
}

/// The window an event time falls in: its start.
pub fn window_start(at: DateTime<Utc>, settings: &FindingSettings) -> DateTime<Utc> {
    let span = settings.window.num_seconds().max(1);
    let start = at.timestamp().div_euclid(span) * span;
    DateTime::from_timestamp(start, 0).unwrap_or(at)
}

/// A finding's id: a digest of what groups it, stable across runs and machines.
pub fn finding_id(
    account: Option<&str>,
    principal: &str,
    detection: &str,
    key: Option<&str>,
    window_start: DateTime<Utc>,
) -> String {
    let text = format!(
        "{}\u{1f}{principal}\u{1f}{detection}\u{1f}{}\u{1f}{}",
        account.unwrap_or("-"),
        key.unwrap_or("-"),
        window_start.timestamp()
    );
    format!("F-{:016x}", fnv1a(text.as_bytes()))
}

/// FNV-1a, 64 bits: small, stable and good enough to name findings (not a security hash).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// One detection of one event, as it counts toward its finding (and its principal's trail
/// of findings, for incidents).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    pub finding_id: String,
    pub account_id: Option<String>,
    pub principal: String,
    /// The access key the call was signed with, where the record names one.
    pub access_key: Option<String>,
    pub detection: DetectionRef,
    pub key: Option<String>,
    pub window_start: DateTime<Utc>,
    pub severity: Severity,
    pub reason: String,
    pub event_id: String,
    pub event_time: DateTime<Utc>,
    pub action: String,
    pub network: Option<String>,
    pub user_agent: Option<String>,
    pub region: Option<String>,
    pub resources: Vec<String>,
    pub suppressed_by: Option<String>,
}

/// What each detection of an anomalous event adds to its finding, with the suppression rule
/// that matches it, if any.
pub fn contributions(
    event: &Event,
    anomaly: &Anomaly,
    settings: &FindingSettings,
    suppressions: &Suppressions,
) -> Vec<Contribution> {
    let window_start = window_start(anomaly.event_time, settings);
    anomaly
        .detections
        .iter()
        .map(|detection| {
            let key = key_of(detection, event);
            Contribution {
                finding_id: finding_id(
                    anomaly.account_id.as_deref(),
                    &anomaly.principal,
                    &detection.id,
                    key.as_deref(),
                    window_start,
                ),
                account_id: anomaly.account_id.clone(),
                principal: anomaly.principal.clone(),
                access_key: event.access_key_id.clone(),
                detection: DetectionRef::of(detection),
                key,
                window_start,
                severity: detection.severity,
                reason: detection.reason.clone(),
                event_id: anomaly.event_id.clone(),
                event_time: anomaly.event_time,
                action: anomaly.action.clone(),
                network: event.source_ip.as_deref().and_then(network_of),
                user_agent: event.user_agent.clone(),
                region: event.region.clone(),
                resources: event.assets.iter().take(MAX_SEEN).cloned().collect(),
                suppressed_by: suppressions
                    .suppressing(detection, event)
                    .map(str::to_string),
            }
        })
        .collect()
}

impl DetectionRef {
    pub fn of(detection: &Detection) -> Self {
        Self {
            id: detection.id.clone(),
            title: detection.title.clone(),
            tactic: detection.tactic.clone(),
            technique: detection.technique.clone(),
        }
    }
}

impl Finding {
    /// The finding a contribution opens, before it is counted.
    pub fn opened_by(contribution: &Contribution) -> Self {
        Self {
            id: contribution.finding_id.clone(),
            account_id: contribution.account_id.clone(),
            principal: contribution.principal.clone(),
            detection: contribution.detection.clone(),
            key: contribution.key.clone(),
            window_start: contribution.window_start,
            severity: contribution.severity,
            reason: contribution.reason.clone(),
            first_seen: contribution.event_time,
            last_seen: contribution.event_time,
            count: 0,
            event_ids: Vec::new(),
            actions: BTreeSet::new(),
            networks: BTreeSet::new(),
            user_agents: BTreeSet::new(),
            regions: BTreeSet::new(),
            resources: BTreeSet::new(),
            suppressed_by: contribution.suppressed_by.clone(),
            status: crate::query::Status::Open,
            status_change: None,
        }
    }

    /// Counts one event in. The caller counts each event once (see [`crate::casebook`]).
    pub fn absorb(&mut self, contribution: &Contribution) {
        self.count += 1;
        self.severity = self.severity.max(contribution.severity);
        if contribution.event_time < self.first_seen {
            self.first_seen = contribution.event_time;
            self.reason = contribution.reason.clone();
        }
        self.last_seen = self.last_seen.max(contribution.event_time);
        if self.event_ids.len() < MAX_SAMPLES {
            self.event_ids.push(contribution.event_id.clone());
        }
        insert_bounded(&mut self.actions, Some(&contribution.action));
        insert_bounded(&mut self.networks, contribution.network.as_ref());
        insert_bounded(&mut self.user_agents, contribution.user_agent.as_ref());
        insert_bounded(&mut self.regions, contribution.region.as_ref());
        for resource in &contribution.resources {
            insert_bounded(&mut self.resources, Some(resource));
        }
        if contribution.suppressed_by.is_none() {
            self.suppressed_by = None;
        }
    }

    /// Takes in another part of the same finding (the events recorded after it was closed):
    /// counts add up, the earliest event's reason stands, samples and sets stay bounded, and
    /// one part no rule suppressed lifts the suppression.
    pub fn merge(&mut self, other: Finding) {
        self.count += other.count;
        self.severity = self.severity.max(other.severity);
        if other.first_seen < self.first_seen {
            self.first_seen = other.first_seen;
            self.reason = other.reason;
        }
        self.last_seen = self.last_seen.max(other.last_seen);
        let room = MAX_SAMPLES.saturating_sub(self.event_ids.len());
        self.event_ids
            .extend(other.event_ids.into_iter().take(room));
        for (set, more) in [
            (&mut self.actions, other.actions),
            (&mut self.networks, other.networks),
            (&mut self.user_agents, other.user_agents),
            (&mut self.regions, other.regions),
            (&mut self.resources, other.resources),
        ] {
            for value in &more {
                insert_bounded(set, Some(value));
            }
        }
        if other.suppressed_by.is_none() {
            self.suppressed_by = None;
        }
    }

    pub fn is_suppressed(&self) -> bool {
        self.suppressed_by.is_some()
    }
}

/// Adds a value to a set of at most [`MAX_SEEN`].
pub fn insert_bounded(set: &mut BTreeSet<String>, value: Option<&String>) {
    if let Some(value) = value
        && set.len() < MAX_SEEN
        && !set.contains(value)
    {
        set.insert(value.clone());
    }
}

#[cfg(test)]
mod tests;
