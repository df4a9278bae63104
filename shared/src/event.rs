//! The one normalised event every input shape becomes.

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use serde_json::Value;

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
    /// `userIdentity.arn` as recorded: for an assumed role, the session's ARN.
    pub identity_arn: Option<String>,
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
    pub raw: Raw,
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
            &self.raw.value()["detail"]
        } else {
            self.raw.value()
        }
    }

    /// A string field the event holds exactly as its record has it, read without building
    /// the record's tree: `Some(None)` when the record lacks it (or has null). `None` when
    /// the event cannot say, and the tree must be read. An event read from its text holds
    /// these exactly (such a record has each as a string, non-empty, or not at all);
    /// otherwise the event's fields may differ from the record's (an empty string, a number).
    pub fn known_field(&self, pointer: &str) -> Option<Option<&str>> {
        if !self.raw.is_from_text() {
            return None;
        }
        let field = match pointer {
            "/userAgent" => &self.user_agent,
            "/errorCode" => &self.error_code,
            "/sourceIPAddress" => &self.source_ip,
            "/eventSource" => &self.event_source,
            "/userIdentity/type" => &self.identity_type,
            "/userIdentity/arn" => &self.identity_arn,
            "/userIdentity/invokedBy" => &self.invoked_by,
            "/userIdentity/accessKeyId" => &self.access_key_id,
            _ => return None,
        };
        Some(field.as_deref())
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

/// An event's record as received: parsed, or kept as its text and parsed the first time
/// something reads it. Most records are judged on the fields [`Event`] holds; building the
/// whole tree for each was the largest cost of a scan.
#[derive(Default, Clone)]
pub struct Raw {
    /// The text, when the record was read from it; it is known to be JSON.
    text: Option<Box<str>>,
    value: OnceLock<Value>,
}

impl Raw {
    /// A record read from its text by the input module, which vouches that the event's
    /// fields are the record's (see [`Event::known_field`]): its tree is built when first
    /// asked for.
    pub(crate) fn from_json_text(text: Box<str>) -> Self {
        Self {
            text: Some(text),
            value: OnceLock::new(),
        }
    }

    /// The record as a tree.
    pub fn value(&self) -> &Value {
        self.value.get_or_init(|| match &self.text {
            // The text parsed once already, so this cannot fail; `Null` is what a
            // record without a tree reads as.
            Some(text) => serde_json::from_str(text).unwrap_or(Value::Null),
            None => Value::Null,
        })
    }

    /// Whether the record was read from its text (into an event whose fields say exactly
    /// what the record's do: see [`Event::known_field`]).
    pub fn is_from_text(&self) -> bool {
        self.text.is_some()
    }

    /// Whether the tree has been built (for tests of what reads it).
    pub fn is_parsed(&self) -> bool {
        self.value.get().is_some()
    }
}

impl From<Value> for Raw {
    fn from(value: Value) -> Self {
        Self {
            text: None,
            value: OnceLock::from(value),
        }
    }
}

impl PartialEq for Raw {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value()
    }
}

impl std::fmt::Debug for Raw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.value().fmt(f)
    }
}

impl Serialize for Raw {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(serializer)
    }
}
