//! `trailwatch`: the detection engine on your laptop, no AWS account needed.

mod report;
mod sources;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use trailwatch_shared::Engine;

#[derive(Parser)]
#[command(
    name = "trailwatch",
    version,
    about = "Real-time anomaly detection for AWS CloudTrail"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan CloudTrail files offline and print the anomalies they hold.
    ///
    /// Reads files or directories of `.json`, `.json.gz` or JSON lines: CloudTrail delivery
    /// files, arrays or single CloudTrail records, EventBridge CloudTrail events, or
    /// trailwatch events. Events are evaluated in event-time order across all files.
    Scan {
        /// How to print anomalies.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Files or directories to scan (directories are walked for .json, .jsonl, .ndjson
        /// and their .gz forms).
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// A readable table with one reason line per detection.
    Table,
    /// One JSON object per anomaly, one per line.
    Jsonl,
}

/// Exit code when no input at all could be read.
const NOTHING_READ: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Scan { format, paths } => scan(format, &paths),
    }
}

fn scan(format: Format, paths: &[PathBuf]) -> ExitCode {
    let loaded = sources::load(paths, &mut std::io::stderr());
    if loaded.files_read == 0 {
        eprintln!("trailwatch: nothing could be read");
        return ExitCode::from(NOTHING_READ);
    }
    let mut events = loaded.events;
    // Baselines and sequences only make sense in the order things happened.
    events.sort_by_key(|event| event.event_time);
    let engine = Engine::default();
    let detected_at = chrono::Utc::now();
    let anomalies: Vec<_> = events
        .iter()
        .filter_map(|event| engine.evaluate(event, detected_at))
        .collect();
    let mut stdout = std::io::stdout().lock();
    let written = match format {
        Format::Table => report::write_table(&mut stdout, &anomalies),
        Format::Jsonl => report::write_jsonl(&mut stdout, &anomalies),
    };
    if let Err(error) = written
        && error.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("trailwatch: cannot write the report: {error}");
        return ExitCode::FAILURE;
    }
    eprintln!(
        "{}",
        report::summary(loaded.files_read, events.len(), loaded.rejected, &anomalies)
    );
    ExitCode::SUCCESS
}
