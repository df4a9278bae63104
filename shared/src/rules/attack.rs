//! The catalog as MITRE ATT&CK coverage: a Navigator layer (techniques scored by how many
//! rules cover them) and a summary by tactic, both made from the rules themselves.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Rule;

/// The Enterprise tactics in kill-chain order: (name, Navigator short name).
pub const TACTICS: [(&str, &str); 14] = [
    ("Reconnaissance", "reconnaissance"),
    ("Resource Development", "resource-development"),
    ("Initial Access", "initial-access"),
    ("Execution", "execution"),
    ("Persistence", "persistence"),
    ("Privilege Escalation", "privilege-escalation"),
    ("Defense Evasion", "defense-evasion"),
    ("Credential Access", "credential-access"),
    ("Discovery", "discovery"),
    ("Lateral Movement", "lateral-movement"),
    ("Collection", "collection"),
    ("Command and Control", "command-and-control"),
    ("Exfiltration", "exfiltration"),
    ("Impact", "impact"),
];

/// The Navigator's short name of a tactic, if it is one.
pub fn short_name(tactic: &str) -> Option<&'static str> {
    TACTICS
        .iter()
        .find(|(name, _)| *name == tactic)
        .map(|(_, short)| *short)
}

/// How many rules cover each technique of a tactic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TacticCoverage {
    pub tactic: &'static str,
    pub rules: usize,
    /// Technique id → the ids of the rules that cover it.
    pub techniques: BTreeMap<String, Vec<String>>,
}

/// Coverage by tactic, in kill-chain order; tactics no rule covers are listed with none.
pub fn coverage(rules: &[Rule]) -> Vec<TacticCoverage> {
    TACTICS
        .iter()
        .map(|(tactic, _)| {
            let mut techniques: BTreeMap<String, Vec<String>> = BTreeMap::new();
            let mut count = 0;
            for rule in rules.iter().filter(|rule| rule.tactic == *tactic) {
                count += 1;
                techniques
                    .entry(rule.technique.clone())
                    .or_default()
                    .push(rule.id.clone());
            }
            TacticCoverage {
                tactic,
                rules: count,
                techniques,
            }
        })
        .collect()
}

