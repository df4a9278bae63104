//! `trailwatch scan` as a stream: inputs read one at a time in time order, each record
//! parsed, selected, deduplicated and put in event-time order by a bounded window, then
//! evaluated and counted into findings and incidents. Memory follows the window and the
//! baselines, not the input.

use std::future::Future;
use std::io::{self, Write};
use std::pin::pin;
use std::process::ExitCode;
use std::task::{Context, Poll, Waker};

use chrono::{DateTime, TimeDelta, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use trailwatch_shared::adapters::memory_profiles::MemoryProfileStore;
use trailwatch_shared::adapters::s3::S3ObjectSource;
use trailwatch_shared::casebook::{self, Casebook, Triage};
use trailwatch_shared::finding::Finding;
use trailwatch_shared::incident::Incident;
use trailwatch_shared::ports::StoreError;
use trailwatch_shared::sigma::SigmaRules;
use trailwatch_shared::suppress::Suppressions;
use trailwatch_shared::{Anomaly, Engine, Event, Problem, Severity, export};

use crate::inputs::{Input, Plan};
use crate::order::{RecentIds, Reorder};
use crate::problems::Problems;
use crate::reader::{self, Arrival, Reader};
use crate::spill::{Sorted, Spill};
use crate::{FOUND, Format, ScanArgs, USAGE, finish, report, rules, s3, sources};

/// How long past the reorder window an event id is remembered, to recognise a repeat.
const REPEAT_HORIZON: TimeDelta = TimeDelta::hours(1);
/// How far behind the latest event a finding or incident stays open for late events, once
/// its window has passed.
const LATE_SLACK: TimeDelta = TimeDelta::days(1);
/// How often, in event time, what has closed is written out of memory.
const CLOSE_EVERY: TimeDelta = TimeDelta::hours(1);

pub fn run(args: &ScanArgs) -> ExitCode {
    let (engine, triage) = match setup(args) {
        Ok(setup) => setup,
        Err(error) => {
            eprintln!("trailwatch: {error}");
            return ExitCode::from(USAGE);
        }
    };
    // One worker thread drives S3 downloads while this thread reads them through a blocking
    // bridge (a current-thread runtime would drive no I/O outside its own block_on).
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("trailwatch: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let (plan, objects) = match runtime.block_on(gather(args)) {
        Ok(gathered) => gathered,
        Err(error) => {
            eprintln!("trailwatch: {error}");
            return ExitCode::from(USAGE);
        }
    };
    let closed = match Closed::new() {
        Ok(closed) => closed,
        Err(error) => {
            eprintln!("trailwatch: cannot create a temporary file for closed findings: {error}");
            return ExitCode::FAILURE;
        }
    };
    let streams_anomalies = matches!(args.format, Format::Jsonl) && !args.stats;
    let window = TimeDelta::minutes(i64::from(args.reorder_window_minutes));
    let mut pass = Pass {
        reorder: Reorder::new(window),
        recent: RecentIds::new(window + REPEAT_HORIZON),
        problems: Problems::default(),
        evaluation: Evaluation {
            engine: &engine,
            profiles: MemoryProfileStore::default(),
            detected_at: Utc::now(),
            cases: Casebook::new(triage),
            closed,
            read: report::Read::default(),
            shown: streams_anomalies
                .then(|| (args.min_severity, io::BufWriter::new(io::stdout().lock()))),
            fail_on: args.fail_on,
            met: false,
        },
        selection: &args.selection,
    };
    // indicatif draws only when stderr is a terminal.
    let progress = ProgressBar::new(plan.len() as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} files and days, {msg}, {eta} left")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let halted = std::thread::scope(|scope| {
        let (sender, arrivals) = std::sync::mpsc::sync_channel(reader::BATCHES_AHEAD);
        let reader = Reader::new(&runtime, objects, progress.clone(), sender);
        scope.spawn(move || reader.read_all(plan));
        let mut diagnostics = io::stderr();
        for batch in arrivals.iter() {
            for arrival in batch {
                if let Err(halt) = pass.arrive(arrival, &mut diagnostics) {
                    // Dropping the receiver stops the reader at its next send.
                    return Some(halt);
                }
            }
            progress.set_message(format!("{} events", pass.evaluation.read.events));
        }
        pass.finish().err()
    });
    progress.finish_and_clear();
    let Pass { mut evaluation, .. } = pass;
    let flushed = match evaluation.shown.take() {
        Some((_, mut shown)) => shown.flush(),
        None => Ok(()),
    };
    if let Some(halt @ (Halt::Store(_) | Halt::Spill(_))) = &halted {
        // The in-memory store cannot fail; if it did, or the temporary file did, say so
        // rather than print half a scan.
        eprintln!("trailwatch: {halt}");
        return ExitCode::FAILURE;
    }
    if evaluation.read.files == 0 {
        eprintln!("trailwatch: nothing could be read");
        return ExitCode::from(USAGE);
    }
    let open = evaluation.cases.close_all();
    let mut cases = match evaluation.closed.finish(open) {
        Ok(cases) => cases,
        Err(error) => {
            eprintln!("trailwatch: {error}");
            return ExitCode::FAILURE;
        }
    };
    let written = match halted {
        Some(Halt::Write(error)) => Err(error),
        _ => flushed.and_then(|()| write_report(args, &mut io::stdout().lock(), &mut cases)),
    };
    eprintln!("{}", report::summary(&evaluation.read, cases.counts()));
    let status = finish(written);
    let met = evaluation.met
        || args
            .fail_on
            .is_some_and(|threshold| cases.incidents.any_at_least(threshold));
    if met && status == ExitCode::SUCCESS {
        ExitCode::from(FOUND)
    } else {
        status
    }
}

