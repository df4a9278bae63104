//! The detector function on the sample SQS batch: the poison message is the only failure.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Context, LambdaEvent};
use trailwatch_shared::Engine;
use trailwatch_shared::adapters::memory::MemoryAnomalyStore;
use trailwatch_shared::adapters::memory_profiles::MemoryProfileStore;
use trailwatch_shared::adapters::memory_receipts::MemoryReceiptStore;
use trailwatch_shared::detect::{RecentEvents, Stores};
use trailwatch_shared::ports::AnomalyStore;

#[tokio::test]
async fn the_sample_batch_reports_only_its_poison_message() {
    let batch: SqsEvent =
        serde_json::from_str(include_str!("../../../events/sqs-batch.json")).unwrap();
    let store = MemoryAnomalyStore::default();
    let profiles = MemoryProfileStore::default();
    let response = trailwatch_detector::handle(
        &Engine::default(),
        Stores {
            anomalies: &store,
            profiles: &profiles,
            receipts: &MemoryReceiptStore::default(),
            recent: &RecentEvents::default(),
        },
        LambdaEvent::new(batch, Context::default()),
    )
    .await
    .unwrap();
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|failure| failure.item_identifier.as_str())
        .collect();
    assert_eq!(failed, vec!["9a1c7f0e-3b2d-4c5e-8f6a-7b8c9d0e1f2a"]);
    assert_eq!(store.len(), 2);
    assert!(
        store
            .get("c0ffee00-0000-4000-8000-000000000001")
            .await
            .unwrap()
            .is_some()
    );

    let json = serde_json::to_value(&response).unwrap();
    assert_eq!(
        json["batchItemFailures"][0]["itemIdentifier"],
        "9a1c7f0e-3b2d-4c5e-8f6a-7b8c9d0e1f2a"
    );
}
