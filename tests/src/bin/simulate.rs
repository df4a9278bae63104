//! Writes a simulated account's two weeks of CloudTrail, attacks included, as one delivery
//! file on stdout, for `trailwatch scan`. The attack labels go to stderr.
//!
//! Usage: simulate [SEED]   (default seed: 1)

use serde_json::json;
use trailwatch_tests::simulation::simulate;

fn main() {
    let seed = std::env::args()
        .nth(1)
        .and_then(|seed| seed.parse().ok())
        .unwrap_or(1);
    let simulation = simulate(seed);
    for labelled in &simulation.records {
        if let Some(attack) = labelled.attack {
            eprintln!(
                "{} {attack}",
                labelled.record["eventID"].as_str().unwrap_or_default()
            );
        }
    }
    let records: Vec<_> = simulation
        .records
        .into_iter()
        .map(|labelled| labelled.record)
        .collect();
    println!("{}", json!({ "Records": records }));
}
