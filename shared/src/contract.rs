//! The contract every [`ProfileStore`] keeps, run against the in-memory store here and
//! against DynamoDB by the end-to-end tests. Each check takes two instances that share their
//! state, as two warm detectors share a table (for the in-memory store, the same one twice),
//! and uses its own principals, so checks need no fresh store.

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::baseline::{BaselineConfig, Features, Kind, Tally};
use crate::ports::ProfileStore;

fn features(principal: &str, event_id: &str, values: &[(Kind, &str)]) -> Features {
    Features {
        event_id: event_id.to_string(),
        principal: principal.to_string(),
        account: Some(format!("acct-{principal}")),
        values: values
            .iter()
            .map(|(kind, value)| (*kind, value.to_string()))
            .collect(),
        denied: false,
        instance_credentials: false,
        aws_service: false,
        learns: true,
    }
}

fn at(hour: i64, minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap()
        + Duration::hours(hour)
        + Duration::minutes(minute)
}

fn new_values(observation: &crate::baseline::Observation) -> Vec<(Kind, &str)> {
    observation
        .new_values
        .iter()
        .map(|(kind, value)| (*kind, value.as_str()))
        .collect()
}

/// Runs every check; `run` names the run so principals differ between runs on one table.
pub async fn check_all<A: ProfileStore, B: ProfileStore>(first: &A, second: &B, run: &str) {
    first_sightings_are_news_once(first, &format!("{run}-sightings")).await;
    a_retried_event_sees_its_news_again(first, second, &format!("{run}-retry")).await;
    racing_observers_report_a_new_value_once(first, second, &format!("{run}-race")).await;
    state_persists_across_instances(first, second, &format!("{run}-persist")).await;
    hours_are_counted_and_typical_hours_computed(first, &format!("{run}-hours")).await;
    denied_calls_are_counted_in_their_window(first, &format!("{run}-denied")).await;
    denied_calls_are_counted_across_instances(first, second, &format!("{run}-denied-shared")).await;
    a_burst_is_reported_once_across_window_edges_retries_and_instances(
        first,
        second,
        &format!("{run}-burst"),
    )
    .await;
    a_spike_is_reported_once_an_hour_and_again_on_retry(first, &format!("{run}-spike")).await;
    an_event_that_teaches_nothing_changes_nothing(first, second, &format!("{run}-forged")).await;
    the_earliest_event_time_is_kept_whatever_the_arrival_order(
        first,
        second,
        &format!("{run}-order"),
    )
    .await;
    a_threshold_counts_calls_across_instances_and_reports_once(
        first,
        second,
        &format!("{run}-threshold"),
    )
    .await;
    a_threshold_of_distinct_values_counts_each_value_once(
        first,
        second,
        &format!("{run}-distinct"),
    )
    .await;
}

fn tally(group: &str, event_id: &str, value: Option<&str>, at_least: u64) -> Tally {
    Tally {
        rule: "TW-TEST-THRESHOLD".into(),
        group: group.to_string(),
        value: value.map(str::to_string),
        at_least,
        within_minutes: 10,
        event_id: event_id.to_string(),
    }
}

/// Counts the calls on two detectors in turn; returns each call's count and the positions
/// of the calls that reported.
async fn tally_alternately<A: ProfileStore, B: ProfileStore>(
    first: &A,
    second: &B,
    calls: impl Iterator<Item = (Tally, DateTime<Utc>)>,
) -> (Vec<u64>, Vec<usize>) {
    let config = BaselineConfig::default();
    let mut counts = Vec::new();
    let mut reporters = Vec::new();
    for (n, (call, when)) in calls.enumerate() {
        let tallied = if n % 2 == 0 {
            first.tally(&call, when, &config).await.unwrap()
        } else {
            second.tally(&call, when, &config).await.unwrap()
        };
        counts.push(tallied.count);
        if tallied.reports {
            reporters.push(n);
        }
    }
    (counts, reporters)
}

/// Calls counted across two detectors within a sliding window of whole minutes: the call
/// that reaches the threshold reports it, once, again on its own retry; calls that fall out
/// of the window stop counting.
pub async fn a_threshold_counts_calls_across_instances_and_reports_once<
    A: ProfileStore,
    B: ProfileStore,
