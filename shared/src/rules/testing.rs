//! A rule file's own cases, run: each record, edited as the case says, parsed as the
//! detector parses it, must make the rule fire, fire as a failed attempt, or stay quiet.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Value, json};

use super::RuleFile;

mod replay;
use crate::event::Event;
use crate::input::parse_value;

/// What a case expects of its rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// The rule's own detection.
    Fires,
    /// Its failed attempt (`<id>-ATTEMPT`).
    Attempt,
    /// Neither.
    Quiet,
}

impl Expect {
    pub fn as_str(self) -> &'static str {
        match self {
            Expect::Fires => "fire",
            Expect::Attempt => "fire as a failed attempt",
            Expect::Quiet => "stay quiet",
        }
    }
}

/// One positive or negative case of a rule.
#[derive(Debug, Clone)]
pub struct RuleCase {
    pub name: String,
    /// Where a record written by hand comes from (an AWS documentation example, say).
    pub source: Option<String>,
    pub record: CaseRecord,
    /// Fields set by JSON pointer, objects made on the way; `null` removes the field.
    pub set: Vec<(String, Value)>,
    pub expect: Expect,
}

/// The record a case starts from.
#[derive(Debug, Clone)]
pub enum CaseRecord {
    /// A CloudTrail record written in the case.
    Inline(Value),
    /// A record of the TrailDiscover reference data, by path (`CloudTrail/StopLogging`, its
    /// first record; `…#2` the second), read from the reference directory.
    TrailDiscover(String),
}

impl RuleCase {
    /// Whether the case is a reference record exactly as recorded.
    pub fn is_unmodified_reference(&self) -> bool {
        matches!(self.record, CaseRecord::TrailDiscover(_)) && self.set.is_empty()
    }

    /// The case's record, built; `reference` is the TrailDiscover `events` directory.
    pub fn record(&self, reference: Option<&Path>) -> Result<Value, String> {
        let mut record = match &self.record {
            CaseRecord::Inline(record) => record.clone(),
            CaseRecord::TrailDiscover(path) => reference_record(path, reference)?,
        };
        for (pointer, value) in &self.set {
            set(&mut record, pointer, value);
        }
        Ok(record)
    }

    /// The case's record as the engine reads it.
    pub fn event(&self, reference: Option<&Path>) -> Result<Event, String> {
        event_of(self.record(reference)?)
    }
}

/// A record as the engine reads it.
pub(crate) fn event_of(record: Value) -> Result<Event, String> {
    parse_value(record)
        .map_err(|error| format!("the record is not readable: {error}"))?
        .pop()
        .ok_or_else(|| "the record holds no event".to_string())?
        .outcome
        .map_err(|problems| {
            let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
            format!("the record is not a valid event: {}", problems.join("; "))
        })
}

/// The TrailDiscover reference data's `events` directory, when it is beside the project (or
/// named by `TRAILWATCH_REFERENCE_DATA`).
pub fn reference_dir() -> Option<PathBuf> {
    std::env::var_os("TRAILWATCH_REFERENCE_DATA")
        .map(PathBuf::from)
        .or_else(|| {
            let beside = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/data/traildiscover/events");
            beside.is_dir().then_some(beside)
        })
}

/// A TrailDiscover record by path (`CloudTrail/StopLogging`, `…#2`) under `reference`.
pub(crate) fn reference_record(path: &str, reference: Option<&Path>) -> Result<Value, String> {
    let Some(dir) = reference else {
        return Err(format!(
            "the case starts from TrailDiscover's {path}, but no reference data directory was given"
        ));
    };
    let (name, number) = match path.rsplit_once('#') {
        Some((name, number)) => (
            name,
            number
                .parse::<usize>()
                .ok()
                .filter(|number| *number >= 1)
                .ok_or_else(|| format!("{path}: #{number} is not a record number"))?,
        ),
        None => (path, 1),
    };
    let file = dir.join(format!("{name}.json.cloudtrail"));
    let text = std::fs::read(&file).map_err(|error| format!("{}: {error}", file.display()))?;
    let records: Value = serde_json::from_slice(&text)
        .map_err(|error| format!("{}: not JSON: {error}", file.display()))?;
    let mut records = match records {
        Value::Array(records) => records,
        record => vec![record],
    };
    if number > records.len() {
        return Err(format!(
            "{} holds {} records, not {number}",
            file.display(),
            records.len()
        ));
    }
    Ok(records.swap_remove(number - 1))
}

/// Sets a field by JSON pointer, making objects on the way; `null` removes it.
pub(crate) fn set(record: &mut Value, pointer: &str, value: &Value) {
    let path = super::FieldPath::new(pointer);
    let (last, path) = path.keys().split_last().expect("a pointer names a field");
    let mut target = record;
    for key in path {
        if !target.get(key).is_some_and(Value::is_object) {
            target[key] = json!({});
        }
        target = &mut target[key];
    }
    if !target.is_object() {
        *target = json!({});
    }
    if value.is_null() {
        target.as_object_mut().expect("an object").remove(last);
    } else {
        target[last] = value.clone();
    }
}

/// A case whose rule did not do what it expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFailure {
    pub file: String,
    pub rule: String,
    /// The case's position in the file's `tests`, from 0.
    pub case: usize,
    pub name: String,
    pub problem: String,
}

impl std::fmt::Display for CaseFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: tests[{}] {:?}: {}",
            self.file, self.case, self.name, self.problem
        )
    }
}

/// What running the cases found.
#[derive(Debug, Default)]
pub struct CaseReport {
    pub passed: usize,
    pub failures: Vec<CaseFailure>,
}

/// Runs every case of every file against its own rule.
pub fn run(files: &[RuleFile], reference: Option<&Path>) -> CaseReport {
    let mut report = CaseReport::default();
    for file in files {
        for (number, case) in file.cases.iter().enumerate() {
            let failure = |problem: String| CaseFailure {
                file: file.file.clone(),
                rule: file.rule.id.clone(),
                case: number,
                name: case.name.clone(),
                problem,
            };
            let outcome = case.record(reference).and_then(|record| {
                let event = event_of(record.clone())?;
                let fired = match &file.rule.stateful {
                    None => file.rule.evaluate(&event).map(|detection| detection.id),
                    Some(stateful) => replay::fired(&file.rule, stateful, &record, &event)?,
                };
                Ok((event, fired))
            });
            let (event, fired) = match outcome {
                Ok(outcome) => outcome,
                Err(problem) => {
                    report.failures.push(failure(problem));
                    continue;
                }
            };
            let actual = match &fired {
                Some(id) if *id == file.rule.id => Expect::Fires,
                Some(_) => Expect::Attempt,
                None => Expect::Quiet,
            };
            if actual == case.expect {
                report.passed += 1;
            } else {
                report.failures.push(failure(format!(
                    "should {} on {}, but {}",
                    case.expect.as_str(),
                    event.action(),
                    match fired {
                        Some(id) => format!("fired {id}"),
                        None => "did not fire".into(),
                    }
                )));
            }
        }
    }
    report
}
