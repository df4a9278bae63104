//! The one normalised event every input shape becomes.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Where an event came from; the raw record keeps its original shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The prototype's simple event (`RequestID`, `EventID`, `RoleID`, …).
    Seed,
    /// A CloudTrail record, alone, in a delivery file, or inside an EventBridge event.
    CloudTrail,
}

/// One API call, whatever shape it arrived in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub origin: Origin,
    pub event_id: String,
    pub request_id: Option<String>,
    /// The identity that acted, normalised: an IAM user ARN, the role ARN of an assumed
    /// role (not the session), the root ARN, or the seed event's `RoleID`.
    pub principal: String,
    /// The kind of identity as CloudTrail names it (`IAMUser`, `AssumedRole`, `Root`, …).
    pub identity_type: Option<String>,
    /// The AWS service that invoked the call on the principal's behalf, if any.
    pub invoked_by: Option<String>,
    /// `userIdentity.accessKeyId`: the long-term key (`AKIA…`) or session key (`ASIA…`) used.
    pub access_key_id: Option<String>,
    /// `eventSource`, e.g. `cloudtrail.amazonaws.com`; a seed event's `EventType` may carry it
    /// as a `service:` prefix.
    pub event_source: Option<String>,
    /// `eventName`, or the seed event's `EventType` without its prefix.
    pub event_name: String,
    pub event_time: DateTime<Utc>,
    /// Resources the call touched: `AffectedAssets`, or CloudTrail's `resources[].ARN`.
    pub assets: Vec<String>,
    pub source_ip: Option<String>,
    pub region: Option<String>,
    pub user_agent: Option<String>,
    pub error_code: Option<String>,
    pub account_id: Option<String>,
    /// Console sign-in facts the rules need, read once here so no rule re-walks the record.
    pub console_login: Option<ConsoleLogin>,
    /// The record as received.
    pub raw: serde_json::Value,
    /// The CloudTrail record is `raw.detail` (an EventBridge event), not `raw` itself.
    pub record_in_detail: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsoleLogin {
    /// `responseElements.ConsoleLogin == "Success"`.
    pub succeeded: bool,
    /// `additionalEventData.MFAUsed`: `Some(false)` only when CloudTrail says "No".
    pub mfa_used: Option<bool>,
}

impl Event {
    /// `service:Name` as IAM policies spell an action, e.g. `cloudtrail:StopLogging`.
    pub fn action(&self) -> String {
        match &self.event_source {
            Some(source) => format!("{}:{}", service_prefix(source), self.event_name),
            None => self.event_name.clone(),
        }
    }

    /// The CloudTrail record (or seed event) itself, unwrapped from any envelope.
    pub fn record(&self) -> &serde_json::Value {
        if self.record_in_detail {
            &self.raw["detail"]
        } else {
            &self.raw
        }
    }

    /// Whether an AWS service made the call, itself or on a principal's behalf: the
    /// `AWSService` identity, a call `invokedBy` a service (not the console's sign-in, where a
    /// person acts), a service-linked role, or a `*.amazonaws.com` principal.
    pub fn is_aws_service_call(&self) -> bool {
        self.identity_type.as_deref() == Some("AWSService")
            || self.invoked_by.as_deref().is_some_and(|service| {
                service.ends_with(".amazonaws.com") && service != "signin.amazonaws.com"
            })
            || self.principal.contains(":role/aws-service-role/")
            || self.principal.ends_with(".amazonaws.com")
    }

    pub fn is_service_prefix(&self, service: &str) -> bool {
        self.event_source
            .as_deref()
            .is_some_and(|source| service_prefix(source) == service)
    }
}

/// `cloudtrail.amazonaws.com` → `cloudtrail`.
pub fn service_prefix(event_source: &str) -> &str {
    event_source
        .strip_suffix(".amazonaws.com")
        .unwrap_or(event_source)
}
