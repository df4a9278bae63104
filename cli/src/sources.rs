//! Finding the files a scan names: plain or gzipped JSON, or JSON lines. A trail's folders
//! (`…/CloudTrail/<region>/YYYY/MM/DD/`) are not listed up front but a day at a time, so a
//! year of an organization's files is never held as one list.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

/// File names a directory walk picks up; files named on the command line are always read.
const EXTENSIONS: [&str; 6] = [
    ".json",
    ".jsonl",
    ".ndjson",
    ".json.gz",
    ".jsonl.gz",
    ".ndjson.gz",
];

/// The files `paths` name, and the day folders under them, to be listed when their day
/// comes.
#[derive(Debug, Default)]
pub struct Found {
    /// Files as given, and files under directories outside day folders, in name order.
    pub files: Vec<PathBuf>,
    /// Day folders (`YYYY/MM/DD`) by their day.
    pub days: BTreeMap<NaiveDate, Vec<PathBuf>>,
}

/// Walks `paths`; a directory that cannot be read is reported on `diagnostics`.
pub fn find(paths: &[PathBuf], diagnostics: &mut impl Write) -> Found {
    let mut found = Found::default();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut found, diagnostics);
        } else {
            // Read it even if it does not exist, so the error names it.
            found.files.push(path.clone());
        }
    }
    found
}

/// The scanned files under a day folder, in name order.
pub fn files_under(dir: &Path, diagnostics: &mut impl Write) -> Vec<PathBuf> {
    let mut found = Found::default();
    walk_all(dir, &mut found.files, diagnostics);
    found.files
}

fn walk(dir: &Path, found: &mut Found, diagnostics: &mut impl Write) {
    if let Some(day) = day_of_folder(dir) {
        found.days.entry(day).or_default().push(dir.to_path_buf());
        return;
    }
    for (path, is_dir) in entries(dir, diagnostics) {
        if is_dir {
            walk(&path, found, diagnostics);
        } else if has_scanned_extension(&path) {
            found.files.push(path);
        }
    }
}

fn walk_all(dir: &Path, files: &mut Vec<PathBuf>, diagnostics: &mut impl Write) {
    for (path, is_dir) in entries(dir, diagnostics) {
        if is_dir {
            walk_all(&path, files, diagnostics);
        } else if has_scanned_extension(&path) {
            files.push(path);
        }
    }
}

/// A directory's entries in name order, and whether each is a directory. The type comes
/// with the listing (a symbolic link is followed), so a day of a trail's files costs no
/// `stat` each; names are compared as names, not as paths split into components.
fn entries(dir: &Path, diagnostics: &mut impl Write) -> Vec<(PathBuf, bool)> {
    match fs::read_dir(dir) {
        Ok(entries) => {
            let mut named: Vec<(std::ffi::OsString, bool)> = entries
                .filter_map(Result::ok)
                .map(|entry| {
                    let is_dir = match entry.file_type() {
                        Ok(kind) if !kind.is_symlink() => kind.is_dir(),
                        _ => entry.path().is_dir(),
                    };
                    (entry.file_name(), is_dir)
                })
                .collect();
            named.sort_unstable();
            named
                .into_iter()
                .map(|(name, is_dir)| (dir.join(name), is_dir))
                .collect()
        }
        Err(error) => {
            let _ = writeln!(
                diagnostics,
                "trailwatch: skipping {}: {error}",
                dir.display()
            );
            Vec::new()
        }
    }
}

/// The day of a trail's day folder: the path ends in `YYYY/MM/DD`.
fn day_of_folder(dir: &Path) -> Option<NaiveDate> {
    let mut parts = dir.components().rev().map(|part| part.as_os_str().to_str());
    let (day, month, year) = (parts.next()??, parts.next()??, parts.next()??);
    let digits = |text: &str, length: usize| {
        text.len() == length && text.bytes().all(|b| b.is_ascii_digit())
    };
    if !(digits(year, 4) && digits(month, 2) && digits(day, 2)) {
        return None;
    }
    NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?)
}

fn has_scanned_extension(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    EXTENSIONS.iter().any(|extension| name.ends_with(extension))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_folders_are_kept_for_later_and_other_files_found_now() {
        let dir = tempfile::tempdir().unwrap();
        let trail = dir.path().join("AWSLogs/111122223333/CloudTrail/eu-west-1");
        for day in ["2026/11/01", "2026/11/02"] {
            std::fs::create_dir_all(trail.join(day)).unwrap();
            std::fs::write(trail.join(day).join("a.json.gz"), b"").unwrap();
        }
        std::fs::write(dir.path().join("notes.jsonl"), b"").unwrap();
        std::fs::write(dir.path().join("readme.txt"), b"").unwrap();
        let found = find(&[dir.path().to_path_buf()], &mut Vec::new());
        assert_eq!(found.files, [dir.path().join("notes.jsonl")]);
        let days: Vec<String> = found.days.keys().map(ToString::to_string).collect();
        assert_eq!(days, ["2026-11-01", "2026-11-02"]);
        assert_eq!(
            files_under(&found.days.values().next().unwrap()[0], &mut Vec::new()),
            [trail.join("2026/11/01/a.json.gz")]
        );
    }
}
