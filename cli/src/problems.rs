//! A scan's problems with its records, named by the file being read: the first few of each
//! file printed, the rest counted and summed up once the file has been read.

use std::io::Write;

/// Problems printed per file before the rest are only counted.
pub const PROBLEMS_SHOWN: usize = 20;

/// The problems of the file being read; none is named before a file is opened.
#[derive(Default)]
pub struct Problems {
    reading: Option<Tally>,
}

struct Tally {
    name: String,
    problems: usize,
}

impl Problems {
    /// A file begins to be read (the one before it has been read).
    pub fn open(&mut self, name: String) {
        self.reading = Some(Tally { name, problems: 0 });
    }

    /// One problem of one of the file's records: printed, or counted once enough are.
    pub fn report(&mut self, problem: impl std::fmt::Display, out: &mut impl Write) {
        if let Some(tally) = &mut self.reading {
            if tally.problems < PROBLEMS_SHOWN {
                let _ = writeln!(out, "trailwatch: {}: {problem}", tally.name);
            }
            tally.problems += 1;
        }
    }

    /// The file has been read to its end (or as far as it could be): the problems not
    /// printed are summed up.
    pub fn read(&mut self, out: &mut impl Write) {
        if let Some(tally) = self.reading.take()
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
    fn a_file_s_hidden_problems_are_summed_up_once_it_has_been_read() {
        let mut problems = Problems::default();
        let mut out = Vec::new();
        problems.report("event 0: before any file", &mut out);
        assert!(out.is_empty(), "no file, nothing named");
        problems.open("trail.json".into());
        for index in 0..PROBLEMS_SHOWN + 3 {
            problems.report(format!("event {index}: bad"), &mut out);
        }
        let printed = String::from_utf8(out.clone()).unwrap();
        assert_eq!(printed.lines().count(), PROBLEMS_SHOWN);
        assert!(printed.starts_with("trailwatch: trail.json: event 0: bad\n"));
        problems.read(&mut out);
        let printed = String::from_utf8(out).unwrap();
        assert_eq!(printed.lines().count(), PROBLEMS_SHOWN + 1);
        assert!(printed.ends_with("trailwatch: trail.json: 3 more problems not shown\n"));
    }
}
