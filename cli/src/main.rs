//! `trailwatch`: the detection engine on your laptop, no AWS account needed.

mod report;
mod sources;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use trailwatch_shared::adapters::memory_profiles::MemoryProfileStore;
use trailwatch_shared::ports::StoreError;
use trailwatch_shared::{Anomaly, Engine, Event};

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
    /// List the built-in detection rules.
    Rules {
        #[arg(long, value_enum, default_value_t = RulesFormat::Table)]
        format: RulesFormat,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RulesFormat {
    /// A readable table.
    Table,
    /// One JSON object per rule.
    Jsonl,
    /// A Markdown table, as in the README.
    Markdown,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// A readable table with one reason line per detection.
    Table,
    /// One JSON object per anomaly, one per line.
    Jsonl,
}

/// Runs the engine over events already in event-time order, baselines learning as they go.
async fn evaluate_in_order(events: &[Event]) -> Result<Vec<Anomaly>, StoreError> {
    let engine = Engine::default();
    let profiles = MemoryProfileStore::default();
    let detected_at = chrono::Utc::now();
    let mut anomalies = Vec::new();
    for event in events {
        anomalies.extend(engine.evaluate(event, &profiles, detected_at).await?);
    }
    Ok(anomalies)
}

/// Runs a future that never waits on I/O (the in-memory stores) to completion.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .map(|runtime| runtime.block_on(future))
        .unwrap_or_else(|error| panic!("cannot start the async runtime: {error}"))
}

/// Exit code when no input at all could be read.
const NOTHING_READ: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Scan { format, paths } => scan(format, &paths),
        Command::Rules { format } => rules(format),
    }
}

fn rules(format: RulesFormat) -> ExitCode {
    let rules = Engine::default().rules();
    let mut stdout = std::io::stdout().lock();
    let written = match format {
        RulesFormat::Table => report::write_rules_table(&mut stdout, rules),
        RulesFormat::Jsonl => report::write_rules_jsonl(&mut stdout, rules),
        RulesFormat::Markdown => report::write_rules_markdown(&mut stdout, rules),
    };
    finish(written)
}

/// Exit status after writing a report; a closed pipe (`| head`) is not a failure.
fn finish(written: std::io::Result<()>) -> ExitCode {
    match written {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("trailwatch: cannot write the report: {error}");
            ExitCode::FAILURE
        }
        _ => ExitCode::SUCCESS,
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
    let anomalies = match block_on(evaluate_in_order(&events)) {
        Ok(anomalies) => anomalies,
        // The in-memory store cannot fail; if it did, say so rather than print half a scan.
        Err(error) => {
            eprintln!("trailwatch: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    let written = match format {
        Format::Table => report::write_table(&mut stdout, &anomalies),
        Format::Jsonl => report::write_jsonl(&mut stdout, &anomalies),
    };
    eprintln!(
        "{}",
        report::summary(loaded.files_read, events.len(), loaded.rejected, &anomalies)
    );
    finish(written)
}
