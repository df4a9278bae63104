//! Per-principal profiles in DynamoDB, one item per remembered value, so that two detectors
//! racing on the same new value report it exactly once.
//!
//! Items (table key `pk`, `sk`; TTL attribute `expires_at`):
//! - `P#<principal>` / `PROFILE`: first event (time and id) and the event count;
//! - `P#<principal>` / `SEEN#<kind>#<value>`: the event that first showed the value;
//! - `P#<principal>` / `HOUR#<hour>`: calls in that hour;
//! - `P#<principal>` / `DENIED#<time>#<event id>`: one access-denied error (kept a day);
//! - `P#<principal>` / `REPORTED#<kind>#<window>`: the event that reports a burst or spike;
//! - `A#<account>` / `ACCOUNT`: the account's first event;
//! - `T#<rule>#<group>` / `MIN#<minute>`: a threshold rule's calls (`calls`) or distinct
//!   values (`values`, a string set) of one group in one minute (kept a day past its window);
//! - `T#<rule>#<group>` / `REPORTED#threshold#<window>`: the event that reports it.
//!
//! First-seen writes are one `UpdateItem` that sets `first_event` only if absent and returns
//! the old value: the caller that finds it absent (or holding its own event id, on a retry)
//! owns the news. Every write refreshes `expires_at`, so values stop being remembered
//! `state_ttl` after they were last seen. A warm detector caches what it read or wrote and
//! calls DynamoDB only for values it has not met: one `BatchGetItem` for all of an event's
//! values, then an `UpdateItem` only for those absent (the race for the news) or not
//! refreshed for a day (their expiry). Calls per hour and the event count are added up in
//! memory and written once a batch by [`ProfileStore::flush`]: one atomic `ADD` per principal
//! and hour, whose answer is the hour's count across every detector. The event count only
//! tells whether a principal is still learning, so once the table's count reaches
//! `learning_min_events` it is written once a day (its expiry), not once a batch; past the
//! minimum it undercounts, which changes nothing it decides. Until then an hour's
//! count is what the table said when read plus this instance's calls since: the current
//! hour is read again at a principal's first event of each batch (in the same `BatchGetItem`
//! as its unmet values), and the hours when its hour turns. So detectors taking batches in
//! turn count exactly as one does (and as `scan` does); two batches of one principal at the
//! same moment see each other's calls a batch later. One write per principal and batch
//! instead of one per event, and a read a fifth of a write's price.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnValue, Select};
use chrono::{DateTime, Utc};
use futures_util::future::try_join_all;
use futures_util::stream::{self, StreamExt};
use tokio::sync::Mutex;

use super::store_error;
use crate::baseline::tally::{self, Minute};
use crate::baseline::{
    BaselineConfig, Features, Kind, Observation, Report, Tallied, Tally, denied_report_window,
    hour_of, is_volume_spike, typical_hour,
};
use crate::ports::{ProfileStore, StoreError};

/// Principals a warm detector keeps in memory before starting afresh.
const CACHED_PRINCIPALS: usize = 10_000;
/// Report markers a warm detector remembers before starting afresh.
const CACHED_VALUES: usize = 20_000;
/// DynamoDB allows sort keys of 1,024 bytes; long values (ARNs) are cut well below that.
const MAX_VALUE_BYTES: usize = 900;

/// What a warm detector's cache of remembered values may hold, about: forgetting costs only
/// calls, never correctness (the table decides what is new).
pub const DEFAULT_CACHE_BYTES: usize = 64 * 1024 * 1024;

pub struct DynamoDbProfileStore {
    client: Client,
    table: String,
    cache: Mutex<Cache>,
    max_cache_bytes: usize,
}

#[derive(Default)]
struct Cache {
    /// The configuration of the last observation, for the expiry of flushed counts.
    config: Option<BaselineConfig>,
    principals: HashMap<String, Principal>,
    /// Account → its first event's time.
    accounts: HashMap<String, DateTime<Utc>>,
    /// (principal key, kind, window) → the event that reports it.
    reports: HashMap<(String, Report, i64), String>,
    /// About how many bytes the remembered values take.
    seen_bytes: usize,
    /// Threshold counts by item key (`T#<rule>#<group>`).
    tallies: HashMap<String, TallyCounts>,
    /// About how many bytes the threshold counts' distinct values take.
    tally_bytes: usize,
}

/// A threshold rule's per-minute counts for one group, as read.
struct TallyCounts {
    minutes: BTreeMap<i64, Minute>,
    /// The minute whose earlier minutes `minutes` was read for.
    read_for: i64,
}

