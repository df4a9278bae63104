use chrono::TimeZone;

use super::*;

const BOT: &str = "arn:aws:iam::111122223333:user/build-bot";

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 9, 3, 0, 0).unwrap() + Duration::minutes(minutes)
}

/// One event of `detection` (title, tactic, severity) at `minutes` past 03:00.
fn event(event_id: &str, detection: (&str, &str, &str, Severity), minutes: i64) -> Contribution {
    let (id, title, tactic, severity) = detection;
    Contribution {
        finding_id: format!("F-{id}"),
        account_id: Some("111122223333".into()),
        principal: BOT.into(),
        access_key: Some("AKIABUILDBOT".into()),
        detection: DetectionRef {
            id: id.into(),
            title: title.into(),
            tactic: tactic.into(),
            technique: "T0".into(),
        },
        key: None,
        window_start: at(0),
        severity,
        reason: format!("{title} by build-bot"),
        event_id: event_id.into(),
        event_time: at(minutes),
        action: "iam:ListUsers".into(),
        network: Some("203.0.113.0/24".into()),
        user_agent: Some("python-requests/2.32.3".into()),
        region: Some("us-east-1".into()),
        resources: Vec::new(),
        suppressed_by: None,
    }
}

const DENIED: (&str, &str, &str, Severity) = (
    "TW-BASE-DENIED",
    "Burst of access-denied errors",
    "Discovery",
    Severity::Medium,
);
const ADMIN: (&str, &str, &str, Severity) = (
    "TW-IAM-001",
    "Administrator policy attached",
    "Privilege Escalation",
    Severity::High,
);
const STOPPED: (&str, &str, &str, Severity) = (
    "TW-CLOUDTRAIL-001",
    "CloudTrail logging stopped",
    "Defense Evasion",
    Severity::High,
);
const NEW_API: (&str, &str, &str, Severity) = (
    "TW-BASE-API",
    "First use of an API",
    "Initial Access",
    Severity::Low,
);
const NEW_REGION: (&str, &str, &str, Severity) = (
    "TW-BASE-REGION",
    "First activity in a region",
    "Defense Evasion",
    Severity::Medium,
);

fn play(trail: &mut Trail, contributions: &[Contribution]) -> Vec<Option<IncidentChange>> {
    contributions
        .iter()
        .map(|contribution| trail.absorb(contribution, &IncidentSettings::default()))
        .collect()
}

#[test]
fn denials_then_escalation_then_evasion_are_one_critical_incident_that_says_what_happened() {
    let mut contributions: Vec<Contribution> = (0..40)
        .map(|n| event(&format!("d{n}"), DENIED, n / 4))
        .collect();
    contributions.push(event("admin", ADMIN, 30));
    contributions.push(event("stop", STOPPED, 45));
    let mut trail = Trail::new(&contributions[0]);
    let changes = play(&mut trail, &contributions);

    // One tactic is no incident; the second opens it; the third extends it.
    assert!(changes[..40].iter().all(Option::is_none), "{changes:?}");
    assert_eq!(changes[40], Some(IncidentChange::Opened));
    assert_eq!(changes[41], Some(IncidentChange::Extended));
    let incident = trail.incident.as_ref().expect("an incident");
    assert_eq!(incident.severity, Severity::Critical);
    assert_eq!(
        incident.tactics,
        vec!["Discovery", "Privilege Escalation", "Defense Evasion"]
    );
    assert_eq!(
        incident.finding_ids,
        vec!["F-TW-BASE-DENIED", "F-TW-IAM-001", "F-TW-CLOUDTRAIL-001"]
    );
    assert_eq!(incident.first_seen, at(0));
    assert_eq!(incident.last_seen, at(45));
    assert_eq!(
        incident.summary,
        "user/build-bot: burst of access-denied errors ×40 (Discovery), then administrator policy attached (Privilege Escalation), then CloudTrail logging stopped (Defense Evasion)"
    );
    assert!(incident.networks.contains("203.0.113.0/24"));
    assert!(incident.id.starts_with("I-"));
}

