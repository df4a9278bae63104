//! `trailwatch`: the detection engine on your laptop, no AWS account needed.

mod report;
mod sources;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use trailwatch_shared::adapters::memory_profiles::MemoryProfileStore;
use trailwatch_shared::baseline::{BaselineConfig, SettingError};
use trailwatch_shared::ports::StoreError;
use trailwatch_shared::rules::CATALOG;
use trailwatch_shared::sigma::SigmaRules;
use trailwatch_shared::{Anomaly, Engine, Event, Severity};

/// Exit code when `--fail-on` is met.
const FOUND: u8 = 1;
/// Exit code for a bad setting (clap uses it for bad usage too) and when nothing could be read.
const USAGE: u8 = 2;

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
    /// trailwatch events. Events are evaluated in event-time order across all files, and
    /// each principal's baseline learns as the scan goes.
    Scan(Box<ScanArgs>),
    /// List the built-in detection rules.
    Rules {
        #[arg(long, value_enum, default_value_t = RulesFormat::Table)]
        format: RulesFormat,
    },
}

#[derive(Args)]
struct ScanArgs {
    /// How to print anomalies.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Print only anomalies of this severity or above.
    #[arg(long, value_name = "SEVERITY", default_value = "low")]
    min_severity: Severity,
    /// Exit with status 1 when an anomaly of this severity or above is found (for CI jobs and
    /// incident scripts).
    #[arg(long, value_name = "SEVERITY")]
    fail_on: Option<Severity>,
    /// Also evaluate the Sigma rules for CloudTrail in this directory.
    #[arg(long, value_name = "DIR")]
    sigma: Option<PathBuf>,
    #[command(flatten)]
    tuning: Tuning,
    /// Files or directories to scan (directories are walked for .json, .jsonl, .ndjson
    /// and their .gz forms).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

/// The baselines' settings; the detector function reads the same ones from
/// `TRAILWATCH_<NAME>` environment variables.
#[derive(Args)]
struct Tuning {
    /// Days of history before a principal's first-seen values are reported [default: 7].
    #[arg(long, value_name = "DAYS")]
    learning_days: Option<String>,
    /// Events a principal needs before its first-seen values are reported [default: 20].
    #[arg(long, value_name = "EVENTS")]
    learning_min_events: Option<String>,
    /// Days after the account's first event before new principals are reported [default: 7].
    #[arg(long, value_name = "DAYS")]
    account_learning_days: Option<String>,
    /// Calls in an hour below which no hour is a spike [default: 100].
    #[arg(long, value_name = "CALLS")]
    volume_min_calls: Option<String>,
    /// How many times its typical hour an hour must be to be a spike [default: 5].
    #[arg(long, value_name = "FACTOR")]
    volume_factor: Option<String>,
    /// Access-denied errors within the window that make a burst [default: 10].
    #[arg(long, value_name = "ERRORS")]
    denied_burst: Option<String>,
    /// The window of an access-denied burst, in minutes [default: 5].
    #[arg(long, value_name = "MINUTES")]
    denied_window_minutes: Option<String>,
}

impl Tuning {
    fn config(&self) -> Result<BaselineConfig, SettingError> {
        BaselineConfig::with_settings(
            |key| match key {
                "learning_days" => self.learning_days.clone(),
                "learning_min_events" => self.learning_min_events.clone(),
                "account_learning_days" => self.account_learning_days.clone(),
                "volume_min_calls" => self.volume_min_calls.clone(),
                "volume_factor" => self.volume_factor.clone(),
                "denied_burst" => self.denied_burst.clone(),
                "denied_window_minutes" => self.denied_window_minutes.clone(),
                _ => None,
            },
            |key| format!("--{}", key.replace('_', "-")),
        )
    }
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Scan(args) => scan(&args),
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

fn scan(args: &ScanArgs) -> ExitCode {
    let config = match args.tuning.config() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("trailwatch: {error}");
            return ExitCode::from(USAGE);
        }
    };
    let mut engine = Engine::new(CATALOG, config);
    if let Some(dir) = &args.sigma {
        match SigmaRules::load_dir(dir) {
            Ok(loaded) => {
                for unsupported in &loaded.unsupported {
                    eprintln!(
                        "trailwatch: Sigma rule {} not loaded: {}",
                        unsupported.file.display(),
                        unsupported.reason
                    );
                }
                eprintln!(
                    "trailwatch: {} Sigma rules loaded from {}",
                    loaded.rules.len(),
                    dir.display()
                );
                engine = engine.with_sigma(loaded.rules);
            }
            Err(error) => {
                eprintln!("trailwatch: {error}");
                return ExitCode::from(USAGE);
            }
        }
    }
    let loaded = sources::load(&args.paths, &mut std::io::stderr());
    if loaded.files_read == 0 {
        eprintln!("trailwatch: nothing could be read");
        return ExitCode::from(USAGE);
    }
    let mut events = loaded.events;
    // Baselines only make sense in the order things happened.
    events.sort_by_key(|event| event.event_time);
    let anomalies = match block_on(evaluate_in_order(&engine, &events)) {
        Ok(anomalies) => anomalies,
        // The in-memory store cannot fail; if it did, say so rather than print half a scan.
        Err(error) => {
            eprintln!("trailwatch: {error}");
            return ExitCode::FAILURE;
        }
    };
    let shown: Vec<Anomaly> = anomalies
        .iter()
        .filter(|anomaly| anomaly.severity >= args.min_severity)
        .cloned()
        .collect();
    let mut stdout = std::io::stdout().lock();
    let written = match args.format {
        Format::Table => report::write_table(&mut stdout, &shown),
        Format::Jsonl => report::write_jsonl(&mut stdout, &shown),
    };
    eprintln!(
        "{}",
        report::summary(loaded.files_read, events.len(), loaded.rejected, &anomalies)
    );
    let status = finish(written);
    let met = args.fail_on.is_some_and(|threshold| {
        anomalies
            .iter()
            .any(|anomaly| anomaly.severity >= threshold)
    });
    if met && status == ExitCode::SUCCESS {
        ExitCode::from(FOUND)
    } else {
        status
    }
}

/// Runs the engine over events already in event-time order, baselines learning as they go.
async fn evaluate_in_order(engine: &Engine, events: &[Event]) -> Result<Vec<Anomaly>, StoreError> {
    let profiles = MemoryProfileStore::default();
    let detected_at = chrono::Utc::now();
    // indicatif draws only when stderr is a terminal.
    let progress = ProgressBar::new(events.len() as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} events, {per_sec}, {eta} left")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut anomalies = Vec::new();
    for (done, event) in events.iter().enumerate() {
        anomalies.extend(engine.evaluate(event, &profiles, detected_at).await?);
        if done % 4096 == 0 {
            progress.set_position(done as u64);
        }
    }
    progress.finish_and_clear();
    Ok(anomalies)
}

/// Runs a future that never waits on I/O (the in-memory stores) to completion.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .map(|runtime| runtime.block_on(future))
        .unwrap_or_else(|error| panic!("cannot start the async runtime: {error}"))
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
