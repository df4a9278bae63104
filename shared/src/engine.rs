//! The detection engine: runs every rule over an event and turns what fired into an
//! [`Anomaly`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::anomaly::{self, Anomaly, Detection};
use crate::event::Event;
use crate::rules::{CATALOG, Rule};

pub struct Engine {
    rules: &'static [Rule],
    /// Positions of the rules that name each event name, so an event meets only the rules
    /// for its call.
    by_event_name: HashMap<&'static str, Vec<usize>>,
    /// Positions of the rules that look at every call.
    for_every_call: Vec<usize>,
}

impl Default for Engine {
    fn default() -> Self {
        Self::new(CATALOG)
    }
}

impl Engine {
    pub fn new(rules: &'static [Rule]) -> Self {
        let mut by_event_name: HashMap<&'static str, Vec<usize>> = HashMap::new();
        let mut for_every_call = Vec::new();
        for (position, rule) in rules.iter().enumerate() {
            match rule.event_names() {
                Some(names) => {
                    for name in names {
                        by_event_name.entry(name).or_default().push(position);
                    }
                }
                None => for_every_call.push(position),
            }
        }
        Self {
            rules,
            by_event_name,
            for_every_call,
        }
    }

    pub fn rules(&self) -> &'static [Rule] {
        self.rules
    }

    /// The detections the rules make of an event, in catalog order.
    pub fn detect(&self, event: &Event) -> Vec<Detection> {
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
        candidates
            .into_iter()
            .filter_map(|position| self.rules[position].evaluate(event))
            .collect()
    }

    /// The anomaly this event makes, if any rule fires on it.
    pub fn evaluate(&self, event: &Event, detected_at: DateTime<Utc>) -> Option<Anomaly> {
        let detections = self.detect(event);
        let severity = detections
            .iter()
            .map(|detection| detection.severity)
            .max()?;
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
        })
    }
}

#[cfg(test)]
mod tests;
