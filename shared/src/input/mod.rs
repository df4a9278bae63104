//! Every input shape trailwatch accepts, validated and normalised to [`Event`]s.
//!
//! A body is one event, an array of events, or a CloudTrail delivery file
//! (`{"Records": [...]}`); arrays may hold delivery files too. An event is the prototype's
//! seed event, a CloudTrail record, or an EventBridge event carrying a CloudTrail record.
//! Each event is validated on its own, so one bad event never hides its valid neighbours,
//! and every problem is reported at once.

mod census;
mod cloudtrail;
mod eventbridge;
mod fields;
mod record_text;
mod seed;

pub use census::{Census, census};
pub use cloudtrail::role_arn_of_session;
pub use eventbridge::DETAIL_TYPES as EVENTBRIDGE_DETAIL_TYPES;
pub use record_text::read as read_cloudtrail_text;

use serde::Serialize;
use serde_json::Value;

use crate::event::Event;

/// One thing wrong with one event: which event, which field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Problem {
    /// Position of the event in the request, counting the records of delivery files.
    pub index: usize,
    /// The field's path inside the event (`detail.eventTime`); empty for the event as a whole.
    pub field: String,
    pub problem: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            write!(f, "event {}: {}", self.index, self.problem)
        } else {
            write!(f, "event {}: {} {}", self.index, self.field, self.problem)
        }
    }
}

/// The result for one event of a body, in request order.
#[derive(Debug, Clone)]
pub struct ParsedEvent {
    pub index: usize,
    /// The id the event claims, valid or not, so a rejection can be logged by it.
    pub claimed_id: Option<String>,
    pub outcome: Result<Event, Vec<Problem>>,
}

/// Why a body as a whole could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("the body is not valid JSON: {0}")]
    NotJson(String),
    #[error("the body must be a JSON object or array, found {0}")]
    WrongShape(&'static str),
    #[error("the body holds no events")]
    Empty,
    #[error("the body is not a list of events: {0}")]
    NotEvents(String),
}

/// Parses a raw body into its events.
pub fn parse_body(body: &[u8]) -> Result<Vec<ParsedEvent>, BodyError> {
    let value = parse_json(body, "body").map_err(BodyError::NotJson)?;
    parse_value(value)
}

/// JSON from bytes, checked for UTF-8 once for the whole: parsing bytes checks every string
/// on its own, which costs more. A break in UTF-8 is named by its byte, counted from the
/// start of `what` (the body, the record).
pub fn parse_json(bytes: &[u8], what: &str) -> Result<Value, String> {
    serde_json::from_str(utf8(bytes, what)?).map_err(|error| error.to_string())
}

/// The bytes as text, or where they stop being UTF-8, counted from the start of `what`.
pub fn utf8<'b>(bytes: &'b [u8], what: &str) -> Result<&'b str, String> {
    std::str::from_utf8(bytes)
        .map_err(|error| format!("not UTF-8 (byte {} of the {what})", error.valid_up_to()))
}

/// Splits a JSON value into its events and parses each one.
pub fn parse_value(value: Value) -> Result<Vec<ParsedEvent>, BodyError> {
    let records = match value {
        Value::Array(items) => items.into_iter().flat_map(delivery_records).collect(),
        Value::Object(_) => delivery_records(value),
        other => return Err(BodyError::WrongShape(json_type(&other))),
    };
    if records.is_empty() {
        return Err(BodyError::Empty);
    }
    Ok(records
        .into_iter()
        .enumerate()
        .map(|(index, record)| ParsedEvent {
            index,
            claimed_id: claimed_id(&record),
            outcome: parse_event(index, record),
        })
        .collect())
}

/// A delivery file's records, or the value itself when it is not a delivery file.
fn delivery_records(value: Value) -> Vec<Value> {
    match value {
        Value::Object(mut object) if matches!(object.get("Records"), Some(Value::Array(_))) => {
            match object.remove("Records") {
                Some(Value::Array(records)) => records,
                _ => unreachable!("checked by the guard above"),
            }
        }
        other => vec![other],
    }
}