struct Principal {
    first_seen: DateTime<Utc>,
    first_event: String,
    events: u64,
    pending_events: u64,
    /// The event count as the table had it at the last read or `ADD`.
    events_stored: u64,
    /// When this instance last wrote the profile item (its expiry with it).
    profile_written: DateTime<Utc>,
    /// Calls per hour: as the table said at the last read or `ADD`, plus `pending_hours`.
    hours: BTreeMap<i64, u64>,
    /// Calls counted in `hours` and not yet added to the table.
    pending_hours: BTreeMap<i64, u64>,
    /// Whether the current hour's count was read or written since the last flush: once a
    /// batch it is read again, with other detectors' calls.
    hour_fresh: bool,
    /// The hour whose earlier hours `hours` was read for.
    hours_read_for: i64,
    /// Values known to the profile → the event that first showed them.
    seen: HashMap<(Kind, String), String>,
}

type Items = HashMap<(String, String), HashMap<String, AttributeValue>>;

impl Principal {
    /// An hour's count as read (absent: none), plus this instance's calls not yet written.
    fn set_hour_as_read(&mut self, read: &Items, pk: &str, hour: i64) {
        let stored = read
            .get(&(pk.to_string(), hour_key(hour)))
            .and_then(|item| number(item, "calls"))
            .unwrap_or(0);
        match stored + self.pending_hours.get(&hour).unwrap_or(&0) {
            0 => self.hours.remove(&hour),
            calls => self.hours.insert(hour, calls),
        };
    }
}

impl DynamoDbProfileStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            cache: Mutex::new(Cache::default()),
            max_cache_bytes: DEFAULT_CACHE_BYTES,
        }
    }

    /// The same store with its cache of remembered values bounded to about `bytes`.
    pub fn with_cache_limit(mut self, bytes: usize) -> Self {
        self.max_cache_bytes = bytes;
        self
    }

    /// About how many bytes the cache of remembered values takes now.
    pub async fn cached_bytes(&self) -> usize {
        self.cache.lock().await.seen_bytes
    }

    fn expires_at(at: DateTime<Utc>, config: &BaselineConfig) -> AttributeValue {
        // Never in the past, or DynamoDB may delete what was just written.
        let expiry = at.max(Utc::now()) + config.state_ttl;
        AttributeValue::N(expiry.timestamp().to_string())
    }

    /// Sets `first_seen`/`first_event` on an item unless present; returns the old ones.
    async fn claim_first(
        &self,
        pk: String,
        sk: String,
        event_id: &str,
        at: DateTime<Utc>,
        config: &BaselineConfig,
    ) -> Result<Option<(DateTime<Utc>, String, u64)>, StoreError> {
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.clone()))
            .key("sk", AttributeValue::S(sk.clone()))
            .update_expression(
                "SET first_seen = if_not_exists(first_seen, :at), \
                 first_event = if_not_exists(first_event, :event), \
                 last_seen = :at, expires_at = :expires",
            )
            .expression_attribute_values(":at", AttributeValue::S(at.to_rfc3339()))
            .expression_attribute_values(":event", AttributeValue::S(event_id.to_string()))
            .expression_attribute_values(":expires", Self::expires_at(at, config))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|error| store_error(&error))?;
        let Some(old) = output.attributes else {
            return Ok(None);
        };
        let first_seen = text(&old, "first_seen").and_then(|time| parse_time(&time));
        let first_event = text(&old, "first_event");
        let events = number(&old, "events").unwrap_or(0);
        if first_seen.is_some_and(|first| at < first) {
            // An event older than any seen before (S3 minutes behind EventBridge, a
            // backfill): the item keeps the earliest event time.
            lower_first_seen(&self.client, &self.table, &pk, &sk, at).await?;
        }
        Ok(first_seen
            .zip(first_event)
            .map(|(seen, event)| (seen, event, events)))
    }

    async fn load_principal(
        &self,
        features: &Features,
        at: DateTime<Utc>,
        config: &BaselineConfig,
    ) -> Result<Principal, StoreError> {
        let pk = principal_key(&features.principal);
        let hour = hour_of(at);
        // Two independent calls: one round trip instead of two for every new principal.
        let (old, hours) = tokio::try_join!(
            self.claim_first(pk.clone(), "PROFILE".into(), &features.event_id, at, config),
            self.read_hours(&pk, hour, config),
        )?;
        let (first_seen, first_event, events) =
            old.unwrap_or_else(|| (at, features.event_id.clone(), 0));
        Ok(Principal {
            first_seen,
            first_event,
            events,
            pending_events: 0,
            events_stored: events,
            profile_written: Utc::now(),
            hours,
            pending_hours: BTreeMap::new(),
            hour_fresh: true,
            hours_read_for: hour,
            seen: HashMap::new(),
        })
    }

    /// The principal's calls per hour over the history window ending with `hour`.
    async fn read_hours(
        &self,
        pk: &str,
        hour: i64,
        config: &BaselineConfig,
    ) -> Result<BTreeMap<i64, u64>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_string()))
            .expression_attribute_values(
                ":from",
                AttributeValue::S(hour_key(hour - config.volume_history_hours)),
            )
            .expression_attribute_values(":to", AttributeValue::S(hour_key(hour)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| store_error(&error))?;
        Ok(output
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|item| {
                let hour = text(item, "sk")?.strip_prefix("HOUR#")?.parse().ok()?;
                Some((hour, number(item, "calls")?))
            })
            .collect())
    }

    async fn account_first_seen(
        &self,
        cache: &mut Cache,
        account: &str,
        features: &Features,
        at: DateTime<Utc>,
        config: &BaselineConfig,
    ) -> Result<DateTime<Utc>, StoreError> {
        if let Some(first) = cache.accounts.get(account).copied() {
            if at < first {
                lower_first_seen(
                    &self.client,
                    &self.table,
                    &format!("A#{account}"),
                    "ACCOUNT",
                    at,
                )
                .await?;
                cache.accounts.insert(account.to_string(), at);
            }
            return Ok(first);
        }
        let old = self
            .claim_first(
                format!("A#{account}"),
                "ACCOUNT".into(),
                &features.event_id,
                at,
                config,
            )
            .await?;
        let first = old.map_or(at, |(first, _, _)| first);
        cache.accounts.insert(account.to_string(), first);
        Ok(first)
    }
}

