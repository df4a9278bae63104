//! The built-in rule catalog: stateless checks of one event for known-bad or high-risk calls.
//!
//! Rules are data ([`catalog::CATALOG`]): which calls they concern, a condition built from a
//! few field tests and named structural checks, and a reason template. The engine indexes
//! them by event name, so an event is only tested against the rules that name its call.

mod catalog;
mod checks;

use serde::Serialize;
use serde_json::Value;

pub use catalog::CATALOG;

use crate::anomaly::{Detection, Severity};
use crate::event::Event;

#[derive(Debug, Serialize)]
pub struct Rule {
    pub id: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub severity: Severity,
    /// MITRE ATT&CK tactic.
    pub tactic: &'static str,
    /// MITRE ATT&CK technique id.
    pub technique: &'static str,
    /// The calls the rule concerns, as `service:Name`; empty for every call.
    pub calls: &'static [&'static str],
    #[serde(skip)]
    pub when: When,
    /// The reason shown when the rule fires. `{principal}`, `{action}`, `{source_ip}`,
    /// `{region}` and `{outcome}` (" (denied: …)" for a failed call) are filled in, and so is
    /// `{/json/pointer}` from the CloudTrail record (`{/a|/b}`: the first present).
    #[serde(skip)]
    pub reason: &'static str,
    /// What a failed call that meets the condition makes.
    pub on_failure: OnFailure,
}

/// What a rule makes of a call that failed (`errorCode` set: denied, invalid, throttled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// Nothing happened, but someone tried: its own detection, `<id>-ATTEMPT`, one level
    /// lower ("Failed attempt: …"), since attempts are what reconnaissance looks like.
    Attempt,
    /// The rule's own detection, as for a success (root at work is news whatever the outcome).
    Fires,
}

/// A condition on one event.
#[derive(Debug, Clone, Copy)]
pub enum When {
    Always,
    /// The call did not fail.
    Succeeded,
    /// The API called is one of these (event names without any API version suffix).
    Named(&'static [&'static str]),
    /// A field of the CloudTrail record, by JSON pointer, passes a test.
    Field(&'static str, Test),
    All(&'static [When]),
    Any(&'static [When]),
    Not(&'static When),
    /// A structural check too rich for field tests (policy documents, port ranges, …).
    Check(fn(&Event) -> bool),
}

/// A test of one field's value.
#[derive(Debug, Clone, Copy)]
pub enum Test {
    Present,
    Equals(&'static str),
    OneOf(&'static [&'static str]),
    /// The value, a string, contains one of these (case-insensitively).
    ContainsAny(&'static [&'static str]),
    /// The value, a string, starts with one of these.
    StartsWith(&'static [&'static str]),
    True,
    False,
}

impl Rule {
    pub fn evaluate(&self, event: &Event) -> Option<Detection> {
        if !self.concerns(event) || !self.when.holds(event) {
            return None;
        }
        let attempt = event.error_code.is_some() && self.on_failure == OnFailure::Attempt;
        let (id, title, severity) = if attempt {
            (
                format!("{}-ATTEMPT", self.id),
                format!("Failed attempt: {}", self.title),
                self.severity.lowered(),
            )
        } else {
            (self.id.to_string(), self.title.to_string(), self.severity)
        };
        Some(Detection {
            id,
            title,
            severity,
            tactic: self.tactic.to_string(),
            technique: self.technique.to_string(),
            reason: render(self.reason, event),
            tags: Vec::new(),
            attribution: None,
        })
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
    pub fn event_names(&self) -> Option<impl Iterator<Item = &'static str>> {
        (!self.calls.is_empty()).then(|| {
            self.calls
                .iter()
                .map(|call| call.split_once(':').map_or(*call, |(_, name)| name))
        })
    }
}

impl When {
    pub fn holds(&self, event: &Event) -> bool {
        match self {
            When::Always => true,
            When::Succeeded => event.error_code.is_none(),
            When::Named(names) => names.contains(&event.event_name.as_str()),
            When::Field(pointer, test) => test.passes(event.record().pointer(pointer)),
            When::All(all) => all.iter().all(|when| when.holds(event)),
            When::Any(any) => any.iter().any(|when| when.holds(event)),
            When::Not(not) => !not.holds(event),
            When::Check(check) => check(event),
        }
    }
}

impl Test {
    fn passes(&self, value: Option<&Value>) -> bool {
        let Some(value) = value.filter(|value| !value.is_null()) else {
            return false;
        };
        let text = value.as_str();
        match self {
            Test::Present => true,
            Test::Equals(expected) => text == Some(expected),
            Test::OneOf(options) => text.is_some_and(|text| options.contains(&text)),
            Test::ContainsAny(needles) => text.is_some_and(|text| {
                let text = text.to_ascii_lowercase();
                needles
                    .iter()
                    .any(|needle| text.contains(&needle.to_ascii_lowercase()))
            }),
            Test::StartsWith(prefixes) => {
                text.is_some_and(|text| prefixes.iter().any(|prefix| text.starts_with(prefix)))
            }
            Test::True => value.as_bool() == Some(true) || text == Some("true"),
            Test::False => value.as_bool() == Some(false) || text == Some("false"),
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
