//! The detection engine: runs the rules and the principal's baseline over an event and
//! turns what fired into an [`Anomaly`].

use chrono::{DateTime, Utc};
// Every event's name is looked up here.
use foldhash::HashMap;

use crate::anomaly::{self, Anomaly, Detection, Severity};
use crate::baseline::{self, BaselineConfig, Features, Kind, Tally};
use crate::event::Event;
use crate::ports::{ProfileStore, StoreError};
use crate::rules::{self, FirstTime, Rule, Stateful};
use crate::sigma::SigmaRules;

pub struct Engine {
    rules: Vec<Rule>,
    /// Positions of the rules that name each event name, so an event meets only the rules
    /// for its call.
    by_event_name: HashMap<String, Vec<usize>>,
    /// Positions of the rules that look at every call.
    for_every_call: Vec<usize>,
    baseline: BaselineConfig,
    sigma: SigmaRules,
}

impl Default for Engine {
    fn default() -> Self {
        Self::new(rules::built_in(), BaselineConfig::default())
    }
}

impl Engine {
    pub fn new(rules: Vec<Rule>, baseline: BaselineConfig) -> Self {
        let mut by_event_name: HashMap<String, Vec<usize>> = HashMap::default();
        let mut for_every_call = Vec::new();
        for (position, rule) in rules.iter().enumerate() {
            match rule.event_names() {
                Some(names) => {
                    for name in names {
                        by_event_name
                            .entry(name.to_string())
                            .or_default()
                            .push(position);
                    }
                }
                None => for_every_call.push(position),
            }
        }
        Self {
            rules,
            by_event_name,
            for_every_call,
            baseline,
            sigma: SigmaRules::default(),
        }
    }

    /// The engine with Sigma rules evaluated after the built-in ones.
    pub fn with_sigma(mut self, sigma: SigmaRules) -> Self {
        self.sigma = sigma;
        self
    }

