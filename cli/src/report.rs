//! Printing what a scan found: incidents and findings for people, JSON lines for programs.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;
use trailwatch_shared::finding::Finding;
use trailwatch_shared::incident::Incident;
use trailwatch_shared::rules::{Rule, attack};
use trailwatch_shared::{Anomaly, Severity};

/// One JSON object per item, one per line.
pub fn write_jsonl<T: Serialize>(out: &mut impl Write, items: &[T]) -> io::Result<()> {
    for item in items {
        write_line(out, item)?;
    }
    out.flush()
}

/// One item as one JSON line, unflushed.
pub fn write_line<T: Serialize>(out: &mut impl Write, item: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *out, item)?;
    out.write_all(b"\n")
}

/// One JSON line an item, from items read back: the first that cannot be read stops it.
pub fn write_results<T: Serialize>(
    out: &mut impl Write,
    items: impl Iterator<Item = io::Result<T>>,
) -> io::Result<()> {
    for item in items {
        write_line(out, &item?)?;
    }
    out.flush()
}

const TIME: &str = "%Y-%m-%dT%H:%M:%SZ";

/// Incidents first, each with its sentence and findings; then the findings, with counts.
pub fn write_cases(
    out: &mut impl Write,
    incidents: &[&Incident],
    findings: &[&Finding],
) -> io::Result<()> {
    write_incidents(out, incidents.iter().map(|incident| Ok(*incident)))?;
    let mut widths = FindingWidths::default();
    findings.iter().for_each(|finding| widths.fit(finding));
    write_findings(out, widths, findings.iter().map(|finding| Ok(*finding)))?;
    out.flush()
}

/// The incidents' table, each with its sentence and findings; nothing when there are none.
pub fn write_incidents<I: Borrow<Incident>>(
    out: &mut impl Write,
    incidents: impl Iterator<Item = io::Result<I>>,
) -> io::Result<()> {
    let mut incidents = incidents.peekable();
    if incidents.peek().is_none() {
        return Ok(());
    }
    writeln!(out, "INCIDENTS")?;
    writeln!(
        out,
        "{:<18}  {:<8}  {:<20}  {:<20}  TACTICS",
        "ID", "SEVERITY", "FIRST SEEN", "LAST SEEN"
    )?;
    for incident in incidents {
        let incident = incident?;
        let incident = incident.borrow();
        writeln!(
            out,
            "{:<18}  {:<8}  {:<20}  {:<20}  {}",
            incident.id,
            incident.severity.as_str(),
            incident.first_seen.format(TIME),
            incident.last_seen.format(TIME),
            incident.tactics.join(" → ")
        )?;
        writeln!(out, "    {}", incident.summary)?;
        writeln!(out, "    findings: {}", incident.finding_ids.join(", "))?;
    }
    writeln!(out)
}

/// The widths of the findings table's principal and detection columns.
#[derive(Debug, Clone, Copy, Default)]
pub struct FindingWidths {
    principal: usize,
    detection: usize,
}

impl FindingWidths {
    /// Widens the columns to a finding's.
    pub fn fit(&mut self, finding: &Finding) {
        self.principal = self.principal.max(finding.principal.len());
        self.detection = self.detection.max(finding.detection.id.len());
    }
}

/// The findings' table, with counts; nothing when there are none.
pub fn write_findings<F: Borrow<Finding>>(
    out: &mut impl Write,
    widths: FindingWidths,
    findings: impl Iterator<Item = io::Result<F>>,
) -> io::Result<()> {
    let mut findings = findings.peekable();
    if findings.peek().is_none() {
        return Ok(());
    }
    let principal_width = column_width(std::iter::once(widths.principal), "PRINCIPAL");
    let detection_width = column_width(std::iter::once(widths.detection), "DETECTION");
    writeln!(out, "FINDINGS")?;
    writeln!(
        out,
        "{:<18}  {:<8}  {:<12}  {:>6}  {:<20}  {:<20}  {:<principal_width$}  {:<detection_width$}  TITLE",
        "ID", "SEVERITY", "STATUS", "COUNT", "FIRST SEEN", "LAST SEEN", "PRINCIPAL", "DETECTION"
    )?;
    for finding in findings {
        let finding = finding?;
        let finding = finding.borrow();
        writeln!(
            out,
            "{:<18}  {:<8}  {:<12}  {:>6}  {:<20}  {:<20}  {:<principal_width$}  {:<detection_width$}  {}",
            finding.id,
            finding.severity.as_str(),
            finding.status.as_str(),
            finding.count,
            finding.first_seen.format(TIME),
            finding.last_seen.format(TIME),
            finding.principal,
            finding.detection.id,
            finding.detection.title
        )?;
        writeln!(out, "    {}", finding.reason)?;
        if finding.actions.len() > 1 {
            let calls: Vec<&str> = finding.actions.iter().map(String::as_str).collect();
            writeln!(out, "    calls: {}", calls.join(", "))?;
        }
        if let Some(rule) = &finding.suppressed_by {
            writeln!(out, "    suppressed by {rule}")?;
        }
    }
    Ok(())
}