impl ProfileStore for DynamoDbProfileStore {
    async fn observe(
        &self,
        features: &Features,
        at: DateTime<Utc>,
        config: &BaselineConfig,
    ) -> Result<Observation, StoreError> {
        let mut cache = self.cache.lock().await;
        if !features.learns {
            return self.peek(&cache, features, at).await;
        }
        if cache.config.as_ref() != Some(config) {
            cache.config = Some(config.clone());
        }
        let mut observation = Observation::default();
        if let Some(account) = &features.account {
            let first = self
                .account_first_seen(&mut cache, account, features, at, config)
                .await?;
            observation.account_first_seen = (first < at).then_some(first);
        }
        if !cache.principals.contains_key(&features.principal) {
            let principal = self.load_principal(features, at, config).await?;
            cache
                .principals
                .insert(features.principal.clone(), principal);
        }
        let pk = principal_key(&features.principal);
        let Some(principal) = cache.principals.get_mut(&features.principal) else {
            return Err(StoreError::Request("profile cache lost an entry".into()));
        };

        observation.first_seen =
            (principal.first_event != features.event_id).then_some(principal.first_seen);
        if at < principal.first_seen {
            lower_first_seen(&self.client, &self.table, &pk, "PROFILE", at).await?;
            principal.first_seen = at;
        }
        observation.events_before = principal.events;
        principal.events += 1;
        principal.pending_events += 1;

        // The values this instance has not met, read in one call: most are known already
        // and need no write. With them, once a batch, the hour's count as the table has it
        // (other detectors' calls since this one's last flush).
        let hour = hour_of(at);
        let refresh_hour = !principal.hour_fresh && hour <= principal.hours_read_for;
        let uncached: Vec<(usize, String)> = features
            .values
            .iter()
            .enumerate()
            .filter(|(_, (kind, value))| !principal.seen.contains_key(&(*kind, value.clone())))
            .map(|(position, (kind, value))| (position, seen_key(*kind, value)))
            .collect();
        let mut unread: Vec<(String, String)> = uncached
            .iter()
            .map(|(_, sk)| (pk.clone(), sk.clone()))
            .collect();
        if refresh_hour {
            unread.push((pk.clone(), hour_key(hour)));
        }
        let stored = get_items(&self.client, &self.table, unread).await?;
        if refresh_hour {
            principal.set_hour_as_read(&stored, &pk, hour);
            principal.hour_fresh = true;
        }
        // Each value not cached: its first event as the table holds it, or, when absent or
        // due a refresh, a claim. Each claim is its own item's race, so they are made all at
        // once, not one after another (a new principal has several).
        let mut resolved: Vec<Option<String>> = vec![None; features.values.len()];
        let mut to_claim = Vec::new();
        for (position, sk) in uncached {
            match stored
                .get(&(pk.clone(), sk.clone()))
                .and_then(|item| still_fresh(item, at))
            {
                Some(first_event) => resolved[position] = Some(first_event),
                // An event may name one asset twice: one claim, and its answer is cached for
                // the second by the time the second is met below.
                None if to_claim.iter().any(|(_, claiming)| *claiming == sk) => {}
                None => to_claim.push((position, sk)),
            }
        }
        let claims = try_join_all(to_claim.iter().map(|(_, sk)| {
            self.claim_first(pk.clone(), sk.clone(), &features.event_id, at, config)
        }))
        .await?;
        for ((position, _), old) in to_claim.into_iter().zip(claims) {
            resolved[position] =
                Some(old.map_or_else(|| features.event_id.clone(), |(_, event, _)| event));
        }
        let mut added_bytes = 0;
        for ((kind, value), resolved) in features.values.iter().zip(resolved) {
            let key = (*kind, value.clone());
            let first_event = match resolved {
                Some(first_event) => {
                    if principal.seen.insert(key, first_event.clone()).is_none() {
                        added_bytes += cached_entry_bytes(value, &first_event);
                    }
                    first_event
                }
                None => principal.seen.get(&key).cloned().ok_or_else(|| {
                    StoreError::Request("a cached value was lost from the cache".into())
                })?,
            };
            if first_event == features.event_id {
                observation.new_values.push((*kind, value.clone()));
            }
        }

        if hour > principal.hours_read_for {
            // Other detectors may have counted calls since the last read: once the hour
            // turns, read the hours from then on, the new one included, by key (a query
            // would read them all).
            let since = principal
                .hours_read_for
                .max(hour - config.volume_history_hours);
            let keys = (since..=hour).map(|earlier| (pk.clone(), hour_key(earlier)));
            let counted = get_items(&self.client, &self.table, keys.collect()).await?;
            for earlier in since..=hour {
                principal.set_hour_as_read(&counted, &pk, earlier);
            }
            principal
                .hours
                .retain(|kept, _| *kept >= hour - config.volume_history_hours);
            principal.hours_read_for = hour;
            principal.hour_fresh = true;
        }
        observation.typical_hour = typical_hour(&principal.hours, hour, config);
        let calls = principal.hours.entry(hour).or_insert(0);
        *calls += 1;
        observation.hour_count = *calls;
        *principal.pending_hours.entry(hour).or_insert(0) += 1;
        let cache = &mut *cache;
        cache.seen_bytes += added_bytes;
        if cache.seen_bytes > self.max_cache_bytes {
            // Bounded in bytes, not entries: start afresh, keeping counts not yet written.
            for principal in cache.principals.values_mut() {
                principal.seen.clear();
            }
            cache.reports.clear();
            cache.seen_bytes = 0;
        }

        if is_volume_spike(observation.hour_count, observation.typical_hour, config) {
            observation.volume_spike = self
                .claim_report(
                    &mut cache.reports,
                    &pk,
                    (Report::VolumeSpike, hour_of(at)),
                    &features.event_id,
                    at,
                    config,
                )
                .await?;
        }

        if features.denied {
            // Denied calls are rare, so each is written as an item of its own, keyed by its
            // time and event id: a redelivered event writes the same item again, and the
            // window's count is a query of the items in it, the same sliding window in every
            // detector and in `scan`.
            let count = self.record_denied(&pk, features, at, config).await?;
            observation.denied_in_window = u32::try_from(count).unwrap_or(u32::MAX);
            if count >= u64::from(config.denied_burst) {
                observation.denied_burst = self
                    .claim_report(
                        &mut cache.reports,
                        &pk,
                        (Report::DeniedBurst, denied_report_window(at, config)),
                        &features.event_id,
                        at,
                        config,
                    )
                    .await?;
            }
        }
        Ok(observation)
    }

