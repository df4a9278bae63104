//! The rule file: one rule in YAML, its metadata, its condition and its cases. The built-in
//! catalog is written in it, and so are users' own rules.
//!
//! ```yaml
//! id: TW-CLOUDTRAIL-001
//! title: CloudTrail logging stopped
//! severity: high                 # low | medium | high | critical
//! tactic: Defense Evasion        # MITRE ATT&CK
//! technique: T1562.008
//! description: What an attacker gains.
//! legitimate: What a legitimate caller looks like.
//! calls: [cloudtrail:StopLogging]  # none: every call
//! when:                          # none: always
//!   all:
//!     - field: /userIdentity/type
//!       equals: Root             # or one_of, contains, starts_with, present, is
//!     - succeeded
//!     - check: acted_in_person
//! reason: "{principal} stopped trail {/requestParameters/name}{outcome}"
//! on_failure: attempt            # or fires
//! signal: false                  # true: a change signal, kept only when no other rule fires
//! threshold:                     # optional: fire on many matching calls, not one
//!   at_least: 1000               #   calls (or distinct values) …
//!   within_minutes: 10           #   … within a sliding window of 1–60 minutes
//!   per: principal               #   or source_ip
//!   distinct: /userIdentity/userName   # optional: count distinct values of a field
//! first_time: call               # optional, instead: a principal's first matching call
//!                                #   (or `network`: its first from a network) after learning
//! tests:
//!   - name: the stop as recorded, denied
//!     traildiscover: CloudTrail/StopLogging   # or record: {…a CloudTrail record…}
//!     set: {/errorCode: null}                # fields by JSON pointer; null removes
//!     expect: fires                          # or attempt, quiet
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use serde_norway::Value as Yaml;

use super::testing::{CaseRecord, Expect, RuleCase};
use super::{FieldPath, FirstTime, OnFailure, Rule, Stateful, Test, Threshold, When, checks};
use crate::anomaly::Severity;

/// A rule file that cannot be used: which file, which field, what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {field}: {problem}")]
pub struct RuleError {
    pub file: String,
    pub field: String,
    pub problem: String,
}

/// A rule as read from its file, with its cases.
#[derive(Debug, Clone)]
pub struct RuleFile {
    /// Where it came from: a path, or the built-in file's name.
    pub file: String,
    pub rule: Rule,
    /// False for a file that turns a built-in rule of the same id off.
    pub enabled: bool,
    pub cases: Vec<RuleCase>,
}

const DEFAULT_REASON: &str = "{principal} called {action}{outcome}";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDocument {
    id: String,
    title: String,
    severity: Severity,
    tactic: String,
    technique: String,
    description: String,
    #[serde(default)]
    legitimate: String,
    #[serde(default)]
    calls: Vec<String>,
    #[serde(default)]
    when: Option<Yaml>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    on_failure: OnFailure,
    #[serde(default = "enabled")]
    enabled: bool,
    #[serde(default)]
    signal: bool,
    #[serde(default)]
    threshold: Option<Threshold>,
    #[serde(default)]
    first_time: Option<FirstTime>,
    #[serde(default)]
    tests: Vec<CaseDocument>,
}

/// The widest window a threshold counts over: its minutes are read as one batch of keys.
pub const MAX_WINDOW_MINUTES: i64 = 60;
/// The most distinct values a threshold may need: they are kept, per minute, in one
/// DynamoDB item (at most 400 KB).
pub const MAX_DISTINCT: u64 = 1_000;

fn enabled() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseDocument {
    name: String,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    traildiscover: Option<String>,
    #[serde(default)]
    record: Option<Value>,
    #[serde(default)]
    set: BTreeMap<String, Value>,
    expect: Expect,
}