/// An ATT&CK Navigator layer (format 4.5) of the rules: each technique under its tactic,
/// scored by the number of rules that cover it, the rules named in its comment.
pub fn navigator_layer(rules: &[Rule]) -> Value {
    let mut techniques = Vec::new();
    let mut highest = 0;
    for tactic in coverage(rules) {
        let short = short_name(tactic.tactic).expect("a tactic of the list");
        for (technique, ids) in &tactic.techniques {
            highest = highest.max(ids.len());
            techniques.push(json!({
                "techniqueID": technique,
                "tactic": short,
                "score": ids.len(),
                "comment": ids.join(", "),
                "enabled": true,
                "showSubtechniques": false,
            }));
        }
    }
    json!({
        "name": "trailwatch detection rules",
        "versions": {"layer": "4.5", "navigator": "4.9.1"},
        "domain": "enterprise-attack",
        "description": format!("{} trailwatch rules for AWS CloudTrail; each technique is scored by the number of rules that detect it.", rules.len()),
        "filters": {"platforms": ["IaaS", "Identity Provider", "SaaS"]},
        "sorting": 3,
        "hideDisabled": false,
        "techniques": techniques,
        "gradient": {"colors": ["#ffffff", "#66b1ff"], "minValue": 0, "maxValue": highest},
        "legendItems": [],
        "showTacticRowBackground": false,
        "selectTechniquesAcrossTactics": true,
        "selectSubtechniquesWithParent": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layer_scores_each_technique_by_its_rules_under_its_tactic() {
        let rules = crate::rules::built_in();
        let layer = navigator_layer(&rules);
        assert_eq!(layer["domain"], "enterprise-attack");
        assert_eq!(layer["versions"]["layer"], "4.5");
        let techniques = layer["techniques"].as_array().expect("a list");
        let total: u64 = techniques
            .iter()
            .map(|technique| technique["score"].as_u64().expect("a score"))
            .sum();
        assert_eq!(total as usize, rules.len(), "every rule counted once");
        let stop_logging = techniques
            .iter()
            .find(|technique| {
                technique["techniqueID"] == "T1562.008" && technique["tactic"] == "defense-evasion"
            })
            .expect("log tampering is covered");
        assert!(
            stop_logging["comment"]
                .as_str()
                .unwrap()
                .contains("TW-CLOUDTRAIL-001")
        );
        assert_eq!(
            layer["gradient"]["maxValue"],
            techniques
                .iter()
                .map(|technique| technique["score"].as_u64().unwrap())
                .max()
                .unwrap()
        );
    }

    /// The tactics each technique the catalog uses belongs to, as ATT&CK Enterprise v16 lists
    /// them. A technique under a tactic it does not belong to is not shown by the Navigator.
    const TECHNIQUE_TACTICS: &[(&str, &[&str])] = &[
        ("T1585.002", &["Resource Development"]),
        ("T1584.001", &["Resource Development"]),
        (
            "T1078.004",
            &[
                "Initial Access",
                "Persistence",
                "Privilege Escalation",
                "Defense Evasion",
            ],
        ),
        ("T1133", &["Initial Access", "Persistence"]),
        ("T1190", &["Initial Access"]),
        ("T1059", &["Execution"]),
        ("T1059.009", &["Execution"]),
        ("T1651", &["Execution"]),
        ("T1098", &["Persistence", "Privilege Escalation"]),
        ("T1098.001", &["Persistence", "Privilege Escalation"]),
        ("T1098.003", &["Persistence", "Privilege Escalation"]),
        ("T1098.004", &["Persistence", "Privilege Escalation"]),
        ("T1136.003", &["Persistence"]),
        ("T1525", &["Persistence"]),
        ("T1546", &["Persistence", "Privilege Escalation"]),
        ("T1484.002", &["Defense Evasion", "Privilege Escalation"]),
        ("T1550.001", &["Defense Evasion", "Lateral Movement"]),
        (
            "T1556",
            &["Credential Access", "Defense Evasion", "Persistence"],
        ),
        (
            "T1556.006",
            &["Credential Access", "Defense Evasion", "Persistence"],
        ),
        ("T1070", &["Defense Evasion"]),
        ("T1535", &["Defense Evasion"]),
        ("T1562", &["Defense Evasion"]),
        ("T1562.001", &["Defense Evasion"]),
        ("T1562.007", &["Defense Evasion"]),
        ("T1562.008", &["Defense Evasion"]),
        ("T1666", &["Defense Evasion"]),
        ("T1110", &["Credential Access"]),
        ("T1110.001", &["Credential Access"]),
        ("T1110.003", &["Credential Access"]),
        ("T1528", &["Credential Access"]),
        ("T1552", &["Credential Access"]),
        ("T1552.001", &["Credential Access"]),
        ("T1552.005", &["Credential Access"]),
        ("T1555.006", &["Credential Access"]),
        ("T1040", &["Credential Access", "Discovery"]),
        ("T1087.004", &["Discovery"]),
        ("T1526", &["Discovery"]),
        ("T1021", &["Lateral Movement"]),
        ("T1021.004", &["Lateral Movement"]),
        ("T1021.007", &["Lateral Movement"]),
        ("T1113", &["Collection"]),
        ("T1530", &["Collection"]),
        ("T1537", &["Exfiltration"]),
        ("T1485", &["Impact"]),
        ("T1486", &["Impact"]),
        ("T1490", &["Impact"]),
        ("T1496", &["Impact"]),
        ("T1531", &["Impact"]),
    ];

    #[test]
    fn every_built_in_rule_names_a_technique_of_its_tactic() {
        let mut wrong = Vec::new();
        for rule in crate::rules::built_in() {
            match TECHNIQUE_TACTICS
                .iter()
                .find(|(id, _)| *id == rule.technique)
            {
                Some((_, tactics)) if tactics.contains(&rule.tactic.as_str()) => {}
                Some((_, tactics)) => wrong.push(format!(
                    "{}: {} is {tactics:?}, not {}",
                    rule.id, rule.technique, rule.tactic
                )),
                None => wrong.push(format!(
                    "{}: {} is not in the table; add it with its tactics",
                    rule.id, rule.technique
                )),
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn coverage_lists_every_tactic_in_kill_chain_order() {
        let coverage = coverage(&crate::rules::built_in());
        let tactics: Vec<&str> = coverage.iter().map(|tactic| tactic.tactic).collect();
        assert_eq!(tactics.len(), 14);
        assert_eq!(tactics[0], "Reconnaissance");
        assert_eq!(tactics[13], "Impact");
        let defense_evasion = &coverage[6];
        assert!(defense_evasion.rules >= 40, "{}", defense_evasion.rules);
    }
}
