//! Closed findings and incidents kept on disk until a scan's end, so that a long scan's
//! memory follows its open cases, not its input. In memory stays a small entry a case: its
//! order, severity and place in the file. The report reads the cases back in order.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use trailwatch_shared::Severity;
use trailwatch_shared::finding::Finding;
use trailwatch_shared::incident::Incident;

/// A finding or an incident, as a spill orders, filters and merges it.
pub trait Case: Serialize + DeserializeOwned {
    fn id(&self) -> &str;
    fn first_seen(&self) -> DateTime<Utc>;
    fn severity(&self) -> Severity;
    fn is_suppressed(&self) -> bool {
        false
    }
    /// Takes in a later part of the same case: what events recorded after it was closed
    /// made of it.
    fn merge(&mut self, later: Self);
}

impl Case for Finding {
    fn id(&self) -> &str {
        &self.id
    }
    fn first_seen(&self) -> DateTime<Utc> {
        self.first_seen
    }
    fn severity(&self) -> Severity {
        self.severity
    }
    fn is_suppressed(&self) -> bool {
        Finding::is_suppressed(self)
    }
    fn merge(&mut self, later: Self) {
        Finding::merge(self, later);
    }
}

impl Case for Incident {
    fn id(&self) -> &str {
        &self.id
    }
    fn first_seen(&self) -> DateTime<Utc> {
        self.first_seen
    }
    fn severity(&self) -> Severity {
        self.severity
    }
    /// An incident recorded again was extended from its own last state: the later one
    /// holds all of it.
    fn merge(&mut self, later: Self) {
        *self = later;
    }
}

/// What sorts and filters a case, kept in memory while the case is on disk.
struct Summary {
    first_seen: DateTime<Utc>,
    id: Box<str>,
    severity: Severity,
    suppressed: bool,
}

impl Summary {
    fn of<T: Case>(case: &T) -> Self {
        Self {
            first_seen: case.first_seen(),
            id: case.id().into(),
            severity: case.severity(),
            suppressed: case.is_suppressed(),
        }
    }

    /// Takes in another part's summary, as [`Case::merge`] takes in the part.
    fn merge(&mut self, other: &Summary) {
        self.first_seen = self.first_seen.min(other.first_seen);
        self.severity = self.severity.max(other.severity);
        self.suppressed &= other.suppressed;
    }
}

/// Where one written case is.
struct Entry {
    summary: Summary,
    offset: u64,
    len: usize,
}

impl Entry {
    fn end(&self) -> u64 {
        self.offset + self.len as u64
    }
}

/// Cases written to an unnamed temporary file (gone when the scan ends, however it ends).
pub struct Spill<T> {
    file: BufWriter<File>,
    /// In the order written: each starts where the one before ends.
    entries: Vec<Entry>,
    case: PhantomData<T>,
}

impl<T: Case> Spill<T> {
    pub fn new() -> io::Result<Self> {
        Ok(Self {
            file: BufWriter::new(tempfile::tempfile()?),
            entries: Vec::new(),
            case: PhantomData,
        })
    }

    pub fn push(&mut self, case: &T) -> io::Result<()> {
        let bytes = serde_json::to_vec(case)?;
        self.file.write_all(&bytes)?;
        self.entries.push(Entry {
            summary: Summary::of(case),
            offset: self.entries.last().map_or(0, Entry::end),
            len: bytes.len(),
        });
        Ok(())
    }

    /// The cases in order, oldest first (then by id), each written part of one merged.
    pub fn into_sorted(self) -> io::Result<Sorted<T>> {
        let file = self.file.into_inner().map_err(|error| error.into_error())?;
        let mut entries = self.entries;
        // Parts of one case are next to each other, in the order they were written.
        entries.sort_unstable_by(|a, b| (&a.summary.id, a.offset).cmp(&(&b.summary.id, b.offset)));
        let mut cases: Vec<SortedCase> = Vec::new();
        for entry in entries {
            let part = (entry.offset, entry.len);
            match cases.last_mut() {
                Some(case) if case.summary.id == entry.summary.id => {
                    case.summary.merge(&entry.summary);
                    case.parts.push(part);
                }
                _ => cases.push(SortedCase {
                    summary: entry.summary,
                    parts: vec![part],
                }),
            }
        }
        cases.sort_unstable_by(|a, b| {
            (a.summary.first_seen, &a.summary.id).cmp(&(b.summary.first_seen, &b.summary.id))
        });
        Ok(Sorted {
            file,
            cases,
            case: PhantomData,
        })
    }
}

/// One case of a sorted spill: its parts in the order they were written.
struct SortedCase {
    summary: Summary,
    parts: Vec<(u64, usize)>,
}

