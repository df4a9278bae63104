//! Incidents: attack sequences. Per principal (and access key, where the record names one),
//! the findings of a rolling window (default 24 hours) are kept in a trail; when they span
//! two or more ATT&CK tactics and one of them is medium or above, they open an incident —
//! its severity raised, its findings in time order, and one sentence saying what happened.
//! Later findings within the window of its last one extend it.
//!
//! First-seen values of low severity (a first API, network, client, resource or principal)
//! say what is new, not what was done: they join an incident as context but add no tactic of
//! their own, or every busy day would be "Initial Access plus something". Suppressed findings
//! count: a signal a team tuned out can still be part of an attack.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::anomaly::Severity;
use crate::finding::{Contribution, DetectionRef, fnv1a, insert_bounded};

/// How incidents are formed.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentSettings {
    /// Findings this close in event time join one incident.
    pub window: Duration,
}

impl Default for IncidentSettings {
    fn default() -> Self {
        Self {
            window: Duration::hours(24),
        }
    }
}

/// Detections that only say a value is new to the principal (when low).
const CONTEXT_ONLY: [&str; 5] = [
    "TW-BASE-API",
    "TW-BASE-NETWORK",
    "TW-BASE-USERAGENT",
    "TW-BASE-ASSET",
    "TW-BASE-PRINCIPAL",
];

/// Whether a detection brings its tactic to an incident, rather than only context.
pub fn counts_as_tactic(detection: &str, severity: Severity) -> bool {
    !(severity == Severity::Low && CONTEXT_ONLY.contains(&detection))
}

/// Findings a trail or an incident keeps: a stored item stays small however many networks
/// an intruder sprays from. Context goes first, then the oldest.
pub const MAX_STEPS: usize = 100;

/// Drops steps beyond [`MAX_STEPS`], keeping `keep`.
fn bound_steps(steps: &mut Vec<Step>, keep: &str) {
    while steps.len() > MAX_STEPS {
        let position = steps
            .iter()
            .position(|step| !step.counts_as_tactic() && step.finding_id != keep)
            .or_else(|| steps.iter().position(|step| step.finding_id != keep))
            .unwrap_or(0);
        steps.remove(position);
    }
}

/// Networks, clients and resources a step keeps, each.
const STEP_SEEN: usize = 5;

/// A finding as one principal's trail sees it: the events of this subject only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub finding_id: String,
    pub detection: DetectionRef,
    pub severity: Severity,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub count: u64,
    pub key: Option<String>,
    pub reason: String,
    pub suppressed: bool,
    #[serde(default)]
    pub networks: BTreeSet<String>,
    #[serde(default)]
    pub user_agents: BTreeSet<String>,
    #[serde(default)]
    pub resources: BTreeSet<String>,
}

impl Step {
    fn opened_by(contribution: &Contribution) -> Self {
        Self {
            finding_id: contribution.finding_id.clone(),
            detection: contribution.detection.clone(),
            severity: contribution.severity,
            first_seen: contribution.event_time,
            last_seen: contribution.event_time,
            count: 0,
            key: contribution.key.clone(),
            reason: contribution.reason.clone(),
            suppressed: contribution.suppressed_by.is_some(),
            networks: BTreeSet::new(),
            user_agents: BTreeSet::new(),
            resources: BTreeSet::new(),
        }
    }

    fn absorb(&mut self, contribution: &Contribution) {
        self.count += 1;
        self.severity = self.severity.max(contribution.severity);
        self.first_seen = self.first_seen.min(contribution.event_time);
        self.last_seen = self.last_seen.max(contribution.event_time);
        self.suppressed &= contribution.suppressed_by.is_some();
        let bounded = |set: &mut BTreeSet<String>, value: Option<&String>| {
            if set.len() < STEP_SEEN {
                insert_bounded(set, value);
            }
        };
        bounded(&mut self.networks, contribution.network.as_ref());
        bounded(&mut self.user_agents, contribution.user_agent.as_ref());
        for resource in &contribution.resources {
            bounded(&mut self.resources, Some(resource));
        }
    }

    /// Whether the step brings its tactic to an incident (rather than only context).
    pub fn counts_as_tactic(&self) -> bool {
        counts_as_tactic(&self.detection.id, self.severity)
    }
}

