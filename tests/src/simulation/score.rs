//! Runs the engine over a simulation as the detector does, and scores what it found against
//! the labels: per event and per attack, on attack events and on benign principal-days.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Utc;
use trailwatch_shared::Engine;
use trailwatch_shared::Severity;
use trailwatch_shared::casebook::Casebook;
use trailwatch_shared::incident::counts_as_tactic;
use trailwatch_shared::ports::ProfileStore;

use super::{ATTACKS, Labelled, Simulation};

/// What the engine made of one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub principal: String,
    pub severity: Option<Severity>,
    /// The detections' ids, in the order the engine made them.
    pub detections: Vec<String>,
    /// The findings the event was counted into.
    pub findings: Vec<String>,
}

/// Evaluates records in event-time order against `profiles`, as one detector would.
pub async fn evaluate<S: ProfileStore>(
    records: &[Labelled],
    engine: &Engine,
    profiles: &S,
) -> Vec<Outcome> {
    evaluate_cases(records, engine, profiles, &mut Casebook::default()).await
}

/// As [`evaluate`], gathering findings and incidents in `cases`.
pub async fn evaluate_cases<S: ProfileStore>(
    records: &[Labelled],
    engine: &Engine,
    profiles: &S,
    cases: &mut Casebook,
) -> Vec<Outcome> {
    let mut outcomes = Vec::with_capacity(records.len());
    for labelled in records {
        let event = trailwatch_shared::input::parse_event(0, labelled.record.clone())
            .unwrap_or_else(|problems| panic!("a simulated record is invalid: {problems:?}"));
        let anomaly = engine
            .evaluate(&event, profiles, Utc::now())
            .await
            .unwrap_or_else(|error| panic!("evaluating {}: {error}", event.event_id));
        let findings = anomaly
            .as_ref()
            .map(|anomaly| cases.record(&event, anomaly).findings)
            .unwrap_or_default();
        outcomes.push(Outcome {
            findings,
            principal: event.principal.clone(),
            severity: anomaly.as_ref().map(|anomaly| anomaly.severity),
            detections: anomaly
                .map(|anomaly| {
                    anomaly
                        .detections
                        .into_iter()
                        .map(|detection| detection.id)
                        .collect()
                })
                .unwrap_or_default(),
        });
    }
    outcomes
}

/// How the engine did on one simulation.
#[derive(Debug, Default)]
pub struct Score {
    pub events: usize,
    /// Per attack: alerted (medium or above) on at least one of its events; flagged at all.
    pub attacks: Vec<(&'static str, bool, bool)>,
    pub attack_events: usize,
    pub attack_events_alerted: usize,
    /// Alerts (medium or above) on benign events.
    pub false_alerts: usize,
    /// Low anomalies on benign events: what `--min-severity medium` hides.
    pub benign_low: usize,
    /// Distinct (principal, day) pairs with benign activity.
    pub principal_days: usize,
    /// The most false alerts one principal had in one day.
    pub worst_principal_day: usize,
    /// False alerts on the account's routine (not on a surprise).
    pub routine_false_alerts: usize,
    /// False alerts by the detections that made them.
    pub false_alerts_by_detection: BTreeMap<String, usize>,
    /// Catalog rules (not baselines, nor the change signals every change of a kind makes)
    /// that fired on a near-miss: must stay empty.
    pub near_miss_rule_hits: Vec<String>,
}

impl Score {
    pub fn of(simulation: &Simulation, outcomes: &[Outcome]) -> Score {
        let mut score = Score {
            events: simulation.records.len(),
            ..Score::default()
        };
        let signals: HashSet<String> = trailwatch_shared::rules::built_in()
            .into_iter()
            .filter(|rule| rule.signal)
            .map(|rule| rule.id)
            .collect();
        let mut alerted: HashSet<&str> = HashSet::new();
        let mut flagged: HashSet<&str> = HashSet::new();
        let mut principal_days: HashSet<(String, String)> = HashSet::new();
        let mut false_by_principal_day: HashMap<(String, String), usize> = HashMap::new();
        for (labelled, outcome) in simulation.records.iter().zip(outcomes) {
            let alert = outcome
                .severity
                .is_some_and(|severity| severity >= Severity::Medium);
            let day = labelled.record["eventTime"].as_str().unwrap_or_default()[..10].to_string();
            match labelled.attack {
                Some(attack) => {
                    score.attack_events += 1;
                    if alert {
                        score.attack_events_alerted += 1;
                        alerted.insert(attack);
                    }
                    if outcome.severity.is_some() {
                        flagged.insert(attack);
                    }
                }
                None => {
                    let key = (outcome.principal.clone(), day);
                    principal_days.insert(key.clone());
                    if outcome.severity == Some(Severity::Low) {
                        score.benign_low += 1;
                    }
                    if alert {
                        score.false_alerts += 1;
                        *false_by_principal_day.entry(key).or_default() += 1;
                        if !labelled.surprise {
                            score.routine_false_alerts += 1;
                        }
                        let ids = outcome.detections.join("+");
                        *score.false_alerts_by_detection.entry(ids).or_default() += 1;
                    }
                    if labelled.near_miss {
                        score.near_miss_rule_hits.extend(
                            outcome
                                .detections
                                .iter()
                                .filter(|id| {
                                    !id.starts_with("TW-BASE-") && !signals.contains(id.as_str())
                                })
                                .map(|id| format!("{id} on {}", labelled.record["eventName"])),
                        );
                    }
                }
            }
        }
        score.attacks = ATTACKS
            .iter()
            .map(|attack| (*attack, alerted.contains(attack), flagged.contains(attack)))
            .collect();
        score.principal_days = principal_days.len();
        score.worst_principal_day = false_by_principal_day.values().copied().max().unwrap_or(0);
        score
    }

