//! The ingest ledger in memory, for tests and local runs.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::ports::{IngestLedger, QueuedEvent, StoreError};

#[derive(Debug, Default)]
pub struct MemoryIngestLedger {
    queued: Mutex<HashMap<String, QueuedEvent>>,
}

impl IngestLedger for MemoryIngestLedger {
    async fn note_queued(&self, events: &[QueuedEvent]) -> Result<(), StoreError> {
        let mut queued = self
            .queued
            .lock()
            .map_err(|_| StoreError::Request("ledger lock poisoned".into()))?;
        for event in events {
            queued.insert(event.event_id.clone(), event.clone());
        }
        Ok(())
    }

    async fn queued(&self, event_id: &str) -> Result<Option<QueuedEvent>, StoreError> {
        Ok(self
            .queued
            .lock()
            .map_err(|_| StoreError::Request("ledger lock poisoned".into()))?
            .get(event_id)
            .cloned())
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn keeps_the_ingest_ledger_contract() {
        crate::contract_cases::check_ingest_ledger(&super::MemoryIngestLedger::default()).await;
    }

    #[tokio::test]
    async fn the_memory_suppression_store_keeps_its_contract() {
        crate::contract_cases::check_suppression_store(
            &crate::adapters::memory_cases::MemorySuppressionStore::default(),
        )
        .await;
    }
}
