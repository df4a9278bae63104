//! Findings, incidents and suppression rules in memory: the detector's stores for tests and
//! local runs, with the merge `scan` uses.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::anomaly::Anomaly;
use crate::casebook::{Cases, Recorded};
use crate::finding::{Contribution, Finding};
use crate::incident::{Incident, IncidentSettings};
use crate::ports::{
    AnomalyStore, CaseQueries, CaseStore, PutOutcome, StoreError, SuppressionStore,
};
use crate::query::{CaseFilter, Page, QueryError, StatusChange, bad_cursor};
use crate::suppress::SuppressionRule;

#[derive(Debug, Default)]
struct Stored {
    anomalies: HashMap<String, Anomaly>,
    cases: Cases,
}

#[derive(Debug, Default)]
pub struct MemoryCaseStore {
    settings: IncidentSettings,
    stored: Mutex<Stored>,
}

impl MemoryCaseStore {
    pub fn new(settings: IncidentSettings) -> Self {
        Self {
            settings,
            stored: Mutex::default(),
        }
    }

    pub fn anomaly(&self, event_id: &str) -> Option<Anomaly> {
        self.lock().ok()?.anomalies.get(event_id).cloned()
    }

    /// How many anomalies are stored.
    pub fn len(&self) -> usize {
        self.lock()
            .map(|stored| stored.anomalies.len())
            .unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every finding, oldest first.
    pub fn findings(&self) -> Vec<Finding> {
        self.lock()
            .map(|stored| stored.cases.findings().into_iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Every incident, oldest first.
    pub fn incidents(&self) -> Vec<Incident> {
        self.lock()
            .map(|stored| stored.cases.incidents().into_iter().cloned().collect())
            .unwrap_or_default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Stored>, StoreError> {
        self.stored
            .lock()
            .map_err(|_| StoreError::Request("memory case store lock poisoned".into()))
    }
}

impl CaseStore for MemoryCaseStore {
    async fn record(
        &self,
        anomaly: &Anomaly,
        contributions: &[Contribution],
    ) -> Result<(PutOutcome, Recorded), StoreError> {
        let mut stored = self.lock()?;
        if stored.anomalies.contains_key(&anomaly.event_id) {
            return Ok((PutOutcome::AlreadyPresent, Recorded::default()));
        }
        stored
            .anomalies
            .insert(anomaly.event_id.clone(), anomaly.clone());
        let recorded = stored.cases.merge(contributions, &self.settings);
        Ok((PutOutcome::Inserted, recorded))
    }

    async fn finding(&self, id: &str) -> Result<Option<Finding>, StoreError> {
        Ok(self.lock()?.cases.finding(id).cloned())
    }

    async fn incident(&self, id: &str) -> Result<Option<Incident>, StoreError> {
        Ok(self.lock()?.cases.incident(id).cloned())
    }
}

/// The anomalies alone, as the ingest path's readers see them.
impl AnomalyStore for MemoryCaseStore {
    async fn put_if_absent(&self, anomaly: &Anomaly) -> Result<PutOutcome, StoreError> {
        self.record(anomaly, &[]).await.map(|(outcome, _)| outcome)
    }

    async fn get(&self, event_id: &str) -> Result<Option<Anomaly>, StoreError> {
        Ok(self.anomaly(event_id))
    }
}

/// Newest first (last seen, then id, both descending); a page after the cursor's item.
fn page_of<T: Clone>(
    mut items: Vec<T>,
    key: impl Fn(&T) -> (chrono::DateTime<chrono::Utc>, String),
    filter: &CaseFilter,
) -> Result<Page<T>, QueryError> {
    items.sort_by_key(|item| std::cmp::Reverse(key(item)));
    let start = match &filter.after {
        None => 0,
        Some(cursor) => {
            let (at, id) = cursor.split_once('|').ok_or_else(bad_cursor)?;
            let at = chrono::DateTime::parse_from_rfc3339(at)
                .map_err(|_| bad_cursor())?
                .with_timezone(&chrono::Utc);
            let after = (at, id.to_string());
            items.iter().take_while(|item| key(item) >= after).count()
        }
    };
    let limit = filter.limit.max(1);
    let page: Vec<T> = items.iter().skip(start).take(limit).cloned().collect();
    let next = (start + page.len() < items.len())
        .then(|| page.last().map(&key))
        .flatten()
        .map(|(at, id)| format!("{}|{id}", at.to_rfc3339()));
    Ok(Page { items: page, next })
}

impl CaseQueries for MemoryCaseStore {
    async fn findings(&self, filter: &CaseFilter) -> Result<Page<Finding>, QueryError> {
        let admitted: Vec<Finding> = self
            .findings()
            .into_iter()
            .filter(|finding| filter.admits_finding(finding))
            .collect();
        page_of(admitted, |f| (f.last_seen, f.id.clone()), filter)
    }

    async fn incidents(&self, filter: &CaseFilter) -> Result<Page<Incident>, QueryError> {
        let admitted: Vec<Incident> = self
            .incidents()
            .into_iter()
            .filter(|incident| filter.admits_incident(incident))
            .collect();
        page_of(admitted, |i| (i.last_seen, i.id.clone()), filter)
    }

    async fn set_status(
        &self,
        id: &str,
        change: &StatusChange,
    ) -> Result<Option<Finding>, StoreError> {
        let mut stored = self.lock()?;
        Ok(stored.cases.finding_mut(id).map(|finding| {
            finding.status = change.status;
            finding.status_change = Some(change.clone());
            finding.clone()
        }))
    }
}

#[derive(Debug, Default)]
pub struct MemorySuppressionStore {
    rules: Mutex<Vec<SuppressionRule>>,
}

impl MemorySuppressionStore {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Vec<SuppressionRule>>, StoreError> {
        self.rules
            .lock()
            .map_err(|_| StoreError::Request("memory suppression store lock poisoned".into()))
    }
}

impl SuppressionStore for MemorySuppressionStore {
    async fn rules(&self) -> Result<Vec<SuppressionRule>, StoreError> {
        Ok(self.lock()?.clone())
    }

    async fn put(&self, rule: &SuppressionRule) -> Result<(), StoreError> {
        let mut rules = self.lock()?;
        rules.retain(|known| known.id != rule.id);
        rules.push(rule.clone());
        Ok(())
    }

    async fn remove(&self, id: &str) -> Result<bool, StoreError> {
        let mut rules = self.lock()?;
        let before = rules.len();
        rules.retain(|known| known.id != id);
        Ok(rules.len() < before)
    }
}