/// An attack sequence: one principal's findings across tactics, in time order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    pub principal: String,
    pub access_key: Option<String>,
    pub account_id: Option<String>,
    pub severity: Severity,
    /// The tactics, in the order they first appeared.
    pub tactics: Vec<String>,
    /// The findings, in the order they first appeared.
    pub finding_ids: Vec<String>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub networks: BTreeSet<String>,
    pub user_agents: BTreeSet<String>,
    pub resources: BTreeSet<String>,
    /// One sentence: who did what, in order.
    pub summary: String,
    /// The findings as this principal's steps, in time order.
    pub steps: Vec<Step>,
}

/// What a contribution did to its subject's incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentChange {
    Opened,
    /// New findings or tactics joined it, or its severity rose.
    Extended,
    /// Only counts and times moved.
    Updated,
}

/// One subject's recent findings and its open incident.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Trail {
    pub principal: String,
    pub access_key: Option<String>,
    pub account_id: Option<String>,
    /// Findings of the last window, oldest first.
    pub steps: Vec<Step>,
    /// The incident the latest findings belong to, while it can still be extended.
    pub incident: Option<Incident>,
}

/// The key of a subject's trail: its principal, and its access key where there is one.
pub fn trail_key(principal: &str, access_key: Option<&str>) -> String {
    match access_key {
        Some(key) => format!("{principal}\u{1f}{key}"),
        None => principal.to_string(),
    }
}

impl Trail {
    pub fn new(contribution: &Contribution) -> Self {
        Self {
            principal: contribution.principal.clone(),
            access_key: contribution.access_key.clone(),
            account_id: contribution.account_id.clone(),
            ..Self::default()
        }
    }

    /// Counts one contribution in (each once: the caller sees to that) and says what became
    /// of the subject's incident. An incident whose window has passed is closed: it leaves
    /// the trail (its last state was returned when it last changed) and a new one may open.
    pub fn absorb(
        &mut self,
        contribution: &Contribution,
        settings: &IncidentSettings,
    ) -> Option<IncidentChange> {
        let at = contribution.event_time;
        match self
            .steps
            .iter_mut()
            .find(|step| step.finding_id == contribution.finding_id)
        {
            Some(step) => step.absorb(contribution),
            None => {
                let mut step = Step::opened_by(contribution);
                step.absorb(contribution);
                self.steps.push(step);
            }
        }
        self.steps
            .retain(|step| step.last_seen + settings.window >= at);
        bound_steps(&mut self.steps, &contribution.finding_id);
        self.steps
            .sort_by(|a, b| (a.first_seen, &a.finding_id).cmp(&(b.first_seen, &b.finding_id)));
        if self
            .incident
            .as_ref()
            .is_some_and(|incident| incident.last_seen + settings.window < at)
        {
            self.incident = None;
        }
        let step = self
            .steps
            .iter()
            .find(|step| step.finding_id == contribution.finding_id)
            .cloned()?;
        match &mut self.incident {
            Some(incident) => Some(incident.absorb(step)),
            None => {
                let incident = Incident::open(self)?;
                self.incident = Some(incident);
                Some(IncidentChange::Opened)
            }
        }
    }
}

impl Incident {
    /// The incident a trail's steps make, if they span tactics with one of medium or above.
    fn open(trail: &Trail) -> Option<Incident> {
        let tactic_steps: Vec<&Step> = trail
            .steps
            .iter()
            .filter(|step| step.counts_as_tactic())
            .collect();
        let tactics: BTreeSet<&str> = tactic_steps
            .iter()
            .map(|step| step.detection.tactic.as_str())
            .collect();
        let strongest = tactic_steps.iter().map(|step| step.severity).max()?;
        if tactics.len() < 2 || strongest < Severity::Medium {
            return None;
        }
        let first = trail.steps.first()?;
        let mut incident = Incident {
            id: incident_id(
                &trail_key(&trail.principal, trail.access_key.as_deref()),
                &first.finding_id,
            ),
            principal: trail.principal.clone(),
            access_key: trail.access_key.clone(),
            account_id: trail.account_id.clone(),
            severity: strongest,
            tactics: Vec::new(),
            finding_ids: Vec::new(),
            first_seen: first.first_seen,
            last_seen: first.last_seen,
            networks: BTreeSet::new(),
            user_agents: BTreeSet::new(),
            resources: BTreeSet::new(),
            summary: String::new(),
            steps: trail.steps.clone(),
        };
        incident.refresh();
        Some(incident)
    }

