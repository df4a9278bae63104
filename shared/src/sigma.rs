//! Sigma rules for CloudTrail (`logsource: product: aws, service: cloudtrail`), loaded from a
//! directory and evaluated by the `sigma-rust` crate. A hit is a detection that carries the
//! rule's title, level, tags and id, and its author's attribution under the Detection Rule
//! License.

use std::path::{Path, PathBuf};

use serde_norway::Value as Yaml;
use sigma_rust::Rule as SigmaRule;

use crate::anomaly::{Detection, Severity};
use crate::event::Event;

/// The loaded rules.
#[derive(Default)]
pub struct SigmaRules {
    rules: Vec<LoadedRule>,
}

/// A rule, and what it requires of `eventSource` and `eventName`: most events can then skip
/// the rules altogether, and with them the conversion to sigma-rust's event.
struct LoadedRule {
    rule: SigmaRule,
    requires: Requires,
}

/// The values of `eventSource` and `eventName` (lowercase: Sigma compares plain strings
/// without case) one of which a rule requires, as its detection says plainly; `None`, any.
/// A rule's needs are read conservatively: a rule may require more than this, never less.
#[derive(Debug, Default, Clone, PartialEq)]
struct Requires {
    sources: Option<Vec<String>>,
    names: Option<Vec<String>>,
}

impl Requires {
    /// What the rule in `text` requires: the plain `eventSource` and `eventName` values of
    /// the selection its condition starts with, when the condition needs that selection
    /// true (it is the whole condition or is followed by `and`) and the selection is one
    /// map (a list of maps is any of them).
    fn of_rule(text: &str) -> Self {
        let Ok(rule) = serde_norway::from_str::<Yaml>(text) else {
            return Self::default();
        };
        let detection = &rule["detection"];
        let Some(condition) = detection["condition"].as_str() else {
            return Self::default();
        };
        let mut words = condition.split_whitespace();
        let (Some(first), rest) = (words.next(), words.next()) else {
            return Self::default();
        };
        let required = rest.is_none_or(|word| word.eq_ignore_ascii_case("and"));
        let Some(selection) = detection[first].as_mapping().filter(|_| required) else {
            return Self::default();
        };
        Self {
            sources: selection.get("eventSource").and_then(plain_values),
            names: selection.get("eventName").and_then(plain_values),
        }
    }

    fn admits(&self, source: &str, name: &str) -> bool {
        let within = |values: &Option<Vec<String>>, value: &str| {
            values
                .as_ref()
                .is_none_or(|values| values.iter().any(|v| v.eq_ignore_ascii_case(value)))
        };
        within(&self.sources, source) && within(&self.names, name)
    }
}

/// A field's values as plain strings, lowercase: `None` where any is not a plain string (a
/// wildcard, an escape, empty, a number, a null), for then the field cannot narrow the rule.
fn plain_values(values: &Yaml) -> Option<Vec<String>> {
    let plain = |value: &Yaml| {
        value
            .as_str()
            .filter(|text| !text.is_empty() && !text.contains(['*', '?', '\\']))
            .map(str::to_lowercase)
    };
    match values {
        Yaml::Sequence(list) => list.iter().map(plain).collect(),
        value => plain(value).map(|value| vec![value]),
    }
}

/// A rule file that was not loaded, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    pub file: PathBuf,
    pub reason: String,
}

/// What loading a directory came to.
pub struct Loaded {
    pub rules: SigmaRules,
    pub unsupported: Vec<Unsupported>,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot read the Sigma rules in {dir}: {error}")]
pub struct LoadError {
    pub dir: PathBuf,
    pub error: std::io::Error,
}

impl SigmaRules {
    /// Loads every `.yml`/`.yaml` file under `dir` (sorted, recursively). Files that are not
    /// Sigma rules for CloudTrail, or that the evaluator cannot read, are listed as
    /// unsupported with the reason.
    pub fn load_dir(dir: &Path) -> Result<Loaded, LoadError> {
        let files = crate::rules::catalog::yaml_files(dir).map_err(|error| LoadError {
            dir: dir.to_path_buf(),
            error,
        })?;
        let mut rules = SigmaRules::default();
        let mut unsupported = Vec::new();
        for file in files {
            match load_file(&file) {
                Ok(rule) => rules.rules.push(rule),
                Err(reason) => unsupported.push(Unsupported { file, reason }),
            }
        }
        Ok(Loaded { rules, unsupported })
    }

