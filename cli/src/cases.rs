//! `trailwatch findings|incidents|suppress`: a deployed stack's findings, incidents and
//! suppression rules, read and changed through its tables (found by the stack's outputs or
//! named), with the SDK's usual credentials and endpoint.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use trailwatch_shared::Severity;
use trailwatch_shared::adapters::dynamodb_cases::{DynamoDbCaseStore, Retention};
use trailwatch_shared::adapters::dynamodb_suppressions::DynamoDbSuppressionStore;
use trailwatch_shared::incident::IncidentSettings;
use trailwatch_shared::ports::{CaseQueries, CaseStore, SuppressionStore};
use trailwatch_shared::query::{CaseFilter, DEFAULT_PAGE, MAX_PAGE, Status, StatusChange};
use trailwatch_shared::suppress::{SuppressionRule, Suppressions};

use crate::report;

/// Which deployed stack: by name (its CloudFormation outputs name the tables), or the tables
/// named outright.
#[derive(Args, Clone)]
pub struct Target {
    /// The stack's name.
    #[arg(long, global = true, default_value = "trailwatch")]
    stack: String,
    /// The cases table (findings and incidents), instead of the stack's.
    #[arg(long, global = true, value_name = "TABLE")]
    cases_table: Option<String>,
    /// The suppressions table, instead of the stack's.
    #[arg(long, global = true, value_name = "TABLE")]
    suppressions_table: Option<String>,
}

#[derive(Clone, Copy, ValueEnum, Default)]
pub enum Format {
    /// A readable table.
    #[default]
    Table,
    /// One JSON object per line.
    Jsonl,
}

#[derive(Args, Clone)]
pub struct Filters {
    /// Last seen on or after this day (YYYY-MM-DD) or moment (RFC 3339).
    #[arg(long)]
    since: Option<String>,
    /// Last seen on or before this day or moment.
    #[arg(long)]
    until: Option<String>,
    #[arg(long, value_name = "SEVERITY")]
    min_severity: Option<Severity>,
    #[arg(long, value_name = "ARN")]
    principal: Option<String>,
    /// Findings only: a detection id.
    #[arg(long, value_name = "ID")]
    detection: Option<String>,
    /// Findings only: open, acknowledged, resolved or false_positive.
    #[arg(long)]
    status: Option<Status>,
    /// Items a page holds (1 to 100).
    #[arg(long, default_value_t = DEFAULT_PAGE)]
    limit: usize,
    /// The page after the one that printed this cursor.
    #[arg(long, value_name = "CURSOR")]
    next: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Subcommand)]