>(
    first: &A,
    second: &B,
    group: &str,
) {
    let config = BaselineConfig::default();
    // Twelve calls, one a minute from 07:00 (window 10 minutes, threshold 5).
    let (counts, reporters) = tally_alternately(
        first,
        second,
        (0..12).map(|n| (tally(group, &format!("t{n}"), None, 5), at(7, n))),
    )
    .await;
    assert_eq!(
        counts,
        vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 10],
        "calls in the ten minutes ending with each call's minute"
    );
    assert_eq!(
        reporters,
        vec![4],
        "the fifth call reports; the run goes on into the next window unreported"
    );
    let retried = first
        .tally(&tally(group, "t4", None, 5), at(7, 4), &config)
        .await
        .unwrap();
    assert!(
        retried.reports,
        "a retry of the reporting call reports again"
    );

    // An hour later the window is empty again.
    let later = second
        .tally(&tally(group, "t-later", None, 5), at(8, 30), &config)
        .await
        .unwrap();
    assert_eq!(later.count, 1);
    assert!(!later.reports);
}

/// Distinct values: a value repeated (or redelivered) counts once; the threshold is of
/// values, across detectors.
pub async fn a_threshold_of_distinct_values_counts_each_value_once<
    A: ProfileStore,
    B: ProfileStore,
>(
    first: &A,
    second: &B,
    group: &str,
) {
    let config = BaselineConfig::default();
    let names = [
        "alice", "bob", "alice", "carol", "bob", "dave", "erin", "frank",
    ];
    let (counts, reporters) = tally_alternately(
        first,
        second,
        names.iter().enumerate().map(|(n, name)| {
            (
                tally(group, &format!("s{n}"), Some(name), 5),
                at(9, 0) + Duration::seconds(n as i64 * 50),
            )
        }),
    )
    .await;
    assert_eq!(counts, vec![1, 2, 2, 3, 3, 4, 5, 6]);
    assert_eq!(reporters, vec![6], "erin, the fifth user, reports");

    // A minute's values stop growing at the threshold (a spray of thousands of names stays
    // a small item); the count stays at least the threshold.
    let mut last = 0;
    for n in 0..8 {
        let call = tally(
            &format!("{group}-full"),
            &format!("f{n}"),
            Some(&format!("user-{n}")),
            5,
        );
        last = first.tally(&call, at(10, 0), &config).await.unwrap().count;
    }
    assert_eq!(last, 5);
}

pub async fn first_sightings_are_news_once<S: ProfileStore>(store: &S, principal: &str) {
    let config = BaselineConfig::default();
    let first = store
        .observe(
            &features(
                principal,
                "e1",
                &[(Kind::Api, "s3:ListBuckets"), (Kind::Region, "us-east-1")],
            ),
            at(0, 0),
            &config,
        )
        .await
        .unwrap();
    assert_eq!(first.first_seen, None, "a principal never seen");
    assert_eq!(first.events_before, 0);
    assert_eq!(
        new_values(&first),
        vec![(Kind::Api, "s3:ListBuckets"), (Kind::Region, "us-east-1")]
    );
    assert_eq!(first.account_first_seen, None, "the account's first event");

    let second = store
        .observe(
            &features(
                principal,
                "e2",
                &[(Kind::Api, "s3:ListBuckets"), (Kind::Region, "eu-west-1")],
            ),
            at(0, 5),
            &config,
        )
        .await
        .unwrap();
    assert_eq!(second.first_seen, Some(at(0, 0)));
    assert_eq!(second.events_before, 1);
    assert_eq!(
        new_values(&second),
        vec![(Kind::Region, "eu-west-1")],
        "only the value never seen"
    );
    assert_eq!(second.account_first_seen, Some(at(0, 0)));
}

pub async fn a_retried_event_sees_its_news_again<A: ProfileStore, B: ProfileStore>(
    first: &A,
    second: &B,
    principal: &str,
) {
    let config = BaselineConfig::default();
    let event = features(principal, "e1", &[(Kind::Network, "198.51.100.0/24")]);
    let original = first.observe(&event, at(0, 0), &config).await.unwrap();
    first.flush().await.unwrap();
    // The message failed later and came back: to the same detector, and to another.
    let same = first.observe(&event, at(0, 0), &config).await.unwrap();
    let other = second.observe(&event, at(0, 0), &config).await.unwrap();
    for observation in [&original, &same, &other] {
        assert_eq!(
            new_values(observation),
            vec![(Kind::Network, "198.51.100.0/24")]
        );
        assert_eq!(
            observation.first_seen, None,
            "still the principal's first event"
        );
    }
    let later = second
        .observe(
            &features(principal, "e2", &[(Kind::Network, "198.51.100.0/24")]),
            at(0, 1),
            &config,
        )
        .await
        .unwrap();
    assert!(later.new_values.is_empty(), "another event is not news");
}