/// One finding, whole: its row, then what it holds.
pub fn write_finding(out: &mut impl Write, finding: &Finding) -> io::Result<()> {
    write_cases(out, &[], &[finding])?;
    let list = |set: &std::collections::BTreeSet<String>| {
        set.iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (name, values) in [
        ("networks", list(&finding.networks)),
        ("user agents", list(&finding.user_agents)),
        ("regions", list(&finding.regions)),
        ("resources", list(&finding.resources)),
        ("sample events", finding.event_ids.join(", ")),
    ] {
        if !values.is_empty() {
            writeln!(out, "    {name}: {values}")?;
        }
    }
    if let Some(change) = &finding.status_change {
        writeln!(
            out,
            "    {} by {} at {}{}",
            change.status,
            change.by,
            change.at.format(TIME),
            change
                .note
                .as_ref()
                .map(|note| format!(": {note}"))
                .unwrap_or_default()
        )?;
    }
    out.flush()
}

/// Suppression rules, a line each.
pub fn write_suppressions(
    out: &mut impl Write,
    rules: &[trailwatch_shared::suppress::SuppressionRule],
) -> io::Result<()> {
    let width = column_width(rules.iter().map(|rule| rule.id.len()), "ID");
    writeln!(
        out,
        "{:<width$}  {:<10}  MATCHES  —  REASON",
        "ID", "EXPIRES"
    )?;
    for rule in rules {
        let matches: Vec<String> = [
            ("detection", &rule.detection),
            ("principal", &rule.principal),
            ("account", &rule.account),
            ("network", &rule.network),
            ("user_agent", &rule.user_agent),
            ("region", &rule.region),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_ref().map(|value| format!("{name}={value}")))
        .collect();
        writeln!(
            out,
            "{:<width$}  {:<10}  {}  —  {}",
            rule.id,
            rule.expires.as_deref().unwrap_or("never"),
            matches.join(" "),
            rule.reason
        )?;
    }
    out.flush()
}

/// How many findings and incidents a scan made.
#[derive(Debug, Clone, Copy, Default)]
pub struct CaseCounts {
    pub findings: usize,
    pub suppressed: usize,
    pub incidents: usize,
}

/// Findings and incidents per detection and per principal, with what suppression removed.
pub fn write_stats(
    out: &mut impl Write,
    findings: impl Iterator<Item = io::Result<Finding>>,
    incidents: impl Iterator<Item = io::Result<Incident>>,
) -> io::Result<()> {
    #[derive(Default)]
    struct Tally {
        findings: usize,
        suppressed: usize,
        events: u64,
        incidents: usize,
    }
    let mut by_detection: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_principal: BTreeMap<String, Tally> = BTreeMap::new();
    let mut counts = CaseCounts::default();
    for finding in findings {
        let finding = finding?;
        counts.findings += 1;
        counts.suppressed += usize::from(finding.is_suppressed());
        for tally in [
            by_detection
                .entry(finding.detection.id.clone())
                .or_default(),
            by_principal.entry(finding.principal.clone()).or_default(),
        ] {
            tally.findings += 1;
            tally.events += finding.count;
            tally.suppressed += usize::from(finding.is_suppressed());
        }
    }
    for incident in incidents {
        let incident = incident?;
        counts.incidents += 1;
        by_principal
            .entry(incident.principal.clone())
            .or_default()
            .incidents += 1;
        let mut detections: Vec<&str> = incident
            .steps
            .iter()
            .map(|step| step.detection.id.as_str())
            .collect();
        detections.sort_unstable();
        detections.dedup();
        for detection in detections {
            by_detection
                .entry(detection.to_string())
                .or_default()
                .incidents += 1;
        }
    }
    let mut table = |title: &str, rows: &BTreeMap<String, Tally>| -> io::Result<()> {
        // Full width: a backtest is read whole, principals and all.
        let width = rows
            .keys()
            .map(|name| name.len())
            .max()
            .unwrap_or(0)
            .max(title.len());
        writeln!(
            out,
            "{title:<width$}  {:>8}  {:>10}  {:>8}  {:>9}",
            "FINDINGS", "SUPPRESSED", "EVENTS", "INCIDENTS"
        )?;
        let mut rows: Vec<(&String, &Tally)> = rows.iter().collect();
        rows.sort_by(|a, b| b.1.findings.cmp(&a.1.findings).then(a.0.cmp(b.0)));
        for (name, tally) in rows {
            writeln!(
                out,
                "{name:<width$}  {:>8}  {:>10}  {:>8}  {:>9}",
                tally.findings, tally.suppressed, tally.events, tally.incidents
            )?;
        }
        writeln!(out)
    };
    table("DETECTION", &by_detection)?;
    table("PRINCIPAL", &by_principal)?;
    writeln!(
        out,
        "{} findings ({} would alert, {} suppressed), {} incidents",
        counts.findings,
        counts.findings - counts.suppressed,
        counts.suppressed,
        counts.incidents
    )?;
    out.flush()
}

fn column_width(lengths: impl Iterator<Item = usize>, header: &str) -> usize {
    lengths.max().unwrap_or(0).clamp(header.len(), 64)
}

/// What a scan read.
#[derive(Default)]
pub struct Read {
    pub files: usize,
    pub events: usize,
    /// Events dropped because their id came before.
    pub repeated: usize,
    pub rejected: usize,
    /// Events that arrived after the reorder window had let later ones out.
    pub late: usize,
    /// Anomalies by severity, most severe first.
    pub anomalies: BTreeMap<std::cmp::Reverse<Severity>, usize>,
}

impl Read {
    pub fn count_anomaly(&mut self, anomaly: &Anomaly) {
        *self
            .anomalies
            .entry(std::cmp::Reverse(anomaly.severity))
            .or_insert(0) += 1;
    }
}

/// One line for stderr: what was read and what was found.
pub fn summary(read: &Read, cases: CaseCounts) -> String {
    let breakdown: Vec<String> = read
        .anomalies
        .iter()
        .map(|(severity, count)| format!("{count} {}", severity.0))
        .collect();
    let plural = |count: usize, one: &str, many: &str| {
        format!("{count} {}", if count == 1 { one } else { many })
    };
    let mut line = format!(
        "trailwatch: {} from {} → {}",
        plural(read.events, "event", "events"),
        plural(read.files, "file", "files"),
        plural(read.anomalies.values().sum(), "anomaly", "anomalies"),
    );
    if !breakdown.is_empty() {
        line.push_str(&format!(" ({})", breakdown.join(", ")));
    }
    line.push_str(&format!(
        " → {}, {}",
        plural(cases.findings, "finding", "findings"),
        plural(cases.incidents, "incident", "incidents")
    ));
    if cases.suppressed > 0 {
        line.push_str(&format!("; {} findings suppressed", cases.suppressed));
    }
    if read.repeated > 0 {
        line.push_str(&format!("; {} repeated events counted once", read.repeated));
    }
    if read.rejected > 0 {
        line.push_str(&format!("; {} invalid records skipped", read.rejected));
    }
    if read.late > 0 {
        line.push_str(&format!(
            "; {} late events evaluated out of order",
            read.late
        ));
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
        let calls = calls_of(rule, "(every call)", str::to_string);
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

/// A rule's calls as a table shows them, each written by `show`, and what a stateful rule
/// counts.
fn calls_of(rule: &Rule, every_call: &str, show: impl Fn(&str) -> String) -> String {
    let mut calls = if rule.calls.is_empty() {
        every_call.to_string()
    } else {
        rule.calls
            .iter()
            .map(|call| show(call))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(stateful) = &rule.stateful {
        calls.push_str(&format!(" ({})", stateful.summary()));
    }
    calls
}

/// The README's detection table.
pub fn write_rules_markdown(out: &mut impl Write, rules: &[Rule]) -> io::Result<()> {
    writeln!(
        out,
        "| id | title | severity | ATT&CK | calls | what it means |"
    )?;
    writeln!(out, "| --- | --- | --- | --- | --- | --- |")?;
    for rule in rules {
        let calls = calls_of(rule, "every call", |call| format!("`{call}`"));
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

pub fn write_attack_layer(out: &mut impl Write, rules: &[Rule]) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &attack::navigator_layer(rules))?;
    out.write_all(b"\n")?;
    out.flush()
}

/// The README's ATT&CK coverage table: per tactic, its rules and techniques.
pub fn write_coverage_markdown(out: &mut impl Write, rules: &[Rule]) -> io::Result<()> {
    writeln!(out, "| tactic | rules | techniques (rules each) |")?;
    writeln!(out, "| --- | ---: | --- |")?;
    let coverage = attack::coverage(rules);
    for tactic in &coverage {
        let techniques = if tactic.techniques.is_empty() {
            "—".to_string()
        } else {
            tactic
                .techniques
                .iter()
                .map(|(technique, ids)| format!("{technique} ({})", ids.len()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(
            out,
            "| {} | {} | {techniques} |",
            tactic.tactic, tactic.rules
        )?;
    }
    let techniques: std::collections::BTreeSet<&String> = coverage
        .iter()
        .flat_map(|tactic| tactic.techniques.keys())
        .collect();
    writeln!(
        out,
        "| **all** | **{}** | **{} techniques** |",
        rules.len(),
        techniques.len()
    )?;
    out.flush()
}