pub enum FindingsCommand {
    /// Findings, newest first.
    List(Filters),
    /// One finding, whole.
    Show {
        id: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Mark a finding acknowledged: someone is on it.
    Ack {
        id: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// Mark a finding resolved (or, with --false-positive, not a threat after all).
    Resolve {
        id: String,
        #[arg(long)]
        note: Option<String>,
        #[arg(long)]
        false_positive: bool,
    },
}

#[derive(Subcommand)]
pub enum IncidentsCommand {
    /// Incidents, newest first.
    List(Filters),
    /// One incident, whole.
    Show {
        id: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Subcommand)]
pub enum SuppressCommand {
    /// Add (or replace) a rule in the stack's table; the detector applies it within a minute.
    Add(Box<NewRule>),
    /// The rules in the stack's table.
    List {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Remove a rule from the stack's table.
    Remove { id: String },
}

#[derive(Args)]
pub struct NewRule {
    #[arg(long)]
    id: String,
    /// Why (required).
    #[arg(long)]
    reason: String,
    #[arg(long)]
    detection: Option<String>,
    /// A principal ARN glob (* and ?).
    #[arg(long)]
    principal: Option<String>,
    #[arg(long)]
    account: Option<String>,
    /// Source network, CIDR.
    #[arg(long)]
    network: Option<String>,
    /// Text the user agent contains.
    #[arg(long)]
    user_agent: Option<String>,
    #[arg(long)]
    region: Option<String>,
    /// Last day (YYYY-MM-DD) or moment (RFC 3339) it applies to.
    #[arg(long)]
    expires: Option<String>,
}

/// Exit code for usage errors and what does not exist.
const USAGE: u8 = 2;

struct Tables {
    cases: DynamoDbCaseStore,
    suppressions: DynamoDbSuppressionStore,
    sts: aws_sdk_sts::Client,
}

/// The tables, from the names given or the stack's outputs.
async fn tables(target: &Target) -> Result<Tables, String> {
    let config = aws_config::load_from_env().await;
    let (mut cases, mut suppressions) = (
        target.cases_table.clone(),
        target.suppressions_table.clone(),
    );
    if cases.is_none() || suppressions.is_none() {
        let cloudformation = aws_sdk_cloudformation::Client::new(&config);
        let stacks = cloudformation
            .describe_stacks()
            .stack_name(&target.stack)
            .send()
            .await
            .map_err(|error| {
                format!(
                    "cannot read stack {:?} (name it with --stack, or the tables with --cases-table and --suppressions-table): {}",
                    target.stack,
                    trailwatch_shared::adapters::sdk_error_text(&error)
                )
            })?;
        let outputs = stacks
            .stacks()
            .first()
            .map(|stack| stack.outputs().to_vec())
            .unwrap_or_default();
        let output = |key: &str| {
            outputs
                .iter()
                .find(|output| output.output_key() == Some(key))
                .and_then(|output| output.output_value())
                .map(str::to_string)
        };
        cases = cases.or_else(|| output("CasesTableName"));
        suppressions = suppressions.or_else(|| output("SuppressionsTableName"));
    }
    let cases =
        cases.ok_or_else(|| format!("stack {:?} has no CasesTableName output", target.stack))?;
    let suppressions = suppressions.ok_or_else(|| {
        format!(
            "stack {:?} has no SuppressionsTableName output",
            target.stack
        )
    })?;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    Ok(Tables {
        // Reads and status changes only: the anomalies table is never written from here.
        cases: DynamoDbCaseStore::new(
            dynamodb.clone(),
            String::new(),
            cases,
            IncidentSettings::default(),
            Retention::default(),
        ),
        suppressions: DynamoDbSuppressionStore::new(dynamodb, suppressions),
        sts: aws_sdk_sts::Client::new(&config),
    })
}

fn filter_of(filters: &Filters) -> Result<CaseFilter, String> {
    let mut parameters: Vec<(&str, String)> = Vec::new();
    let mut add = |name: &'static str, value: Option<String>| {
        if let Some(value) = value {
            parameters.push((name, value));
        }
    };
    add("since", filters.since.clone());
    add("until", filters.until.clone());
    add("min_severity", filters.min_severity.map(|s| s.to_string()));
    add("principal", filters.principal.clone());
    add("detection", filters.detection.clone());
    add("status", filters.status.map(|s| s.to_string()));
    add("limit", Some(filters.limit.min(MAX_PAGE + 1).to_string()));
    add("next", filters.next.clone());
    CaseFilter::from_parameters(
        parameters
            .iter()
            .map(|(name, value)| (*name, value.as_str())),
    )
    .map_err(|error| format!("--{}", error.to_string().replacen('_', "-", 1)))
}

fn done(written: std::io::Result<()>) -> Result<(), String> {
    match written {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write: {error}"))
        }
        _ => Ok(()),
    }
}

/// Success, or the error said on stderr with the usage exit code.
fn exit_code(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("trailwatch: {error}");
            ExitCode::from(USAGE)
        }
    }
}

fn next_hint(next: Option<String>) {
    if let Some(next) = next {
        eprintln!("trailwatch: more: --next {next}");
    }
}

pub async fn findings(command: &FindingsCommand, target: &Target) -> ExitCode {
    exit_code(run_findings(command, target).await)
}

async fn run_findings(command: &FindingsCommand, target: &Target) -> Result<(), String> {
    let tables = tables(target).await?;
    let mut stdout = std::io::stdout().lock();
    match command {
        FindingsCommand::List(filters) => {
            let page = tables
                .cases
                .findings(&filter_of(filters)?)
                .await
                .map_err(|error| error.to_string())?;
            let shown: Vec<_> = page.items.iter().collect();
            done(match filters.format {
                Format::Table => report::write_cases(&mut stdout, &[], &shown),
                Format::Jsonl => report::write_jsonl(&mut stdout, &shown),
            })?;
            next_hint(page.next);
        }
        FindingsCommand::Show { id, format } => {
            let finding = tables
                .cases
                .finding(id)
                .await
                .map_err(|error| error.to_string())?
                .ok_or_else(|| format!("no finding {id}"))?;
            done(match format {
                Format::Table => report::write_finding(&mut stdout, &finding),
                Format::Jsonl => report::write_jsonl(&mut stdout, &[&finding]),
            })?;
        }
        FindingsCommand::Ack { id, note } => {
            set_status(&tables, id, Status::Acknowledged, note.clone(), &mut stdout).await?;
        }
        FindingsCommand::Resolve {
            id,
            note,
            false_positive,
        } => {
            let status = if *false_positive {
                Status::FalsePositive
            } else {
                Status::Resolved
            };
            set_status(&tables, id, status, note.clone(), &mut stdout).await?;
        }
    }
    Ok(())
}

