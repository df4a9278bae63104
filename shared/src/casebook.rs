//! What anomalies come to for a person: findings (one per account, principal, detection and
//! key in a window), incidents (a principal's findings across tactics), and suppression.
//! [`Triage`] says how; [`Casebook`] keeps them in memory, as `trailwatch scan` does. The
//! detector's DynamoDB store merges with the same [`Finding::absorb`] and [`Trail::absorb`].

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};

use crate::anomaly::Anomaly;
use crate::baseline::{SettingError, setting_variable};
use crate::event::Event;
use crate::finding::{Contribution, Finding, FindingSettings, contributions};
use crate::incident::{Incident, IncidentChange, IncidentSettings, Trail, trail_key};
use crate::suppress::Suppressions;

/// How anomalies become findings and incidents.
#[derive(Debug, Clone, Default)]
pub struct Triage {
    pub findings: FindingSettings,
    pub incidents: IncidentSettings,
    pub suppressions: Suppressions,
}

impl Triage {
    /// What an anomalous event adds to its findings.
    pub fn contributions(&self, event: &Event, anomaly: &Anomaly) -> Vec<Contribution> {
        contributions(event, anomaly, &self.findings, &self.suppressions)
    }
}

/// What recording one anomalous event changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recorded {
    /// Findings the event was counted into (none when it was counted before).
    pub findings: Vec<String>,
    /// Incidents it opened or changed, and how.
    pub incidents: Vec<(String, IncidentChange)>,
    /// Whether a suppression rule matched every detection of the event, as
    /// [`Casebook::record`] says (the stores' merges leave it false).
    pub wholly_suppressed: bool,
}

/// What merging contributions into findings and trails changed.
#[derive(Debug, Default)]
pub struct Merged {
    pub recorded: Recorded,
    /// The incidents opened or changed, as they are now.
    pub incidents: Vec<Incident>,
}

/// Counts contributions (each not counted before) into their findings, opening them as
/// needed, and into their subjects' trails, keyed by [`trail_key`]: the one merge `scan` and
/// the detector's stores share.
pub fn merge(
    findings: &mut HashMap<String, Finding>,
    trails: &mut HashMap<String, Trail>,
    contributions: &[Contribution],
    settings: &IncidentSettings,
) -> Merged {
    let mut merged = Merged::default();
    for contribution in contributions {
        findings
            .entry(contribution.finding_id.clone())
            .or_insert_with(|| Finding::opened_by(contribution))
            .absorb(contribution);
        merged
            .recorded
            .findings
            .push(contribution.finding_id.clone());
        let trail = trails
            .entry(trail_key(
                &contribution.principal,
                contribution.access_key.as_deref(),
            ))
            .or_insert_with(|| Trail::new(contribution));
        if let Some(change) = trail.absorb(contribution, settings)
            && let Some(incident) = &trail.incident
        {
            merged
                .recorded
                .incidents
                .push((incident.id.clone(), change));
            merged.incidents.retain(|known| known.id != incident.id);
            merged.incidents.push(incident.clone());
        }
    }
    merged
}

fn is_wholly_suppressed(contributions: &[Contribution]) -> bool {
    !contributions.is_empty()
        && contributions
            .iter()
            .all(|contribution| contribution.suppressed_by.is_some())
}

/// Findings and incidents no event still to come can change, taken out of the book.
#[derive(Debug, Default)]
pub struct Closed {
    pub findings: Vec<Finding>,
    pub incidents: Vec<Incident>,
}

/// Findings, the trails that form incidents, and the incidents, held in memory: what `scan`'s
/// [`Casebook`] and the in-memory store keep alike.
#[derive(Debug, Default)]
pub struct Cases {
    findings: HashMap<String, Finding>,
    trails: HashMap<String, Trail>,
    incidents: HashMap<String, Incident>,
}

impl Cases {
    /// [`merge`]s contributions (each not counted before) and keeps the incidents they change.
    pub fn merge(
        &mut self,
        contributions: &[Contribution],
        settings: &IncidentSettings,
    ) -> Recorded {
        let merged = merge(
            &mut self.findings,
            &mut self.trails,
            contributions,
            settings,
        );
        for incident in merged.incidents {
            self.incidents.insert(incident.id.clone(), incident);
        }
        merged.recorded
    }

    /// The findings, oldest first.
    pub fn findings(&self) -> Vec<&Finding> {
        let mut findings: Vec<&Finding> = self.findings.values().collect();
        findings.sort_by(|a, b| (a.first_seen, &a.id).cmp(&(b.first_seen, &b.id)));
        findings
    }

    /// The incidents, oldest first.
    pub fn incidents(&self) -> Vec<&Incident> {
        let mut incidents: Vec<&Incident> = self.incidents.values().collect();
        incidents.sort_by(|a, b| (a.first_seen, &a.id).cmp(&(b.first_seen, &b.id)));
        incidents
    }

    pub fn finding(&self, id: &str) -> Option<&Finding> {
        self.findings.get(id)
    }

    pub fn finding_mut(&mut self, id: &str) -> Option<&mut Finding> {
        self.findings.get_mut(id)
    }

