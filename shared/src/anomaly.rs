//! What the detector reports: an event that fired one or more detections, with its score,
//! severity and plain-language reasons.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// One level up; critical stays critical.
    pub fn raised(self) -> Severity {
        match self {
            Severity::Low => Severity::Medium,
            Severity::Medium => Severity::High,
            Severity::High | Severity::Critical => Severity::Critical,
        }
    }

    /// One level lower; low stays low.
    pub fn lowered(self) -> Severity {
        match self {
            Severity::Low | Severity::Medium => Severity::Low,
            Severity::High => Severity::Medium,
            Severity::Critical => Severity::High,
        }
    }

    /// How much one detection of this severity says the event is an attack, in 0..1.
    fn weight(self) -> f64 {
        match self {
            Severity::Low => 0.25,
            Severity::Medium => 0.5,
            Severity::High => 0.75,
            Severity::Critical => 0.95,
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Severity {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(format!(
                "unknown severity {text:?}: expected low, medium, high or critical"
            )),
        }
    }
}

/// One detection that fired on an event, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    /// MITRE ATT&CK tactic, e.g. "Defense Evasion".
    pub tactic: String,
    /// MITRE ATT&CK technique id, e.g. "T1562.008".
    pub technique: String,
    pub reason: String,
    /// A Sigma rule's tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Whose rule this is and under which licence, where it is not trailwatch's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    pub event_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub principal: String,
    pub action: String,
    pub event_time: DateTime<Utc>,
    pub assets: Vec<String>,
    /// Evidence from all detections combined, in 0..1.
    pub score: f64,
    pub severity: Severity,
    pub detections: Vec<Detection>,
    pub reasons: Vec<String>,
    pub detected_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// How the event reached the detector: `eventbridge`, `s3` or `ingest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Who posted the event to the ingest API (the SigV4 caller's ARN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    /// Why the baseline could not assess the event ("baseline unavailable"): the rules'
    /// detections stand alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_error: Option<String>,
    /// The CloudTrail record as it arrived (JSON text), kept by the detector as the evidence
    /// a finding shows; none when over [`MAX_RAW_EVENT`] bytes or not kept (`scan`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_event: Option<String>,
    /// The findings the detector counted it toward.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finding_ids: Vec<String>,
}

/// The largest raw record an anomaly keeps: most CloudTrail records are 1–3 KB; a few carry
/// whole policies or templates, which would make every anomaly item cost more to write.
pub const MAX_RAW_EVENT: usize = 32 * 1024;

/// A record's JSON text, if it is small enough to keep.
pub fn raw_event_text(record: &serde_json::Value) -> Option<String> {
    serde_json::to_string(record)
        .ok()
        .filter(|text| text.len() <= MAX_RAW_EVENT)
}

/// Combines independent evidence: each detection removes part of the remaining doubt, so the
/// score grows with every detection and never reaches 1.
pub fn score(detections: &[Detection]) -> f64 {
    let doubt: f64 = detections
        .iter()
        .map(|detection| 1.0 - detection.severity.weight())
        .product();
    1.0 - doubt
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detection(severity: Severity) -> Detection {
        Detection {
            id: "T".into(),
            title: "t".into(),
            severity,
            tactic: "x".into(),
            technique: "T0".into(),
            reason: "r".into(),
            tags: Vec::new(),
            attribution: None,
        }
    }

    #[test]
    fn more_evidence_scores_higher_but_stays_below_one() {
        let one = score(&[detection(Severity::High)]);
        let two = score(&[detection(Severity::High), detection(Severity::Medium)]);
        assert!((one - 0.75).abs() < 1e-9);
        assert!(two > one && two < 1.0);
        assert_eq!(score(&[]), 0.0);
    }

    #[test]
    fn severities_order_and_parse() {
        assert!(Severity::Critical > Severity::High && Severity::Medium > Severity::Low);
        assert_eq!("HIGH".parse::<Severity>(), Ok(Severity::High));
        assert!("severe".parse::<Severity>().unwrap_err().contains("severe"));
    }
}