/// A spill's cases in order, read back one at a time.
pub struct Sorted<T> {
    file: File,
    cases: Vec<SortedCase>,
    case: PhantomData<T>,
}

impl<T: Case> Sorted<T> {
    pub fn len(&self) -> usize {
        self.cases.len()
    }

    /// Whether a case is of `severity` or above.
    pub fn any_at_least(&self, severity: Severity) -> bool {
        self.cases
            .iter()
            .any(|case| case.summary.severity >= severity)
    }

    pub fn suppressed(&self) -> usize {
        self.cases
            .iter()
            .filter(|case| case.summary.suppressed)
            .count()
    }

    /// The cases of `min_severity` or above, oldest first.
    pub fn read(&mut self, min_severity: Severity) -> impl Iterator<Item = io::Result<T>> + '_ {
        let file = &mut self.file;
        let mut buffer = Vec::new();
        self.cases
            .iter()
            .filter(move |case| case.summary.severity >= min_severity)
            .map(move |case| {
                let mut merged: Option<T> = None;
                for &(offset, len) in &case.parts {
                    file.seek(SeekFrom::Start(offset))?;
                    buffer.resize(len, 0);
                    file.read_exact(&mut buffer)?;
                    let part: T = serde_json::from_slice(&buffer)?;
                    match &mut merged {
                        Some(case) => case.merge(part),
                        None => merged = Some(part),
                    }
                }
                merged.ok_or_else(|| io::Error::other("a spilled case with no part"))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use trailwatch_shared::finding::{Contribution, DetectionRef};

    fn finding(id: &str, minute: u32, severity: Severity, event: &str) -> Finding {
        let at = Utc.with_ymd_and_hms(2026, 11, 2, 9, minute, 0).unwrap();
        let contribution = Contribution {
            finding_id: id.into(),
            account_id: Some("111111111111".into()),
            principal: "arn:aws:iam::111111111111:user/alice".into(),
            access_key: None,
            detection: DetectionRef {
                id: "TW-TEST".into(),
                title: "a test".into(),
                tactic: "Discovery".into(),
                technique: "T1580".into(),
            },
            key: None,
            window_start: Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap(),
            severity,
            reason: format!("seen at minute {minute}"),
            event_id: event.into(),
            event_time: at,
            action: "ec2:DescribeInstances".into(),
            network: None,
            user_agent: None,
            region: Some("us-east-1".into()),
            resources: Vec::new(),
            suppressed_by: None,
        };
        let mut finding = Finding::opened_by(&contribution);
        finding.absorb(&contribution);
        finding
    }

    #[test]
    fn cases_come_back_oldest_first_filtered_by_severity() {
        let mut spill = Spill::new().unwrap();
        spill
            .push(&finding("F-b", 30, Severity::High, "e1"))
            .unwrap();
        spill
            .push(&finding("F-a", 10, Severity::Low, "e2"))
            .unwrap();
        spill
            .push(&finding("F-c", 10, Severity::Medium, "e3"))
            .unwrap();
        let mut sorted = spill.into_sorted().unwrap();
        assert_eq!(sorted.len(), 3);
        let ids = |sorted: &mut Sorted<Finding>, min| -> Vec<String> {
            sorted.read(min).map(|case| case.unwrap().id).collect()
        };
        assert_eq!(ids(&mut sorted, Severity::Low), ["F-a", "F-c", "F-b"]);
        assert_eq!(ids(&mut sorted, Severity::Medium), ["F-c", "F-b"]);
        // Read again: the same.
        assert_eq!(ids(&mut sorted, Severity::Low), ["F-a", "F-c", "F-b"]);
    }

    #[test]
    fn a_case_closed_twice_comes_back_once_with_both_parts() {
        let mut spill = Spill::new().unwrap();
        spill
            .push(&finding("F-a", 20, Severity::Low, "e1"))
            .unwrap();
        spill.push(&finding("F-z", 0, Severity::Low, "e9")).unwrap();
        // A late event reopened F-a: earlier, and more severe.
        spill
            .push(&finding("F-a", 5, Severity::High, "e2"))
            .unwrap();
        let mut sorted = spill.into_sorted().unwrap();
        assert_eq!(sorted.len(), 2);
        let cases: Vec<Finding> = sorted.read(Severity::Low).map(Result::unwrap).collect();
        assert_eq!(cases[0].id, "F-z");
        let merged = &cases[1];
        assert_eq!(merged.id, "F-a");
        assert_eq!(merged.count, 2);
        assert_eq!(merged.severity, Severity::High);
        assert_eq!(merged.reason, "seen at minute 5");
        assert_eq!(merged.event_ids, ["e1", "e2"]);
        assert_eq!(sorted.read(Severity::High).count(), 1);
    }
}