impl RuleFile {
    /// Reads one rule file's text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<RuleFile, RuleError> {
        let document: RuleDocument = serde_norway::from_str(text)
            .map_err(|problem| unreadable(file, &problem.to_string()))?;
        Self::from_document(file, document)
    }

    /// Reads a rule as JSON: the built-in files as the build turned them, without cases.
    pub fn parse_json(file: &str, text: &str) -> Result<RuleFile, RuleError> {
        let document: RuleDocument =
            serde_json::from_str(text).map_err(|problem| unreadable(file, &problem.to_string()))?;
        Self::from_document(file, document)
    }

    fn from_document(file: &str, document: RuleDocument) -> Result<RuleFile, RuleError> {
        let error = |field: &str, problem: String| RuleError {
            file: file.to_string(),
            field: field.to_string(),
            problem,
        };
        if document.id.is_empty() || !document.id.bytes().all(is_id_byte) {
            return Err(error(
                "id",
                format!(
                    "{:?} is not a rule id (letters, digits, '-', '_' and '.')",
                    document.id
                ),
            ));
        }
        if document.id.ends_with("-ATTEMPT") {
            return Err(error(
                "id",
                "ends in -ATTEMPT, which names a rule's failed attempts".into(),
            ));
        }
        for (field, value) in [
            ("title", &document.title),
            ("tactic", &document.tactic),
            ("description", &document.description),
        ] {
            if value.trim().is_empty() {
                return Err(error(field, "is empty".into()));
            }
        }
        if super::attack::short_name(&document.tactic).is_none() {
            return Err(error(
                "tactic",
                format!(
                    "{:?} is not a MITRE ATT&CK Enterprise tactic; the tactics are {}",
                    document.tactic,
                    super::attack::TACTICS
                        .iter()
                        .map(|(name, _)| *name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        if !is_technique(&document.technique) {
            return Err(error(
                "technique",
                format!(
                    "{:?} is not a MITRE ATT&CK technique id (T1234 or T1234.001)",
                    document.technique
                ),
            ));
        }
        for (index, call) in document.calls.iter().enumerate() {
            let valid = call.split_once(':').is_some_and(|(service, name)| {
                !service.is_empty()
                    && name.starts_with(|c: char| c.is_ascii_uppercase())
                    && name.bytes().all(|b| b.is_ascii_alphanumeric())
            });
            if !valid {
                return Err(error(
                    &format!("calls[{index}]"),
                    format!("{call:?} is not service:EventName (e.g. iam:CreateUser)"),
                ));
            }
        }
        let when = match &document.when {
            Some(when) => {
                condition(when, "when").map_err(|(field, problem)| error(&field, problem))?
            }
            None => When::Always,
        };
        let stateful = stateful(document.threshold, document.first_time, document.signal)
            .map_err(|(field, problem)| error(&field, problem))?;
        let reason = document.reason.unwrap_or_else(|| DEFAULT_REASON.into());
        check_reason(&reason, matches!(stateful, Some(Stateful::Threshold(_))))
            .map_err(|problem| error("reason", problem))?;
        let mut cases = Vec::with_capacity(document.tests.len());
        for (index, case) in document.tests.into_iter().enumerate() {
            let field = |name: &str| format!("tests[{index}].{name}");
            let record = match (case.traildiscover, case.record) {
                (Some(path), None) => CaseRecord::TrailDiscover(path),
                (None, Some(record)) if record.is_object() => CaseRecord::Inline(record),
                (None, Some(_)) => {
                    return Err(error(
                        &field("record"),
                        "is not a CloudTrail record (a mapping)".into(),
                    ));
                }
                (Some(_), Some(_)) => {
                    return Err(error(
                        &field("record"),
                        "give either record or traildiscover, not both".into(),
                    ));
                }
                (None, None) => {
                    return Err(error(&field("record"), "missing: give record (a CloudTrail record) or traildiscover (a reference record's path)".into()));
                }
            };
            let mut set = Vec::with_capacity(case.set.len());
            for (pointer, value) in case.set {
                if !pointer.starts_with('/') || pointer.len() < 2 {
                    return Err(error(
                        &field("set"),
                        format!("{pointer:?} is not a JSON pointer (e.g. /requestParameters/name)"),
                    ));
                }
                set.push((pointer, value));
            }
            cases.push(RuleCase {
                name: case.name,
                source: case.source,
                record,
                set,
                expect: case.expect,
            });
        }
        Ok(RuleFile {
            file: file.to_string(),
            rule: Rule {
                id: document.id,
                title: document.title,
                description: document.description,
                legitimate: document.legitimate,
                severity: document.severity,
                tactic: document.tactic,
                technique: document.technique,
                calls: document.calls,
                when,
                reason,
                on_failure: document.on_failure,
                signal: document.signal,
                stateful,
            },
            enabled: document.enabled,
            cases,
        })
    }
}

/// A file serde could not read: "field: problem at line L column C" becomes the field and
/// the problem.
fn unreadable(file: &str, problem: &str) -> RuleError {
    let (field, problem) = match problem.split_once(": ") {
        Some((field, rest)) if !field.contains(' ') => (field, rest),
        _ => ("(file)", problem),
    };
    RuleError {
        file: file.to_string(),
        field: field.to_string(),
        problem: problem.to_string(),
    }
}

fn is_id_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.')
}

/// `T1234` or `T1234.001`.
fn is_technique(technique: &str) -> bool {
    let bytes = technique.as_bytes();
    let digits = |range: &[u8]| range.iter().all(u8::is_ascii_digit);
    match bytes.len() {
        5 => bytes[0] == b'T' && digits(&bytes[1..5]),
        9 => bytes[0] == b'T' && digits(&bytes[1..5]) && bytes[5] == b'.' && digits(&bytes[6..9]),
        _ => false,
    }
}

/// What a rule remembers, checked: one kind at most, a threshold within its bounds.
fn stateful(
    threshold: Option<Threshold>,
    first_time: Option<FirstTime>,
    signal: bool,
) -> Result<Option<Stateful>, ConditionError> {
    let problem = |field: &str, problem: String| Err((field.to_string(), problem));
    let stateful = match (threshold, first_time) {
        (Some(_), Some(_)) => {
            return problem(
                "first_time",
                "a rule has a threshold or a first_time, not both".into(),
            );
        }
        (Some(threshold), None) => {
            if threshold.at_least < 2 {
                return problem(
                    "threshold.at_least",
                    format!(
                        "{} is too few: a threshold counts at least 2 calls (for one, leave the threshold out)",
                        threshold.at_least
                    ),
                );
            }
            if !(1..=MAX_WINDOW_MINUTES).contains(&threshold.within_minutes) {
                return problem(
                    "threshold.within_minutes",
                    format!(
                        "{} is outside 1–{MAX_WINDOW_MINUTES}",
                        threshold.within_minutes
                    ),
                );
            }
            if let Some(pointer) = &threshold.distinct {
                if !pointer.starts_with('/') {
                    return problem(
                        "threshold.distinct",
                        format!("{pointer:?} is not a JSON pointer (e.g. /userIdentity/userName)"),
                    );
                }
                if threshold.at_least > MAX_DISTINCT {
                    return problem(
                        "threshold.at_least",
                        format!(
                            "{} distinct values are more than the {MAX_DISTINCT} a threshold can count",
                            threshold.at_least
                        ),
                    );
                }
            }
            Some(Stateful::Threshold(threshold))
        }
        (None, Some(first_time)) => Some(Stateful::FirstTime(first_time)),
        (None, None) => None,
    };
    if signal && stateful.is_some() {
        return problem(
            "signal",
            "a change signal stands in for one call; a stateful rule cannot be one".into(),
        );
    }
    Ok(stateful)
}

/// A reason's placeholders are the known names or JSON pointers (and, for a threshold,
/// `count` and `window`), and every brace closes.
fn check_reason(reason: &str, threshold: bool) -> Result<(), String> {
    let mut rest = reason;
    while let Some(start) = rest.find('{') {
        let Some(length) = rest[start..].find('}') else {
            return Err(format!("an unclosed '{{' in {reason:?}"));
        };
        let key = &rest[start + 1..start + length];
        let known = matches!(
            key,
            "principal" | "action" | "source_ip" | "region" | "outcome"
        ) || (threshold && matches!(key, "count" | "window"))
            || key.split('|').all(|pointer| pointer.starts_with('/'));
        if !known && matches!(key, "count" | "window") {
            return Err(format!(
                "{{{key}}} is filled in only for a rule with a threshold"
            ));
        }
        if !known {
            return Err(format!(
                "{{{key}}} is neither principal, action, source_ip, region, outcome nor a JSON pointer"
            ));
        }
        rest = &rest[start + length + 1..];
    }
    Ok(())
}

type ConditionError = (String, String);

/// A condition from its YAML: `always`, `succeeded`, or a mapping of one of `all`, `any`,
/// `not`, `check`, `named`, or `field` with one test.
fn condition(yaml: &Yaml, at: &str) -> Result<When, ConditionError> {
    let fail = |problem: String| Err((at.to_string(), problem));
    let mapping = match yaml {
        Yaml::String(word) if word == "always" => return Ok(When::Always),
        Yaml::String(word) if word == "succeeded" => return Ok(When::Succeeded),
        Yaml::Mapping(mapping) => mapping,
        other => {
            return fail(format!(
                "{} is not a condition: use always, succeeded, or a mapping with all, any, not, check, named or field",
                describe(other)
            ));
        }
    };
    let mut keys = Vec::with_capacity(mapping.len());
    for key in mapping.keys() {
        match key.as_str() {
            Some(key) => keys.push(key),
            None => return fail(format!("{} is not a key", describe(key))),
        }
    }
    let get = |key: &str| mapping.get(key).expect("listed key");
    let list = |key: &str| -> Result<Vec<When>, ConditionError> {
        let Yaml::Sequence(items) = get(key) else {
            return Err((format!("{at}.{key}"), "is not a list of conditions".into()));
        };
        if items.is_empty() {
            return Err((format!("{at}.{key}"), "is an empty list".into()));
        }
        items
            .iter()
            .enumerate()
            .map(|(index, item)| condition(item, &format!("{at}.{key}[{index}]")))
            .collect()
    };
    match keys.as_slice() {
        ["all"] => Ok(When::All(list("all")?)),
        ["any"] => Ok(When::Any(list("any")?)),
        ["not"] => Ok(When::Not(Box::new(condition(
            get("not"),
            &format!("{at}.not"),
        )?))),
        ["check"] => {
            let name = get("check").as_str().unwrap_or_default();
            match checks::CHECKS.iter().find(|(known, _)| *known == name) {
                Some((name, check)) => Ok(When::Check(name, *check)),
                None => Err((
                    format!("{at}.check"),
                    format!(
                        "{name:?} is not a known check; the checks are {}",
                        checks::CHECKS
                            .iter()
                            .map(|(name, _)| *name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )),
            }
        }
        ["named"] => Ok(When::Named(strings(get("named"), &format!("{at}.named"))?)),
        _ if keys.contains(&"field") => field_test(mapping, &keys, at),
        _ => fail(format!(
            "has keys {keys:?}: a condition is one of all, any, not, check, named, or field with one test"
        )),
    }
}

const TESTS: &str = "equals, one_of, contains, starts_with, present or is";

fn field_test(
    mapping: &serde_norway::Mapping,
    keys: &[&str],
    at: &str,
) -> Result<When, ConditionError> {
    let pointer = mapping
        .get("field")
        .and_then(Yaml::as_str)
        .filter(|pointer| pointer.starts_with('/'))
        .ok_or_else(|| {
            (
                format!("{at}.field"),
                "is not a JSON pointer into the CloudTrail record (e.g. /requestParameters/name)"
                    .to_string(),
            )
        })?;
    let tests: Vec<&&str> = keys.iter().filter(|key| **key != "field").collect();
    let [name] = tests.as_slice() else {
        return Err((
            at.to_string(),
            format!("a field condition takes exactly one test ({TESTS}); it has {tests:?}"),
        ));
    };
    let value = mapping.get(**name).expect("listed key");
    let here = format!("{at}.{name}");
    let test = match **name {
        "equals" => Test::Equals(scalar(value, &here)?),
        "one_of" => Test::OneOf(strings(value, &here)?),
        "contains" => Test::ContainsAny(
            strings(value, &here)?
                .into_iter()
                .map(|needle| needle.to_ascii_lowercase())
                .collect(),
        ),
        "starts_with" => Test::StartsWith(strings(value, &here)?),
        "present" if value.as_bool() == Some(true) => Test::Present,
        "is" => match value.as_bool() {
            Some(true) => Test::True,
            Some(false) => Test::False,
            None => return Err((here, format!("{} is not true or false", describe(value)))),
        },
        "present" => {
            return Err((
                here,
                "takes only true (for absence, use not: {field: …, present: true})".into(),
            ));
        }
        other => {
            return Err((
                here,
                format!("{other:?} is not a test; the tests are {TESTS}"),
            ));
        }
    };
    Ok(When::Field(FieldPath::new(pointer), test))
}

/// A string, or a number or boolean written without quotes, as text.
fn scalar(value: &Yaml, at: &str) -> Result<String, ConditionError> {
    match value {
        Yaml::String(text) => Ok(text.clone()),
        Yaml::Number(number) => Ok(number.to_string()),
        Yaml::Bool(flag) => Ok(flag.to_string()),
        other => Err((
            at.to_string(),
            format!("{} is not a value", describe(other)),
        )),
    }
}

/// A list of values (a single value is a list of one).
fn strings(value: &Yaml, at: &str) -> Result<Vec<String>, ConditionError> {
    let values = match value {
        Yaml::Sequence(items) => items
            .iter()
            .enumerate()
            .map(|(index, item)| scalar(item, &format!("{at}[{index}]")))
            .collect::<Result<Vec<_>, _>>()?,
        single => vec![scalar(single, at)?],
    };
    if values.is_empty() {
        return Err((at.to_string(), "is an empty list".into()));
    }
    Ok(values)
}

fn describe(value: &Yaml) -> String {
    match value {
        Yaml::Null => "null".into(),
        Yaml::Bool(flag) => flag.to_string(),
        Yaml::Number(number) => number.to_string(),
        Yaml::String(text) => format!("{text:?}"),
        Yaml::Sequence(_) => "a list".into(),
        Yaml::Mapping(_) => "a mapping".into(),
        Yaml::Tagged(_) => "a tagged value".into(),
    }
}

#[cfg(test)]
mod tests;
