//! `trailwatch`: the detection engine on your laptop, no AWS account needed.

// A scan allocates a value per record field; glibc's allocator spent a quarter of the scan's
// time in malloc and free (perf), mimalloc halves the whole scan's time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cases;
mod inputs;
mod order;
mod problems;
mod reader;
mod report;
mod rules;
mod s3;
mod scan;
mod sources;
mod spill;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use trailwatch_shared::baseline::{BaselineConfig, SettingError};
use trailwatch_shared::finding::FindingSettings;
use trailwatch_shared::incident::IncidentSettings;
use trailwatch_shared::{Event, Severity};

/// Exit code when `--fail-on` is met.
pub(crate) const FOUND: u8 = 1;
/// Exit code for a bad setting (clap uses it for bad usage too) and when nothing could be read.
pub(crate) const USAGE: u8 = 2;

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
    /// Scan CloudTrail files offline and print the incidents and findings they hold.
    ///
    /// Reads files or directories of `.json`, `.json.gz` or JSON lines: CloudTrail delivery
    /// files, arrays or single CloudTrail records, EventBridge CloudTrail events, or
    /// trailwatch events. Files are read one at a time in time order (CloudTrail's by the
    /// delivery time in their names) and records put in event-time order within a window;
    /// repeated event ids count once, and each principal's baseline learns as the scan goes
    /// (and forgets, as the deployed store does, what it has not seen for 90 days). What
    /// fires is grouped into findings (one per account, principal, detection and key in a
    /// window) and incidents (a principal's findings across ATT&CK tactics); those no later
    /// event can change wait in a temporary file for the report. Memory follows the window,
    /// the baselines and the open findings, not the input.
    Scan(Box<ScanArgs>),
    /// A deployed stack's findings: list, show, acknowledge, resolve.
    Findings {
        #[command(subcommand)]
        command: cases::FindingsCommand,
        #[command(flatten)]
        target: cases::Target,
    },
    /// A deployed stack's incidents: list, show.
    Incidents {
        #[command(subcommand)]
        command: cases::IncidentsCommand,
        #[command(flatten)]
        target: cases::Target,
    },
    /// A deployed stack's suppression rules: add, list, remove.
    Suppress {
        #[command(subcommand)]
        command: cases::SuppressCommand,
        #[command(flatten)]
        target: cases::Target,
    },
    /// List the detection rules, or test rule files (`rules test`).
    Rules(rules::RulesArgs),
}

#[derive(Args)]
struct ScanArgs {
    /// What to print.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Print only findings, incidents (and with `--format jsonl`, anomalies) of this severity
    /// or above.
    #[arg(long, value_name = "SEVERITY", default_value = "low")]
    min_severity: Severity,
    /// Exit with status 1 when an incident, or an anomaly not wholly suppressed, of this
    /// severity or above is found (for CI jobs and incident scripts).
    #[arg(long, value_name = "SEVERITY")]
    fail_on: Option<Severity>,
    /// Suppression rules (YAML or JSON), applied as the detector applies them: suppressed
    /// findings are shown marked and raise nothing.
    #[arg(long, value_name = "FILE")]
    suppressions: Option<PathBuf>,
    /// Print, per detection and per principal, how many findings and incidents this history
    /// raises and how many the suppressions silence, instead of the findings themselves (a
    /// backtest of a rule or a tuning change).
    #[arg(long)]
    stats: bool,
    #[command(flatten)]
    grouping: Grouping,
    /// Also evaluate the Sigma rules for CloudTrail in this directory.
    #[arg(long, value_name = "DIR")]
    sigma: Option<PathBuf>,
    /// Also your own rule files (YAML, trailwatch's rule format) in this directory; a file
    /// with a built-in rule's id replaces it (`enabled: false` turns it off).
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    #[command(flatten)]
    selection: Selection,
    #[command(flatten)]
    tuning: Tuning,
    /// Minutes of event time within which records are put back in order (CloudTrail's files
    /// overlap); a record later than that is still evaluated, out of order, and counted as
    /// late. Memory grows with this window, not with the input.
    #[arg(long, value_name = "MINUTES", default_value_t = 15,
          value_parser = clap::value_parser!(u32).range(0..=1440))]
    reorder_window_minutes: u32,
    /// Files, directories (walked for .json, .jsonl, .ndjson and their .gz forms) or
    /// s3://bucket/prefix addresses of a trail's bucket, in any mix.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

