//! Receipts in memory: for tests and local runs.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::ports::{ReceiptStore, StoreError};

#[derive(Debug, Default)]
pub struct MemoryReceiptStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    evaluated: HashMap<(String, i64), HashSet<String>>,
    realtime: HashMap<String, DateTime<Utc>>,
}

impl MemoryReceiptStore {
    fn state(&self) -> Result<std::sync::MutexGuard<'_, State>, StoreError> {
        self.state
            .lock()
            .map_err(|_| StoreError::Request("memory receipt store lock poisoned".into()))
    }
}

impl ReceiptStore for MemoryReceiptStore {
    async fn evaluated(&self, stream: &str, minute: i64) -> Result<HashSet<String>, StoreError> {
        Ok(self
            .state()?
            .evaluated
            .get(&(stream.to_string(), minute))
            .cloned()
            .unwrap_or_default())
    }

    async fn record(
        &self,
        stream: &str,
        minute: i64,
        event_ids: &[String],
    ) -> Result<(), StoreError> {
        self.state()?
            .evaluated
            .entry((stream.to_string(), minute))
            .or_default()
            .extend(event_ids.iter().cloned());
        Ok(())
    }

    async fn note_realtime(&self, stream: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let mut state = self.state()?;
        let since = state.realtime.entry(stream.to_string()).or_insert(at);
        *since = (*since).min(at);
        Ok(())
    }

    async fn realtime_start(&self, stream: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self.state()?.realtime.get(stream).copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_the_receipt_store_contract() {
        let store = MemoryReceiptStore::default();
        crate::contract::check_receipts(&store, &store, "memory").await;
    }
}
