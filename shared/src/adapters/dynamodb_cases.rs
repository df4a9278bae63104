//! Anomalies, findings and incidents in Amazon DynamoDB. An anomalous event is written in one
//! transaction (`TransactWriteItems`): its anomaly, put only if absent, and each finding and
//! trail it changes, each put only if its version is still the one read. So an event is
//! counted once however often it is delivered (the anomaly's condition cancels a repeat
//! whole), and two detectors updating one finding at once never lose a count (the loser
//! reads again and merges again). The merge is the one `scan` uses
//! ([`crate::casebook::merge`]).
//!
//! The cases table holds three kinds of item under (`pk`, `sk`): a finding (`F-…`,
//! `finding`), an incident (`I-…`, `incident`) and a subject's trail (`T#principal…`,
//! `trail`). Findings and incidents carry what the query indexes need: `list` (the kind) and
//! `severity_list` (`finding#high`), `principal`, and `last_seen` as their sort key.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::dynamodb::anomaly_item;
use super::dynamodb_profiles::get_items;
use super::store_error;
use crate::anomaly::{Anomaly, Severity};
use crate::casebook::{Recorded, merge};
use crate::finding::{Contribution, Finding};
use crate::incident::{Incident, IncidentSettings, Trail, trail_key};
use crate::ports::{CaseQueries, CaseStore, PutOutcome, StoreError};
use crate::query::{CaseFilter, Page, QueryError, Status, StatusChange, bad_cursor};

const FINDING: &str = "finding";
const INCIDENT: &str = "incident";
const TRAIL: &str = "trail";

/// How often a record is tried again when another detector changed its findings meanwhile.
const CONFLICT_ATTEMPTS: u32 = 8;
/// Items one transaction may hold (DynamoDB's limit).
const TRANSACTION_ITEMS: usize = 100;
/// Findings and trails a warm detector remembers between batches.
const CACHE_ITEMS: usize = 10_000;

/// How long what the store writes is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Retention {
    /// Anomalies, the evidence behind findings, after their event.
    pub anomalies: Duration,
    /// Findings and incidents after their last event.
    pub cases: Duration,
}

impl Retention {
    /// The defaults with `TRAILWATCH_ANOMALY_RETENTION_DAYS` and
    /// `TRAILWATCH_FINDING_RETENTION_DAYS` applied.
    pub fn from_env() -> Result<Self, crate::baseline::SettingError> {
        let mut retention = Self::default();
        for (variable, field) in [
            (
                "TRAILWATCH_ANOMALY_RETENTION_DAYS",
                &mut retention.anomalies,
            ),
            ("TRAILWATCH_FINDING_RETENTION_DAYS", &mut retention.cases),
        ] {
            if let Ok(value) = std::env::var(variable) {
                let days = value
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|days| (1..=36_500).contains(days))
                    .ok_or_else(|| crate::baseline::SettingError {
                        name: variable.to_string(),
                        expected: "a whole number of days from 1 to 36500",
                        value: value.clone(),
                    })?;
                *field = Duration::days(days);
            }
        }
        Ok(retention)
    }
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            anomalies: Duration::days(90),
            cases: Duration::days(365),
        }
    }
}

/// A finding or incident item: the state, and what the indexes read.
#[derive(Debug, Serialize, Deserialize)]
struct CaseItem<T> {
    pk: String,
    sk: String,
    version: u64,
    list: String,
    severity_list: String,
    principal: String,
    last_seen: String,
    expires_at: i64,
    state: T,
}

#[derive(Debug, Serialize, Deserialize)]
struct TrailItem {
    pk: String,
    sk: String,
    version: u64,
    expires_at: i64,
    state: Trail,
}

#[derive(Debug, Clone)]
struct Versioned<T> {
    version: u64,
    state: T,
}

#[derive(Debug, Default)]
struct Cache {
    findings: HashMap<String, Versioned<Finding>>,
    trails: HashMap<String, Versioned<Trail>>,
}