pub async fn racing_observers_report_a_new_value_once<A: ProfileStore, B: ProfileStore>(
    first: &A,
    second: &B,
    principal: &str,
) {
    let config = BaselineConfig::default();
    for round in 0..5 {
        let value = format!("iam:CreateAccessKey-{round}");
        let one = features(principal, &format!("a{round}"), &[(Kind::Api, &value)]);
        let two = features(principal, &format!("b{round}"), &[(Kind::Api, &value)]);
        let (left, right) = tokio::join!(
            first.observe(&one, at(1, round), &config),
            second.observe(&two, at(1, round), &config)
        );
        let reported = [left.unwrap(), right.unwrap()]
            .iter()
            .filter(|observation| !observation.new_values.is_empty())
            .count();
        assert_eq!(
            reported, 1,
            "round {round}: the new value is reported exactly once"
        );
    }
}

pub async fn state_persists_across_instances<A: ProfileStore, B: ProfileStore>(
    first: &A,
    second: &B,
    principal: &str,
) {
    let config = BaselineConfig::default();
    for minute in 0..3 {
        first
            .observe(
                &features(
                    principal,
                    &format!("e{minute}"),
                    &[(Kind::UserAgent, "aws-cli")],
                ),
                at(2, minute),
                &config,
            )
            .await
            .unwrap();
    }
    first.flush().await.unwrap();
    let seen_elsewhere = second
        .observe(
            &features(
                principal,
                "e9",
                &[(Kind::UserAgent, "aws-cli"), (Kind::UserAgent, "boto3")],
            ),
            at(3, 0),
            &config,
        )
        .await
        .unwrap();
    assert_eq!(seen_elsewhere.first_seen, Some(at(2, 0)));
    assert_eq!(
        seen_elsewhere.events_before, 3,
        "counts written by the other instance"
    );
    assert_eq!(
        new_values(&seen_elsewhere),
        vec![(Kind::UserAgent, "boto3")]
    );
    assert_eq!(
        seen_elsewhere.typical_hour,
        Some(3.0),
        "hour counts written by the other instance"
    );
}

pub async fn hours_are_counted_and_typical_hours_computed<S: ProfileStore>(
    store: &S,
    principal: &str,
) {
    let config = BaselineConfig::default();
    let mut last = None;
    for (hour, calls) in [(0, 2), (1, 4)] {
        for call in 0..calls {
            last = Some(
                store
                    .observe(
                        &features(principal, &format!("h{hour}-{call}"), &[]),
                        at(hour, call),
                        &config,
                    )
                    .await
                    .unwrap(),
            );
        }
    }
    let last = last.unwrap();
    assert_eq!(last.hour_count, 4);
    assert_eq!(last.typical_hour, Some(2.0), "the earlier hour's calls");
    let next = store
        .observe(&features(principal, "h2", &[]), at(2, 0), &config)
        .await
        .unwrap();
    assert_eq!(next.hour_count, 1);
    assert_eq!(next.typical_hour, Some(3.0));
}

pub async fn denied_calls_are_counted_in_their_window<S: ProfileStore>(store: &S, principal: &str) {
    let config = BaselineConfig::default();
    let denied = |event: &str| Features {
        denied: true,
        ..features(principal, event, &[])
    };
    let mut counts = Vec::new();
    for (number, minute) in [0, 1, 2, 9].into_iter().enumerate() {
        let observation = store
            .observe(&denied(&format!("d{number}")), at(4, minute), &config)
            .await
            .unwrap();
        counts.push(observation.denied_in_window);
    }
    // Five minutes after 0:02, the first three have left the window.
    assert_eq!(counts, vec![1, 2, 3, 1]);
}

pub async fn denied_calls_are_counted_across_instances<A: ProfileStore, B: ProfileStore>(
    first: &A,
    second: &B,
    principal: &str,
) {
    let config = BaselineConfig::default();
    let denied = |event: &str| Features {
        denied: true,
        ..features(principal, event, &[])
    };
    for minute in 0..3 {
        first
            .observe(&denied(&format!("a{minute}")), at(5, minute), &config)
            .await
            .unwrap();
    }
    let mut counts = Vec::new();
    for minute in 3..5 {
        counts.push(
            second
                .observe(&denied(&format!("b{minute}")), at(5, minute), &config)
                .await
                .unwrap()
                .denied_in_window,
        );
    }
    // A burst spread over two detectors is one burst.
    assert_eq!(counts, vec![4, 5]);
}