    /// Takes in a step's latest state.
    fn absorb(&mut self, step: Step) -> IncidentChange {
        let before = (self.finding_ids.len(), self.tactics.len(), self.severity);
        let id = step.finding_id.clone();
        match self
            .steps
            .iter_mut()
            .find(|known| known.finding_id == step.finding_id)
        {
            Some(known) => *known = step,
            None => self.steps.push(step),
        }
        bound_steps(&mut self.steps, &id);
        self.steps
            .sort_by(|a, b| (a.first_seen, &a.finding_id).cmp(&(b.first_seen, &b.finding_id)));
        self.refresh();
        if (self.finding_ids.len(), self.tactics.len(), self.severity) == before {
            IncidentChange::Updated
        } else {
            IncidentChange::Extended
        }
    }

    /// Recomputes what follows from the steps.
    fn refresh(&mut self) {
        self.finding_ids = self
            .steps
            .iter()
            .map(|step| step.finding_id.clone())
            .collect();
        self.tactics.clear();
        for step in self.steps.iter().filter(|step| step.counts_as_tactic()) {
            if !self.tactics.contains(&step.detection.tactic) {
                self.tactics.push(step.detection.tactic.clone());
            }
        }
        self.first_seen = self
            .steps
            .iter()
            .map(|step| step.first_seen)
            .min()
            .unwrap_or(self.first_seen);
        self.last_seen = self
            .steps
            .iter()
            .map(|step| step.last_seen)
            .max()
            .unwrap_or(self.last_seen);
        for step in &self.steps {
            for network in &step.networks {
                insert_bounded(&mut self.networks, Some(network));
            }
            for agent in &step.user_agents {
                insert_bounded(&mut self.user_agents, Some(agent));
            }
            for resource in &step.resources {
                insert_bounded(&mut self.resources, Some(resource));
            }
        }
        let strongest = self
            .steps
            .iter()
            .map(|step| step.severity)
            .max()
            .unwrap_or(Severity::Medium);
        self.severity = if self.tactics.len() >= 3 || strongest >= Severity::High {
            Severity::Critical
        } else {
            strongest.raised()
        };
        self.summary = summary(&self.principal, &self.steps);
    }
}

/// An incident's id: its subject and the finding that opened it.
fn incident_id(subject: &str, first_finding: &str) -> String {
    let text = format!("{subject}\u{1f}{first_finding}");
    format!("I-{:016x}", fnv1a(text.as_bytes()))
}

/// "user/build-bot: burst of access-denied errors ×40 (Discovery), then …": each tactic in
/// the order it appeared, with what was done and how often.
fn summary(principal: &str, steps: &[Step]) -> String {
    let who = principal.rsplit(':').next().unwrap_or(principal);
    let mut tactics: Vec<(&str, Vec<(&str, u64)>)> = Vec::new();
    for step in steps.iter().filter(|step| step.counts_as_tactic()) {
        let (tactic, title) = (
            step.detection.tactic.as_str(),
            step.detection.title.as_str(),
        );
        let position = match tactics.iter().position(|(known, _)| *known == tactic) {
            Some(position) => position,
            None => {
                tactics.push((tactic, Vec::new()));
                tactics.len() - 1
            }
        };
        let done = &mut tactics[position].1;
        match done.iter_mut().find(|(known, _)| *known == title) {
            Some((_, count)) => *count += step.count,
            None => done.push((title, step.count)),
        }
    }
    let told: Vec<String> = tactics
        .into_iter()
        .map(|(tactic, done)| {
            let what: Vec<String> = done
                .into_iter()
                .map(|(title, count)| match count {
                    1 => lowercase_first(title),
                    count => format!("{} ×{count}", lowercase_first(title)),
                })
                .collect();
            format!("{} ({tactic})", what.join(" and "))
        })
        .collect();
    format!("{who}: {}", told.join(", then "))
}

/// "Burst of access-denied errors" → "burst of …"; names ("CloudTrail …", "IAM …") stay.
fn lowercase_first(title: &str) -> String {
    let first_word = title.split_whitespace().next().unwrap_or_default();
    let is_name = first_word.chars().skip(1).any(char::is_uppercase);
    let mut chars = title.chars();
    match chars.next() {
        Some(first) if !is_name => first.to_lowercase().chain(chars).collect(),
        _ => title.to_string(),
    }
}

#[cfg(test)]
mod tests;