    async fn tally(
        &self,
        tally: &Tally,
        at: DateTime<Utc>,
        config: &BaselineConfig,
    ) -> Result<Tallied, StoreError> {
        let mut guard = self.cache.lock().await;
        let cache = &mut *guard;
        let pk = cut(&format!("T#{}#{}", tally.rule, tally.group)).to_string();
        let minute = tally::minute_of(at);
        let start = tally::window_start(minute, tally.within_minutes);
        // Bounded in groups and in bytes: forgetting costs only reads (the table counts).
        if (cache.tallies.len() >= CACHED_PRINCIPALS && !cache.tallies.contains_key(&pk))
            || cache.tally_bytes > self.max_cache_bytes / 4
        {
            cache.tallies.clear();
            cache.tally_bytes = 0;
        }
        let mut added = 0;
        let mut dropped = 0;
        let counts = cache
            .tallies
            .entry(pk.clone())
            .or_insert_with(|| TallyCounts {
                minutes: BTreeMap::new(),
                read_for: i64::MIN,
            });
        // Other detectors may have counted since the last read: the window's earlier
        // minutes are read again when the minute turns (a late event reads its own window).
        let stale_from = if minute >= counts.read_for {
            counts.read_for.max(start)
        } else {
            start
        };
        if stale_from < minute {
            let read = get_items(
                &self.client,
                &self.table,
                (stale_from..minute)
                    .map(|earlier| (pk.clone(), minute_key(earlier)))
                    .collect(),
            )
            .await?;
            for earlier in stale_from..minute {
                let replaced = match read.get(&(pk.clone(), minute_key(earlier))) {
                    Some(item) => {
                        let read = minute_counts(item);
                        added += minute_bytes(&read);
                        counts.minutes.insert(earlier, read)
                    }
                    None => counts.minutes.remove(&earlier),
                };
                dropped += replaced.as_ref().map_or(0, minute_bytes);
            }
        }
        counts.read_for = counts.read_for.max(minute);

        let expires = kept_past(at, chrono::Duration::minutes(tally.within_minutes));
        let (current, full) = self.add_to_minute(&pk, minute, tally, expires).await?;
        if !full {
            added += minute_bytes(&current);
            dropped += counts
                .minutes
                .insert(minute, current)
                .as_ref()
                .map_or(0, minute_bytes);
        }
        let count = tally::count_in_window(&counts.minutes, tally, minute, full);
        let keep_from = tally::window_start(counts.read_for, tally.within_minutes);
        counts.minutes.retain(|kept, counts| {
            let keep = *kept >= keep_from;
            if !keep {
                dropped += minute_bytes(counts);
            }
            keep
        });
        cache.tally_bytes = (cache.tally_bytes + added).saturating_sub(dropped);
        let reports = count >= tally.at_least
            && self
                .claim_report(
                    &mut cache.reports,
                    &pk,
                    (
                        Report::Threshold,
                        tally::report_window(at, tally.within_minutes),
                    ),
                    &tally.event_id,
                    at,
                    config,
                )
                .await?;
        Ok(Tallied { count, reports })
    }

