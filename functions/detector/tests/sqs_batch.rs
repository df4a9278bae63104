//! The detector function on the sample SQS batch: the poison message is dead-lettered at
//! once, with its reason, or (with no dead-letter queue to send to) failed for the redrive.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Context, LambdaEvent};
use trailwatch_shared::Engine;
use trailwatch_shared::adapters::memory::MemoryQueue;
use trailwatch_shared::adapters::memory_cases::MemoryCaseStore;
use trailwatch_shared::adapters::memory_profiles::MemoryProfileStore;
use trailwatch_shared::adapters::memory_receipts::MemoryReceiptStore;
use trailwatch_shared::casebook::Triage;
use trailwatch_shared::dead_letter::ERROR_ATTRIBUTE;
use trailwatch_shared::detect::{RecentEvents, Stores};
use trailwatch_shared::ports::AnomalyStore;

const POISON: &str = "9a1c7f0e-3b2d-4c5e-8f6a-7b8c9d0e1f2a";

async fn handle_sample(
    store: &MemoryCaseStore,
    dead_letters: Option<&MemoryQueue>,
) -> SqsBatchResponse {
    let batch: SqsEvent =
        serde_json::from_str(include_str!("../../../events/sqs-batch.json")).unwrap();
    trailwatch_detector::handle(
        &Engine::default(),
        Stores {
            cases: store,
            triage: &Triage::default(),
            profiles: &MemoryProfileStore::default(),
            receipts: &MemoryReceiptStore::default(),
            recent: &RecentEvents::default(),
        },
        dead_letters,
        LambdaEvent::new(batch, Context::default()),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn the_sample_batch_dead_letters_its_poison_message_at_once() {
    let store = MemoryCaseStore::default();
    let dead_letters = MemoryQueue::default();
    let response = handle_sample(&store, Some(&dead_letters)).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(store.len(), 2);
    let dead = dead_letters.messages();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, "this is not an event");
    assert_eq!(dead[0].attributes[0].0, ERROR_ATTRIBUTE);
    assert!(
        dead[0].attributes[0].1.contains("not valid JSON"),
        "{:?}",
        dead[0].attributes
    );
}

#[tokio::test]
async fn without_a_dead_letter_queue_the_poison_message_is_the_only_failure() {
    let store = MemoryCaseStore::default();
    let response = handle_sample(&store, None).await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|failure| failure.item_identifier.as_str())
        .collect();
    assert_eq!(failed, vec![POISON]);
    assert_eq!(store.len(), 2);
    assert!(
        store
            .get("c0ffee00-0000-4000-8000-000000000001")
            .await
            .unwrap()
            .is_some()
    );

    let json = serde_json::to_value(&response).unwrap();
    assert_eq!(json["batchItemFailures"][0]["itemIdentifier"], POISON);
}
