//! Reads the fields of one JSON object, collecting every problem instead of stopping at the
//! first.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{Problem, json_type};

/// Longest id we accept; ids become queue entries and table keys.
pub const MAX_ID_LEN: usize = 256;

pub struct Fields<'a> {
    object: &'a Map<String, Value>,
    /// Path of this object inside the event, e.g. `detail.`.
    prefix: &'a str,
    index: usize,
    pub problems: Vec<Problem>,
}

impl<'a> Fields<'a> {
    pub fn new(object: &'a Map<String, Value>, prefix: &'a str, index: usize) -> Self {
        Self {
            object,
            prefix,
            index,
            problems: Vec::new(),
        }
    }

    pub fn problem(&mut self, field: &str, problem: impl Into<String>) {
        self.problems.push(Problem {
            index: self.index,
            field: format!("{}{}", self.prefix, field),
            problem: problem.into(),
        });
    }

    /// A required, non-empty string of at most [`MAX_ID_LEN`] characters.
    pub fn required_id(&mut self, key: &str) -> Option<String> {
        let value = self.required_string(key)?;
        match id_problem(&value) {
            Some(problem) => {
                self.problem(key, problem);
                None
            }
            None => Some(value),
        }
    }

    pub fn required_string(&mut self, key: &str) -> Option<String> {
        match self.object.get(key) {
            None => {
                self.problem(key, "is required");
                None
            }
            Some(Value::String(value)) => Some(value.clone()),
            Some(other) => {
                self.problem(key, format!("must be a string, found {}", json_type(other)));
                None
            }
        }
    }

    /// A required RFC 3339 timestamp.
    pub fn required_time(&mut self, key: &str) -> Option<DateTime<Utc>> {
        let text = self.required_string(key)?;
        match event_time(&text) {
            Ok(time) => Some(time),
            Err(problem) => {
                self.problem(key, problem);
                None
            }
        }
    }

    /// A required array of strings (possibly empty).
    pub fn required_strings(&mut self, key: &str) -> Option<Vec<String>> {
        match self.object.get(key) {
            None => {
                self.problem(key, "is required");
                None
            }
            Some(Value::Array(items)) => {
                let mut strings = Vec::with_capacity(items.len());
                let mut ok = true;
                for (position, item) in items.iter().enumerate() {
                    match item {
                        Value::String(text) => strings.push(text.clone()),
                        other => {
                            ok = false;
                            self.problem(
                                &format!("{key}[{position}]"),
                                format!("must be a string, found {}", json_type(other)),
                            );
                        }
                    }
                }
                ok.then_some(strings)
            }
            Some(other) => {
                self.problem(
                    key,
                    format!("must be an array of strings, found {}", json_type(other)),
                );
                None
            }
        }
    }

    pub fn finish<T>(self, value: Option<T>) -> Result<T, Vec<Problem>> {
        match value {
            Some(value) if self.problems.is_empty() => Ok(value),
            _ => Err(self.problems),
        }
    }
}

/// What is wrong with an id: empty, or longer than [`MAX_ID_LEN`] characters.
pub fn id_problem(value: &str) -> Option<String> {
    if value.trim().is_empty() {
        return Some("must not be empty".to_string());
    }
    // Bytes bound characters: most ids need no counting.
    if value.len() <= MAX_ID_LEN {
        return None;
    }
    let length = value.chars().count();
    (length > MAX_ID_LEN)
        .then(|| format!("is {length} characters long; at most {MAX_ID_LEN} are allowed"))
}

/// A string that may be absent, owned; see [`optional_str`].
pub fn optional_string(object: &Map<String, Value>, key: &str) -> Option<String> {
    optional_str(object, key).map(str::to_string)
}

/// A string that may be absent; empty, or a value of another type, counts as absent, since
/// CloudTrail's optional fields vary between services.
pub fn optional_str<'v>(object: &'v Map<String, Value>, key: &str) -> Option<&'v str> {
    object
        .get(key)
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
}

pub fn optional_object<'v>(
    object: &'v Map<String, Value>,
    key: &str,
) -> Option<&'v Map<String, Value>> {
    object.get(key).and_then(Value::as_object)
}

/// The earliest event time accepted: AWS began in 2006 and CloudTrail in 2013; earlier times
/// are forgeries or errors (and before 1970 they would make negative keys). In seconds since
/// 1970 (2006-01-01T00:00:00Z), so that checking it costs no parse on every record.
pub const EARLIEST_EVENT_SECONDS: i64 = 1_136_073_600;
/// How far ahead of now an event time may be: clock skew, not a forged future that would keep
/// a principal learning forever.
pub const MOST_AHEAD: chrono::Duration = chrono::Duration::days(1);

/// An event's time from its RFC 3339 text, within the times accepted; the problem, naming
/// what was found, otherwise.
pub fn event_time(text: &str) -> Result<DateTime<Utc>, String> {
    match DateTime::parse_from_rfc3339(text) {
        Ok(time) => {
            let time = time.with_timezone(&Utc);
            match time_bound_problem(time) {
                None => Ok(time),
                Some(problem) => Err(format!("{problem}, found {text:?}")),
            }
        }
        Err(error) => Err(format!(
            "must be an RFC 3339 timestamp like 2023-06-23T16:23:18Z, found {text:?} ({error})"
        )),
    }
}

fn time_bound_problem(time: DateTime<Utc>) -> Option<String> {
    if time.timestamp() < EARLIEST_EVENT_SECONDS {
        return Some("must be in 2006 or later (CloudTrail records nothing earlier)".to_string());
    }
    if time > Utc::now() + MOST_AHEAD {
        return Some("must not be more than a day in the future".to_string());
    }
    None
}