    pub fn attacks_alerted(&self) -> usize {
        self.attacks
            .iter()
            .filter(|(_, alerted, _)| *alerted)
            .count()
    }

    /// Attacks with an alert (medium or above) on at least one of their events.
    pub fn attack_recall(&self) -> f64 {
        ratio(self.attacks_alerted(), self.attacks.len())
    }

    /// Attack events alerted on.
    pub fn event_recall(&self) -> f64 {
        ratio(self.attack_events_alerted, self.attack_events)
    }

    /// Alerts (medium or above) that were on attack events.
    pub fn precision(&self) -> f64 {
        ratio(
            self.attack_events_alerted,
            self.attack_events_alerted + self.false_alerts,
        )
    }

    pub fn false_alerts_per_principal_day(&self) -> f64 {
        ratio(self.false_alerts, self.principal_days)
    }

    pub fn low_per_principal_day(&self) -> f64 {
        ratio(self.benign_low, self.principal_days)
    }
}

/// `part / whole`, 0 for an empty whole.
fn ratio(part: usize, whole: usize) -> f64 {
    part as f64 / whole.max(1) as f64
}

/// One figure over several seeds: its mean and spread.
#[derive(Debug, Clone, Copy)]
pub struct Figure {
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

impl Figure {
    pub fn of(values: &[f64]) -> Figure {
        let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Figure { mean, min, max }
    }
}

impl std::fmt::Display for Figure {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{:.3} (min {:.3}, max {:.3})",
            self.mean, self.min, self.max
        )
    }
}

/// The figures the README reports, over several seeds.
pub struct Figures {
    pub attack_recall: Figure,
    pub event_recall: Figure,
    pub precision: Figure,
    pub false_alerts_per_principal_day: Figure,
    pub low_per_principal_day: Figure,
}

impl Figures {
    pub fn of(scores: &[Score]) -> Figures {
        let figure = |measure: fn(&Score) -> f64| {
            Figure::of(&scores.iter().map(measure).collect::<Vec<_>>())
        };
        Figures {
            attack_recall: figure(Score::attack_recall),
            event_recall: figure(Score::event_recall),
            precision: figure(Score::precision),
            false_alerts_per_principal_day: figure(Score::false_alerts_per_principal_day),
            low_per_principal_day: figure(Score::low_per_principal_day),
        }
    }
}

