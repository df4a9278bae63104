//! Reading findings and incidents back: filters, newest first, a page at a time, and the
//! status a person gives a finding. The API and the CLI ask the same [`CaseQueries`] port,
//! which the in-memory and DynamoDB stores answer alike (one contract suite).
//!
//! [`CaseQueries`]: crate::ports::CaseQueries

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::anomaly::Severity;
use crate::finding::Finding;
use crate::incident::Incident;

/// Where a person has taken a finding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Open,
    Acknowledged,
    Resolved,
    FalsePositive,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Open,
        Status::Acknowledged,
        Status::Resolved,
        Status::FalsePositive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Acknowledged => "acknowledged",
            Status::Resolved => "resolved",
            Status::FalsePositive => "false_positive",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Status {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| {
                format!("unknown status {text:?}: expected open, acknowledged, resolved or false_positive")
            })
    }
}

/// Who changed a finding's status, when, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The caller's ARN (the SigV4 caller of the API, or the CLI's identity).
    pub by: String,
    pub at: DateTime<Utc>,
}

/// The most items one page holds.
pub const MAX_PAGE: usize = 100;
/// Items a page holds when the caller does not say.
pub const DEFAULT_PAGE: usize = 50;

/// Which findings or incidents, and which page of them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseFilter {
    /// Last seen at or after.
    pub since: Option<DateTime<Utc>>,
    /// Last seen at or before.
    pub until: Option<DateTime<Utc>>,
    pub min_severity: Option<Severity>,
    pub principal: Option<String>,
    /// Findings only: a detection id.
    pub detection: Option<String>,
    /// Findings only.
    pub status: Option<Status>,
    /// 1..=[`MAX_PAGE`].
    pub limit: usize,
    /// The `next` of the page before.
    pub after: Option<String>,
}

/// One page, newest first, and the cursor of the next (none on the last).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// A filter that cannot be used, naming the parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{parameter}: {problem}")]
pub struct FilterError {
    pub parameter: &'static str,
    pub problem: String,
}

/// Why a query could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The caller's fault: a 400 naming the parameter.
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error(transparent)]
    Store(#[from] crate::ports::StoreError),
}

/// A cursor the caller did not get from us.
pub fn bad_cursor() -> QueryError {
    QueryError::Filter(FilterError {
        parameter: "next",
        problem: "not a cursor this API gave out".to_string(),
    })
}

impl CaseFilter {
    /// A filter from query parameters (`since`, `until`, `min_severity`, `principal`,
    /// `detection`, `status`, `limit`, `next`), each checked and named when wrong.
    pub fn from_parameters<'a>(
        parameters: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<CaseFilter, FilterError> {
        let mut filter = CaseFilter {
            limit: DEFAULT_PAGE,
            ..CaseFilter::default()
        };
        for (name, value) in parameters {
            let invalid =
                |parameter: &'static str, problem: String| FilterError { parameter, problem };
            match name {
                "since" => {
                    filter.since =
                        Some(parse_moment(value, false).map_err(|p| invalid("since", p))?)
                }
                "until" => {
                    filter.until = Some(parse_moment(value, true).map_err(|p| invalid("until", p))?)
                }
                "min_severity" => {
                    filter.min_severity =
                        Some(value.parse().map_err(|p| invalid("min_severity", p))?)
                }
                "principal" => filter.principal = Some(value.to_string()),
                "detection" => filter.detection = Some(value.to_string()),
                "status" => filter.status = Some(value.parse().map_err(|p| invalid("status", p))?),
                "limit" => {
                    filter.limit = value
                        .parse::<usize>()
                        .ok()
                        .filter(|limit| (1..=MAX_PAGE).contains(limit))
                        .ok_or_else(|| {
                            invalid(
                                "limit",
                                format!("{value:?} is not a whole number from 1 to {MAX_PAGE}"),
                            )
                        })?
                }
                "next" => filter.after = Some(value.to_string()),
                other => {
                    return Err(FilterError {
                        parameter: "query",
                        problem: format!(
                            "unknown parameter {other:?}: expected since, until, min_severity, principal, detection, status, limit or next"
                        ),
                    });
                }
            }
        }
        Ok(filter)
    }

    /// Whether a finding passes the filters (all but the page).
    pub fn admits_finding(&self, finding: &Finding) -> bool {
        self.admits(&finding.principal, finding.severity, finding.last_seen)
            && self
                .detection
                .as_ref()
                .is_none_or(|id| *id == finding.detection.id)
            && self.status.is_none_or(|status| status == finding.status)
    }

    /// Whether an incident passes the filters (detection and status say nothing of it).
    pub fn admits_incident(&self, incident: &Incident) -> bool {
        self.admits(&incident.principal, incident.severity, incident.last_seen)
    }

    fn admits(&self, principal: &str, severity: Severity, last_seen: DateTime<Utc>) -> bool {
        self.since.is_none_or(|since| last_seen >= since)
            && self.until.is_none_or(|until| last_seen <= until)
            && self.min_severity.is_none_or(|min| severity >= min)
            && self.principal.as_ref().is_none_or(|p| p == principal)
    }
}

/// A day (its start, or with `end_of_day` its last second) or an RFC 3339 moment.
fn parse_moment(text: &str, end_of_day: bool) -> Result<DateTime<Utc>, String> {
    if let Ok(moment) = DateTime::parse_from_rfc3339(text) {
        return Ok(moment.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|day| {
            if end_of_day {
                day.and_hms_milli_opt(23, 59, 59, 999)
            } else {
                day.and_hms_opt(0, 0, 0)
            }
        })
        .map(|moment| moment.and_utc())
        .ok_or_else(|| format!("{text:?} is not a date: expected YYYY-MM-DD or RFC 3339"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_read_and_a_bad_one_is_named() {
        let filter = CaseFilter::from_parameters([
            ("since", "2026-11-01"),
            ("until", "2026-11-02"),
            ("min_severity", "high"),
            ("status", "false_positive"),
            ("limit", "10"),
        ])
        .expect("valid");
        assert_eq!(
            filter.since.unwrap().to_rfc3339(),
            "2026-11-01T00:00:00+00:00"
        );
        assert_eq!(
            filter.until.unwrap().to_rfc3339(),
            "2026-11-02T23:59:59.999+00:00"
        );
        assert_eq!(filter.min_severity, Some(Severity::High));
        assert_eq!(filter.status, Some(Status::FalsePositive));
        assert_eq!(filter.limit, 10);
        let refused = |name, value| CaseFilter::from_parameters([(name, value)]).unwrap_err();
        assert_eq!(refused("limit", "500").parameter, "limit");
        assert_eq!(refused("since", "yesterday").parameter, "since");
        assert_eq!(refused("status", "closed").parameter, "status");
        assert_eq!(refused("min_severity", "severe").parameter, "min_severity");
        assert!(
            refused("sort", "asc")
                .problem
                .contains("unknown parameter \"sort\"")
        );
        assert_eq!(CaseFilter::from_parameters([]).unwrap().limit, DEFAULT_PAGE);
    }
}
