//! `trailwatch rules`: the catalog (built-in and a directory of one's own), and the rule
//! files' inline cases run, as a rule test runner.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use trailwatch_shared::rules::{self, Rule, catalog, testing};

use crate::{FOUND, USAGE, finish, report};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RulesArgs {
    #[command(subcommand)]
    command: Option<RulesCommand>,
    #[arg(long, value_enum, default_value_t = RulesFormat::Table)]
    format: RulesFormat,
    /// Also your own rule files (YAML) in this directory: a file with a built-in rule's id
    /// replaces it (`enabled: false` turns it off).
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Run the inline tests of rule files and report each failure by file and case.
    ///
    /// Without DIR, the built-in catalog's own tests, which start from the TrailDiscover
    /// reference records (`--reference-data`).
    Test {
        /// A directory of rule files (walked for .yaml and .yml).
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
        /// TrailDiscover's `events` directory, for cases that start from its records
        /// (`traildiscover: CloudTrail/StopLogging`); default: $TRAILWATCH_REFERENCE_DATA,
        /// else the reference data beside the source tree the binary was built from.
        #[arg(long, value_name = "DIR")]
        reference_data: Option<PathBuf>,
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
    /// A MITRE ATT&CK Navigator layer (JSON): techniques scored by how many rules cover them.
    AttackLayer,
    /// A Markdown table of ATT&CK coverage by tactic, as in the README.
    Coverage,
}

pub fn command(args: &RulesArgs) -> ExitCode {
    match &args.command {
        Some(RulesCommand::Test {
            dir,
            reference_data,
        }) => test(dir.as_deref(), reference_data.clone()),
        None => list(args),
    }
}

/// The built-in rules with a directory's rule files applied; what was loaded is said on
/// stderr.
pub fn catalog_with(dir: Option<&Path>) -> Result<Vec<Rule>, String> {
    let Some(dir) = dir else {
        return Ok(rules::built_in());
    };
    let files = catalog::load_dir(dir).map_err(|error| error.to_string())?;
    let replacing = files
        .iter()
        .filter(|file| catalog::is_built_in(&file.rule.id))
        .count();
    eprintln!(
        "trailwatch: {} rule files loaded from {} ({replacing} replace built-in rules)",
        files.len(),
        dir.display()
    );
    Ok(catalog::with_user_rules(&files))
}

fn list(args: &RulesArgs) -> ExitCode {
    let rules = match catalog_with(args.rules.as_deref()) {
        Ok(rules) => rules,
        Err(error) => {
            eprintln!("trailwatch: {error}");
            return ExitCode::from(USAGE);
        }
    };
    let mut stdout = std::io::stdout().lock();
    let written = match args.format {
        RulesFormat::Table => report::write_rules_table(&mut stdout, &rules),
        RulesFormat::Jsonl => report::write_rules_jsonl(&mut stdout, &rules),
        RulesFormat::Markdown => report::write_rules_markdown(&mut stdout, &rules),
        RulesFormat::AttackLayer => report::write_attack_layer(&mut stdout, &rules),
        RulesFormat::Coverage => report::write_coverage_markdown(&mut stdout, &rules),
    };
    finish(written)
}

fn test(dir: Option<&Path>, reference_data: Option<PathBuf>) -> ExitCode {
    let reference = reference_data.or_else(testing::reference_dir);
    let loaded;
    let files = match dir {
        Some(dir) => match catalog::load_dir(dir) {
            Ok(files) => {
                loaded = files;
                &loaded[..]
            }
            Err(error) => {
                eprintln!("trailwatch: {error}");
                return ExitCode::from(USAGE);
            }
        },
        None => rules::built_in_files(),
    };
    let from_reference = files
        .iter()
        .flat_map(|file| &file.cases)
        .filter(|case| matches!(case.record, testing::CaseRecord::TrailDiscover(_)))
        .count();
    if from_reference > 0 && reference.is_none() {
        eprintln!(
            "trailwatch: {from_reference} cases start from TrailDiscover's reference records: name its events directory with --reference-data"
        );
        return ExitCode::from(USAGE);
    }
    let report = testing::run(files, reference.as_deref());
    for failure in &report.failures {
        println!("FAIL {failure}");
    }
    let untested: Vec<&str> = files
        .iter()
        .filter(|file| file.cases.is_empty())
        .map(|file| file.file.as_str())
        .collect();
    for file in &untested {
        println!("NO TESTS {file}");
    }
    println!(
        "{} rule files, {} cases: {} passed, {} failed",
        files.len(),
        report.passed + report.failures.len(),
        report.passed,
        report.failures.len()
    );
    if report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(FOUND)
    }
}
