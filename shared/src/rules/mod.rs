//! Detection rules: checks of one event for known-bad or high-risk calls, and stateful rules
//! whose condition marks the events they remember (a threshold of calls within minutes, a
//! principal's first call of a kind).
//!
//! Rules are data: each built-in rule is one YAML file under `shared/rules/`, embedded at
//! build time ([`catalog`]), in the format users write their own in ([`file`]): which calls it
//! concerns, a condition built from field tests and named structural checks ([`checks`]), a
//! reason template, and positive and negative cases ([`testing`]). The engine indexes rules
//! by event name, so an event is only tested against the rules that name its call.

pub mod attack;
pub mod catalog;
pub mod checks;
pub mod file;
pub mod testing;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use catalog::{built_in, built_in_files};
pub use file::{RuleError, RuleFile};

use crate::anomaly::{Detection, Severity};
use crate::event::Event;

#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    pub id: String,
    pub title: String,
    /// What an attacker gains by the call.
    pub description: String,
    /// What a legitimate caller of it looks like.
    pub legitimate: String,
    pub severity: Severity,
    /// MITRE ATT&CK tactic.
    pub tactic: String,
    /// MITRE ATT&CK technique id.
    pub technique: String,
    /// The calls the rule concerns, as `service:Name`; empty for every call.
    pub calls: Vec<String>,
    #[serde(skip)]
    pub when: When,
    /// The reason shown when the rule fires. `{principal}`, `{action}`, `{source_ip}`,
    /// `{region}` and `{outcome}` (" (denied: …)" for a failed call) are filled in, and so is
    /// `{/json/pointer}` from the CloudTrail record (`{/a|/b}`: the first present).
    #[serde(skip)]
    pub reason: String,
    /// What a failed call that meets the condition makes.
    pub on_failure: OnFailure,
    /// A change signal (the CIS monitoring set's "something of this kind changed"): kept
    /// only when no other rule fires on the event, so a call a specific rule reports is not
    /// reported twice.
    pub signal: bool,
    /// What the rule remembers across events; `None` for a rule of one event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stateful: Option<Stateful>,
}

/// What a stateful rule remembers. Its condition picks the events; the engine asks the
/// profile store whether they add up to a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stateful {
    /// Fires when at least `at_least` matching calls (or distinct values of a field) of one
    /// group fall within a sliding window of whole minutes — an absolute floor, so it fires
    /// even while a principal's baseline is learning.
    Threshold(Threshold),
    /// Fires on a principal's first matching call (or its first from a network) once its
    /// baseline has finished learning.
    FirstTime(FirstTime),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub at_least: u64,
    pub within_minutes: i64,
    /// Whose calls count together.
    pub per: Group,
    /// A JSON pointer: count distinct values of this field rather than calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distinct: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    Principal,
    SourceIp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FirstTime {
    /// The principal's first matching call.
    Call,
    /// The principal's first matching call from a network (IPv4 /24, IPv6 /48).
    Network,
}

impl Stateful {
    /// What the rule counts, in a few words: `1000+ per principal within 10 min`.
    pub fn summary(&self) -> String {
        match self {
            Stateful::Threshold(threshold) => {
                let per = match threshold.per {
                    Group::Principal => "principal",
                    Group::SourceIp => "source address",
                };
                let what = match &threshold.distinct {
                    Some(pointer) => format!(" distinct {pointer}"),
                    None => String::new(),
                };
                format!(
                    "{}+{what} per {per} within {} min",
                    threshold.at_least, threshold.within_minutes
                )
            }
            Stateful::FirstTime(FirstTime::Call) => "first per principal".into(),
            Stateful::FirstTime(FirstTime::Network) => "first per principal and network".into(),
        }
    }
}

impl Threshold {
    /// The group an event is counted in, if it has one (a call without a source address
    /// counts toward no source address).
    pub fn group_of(&self, event: &Event) -> Option<String> {
        match self.per {
            Group::Principal => Some(event.principal.clone()),
            Group::SourceIp => event.source_ip.clone(),
        }
    }

    /// The value an event counts as when distinct values are counted.
    pub fn value_of(&self, event: &Event) -> Option<String> {
        let pointer = self.distinct.as_deref()?;
        Some(match event.record().pointer(pointer) {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Null) | None => "(not recorded)".to_string(),
            Some(other) => other.to_string(),
        })
    }
}

