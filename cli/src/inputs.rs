//! What a scan reads, put in event-time order before anything is read: CloudTrail names
//! its delivery files by when it delivered them, so their names order them; a file named
//! otherwise is placed by the earliest event time its text holds.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, Read, Write};
use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use trailwatch_shared::collect::delivery::{MAX_DECOMPRESSED_BYTES, decompressed};

use crate::sources;

/// Where an input lives.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Location {
    Local(PathBuf),
    S3 { bucket: String, key: String },
}

/// One file or object to read, and the time it is placed at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub location: Location,
    pub placed_at: Option<DateTime<Utc>>,
}

impl Input {
    pub fn local(path: PathBuf) -> Self {
        let placed_at = delivered_at(&path.to_string_lossy());
        Input {
            location: Location::Local(path),
            placed_at,
        }
    }

    pub fn s3(bucket: &str, key: String) -> Self {
        Input {
            placed_at: delivered_at(&key),
            location: Location::S3 {
                bucket: bucket.to_string(),
                key,
            },
        }
    }

    /// The name diagnostics give it.
    pub fn name(&self) -> String {
        match &self.location {
            Location::Local(path) => path.display().to_string(),
            Location::S3 { bucket, key } => format!("s3://{bucket}/{key}"),
        }
    }
}

/// When CloudTrail delivered a file, from its name
/// (`<account>_CloudTrail_<region>_20261102T0915Z_<unique>.json.gz`).
pub fn delivered_at(name: &str) -> Option<DateTime<Utc>> {
    let file = name.rsplit('/').next()?;
    file.split('_').find_map(|part| {
        let looks_like_time = part.len() == 14
            && part.is_ascii()
            && part.as_bytes()[8] == b'T'
            && part.ends_with('Z')
            && part[..8]
                .bytes()
                .chain(part[9..13].bytes())
                .all(|b| b.is_ascii_digit());
        looks_like_time
            .then(|| NaiveDateTime::parse_from_str(part, "%Y%m%dT%H%MZ").ok())
            .flatten()
            .map(|time| time.and_utc())
    })
}

/// Puts inputs in the order to read them: by the time each is placed at, then by name. With
/// `look_inside`, local files whose names carry no delivery time are first looked through
/// for their earliest event time; an input with no time at all goes first, so its problems
/// are reported early.
pub fn in_time_order(inputs: &mut [Input], look_inside: bool) {
    if look_inside {
        for input in inputs.iter_mut() {
            if let (None, Location::Local(path)) = (input.placed_at, &input.location) {
                input.placed_at = std::fs::File::open(path).ok().and_then(earliest_event_time);
            }
        }
    }
    inputs.sort_by(|a, b| (a.placed_at, &a.location).cmp(&(b.placed_at, &b.location)));
}

/// What a scan reads, handed out a batch at a time in time order: files named outright (and
/// S3 objects) each at its time, a day folder's files when its day comes. Only one day's
/// file names are held at once.
pub struct Plan {
    singles: VecDeque<Input>,
    days: BTreeMap<NaiveDate, Vec<PathBuf>>,
}

impl Plan {
    pub fn new(mut singles: Vec<Input>, days: BTreeMap<NaiveDate, Vec<PathBuf>>) -> Self {
        let look_inside = singles.len() + days.len() > 1;
        in_time_order(&mut singles, look_inside);
        Plan {
            singles: singles.into(),
            days,
        }
    }

    /// How many files and days there are to read.
    pub fn len(&self) -> usize {
        self.singles.len() + self.days.len()
    }

    /// The next inputs in order, and how many of [`Plan::len`] they were; `None` at the end.
    pub fn next_batch(&mut self, diagnostics: &mut impl Write) -> Option<(Vec<Input>, usize)> {
        let next_day = self.days.keys().next().copied();
        let single_first = self.singles.front().is_some_and(|input| {
            next_day.is_none_or(|day| input.placed_at.is_none_or(|at| at.date_naive() < day))
        });
        if single_first {
            return self.singles.pop_front().map(|input| (vec![input], 1));
        }
        let (day, folders) = self.days.pop_first()?;
        let mut batch: Vec<Input> = folders
            .iter()
            .flat_map(|folder| sources::files_under(folder, diagnostics))
            .map(Input::local)
            .collect();
        let mut taken = 1;
        while let Some(input) = self
            .singles
            .pop_front_if(|input| input.placed_at.is_some_and(|at| at.date_naive() == day))
        {
            batch.push(input);
            taken += 1;
        }
        in_time_order(&mut batch, true);
        Some((batch, taken))
    }
}

