//! Alerts kept in memory, for tests and `scan`: every publish recorded, and a switch that
//! makes the next publishes fail, to show a failed publish is retried and loses nothing.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::alert::Alert;
use crate::ports::{AlertError, AlertSink};

#[derive(Debug, Default)]
pub struct MemoryAlerts {
    published: Mutex<Vec<Alert>>,
    imported: Mutex<Vec<String>>,
    failures_left: AtomicUsize,
}

impl MemoryAlerts {
    /// The next `count` publishes fail.
    pub fn fail_next(&self, count: usize) {
        self.failures_left.store(count, Ordering::SeqCst);
    }

    /// The ids of the findings imported, in order, repeats included.
    pub fn imported(&self) -> Vec<String> {
        self.imported.lock().expect("alerts lock").clone()
    }

    /// Every alert published, in order, repeats included.
    pub fn published(&self) -> Vec<Alert> {
        self.published.lock().expect("alerts lock").clone()
    }
}

impl AlertSink for MemoryAlerts {
    async fn publish(&self, alert: &Alert) -> Result<(), AlertError> {
        let failing = self
            .failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        if failing {
            return Err(AlertError {
                alert_id: alert.alert_id.clone(),
                target: "memory".into(),
                reason: "failing on purpose".into(),
            });
        }
        self.published
            .lock()
            .expect("alerts lock")
            .push(alert.clone());
        Ok(())
    }

    async fn import_finding(&self, finding: &crate::finding::Finding) -> Result<(), AlertError> {
        self.imported
            .lock()
            .expect("alerts lock")
            .push(finding.id.clone());
        Ok(())
    }
}