/// What a rule makes of a call that failed (`errorCode` set: denied, invalid, throttled).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// Nothing happened, but someone tried: its own detection, `<id>-ATTEMPT`, one level
    /// lower ("Failed attempt: …"), since attempts are what reconnaissance looks like.
    #[default]
    Attempt,
    /// The rule's own detection, as for a success (root at work is news whatever the outcome).
    Fires,
}

/// A condition on one event.
#[derive(Debug, Clone)]
pub enum When {
    Always,
    /// The call did not fail.
    Succeeded,
    /// The API called is one of these (event names without any API version suffix).
    Named(Vec<String>),
    /// A field of the CloudTrail record, by JSON pointer, passes a test.
    Field(FieldPath, Test),
    All(Vec<When>),
    Any(Vec<When>),
    Not(Box<When>),
    /// A structural check too rich for field tests (policy documents, port ranges, …).
    Check(&'static str, checks::CheckFn),
}

/// A JSON pointer into a record, split into its keys once, when the rule is read: a rule's
/// field is looked up for every event, and `Value::pointer` splits and unescapes the pointer
/// (allocating each key) on every call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    pointer: String,
    keys: Vec<String>,
}

impl FieldPath {
    /// `pointer` as RFC 6901 writes it (`/requestParameters/name`; `~1` for `/`, `~0` for `~`).
    pub fn new(pointer: &str) -> Self {
        let keys = pointer
            .split('/')
            .skip(1)
            .map(|key| key.replace("~1", "/").replace("~0", "~"))
            .collect();
        FieldPath {
            pointer: pointer.to_string(),
            keys,
        }
    }

    pub fn pointer(&self) -> &str {
        &self.pointer
    }

    /// The keys the pointer names, unescaped, from the record's top.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// The value at this path, as `Value::pointer` finds it.
    pub fn find<'v>(&self, record: &'v Value) -> Option<&'v Value> {
        self.keys.iter().try_fold(record, |value, key| match value {
            Value::Object(fields) => fields.get(key),
            Value::Array(items) => array_index(key).and_then(|index| items.get(index)),
            _ => None,
        })
    }
}

/// A pointer's key as an array index: digits only, no leading zero (RFC 6901).
fn array_index(key: &str) -> Option<usize> {
    if key.starts_with('+') || (key.starts_with('0') && key.len() > 1) {
        return None;
    }
    key.parse().ok()
}

/// A test of one field's value.
#[derive(Debug, Clone)]
pub enum Test {
    Present,
    Equals(String),
    OneOf(Vec<String>),
    /// The value, a string, contains one of these (case-insensitively; kept lower-case).
    ContainsAny(Vec<String>),
    /// The value, a string, starts with one of these.
    StartsWith(Vec<String>),
    True,
    False,
}

impl Rule {
    /// The rule's detection of the event when its condition holds. For a stateful rule this
    /// says only that the event is one the rule remembers; the engine decides whether it
    /// fires.
    pub fn evaluate(&self, event: &Event) -> Option<Detection> {
        self.matches(event)
            .then(|| self.detection(event, render(&self.reason, event)))
    }

    /// Whether the event is one of the rule's calls and meets its condition.
    pub fn matches(&self, event: &Event) -> bool {
        self.concerns(event) && self.when.holds(event)
    }

    /// The rule's detection of an event whose reason is already written: its own, or its
    /// failed attempt's.
    pub fn detection(&self, event: &Event, reason: String) -> Detection {
        let attempt = event.error_code.is_some() && self.on_failure == OnFailure::Attempt;
        let (id, title, severity) = if attempt {
            (
                format!("{}-ATTEMPT", self.id),
                format!("Failed attempt: {}", self.title),
                self.severity.lowered(),
            )
        } else {
            (self.id.clone(), self.title.clone(), self.severity)
        };
        Detection {
            id,
            title,
            severity,
            tactic: self.tactic.clone(),
            technique: self.technique.clone(),
            reason,
            tags: Vec::new(),
            attribution: None,
        }
    }

    /// The reason of a threshold rule that fired: `{count}` and `{window}` filled in too.
    pub fn threshold_reason(&self, event: &Event, count: u64, window_minutes: i64) -> String {
        let window = if window_minutes == 1 {
            "1 minute".to_string()
        } else {
            format!("{window_minutes} minutes")
        };
        render(
            &self
                .reason
                .replace("{count}", &count.to_string())
                .replace("{window}", &window),
            event,
        )
    }