pub struct DynamoDbCaseStore {
    client: Client,
    anomalies_table: String,
    cases_table: String,
    settings: IncidentSettings,
    retention: Retention,
    cache: Mutex<Cache>,
}

impl DynamoDbCaseStore {
    pub fn new(
        client: Client,
        anomalies_table: impl Into<String>,
        cases_table: impl Into<String>,
        settings: IncidentSettings,
        retention: Retention,
    ) -> Self {
        Self {
            client,
            anomalies_table: anomalies_table.into(),
            cases_table: cases_table.into(),
            settings,
            retention,
            cache: Mutex::default(),
        }
    }

    /// The findings and trails these contributions touch, from the cache or the table.
    async fn load(
        &self,
        cache: &mut Cache,
        finding_ids: &[String],
        trail_keys: &[String],
    ) -> Result<(), StoreError> {
        let mut missing: Vec<(String, String)> = finding_ids
            .iter()
            .filter(|id| !cache.findings.contains_key(*id))
            .map(|id| (id.clone(), FINDING.to_string()))
            .collect();
        missing.extend(
            trail_keys
                .iter()
                .filter(|key| !cache.trails.contains_key(*key))
                .map(|key| (trail_pk(key), TRAIL.to_string())),
        );
        if missing.is_empty() {
            return Ok(());
        }
        if cache.findings.len() + cache.trails.len() > CACHE_ITEMS {
            *cache = Cache::default();
        }
        let found = get_items(&self.client, &self.cases_table, missing.clone()).await?;
        for (pk, sk) in missing {
            let item = found.get(&(pk.clone(), sk.clone()));
            if sk == FINDING {
                let versioned = match item {
                    Some(item) => {
                        let item: CaseItem<Finding> = decode(item, &pk)?;
                        Versioned {
                            version: item.version,
                            state: item.state,
                        }
                    }
                    None => continue,
                };
                cache.findings.insert(pk, versioned);
            } else if let Some(item) = item {
                let item: TrailItem = decode(item, &pk)?;
                let key = trail_key(&item.state.principal, item.state.access_key.as_deref());
                cache.trails.insert(
                    key,
                    Versioned {
                        version: item.version,
                        state: item.state,
                    },
                );
            }
        }
        Ok(())
    }