/// Keys whose string values are an event's time, in the shapes a scan reads.
const TIME_KEYS: [&[u8]; 2] = [b"\"eventTime\"", b"\"EventTimestamp\""];
/// Enough of the previous chunk to hold a key, its colon and a timestamp.
const CARRIED: usize = 96;

/// The earliest event time named in a (possibly gzipped) file, found by looking for the
/// time keys in its text rather than parsing it: a quick pass that bounds nothing but order.
pub fn earliest_event_time(reader: impl Read) -> Option<DateTime<Utc>> {
    let mut source = decompressed(reader, MAX_DECOMPRESSED_BYTES).ok()?;
    let finders: Vec<memchr::memmem::Finder> =
        TIME_KEYS.iter().map(memchr::memmem::Finder::new).collect();
    let mut window: Vec<u8> = Vec::new();
    let mut earliest: Option<DateTime<Utc>> = None;
    loop {
        let chunk = source.fill_buf().ok()?;
        if chunk.is_empty() {
            return earliest;
        }
        let read = chunk.len();
        window.extend_from_slice(chunk);
        source.consume(read);
        for finder in &finders {
            for start in finder.find_iter(&window) {
                let after = &window[start + finder.needle().len()..];
                if let Some(time) = time_after_key(after) {
                    earliest = Some(earliest.map_or(time, |e| e.min(time)));
                }
            }
        }
        let keep = window.len().saturating_sub(CARRIED);
        window.drain(..keep);
    }
}

/// `: "2026-11-02T09:15:00Z"` → the time.
fn time_after_key(text: &[u8]) -> Option<DateTime<Utc>> {
    let text = std::str::from_utf8(&text[..text.len().min(CARRIED)]).ok()?;
    let value = text
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    let (time, _) = value.split_once('"')?;
    DateTime::parse_from_rfc3339(time)
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn cloudtrail_file_names_carry_their_delivery_time() {
        assert_eq!(
            delivered_at(
                "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/02/\
                 111122223333_CloudTrail_eu-west-1_20261102T0915Z_Ab12Cd34.json.gz"
            ),
            Some(time("2026-11-02T09:15:00Z"))
        );
        assert_eq!(delivered_at("/logs/2026-11-02.jsonl"), None);
        assert_eq!(delivered_at("x_20261399T0915Z_y.json"), None, "month 13");
        assert_eq!(delivered_at("x_2026ééT091Z_y.json"), None, "not ASCII");
    }

    #[test]
    fn the_earliest_time_is_found_across_chunks_and_shapes() {
        // Far more than one 64 KiB buffer, the earliest time near the end.
        let mut text = String::from(r#"{"Records":["#);
        for minute in 0..2_000 {
            text.push_str(&format!(
                r#"{{"eventTime": "2026-11-02T10:{:02}:00Z", "padding": "{}"}},"#,
                minute % 60,
                "x".repeat(40)
            ));
        }
        text.push_str(r#"{"detail":{"eventTime":"2026-11-01T23:59:59Z"}}]}"#);
        assert_eq!(
            earliest_event_time(text.as_bytes()),
            Some(time("2026-11-01T23:59:59Z"))
        );
        assert_eq!(
            earliest_event_time(&br#"{"EventTimestamp" : "2026-11-03T00:00:00+01:00"}"#[..]),
            Some(time("2026-11-02T23:00:00Z"))
        );
        assert_eq!(earliest_event_time(&b"no times here"[..]), None);
    }

    #[test]
    fn inputs_are_ordered_by_time_then_name_and_the_timeless_go_first() {
        let mut inputs = vec![
            Input::s3("b", "x/1_CloudTrail_r_20261102T0920Z_a.json.gz".into()),
            Input::s3("b", "x/1_CloudTrail_r_20261102T0915Z_b.json.gz".into()),
            Input::s3("b", "x/notes.json".into()),
        ];
        in_time_order(&mut inputs, false);
        let names: Vec<String> = inputs.iter().map(Input::name).collect();
        assert_eq!(
            names,
            [
                "s3://b/x/notes.json",
                "s3://b/x/1_CloudTrail_r_20261102T0915Z_b.json.gz",
                "s3://b/x/1_CloudTrail_r_20261102T0920Z_a.json.gz",
            ]
        );
    }
}
