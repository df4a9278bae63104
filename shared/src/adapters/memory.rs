//! In-memory adapters: for the CLI, local runs and tests of the domain.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::anomaly::Anomaly;
use crate::ports::{
    AnomalyStore, EventQueue, ObjectError, ObjectSource, OutgoingMessage, PutOutcome, QueueError,
    SendFailure, StoreError,
};

#[derive(Debug, Default)]
pub struct MemoryQueue {
    messages: Mutex<Vec<OutgoingMessage>>,
}

impl MemoryQueue {
    /// Every message sent so far, in order.
    pub fn messages(&self) -> Vec<OutgoingMessage> {
        self.messages.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Every message body sent so far, in order.
    pub fn bodies(&self) -> Vec<String> {
        self.messages()
            .into_iter()
            .map(|message| message.body)
            .collect()
    }
}

impl EventQueue for MemoryQueue {
    async fn send_batch(
        &self,
        messages: &[OutgoingMessage],
    ) -> Result<Vec<SendFailure>, QueueError> {
        let mut sent = self
            .messages
            .lock()
            .map_err(|_| QueueError::Send("memory queue lock poisoned".into()))?;
        sent.extend(messages.iter().cloned());
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

/// Objects held in memory, by bucket and key.
#[derive(Debug, Default)]
pub struct MemoryObjectSource {
    objects: Mutex<HashMap<(String, String), Vec<u8>>>,
}

impl MemoryObjectSource {
    pub fn put(&self, bucket: &str, key: &str, bytes: Vec<u8>) {
        if let Ok(mut objects) = self.objects.lock() {
            objects.insert((bucket.to_string(), key.to_string()), bytes);
        }
    }
}

impl ObjectSource for MemoryObjectSource {
    type Reader = std::io::Cursor<Vec<u8>>;

    async fn open(&self, bucket: &str, key: &str) -> Result<Self::Reader, ObjectError> {
        let objects = self.objects.lock().map_err(|_| ObjectError::Read {
            object: format!("s3://{bucket}/{key}"),
            reason: "memory object source lock poisoned".into(),
        })?;
        objects
            .get(&(bucket.to_string(), key.to_string()))
            .map(|bytes| std::io::Cursor::new(bytes.clone()))
            .ok_or_else(|| ObjectError::NotFound(format!("s3://{bucket}/{key}")))
    }
}