    /// The rules of one rule file's text (for tools and fuzzing; `load_dir` for use).
    pub fn from_text(text: &str) -> Result<SigmaRules, String> {
        Ok(SigmaRules {
            rules: vec![parse_rule(text)?],
        })
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The detections the Sigma rules make of an event.
    pub fn detect(&self, event: &Event) -> Vec<Detection> {
        if self.rules.is_empty() {
            // Reading the record would build its tree for nothing.
            return Vec::new();
        }
        let record = event.record();
        // An absent field is no value a rule names; one that is not a string, anything.
        let field = |name: &str| match record.get(name) {
            None => Some(""),
            Some(value) => value.as_str(),
        };
        match (field("eventSource"), field("eventName")) {
            (Some(source), Some(name)) => {
                self.detect_among(event, |requires| requires.admits(source, name))
            }
            _ => self.detect_among(event, |_| true),
        }
    }

    /// The detections of the rules `candidate` picks by what they require.
    fn detect_among(&self, event: &Event, candidate: impl Fn(&Requires) -> bool) -> Vec<Detection> {
        let candidates: Vec<&SigmaRule> = self
            .rules
            .iter()
            .filter(|loaded| candidate(&loaded.requires))
            .map(|loaded| &loaded.rule)
            .collect();
        if candidates.is_empty() {
            return Vec::new();
        }
        // One conversion per event, shared by every rule.
        let Ok(sigma_event) = sigma_rust::Event::try_from(event.record().clone()) else {
            return Vec::new();
        };
        candidates
            .into_iter()
            .filter(|rule| rule.is_match(&sigma_event))
            .map(|rule| detection(rule, event))
            .collect()
    }
}

fn load_file(file: &Path) -> Result<LoadedRule, String> {
    let text = std::fs::read_to_string(file).map_err(|error| format!("cannot read it: {error}"))?;
    parse_rule(&text)
}

/// One rule file's text as a rule for CloudTrail, or why it is not one.
fn parse_rule(text: &str) -> Result<LoadedRule, String> {
    let rule = sigma_rust::rule_from_yaml(text)
        .map_err(|error| format!("not a Sigma rule the evaluator reads: {error}"))?;
    let product = rule.logsource.product.as_deref();
    let service = rule.logsource.service.as_deref();
    if product != Some("aws") || service != Some("cloudtrail") {
        return Err(format!(
            "its logsource is product {}, service {}; only product aws, service cloudtrail is evaluated",
            product.unwrap_or("(none)"),
            service.unwrap_or("(none)")
        ));
    }
    Ok(LoadedRule {
        rule,
        requires: Requires::of_rule(text),
    })
}

fn detection(rule: &SigmaRule, event: &Event) -> Detection {
    let tags = rule.tags.clone().unwrap_or_default();
    let id = rule.id.clone().unwrap_or_else(|| rule.title.clone());
    Detection {
        id: format!("SIGMA-{id}"),
        title: rule.title.clone(),
        // sigma-rust does not export its Level type; its Debug name is the level.
        severity: severity(rule.level.as_ref().map(|level| format!("{level:?}"))),
        tactic: tactic(&tags),
        technique: technique(&tags),
        reason: format!(
            "{} called {}: Sigma rule \"{}\" matched",
            event.principal,
            event.action(),
            rule.title
        ),
        attribution: Some(format!(
            "Sigma rule {id} by {}, SigmaHQ, Detection Rule License 1.1",
            rule.author.as_deref().unwrap_or("unknown author")
        )),
        tags,
    }
}

/// Sigma's levels, `informational` folded into low.
fn severity(level: Option<String>) -> Severity {
    match level.map(|level| level.to_ascii_lowercase()).as_deref() {
        Some("critical") => Severity::Critical,
        Some("high") => Severity::High,
        Some("medium") => Severity::Medium,
        _ => Severity::Low,
    }
}

/// The ATT&CK tactic from tags like `attack.defense-evasion`, in title case.
fn tactic(tags: &[String]) -> String {
    tags.iter()
        .filter_map(|tag| tag.strip_prefix("attack."))
        .find(|name| !is_technique(name) && !name.starts_with('g') && !name.starts_with('s'))
        .map(|name| {
            name.split('-')
                .map(|word| {
                    let mut chars = word.chars();
                    chars
                        .next()
                        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "Unknown".to_string())
}

/// The ATT&CK technique from tags like `attack.t1562.008`.
fn technique(tags: &[String]) -> String {
    tags.iter()
        .filter_map(|tag| tag.strip_prefix("attack."))
        .find(|name| is_technique(name))
        .map(|name| name.to_ascii_uppercase())
        .unwrap_or_else(|| "T0000".to_string())
}

fn is_technique(name: &str) -> bool {
    name.starts_with('t') && name[1..].starts_with(|c: char| c.is_ascii_digit())
}

#[cfg(test)]
mod tests;
