//! The built-in rule catalog: stateless checks of one event for known-bad or high-risk calls.
//! Each rule is data (id, title, severity, ATT&CK mapping) plus one predicate that returns
//! the reason it fired.

use crate::anomaly::{Detection, Severity};
use crate::event::Event;

pub struct Rule {
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub tactic: &'static str,
    pub technique: &'static str,
    /// `Some(reason)` when the rule fires on the event.
    pub check: fn(&Event) -> Option<String>,
}

impl Rule {
    pub fn evaluate(&self, event: &Event) -> Option<Detection> {
        (self.check)(event).map(|reason| Detection {
            id: self.id.to_string(),
            title: self.title.to_string(),
            severity: self.severity,
            tactic: self.tactic.to_string(),
            technique: self.technique.to_string(),
            reason,
        })
    }
}

pub static CATALOG: &[Rule] = &[
    Rule {
        id: "TW-CLOUDTRAIL-001",
        title: "CloudTrail logging stopped or trail deleted",
        severity: Severity::High,
        tactic: "Defense Evasion",
        technique: "T1562.008",
        check: cloudtrail_logging_stopped,
    },
    Rule {
        id: "TW-ROOT-001",
        title: "Root account used",
        severity: Severity::High,
        tactic: "Privilege Escalation",
        technique: "T1078.004",
        check: root_account_used,
    },
    Rule {
        id: "TW-SIGNIN-001",
        title: "Console login without MFA",
        severity: Severity::Medium,
        tactic: "Initial Access",
        technique: "T1078.004",
        check: console_login_without_mfa,
    },
];

/// " (denied: AccessDenied)" when the call failed, so a blocked attempt reads as one.
fn outcome(event: &Event) -> String {
    event
        .error_code
        .as_deref()
        .map(|code| format!(" (denied: {code})"))
        .unwrap_or_default()
}

fn cloudtrail_logging_stopped(event: &Event) -> Option<String> {
    let stops_logging = matches!(event.event_name.as_str(), "StopLogging" | "DeleteTrail");
    (stops_logging && (event.event_source.is_none() || event.is_service_prefix("cloudtrail"))).then(
        || {
            format!(
                "{} called {}{}",
                event.principal,
                event.action(),
                outcome(event)
            )
        },
    )
}

fn root_account_used(event: &Event) -> Option<String> {
    let by_root = event.identity_type.as_deref() == Some("Root");
    // Calls AWS services make with the root identity on the user's behalf are not root use.
    (by_root && event.invoked_by.is_none()).then(|| {
        format!(
            "the root user called {}{}{}",
            event.action(),
            event
                .source_ip
                .as_deref()
                .map(|ip| format!(" from {ip}"))
                .unwrap_or_default(),
            outcome(event)
        )
    })
}

/// Federated sign-ins (SSO, SAML, Identity Center) carry `MFAUsed: No` even when the
/// identity provider enforced MFA, so only IAM users and root are judged.
fn console_login_without_mfa(event: &Event) -> Option<String> {
    let login = event.console_login.as_ref()?;
    let judged = matches!(event.identity_type.as_deref(), Some("IAMUser" | "Root"));
    (judged && login.succeeded && login.mfa_used == Some(false)).then(|| {
        format!(
            "{} signed in to the console without MFA{}",
            event.principal,
            event
                .source_ip
                .as_deref()
                .map(|ip| format!(" from {ip}"))
                .unwrap_or_default()
        )
    })
}