    async fn flush(&self) -> Result<(), StoreError> {
        let mut cache = self.cache.lock().await;
        let config = cache.config.clone().unwrap_or_default();
        let now = Utc::now();
        let expires = Self::expires_at(now, &config);
        // What to add, taken out of the cache: every counter is an item of its own, so the
        // adds are made FLUSH_IN_FLIGHT at a time rather than one after another (a batch of
        // new principals has thousands). What fails goes back, to be added next time.
        let mut adds: Vec<(String, Counter, u64)> = Vec::new();
        for (name, principal) in cache.principals.iter_mut() {
            // The event count decides only whether a principal is still learning: once the
            // table's count has reached the minimum, it is written once a day, for its
            // expiry, not once a batch.
            let still_counting = principal.events_stored < config.learning_min_events;
            let expiry_due = now - principal.profile_written >= REFRESH_AFTER;
            if principal.pending_events > 0 && (still_counting || expiry_due) {
                adds.push((name.clone(), Counter::Events, principal.pending_events));
                principal.pending_events = 0;
            }
            principal.hour_fresh = false;
            while let Some((hour, calls)) = principal.pending_hours.pop_first() {
                adds.push((name.clone(), Counter::Hour(hour), calls));
            }
        }
        let expires = &expires;
        let mut results = stream::iter(adds)
            .map(|(name, counter, amount)| async move {
                let pk = principal_key(&name);
                let added = match counter {
                    Counter::Events => self.add(&pk, "PROFILE", "events", amount, expires).await,
                    Counter::Hour(hour) => {
                        self.add(&pk, &hour_key(hour), "calls", amount, expires)
                            .await
                    }
                };
                (name, counter, amount, added)
            })
            .buffer_unordered(FLUSH_IN_FLIGHT);
        let mut failed = None;
        while let Some((name, counter, amount, added)) = results.next().await {
            let Some(principal) = cache.principals.get_mut(&name) else {
                continue;
            };
            match (counter, added) {
                (Counter::Events, Ok(total)) => {
                    principal.events_stored = total;
                    principal.profile_written = now;
                }
                // The table's count now, other detectors' calls included.
                (Counter::Hour(hour), Ok(total)) => {
                    if hour >= principal.hours_read_for - config.volume_history_hours {
                        principal.hours.insert(hour, total);
                    }
                }
                (Counter::Events, Err(error)) => {
                    principal.pending_events += amount;
                    failed.get_or_insert(error);
                }
                (Counter::Hour(hour), Err(error)) => {
                    *principal.pending_hours.entry(hour).or_insert(0) += amount;
                    failed.get_or_insert(error);
                }
            }
        }
        if let Some(error) = failed {
            return Err(error);
        }
        if cache.principals.len() > CACHED_PRINCIPALS {
            cache.principals.clear();
            cache.accounts.clear();
            cache.seen_bytes = 0;
        }
        Ok(())
    }
}

