//! The DynamoDB profile store keeps the same contract as the in-memory one, against the
//! local endpoint, with two instances on one table as two warm detectors have.

use aws_sdk_dynamodb::types::AttributeValue;
use trailwatch_shared::adapters::dynamodb_profiles::DynamoDbProfileStore;
use trailwatch_shared::contract;
use trailwatch_tests::harness::Harness;

#[tokio::test]
async fn dynamodb_keeps_the_profile_store_contract() {
    let Some(harness) = Harness::new("profile_contract").await else {
        return;
    };
    let first = DynamoDbProfileStore::new(harness.dynamodb.clone(), harness.profiles_table());
    let second = DynamoDbProfileStore::new(harness.dynamodb.clone(), harness.profiles_table());
    contract::check_all(&first, &second, "dynamodb").await;

    // Every item expires, and not before state_ttl (90 days) from now.
    let items = harness
        .dynamodb
        .scan()
        .table_name(harness.profiles_table())
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    assert!(!items.is_empty());
    let soonest = chrono::Utc::now() + chrono::Duration::days(89);
    for item in &items {
        let Some(AttributeValue::N(expires_at)) = item.get("expires_at") else {
            panic!("an item without expires_at: {item:?}");
        };
        assert!(
            expires_at.parse::<i64>().unwrap() > soonest.timestamp(),
            "{item:?}"
        );
    }
    harness.cleanup().await;
}