/// What is printed once everything is read (anomalies as JSON lines are printed as found).
fn write_report(args: &ScanArgs, out: &mut impl Write, cases: &mut SortedCases) -> io::Result<()> {
    let threshold = args.min_severity;
    if args.stats {
        return report::write_stats(
            out,
            cases.findings.read(Severity::Low),
            cases.incidents.read(Severity::Low),
        );
    }
    match args.format {
        Format::Table => {
            report::write_incidents(out, cases.incidents.read(threshold))?;
            let mut widths = report::FindingWidths::default();
            for finding in cases.findings.read(threshold) {
                widths.fit(&finding?);
            }
            report::write_findings(out, widths, cases.findings.read(threshold))?;
            out.flush()
        }
        Format::Jsonl => out.flush(),
        Format::Findings => report::write_results(out, cases.findings.read(threshold)),
        Format::Incidents => report::write_results(out, cases.incidents.read(threshold)),
        Format::Ocsf => report::write_results(
            out,
            cases
                .findings
                .read(threshold)
                .map(|finding| finding.map(|f| export::ocsf(&f))),
        ),
        Format::Asff => report::write_results(
            out,
            cases
                .findings
                .read(threshold)
                .map(|finding| finding.map(|f| export::asff(&f, None))),
        ),
    }
}

/// The engine and the triage a scan's options ask for.
fn setup(args: &ScanArgs) -> Result<(Engine, Triage), String> {
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

/// Every input the paths name (local files and day folders, and the objects `s3://`
/// addresses list), planned in the order to read them; and, when there are addresses, the
/// client that listed them, to read the objects with.
async fn gather(args: &ScanArgs) -> Result<(Plan, Option<S3ObjectSource>), String> {
    let (addresses, paths): (Vec<_>, Vec<_>) = args
        .paths
        .iter()
        .partition(|path| path.to_str().is_some_and(|text| text.starts_with("s3://")));
    let paths: Vec<_> = paths.into_iter().cloned().collect();
    let found = sources::find(&paths, &mut io::stderr());
    let mut singles: Vec<Input> = found.files.into_iter().map(Input::local).collect();
    let mut objects = None;
    if !addresses.is_empty() {
        let config = aws_config::load_from_env().await;
        let client = aws_sdk_s3::Client::new(&config);
        for address in addresses {
            let text = address.to_string_lossy();
            let url =
                s3::S3Url::parse(&text).unwrap_or_else(|| Err(format!("{text}: not s3://")))?;
            singles.extend(s3::inputs(&client, &url, &args.selection).await?);
        }
        objects = Some(S3ObjectSource::new(client));
    }
    Ok((Plan::new(singles, found.days), objects))
}

/// Why a scan stopped before its end.
enum Halt {
    Store(StoreError),
    /// Closed findings could not be written to their temporary file.
    Spill(io::Error),
    /// The output could not be written (a closed pipe, a full disk).
    Write(io::Error),
}

impl std::fmt::Display for Halt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Halt::Store(error) => write!(f, "{error}"),
            Halt::Spill(error) => write!(f, "cannot keep closed findings on disk: {error}"),
            Halt::Write(error) => write!(f, "{error}"),
        }
    }
}

