//! Embeds the built-in rule files (`rules/**/*.yaml`) in the library: a list of
//! `(name, include_str!(…), rule as JSON)` in `$OUT_DIR/built_in_rules.rs`, sorted by name.
//! The JSON is the file without its cases, which the engine reads at start (reading YAML
//! costs five times more); the YAML, cases and all, is what tests and `rules test` read.
//! Written here rather than with `include_dir` because cargo then rebuilds when a rule file
//! is added.

use std::path::{Path, PathBuf};

fn yaml_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            yaml_files(&path, found);
        } else if path
            .extension()
            .is_some_and(|extension| extension == "yaml")
        {
            found.push(path);
        }
    }
}

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("rules");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    let mut code = String::from("pub static BUILT_IN_RULE_FILES: &[(&str, &str, &str)] = &[\n");
    for path in &files {
        let name = path
            .strip_prefix(&root)
            .expect("under rules/")
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        // A file that is not YAML fails here; one that is YAML but not a rule fails the
        // catalog's tests, which name the field.
        let mut rule: serde_json::Value =
            serde_norway::from_str(&text).unwrap_or_else(|error| panic!("rules/{name}: {error}"));
        if let Some(rule) = rule.as_object_mut() {
            rule.remove("tests");
        }
        code.push_str(&format!(
            "    ({name:?}, include_str!({:?}), {:?}),\n",
            path.display().to_string(),
            rule.to_string()
        ));
    }
    code.push_str("];\n");
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("built_in_rules.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
