//! The DynamoDB profile and receipt stores keep the same contracts as the in-memory ones, against the
//! local endpoint, with two instances on one table as two warm detectors have.

use std::collections::HashMap;

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::types::AttributeValue;
use trailwatch_shared::adapters::dynamodb_profiles::DynamoDbProfileStore;
use trailwatch_shared::adapters::dynamodb_receipts::DynamoDbReceiptStore;
use trailwatch_shared::baseline::{Features, Kind};
use trailwatch_shared::contract;
use trailwatch_shared::ports::ProfileStore;
use trailwatch_tests::harness::Harness;

#[tokio::test]
async fn dynamodb_keeps_the_profile_store_contract() {
    let Some(harness) = Harness::new("profile_contract").await else {
        return;
    };
    let first = DynamoDbProfileStore::new(harness.dynamodb.clone(), harness.profiles_table());
    let second = DynamoDbProfileStore::new(harness.dynamodb.clone(), harness.profiles_table());
    contract::check_all(&first, &second, "dynamodb").await;

    // Every item expires: remembered state not before state_ttl (90 days) from now, single
    // denied calls and threshold minutes a day after any window that can count them.
    let items = profile_items(&harness).await;
    assert!(!items.is_empty());
    let now = chrono::Utc::now();
    for item in &items {
        let Some(AttributeValue::N(expires_at)) = item.get("expires_at") else {
            panic!("an item without expires_at: {item:?}");
        };
        let expires_at = expires_at.parse::<i64>().unwrap();
        let denied_call = matches!(item.get("sk"), Some(AttributeValue::S(sk)) if sk.starts_with("DENIED#") || sk.starts_with("MIN#"));
        let (soonest, latest) = if denied_call {
            (
                now + chrono::Duration::hours(23),
                now + chrono::Duration::days(2),
            )
        } else {
            (
                now + chrono::Duration::days(89),
                now + chrono::Duration::days(366),
            )
        };
        assert!(
            expires_at > soonest.timestamp() && expires_at < latest.timestamp(),
            "{item:?}"
        );
    }
    harness.cleanup().await;
}

#[tokio::test]
async fn dynamodb_keeps_the_receipt_store_contract() {
    let Some(harness) = Harness::new("receipt_contract").await else {
        return;
    };
    let first = DynamoDbReceiptStore::new(harness.dynamodb.clone(), harness.profiles_table());
    let second = DynamoDbReceiptStore::new(harness.dynamodb.clone(), harness.profiles_table());
    contract::check_receipts(&first, &second, "dynamodb").await;

    // Receipts expire (a week); the real-time marker is kept.
    let items = profile_items(&harness).await;
    let receipts: Vec<_> = items
        .iter()
        .filter(
            |item| matches!(item.get("pk"), Some(AttributeValue::S(pk)) if pk.starts_with("R#")),
        )
        .collect();
    assert_eq!(receipts.len(), 2, "one item per batch recorded: {items:?}");
    for item in receipts {
        assert!(item.contains_key("expires_at"), "{item:?}");
    }
    harness.cleanup().await;
}

/// Every item of the profiles table.
async fn profile_items(harness: &Harness) -> Vec<HashMap<String, AttributeValue>> {
    harness
        .dynamodb
        .scan()
        .table_name(harness.profiles_table())
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default()
}