/// One scan's reading: inputs to events, in order.
struct Pass<'a, W: Write> {
    /// Events waiting for their turn, boxed so the window moves small entries.
    reorder: Reorder<Box<Event>>,
    recent: RecentIds,
    problems: Problems,
    evaluation: Evaluation<'a, W>,
    selection: &'a crate::Selection,
}

impl<W: Write> Pass<'_, W> {
    /// What reading found, in order: records held, problems named, files counted.
    fn arrive(&mut self, arrival: Arrival, diagnostics: &mut impl Write) -> Result<(), Halt> {
        match arrival {
            Arrival::Opened { name } => self.problems.open(name),
            Arrival::Event(event) => return self.hold(event),
            Arrival::Record { index, record } => match parsed(index, record) {
                Ok(event) => return self.hold(Box::new(event)),
                Err(problems) => self.reject(problems, diagnostics),
            },
            Arrival::Unreadable { index, problem } => {
                let problems = vec![record_problem(index, problem)];
                self.reject(problems, diagnostics);
            }
            Arrival::Closed { read, diagnostic } => {
                self.problems.read(diagnostics);
                self.evaluation.read.files += usize::from(read);
                if let Some(line) = diagnostic {
                    let _ = writeln!(diagnostics, "{line}");
                }
            }
            Arrival::Diagnostic(line) => {
                let _ = writeln!(diagnostics, "{line}");
            }
        }
        Ok(())
    }

    /// An event read, held in the reorder window; what is now due is let out.
    fn hold(&mut self, event: Box<Event>) -> Result<(), Halt> {
        if let Some(late) = self.reorder.push(event.event_time, event) {
            self.let_out(&late, true)?;
        }
        while let Some(due) = self.reorder.next_due() {
            self.let_out(&due, false)?;
        }
        Ok(())
    }

    /// An event leaves the window: selected, deduplicated and evaluated.
    fn let_out(&mut self, event: &Event, late: bool) -> Result<(), Halt> {
        if !self.selection.admits(event) {
            return Ok(());
        }
        if !self
            .recent
            .first(&event.event_id, event.event_time, self.reorder.released())
        {
            // Delivery files repeat events now and then: each is evaluated and counted once.
            self.evaluation.read.repeated += 1;
            return Ok(());
        }
        if late {
            self.evaluation.read.late += 1;
        }
        self.evaluation.evaluate(event)
    }

    fn reject(&mut self, problems: Vec<Problem>, diagnostics: &mut impl Write) {
        self.evaluation.read.rejected += 1;
        for problem in problems {
            self.problems.report(problem, diagnostics);
        }
    }

    /// Lets out everything still held, in order.
    fn finish(&mut self) -> Result<(), Halt> {
        while let Some(event) = self.reorder.next() {
            self.let_out(&event, false)?;
        }
        Ok(())
    }
}

/// A record parsed into an event, or its problems.
fn parsed(index: usize, record: Result<Value, String>) -> Result<Event, Vec<Problem>> {
    let record =
        record.map_err(|problem| vec![record_problem(index, format!("not JSON: {problem}"))])?;
    trailwatch_shared::input::parse_event(index, record)
}