async fn set_status(
    tables: &Tables,
    id: &str,
    status: Status,
    note: Option<String>,
    out: &mut impl Write,
) -> Result<(), String> {
    let caller = tables
        .sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|error| {
            format!(
                "cannot tell who you are (sts:GetCallerIdentity): {}",
                trailwatch_shared::adapters::sdk_error_text(&error)
            )
        })?
        .arn
        .unwrap_or_else(|| "unknown".to_string());
    let change = StatusChange {
        status,
        note,
        by: caller,
        at: chrono::Utc::now(),
    };
    let finding = tables
        .cases
        .set_status(id, &change)
        .await
        .map_err(|error| error.to_string())?
        .ok_or_else(|| format!("no finding {id}"))?;
    done(writeln!(
        out,
        "{} is now {} ({})",
        finding.id, finding.status, change.by
    ))
}

pub async fn incidents(command: &IncidentsCommand, target: &Target) -> ExitCode {
    exit_code(run_incidents(command, target).await)
}

async fn run_incidents(command: &IncidentsCommand, target: &Target) -> Result<(), String> {
    let tables = tables(target).await?;
    let mut stdout = std::io::stdout().lock();
    match command {
        IncidentsCommand::List(filters) => {
            let page = tables
                .cases
                .incidents(&filter_of(filters)?)
                .await
                .map_err(|error| error.to_string())?;
            let shown: Vec<_> = page.items.iter().collect();
            done(match filters.format {
                Format::Table => report::write_cases(&mut stdout, &shown, &[]),
                Format::Jsonl => report::write_jsonl(&mut stdout, &shown),
            })?;
            next_hint(page.next);
        }
        IncidentsCommand::Show { id, format } => {
            let incident = tables
                .cases
                .incident(id)
                .await
                .map_err(|error| error.to_string())?
                .ok_or_else(|| format!("no incident {id}"))?;
            done(match format {
                Format::Table => report::write_cases(&mut stdout, &[&incident], &[]),
                Format::Jsonl => report::write_jsonl(&mut stdout, &[&incident]),
            })?;
        }
    }
    Ok(())
}

pub async fn suppress(command: &SuppressCommand, target: &Target) -> ExitCode {
    exit_code(run_suppress(command, target).await)
}

async fn run_suppress(command: &SuppressCommand, target: &Target) -> Result<(), String> {
    let tables = tables(target).await?;
    let mut stdout = std::io::stdout().lock();
    match command {
        SuppressCommand::Add(new) => {
            let rule = SuppressionRule {
                id: new.id.clone(),
                detection: new.detection.clone(),
                principal: new.principal.clone(),
                account: new.account.clone(),
                network: new.network.clone(),
                user_agent: new.user_agent.clone(),
                region: new.region.clone(),
                reason: new.reason.clone(),
                expires: new.expires.clone(),
            };
            // Checked as the detector will check it, before it is stored.
            Suppressions::new(vec![rule.clone()]).map_err(|error| error.to_string())?;
            tables
                .suppressions
                .put(&rule)
                .await
                .map_err(|error| error.to_string())?;
            done(writeln!(stdout, "suppression {} added", rule.id))?;
        }
        SuppressCommand::List { format } => {
            let rules = tables
                .suppressions
                .rules()
                .await
                .map_err(|error| error.to_string())?;
            done(match format {
                Format::Table => report::write_suppressions(&mut stdout, &rules),
                Format::Jsonl => report::write_jsonl(&mut stdout, &rules),
            })?;
        }
        SuppressCommand::Remove { id } => {
            if !tables
                .suppressions
                .remove(id)
                .await
                .map_err(|error| error.to_string())?
            {
                return Err(format!("no suppression {id}"));
            }
            done(writeln!(stdout, "suppression {id} removed"))?;
        }
    }
    Ok(())
}
