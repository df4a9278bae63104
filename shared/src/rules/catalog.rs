//! The catalog: the built-in rule files, embedded at build time, and users' own rule files
//! from a directory, which add rules or replace (or turn off) built-in ones of the same id.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use super::{Rule, RuleError, RuleFile};

include!(concat!(env!("OUT_DIR"), "/built_in_rules.rs"));

/// The built-in rules, read once (from their JSON, without cases) when first used.
static BUILT_IN: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    parse_built_in(Source::Json)
        .into_iter()
        .map(|file| file.rule)
        .collect()
});

/// The built-in rule files with their cases, read once when first used (by tests and
/// `trailwatch rules test`).
static BUILT_IN_FILES: LazyLock<Vec<RuleFile>> = LazyLock::new(|| parse_built_in(Source::Yaml));

/// Which form of the embedded rule files to read.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// The files as written, cases and all.
    Yaml,
    /// The rules alone, as JSON (made by the build from the YAML): what the engine reads.
    Json,
}

/// Reads the embedded rule files: what the first use of the catalog costs at startup.
pub fn parse_built_in(source: Source) -> Vec<RuleFile> {
    BUILT_IN_RULE_FILES
        .iter()
        .map(|(name, yaml, json)| {
            let name = format!("built-in {name}");
            let read = match source {
                Source::Yaml => RuleFile::parse(&name, yaml),
                Source::Json => RuleFile::parse_json(&name, json),
            };
            // The rule files' own test proves each valid; a broken one is a build defect.
            read.unwrap_or_else(|error| panic!("{error}"))
        })
        .collect()
}

/// The built-in rule files, with their cases.
pub fn built_in_files() -> &'static [RuleFile] {
    &BUILT_IN_FILES
}

/// The built-in rules, in file order.
pub fn built_in() -> Vec<Rule> {
    BUILT_IN.clone()
}

/// Whether a built-in rule has this id (a user's file with it replaces that rule).
pub fn is_built_in(id: &str) -> bool {
    BUILT_IN.iter().any(|rule| rule.id == id)
}

/// Every `*.yaml` and `*.yml` file under a directory and its subdirectories, in path order:
/// rule files, and Sigma's.
pub(crate) fn yaml_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut directories = vec![dir.to_path_buf()];
    while let Some(directory) = directories.pop() {
        for entry in std::fs::read_dir(&directory)? {
            let path = entry?.path();
            if path.is_dir() {
                directories.push(path);
            } else if path
                .extension()
                .is_some_and(|extension| extension == "yaml" || extension == "yml")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Every rule file (`*.yaml`, `*.yml`) under a directory, read and checked, in path order.
pub fn load_dir(dir: &Path) -> Result<Vec<RuleFile>, RuleError> {
    let unreadable = |path: &Path, problem: String| RuleError {
        file: path.display().to_string(),
        field: "(file)".into(),
        problem,
    };
    let paths = yaml_files(dir).map_err(|error| unreadable(dir, error.to_string()))?;
    let mut files = Vec::with_capacity(paths.len());
    let mut seen: HashMap<String, String> = HashMap::new();
    for path in paths {
        let text =
            std::fs::read_to_string(&path).map_err(|error| unreadable(&path, error.to_string()))?;
        let file = RuleFile::parse(&path.display().to_string(), &text)?;
        if let Some(first) = seen.insert(file.rule.id.clone(), file.file.clone()) {
            return Err(RuleError {
                file: file.file,
                field: "id".into(),
                problem: format!("{} is also the id of {first}", file.rule.id),
            });
        }
        files.push(file);
    }
    Ok(files)
}

/// The built-in rules with users' files applied: a file with a built-in rule's id replaces
/// it (or, with `enabled: false`, removes it); other files add their rules after them.
pub fn with_user_rules(user: &[RuleFile]) -> Vec<Rule> {
    let by_id: HashMap<&str, &RuleFile> = user
        .iter()
        .map(|file| (file.rule.id.as_str(), file))
        .collect();
    let mut rules = Vec::with_capacity(BUILT_IN.len() + user.len());
    for built_in in BUILT_IN.iter() {
        match by_id.get(built_in.id.as_str()) {
            Some(replacement) if replacement.enabled => rules.push(replacement.rule.clone()),
            Some(_) => {}
            None => rules.push(built_in.clone()),
        }
    }
    rules.extend(
        user.iter()
            .filter(|file| file.enabled && !is_built_in(&file.rule.id))
            .map(|file| file.rule.clone()),
    );
    rules
}