/// `EventID`, `eventID` or `detail.eventID`, if it is a string.
fn claimed_id(record: &Value) -> Option<String> {
    ["/EventID", "/eventID", "/detail/eventID"]
        .iter()
        .find_map(|pointer| record.pointer(pointer).and_then(Value::as_str))
        .map(str::to_string)
}

/// Recognises the shape of one event and parses it.
pub fn parse_event(index: usize, value: Value) -> Result<Event, Vec<Problem>> {
    let Value::Object(object) = &value else {
        return Err(vec![Problem {
            index,
            field: String::new(),
            problem: format!(
                "an event must be a JSON object, found {}",
                json_type(&value)
            ),
        }]);
    };
    let parsed = if object.contains_key("detail-type") || object.contains_key("detail") {
        eventbridge::parse(index, object)
    } else if cloudtrail::looks_like(object) {
        cloudtrail::parse(index, object)
    } else if seed::looks_like(object) {
        seed::parse(index, object)
    } else {
        Err(vec![Problem {
            index,
            field: String::new(),
            problem: "not a recognised event: expected a trailwatch event (RequestID, EventID, \
                      RoleID, EventType, EventTimestamp, AffectedAssets), a CloudTrail record \
                      (eventID, eventTime, eventSource, eventName) or an EventBridge CloudTrail \
                      event (detail-type, detail)"
                .to_string(),
        }])
    };
    let event = parsed?;
    let problems = bound_problems(index, &event);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Event {
        raw: value.into(),
        ..event
    })
}

/// The longest event id accepted, in bytes.
pub const MAX_EVENT_ID_BYTES: usize = 256;
/// The longest principal accepted, in bytes: it becomes part of DynamoDB keys (1 KB sort keys).
pub const MAX_PRINCIPAL_BYTES: usize = 900;
/// The most assets (resources) one event may name.
pub const MAX_ASSETS: usize = 1_000;
/// The longest asset accepted, in bytes.
pub const MAX_ASSET_BYTES: usize = 2_048;

/// Where a field sits in the event as received: the seed event's name, or the CloudTrail
/// record's name, under `detail.` when the record came inside an EventBridge event.
pub fn field_path(event: &Event, seed: &str, record: &str) -> String {
    match (event.origin, event.record_in_detail) {
        (crate::event::Origin::Seed, _) => seed.to_string(),
        (_, true) => format!("detail.{record}"),
        (_, false) => record.to_string(),
    }
}

/// Sizes every store can take, checked once for every shape: an event that passes here can
/// always be stored.
fn bound_problems(index: usize, event: &Event) -> Vec<Problem> {
    let field = |seed: &str, record: &str| field_path(event, seed, record);
    let mut problems = Vec::new();
    let mut problem = |field: String, problem: String| {
        problems.push(Problem {
            index,
            field,
            problem,
        })
    };
    if event.event_id.len() > MAX_EVENT_ID_BYTES {
        problem(
            field("EventID", "eventID"),
            format!(
                "is {} bytes; at most {MAX_EVENT_ID_BYTES} are accepted",
                event.event_id.len()
            ),
        );
    }
    if event.principal.len() > MAX_PRINCIPAL_BYTES {
        problem(
            field("RoleID", "userIdentity"),
            format!(
                "names a principal of {} bytes; at most {MAX_PRINCIPAL_BYTES} are accepted",
                event.principal.len()
            ),
        );
    }
    if event.assets.len() > MAX_ASSETS {
        problem(
            field("AffectedAssets", "resources"),
            format!(
                "holds {} assets; at most {MAX_ASSETS} are accepted",
                event.assets.len()
            ),
        );
    }
    if let Some(position) = event
        .assets
        .iter()
        .position(|asset| asset.len() > MAX_ASSET_BYTES)
    {
        problem(
            format!("{}[{position}]", field("AffectedAssets", "resources")),
            format!("is over {MAX_ASSET_BYTES} bytes"),
        );
    }
    problems
}

pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
pub(crate) mod tests;
