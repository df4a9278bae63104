//! Alerts: what is told to people when a finding or an incident changes in a way they must
//! hear of. The detector only stores; a publisher reads the store's changes (the cases
//! table's stream: each change with the item before and after) and decides here, from the two
//! states alone, what to say:
//!
//! - a finding that becomes alertable — new at or above the alert severity and not
//!   suppressed (or a suppression lifted from it) — and a finding whose severity rises to or
//!   beyond that level;
//! - an incident opened, and an incident extended: a finding joined, a tactic was added, or
//!   its severity rose.
//!
//! A count that grows, a later last-seen, a status a person set: nothing. Each alert's id is
//! made of the case and the change (`F-…:opened`, `I-…:findings-3`), so a publish that is
//! retried carries the same id and receivers can drop the repeat.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::anomaly::Severity;
use crate::finding::Finding;
use crate::incident::Incident;

/// A stored case as the store's change stream shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Case {
    Finding(Box<Finding>),
    Incident(Box<Incident>),
}

/// One change of one case: its state before (none when new) and after (none when removed,
/// as by expiry).
#[derive(Debug, Clone, PartialEq)]
pub struct CaseChange {
    pub before: Option<Case>,
    pub after: Option<Case>,
}

/// Which findings are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertPolicy {
    /// Findings below this raise no alert (incidents always do).
    pub min_severity: Severity,
}

impl Default for AlertPolicy {
    fn default() -> Self {
        Self {
            min_severity: Severity::Medium,
        }
    }
}

impl AlertPolicy {
    /// The default with `TRAILWATCH_ALERT_MIN_SEVERITY` applied.
    pub fn from_env() -> Result<Self, crate::baseline::SettingError> {
        let mut policy = Self::default();
        if let Ok(value) = std::env::var("TRAILWATCH_ALERT_MIN_SEVERITY") {
            policy.min_severity =
                value
                    .trim()
                    .parse()
                    .map_err(|_| crate::baseline::SettingError {
                        name: "TRAILWATCH_ALERT_MIN_SEVERITY".to_string(),
                        expected: "low, medium, high or critical",
                        value: value.clone(),
                    })?;
        }
        Ok(policy)
    }

    fn alertable(&self, finding: &Finding) -> bool {
        finding.severity >= self.min_severity && finding.suppressed_by.is_none()
    }
}

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlertKind {
    Finding,
    Incident,
}

impl AlertKind {
    /// The EventBridge `detail-type` and the SNS `kind` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Finding => "Finding",
            AlertKind::Incident => "Incident",
        }
    }
}

/// What happened to the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertChange {
    /// A new finding or incident (or a finding a suppression no longer covers).
    Opened,
    SeverityRaised,
    /// An incident a finding joined.
    Extended,
}

/// One step of an incident's timeline, as an alert tells it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineStep {
    pub at: DateTime<Utc>,
    pub finding_id: String,
    pub detection: String,
    pub title: String,
    pub tactic: String,
    pub severity: Severity,
    pub count: u64,
    pub reason: String,
}

/// The message: compact, and enough to act on without opening anything else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// The same for every publish of this change: receivers deduplicate on it.
    pub alert_id: String,
    pub kind: AlertKind,
    pub change: AlertChange,
    /// The finding's or incident's id.
    pub id: String,
    pub severity: Severity,
    pub title: String,
    pub principal: String,
    pub account_id: Option<String>,
    pub regions: Vec<String>,
    /// Why: the finding's first reason, or each step's.
    pub reasons: Vec<String>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Events behind the finding, or behind the incident's findings.
    pub count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detection: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tactics: Vec<String>,
    /// Incidents: the findings in time order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<TimelineStep>,
}

impl Alert {
    /// A line for a subject, an e-mail's or a pager's: within SNS's 100 characters.
    pub fn subject(&self) -> String {
        let text = format!(
            "trailwatch {} {}: {}",
            self.severity.as_str(),
            self.kind.as_str().to_lowercase(),
            self.title
        );
        truncate(&text, 100)
    }
}