    /// Whether the event is one of the calls this rule names. A seed event that names no
    /// service matches on the name alone.
    pub fn concerns(&self, event: &Event) -> bool {
        self.calls.is_empty()
            || self.calls.iter().any(|call| {
                let (service, name) = call.split_once(':').unwrap_or(("", call));
                name == event.event_name
                    && (event.event_source.is_none() || event.is_service_prefix(service))
            })
    }

    /// The event names this rule concerns, for indexing; `None` for every call.
    pub fn event_names(&self) -> Option<impl Iterator<Item = &str>> {
        (!self.calls.is_empty()).then(|| {
            self.calls
                .iter()
                .map(|call| call.split_once(':').map_or(call.as_str(), |(_, name)| name))
        })
    }
}

impl When {
    pub fn holds(&self, event: &Event) -> bool {
        match self {
            When::Always => true,
            When::Succeeded => event.error_code.is_none(),
            When::Named(names) => names.contains(&event.event_name),
            When::Field(path, test) => match event.known_field(path.pointer()) {
                Some(known) => known.is_some_and(|text| test.passes_text(text)),
                None => test.passes(path.find(event.record())),
            },
            When::All(all) => all.iter().all(|when| when.holds(event)),
            When::Any(any) => any.iter().any(|when| when.holds(event)),
            When::Not(not) => !not.holds(event),
            When::Check(_, check) => check(event),
        }
    }
}

impl Test {
    fn passes(&self, value: Option<&Value>) -> bool {
        let Some(value) = value.filter(|value| !value.is_null()) else {
            return false;
        };
        // A list passes when one of its items does (`accountIdsToAdd: ["All"]`).
        if let (Value::Array(items), false) = (value, matches!(self, Test::Present)) {
            return items.iter().any(|item| self.passes(Some(item)));
        }
        // Numbers compare by their text: `one_of: [0]` matches `0` whether CloudTrail wrote
        // it as a number or a string.
        let number = value.as_number().map(ToString::to_string);
        let text = value.as_str().or(number.as_deref());
        self.passes_scalar(text, value.as_bool())
    }

    /// Whether a string value passes.
    fn passes_text(&self, text: &str) -> bool {
        self.passes_scalar(Some(text), None)
    }

    /// Whether a value that is neither null nor a list passes: its text (a string's, or a
    /// number's), or the boolean it is.
    fn passes_scalar(&self, text: Option<&str>, boolean: Option<bool>) -> bool {
        match self {
            Test::Present => true,
            Test::Equals(expected) => text == Some(expected.as_str()),
            Test::OneOf(options) => text.is_some_and(|text| options.iter().any(|o| o == text)),
            Test::ContainsAny(needles) => text.is_some_and(|text| {
                let text = text.to_ascii_lowercase();
                needles.iter().any(|needle| text.contains(needle.as_str()))
            }),
            Test::StartsWith(prefixes) => {
                text.is_some_and(|text| prefixes.iter().any(|prefix| text.starts_with(prefix)))
            }
            Test::True => boolean == Some(true) || text == Some("true"),
            Test::False => boolean == Some(false) || text == Some("false"),
        }
    }
}

/// Fills a reason template from the event.
fn render(template: &str, event: &Event) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let Some(length) = rest[start..].find('}') else {
            break;
        };
        let key = &rest[start + 1..start + length];
        match key {
            "principal" => out.push_str(&event.principal),
            "action" => out.push_str(&event.action()),
            "source_ip" => out.push_str(event.source_ip.as_deref().unwrap_or("an unknown address")),
            "region" => out.push_str(event.region.as_deref().unwrap_or("an unknown region")),
            "outcome" => {
                if let Some(code) = &event.error_code {
                    out.push_str(&format!(" (denied: {code})"));
                }
            }
            // `{/a|/b}` is the first of several fields present. A field the record lacks
            // (denied calls often carry no parameters) falls back to the event's first
            // asset, which seed events name.
            pointers if pointers.starts_with('/') => {
                let found = pointers.split('|').find_map(|pointer| {
                    event
                        .record()
                        .pointer(pointer)
                        .filter(|value| !value.is_null())
                });
                match found {
                    Some(Value::String(text)) => out.push_str(text),
                    Some(other) => out.push_str(&other.to_string()),
                    None => out.push_str(
                        event
                            .assets
                            .first()
                            .map_or("(not recorded)", String::as_str),
                    ),
                }
            }
            other => {
                out.push('{');
                out.push_str(other);
                out.push('}');
            }
        }
        rest = &rest[start + length + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