/// Which events a scan takes; for `s3://` addresses, also which prefixes it lists.
#[derive(Args, Default)]
pub struct Selection {
    /// Only events on or after this day (UTC, YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub since: Option<chrono::NaiveDate>,
    /// Only events on or before this day (UTC, YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub until: Option<chrono::NaiveDate>,
    /// Only this account's events (repeat for more).
    #[arg(long, value_name = "ID")]
    pub account: Vec<String>,
    /// Only this region's events (repeat for more).
    #[arg(long, value_name = "REGION")]
    pub region: Vec<String>,
}

impl Selection {
    /// Whether a day's partition may hold selected events: the day itself, or the day
    /// before it (files delivered after midnight).
    pub fn may_hold(&self, day: chrono::NaiveDate) -> bool {
        self.since.is_none_or(|since| day >= since)
            && self
                .until
                .is_none_or(|until| day <= until.succ_opt().unwrap_or(until))
    }

    fn admits(&self, event: &Event) -> bool {
        let day = event.event_time.date_naive();
        self.since.is_none_or(|since| day >= since)
            && self.until.is_none_or(|until| day <= until)
            && (self.account.is_empty()
                || event
                    .account_id
                    .as_ref()
                    .is_some_and(|id| self.account.contains(id)))
            && (self.region.is_empty()
                || event
                    .region
                    .as_ref()
                    .is_some_and(|region| self.region.contains(region)))
    }
}

/// How findings and incidents are grouped; the detector function reads the same settings
/// from `TRAILWATCH_<NAME>` environment variables.
#[derive(Args)]
struct Grouping {
    /// Hours of event time one finding spans [default: 24].
    #[arg(long, value_name = "HOURS")]
    finding_window_hours: Option<String>,
    /// Hours within which a principal's findings join one incident [default: 24].
    #[arg(long, value_name = "HOURS")]
    incident_window_hours: Option<String>,
}

impl Grouping {
    fn settings(&self) -> Result<(FindingSettings, IncidentSettings), SettingError> {
        trailwatch_shared::casebook::window_settings(
            |key| match key {
                "finding_window_hours" => self.finding_window_hours.clone(),
                "incident_window_hours" => self.incident_window_hours.clone(),
                _ => None,
            },
            |key| format!("--{}", key.replace('_', "-")),
        )
    }
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
    /// Days of event time after which a value or a principal not seen again is forgotten, as
    /// the deployed store's items expire [default: 90].
    #[arg(long, value_name = "DAYS")]
    state_ttl_days: Option<String>,
    /// Judge calls AWS services make (AWSService, invokedBy, service-linked roles) against
    /// their baselines too: first-seen values, access-denied bursts, volume spikes
    /// [default: false].
    #[arg(long, value_name = "BOOL")]
    judge_aws_services: Option<String>,
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
                "state_ttl_days" => self.state_ttl_days.clone(),
                "judge_aws_services" => self.judge_aws_services.clone(),
                _ => None,
            },
            |key| format!("--{}", key.replace('_', "-")),
        )
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// Incidents, then findings with their counts, for people.
    Table,
    /// One JSON object per anomaly (per event), one per line.
    Jsonl,
    /// One JSON object per finding, one per line.
    Findings,
    /// One JSON object per incident, one per line.
    Incidents,
    /// Findings as OCSF Detection Finding (class 2004) objects, one per line.
    Ocsf,
    /// Findings in the AWS Security Finding Format (Security Hub), one per line.
    Asff,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Scan(args) => scan::run(&args),
        Command::Rules(args) => rules::command(&args),
        Command::Findings { command, target } => block_on(cases::findings(&command, &target)),
        Command::Incidents { command, target } => block_on(cases::incidents(&command, &target)),
        Command::Suppress { command, target } => block_on(cases::suppress(&command, &target)),
    }
}

/// Runs a future to completion on a runtime of this thread (S3 reads, the in-memory stores).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map(|runtime| runtime.block_on(future))
        .unwrap_or_else(|error| panic!("cannot start the async runtime: {error}"))
}

/// Exit status after writing a report; a closed pipe (`| head`) is not a failure.
pub(crate) fn finish(written: std::io::Result<()>) -> ExitCode {
    match written {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("trailwatch: cannot write the report: {error}");
            ExitCode::FAILURE
        }
        _ => ExitCode::SUCCESS,
    }
}
