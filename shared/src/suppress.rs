//! Suppression rules: what a team has decided not to be told about again, and why. A rule
//! matches a detection on an event by any of detection id, principal (a glob), account,
//! source network (CIDR), user agent (a substring) and region; all it names must match. A
//! suppressed detection still makes its finding — stored marked with the rule, never dropped
//! — and still counts toward incidents: a signal a team tuned out can be part of an attack.
//!
//! Rules come from a YAML or JSON file (packaged with the detector, or `scan --suppressions`)
//! and, deployed, from a DynamoDB table; both read into [`Suppressions`].

use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, Utc};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use wildmatch::WildMatch;

use crate::anomaly::Detection;
use crate::event::Event;

/// One rule as written: every matcher optional, the reason required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuppressionRule {
    /// Names the rule on the findings it suppresses.
    #[serde(default)]
    pub id: String,
    /// A detection id, e.g. `TW-BASE-DENIED` or `TW-ROOT-001`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detection: Option<String>,
    /// A principal ARN, `*` matching any run of characters and `?` one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The source address's network, e.g. `203.0.113.0/24`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// Text the user agent contains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Why: required, so a suppression found a year later still explains itself.
    #[serde(default)]
    pub reason: String,
    /// The last day (UTC, `YYYY-MM-DD`) or moment (RFC 3339) the rule suppresses events of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// A rule that cannot be used, and why, naming it and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SuppressionError {
    #[error("suppressions: {0}")]
    Unreadable(String),
    #[error("suppression {rule}: {field} {problem}")]
    Invalid {
        rule: String,
        field: &'static str,
        problem: String,
    },
}

/// A rule ready to match.
#[derive(Debug, Clone)]
struct Compiled {
    rule: SuppressionRule,
    principal: Option<WildMatch>,
    network: Option<IpNet>,
    /// Events after this moment are not suppressed.
    expires: Option<DateTime<Utc>>,
}

/// The rules in force.
#[derive(Debug, Clone, Default)]
pub struct Suppressions {
    rules: Vec<Compiled>,
}