fn truncate(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let mut end = limit - 1;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end.saturating_sub(2)])
}

/// The alerts one change raises: none, or one.
pub fn alerts_for(change: &CaseChange, policy: &AlertPolicy) -> Vec<Alert> {
    match (&change.before, &change.after) {
        (before, Some(Case::Finding(after))) => {
            let before = match before {
                Some(Case::Finding(before)) => Some(before.as_ref()),
                _ => None,
            };
            finding_alert(before, after, policy).into_iter().collect()
        }
        (before, Some(Case::Incident(after))) => {
            let before = match before {
                Some(Case::Incident(before)) => Some(before.as_ref()),
                _ => None,
            };
            incident_alert(before, after).into_iter().collect()
        }
        (_, None) => Vec::new(),
    }
}

fn finding_alert(before: Option<&Finding>, after: &Finding, policy: &AlertPolicy) -> Option<Alert> {
    if !policy.alertable(after) {
        return None;
    }
    let change = match before {
        Some(before) if policy.alertable(before) => {
            if after.severity > before.severity {
                AlertChange::SeverityRaised
            } else {
                return None;
            }
        }
        _ => AlertChange::Opened,
    };
    let alert_id = match change {
        AlertChange::SeverityRaised => format!("{}:severity-{}", after.id, after.severity.as_str()),
        _ => format!("{}:opened", after.id),
    };
    Some(Alert {
        alert_id,
        kind: AlertKind::Finding,
        change,
        id: after.id.clone(),
        severity: after.severity,
        title: after.detection.title.clone(),
        principal: after.principal.clone(),
        account_id: after.account_id.clone(),
        regions: after.regions.iter().cloned().collect(),
        reasons: vec![after.reason.clone()],
        first_seen: after.first_seen,
        last_seen: after.last_seen,
        count: after.count,
        detection: Some(after.detection.id.clone()),
        tactics: vec![after.detection.tactic.clone()],
        timeline: Vec::new(),
    })
}