impl DynamoDbProfileStore {
    /// What the table knows of an event that teaches it nothing: reads only, in one call
    /// for what this instance has not met.
    async fn peek(
        &self,
        cache: &Cache,
        features: &Features,
        at: DateTime<Utc>,
    ) -> Result<Observation, StoreError> {
        let pk = principal_key(&features.principal);
        let cached = cache.principals.get(&features.principal);
        let account = features
            .account
            .as_ref()
            .map(|account| (account, cache.accounts.get(account).copied()));
        let mut keys = Vec::new();
        if let Some((account, None)) = account {
            keys.push((format!("A#{account}"), "ACCOUNT".to_string()));
        }
        if cached.is_none() {
            keys.push((pk.clone(), "PROFILE".to_string()));
        }
        for (kind, value) in &features.values {
            if !cached.is_some_and(|principal| principal.seen.contains_key(&(*kind, value.clone())))
            {
                keys.push((pk.clone(), seen_key(*kind, value)));
            }
        }
        let stored = get_items(&self.client, &self.table, keys).await?;
        let first_seen_of = |pk: String, sk: &str| {
            stored
                .get(&(pk, sk.to_string()))
                .and_then(|item| text(item, "first_seen"))
                .and_then(|time| parse_time(&time))
        };

        let mut observation = Observation::default();
        if let Some((account, cached_first)) = account {
            let first = cached_first.or_else(|| first_seen_of(format!("A#{account}"), "ACCOUNT"));
            observation.account_first_seen = first.filter(|first| *first < at);
        }
        match cached {
            Some(principal) => {
                observation.first_seen = Some(principal.first_seen);
                observation.events_before = principal.events;
            }
            None => {
                observation.first_seen = first_seen_of(pk.clone(), "PROFILE");
                observation.events_before = stored
                    .get(&(pk.clone(), "PROFILE".to_string()))
                    .and_then(|item| number(item, "events"))
                    .unwrap_or(0);
            }
        }
        for (kind, value) in &features.values {
            let known = cached
                .is_some_and(|principal| principal.seen.contains_key(&(*kind, value.clone())))
                || stored.contains_key(&(pk.clone(), seen_key(*kind, value)));
            if !known {
                observation.new_values.push((*kind, value.clone()));
            }
        }
        Ok(observation)
    }