#[tokio::test]
async fn a_warm_detectors_cache_is_bounded_in_bytes_and_forgetting_changes_no_answer() {
    let Some(harness) = Harness::new("profile_cache_bytes").await else {
        return;
    };
    let limit = 8 * 1024;
    let store = DynamoDbProfileStore::new(harness.dynamodb.clone(), harness.profiles_table())
        .with_cache_limit(limit);
    let config = trailwatch_shared::baseline::BaselineConfig::default();
    let start = chrono::Utc::now() - chrono::Duration::days(1);
    let asset = |n: usize| format!("arn:aws:s3:::bucket-{n:04}-{}", "x".repeat(100));
    let observe = |event: String, assets: Vec<String>, minute: i64| {
        let features = Features {
            event_id: event,
            principal: "arn:aws:iam::111122223333:role/busy".into(),
            account: Some("111122223333".into()),
            values: assets.into_iter().map(|a| (Kind::Asset, a)).collect(),
            denied: false,
            instance_credentials: false,
            aws_service: false,
            learns: true,
        };
        let store = &store;
        let config = &config;
        async move {
            store
                .observe(&features, start + chrono::Duration::minutes(minute), config)
                .await
                .unwrap()
        }
    };
    let mut largest = 0;
    for n in 0..200 {
        let observation = observe(format!("e{n}"), vec![asset(n)], n as i64).await;
        assert_eq!(observation.new_values.len(), 1, "each asset is new once");
        largest = largest.max(store.cached_bytes().await);
    }
    assert!(
        largest <= limit + 512,
        "the cache stayed near {limit} bytes: {largest}"
    );
    // What was forgotten is still known to the table: no asset is new a second time.
    let again = observe(
        "again".into(),
        (0..200).step_by(7).map(asset).collect(),
        300,
    )
    .await;
    assert!(again.new_values.is_empty(), "{:?}", again.new_values);
    harness.cleanup().await;
}

