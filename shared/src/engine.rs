//! The detection engine: runs every rule over an event and turns what fired into an
//! [`Anomaly`].

use chrono::{DateTime, Utc};

use crate::anomaly::{self, Anomaly, Detection};
use crate::event::Event;
use crate::rules::{CATALOG, Rule};

pub struct Engine {
    rules: &'static [Rule],
}

impl Default for Engine {
    fn default() -> Self {
        Self { rules: CATALOG }
    }
}

impl Engine {
    pub fn rules(&self) -> &'static [Rule] {
        self.rules
    }

    /// The anomaly this event makes, if any rule fires on it.
    pub fn evaluate(&self, event: &Event, detected_at: DateTime<Utc>) -> Option<Anomaly> {
        let detections: Vec<Detection> = self
            .rules
            .iter()
            .filter_map(|rule| rule.evaluate(event))
            .collect();
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