fn record_problem(index: usize, problem: String) -> Problem {
    Problem {
        index,
        field: String::new(),
        problem,
    }
}

/// The engine's side of a scan: baselines learning in event-time order, what fires gathered
/// into findings and incidents.
struct Evaluation<'a, W: Write> {
    engine: &'a Engine,
    profiles: MemoryProfileStore,
    detected_at: DateTime<Utc>,
    cases: Casebook,
    /// What the casebook closed, out of memory.
    closed: Closed,
    read: report::Read,
    /// Where anomalies of a severity or above are printed as they are found.
    shown: Option<(Severity, W)>,
    fail_on: Option<Severity>,
    /// Whether an anomaly not wholly suppressed met `fail_on`.
    met: bool,
}

impl<W: Write> Evaluation<'_, W> {
    fn evaluate(&mut self, event: &Event) -> Result<(), Halt> {
        self.read.events += 1;
        if self.closed.due(event.event_time) {
            let closed = self.cases.close(event.event_time - LATE_SLACK);
            self.closed.keep(closed).map_err(Halt::Spill)?;
        }
        let evaluated = ready(
            self.engine
                .evaluate(event, &self.profiles, self.detected_at),
        );
        let Some(anomaly) = evaluated.map_err(Halt::Store)? else {
            return Ok(());
        };
        let recorded = self.cases.record(event, &anomaly);
        self.read.count_anomaly(&anomaly);
        self.met |= self
            .fail_on
            .is_some_and(|threshold| anomaly.severity >= threshold && !recorded.wholly_suppressed);
        self.show(&anomaly).map_err(Halt::Write)
    }

    fn show(&mut self, anomaly: &Anomaly) -> io::Result<()> {
        match &mut self.shown {
            Some((threshold, out)) if anomaly.severity >= *threshold => {
                report::write_line(out, anomaly)
            }
            _ => Ok(()),
        }
    }
}

/// Findings and incidents the casebook closed, kept on disk until the scan's end.
struct Closed {
    findings: Spill<Finding>,
    incidents: Spill<Incident>,
    /// The event time at which to close again.
    next: Option<DateTime<Utc>>,
}

impl Closed {
    fn new() -> io::Result<Self> {
        Ok(Self {
            findings: Spill::new()?,
            incidents: Spill::new()?,
            next: None,
        })
    }

    /// Whether it is time to close what an event at `now` leaves behind.
    fn due(&mut self, now: DateTime<Utc>) -> bool {
        let due = self.next.is_none_or(|next| now >= next);
        if due {
            self.next = Some(now + CLOSE_EVERY);
        }
        due
    }

    fn keep(&mut self, closed: casebook::Closed) -> io::Result<()> {
        for finding in &closed.findings {
            self.findings.push(finding)?;
        }
        for incident in &closed.incidents {
            self.incidents.push(incident)?;
        }
        Ok(())
    }

    /// With what was still open at the end kept too, every case, in order.
    fn finish(mut self, open: casebook::Closed) -> io::Result<SortedCases> {
        self.keep(open)?;
        Ok(SortedCases {
            findings: self.findings.into_sorted()?,
            incidents: self.incidents.into_sorted()?,
        })
    }
}

/// Every finding and incident of a scan, in order.
struct SortedCases {
    findings: Sorted<Finding>,
    incidents: Sorted<Incident>,
}

impl SortedCases {
    fn counts(&self) -> report::CaseCounts {
        report::CaseCounts {
            findings: self.findings.len(),
            suppressed: self.findings.suppressed(),
            incidents: self.incidents.len(),
        }
    }
}

/// The result of a future that never waits: the in-memory stores answer at once, so the
/// scan evaluates on this thread without a runtime's scheduling per event.
fn ready<F: Future<Output = Result<T, StoreError>>, T>(future: F) -> Result<T, StoreError> {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => Err(StoreError::Request(
            "the in-memory profile store waited, which it never should".into(),
        )),
    }
}
