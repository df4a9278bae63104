//! The contract every store of findings and incidents keeps ([`CaseStore`] and
//! [`CaseQueries`]), run on the in-memory store here and on DynamoDB by the end-to-end tests:
//! what is recorded is listed newest first, a page at a time, filtered as asked, and a
//! finding's status sticks. Needs a fresh store.

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::anomaly::{Anomaly, Severity};
use crate::finding::{Contribution, DetectionRef, FindingSettings, finding_id, window_start};
use crate::ports::{CaseQueries, CaseStore};
use crate::query::{CaseFilter, QueryError, Status, StatusChange};

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap() + Duration::minutes(minutes)
}

const PEOPLE: [&str; 3] = [
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:iam::111122223333:user/bob",
    "arn:aws:iam::111122223333:role/deploy",
];

/// Detections (id, tactic, severity) the contract's findings are made of.
const DETECTIONS: [(&str, &str, Severity); 3] = [
    ("TW-IAM-004", "Privilege Escalation", Severity::High),
    ("TW-CLOUDTRAIL-001", "Defense Evasion", Severity::Critical),
    ("TW-BASE-NETWORK", "Initial Access", Severity::Low),
];

/// Records event `n`: person `n % 3`, detection `n % 3 / …`, minute `n * 7`.
async fn record<S: CaseStore>(store: &S, n: usize) {
    let principal = PEOPLE[n % 3];
    let (id, tactic, severity) = DETECTIONS[(n / 3) % 3];
    let when = at(n as i64 * 7);
    let window = window_start(when, &FindingSettings::default());
    let anomaly = Anomaly {
        event_id: format!("contract-{n}"),
        request_id: None,
        principal: principal.to_string(),
        action: "iam:AttachUserPolicy".into(),
        event_time: when,
        assets: Vec::new(),
        score: 0.5,
        severity,
        detections: Vec::new(),
        reasons: vec!["r".into()],
        detected_at: when,
        source_ip: None,
        region: Some("eu-west-1".into()),
        account_id: Some("111122223333".into()),
        origin: None,
        caller: None,
        baseline_error: None,
        raw_event: None,
        finding_ids: Vec::new(),
    };
    let contribution = Contribution {
        finding_id: finding_id(Some("111122223333"), principal, id, None, window),
        account_id: Some("111122223333".into()),
        principal: principal.to_string(),
        access_key: None,
        detection: DetectionRef {
            id: id.into(),
            title: id.into(),
            tactic: tactic.into(),
            technique: "T0".into(),
        },
        key: None,
        window_start: window,
        severity,
        reason: format!("{id} by {principal}"),
        event_id: anomaly.event_id.clone(),
        event_time: when,
        action: anomaly.action.clone(),
        network: None,
        user_agent: None,
        region: Some("eu-west-1".into()),
        resources: Vec::new(),
        suppressed_by: None,
    };
    store
        .record(&anomaly, &[contribution])
        .await
        .expect("recorded");
}

/// Every page of a listing, followed to its end.
async fn all_pages<S: CaseQueries>(store: &S, filter: &CaseFilter) -> Vec<(String, DateTime<Utc>)> {
    let mut seen = Vec::new();
    let mut filter = filter.clone();
    loop {
        let page = store.findings(&filter).await.expect("a page");
        assert!(
            page.items.len() <= filter.limit,
            "a page holds at most its limit"
        );
        seen.extend(page.items.iter().map(|f| (f.id.clone(), f.last_seen)));
        match page.next {
            Some(next) => filter.after = Some(next),
            None => return seen,
        }
    }
}

