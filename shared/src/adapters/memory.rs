//! In-memory adapters: for the CLI, local runs and tests of the domain.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::anomaly::Anomaly;
use crate::ports::{
    AnomalyStore, EventQueue, OutgoingMessage, PutOutcome, QueueError, SendFailure, StoreError,
};

#[derive(Debug, Default)]
pub struct MemoryQueue {
    bodies: Mutex<Vec<String>>,
}

impl MemoryQueue {
    /// Every message body sent so far, in order.
    pub fn bodies(&self) -> Vec<String> {
        self.bodies.lock().map(|b| b.clone()).unwrap_or_default()
    }
}

impl EventQueue for MemoryQueue {
    async fn send_batch(
        &self,
        messages: &[OutgoingMessage],
    ) -> Result<Vec<SendFailure>, QueueError> {
        let mut bodies = self
            .bodies
            .lock()
            .map_err(|_| QueueError::Send("memory queue lock poisoned".into()))?;
        bodies.extend(messages.iter().map(|message| message.body.clone()));
        Ok(Vec::new())
    }
}

#[derive(Debug, Default)]
pub struct MemoryAnomalyStore {
    anomalies: Mutex<HashMap<String, Anomaly>>,
}

impl MemoryAnomalyStore {
    pub fn len(&self) -> usize {
        self.anomalies.lock().map(|a| a.len()).unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl AnomalyStore for MemoryAnomalyStore {
    async fn put_if_absent(&self, anomaly: &Anomaly) -> Result<PutOutcome, StoreError> {
        let mut anomalies = self
            .anomalies
            .lock()
            .map_err(|_| StoreError::Request("memory store lock poisoned".into()))?;
        if anomalies.contains_key(&anomaly.event_id) {
            return Ok(PutOutcome::AlreadyPresent);
        }
        anomalies.insert(anomaly.event_id.clone(), anomaly.clone());
        Ok(PutOutcome::Inserted)
    }

    async fn get(&self, event_id: &str) -> Result<Option<Anomaly>, StoreError> {
        let anomalies = self
            .anomalies
            .lock()
            .map_err(|_| StoreError::Request("memory store lock poisoned".into()))?;
        Ok(anomalies.get(event_id).cloned())
    }
}