/// What findings and incidents made of one simulation.
#[derive(Debug, Default)]
pub struct CaseScore {
    /// Per attack: the incidents holding one of its findings.
    pub attack_incidents: Vec<(&'static str, usize)>,
    /// Attacks whose own findings span two tactics, one at medium or above, for one
    /// principal: each must make one incident.
    pub sequences: Vec<&'static str>,
    /// Attacks found as a finding of medium or above (not suppressed), or in an incident.
    pub attacks_found: usize,
    /// Incidents holding no attack event, with their summaries.
    pub benign_incidents: Vec<String>,
    /// Findings of medium or above on benign events only: what a person would read.
    pub benign_findings: usize,
    pub principal_days: usize,
    /// Anomalies (medium or above) on benign events, for comparison: one line each before.
    pub benign_alerting_anomalies: usize,
}

impl CaseScore {
    pub fn of(simulation: &Simulation, outcomes: &[Outcome], cases: &Casebook) -> CaseScore {
        let mut score = CaseScore::default();
        let mut attack_findings: HashMap<&str, HashSet<&str>> = HashMap::new();
        let mut attack_finding_ids: HashSet<&str> = HashSet::new();
        let mut principal_days: HashSet<(&str, &str)> = HashSet::new();
        for (labelled, outcome) in simulation.records.iter().zip(outcomes) {
            match labelled.attack {
                Some(attack) => {
                    let found = attack_findings.entry(attack).or_default();
                    for finding in &outcome.findings {
                        found.insert(finding);
                        attack_finding_ids.insert(finding);
                    }
                }
                None => {
                    let day = &labelled.record["eventTime"].as_str().unwrap_or_default()[..10];
                    principal_days.insert((&outcome.principal, day));
                    if outcome
                        .severity
                        .is_some_and(|severity| severity >= Severity::Medium)
                    {
                        score.benign_alerting_anomalies += 1;
                    }
                }
            }
        }
        score.principal_days = principal_days.len();
        let incidents = cases.incidents();
        for attack in ATTACKS {
            let findings = attack_findings.get(attack);
            let holds = |id: &String| findings.is_some_and(|found| found.contains(id.as_str()));
            let touched = incidents
                .iter()
                .filter(|incident| incident.finding_ids.iter().any(holds))
                .count();
            let alerting = findings.is_some_and(|found| {
                found.iter().any(|id| {
                    cases.finding(id).is_some_and(|finding| {
                        finding.severity >= Severity::Medium && !finding.is_suppressed()
                    })
                })
            });
            if touched > 0 || alerting {
                score.attacks_found += 1;
            }
            if findings.is_some_and(|found| spans_tactics(found, cases)) {
                score.sequences.push(attack);
            }
            score.attack_incidents.push((attack, touched));
        }
        score.benign_incidents = incidents
            .iter()
            .filter(|incident| {
                !incident
                    .finding_ids
                    .iter()
                    .any(|id| attack_finding_ids.contains(id.as_str()))
            })
            .map(|incident| format!("[{}] {}", incident.severity, incident.summary))
            .collect();
        score.benign_findings = cases
            .findings()
            .iter()
            .filter(|finding| {
                finding.severity >= Severity::Medium
                    && !finding.is_suppressed()
                    && !attack_finding_ids.contains(finding.id.as_str())
            })
            .count();
        score
    }

    pub fn attacks_as_incidents(&self) -> usize {
        self.attack_incidents
            .iter()
            .filter(|(_, incidents)| *incidents > 0)
            .count()
    }

    pub fn findings_per_principal_day(&self) -> f64 {
        ratio(self.benign_findings, self.principal_days)
    }
}

/// Whether findings of one principal span two tactics with one at medium or above.
fn spans_tactics(finding_ids: &HashSet<&str>, cases: &Casebook) -> bool {
    let mut by_principal: HashMap<&str, (HashSet<&str>, Severity)> = HashMap::new();
    for finding in finding_ids.iter().filter_map(|id| cases.finding(id)) {
        if !counts_as_tactic(&finding.detection.id, finding.severity) {
            continue;
        }
        let (tactics, strongest) = by_principal
            .entry(&finding.principal)
            .or_insert((HashSet::new(), Severity::Low));
        tactics.insert(&finding.detection.tactic);
        *strongest = (*strongest).max(finding.severity);
    }
    by_principal
        .values()
        .any(|(tactics, strongest)| tactics.len() >= 2 && *strongest >= Severity::Medium)
}