/// S3 delivers minutes after EventBridge, backfill days after: a profile keeps the earliest
/// event time of the principal and of its account, not the order events were processed in.
pub async fn the_earliest_event_time_is_kept_whatever_the_arrival_order<
    A: ProfileStore,
    B: ProfileStore,
>(
    first: &A,
    second: &B,
    principal: &str,
) {
    let config = BaselineConfig::default();
    let day = |days: i64| at(0, 0) + Duration::days(days);
    let late = first
        .observe(&features(principal, "late", &[]), day(10), &config)
        .await
        .unwrap();
    assert_eq!(late.first_seen, None, "the first event processed");
    let early = first
        .observe(&features(principal, "early", &[]), day(1), &config)
        .await
        .unwrap();
    assert_eq!(
        early.first_seen,
        Some(day(10)),
        "an older event arrives after a newer one"
    );
    assert!(
        early.learning(day(1), &config),
        "before the known history: learning"
    );
    first.flush().await.unwrap();

    // Another instance, and this one again, measure history from the earliest event.
    for (observation, instance) in [
        (
            second
                .observe(&features(principal, "middle", &[]), day(9), &config)
                .await
                .unwrap(),
            "the other instance",
        ),
        (
            first
                .observe(&features(principal, "after", &[]), day(11), &config)
                .await
                .unwrap(),
            "the same instance",
        ),
    ] {
        assert_eq!(observation.first_seen, Some(day(1)), "{instance}");
        assert_eq!(
            observation.account_first_seen,
            Some(day(1)),
            "{instance}: the account's first event"
        );
    }
}

/// The contract every [`ReceiptStore`](crate::ports::ReceiptStore) keeps, on two instances
/// that share their state.
pub async fn check_receipts<A: crate::ports::ReceiptStore, B: crate::ports::ReceiptStore>(
    first: &A,
    second: &B,
    run: &str,
) {
    let stream = format!("{run}-111122223333/us-east-1");
    let minute = 29_000_000;
    assert!(first.evaluated(&stream, minute).await.unwrap().is_empty());
    first
        .record(&stream, minute, &["a".to_string(), "b".to_string()])
        .await
        .unwrap();
    second
        .record(&stream, minute, &["c".to_string()])
        .await
        .unwrap();
    // A batch recorded twice (a retry) changes nothing.
    second
        .record(&stream, minute, &["c".to_string()])
        .await
        .unwrap();
    let mut seen: Vec<String> = first
        .evaluated(&stream, minute)
        .await
        .unwrap()
        .into_iter()
        .collect();
    seen.sort();
    assert_eq!(seen, ["a", "b", "c"], "what both instances recorded");
    assert!(
        second
            .evaluated(&stream, minute + 1)
            .await
            .unwrap()
            .is_empty(),
        "minutes are apart"
    );
    assert!(
        second
            .evaluated(&format!("{stream}-other"), minute)
            .await
            .unwrap()
            .is_empty(),
        "streams are apart"
    );

    assert_eq!(first.realtime_start(&stream).await.unwrap(), None);
    first.note_realtime(&stream, at(10, 0)).await.unwrap();
    assert_eq!(
        second.realtime_start(&stream).await.unwrap(),
        Some(at(10, 0))
    );
    second.note_realtime(&stream, at(9, 0)).await.unwrap();
    first.note_realtime(&stream, at(11, 0)).await.unwrap();
    for instance in [
        first.realtime_start(&stream).await.unwrap(),
        second.realtime_start(&stream).await.unwrap(),
    ] {
        assert_eq!(instance, Some(at(9, 0)), "the earliest time noted");
    }
}

/// Nine denials at 06:04 and nine at 06:05 are one burst (a sliding window, not fixed
/// buckets), reported once by the event that reached the threshold, again when that event is
/// redelivered (to any instance), and by no other event of the window.
pub async fn a_burst_is_reported_once_across_window_edges_retries_and_instances<
    A: ProfileStore,
    B: ProfileStore,