impl Suppressions {
    /// Checks each rule: an id (unique), a reason, at least one matcher, a valid network and
    /// expiry.
    pub fn new(rules: Vec<SuppressionRule>) -> Result<Self, SuppressionError> {
        let mut compiled: Vec<Compiled> = Vec::with_capacity(rules.len());
        for (position, rule) in rules.into_iter().enumerate() {
            let name = if rule.id.trim().is_empty() {
                format!("#{}", position + 1)
            } else {
                rule.id.clone()
            };
            let invalid = |field: &'static str, problem: &str| SuppressionError::Invalid {
                rule: name.clone(),
                field,
                problem: problem.to_string(),
            };
            if rule.id.trim().is_empty() {
                return Err(invalid("id", "is required"));
            }
            if compiled.iter().any(|other| other.rule.id == rule.id) {
                return Err(invalid("id", "is used by another rule"));
            }
            if rule.reason.trim().is_empty() {
                return Err(invalid("reason", "is required: say why this is suppressed"));
            }
            let matchers = [
                &rule.detection,
                &rule.principal,
                &rule.account,
                &rule.network,
                &rule.user_agent,
                &rule.region,
            ];
            if matchers.iter().all(|matcher| matcher.is_none()) {
                return Err(invalid(
                    "detection",
                    "or another matcher (principal, account, network, user_agent, region) is required: a rule matching everything would silence trailwatch",
                ));
            }
            let network = rule
                .network
                .as_deref()
                .map(parse_network)
                .transpose()
                .map_err(|problem| invalid("network", &problem))?;
            let expires = rule
                .expires
                .as_deref()
                .map(parse_expiry)
                .transpose()
                .map_err(|problem| invalid("expires", &problem))?;
            compiled.push(Compiled {
                principal: rule.principal.as_deref().map(WildMatch::new),
                network,
                expires,
                rule,
            });
        }
        Ok(Self { rules: compiled })
    }

    /// The valid rules among these, and what is wrong with the others (rules from a table
    /// anyone may write to: one bad rule must not disable the rest).
    pub fn lenient(rules: Vec<SuppressionRule>) -> (Self, Vec<SuppressionError>) {
        let mut valid = Suppressions::default();
        let mut problems = Vec::new();
        for rule in rules {
            match Suppressions::new(vec![rule]) {
                Ok(one) => valid = valid.merged(one),
                Err(problem) => problems.push(problem),
            }
        }
        (valid, problems)
    }

    /// Rules from YAML or JSON text: a list of rules.
    pub fn parse(text: &str) -> Result<Self, SuppressionError> {
        let rules: Vec<SuppressionRule> = if text.trim().is_empty() {
            Vec::new()
        } else {
            serde_norway::from_str(text)
                .map_err(|error| SuppressionError::Unreadable(error.to_string()))?
        };
        Self::new(rules)
    }

    /// Rules from a file.
    pub fn load(path: &std::path::Path) -> Result<Self, SuppressionError> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            SuppressionError::Unreadable(format!("cannot read {}: {error}", path.display()))
        })?;
        Self::parse(&text).map_err(|error| match error {
            SuppressionError::Unreadable(reason) => {
                SuppressionError::Unreadable(format!("{}: {reason}", path.display()))
            }
            invalid => invalid,
        })
    }

    /// These rules and another set's (the file's and the table's).
    pub fn merged(mut self, other: Suppressions) -> Self {
        for rule in other.rules {
            if !self.rules.iter().any(|own| own.rule.id == rule.rule.id) {
                self.rules.push(rule);
            }
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn rules(&self) -> impl Iterator<Item = &SuppressionRule> {
        self.rules.iter().map(|compiled| &compiled.rule)
    }

    /// The id of the first rule that suppresses this detection on this event, if any.
    pub fn suppressing(&self, detection: &Detection, event: &Event) -> Option<&str> {
        self.rules
            .iter()
            .find(|compiled| compiled.matches(detection, event))
            .map(|compiled| compiled.rule.id.as_str())
    }
}

impl Compiled {
    fn matches(&self, detection: &Detection, event: &Event) -> bool {
        let rule = &self.rule;
        self.expires.is_none_or(|end| event.event_time <= end)
            && rule.detection.as_ref().is_none_or(|id| *id == detection.id)
            && self
                .principal
                .as_ref()
                .is_none_or(|glob| glob.matches(&event.principal))
            && rule
                .account
                .as_ref()
                .is_none_or(|account| event.account_id.as_ref() == Some(account))
            && self.network.is_none_or(|network| {
                event
                    .source_ip
                    .as_deref()
                    .and_then(|address| address.parse::<IpAddr>().ok())
                    .is_some_and(|address| network.contains(&address))
            })
            && rule.user_agent.as_ref().is_none_or(|text| {
                event
                    .user_agent
                    .as_deref()
                    .is_some_and(|agent| agent.contains(text.as_str()))
            })
            && rule
                .region
                .as_ref()
                .is_none_or(|region| event.region.as_ref() == Some(region))
    }
}

/// `203.0.113.0/24`, or one address (`203.0.113.7`, a network of one).
fn parse_network(text: &str) -> Result<IpNet, String> {
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{text:?} is not a network: expected CIDR such as 203.0.113.0/24"))
}

/// A day (the whole day suppressed) or a moment.
fn parse_expiry(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(moment) = DateTime::parse_from_rfc3339(text) {
        return Ok(moment.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|day| day.and_hms_opt(23, 59, 59))
        .map(|end| end.and_utc())
        .ok_or_else(|| format!("{text:?} is not a date: expected YYYY-MM-DD or RFC 3339"))
}

/// The rules in force in a running detector: those of the packaged file, and those of the
/// table, read again at most every `refresh` (a rule added through the API takes effect within
/// it). When the table cannot be read, the rules last read stay in force.
pub struct LiveSuppressions {
    packaged: Suppressions,
    refresh: std::time::Duration,
    last: tokio::sync::Mutex<Option<(std::time::Instant, Suppressions)>>,
}

impl LiveSuppressions {
    pub fn new(packaged: Suppressions, refresh: std::time::Duration) -> Self {
        Self {
            packaged,
            refresh,
            last: tokio::sync::Mutex::new(None),
        }
    }

    /// The rules in force now.
    pub async fn current<S: crate::ports::SuppressionStore>(
        &self,
        table: Option<&S>,
    ) -> Suppressions {
        let Some(table) = table else {
            return self.packaged.clone();
        };
        let mut last = self.last.lock().await;
        if let Some((read_at, rules)) = &*last
            && read_at.elapsed() < self.refresh
        {
            return rules.clone();
        }
        match table.rules().await {
            Ok(rules) => {
                let (valid, problems) = Suppressions::lenient(rules);
                for problem in problems {
                    tracing::warn!(%problem, "suppression rule in the table not used");
                }
                let in_force = self.packaged.clone().merged(valid);
                *last = Some((std::time::Instant::now(), in_force.clone()));
                in_force
            }
            Err(error) => {
                tracing::warn!(%error, "suppression rules not read; the last ones read stay");
                last.as_ref()
                    .map(|(_, rules)| rules.clone())
                    .unwrap_or_else(|| self.packaged.clone())
            }
        }
    }
}

#[cfg(test)]
mod tests;