/// Counts the DynamoDB operations a client sends, by name; refuses its `UpdateItem` calls
/// while told to, as a throttled or unreachable table would.
#[derive(Debug, Default, Clone)]
struct OperationCounter {
    operations: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    refusing_updates: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl OperationCounter {
    /// A DynamoDB client of the harness whose calls this counter names.
    fn client(&self, harness: &Harness) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&harness.config)
                .interceptor(self.clone())
                .build(),
        )
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.operations.lock().unwrap())
    }

    fn refuse_updates(&self, refuse: bool) {
        self.refusing_updates
            .store(refuse, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Intercept for OperationCounter {
    fn name(&self) -> &'static str {
        "OperationCounter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or_default();
        let operation = target.rsplit('.').next().unwrap_or(target).to_string();
        let refused = operation == "UpdateItem"
            && self
                .refusing_updates
                .load(std::sync::atomic::Ordering::SeqCst);
        self.operations.lock().unwrap().push(operation);
        if refused {
            return Err("refused for the test".into());
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_cold_detector_reads_an_events_known_values_in_one_call_and_writes_none_of_them() {
    let Some(harness) = Harness::new("profile_batched_reads").await else {
        return;
    };
    let counter = OperationCounter::default();
    let counted = counter.client(&harness);
    let config = trailwatch_shared::baseline::BaselineConfig::default();
    let at = chrono::Utc::now() - chrono::Duration::hours(1);
    let event = |id: &str, learns: bool| Features {
        event_id: id.into(),
        principal: "arn:aws:iam::111122223333:role/heavy".into(),
        account: Some("111122223333".into()),
        values: (0..20)
            .map(|n| (Kind::Asset, format!("arn:aws:s3:::bucket-{n}")))
            .chain([(Kind::Api, "s3:GetObject".to_string())])
            .collect(),
        denied: false,
        instance_credentials: false,
        aws_service: false,
        learns,
    };
    let warm = DynamoDbProfileStore::new(harness.dynamodb.clone(), harness.profiles_table());
    let first = warm.observe(&event("e1", true), at, &config).await.unwrap();
    assert_eq!(first.new_values.len(), 21);
    warm.flush().await.unwrap();

    // Another instance, cold, meets the same 21 values: one read for all of them, no writes
    // of remembered values (only its first look at the account and principal).
    let cold = DynamoDbProfileStore::new(counted.clone(), harness.profiles_table());
    let second = cold.observe(&event("e2", true), at, &config).await.unwrap();
    assert!(second.new_values.is_empty(), "{:?}", second.new_values);
    let operations = counter.take();
    assert_eq!(
        operations
            .iter()
            .filter(|operation| *operation == "BatchGetItem")
            .count(),
        1,
        "{operations:?}"
    );
    // Its first look at the account and the principal (and the principal's hours), and the
    // read.
    assert!(operations.len() <= 4, "{operations:?}");

    // Warm now, an ordinary event costs no call: its hour's count is added up in memory.
    let fourth = cold.observe(&event("e4", true), at, &config).await.unwrap();
    assert!(fourth.new_values.is_empty());
    assert_eq!(
        fourth.hour_count, 3,
        "the hour's count across both instances"
    );
    assert_eq!(counter.take(), Vec::<String>::new());
    // The batch's end writes the principal's counts: one add to its events, one to its hour.
    cold.flush().await.unwrap();
    assert_eq!(counter.take(), vec!["UpdateItem", "UpdateItem"]);

    // An event that teaches nothing (posted, untrusted) is judged in one read.
    let peeking = DynamoDbProfileStore::new(counted, harness.profiles_table());
    let mut posted = event("e3", false);
    posted.values.push((Kind::Network, "203.0.113.9".into()));
    let third = peeking.observe(&posted, at, &config).await.unwrap();
    assert_eq!(
        third.new_values,
        vec![(Kind::Network, "203.0.113.9".to_string())]
    );
    assert_eq!(counter.take(), vec!["BatchGetItem"]);
    harness.cleanup().await;
}

#[tokio::test]
async fn a_principals_event_count_is_written_until_it_reaches_the_learning_minimum() {
    let Some(harness) = Harness::new("event_count_minimum").await else {
        return;
    };
    let counter = OperationCounter::default();
    let config = trailwatch_shared::baseline::BaselineConfig {
        learning_min_events: 3,
        ..Default::default()
    };
    let at = chrono::Utc::now() - chrono::Duration::hours(1);
    let event = |id: &str| get_object(id, "steady");
    let detector = DynamoDbProfileStore::new(counter.client(&harness), harness.profiles_table());
    // One event a batch: while the table's count is below the minimum, the batch's end adds
    // to its events and to its hour; past it, to its hour only.
    for n in 0..5 {
        detector
            .observe(&event(&format!("e{n}")), at, &config)
            .await
            .unwrap();
        counter.take();
        detector.flush().await.unwrap();
        let writes = if n < 3 { 2 } else { 1 };
        assert_eq!(counter.take(), vec!["UpdateItem"; writes], "batch {n}");
    }

    // Another detector reads the count the table has, which is past the minimum.
    let other = DynamoDbProfileStore::new(harness.dynamodb.clone(), harness.profiles_table());
    let seen = other.observe(&event("e5"), at, &config).await.unwrap();
    assert_eq!(seen.events_before, 3);
    assert_eq!(seen.hour_count, 6, "every call still counts in its hour");
    harness.cleanup().await;
}

#[tokio::test]
async fn an_asset_an_event_names_twice_is_claimed_once() {
    let Some(harness) = Harness::new("asset_twice").await else {
        return;
    };
    let config = trailwatch_shared::baseline::BaselineConfig::default();
    let at = chrono::Utc::now() - chrono::Duration::hours(1);
    let counter = OperationCounter::default();
    let detector = DynamoDbProfileStore::new(counter.client(&harness), harness.profiles_table());
    let mut event = get_object("e1", "twice");
    let asset = (Kind::Asset, "arn:aws:s3:::bucket/key".to_string());
    event.values.extend([asset.clone(), asset.clone()]);
    let seen = detector.observe(&event, at, &config).await.unwrap();
    assert_eq!(
        seen.new_values
            .iter()
            .filter(|value| **value == asset)
            .count(),
        2,
        "new at both places, as when claimed in turn"
    );
    // The account, the principal, its call and the asset: one claim each.
    let updates = counter
        .take()
        .into_iter()
        .filter(|operation| operation == "UpdateItem")
        .count();
    assert_eq!(updates, 4);
    harness.cleanup().await;
}

#[tokio::test]
async fn a_flush_that_fails_keeps_every_principals_counts_for_the_next_one() {
    let Some(harness) = Harness::new("failed_flush").await else {
        return;
    };
    let config = trailwatch_shared::baseline::BaselineConfig::default();
    let at = chrono::Utc::now() - chrono::Duration::hours(1);
    let refused = OperationCounter::default();
    let detector = DynamoDbProfileStore::new(refused.client(&harness), harness.profiles_table());
    // Many principals' counts are added at once at a batch's end: one busy, forty quiet.
    for n in 0..3 {
        let event = get_object(&format!("busy-{n}"), "busy");
        detector.observe(&event, at, &config).await.unwrap();
    }
    for n in 0..40 {
        let event = get_object(&format!("quiet-{n}"), &format!("quiet-{n}"));
        detector.observe(&event, at, &config).await.unwrap();
    }
    refused.refuse_updates(true);
    assert!(detector.flush().await.is_err());
    refused.refuse_updates(false);
    detector.flush().await.unwrap();

    // Another detector finds every count once: none lost to the failure, none doubled.
    let other = DynamoDbProfileStore::new(harness.dynamodb.clone(), harness.profiles_table());
    let busy = other
        .observe(&get_object("busy-3", "busy"), at, &config)
        .await
        .unwrap();
    assert_eq!((busy.events_before, busy.hour_count), (3, 4));
    for n in 0..40 {
        let event = get_object(&format!("quiet-{n}-again"), &format!("quiet-{n}"));
        let quiet = other.observe(&event, at, &config).await.unwrap();
        assert_eq!((quiet.events_before, quiet.hour_count), (1, 2), "quiet-{n}");
    }
    harness.cleanup().await;
}

#[tokio::test]
async fn two_detectors_calls_of_one_hour_reach_each_other_at_their_next_flush() {
    let Some(harness) = Harness::new("hour_counts").await else {
        return;
    };
    let config = trailwatch_shared::baseline::BaselineConfig::default();
    let at = chrono::Utc::now() - chrono::Duration::hours(1);
    let event = |id: &str| get_object(id, "busy");
    let first = DynamoDbProfileStore::new(harness.dynamodb.clone(), harness.profiles_table());
    let second = DynamoDbProfileStore::new(harness.dynamodb.clone(), harness.profiles_table());
    for n in 0..2 {
        let seen = first
            .observe(&event(&format!("a{n}")), at, &config)
            .await
            .unwrap();
        assert_eq!(
            seen.hour_count,
            n + 1,
            "its own calls, counted as they come"
        );
    }
    for n in 0..3 {
        second
            .observe(&event(&format!("b{n}")), at, &config)
            .await
            .unwrap();
    }
    second.flush().await.unwrap();
    first.flush().await.unwrap();
    let next = first.observe(&event("a2"), at, &config).await.unwrap();
    assert_eq!(next.hour_count, 6, "both detectors' calls, once each");
    first.flush().await.unwrap();
    let stored = profile_items(&harness)
        .await
        .into_iter()
        .find(
            |item| matches!(item.get("sk"), Some(AttributeValue::S(sk)) if sk.starts_with("HOUR#")),
        )
        .expect("the hour's item");
    assert_eq!(stored.get("calls"), Some(&AttributeValue::N("6".into())));
    harness.cleanup().await;
}

/// One `s3:GetObject` call of a role of account 111122223333, as the detector learns it.
fn get_object(event_id: &str, role: &str) -> Features {
    Features {
        event_id: event_id.into(),
        principal: format!("arn:aws:iam::111122223333:role/{role}"),
        account: Some("111122223333".into()),
        values: vec![(Kind::Api, "s3:GetObject".to_string())],
        denied: false,
        instance_credentials: false,
        aws_service: false,
        learns: true,
    }
}