fn incident_alert(before: Option<&Incident>, after: &Incident) -> Option<Alert> {
    // An incident made only of suppressed findings is stored for the record, told to no one.
    if after.steps.iter().all(|step| step.suppressed) {
        return None;
    }
    let change = match before {
        None => AlertChange::Opened,
        Some(before) if after.finding_ids.len() > before.finding_ids.len() => AlertChange::Extended,
        Some(before) if after.tactics.len() > before.tactics.len() => AlertChange::Extended,
        Some(before) if after.severity > before.severity => AlertChange::SeverityRaised,
        Some(_) => return None,
    };
    let alert_id = match change {
        AlertChange::Opened => format!("{}:opened", after.id),
        _ => format!(
            "{}:findings-{}-tactics-{}-{}",
            after.id,
            after.finding_ids.len(),
            after.tactics.len(),
            after.severity.as_str()
        ),
    };
    let timeline: Vec<TimelineStep> = after
        .steps
        .iter()
        .map(|step| TimelineStep {
            at: step.first_seen,
            finding_id: step.finding_id.clone(),
            detection: step.detection.id.clone(),
            title: step.detection.title.clone(),
            tactic: step.detection.tactic.clone(),
            severity: step.severity,
            count: step.count,
            reason: step.reason.clone(),
        })
        .collect();
    Some(Alert {
        alert_id,
        kind: AlertKind::Incident,
        change,
        id: after.id.clone(),
        severity: after.severity,
        title: truncate(&after.summary, 300),
        principal: after.principal.clone(),
        account_id: after.account_id.clone(),
        regions: Vec::new(),
        reasons: timeline.iter().map(|step| step.reason.clone()).collect(),
        first_seen: after.first_seen,
        last_seen: after.last_seen,
        count: timeline.iter().map(|step| step.count).sum(),
        detection: None,
        tactics: after.tactics.clone(),
        timeline,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Contribution, DetectionRef};
    use crate::incident::{IncidentSettings, Trail};

    fn finding(severity: Severity, count: u64) -> Finding {
        let mut finding: Finding = serde_json::from_value(serde_json::json!({
            "id": "F-1",
            "account_id": "111122223333",
            "principal": "user/bob",
            "detection": {"id": "TW-IAM-001", "title": "Access key created for another user",
                          "tactic": "Persistence", "technique": "T1098.001"},
            "key": null,
            "window_start": "2026-11-30T00:00:00Z",
            "severity": "low",
            "reason": "bob created an access key for alice",
            "first_seen": "2026-11-30T10:00:00Z",
            "last_seen": "2026-11-30T10:00:00Z",
            "count": 1,
            "event_ids": ["e1"],
            "actions": [], "networks": [], "user_agents": [], "regions": ["us-east-1"],
            "resources": [], "suppressed_by": null
        }))
        .unwrap();
        finding.severity = severity;
        finding.count = count;
        finding
    }

    fn change(before: Option<Finding>, after: Finding) -> CaseChange {
        CaseChange {
            before: before.map(|f| Case::Finding(Box::new(f))),
            after: Some(Case::Finding(Box::new(after))),
        }
    }

    #[test]
    fn a_new_finding_at_the_alert_severity_is_told_once_and_its_growth_is_not() {
        let policy = AlertPolicy::default();
        let opened = alerts_for(&change(None, finding(Severity::Medium, 1)), &policy);
        assert_eq!(opened.len(), 1);
        assert_eq!(opened[0].alert_id, "F-1:opened");
        assert_eq!(opened[0].change, AlertChange::Opened);
        assert_eq!(opened[0].reasons, ["bob created an access key for alice"]);
        let grown = change(
            Some(finding(Severity::Medium, 1)),
            finding(Severity::Medium, 9),
        );
        assert!(alerts_for(&grown, &policy).is_empty());
    }

    #[test]
    fn a_finding_below_the_alert_severity_is_told_when_it_rises_to_it() {
        let policy = AlertPolicy::default();
        assert!(alerts_for(&change(None, finding(Severity::Low, 1)), &policy).is_empty());
        let risen = alerts_for(
            &change(Some(finding(Severity::Low, 1)), finding(Severity::High, 2)),
            &policy,
        );
        assert_eq!(risen[0].change, AlertChange::Opened);
        let risen_again = alerts_for(
            &change(
                Some(finding(Severity::High, 2)),
                finding(Severity::Critical, 3),
            ),
            &policy,
        );
        assert_eq!(risen_again[0].change, AlertChange::SeverityRaised);
        assert_eq!(risen_again[0].alert_id, "F-1:severity-critical");
    }

    #[test]
    fn suppressed_findings_and_status_changes_are_told_to_no_one() {
        let policy = AlertPolicy::default();
        let mut suppressed = finding(Severity::High, 1);
        suppressed.suppressed_by = Some("ci-role".into());
        assert!(alerts_for(&change(None, suppressed.clone()), &policy).is_empty());
        let mut acknowledged = finding(Severity::High, 1);
        acknowledged.status = crate::query::Status::Acknowledged;
        assert!(
            alerts_for(
                &change(Some(finding(Severity::High, 1)), acknowledged),
                &policy
            )
            .is_empty()
        );
        // One event no rule matches lifts the suppression: now it is told.
        let lifted = alerts_for(
            &change(Some(suppressed), finding(Severity::High, 2)),
            &policy,
        );
        assert_eq!(lifted[0].change, AlertChange::Opened);
        let removed = CaseChange {
            before: Some(Case::Finding(Box::new(finding(Severity::High, 1)))),
            after: None,
        };
        assert!(alerts_for(&removed, &policy).is_empty());
    }

    #[test]
    fn the_alert_severity_is_a_setting_named_when_wrong() {
        // Environment is process-wide: only this test sets this variable.
        unsafe { std::env::set_var("TRAILWATCH_ALERT_MIN_SEVERITY", "urgent") };
        let error = AlertPolicy::from_env().unwrap_err();
        assert!(error.to_string().contains("TRAILWATCH_ALERT_MIN_SEVERITY"));
        unsafe { std::env::set_var("TRAILWATCH_ALERT_MIN_SEVERITY", "high") };
        assert_eq!(
            AlertPolicy::from_env().unwrap().min_severity,
            Severity::High
        );
        unsafe { std::env::remove_var("TRAILWATCH_ALERT_MIN_SEVERITY") };
    }

    fn contribution(finding: &str, tactic: &str, severity: Severity, minute: i64) -> Contribution {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-30T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + chrono::Duration::minutes(minute);
        Contribution {
            finding_id: finding.into(),
            account_id: Some("111122223333".into()),
            principal: "user/bob".into(),
            access_key: Some("AKIABOB".into()),
            detection: DetectionRef {
                id: format!("TW-{finding}"),
                title: format!("{tactic} step"),
                tactic: tactic.into(),
                technique: "T0".into(),
            },
            key: None,
            window_start: at,
            severity,
            reason: format!("bob did {finding}"),
            event_id: format!("e-{finding}-{minute}"),
            event_time: at,
            action: "iam:CreateUser".into(),
            network: None,
            user_agent: None,
            region: Some("us-east-1".into()),
            resources: Vec::new(),
            suppressed_by: None,
        }
    }

    #[test]
    fn an_incident_is_told_when_opened_and_when_a_finding_joins_it_with_its_timeline() {
        let settings = IncidentSettings::default();
        let first = contribution("F-a", "Discovery", Severity::Medium, 0);
        let mut trail = Trail::new(&first);
        trail.absorb(&first, &settings);
        assert!(trail.incident.is_none());
        trail.absorb(
            &contribution("F-b", "Persistence", Severity::High, 5),
            &settings,
        );
        let opened = trail
            .incident
            .clone()
            .expect("two tactics open an incident");
        let told = alerts_for(
            &CaseChange {
                before: None,
                after: Some(Case::Incident(Box::new(opened.clone()))),
            },
            &AlertPolicy::default(),
        );
        assert_eq!(told.len(), 1);
        assert_eq!(told[0].kind, AlertKind::Incident);
        assert_eq!(told[0].alert_id, format!("{}:opened", opened.id));
        let steps: Vec<&str> = told[0]
            .timeline
            .iter()
            .map(|s| s.finding_id.as_str())
            .collect();
        assert_eq!(steps, ["F-a", "F-b"]);
        assert_eq!(told[0].tactics, ["Discovery", "Persistence"]);

        // The same findings again: counts grow, nothing is told.
        trail.absorb(
            &contribution("F-b", "Persistence", Severity::High, 6),
            &settings,
        );
        let grown = trail.incident.clone().unwrap();
        let incident_change = |before: &Incident, after: &Incident| CaseChange {
            before: Some(Case::Incident(Box::new(before.clone()))),
            after: Some(Case::Incident(Box::new(after.clone()))),
        };
        assert!(alerts_for(&incident_change(&opened, &grown), &AlertPolicy::default()).is_empty());

        // A third tactic joins: extended, under an id of its own.
        trail.absorb(
            &contribution("F-c", "Defense Evasion", Severity::High, 9),
            &settings,
        );
        let extended = trail.incident.clone().unwrap();
        let told = alerts_for(&incident_change(&grown, &extended), &AlertPolicy::default());
        assert_eq!(told[0].change, AlertChange::Extended);
        assert_ne!(told[0].alert_id, format!("{}:opened", opened.id));
        assert_eq!(told[0].timeline.len(), 3);
    }
}
