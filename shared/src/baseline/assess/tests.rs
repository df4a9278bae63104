use chrono::{Duration, TimeZone, Utc};

use super::*;
use crate::baseline::is_volume_spike;

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
}

fn features(denied: bool, instance: bool) -> Features {
    Features {
        event_id: "e".into(),
        principal: "arn:aws:iam::111122223333:role/deploy".into(),
        account: Some("111122223333".into()),
        values: vec![],
        denied,
        instance_credentials: instance,
        aws_service: false,
        learns: true,
    }
}

/// A principal with two weeks and plenty of history.
fn known() -> Observation {
    Observation {
        first_seen: Some(at(1, 0)),
        events_before: 500,
        account_first_seen: Some(at(1, 0)),
        hour_count: 1,
        typical_hour: Some(10.0),
        ..Observation::default()
    }
}

fn ids(detections: &[Detection]) -> Vec<&str> {
    detections
        .iter()
        .map(|detection| detection.id.as_str())
        .collect()
}

#[test]
fn first_seen_values_are_reported_with_their_history() {
    let observation = Observation {
        new_values: vec![
            (Kind::Api, "iam:CreateAccessKey".into()),
            (Kind::Network, "198.51.100.0/24".into()),
            (Kind::Region, "ap-southeast-3".into()),
            (Kind::UserAgent, "pacu".into()),
            (Kind::Asset, "arn:aws:iam::111122223333:user/admin".into()),
        ],
        ..known()
    };
    let detections = assess(
        &features(false, false),
        &observation,
        at(15, 0),
        &BaselineConfig::default(),
    );
    assert_eq!(
        ids(&detections),
        vec![
            "TW-BASE-API",
            "TW-BASE-NETWORK-CLIENT",
            "TW-BASE-REGION",
            "TW-BASE-ASSET"
        ]
    );
    assert_eq!(
        detections[0].reason,
        "first call of iam:CreateAccessKey by arn:aws:iam::111122223333:role/deploy in 14 days of history"
    );
    assert_eq!(
        detections[1].reason,
        "first call by arn:aws:iam::111122223333:role/deploy from 198.51.100.0/24, with pacu, a client it never used, in 14 days of history"
    );
    assert_eq!(detections[1].severity, Severity::Medium);
    assert_eq!(detections[2].severity, Severity::Medium);
}

#[test]
fn a_new_network_or_a_new_client_alone_is_low_and_both_at_once_medium() {
    let assessed = |new_values: Vec<(Kind, &str)>, instance: bool| {
        let observation = Observation {
            new_values: new_values
                .into_iter()
                .map(|(kind, value)| (kind, value.to_string()))
                .collect(),
            ..known()
        };
        assess(
            &features(false, instance),
            &observation,
            at(15, 0),
            &BaselineConfig::default(),
        )
        .into_iter()
        .map(|detection| (detection.id, detection.severity))
        .collect::<Vec<_>>()
    };
    let network = (Kind::Network, "198.51.100.0/24");
    let client = (Kind::UserAgent, "boto3");
    assert_eq!(
        assessed(vec![network], false),
        vec![("TW-BASE-NETWORK".to_string(), Severity::Low)]
    );
    assert_eq!(
        assessed(vec![client], false),
        vec![("TW-BASE-USERAGENT".to_string(), Severity::Low)]
    );
    assert_eq!(
        assessed(vec![network, client], false),
        vec![("TW-BASE-NETWORK-CLIENT".to_string(), Severity::Medium)]
    );
    // Instance credentials elsewhere are high by themselves; the client is said too.
    assert_eq!(
        assessed(vec![network, client], true),
        vec![
            ("TW-BASE-INSTANCECREDS".to_string(), Severity::High),
            ("TW-BASE-USERAGENT".to_string(), Severity::Low)
        ]
    );
}

#[test]
fn a_denied_first_call_is_medium_unless_the_console_made_it() {
    let observation = Observation {
        new_values: vec![(Kind::Api, "iam:ListUsers".into())],
        ..known()
    };
    let with_agent = |agent: &str| Features {
        values: vec![(Kind::UserAgent, agent.to_string())],
        ..features(true, false)
    };
    let detections = assess(
        &with_agent("boto3"),
        &observation,
        at(15, 0),
        &BaselineConfig::default(),
    );
    assert_eq!(ids(&detections), vec!["TW-BASE-API-DENIED"]);
    assert_eq!(detections[0].severity, Severity::Medium);
    assert_eq!(
        detections[0].reason,
        "arn:aws:iam::111122223333:role/deploy was denied iam:ListUsers, a call it never made in 14 days of history"
    );
    for console in ["browser", "aws internal"] {
        let detections = assess(
            &with_agent(console),
            &observation,
            at(15, 0),
            &BaselineConfig::default(),
        );
        assert_eq!(ids(&detections), vec!["TW-BASE-API"], "{console}");
    }
    // A call it made before, denied now, is no first use.
    let known_call = assess(
        &with_agent("boto3"),
        &known(),
        at(15, 0),
        &BaselineConfig::default(),
    );
    assert!(known_call.is_empty());
}

