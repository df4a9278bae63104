//! `trailwatch`: the detection engine on your laptop, no AWS account needed.

// A scan allocates a value per record field; glibc's allocator spent a quarter of the scan's
// time in malloc and free (perf), mimalloc halves the whole scan's time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cases;
mod report;
mod rules;
mod s3;
mod sources;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use trailwatch_shared::adapters::memory_profiles::MemoryProfileStore;
use trailwatch_shared::baseline::{BaselineConfig, SettingError};
use trailwatch_shared::casebook::{Casebook, Triage};
use trailwatch_shared::export;
use trailwatch_shared::finding::FindingSettings;
use trailwatch_shared::incident::IncidentSettings;
use trailwatch_shared::ports::StoreError;
use trailwatch_shared::sigma::SigmaRules;
use trailwatch_shared::suppress::Suppressions;
use trailwatch_shared::{Anomaly, Engine, Event, Severity};

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
    /// trailwatch events. Events are deduplicated by event id and evaluated in event-time
    /// order across all files, and each principal's baseline learns as the scan goes. What
    /// fires is grouped into findings (one per account, principal, detection and key in a
    /// window) and incidents (a principal's findings across ATT&CK tactics).
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
        Command::Scan(args) => scan(&args),
        Command::Rules(args) => rules::command(&args),
        Command::Findings { command, target } => block_on(cases::findings(&command, &target)),
        Command::Incidents { command, target } => block_on(cases::incidents(&command, &target)),
        Command::Suppress { command, target } => block_on(cases::suppress(&command, &target)),
    }
}

fn scan(args: &ScanArgs) -> ExitCode {
    let (engine, triage) = match scan_setup(args) {
        Ok(setup) => setup,
        Err(error) => {
            eprintln!("trailwatch: {error}");
            return ExitCode::from(USAGE);
        }
    };
    let (addresses, files): (Vec<&PathBuf>, Vec<&PathBuf>) = args
        .paths
        .iter()
        .partition(|path| path.to_str().is_some_and(|text| text.starts_with("s3://")));
    let files: Vec<PathBuf> = files.into_iter().cloned().collect();
    let mut loaded = sources::load(&files, &mut std::io::stderr());
    if !addresses.is_empty() {
        let read = block_on(load_s3(&addresses, &args.selection, &mut loaded));
        if let Err(error) = read {
            eprintln!("trailwatch: {error}");
            return ExitCode::from(USAGE);
        }
    }
    if loaded.files_read == 0 {
        eprintln!("trailwatch: nothing could be read");
        return ExitCode::from(USAGE);
    }
    let mut events = loaded.events;
    events.retain(|event| args.selection.admits(event));
    // Delivery files repeat events now and then: each is evaluated and counted once.
    let before = events.len();
    let mut seen = std::collections::HashSet::new();
    events.retain(|event| seen.insert(event.event_id.clone()));
    let repeated = before - events.len();
    // Baselines only make sense in the order things happened.
    events.sort_by_key(|event| event.event_time);
    let mut cases = Casebook::new(triage);
    let anomalies = match block_on(evaluate_in_order(&engine, &events, &mut cases)) {
        Ok(anomalies) => anomalies,
        // The in-memory store cannot fail; if it did, say so rather than print half a scan.
        Err(error) => {
            eprintln!("trailwatch: {error}");
            return ExitCode::FAILURE;
        }
    };
    let threshold = args.min_severity;
    let findings: Vec<_> = cases
        .findings()
        .into_iter()
        .filter(|finding| finding.severity >= threshold)
        .collect();
    let incidents: Vec<_> = cases
        .incidents()
        .into_iter()
        .filter(|incident| incident.severity >= threshold)
        .collect();
    let mut stdout = std::io::stdout().lock();
    let written = if args.stats {
        report::write_stats(&mut stdout, &cases)
    } else {
        match args.format {
            Format::Table => report::write_cases(&mut stdout, &incidents, &findings),
            Format::Jsonl => {
                let shown: Vec<&Anomaly> = anomalies
                    .iter()
                    .filter(|anomaly| anomaly.severity >= threshold)
                    .collect();
                report::write_jsonl(&mut stdout, &shown)
            }
            Format::Findings => report::write_jsonl(&mut stdout, &findings),
            Format::Incidents => report::write_jsonl(&mut stdout, &incidents),
            Format::Ocsf => {
                report::write_values(&mut stdout, findings.iter().map(|f| export::ocsf(f)))
            }
            Format::Asff => {
                report::write_values(&mut stdout, findings.iter().map(|f| export::asff(f, None)))
            }
        }
    };
    let read = report::Read {
        files: loaded.files_read,
        events: events.len(),
        repeated,
        rejected: loaded.rejected,
    };
    eprintln!("{}", report::summary(&read, &anomalies, &cases));
    let status = finish(written);
    let met = args.fail_on.is_some_and(|threshold| {
        cases
            .incidents()
            .iter()
            .any(|incident| incident.severity >= threshold)
            || anomalies.iter().any(|anomaly| {
                anomaly.severity >= threshold && !cases.is_wholly_suppressed(&anomaly.event_id)
            })
    });
    if met && status == ExitCode::SUCCESS {
        ExitCode::from(FOUND)
    } else {
        status
    }
}

/// The engine and the triage a scan's options ask for.
fn scan_setup(args: &ScanArgs) -> Result<(Engine, Triage), String> {
    let config = args.tuning.config().map_err(|error| error.to_string())?;
    let (findings, incidents) = args
        .grouping
        .settings()
        .map_err(|error| error.to_string())?;
    let suppressions = match &args.suppressions {
        Some(path) => Suppressions::load(path).map_err(|error| error.to_string())?,
        None => Suppressions::default(),
    };
    let mut engine = Engine::new(rules::catalog_with(args.rules.as_deref())?, config);
    if let Some(dir) = &args.sigma {
        let loaded = SigmaRules::load_dir(dir).map_err(|error| error.to_string())?;
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
    Ok((
        engine,
        Triage {
            findings,
            incidents,
            suppressions,
        },
    ))
}

/// Reads the `s3://` addresses, one object at a time.
async fn load_s3(
    addresses: &[&PathBuf],
    selection: &Selection,
    loaded: &mut sources::Loaded,
) -> Result<(), String> {
    let config = aws_config::load_from_env().await;
    let client = aws_sdk_s3::Client::new(&config);
    for address in addresses {
        let text = address.to_string_lossy();
        let url = s3::S3Url::parse(&text).unwrap_or_else(|| Err(format!("{text}: not s3://")))?;
        s3::load(&client, &url, selection, loaded, &mut std::io::stderr()).await?;
    }
    Ok(())
}

/// Runs the engine over events already in event-time order, baselines learning as they go,
/// and gathers what fires into findings and incidents.
async fn evaluate_in_order(
    engine: &Engine,
    events: &[Event],
    cases: &mut Casebook,
) -> Result<Vec<Anomaly>, StoreError> {
    let profiles = MemoryProfileStore::default();
    let detected_at = chrono::Utc::now();
    // indicatif draws only when stderr is a terminal.
    let progress = ProgressBar::new(events.len() as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} events, {per_sec}, {eta} left")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut anomalies = Vec::new();
    for (done, event) in events.iter().enumerate() {
        if let Some(anomaly) = engine.evaluate(event, &profiles, detected_at).await? {
            cases.record(event, &anomaly);
            anomalies.push(anomaly);
        }
        if done % 4096 == 0 {
            progress.set_position(done as u64);
        }
    }
    progress.finish_and_clear();
    Ok(anomalies)
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