    /// One attempt: merge into what was read, write it all if nothing changed meanwhile.
    async fn try_record(
        &self,
        cache: &mut Cache,
        anomaly: &Anomaly,
        contributions: &[Contribution],
    ) -> Result<Attempt, StoreError> {
        let mut finding_ids: Vec<String> = contributions
            .iter()
            .map(|contribution| contribution.finding_id.clone())
            .collect();
        finding_ids.sort();
        finding_ids.dedup();
        let mut trail_keys: Vec<String> = contributions
            .iter()
            .map(|contribution| {
                trail_key(&contribution.principal, contribution.access_key.as_deref())
            })
            .collect();
        trail_keys.sort();
        trail_keys.dedup();
        self.load(cache, &finding_ids, &trail_keys).await?;

        let mut findings: HashMap<String, Finding> = finding_ids
            .iter()
            .filter_map(|id| Some((id.clone(), cache.findings.get(id)?.state.clone())))
            .collect();
        let mut trails: HashMap<String, Trail> = trail_keys
            .iter()
            .filter_map(|key| Some((key.clone(), cache.trails.get(key)?.state.clone())))
            .collect();
        let merged = merge(&mut findings, &mut trails, contributions, &self.settings);

        let mut writes = vec![self.anomaly_put(anomaly)?];
        let mut versions: Vec<(bool, String, u64)> = Vec::new();
        for id in &finding_ids {
            let Some(finding) = findings.get(id) else {
                continue;
            };
            let read = cache.findings.get(id).map(|known| known.version);
            let version = read.unwrap_or(0) + 1;
            let item = self.case_item(
                FINDING,
                version,
                (&finding.principal, finding.severity, finding.last_seen),
                finding,
            );
            writes.push(self.put(encode(&item)?, Guard::read_at(read))?);
            versions.push((true, id.clone(), version));
        }
        for key in &trail_keys {
            let Some(trail) = trails.get(key) else {
                continue;
            };
            let read = cache.trails.get(key).map(|known| known.version);
            let version = read.unwrap_or(0) + 1;
            let last = trail
                .steps
                .iter()
                .map(|step| step.last_seen)
                .max()
                .unwrap_or(anomaly.event_time);
            let item = TrailItem {
                pk: trail_pk(key),
                sk: TRAIL.to_string(),
                version,
                expires_at: (last + self.settings.window + Duration::days(1)).timestamp(),
                state: trail.clone(),
            };
            writes.push(self.put(encode(&item)?, Guard::read_at(read))?);
            versions.push((false, key.clone(), version));
        }
        for incident in &merged.incidents {
            let item = self.case_item(
                INCIDENT,
                0,
                (&incident.principal, incident.severity, incident.last_seen),
                incident,
            );
            writes.push(self.put(encode(&item)?, Guard::None)?);
        }
        if writes.len() > TRANSACTION_ITEMS {
            return Err(StoreError::Rejected(format!(
                "event {} changes {} items, more than one transaction holds",
                anomaly.event_id,
                writes.len()
            )));
        }
        let sent = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await;
        match sent {
            Ok(_) => {
                for (is_finding, key, version) in versions {
                    if is_finding {
                        if let Some(state) = findings.remove(&key) {
                            cache.findings.insert(key, Versioned { version, state });
                        }
                    } else if let Some(state) = trails.remove(&key) {
                        cache.trails.insert(key, Versioned { version, state });
                    }
                }
                Ok(Attempt::Written(merged.recorded))
            }
            Err(error) => {
                let reasons: Vec<Option<String>> = match error.as_service_error() {
                    Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                        cancelled
                            .cancellation_reasons()
                            .iter()
                            .map(|reason| reason.code().map(str::to_string))
                            .collect()
                    }
                    _ => return Err(store_error(&error)),
                };
                let failed = |position: usize| {
                    reasons
                        .get(position)
                        .and_then(Option::as_deref)
                        .is_some_and(|code| code == "ConditionalCheckFailed")
                };
                if failed(0) {
                    return Ok(Attempt::AlreadyPresent);
                }
                if reasons.iter().any(|code| {
                    matches!(
                        code.as_deref(),
                        Some("ConditionalCheckFailed" | "TransactionConflict")
                    )
                }) {
                    // Another detector wrote first: forget what was read, read again.
                    for id in &finding_ids {
                        cache.findings.remove(id);
                    }
                    for key in &trail_keys {
                        cache.trails.remove(key);
                    }
                    return Ok(Attempt::Conflict);
                }
                Err(store_error(&error))
            }
        }
    }

    /// A finding or incident as stored: its state, and what the indexes list it by.
    fn case_item<'a, T: HasId>(
        &self,
        kind: &str,
        version: u64,
        (principal, severity, last_seen): (&str, Severity, DateTime<Utc>),
        state: &'a T,
    ) -> CaseItem<&'a T> {
        CaseItem {
            pk: state.id().to_string(),
            sk: kind.to_string(),
            version,
            list: kind.to_string(),
            severity_list: format!("{kind}#{severity}"),
            principal: principal.to_string(),
            last_seen: sort_time(last_seen),
            expires_at: (last_seen + self.retention.cases).timestamp(),
            state,
        }
    }

    fn anomaly_put(&self, anomaly: &Anomaly) -> Result<TransactWriteItem, StoreError> {
        let mut item = anomaly_item(anomaly)?;
        item.insert(
            "expires_at".to_string(),
            AttributeValue::N(
                (anomaly.event_time + self.retention.anomalies)
                    .timestamp()
                    .to_string(),
            ),
        );
        let put = Put::builder()
            .table_name(&self.anomalies_table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", "pk")
            .build()
            .map_err(|error| StoreError::Request(error.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A put into the cases table, under its guard.
    fn put(
        &self,
        item: HashMap<String, AttributeValue>,
        guard: Guard,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder()
            .table_name(&self.cases_table)
            .set_item(Some(item));
        match guard {
            Guard::None => {}
            Guard::Absent => {
                put = put
                    .condition_expression("attribute_not_exists(#pk)")
                    .expression_attribute_names("#pk", "pk");
            }
            Guard::AtVersion(version) => {
                put = put
                    .condition_expression("#version = :read")
                    .expression_attribute_names("#version", "version")
                    .expression_attribute_values(":read", AttributeValue::N(version.to_string()));
            }
        }
        let put = put
            .build()
            .map_err(|error| StoreError::Request(error.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    async fn case<T: for<'de> Deserialize<'de>>(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<Option<T>, StoreError> {
        let found = get_items(
            &self.client,
            &self.cases_table,
            vec![(pk.to_string(), sk.to_string())],
        )
        .await?;
        found
            .get(&(pk.to_string(), sk.to_string()))
            .map(|item| decode::<CaseItem<T>>(item, pk).map(|item| item.state))
            .transpose()
    }
}

/// What a put into the cases table must find there.
enum Guard {
    /// Nothing: an incident, derived from a trail whose own guard orders the writers.
    None,
    /// No item: one this detector found absent.
    Absent,
    /// The item at the version this detector read.
    AtVersion(u64),
}

impl Guard {
    /// The guard of an item read at `version` (`None`: it did not exist).
    fn read_at(version: Option<u64>) -> Guard {
        version.map_or(Guard::Absent, Guard::AtVersion)
    }
}

enum Attempt {
    Written(Recorded),
    AlreadyPresent,
    Conflict,
}

impl CaseStore for DynamoDbCaseStore {
    async fn record(
        &self,
        anomaly: &Anomaly,
        contributions: &[Contribution],
    ) -> Result<(PutOutcome, Recorded), StoreError> {
        let mut cache = self.cache.lock().await;
        for attempt in 1..=CONFLICT_ATTEMPTS {
            match self.try_record(&mut cache, anomaly, contributions).await? {
                Attempt::Written(recorded) => return Ok((PutOutcome::Inserted, recorded)),
                Attempt::AlreadyPresent => {
                    return Ok((PutOutcome::AlreadyPresent, Recorded::default()));
                }
                Attempt::Conflict => {
                    tracing::debug!(event_id = %anomaly.event_id, attempt, "findings changed meanwhile; merging again");
                    tokio::time::sleep(std::time::Duration::from_millis(10 * u64::from(attempt)))
                        .await;
                }
            }
        }
        Err(StoreError::Request(format!(
            "findings of event {} kept changing under {CONFLICT_ATTEMPTS} attempts",
            anomaly.event_id
        )))
    }

    async fn finding(&self, id: &str) -> Result<Option<Finding>, StoreError> {
        self.case(id, FINDING).await
    }

    async fn incident(&self, id: &str) -> Result<Option<Incident>, StoreError> {
        self.case(id, INCIDENT).await
    }
}

/// What names a finding or an incident.
trait HasId {
    fn id(&self) -> &str;
}

impl HasId for Finding {
    fn id(&self) -> &str {
        &self.id
    }
}

impl HasId for Incident {
    fn id(&self) -> &str {
        &self.id
    }
}

/// Where a page stopped: the index and the key of its last item, as DynamoDB names them.
#[derive(Serialize, Deserialize)]
struct Cursor {
    index: String,
    key: HashMap<String, String>,
}

impl Cursor {
    fn encode(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(self).unwrap_or_default())
    }

    fn decode(text: &str) -> Result<Cursor, QueryError> {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| bad_cursor())?;
        serde_json::from_slice(&bytes).map_err(|_| bad_cursor())
    }
}

impl DynamoDbCaseStore {
    /// Findings or incidents, newest first: a Query of `by-principal` when a principal is
    /// named, else of `by-last-seen`; the other filters are filter expressions, and pages are
    /// read until the page is full or the index ends.
    async fn list<T: for<'de> Deserialize<'de>>(
        &self,
        kind: &str,
        filter: &CaseFilter,
    ) -> Result<Page<T>, QueryError> {
        let (index, hash_name, hash_value) = match &filter.principal {
            Some(principal) => ("by-principal", "principal", principal.clone()),
            None => ("by-last-seen", "list", kind.to_string()),
        };
        let mut names: HashMap<String, String> = HashMap::from([
            ("#hash".to_string(), hash_name.to_string()),
            ("#last_seen".to_string(), "last_seen".to_string()),
        ]);
        let mut values: HashMap<String, AttributeValue> = HashMap::from([
            (":hash".to_string(), AttributeValue::S(hash_value)),
            (
                ":since".to_string(),
                AttributeValue::S(filter.since.map(sort_time).unwrap_or_else(|| "0".into())),
            ),
            (
                ":until".to_string(),
                AttributeValue::S(filter.until.map(sort_time).unwrap_or_else(|| "~".into())),
            ),
        ]);
        let mut conditions = vec!["#sk = :kind".to_string()];
        names.insert("#sk".into(), "sk".into());
        values.insert(":kind".into(), AttributeValue::S(kind.to_string()));
        if filter.min_severity.is_some() || filter.detection.is_some() || filter.status.is_some() {
            names.insert("#state".into(), "state".into());
        }
        if let Some(min) = filter.min_severity {
            names.insert("#severity".into(), "severity".into());
            let allowed: Vec<String> = [
                Severity::Low,
                Severity::Medium,
                Severity::High,
                Severity::Critical,
            ]
            .into_iter()
            .filter(|severity| *severity >= min)
            .enumerate()
            .map(|(n, severity)| {
                values.insert(
                    format!(":severity{n}"),
                    AttributeValue::S(severity.to_string()),
                );
                format!(":severity{n}")
            })
            .collect();
            conditions.push(format!("#state.#severity IN ({})", allowed.join(", ")));
        }
        if let Some(detection) = &filter.detection {
            names.insert("#detection".into(), "detection".into());
            names.insert("#id".into(), "id".into());
            values.insert(":detection".into(), AttributeValue::S(detection.clone()));
            conditions.push("#state.#detection.#id = :detection".into());
        }
        if let Some(status) = filter.status {
            names.insert("#status".into(), "status".into());
            values.insert(":status".into(), AttributeValue::S(status.to_string()));
            // Findings stored before statuses existed are open.
            conditions.push(if status == Status::Open {
                "(attribute_not_exists(#state.#status) OR #state.#status = :status)".into()
            } else {
                "#state.#status = :status".into()
            });
        }
        let mut start: Option<HashMap<String, AttributeValue>> = match &filter.after {
            None => None,
            Some(text) => {
                let cursor = Cursor::decode(text)?;
                if cursor.index != index {
                    return Err(bad_cursor());
                }
                Some(
                    cursor
                        .key
                        .into_iter()
                        .map(|(name, value)| (name, AttributeValue::S(value)))
                        .collect(),
                )
            }
        };
        let limit = filter.limit.max(1);
        let mut items: Vec<T> = Vec::new();
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.cases_table)
                .index_name(index)
                .key_condition_expression("#hash = :hash AND #last_seen BETWEEN :since AND :until")
                .filter_expression(conditions.join(" AND "))
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(false)
                .limit(i32::try_from(limit * 2).unwrap_or(200))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|error| QueryError::Store(store_error(&error)))?;
            let last_evaluated = output.last_evaluated_key.filter(|key| !key.is_empty());
            let found = output.items.unwrap_or_default();
            for (position, item) in found.iter().enumerate() {
                let pk = item
                    .get("pk")
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                let decoded: CaseItem<T> = decode(item, &pk)?;
                items.push(decoded.state);
                if items.len() == limit {
                    // Full: the next page starts after this item, unless nothing follows it.
                    let more = position + 1 < found.len() || last_evaluated.is_some();
                    let next = more.then(|| {
                        Cursor {
                            index: index.to_string(),
                            key: [("pk", &pk), ("sk", &kind.to_string())]
                                .into_iter()
                                .map(|(name, value)| (name.to_string(), value.clone()))
                                .chain([hash_name, "last_seen"].into_iter().filter_map(|name| {
                                    item.get(name)
                                        .and_then(|value| value.as_s().ok())
                                        .map(|value| (name.to_string(), value.clone()))
                                }))
                                .collect(),
                        }
                        .encode()
                    });
                    return Ok(Page { items, next });
                }
            }
            match last_evaluated {
                Some(key) => start = Some(key),
                None => return Ok(Page { items, next: None }),
            }
        }
    }
}

impl CaseQueries for DynamoDbCaseStore {
    async fn findings(&self, filter: &CaseFilter) -> Result<Page<Finding>, QueryError> {
        self.list(FINDING, filter).await
    }

    async fn incidents(&self, filter: &CaseFilter) -> Result<Page<Incident>, QueryError> {
        // Detection and status say nothing of incidents.
        let filter = CaseFilter {
            detection: None,
            status: None,
            ..filter.clone()
        };
        self.list(INCIDENT, &filter).await
    }

    async fn set_status(
        &self,
        id: &str,
        change: &StatusChange,
    ) -> Result<Option<Finding>, StoreError> {
        let change_value = serde_dynamo::to_attribute_value(change)
            .map_err(|error| StoreError::Rejected(format!("cannot encode the change: {error}")))?;
        // The version moves too, so a detector holding the finding merges into this state.
        let result = self
            .client
            .update_item()
            .table_name(&self.cases_table)
            .key("pk", AttributeValue::S(id.to_string()))
            .key("sk", AttributeValue::S(FINDING.to_string()))
            .update_expression(
                "SET #state.#status = :status, #state.#change = :change ADD #version :one",
            )
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#change", "status_change")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":status", AttributeValue::S(change.status.to_string()))
            .expression_attribute_values(":change", change_value)
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => output
                .attributes
                .map(|item| decode::<CaseItem<Finding>>(&item, id).map(|item| item.state))
                .transpose(),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|service| service.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(error) => Err(store_error(&error)),
        }
    }
}

fn trail_pk(key: &str) -> String {
    format!("T#{key}")
}

/// A time that sorts as text: RFC 3339, UTC, milliseconds.
fn sort_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn encode<T: Serialize>(item: &T) -> Result<HashMap<String, AttributeValue>, StoreError> {
    serde_dynamo::to_item(item)
        .map_err(|error| StoreError::Rejected(format!("cannot encode a case item: {error}")))
}

fn decode<T: for<'de> Deserialize<'de>>(
    item: &HashMap<String, AttributeValue>,
    pk: &str,
) -> Result<T, StoreError> {
    serde_dynamo::from_item(item.clone())
        .map_err(|error| StoreError::Corrupt(format!("{pk}: {error}")))
}

/// A cases-table item as its change stream shows it (`NewImage`, `OldImage`): the finding or
/// incident it holds; `None` for an empty image (an item new or removed) and for a trail.
pub fn case_from_image(
    image: serde_dynamo::Item,
) -> Result<Option<crate::alert::Case>, StoreError> {
    use crate::alert::Case;
    let image: HashMap<String, AttributeValue> = image.into();
    let text = |name: &str| match image.get(name) {
        Some(AttributeValue::S(value)) => Some(value.clone()),
        _ => None,
    };
    let pk = text("pk").unwrap_or_default();
    match text("sk").as_deref() {
        Some(FINDING) => {
            let item: CaseItem<Finding> = decode(&image, &pk)?;
            Ok(Some(Case::Finding(Box::new(item.state))))
        }
        Some(INCIDENT) => {
            let item: CaseItem<Incident> = decode(&image, &pk)?;
            Ok(Some(Case::Incident(Box::new(item.state))))
        }
        _ => Ok(None),
    }
}