#[test]
fn nothing_first_seen_is_reported_while_learning() {
    let new_api = vec![(Kind::Api, "iam:CreateAccessKey".to_string())];
    let young = Observation {
        first_seen: Some(at(12, 0)),
        new_values: new_api.clone(),
        ..known()
    };
    assert!(
        assess(
            &features(false, false),
            &young,
            at(15, 0),
            &BaselineConfig::default()
        )
        .is_empty()
    );
    let quiet = Observation {
        events_before: 5,
        new_values: new_api,
        ..known()
    };
    assert!(
        assess(
            &features(false, false),
            &quiet,
            at(15, 0),
            &BaselineConfig::default()
        )
        .is_empty()
    );
}

#[test]
fn a_new_principal_is_reported_once_the_account_has_learned() {
    let brand_new = Observation {
        first_seen: None,
        events_before: 0,
        ..known()
    };
    let detections = assess(
        &features(false, false),
        &brand_new,
        at(15, 0),
        &BaselineConfig::default(),
    );
    assert_eq!(ids(&detections), vec!["TW-BASE-PRINCIPAL"]);
    assert!(
        detections[0]
            .reason
            .contains("14 days after the account's first event")
    );
    let early = Observation {
        account_first_seen: Some(at(14, 0)),
        ..brand_new
    };
    assert!(
        assess(
            &features(false, false),
            &early,
            at(15, 0),
            &BaselineConfig::default()
        )
        .is_empty()
    );
}

#[test]
fn instance_credentials_from_a_new_network_are_high() {
    let observation = Observation {
        new_values: vec![(Kind::Network, "198.51.100.0/24".into())],
        ..known()
    };
    let detections = assess(
        &features(false, true),
        &observation,
        at(15, 0),
        &BaselineConfig::default(),
    );
    assert_eq!(ids(&detections), vec!["TW-BASE-INSTANCECREDS"]);
    assert_eq!(detections[0].severity, Severity::High);
}

#[test]
fn a_volume_spike_is_reported_by_the_event_that_owns_its_hour() {
    let config = BaselineConfig::default();
    let spike = |hour_count, owner| Observation {
        hour_count,
        typical_hour: Some(30.0),
        volume_spike: owner,
        ..known()
    };
    assert!(
        assess(
            &features(false, false),
            &spike(152, false),
            at(15, 0),
            &config
        )
        .is_empty()
    );
    let detections = assess(
        &features(false, false),
        &spike(151, true),
        at(15, 0),
        &config,
    );
    assert_eq!(ids(&detections), vec!["TW-BASE-VOLUME"]);
    assert_eq!(
        detections[0].reason,
        "151 calls by arn:aws:iam::111122223333:role/deploy this hour, over 5× its typical 30"
    );
    // 5 × 30 = 150 is over the 100-call floor: the 151st call is a spike, the 150th not; a
    // quiet principal needs the floor of 100 calls, not 5 × 2.
    assert!(!is_volume_spike(150, Some(30.0), &config));
    assert!(is_volume_spike(151, Some(30.0), &config));
    assert!(!is_volume_spike(11, Some(2.0), &config));
    assert!(
        !is_volume_spike(1_000, None, &config),
        "no history, no spike"
    );
}

#[test]
fn an_access_denied_burst_is_reported_by_its_owner_even_while_learning() {
    let config = BaselineConfig::default();
    let burst = |count, owner| Observation {
        denied_in_window: count,
        denied_burst: owner,
        first_seen: None,
        account_first_seen: None,
        ..known()
    };
    assert!(assess(&features(true, false), &burst(9, false), at(15, 0), &config).is_empty());
    let detections = assess(&features(true, false), &burst(10, true), at(15, 0), &config);
    assert_eq!(ids(&detections), vec!["TW-BASE-DENIED"]);
    assert!(detections[0].reason.starts_with("10 access-denied errors"));
    assert!(detections[0].reason.ends_with("within 5 minutes"));
    assert!(
        assess(
            &features(true, false),
            &burst(11, false),
            at(15, 0),
            &config
        )
        .is_empty()
    );
}

#[test]
fn learning_ends_with_enough_days_and_events() {
    let config = BaselineConfig {
        learning_period: Duration::days(3),
        learning_min_events: 10,
        ..BaselineConfig::default()
    };
    let observation = Observation {
        first_seen: Some(at(10, 0)),
        events_before: 10,
        ..Observation::default()
    };
    assert!(observation.learning(at(12, 23), &config));
    assert!(!observation.learning(at(13, 0), &config));
}

#[test]
fn aws_services_raise_no_baseline_detection_unless_the_setting_turns_them_on() {
    let service = Features {
        principal: "delivery.logs.amazonaws.com".into(),
        aws_service: true,
        ..features(true, false)
    };
    let observation = Observation {
        new_values: vec![
            (Kind::Api, "s3:PutObject".into()),
            (Kind::Network, "delivery.logs.amazonaws.com".into()),
        ],
        denied_in_window: 10,
        denied_burst: true,
        volume_spike: true,
        ..known()
    };
    let config = BaselineConfig::default();
    assert!(assess(&service, &observation, at(15, 0), &config).is_empty());
    let judged = BaselineConfig {
        judge_aws_services: true,
        ..config
    };
    let detections = assess(&service, &observation, at(15, 0), &judged);
    assert!(
        ids(&detections).contains(&"TW-BASE-DENIED"),
        "{detections:?}"
    );
    assert!(
        ids(&detections).contains(&"TW-BASE-VOLUME"),
        "{detections:?}"
    );
}
