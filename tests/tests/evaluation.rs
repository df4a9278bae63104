//! Detection quality on simulated accounts: every inserted attack is detected at medium or
//! above, and benign activity stays within a false-alarm budget of at most one
//! medium-or-above anomaly per principal-day. Run with `--nocapture` to see the numbers the
//! README reports.

use trailwatch_shared::Engine;
use trailwatch_tests::simulation::{score, simulate};

#[tokio::test]
async fn every_attack_is_detected_within_the_false_alarm_budget() {
    let engine = Engine::default();
    let (
        mut attacks,
        mut detected,
        mut true_alerts,
        mut false_alerts,
        mut events,
        mut principal_days,
    ) = (0, 0, 0, 0, 0, 0);
    for seed in [1, 7, 42] {
        let simulation = simulate(seed);
        let score = score(&simulation, &engine).await;
        for (attack, found) in &score.attacks_detected {
            assert!(found, "seed {seed}: {attack} not detected");
        }
        assert!(
            score.worst_principal_day <= 1,
            "seed {seed}: {} medium-or-above false alarms in one principal-day",
            score.worst_principal_day
        );
        attacks += score.attacks_detected.len();
        detected += score
            .attacks_detected
            .iter()
            .filter(|(_, found)| *found)
            .count();
        true_alerts += score.true_alerts;
        false_alerts += score.false_alerts;
        events += score.events;
        principal_days += score.principal_days;
        println!(
            "seed {seed}: {} events, {} attack events of which {} alerted, precision {:.3}, recall {:.3}, {} false alarms and {} low anomalies in {} principal-days",
            score.events,
            score.attack_events,
            score.attack_events_flagged,
            score.precision(),
            score.recall(),
            score.false_alerts,
            score.benign_low,
            score.principal_days
        );
    }
    let precision = true_alerts as f64 / (true_alerts + false_alerts).max(1) as f64;
    println!(
        "all seeds: {events} events, {detected}/{attacks} attacks detected (recall {:.3}), precision {precision:.3} ({true_alerts} true, {false_alerts} false alerts at medium or above), {principal_days} principal-days",
        detected as f64 / attacks as f64
    );
    assert_eq!(detected, attacks);
}
