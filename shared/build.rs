//! Embeds the built-in rule files (`rules/**/*.yaml`) in the library: a list of
//! `(name, include_str!(…))` in `$OUT_DIR/built_in_rules.rs`, sorted by name. Written here
//! rather than with `include_dir` because cargo then rebuilds when a rule file is added.

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
    let mut code = String::from("pub static BUILT_IN_RULE_FILES: &[(&str, &str)] = &[\n");
    for path in &files {
        let name = path
            .strip_prefix(&root)
            .expect("under rules/")
            .to_string_lossy()
            .replace('\\', "/");
        code.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("built_in_rules.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