    /// Writes a denied call as its own item; returns the denied calls in the window ending
    /// with it.
    async fn record_denied(
        &self,
        pk: &str,
        features: &Features,
        at: DateTime<Utc>,
        config: &BaselineConfig,
    ) -> Result<u64, StoreError> {
        let expires = kept_past(at, config.denied_window);
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(pk.to_string()))
            .item(
                "sk",
                AttributeValue::S(format!("DENIED#{}#{}", denied_time(at), features.event_id)),
            )
            .item("expires_at", AttributeValue::N(expires.to_string()))
            .send()
            .await
            .map_err(|error| store_error(&error))?;
        let mut count = 0;
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                .expression_attribute_values(":pk", AttributeValue::S(pk.to_string()))
                .expression_attribute_values(
                    ":from",
                    AttributeValue::S(format!("DENIED#{}", denied_time(at - config.denied_window))),
                )
                // Every event id of the last instant sorts below U+10FFFF.
                .expression_attribute_values(
                    ":to",
                    AttributeValue::S(format!("DENIED#{}#\u{10FFFF}", denied_time(at))),
                )
                .select(Select::Count)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|error| store_error(&error))?;
            count += u64::try_from(output.count).unwrap_or(0);
            match output.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(count),
            }
        }
    }

    /// Whether this event reports a window: the first to claim its marker, or the one that
    /// did (a retry). A warm instance remembers the owners it has learned.
    async fn claim_report(
        &self,
        reports: &mut HashMap<(String, Report, i64), String>,
        pk: &str,
        (kind, window): (Report, i64),
        event_id: &str,
        at: DateTime<Utc>,
        config: &BaselineConfig,
    ) -> Result<bool, StoreError> {
        let key = (pk.to_string(), kind, window);
        if let Some(owner) = reports.get(&key) {
            return Ok(owner == event_id);
        }
        if kind.continues_across_windows() {
            let previous = self.report_owner(reports, pk, kind, window - 1).await?;
            if previous.is_some_and(|owner| owner != event_id) {
                return Ok(false);
            }
        }
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.to_string()))
            .key("sk", AttributeValue::S(report_key(kind, window)))
            .update_expression("SET #owner = if_not_exists(#owner, :event), expires_at = :expires")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":event", AttributeValue::S(event_id.to_string()))
            .expression_attribute_values(":expires", Self::expires_at(at, config))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|error| store_error(&error))?;
        let owner = output
            .attributes
            .as_ref()
            .and_then(|item| text(item, "owner"))
            .unwrap_or_default();
        if reports.len() >= CACHED_VALUES {
            reports.clear();
        }
        let reported = owner == event_id;
        reports.insert(key, owner);
        Ok(reported)
    }

    /// Who reports a window, if anyone does yet.
    async fn report_owner(
        &self,
        reports: &mut HashMap<(String, Report, i64), String>,
        pk: &str,
        kind: Report,
        window: i64,
    ) -> Result<Option<String>, StoreError> {
        let key = (pk.to_string(), kind, window);
        if let Some(owner) = reports.get(&key) {
            return Ok(Some(owner.clone()));
        }
        let owner = get_item(&self.client, &self.table, pk, &report_key(kind, window))
            .await?
            .and_then(|item| text(&item, "owner"));
        if let Some(owner) = &owner {
            reports.insert(key, owner.clone());
        }
        Ok(owner)
    }

    /// Counts an event in its minute's item: one atomic `ADD` to the calls, or of the value
    /// to the set (a set stops at the threshold, which keeps the item small). Returns the
    /// minute's counts across every detector, and whether the set was full already.
    async fn add_to_minute(
        &self,
        pk: &str,
        minute: i64,
        tally: &Tally,
        expires: i64,
    ) -> Result<(Minute, bool), StoreError> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.to_string()))
            .key("sk", AttributeValue::S(minute_key(minute)))
            .expression_attribute_values(":expires", AttributeValue::N(expires.to_string()))
            .return_values(ReturnValue::UpdatedNew);
        let request = match &tally.value {
            None => request
                .update_expression("ADD calls :one SET expires_at = :expires")
                .expression_attribute_values(":one", AttributeValue::N("1".into())),
            Some(value) => request
                .update_expression("ADD #values :value SET expires_at = :expires")
                .condition_expression("attribute_not_exists(#values) OR size(#values) < :cap")
                .expression_attribute_names("#values", "values")
                .expression_attribute_values(":value", AttributeValue::Ss(vec![cut(value).into()]))
                .expression_attribute_values(":cap", AttributeValue::N(tally.at_least.to_string())),
        };
        match request.send().await {
            Ok(output) => Ok((
                output
                    .attributes
                    .as_ref()
                    .map(minute_counts)
                    .unwrap_or_default(),
                false,
            )),
            Err(error) if condition_failed(&error) => Ok((Minute::default(), true)),
            Err(error) => Err(store_error(&error)),
        }
    }

    /// Adds to a counter; returns its new value.
    async fn add(
        &self,
        pk: &str,
        sk: &str,
        counter: &str,
        amount: u64,
        expires: &AttributeValue,
    ) -> Result<u64, StoreError> {
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.to_string()))
            .key("sk", AttributeValue::S(sk.to_string()))
            .update_expression("ADD #counter :amount SET expires_at = :expires")
            .expression_attribute_names("#counter", counter)
            .expression_attribute_values(":amount", AttributeValue::N(amount.to_string()))
            .expression_attribute_values(":expires", expires.clone())
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|error| store_error(&error))?;
        Ok(output
            .attributes
            .as_ref()
            .and_then(|attributes| number(attributes, counter))
            .unwrap_or(amount))
    }
}

/// The counter adds a flush has in flight at once.
const FLUSH_IN_FLIGHT: usize = 32;

/// A principal's counter that a flush adds to.
#[derive(Debug, Clone, Copy)]
enum Counter {
    /// Its event count (the profile item).
    Events,
    /// Its calls in an hour.
    Hour(i64),
}

/// How long a remembered value may go without a write before one refreshes its expiry.
const REFRESH_AFTER: chrono::Duration = chrono::Duration::days(1);
/// `BatchGetItem` takes at most 100 keys a call.
const BATCH_GET_KEYS: usize = 100;
/// Calls made for the keys DynamoDB leaves unprocessed (throttling) before giving up.
const BATCH_GET_ATTEMPTS: usize = 4;

/// The first event of a stored value, if the item needs no write: refreshed within a day
/// (so its expiry is far off) and not later than `at` (an older event lowers `first_seen`).
fn still_fresh(item: &HashMap<String, AttributeValue>, at: DateTime<Utc>) -> Option<String> {
    let first_seen = text(item, "first_seen").and_then(|time| parse_time(&time))?;
    let last_seen = text(item, "last_seen").and_then(|time| parse_time(&time))?;
    (first_seen <= at && last_seen >= at - REFRESH_AFTER)
        .then(|| text(item, "first_event"))
        .flatten()
}

