//! Printing anomalies: a table for people, JSON lines for programs.

use std::io::{self, Write};

use trailwatch_shared::Anomaly;
use trailwatch_shared::rules::Rule;

pub fn write_jsonl(out: &mut impl Write, anomalies: &[Anomaly]) -> io::Result<()> {
    for anomaly in anomalies {
        serde_json::to_writer(&mut *out, anomaly)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

pub fn write_table(out: &mut impl Write, anomalies: &[Anomaly]) -> io::Result<()> {
    if anomalies.is_empty() {
        return out.flush();
    }
    let principal_width = column_width(anomalies.iter().map(|a| a.principal.len()), "PRINCIPAL");
    let action_width = column_width(anomalies.iter().map(|a| a.action.len()), "ACTION");
    writeln!(
        out,
        "{:<20}  {:<8}  {:>5}  {:<principal_width$}  {:<action_width$}  DETECTIONS",
        "EVENT TIME", "SEVERITY", "SCORE", "PRINCIPAL", "ACTION"
    )?;
    for anomaly in anomalies {
        let ids: Vec<&str> = anomaly.detections.iter().map(|d| d.id.as_str()).collect();
        writeln!(
            out,
            "{:<20}  {:<8}  {:>5.2}  {:<principal_width$}  {:<action_width$}  {}",
            anomaly.event_time.format("%Y-%m-%dT%H:%M:%SZ"),
            anomaly.severity.as_str(),
            anomaly.score,
            anomaly.principal,
            anomaly.action,
            ids.join(", ")
        )?;
        for detection in &anomaly.detections {
            writeln!(
                out,
                "    {} [{}] {}: {}",
                detection.id, detection.severity, detection.title, detection.reason
            )?;
        }
    }
    out.flush()
}

fn column_width(lengths: impl Iterator<Item = usize>, header: &str) -> usize {
    lengths.max().unwrap_or(0).clamp(header.len(), 64)
}

/// One line for stderr: what was read and what was found.
pub fn summary(files: usize, events: usize, rejected: usize, anomalies: &[Anomaly]) -> String {
    let mut by_severity = std::collections::BTreeMap::new();
    for anomaly in anomalies {
        *by_severity
            .entry(std::cmp::Reverse(anomaly.severity))
            .or_insert(0) += 1;
    }
    let breakdown: Vec<String> = by_severity
        .iter()
        .map(|(severity, count)| format!("{count} {}", severity.0))
        .collect();
    let mut line = format!(
        "trailwatch: {events} events from {files} file{} → {} anomal{}",
        if files == 1 { "" } else { "s" },
        anomalies.len(),
        if anomalies.len() == 1 { "y" } else { "ies" }
    );
    if !breakdown.is_empty() {
        line.push_str(&format!(" ({})", breakdown.join(", ")));
    }
    if rejected > 0 {
        line.push_str(&format!("; {rejected} invalid records skipped"));
    }
    line
}

pub fn write_rules_table(out: &mut impl Write, rules: &[Rule]) -> io::Result<()> {
    let title_width = column_width(rules.iter().map(|rule| rule.title.len()), "TITLE");
    writeln!(
        out,
        "{:<20}  {:<8}  {:<20}  {:<9}  {:<title_width$}  CALLS",
        "ID", "SEVERITY", "TACTIC", "TECHNIQUE", "TITLE"
    )?;
    for rule in rules {
        let calls = if rule.calls.is_empty() {
            "(every call)".to_string()
        } else {
            rule.calls.join(", ")
        };
        writeln!(
            out,
            "{:<20}  {:<8}  {:<20}  {:<9}  {:<title_width$}  {calls}",
            rule.id,
            rule.severity.as_str(),
            rule.tactic,
            rule.technique,
            rule.title
        )?;
    }
    out.flush()
}

pub fn write_rules_jsonl(out: &mut impl Write, rules: &[Rule]) -> io::Result<()> {
    for rule in rules {
        serde_json::to_writer(&mut *out, rule)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// The README's detection table.
pub fn write_rules_markdown(out: &mut impl Write, rules: &[Rule]) -> io::Result<()> {
    writeln!(
        out,
        "| id | title | severity | ATT&CK | calls | what it means |"
    )?;
    writeln!(out, "| --- | --- | --- | --- | --- | --- |")?;
    for rule in rules {
        let calls = if rule.calls.is_empty() {
            "every call".to_string()
        } else {
            rule.calls
                .iter()
                .map(|call| format!("`{call}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(
            out,
            "| {} | {} | {} | {}, {} | {} | {} |",
            rule.id,
            rule.title,
            rule.severity,
            rule.tactic,
            rule.technique,
            calls,
            rule.description
        )?;
    }
    out.flush()
}