>(
    first: &A,
    second: &B,
    principal: &str,
) {
    let config = BaselineConfig::default();
    let denied = |event: &str| Features {
        denied: true,
        ..features(principal, event, &[])
    };
    // 06:04:00 to 06:04:40, then 06:05:00 to 06:05:40 (the window after the one of 06:04),
    // then on into 06:10, the window after the tenth's: still one burst.
    let time = |n: i64| {
        if n < 9 {
            at(6, 4) + Duration::seconds(n * 5)
        } else if n < 18 {
            at(6, 5) + Duration::seconds((n - 9) * 5)
        } else {
            at(6, 9) + Duration::seconds((n - 18) * 20)
        }
    };
    let mut counts = Vec::new();
    let mut reporters = Vec::new();
    for n in 0..24 {
        let event = denied(&format!("d{n}"));
        // The principal's events spread over two detectors.
        let observation = if n % 2 == 0 {
            first.observe(&event, time(n), &config).await.unwrap()
        } else {
            second.observe(&event, time(n), &config).await.unwrap()
        };
        counts.push(observation.denied_in_window);
        if observation.denied_burst {
            reporters.push(n);
        }
    }
    assert_eq!(counts[8], 9, "nine at 06:04");
    assert_eq!(counts[9], 10, "the tenth, at 06:05, completes the burst");
    assert_eq!(
        reporters,
        vec![9],
        "reported once, by the tenth, though the burst goes on past 06:05"
    );

    // The tenth is redelivered (its anomaly write failed): counted once, reported again.
    for retry in [
        first
            .observe(&denied("d9"), time(9), &config)
            .await
            .unwrap(),
        second
            .observe(&denied("d9"), time(9), &config)
            .await
            .unwrap(),
    ] {
        assert_eq!(retry.denied_in_window, 10, "counted once");
        assert!(
            retry.denied_burst,
            "the retry reports what the first try could not"
        );
    }
}

/// A spike is reported by the call that makes the hour one, once an hour, and again when
/// that call is redelivered.
pub async fn a_spike_is_reported_once_an_hour_and_again_on_retry<S: ProfileStore>(
    store: &S,
    principal: &str,
) {
    let config = BaselineConfig {
        volume_min_calls: 3,
        volume_factor: 2.0,
        ..BaselineConfig::default()
    };
    for call in 0..2 {
        store
            .observe(
                &features(principal, &format!("h0-{call}"), &[]),
                at(7, call),
                &config,
            )
            .await
            .unwrap();
    }
    // Typical hour 2, threshold max(2 × 2, 3) = 4: the fifth call of the next hour is a spike.
    let mut reporters = Vec::new();
    for call in 0..8 {
        let observation = store
            .observe(
                &features(principal, &format!("h1-{call}"), &[]),
                at(8, call),
                &config,
            )
            .await
            .unwrap();
        if observation.volume_spike {
            reporters.push(call);
        }
    }
    assert_eq!(reporters, vec![4]);
    let retry = store
        .observe(&features(principal, "h1-4", &[]), at(8, 4), &config)
        .await
        .unwrap();
    assert!(retry.volume_spike);
}

/// A posted event (forged history, say) is assessed against the profile but changes nothing:
/// its values stay unknown, its time does not start or stretch the history, nothing counts.
pub async fn an_event_that_teaches_nothing_changes_nothing<A: ProfileStore, B: ProfileStore>(
    first: &A,
    second: &B,
    principal: &str,
) {
    let config = BaselineConfig::default();
    let real = first
        .observe(
            &features(principal, "real-1", &[(Kind::Network, "198.51.100.0/24")]),
            at(10, 0),
            &config,
        )
        .await
        .unwrap();
    assert_eq!(real.first_seen, None);
    first.flush().await.unwrap();
    let forged = Features {
        learns: false,
        ..features(
            principal,
            "forged",
            &[
                (Kind::Network, "198.51.100.0/24"),
                (Kind::Network, "203.0.113.0/24"),
            ],
        )
    };
    // Dated long before the real history, from the attacker's network.
    let assessed = first
        .observe(&forged, at(0, 0) - Duration::days(300), &config)
        .await
        .unwrap();
    assert_eq!(
        new_values(&assessed),
        vec![(Kind::Network, "203.0.113.0/24")],
        "assessed against what is known"
    );
    assert_eq!(assessed.first_seen, Some(at(10, 0)));
    let again = second.observe(&forged, at(10, 1), &config).await.unwrap();
    assert_eq!(new_values(&again), vec![(Kind::Network, "203.0.113.0/24")]);

    // The real attack from that network later is still news, the history unchanged.
    let attack = second
        .observe(
            &features(principal, "real-2", &[(Kind::Network, "203.0.113.0/24")]),
            at(11, 0),
            &config,
        )
        .await
        .unwrap();
    assert_eq!(new_values(&attack), vec![(Kind::Network, "203.0.113.0/24")]);
    assert_eq!(attack.first_seen, Some(at(10, 0)));
    assert_eq!(attack.events_before, 1, "posted events do not count");
}
