//! A scan's problems with its records, named by file: the first few of each file printed,
//! the rest counted and summed up once the file is done with. A file is done with when it
//! has been read and none of its records still waits in the reorder window, whose records
//! are parsed (and so found wanting) only when they leave it.

use std::collections::HashMap;
use std::io::Write;

/// Problems printed per file before the rest are only counted.
pub const PROBLEMS_SHOWN: usize = 20;

/// Which file a record came from. The default is no file: nothing is named or counted
/// under it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId(u64);

#[derive(Default)]
pub struct Problems {
    /// Files being read or with records waiting; the rest are forgotten.
    files: HashMap<FileId, Tally>,
    opened: u64,
}

struct Tally {
    name: String,
    problems: usize,
    waiting: usize,
    reading: bool,
}

impl Problems {
    /// A file begins to be read.
    pub fn open(&mut self, name: String) -> FileId {
        self.opened += 1;
        let file = FileId(self.opened);
        self.files.insert(
            file,
            Tally {
                name,
                problems: 0,
                waiting: 0,
                reading: true,
            },
        );
        file
    }

    /// One problem of one of the file's records: printed, or counted once enough are.
    pub fn report(&mut self, file: FileId, problem: impl std::fmt::Display, out: &mut impl Write) {
        if let Some(tally) = self.files.get_mut(&file) {
            if tally.problems < PROBLEMS_SHOWN {
                let _ = writeln!(out, "trailwatch: {}: {problem}", tally.name);
            }
            tally.problems += 1;
        }
    }

    /// One of the file's records is held, to be parsed later.
    pub fn hold(&mut self, file: FileId) {
        if let Some(tally) = self.files.get_mut(&file) {
            tally.waiting += 1;
        }
    }

    /// A record held is let out (and its problems, if any, reported).
    pub fn let_out(&mut self, file: FileId, out: &mut impl Write) {
        if let Some(tally) = self.files.get_mut(&file) {
            tally.waiting = tally.waiting.saturating_sub(1);
        }
        self.done_with_if_finished(file, out);
    }

    /// The file has been read to its end (or as far as it could be).
    pub fn read(&mut self, file: FileId, out: &mut impl Write) {
        if let Some(tally) = self.files.get_mut(&file) {
            tally.reading = false;
        }
        self.done_with_if_finished(file, out);
    }

    fn done_with_if_finished(&mut self, file: FileId, out: &mut impl Write) {
        let finished = self
            .files
            .get(&file)
            .is_some_and(|tally| !tally.reading && tally.waiting == 0);
        if !finished {
            return;
        }
        if let Some(tally) = self.files.remove(&file)
            && tally.problems > PROBLEMS_SHOWN
        {
            let _ = writeln!(
                out,
                "trailwatch: {}: {} more problems not shown",
                tally.name,
                tally.problems - PROBLEMS_SHOWN
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_s_hidden_problems_are_summed_up_once_its_last_waiting_record_leaves() {
        let mut problems = Problems::default();
        let mut out = Vec::new();
        let file = problems.open("trail.json".into());
        problems.hold(file);
        for index in 0..PROBLEMS_SHOWN + 2 {
            problems.report(file, format!("event {index}: bad"), &mut out);
        }
        problems.read(file, &mut out);
        let printed = String::from_utf8(out.clone()).unwrap();
        assert_eq!(printed.lines().count(), PROBLEMS_SHOWN);
        assert!(printed.starts_with("trailwatch: trail.json: event 0: bad\n"));
        problems.report(file, "event 99: bad", &mut out);
        problems.let_out(file, &mut out);
        let printed = String::from_utf8(out).unwrap();
        assert_eq!(printed.lines().count(), PROBLEMS_SHOWN + 1);
        assert!(printed.ends_with("trailwatch: trail.json: 3 more problems not shown\n"));
        assert!(problems.files.is_empty(), "the file is forgotten");
    }
}
