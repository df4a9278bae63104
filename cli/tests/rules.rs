//! `trailwatch rules`: the catalog as people and programs read it, and the README's copy.

use std::process::Command;

fn rules(format: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .args(["rules", "--format", format])
        .output()
        .expect("trailwatch runs");
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_readme_detection_table_is_the_catalog() {
    let readme = include_str!("../../README.md");
    let start = readme.find("<!-- rules:start -->\n").expect("start marker")
        + "<!-- rules:start -->\n".len();
    let end = readme.find("<!-- rules:end -->").expect("end marker");
    assert_eq!(
        &readme[start..end],
        rules("markdown"),
        "the README's detection table is stale: paste `trailwatch rules --format markdown` between the markers"
    );
}

#[test]
fn jsonl_lists_every_rule_with_its_attack_mapping() {
    let lines: Vec<serde_json::Value> = rules("jsonl")
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(lines.len() >= 50);
    for rule in &lines {
        for field in [
            "id",
            "title",
            "description",
            "severity",
            "tactic",
            "technique",
        ] {
            assert!(rule[field].is_string(), "{field} in {rule}");
        }
        assert!(rule["calls"].is_array());
    }
}

#[test]
fn the_table_has_a_row_per_rule() {
    let table = rules("table");
    let jsonl = rules("jsonl");
    assert_eq!(table.lines().count(), jsonl.lines().count() + 1);
    assert!(table.lines().next().unwrap().starts_with("ID"));
    assert!(table.contains("TW-ROOT-001") && table.contains("(every call)"));
}