    pub fn baseline(&self) -> &BaselineConfig {
        &self.baseline
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The detections the rules make of an event on its own: the catalog's in catalog
    /// order, then Sigma's. Stateful rules need the profile store: see [`Engine::evaluate`].
    pub fn detect(&self, event: &Event) -> Vec<Detection> {
        self.examine(event).0
    }

    /// The stateless detections of an event, and the stateful rules whose condition it meets.
    fn examine(&self, event: &Event) -> (Vec<Detection>, Vec<&Rule>) {
        let mut candidates: Vec<usize> = self
            .by_event_name
            .get(event.event_name.as_str())
            .map(|positions| {
                positions
                    .iter()
                    .chain(&self.for_every_call)
                    .copied()
                    .collect()
            })
            .unwrap_or_else(|| self.for_every_call.clone());
        candidates.sort_unstable();
        candidates.dedup();
        let mut detections = Vec::new();
        let mut signals = Vec::new();
        let mut stateful = Vec::new();
        for position in candidates {
            let rule = &self.rules[position];
            if rule.signal {
                signals.push(position);
            } else if rule.stateful.is_some() {
                if rule.matches(event) {
                    stateful.push(rule);
                }
            } else if let Some(detection) = rule.evaluate(event) {
                detections.push(detection);
            }
        }
        let sigma = self.sigma.detect(event);
        // Change signals stand in for what no specific rule says of the call: evaluated only
        // then.
        if detections.is_empty() && sigma.is_empty() {
            detections.extend(
                signals
                    .into_iter()
                    .filter_map(|position| self.rules[position].evaluate(event)),
            );
        }
        detections.extend(sigma);
        (detections, stateful)
    }

    /// The anomaly this event makes, from the rules and the principal's baseline, which
    /// learns from the event. When the profile store fails, the rules' detections still make
    /// their anomaly (marked `baseline_error`); without any, the error is returned so the
    /// event is retried.
    pub async fn evaluate<S: ProfileStore>(
        &self,
        event: &Event,
        profiles: &S,
        detected_at: DateTime<Utc>,
    ) -> Result<Option<Anomaly>, StoreError> {
        self.evaluate_with(event, profiles, detected_at, true).await
    }

    /// As [`Engine::evaluate`]; when `learns` is false the baseline assesses the event
    /// without learning from it (an event someone posted rather than one AWS delivered), and
    /// threshold rules do not count it.
    pub async fn evaluate_with<S: ProfileStore>(
        &self,
        event: &Event,
        profiles: &S,
        detected_at: DateTime<Utc>,
        learns: bool,
    ) -> Result<Option<Anomaly>, StoreError> {
        let (mut detections, stateful) = self.examine(event);
        match self.remember(event, &stateful, profiles, learns).await {
            Ok(remembered) => {
                detections.extend(remembered);
                Ok(anomaly_of(event, detections, detected_at))
            }
            // Nothing found yet: a retry loses nothing, and the baseline may answer then.
            Err(error) if detections.is_empty() => Err(error),
            // The rules found something: it is stored now, marked, rather than held back by
            // a profile store outage (the baseline does not learn this event).
            Err(error) => {
                tracing::warn!(event_id = %event.event_id, %error, "baseline unavailable; rule detections kept");
                Ok(
                    anomaly_of(event, detections, detected_at).map(|anomaly| Anomaly {
                        baseline_error: Some(error.to_string()),
                        ..anomaly
                    }),
                )
            }
        }
    }

    /// What the profile store makes of the event: the baseline's detections, and those of
    /// the stateful rules it meets.
    async fn remember<S: ProfileStore>(
        &self,
        event: &Event,
        stateful: &[&Rule],
        profiles: &S,
        learns: bool,
    ) -> Result<Vec<Detection>, StoreError> {
        let mut features = Features {
            learns,
            ..Features::of(event)
        };
        // A first-time rule remembers, among the principal's values, that it has seen the
        // call (from the network).
        let network = features.value(Kind::Network).map(str::to_string);
        let mut first_times = Vec::new();
        for rule in stateful {
            if let Some(Stateful::FirstTime(of)) = &rule.stateful {
                let value = match of {
                    FirstTime::Call => Some(rule.id.clone()),
                    FirstTime::Network => network
                        .as_ref()
                        .map(|network| format!("{} from {network}", rule.id)),
                };
                if let Some(value) = value {
                    features.values.push((Kind::Rule, value.clone()));
                    first_times.push((*rule, value));
                }
            }
        }
        let observation = profiles
            .observe(&features, event.event_time, &self.baseline)
            .await?;
        let mut detections =
            baseline::assess(&features, &observation, event.event_time, &self.baseline);
        if !observation.learning(event.event_time, &self.baseline) {
            for (rule, value) in first_times {
                if observation.new_values.contains(&(Kind::Rule, value)) {
                    detections.extend(rule.evaluate(event));
                }
            }
        }
        if learns {
            for rule in stateful {
                let Some(Stateful::Threshold(threshold)) = &rule.stateful else {
                    continue;
                };
                let Some(group) = threshold.group_of(event) else {
                    continue;
                };
                let tally = Tally {
                    rule: rule.id.clone(),
                    group,
                    value: threshold.value_of(event),
                    at_least: threshold.at_least,
                    within_minutes: threshold.within_minutes,
                    event_id: event.event_id.clone(),
                };
                let tallied = profiles
                    .tally(&tally, event.event_time, &self.baseline)
                    .await?;
                if tallied.reports {
                    let reason =
                        rule.threshold_reason(event, tallied.count, threshold.within_minutes);
                    detections.push(rule.detection(event, reason));
                }
            }
        }
        Ok(detections)
    }

    /// The anomaly this event makes from the rules alone.
    pub fn evaluate_rules(&self, event: &Event, detected_at: DateTime<Utc>) -> Option<Anomaly> {
        anomaly_of(event, self.detect(event), detected_at)
    }
}

/// The anomaly an event's detections make; none without detections.
fn anomaly_of(
    event: &Event,
    detections: Vec<Detection>,
    detected_at: DateTime<Utc>,
) -> Option<Anomaly> {
    let severity = severity_of(&detections)?;
    Some(Anomaly {
        event_id: event.event_id.clone(),
        request_id: event.request_id.clone(),
        principal: event.principal.clone(),
        action: event.action(),
        event_time: event.event_time,
        assets: event.assets.clone(),
        score: anomaly::score(&detections),
        severity,
        reasons: detections
            .iter()
            .map(|detection| detection.reason.clone())
            .collect(),
        detections,
        detected_at,
        source_ip: event.source_ip.clone(),
        region: event.region.clone(),
        account_id: event.account_id.clone(),
        origin: None,
        caller: None,
        baseline_error: None,
        raw_event: None,
        finding_ids: Vec::new(),
    })
}

/// The highest severity among the detections, raised one level when independent detections
/// corroborate it: a second one of medium or more, or three or more in all (a new network,
/// a new client and a new API together are stolen credentials more often than not). Sigma
/// rules often restate a built-in rule about the same call, so they raise nothing.
pub fn severity_of(detections: &[Detection]) -> Option<Severity> {
    let highest = detections
        .iter()
        .map(|detection| detection.severity)
        .max()?;
    let mut independent: Vec<Severity> = detections
        .iter()
        .filter(|detection| !detection.id.starts_with("SIGMA-"))
        .map(|detection| detection.severity)
        .collect();
    independent.sort_unstable_by(|a, b| b.cmp(a));
    let corroborated = independent
        .get(1)
        .is_some_and(|second| *second >= Severity::Medium)
        || independent.len() >= 3;
    Some(if corroborated {
        highest.raised()
    } else {
        highest
    })
}

#[cfg(test)]
mod tests;