/// Items of the table by (pk, sk), read consistently, in as few `BatchGetItem` calls as the
/// keys allow; absent items are absent from the answer.
pub(crate) async fn get_items(
    client: &Client,
    table: &str,
    keys: Vec<(String, String)>,
) -> Result<HashMap<(String, String), HashMap<String, AttributeValue>>, StoreError> {
    let mut found = HashMap::new();
    let mut keys = keys;
    keys.sort();
    keys.dedup();
    for chunk in keys.chunks(BATCH_GET_KEYS) {
        let mut pending: Vec<HashMap<String, AttributeValue>> = chunk
            .iter()
            .map(|(pk, sk)| {
                HashMap::from([
                    ("pk".to_string(), AttributeValue::S(pk.clone())),
                    ("sk".to_string(), AttributeValue::S(sk.clone())),
                ])
            })
            .collect();
        for attempt in 1..=BATCH_GET_ATTEMPTS {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(pending))
                .consistent_read(true)
                .build()
                .map_err(|error| StoreError::Request(error.to_string()))?;
            let output = client
                .batch_get_item()
                .request_items(table, request)
                .send()
                .await
                .map_err(|error| store_error(&error))?;
            for item in output
                .responses
                .and_then(|mut responses| responses.remove(table))
                .unwrap_or_default()
            {
                if let (Some(pk), Some(sk)) = (text(&item, "pk"), text(&item, "sk")) {
                    found.insert((pk, sk), item);
                }
            }
            pending = output
                .unprocessed_keys
                .and_then(|mut unprocessed| unprocessed.remove(table))
                .map(|keys| keys.keys)
                .unwrap_or_default();
            if pending.is_empty() {
                break;
            }
            if attempt == BATCH_GET_ATTEMPTS {
                return Err(StoreError::Request(format!(
                    "{} profile items left unprocessed after {BATCH_GET_ATTEMPTS} calls",
                    pending.len()
                )));
            }
            tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
        }
    }
    Ok(found)
}

/// One item of the table, read consistently.
pub(crate) async fn get_item(
    client: &Client,
    table: &str,
    pk: &str,
    sk: &str,
) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
    Ok(client
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk.to_string()))
        .key("sk", AttributeValue::S(sk.to_string()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|error| store_error(&error))?
        .item)
}

/// Sets an item's `first_seen` to `at` if that is earlier; another writer that set an even
/// earlier time wins.
pub(crate) async fn lower_first_seen(
    client: &Client,
    table: &str,
    pk: &str,
    sk: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let result = client
        .update_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk.to_string()))
        .key("sk", AttributeValue::S(sk.to_string()))
        .update_expression("SET first_seen = :at")
        .condition_expression("first_seen > :at")
        .expression_attribute_values(":at", AttributeValue::S(at.to_rfc3339()))
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(error) if condition_failed(&error) => Ok(()),
        Err(error) => Err(store_error(&error)),
    }
}

/// An `UpdateItem` refused by its condition: a domain outcome, not an error.
fn condition_failed(
    error: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::update_item::UpdateItemError,
    >,
) -> bool {
    error
        .as_service_error()
        .is_some_and(|service| service.is_conditional_check_failed_exception())
}

/// The expiry of an item a sliding window counts: a day past any window that can count it
/// (never in the past, or DynamoDB may delete what was just written).
fn kept_past(at: DateTime<Utc>, window: chrono::Duration) -> i64 {
    (at.max(Utc::now()) + window + chrono::Duration::days(1)).timestamp()
}

fn principal_key(principal: &str) -> String {
    format!("P#{principal}")
}

fn seen_key(kind: Kind, value: &str) -> String {
    format!("SEEN#{}#{}", kind.as_str(), cut(value))
}

/// A value cut to what a key may hold.
fn cut(value: &str) -> &str {
    let mut end = value.len().min(MAX_VALUE_BYTES);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

/// Zero-padded so minutes sort as text.
fn minute_key(minute: i64) -> String {
    format!("MIN#{minute:012}")
}

/// What a minute's counts cost the cache, about.
fn minute_bytes(minute: &Minute) -> usize {
    48 + minute
        .values
        .iter()
        .map(|value| value.len() + 48)
        .sum::<usize>()
}

/// A minute item's counts.
fn minute_counts(item: &HashMap<String, AttributeValue>) -> Minute {
    Minute {
        calls: number(item, "calls").unwrap_or(0),
        values: item
            .get("values")
            .and_then(|values| values.as_ss().ok())
            .map(|values| values.iter().cloned().collect())
            .unwrap_or_default(),
    }
}

/// What one remembered value costs the cache, about: the strings and the map's overhead.
fn cached_entry_bytes(value: &str, first_event: &str) -> usize {
    value.len() + first_event.len() + 96
}

fn report_key(kind: Report, window: i64) -> String {
    format!("REPORTED#{}#{window}", kind.as_str())
}

pub(crate) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

/// A denied call's time as sortable text (fixed width, microseconds).
fn denied_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Zero-padded so hours sort as text.
fn hour_key(hour: i64) -> String {
    format!("HOUR#{hour:010}")
}

pub(crate) fn text(item: &HashMap<String, AttributeValue>, name: &str) -> Option<String> {
    item.get(name)?.as_s().ok().cloned()
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> Option<u64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}
