//! Finding and reading the files a scan names: plain or gzipped JSON, or JSON lines.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use serde_json::Value;
use trailwatch_shared::collect::delivery::{Bounded, MAX_DECOMPRESSED_BYTES};
use trailwatch_shared::{Event, Problem};

/// File names a directory walk picks up; files named on the command line are always read.
const EXTENSIONS: [&str; 6] = [
    ".json",
    ".jsonl",
    ".ndjson",
    ".json.gz",
    ".jsonl.gz",
    ".ndjson.gz",
];
/// Problems printed per file before the rest are only counted.
pub const PROBLEMS_SHOWN: usize = 20;

#[derive(Default)]
pub struct Loaded {
    pub events: Vec<Event>,
    pub files_read: usize,
    /// Records that were not valid events.
    pub rejected: usize,
}

#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("not JSON or JSON lines: {0}")]
    NotJson(String),
}

/// Reads every file under `paths`; what cannot be read is reported on `diagnostics`, by
/// name, and skipped.
pub fn load(paths: &[PathBuf], diagnostics: &mut impl Write) -> Loaded {
    let mut loaded = Loaded::default();
    for file in files(paths, diagnostics) {
        match read_values(&file) {
            Ok(values) => {
                loaded.files_read += 1;
                add_events(&file, values, &mut loaded, diagnostics);
            }
            Err(error) => {
                let _ = writeln!(
                    diagnostics,
                    "trailwatch: skipping {}: {error}",
                    file.display()
                );
            }
        }
    }
    loaded
}

fn files(paths: &[PathBuf], diagnostics: &mut impl Write) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut files, diagnostics);
        } else {
            // Read it even if it does not exist, so the error names it.
            files.push(path.clone());
        }
    }
    files
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, diagnostics: &mut impl Write) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            let _ = writeln!(
                diagnostics,
                "trailwatch: skipping {}: {error}",
                dir.display()
            );
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            walk(&path, files, diagnostics);
        } else if has_scanned_extension(&path) {
            files.push(path);
        }
    }
}

fn has_scanned_extension(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    EXTENSIONS.iter().any(|extension| name.ends_with(extension))
}

/// A file's JSON documents: the whole file as one document, or one per line.
fn read_values(path: &Path) -> Result<Vec<Value>, ReadError> {
    let bytes = fs::read(path)?;
    let text = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut text = Vec::new();
        Bounded::new(
            MultiGzDecoder::new(bytes.as_slice()),
            MAX_DECOMPRESSED_BYTES,
        )
        .read_to_end(&mut text)?;
        text
    } else {
        bytes
    };
    match serde_json::from_slice::<Value>(&text) {
        Ok(value) => Ok(vec![value]),
        Err(whole_error) => {
            let lines: Vec<&[u8]> = text
                .split(|byte| *byte == b'\n')
                .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
                .collect();
            if lines.len() < 2 {
                return Err(ReadError::NotJson(whole_error.to_string()));
            }
            lines
                .iter()
                .enumerate()
                .map(|(number, line)| {
                    serde_json::from_slice(line).map_err(|error| {
                        ReadError::NotJson(format!("line {}: {error}", number + 1))
                    })
                })
                .collect()
        }
    }
}

fn add_events(path: &Path, values: Vec<Value>, loaded: &mut Loaded, diagnostics: &mut impl Write) {
    let mut shown = 0;
    let mut offset = 0;
    for value in values {
        let parsed = match trailwatch_shared::parse_value(value) {
            Ok(parsed) => parsed,
            Err(error) => {
                loaded.rejected += 1;
                let _ = writeln!(diagnostics, "trailwatch: {}: {error}", path.display());
                continue;
            }
        };
        let count = parsed.len();
        for item in parsed {
            match item.outcome {
                Ok(event) => loaded.events.push(event),
                Err(problems) => {
                    loaded.rejected += 1;
                    for problem in problems {
                        if shown < PROBLEMS_SHOWN {
                            let problem = Problem {
                                index: offset + problem.index,
                                ..problem
                            };
                            let _ =
                                writeln!(diagnostics, "trailwatch: {}: {problem}", path.display());
                        }
                        shown += 1;
                    }
                }
            }
        }
        offset += count;
    }
    if shown > PROBLEMS_SHOWN {
        let _ = writeln!(
            diagnostics,
            "trailwatch: {}: {} more problems not shown",
            path.display(),
            shown - PROBLEMS_SHOWN
        );
    }
}