    pub fn incident(&self, id: &str) -> Option<&Incident> {
        self.incidents.get(id)
    }

    /// Takes out the findings whose window ended by `now` and the incidents with no finding
    /// within the incident window of it, and forgets the trails with no step that window
    /// still reaches: an event at `now` or later changes none of them.
    fn close(
        &mut self,
        now: DateTime<Utc>,
        findings: &FindingSettings,
        incidents: &IncidentSettings,
    ) -> Closed {
        let reaches = |last_seen: DateTime<Utc>| last_seen + incidents.window >= now;
        self.trails.retain(|_, trail| {
            trail.steps.iter().any(|step| reaches(step.last_seen))
                || trail
                    .incident
                    .as_ref()
                    .is_some_and(|incident| reaches(incident.last_seen))
        });
        Closed {
            findings: self
                .findings
                .extract_if(|_, finding| finding.window_start + findings.window <= now)
                .map(|(_, finding)| finding)
                .collect(),
            incidents: self
                .incidents
                .extract_if(|_, incident| !reaches(incident.last_seen))
                .map(|(_, incident)| incident)
                .collect(),
        }
    }

    /// Takes out every finding and incident.
    fn close_all(&mut self) -> Closed {
        self.trails.clear();
        Closed {
            findings: self.findings.drain().map(|(_, finding)| finding).collect(),
            incidents: self
                .incidents
                .drain()
                .map(|(_, incident)| incident)
                .collect(),
        }
    }
}

/// Findings and incidents gathered in memory: each event counted once per finding however
/// often it arrives.
#[derive(Debug, Default)]
pub struct Casebook {
    triage: Triage,
    cases: Cases,
    /// The events counted into each finding still in the book.
    counted: HashMap<String, HashSet<String>>,
}

impl Casebook {
    pub fn new(triage: Triage) -> Self {
        Self {
            triage,
            ..Self::default()
        }
    }

    /// Counts an anomalous event into its findings and its subject's trail.
    pub fn record(&mut self, event: &Event, anomaly: &Anomaly) -> Recorded {
        let contributions = self.triage.contributions(event, anomaly);
        let wholly_suppressed = is_wholly_suppressed(&contributions);
        let uncounted: Vec<Contribution> = contributions
            .into_iter()
            .filter(|contribution| {
                self.counted
                    .entry(contribution.finding_id.clone())
                    .or_default()
                    .insert(contribution.event_id.clone())
            })
            .collect();
        Recorded {
            wholly_suppressed,
            ..self.cases.merge(&uncounted, &self.triage.incidents)
        }
    }

    /// Takes out what no event at `now` or later changes: findings whose window ended by
    /// then, incidents with no finding within the incident window of it. What a long scan
    /// writes out as it goes, so that its memory follows its open cases, not its input. An
    /// event older than `now` recorded afterwards opens its finding or incident again, under
    /// the same id.
    pub fn close(&mut self, now: DateTime<Utc>) -> Closed {
        let closed = self
            .cases
            .close(now, &self.triage.findings, &self.triage.incidents);
        for finding in &closed.findings {
            self.counted.remove(&finding.id);
        }
        closed
    }

    /// Takes out every finding and incident.
    pub fn close_all(&mut self) -> Closed {
        self.counted.clear();
        self.cases.close_all()
    }

    /// The findings, oldest first.
    pub fn findings(&self) -> Vec<&Finding> {
        self.cases.findings()
    }

    pub fn finding(&self, id: &str) -> Option<&Finding> {
        self.cases.finding(id)
    }

    /// The incidents, oldest first.
    pub fn incidents(&self) -> Vec<&Incident> {
        self.cases.incidents()
    }
}

/// The finding and incident windows from settings (`finding_window_hours`,
/// `incident_window_hours`), named by `name_of` in errors.
pub fn window_settings(
    lookup: impl Fn(&str) -> Option<String>,
    name_of: impl Fn(&str) -> String,
) -> Result<(FindingSettings, IncidentSettings), SettingError> {
    let hours = |key: &str| -> Result<Option<Duration>, SettingError> {
        lookup(key)
            .map(|value| match value.trim().parse::<i64>() {
                Ok(hours) if (1..=24 * 366).contains(&hours) => Ok(Duration::hours(hours)),
                _ => Err(SettingError {
                    name: name_of(key),
                    expected: "a whole number of hours from 1 to 8784",
                    value,
                }),
            })
            .transpose()
    };
    let mut findings = FindingSettings::default();
    let mut incidents = IncidentSettings::default();
    if let Some(window) = hours("finding_window_hours")? {
        findings.window = window;
    }
    if let Some(window) = hours("incident_window_hours")? {
        incidents.window = window;
    }
    Ok((findings, incidents))
}

/// The finding and incident windows from `TRAILWATCH_<SETTING>` environment variables.
pub fn window_settings_from_env() -> Result<(FindingSettings, IncidentSettings), SettingError> {
    window_settings(
        |key| std::env::var(setting_variable(key)).ok(),
        setting_variable,
    )
}
