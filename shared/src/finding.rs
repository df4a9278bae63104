//! Findings: what a person reads instead of one alert per event. Every detection an anomaly
//! holds joins the finding of its (account, principal, detection id, key) in its window of
//! event time: a burst of denied calls, a root session's hundred calls, or a release day's
//! volume is one finding with a count, first and last seen, sample events and the networks,
//! clients, regions and resources it was seen with.
//!
//! Windows are fixed spans of event time (default 24 hours, counted from the Unix epoch), so
//! a finding's id is the same wherever and whenever it is computed — in `scan`, in any
//! detector, on a retry — and a store can update it by id atomically.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::anomaly::{Anomaly, Detection, Severity};
use crate::baseline::features::network_of;
use crate::event::Event;

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
    /// network, the API of a first call, the region of a first activity, the resource first
    /// touched. `None` for detections about the call itself.
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
    pub networks: BTreeSet<String>,
    pub user_agents: BTreeSet<String>,
    pub regions: BTreeSet<String>,
    pub resources: BTreeSet<String>,
    pub suppressed_by: Option<String>,
}

/// The key of a detection: what it is about, where one finding per value is wanted.
pub fn key_of(detection: &Detection, event: &Event) -> Option<String> {
    match detection.id.as_str() {
        "TW-BASE-NETWORK" | "TW-BASE-NETWORK-CLIENT" | "TW-BASE-INSTANCECREDS" => {
            event.source_ip.as_deref().and_then(network_of)
        }
        "TW-BASE-API" | "TW-BASE-API-DENIED" => Some(event.action()),
        "TW-BASE-REGION" => event.region.clone(),
        "TW-BASE-ASSET" => event.assets.first().cloned(),
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
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn insert_bounded(set: &mut BTreeSet<String>, value: Option<String>) {
    if let Some(value) = value
        && (set.len() < MAX_SEEN || set.contains(&value))
    {
        set.insert(value);
    }
}

/// Findings gathered in memory, as `scan` gathers them: each event counted once per finding
/// however often it arrives.
#[derive(Debug, Default)]
pub struct FindingBook {
    settings: FindingSettings,
    findings: HashMap<String, Finding>,
    counted: HashSet<(String, String)>,
}

impl FindingBook {
    pub fn new(settings: FindingSettings) -> Self {
        Self {
            settings,
            ..Self::default()
        }
    }

    /// Adds each detection of an anomaly to its finding; returns the ids of the findings it
    /// touched (none for an event already counted).
    pub fn add(&mut self, event: &Event, anomaly: &Anomaly) -> Vec<String> {
        let mut touched = Vec::new();
        let window_start = window_start(anomaly.event_time, &self.settings);
        for detection in &anomaly.detections {
            let key = key_of(detection, event);
            let id = finding_id(
                anomaly.account_id.as_deref(),
                &anomaly.principal,
                &detection.id,
                key.as_deref(),
                window_start,
            );
            if !self.counted.insert((id.clone(), anomaly.event_id.clone())) {
                continue;
            }
            let finding = self.findings.entry(id.clone()).or_insert_with(|| Finding {
                id: id.clone(),
                account_id: anomaly.account_id.clone(),
                principal: anomaly.principal.clone(),
                detection: DetectionRef {
                    id: detection.id.clone(),
                    title: detection.title.clone(),
                    tactic: detection.tactic.clone(),
                    technique: detection.technique.clone(),
                },
                key: key.clone(),
                window_start,
                severity: detection.severity,
                reason: detection.reason.clone(),
                first_seen: anomaly.event_time,
                last_seen: anomaly.event_time,
                count: 0,
                event_ids: Vec::new(),
                networks: BTreeSet::new(),
                user_agents: BTreeSet::new(),
                regions: BTreeSet::new(),
                resources: BTreeSet::new(),
                suppressed_by: None,
            });
            finding.count += 1;
            finding.severity = finding.severity.max(detection.severity);
            if anomaly.event_time < finding.first_seen {
                finding.first_seen = anomaly.event_time;
                finding.reason = detection.reason.clone();
            }
            finding.last_seen = finding.last_seen.max(anomaly.event_time);
            if finding.event_ids.len() < MAX_SAMPLES {
                finding.event_ids.push(anomaly.event_id.clone());
            }
            insert_bounded(
                &mut finding.networks,
                event.source_ip.as_deref().and_then(network_of),
            );
            insert_bounded(&mut finding.user_agents, event.user_agent.clone());
            insert_bounded(&mut finding.regions, event.region.clone());
            for asset in event.assets.iter().take(MAX_SEEN) {
                insert_bounded(&mut finding.resources, Some(asset.clone()));
            }
            touched.push(id);
        }
        touched
    }

    /// The findings, oldest first.
    pub fn findings(&self) -> Vec<&Finding> {
        let mut findings: Vec<&Finding> = self.findings.values().collect();
        findings.sort_by(|a, b| (a.first_seen, &a.id).cmp(&(b.first_seen, &b.id)));
        findings
    }
}

#[cfg(test)]
mod tests;