pub async fn check_case_queries<S: CaseStore + CaseQueries>(store: &S) {
    // 9 findings: 3 people × 3 detections, each from events 7 minutes apart.
    for n in 0..18 {
        record(store, n).await;
    }
    let everything = CaseFilter {
        limit: 4,
        ..CaseFilter::default()
    };
    let listed = all_pages(store, &everything).await;
    assert_eq!(
        listed.len(),
        9,
        "every finding once, across pages: {listed:?}"
    );
    let mut ids: Vec<&String> = listed.iter().map(|(id, _)| id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 9, "no finding twice");
    assert!(
        listed.windows(2).all(|pair| pair[0].1 >= pair[1].1),
        "newest first: {listed:?}"
    );

    let of = |filter: CaseFilter| async move {
        all_pages(
            store,
            &CaseFilter {
                limit: 100,
                ..filter
            },
        )
        .await
    };
    let bob = of(CaseFilter {
        principal: Some(PEOPLE[1].into()),
        ..CaseFilter::default()
    })
    .await;
    assert_eq!(bob.len(), 3);
    let high = of(CaseFilter {
        min_severity: Some(Severity::High),
        ..CaseFilter::default()
    })
    .await;
    assert_eq!(high.len(), 6, "high and critical: {high:?}");
    let trail = of(CaseFilter {
        detection: Some("TW-CLOUDTRAIL-001".into()),
        principal: Some(PEOPLE[2].into()),
        ..CaseFilter::default()
    })
    .await;
    assert_eq!(trail.len(), 1);
    // Last seen between 09:30 and 10:00: events 5..=8 and 14.. are out; findings whose last
    // event falls in the span.
    let span = of(CaseFilter {
        since: Some(at(60)),
        until: Some(at(100)),
        ..CaseFilter::default()
    })
    .await;
    assert!(
        !span.is_empty()
            && span
                .iter()
                .all(|(_, last)| *last >= at(60) && *last <= at(100)),
        "{span:?}"
    );

    // A status set by a person sticks, with who and why.
    let target = trail[0].0.clone();
    let change = StatusChange {
        status: Status::Acknowledged,
        note: Some("looking into it".into()),
        by: "arn:aws:iam::111122223333:user/analyst".into(),
        at: at(200),
    };
    let changed = store
        .set_status(&target, &change)
        .await
        .expect("set")
        .expect("the finding exists");
    assert_eq!(changed.status, Status::Acknowledged);
    assert_eq!(changed.status_change.as_ref(), Some(&change));
    let acknowledged = of(CaseFilter {
        status: Some(Status::Acknowledged),
        ..CaseFilter::default()
    })
    .await;
    assert_eq!(acknowledged, vec![trail[0].clone()]);
    let open = of(CaseFilter {
        status: Some(Status::Open),
        ..CaseFilter::default()
    })
    .await;
    assert_eq!(open.len(), 8);
    assert!(
        store
            .set_status("F-none", &change)
            .await
            .expect("asked")
            .is_none()
    );
    // The status survives more events of the finding (event 23: deploy, CloudTrail again).
    record(store, 23).await;
    let again = store.finding(&target).await.expect("read").expect("there");
    assert_eq!(again.status, Status::Acknowledged);
    assert_eq!(again.count, 3, "the new event counted");

    // Incidents list likewise: each person's high and critical findings span two tactics.
    let incidents = store
        .incidents(&CaseFilter {
            limit: 2,
            ..CaseFilter::default()
        })
        .await
        .expect("a page");
    assert_eq!(incidents.items.len(), 2);
    assert!(incidents.next.is_some());
    let rest = store
        .incidents(&CaseFilter {
            limit: 2,
            after: incidents.next.clone(),
            ..CaseFilter::default()
        })
        .await
        .expect("a page");
    assert_eq!(rest.items.len(), 1);
    assert!(rest.next.is_none());

    let forged = store
        .findings(&CaseFilter {
            after: Some("not-a-cursor".into()),
            limit: 10,
            ..CaseFilter::default()
        })
        .await;
    assert!(
        matches!(forged, Err(QueryError::Filter(ref error)) if error.parameter == "next"),
        "{forged:?}"
    );
}

/// The contract of the ingest ledger: what is noted is found by id, with its stream and
/// minute; a batch larger than one DynamoDB batch is noted whole; an id never noted is none;
/// noting again replaces. Needs a fresh ledger.
pub async fn check_ingest_ledger<L: crate::ports::IngestLedger>(ledger: &L) {
    use crate::ports::QueuedEvent;
    let queued: Vec<QueuedEvent> = (0..60)
        .map(|n| QueuedEvent {
            event_id: format!("ledger-{n}"),
            stream: "111122223333/eu-west-1".into(),
            minute: 29_000_000 + n,
            queued_at: at(n),
        })
        .collect();
    ledger.note_queued(&queued).await.expect("noted");
    for event in [&queued[0], &queued[26], &queued[59]] {
        assert_eq!(
            ledger.queued(&event.event_id).await.expect("read").as_ref(),
            Some(event)
        );
    }
    assert_eq!(ledger.queued("never-posted").await.expect("read"), None);
    ledger.note_queued(&[]).await.expect("nothing to note");
    let again = QueuedEvent {
        queued_at: at(99),
        ..queued[3].clone()
    };
    ledger
        .note_queued(std::slice::from_ref(&again))
        .await
        .expect("noted");
    assert_eq!(ledger.queued("ledger-3").await.expect("read"), Some(again));
}

/// The contract of a suppression store: rules put are listed whole, a put of the same id
/// replaces, a remove says whether there was a rule. Needs a fresh store.
pub async fn check_suppression_store<S: crate::ports::SuppressionStore>(store: &S) {
    use crate::suppress::SuppressionRule;
    let rule = |id: &str, reason: &str| SuppressionRule {
        id: id.into(),
        detection: Some("TW-BASE-DENIED".into()),
        principal: Some("arn:aws:iam::*:role/ci-*".into()),
        account: None,
        network: Some("203.0.113.0/24".into()),
        user_agent: None,
        region: None,
        reason: reason.into(),
        expires: Some("2027-03-31".into()),
    };
    assert!(store.rules().await.expect("listed").is_empty());
    store.put(&rule("a", "first")).await.expect("put");
    store.put(&rule("b", "second")).await.expect("put");
    store.put(&rule("a", "replaced")).await.expect("put");
    let mut rules = store.rules().await.expect("listed");
    rules.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(rules, vec![rule("a", "replaced"), rule("b", "second")]);
    assert!(store.remove("a").await.expect("removed"));
    assert!(!store.remove("a").await.expect("removed"));
    assert_eq!(
        store.rules().await.expect("listed"),
        vec![rule("b", "second")]
    );
}

#[cfg(test)]
mod tests {
    use crate::adapters::memory_cases::MemoryCaseStore;

    #[tokio::test]
    async fn the_memory_store_keeps_the_case_contract() {
        super::check_case_queries(&MemoryCaseStore::default()).await;
    }
}