#[test]
fn two_tactics_at_medium_make_a_high_incident_and_more_of_the_same_only_updates_it() {
    let mut trail = Trail::new(&event("a", DENIED, 0));
    let changes = play(
        &mut trail,
        &[
            event("a", DENIED, 0),
            event("b", NEW_REGION, 5),
            event("c", NEW_REGION, 6),
        ],
    );
    assert_eq!(
        changes,
        vec![
            None,
            Some(IncidentChange::Opened),
            Some(IncidentChange::Updated)
        ]
    );
    assert_eq!(
        trail.incident.as_ref().map(|i| i.severity),
        Some(Severity::High)
    );
}

#[test]
fn first_seen_values_of_low_severity_add_no_tactic_but_join_as_context() {
    let mut trail = Trail::new(&event("a", NEW_API, 0));
    let changes = play(
        &mut trail,
        &[event("a", NEW_API, 0), event("b", NEW_REGION, 1)],
    );
    assert_eq!(
        changes,
        vec![None, None],
        "a new API and a new region are one tactic"
    );
    let changes = play(&mut trail, &[event("c", ADMIN, 2)]);
    assert_eq!(changes, vec![Some(IncidentChange::Opened)]);
    let incident = trail.incident.as_ref().expect("an incident");
    assert_eq!(
        incident.tactics,
        vec!["Defense Evasion", "Privilege Escalation"]
    );
    assert_eq!(
        incident.finding_ids[0], "F-TW-BASE-API",
        "context, listed first"
    );
}

#[test]
fn findings_further_apart_than_the_window_make_no_incident_and_a_quiet_incident_closes() {
    let mut trail = Trail::new(&event("a", DENIED, 0));
    let day = 24 * 60;
    let changes = play(
        &mut trail,
        &[event("a", DENIED, 0), event("b", ADMIN, day + 1)],
    );
    assert_eq!(changes, vec![None, None]);

    let changes = play(&mut trail, &[event("c", STOPPED, day + 10)]);
    assert_eq!(changes, vec![Some(IncidentChange::Opened)]);
    let first = trail.incident.clone().expect("an incident");
    // Two days of quiet, then the same pair again: a new incident, not the old one grown.
    let changes = play(
        &mut trail,
        &[event("d", DENIED, 4 * day), event("e", ADMIN, 4 * day + 1)],
    );
    assert_eq!(changes, vec![None, Some(IncidentChange::Opened)]);
    assert_ne!(trail.incident.as_ref().map(|i| &i.id), Some(&first.id));
}

#[test]
fn a_suppressed_finding_still_counts_toward_an_incident() {
    let mut quiet = event("a", DENIED, 0);
    quiet.suppressed_by = Some("noisy-bot".into());
    let mut trail = Trail::new(&quiet);
    let changes = play(&mut trail, &[quiet, event("b", ADMIN, 3)]);
    assert_eq!(changes[1], Some(IncidentChange::Opened));
    let incident = trail.incident.as_ref().expect("an incident");
    assert!(incident.steps[0].suppressed);
}

#[test]
fn a_trail_keeps_at_most_a_bounded_number_of_findings_dropping_context_first() {
    let mut trail = Trail::new(&event("a", DENIED, 0));
    play(&mut trail, &[event("a", DENIED, 0)]);
    // An intruder spraying from 500 networks: 500 first-network findings.
    let spray: Vec<Contribution> = (0..500)
        .map(|n| Contribution {
            finding_id: format!("F-net-{n}"),
            key: Some(format!("203.0.{}.0/24", n % 256)),
            ..event(&format!("n{n}"), NEW_API, 1 + n / 100)
        })
        .collect();
    play(&mut trail, &spray);
    assert_eq!(trail.steps.len(), MAX_STEPS);
    assert!(
        trail
            .steps
            .iter()
            .any(|step| step.finding_id == "F-TW-BASE-DENIED"),
        "the step that brings a tactic stays"
    );
}
