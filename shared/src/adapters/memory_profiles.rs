//! Per-principal profiles in memory: for `trailwatch scan` and tests. Bounded: each kind
//! keeps its most recently seen values, and volume history its latest hours; as in
//! DynamoDB, where items expire by TTL, values and principals not seen for `state_ttl` of
//! event time are forgotten.

use std::collections::BTreeMap;
use std::collections::hash_map::Entry;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
// A scan looks up every event's principal and values here: foldhash hashes these short keys
// several times faster than the standard SipHash, still seeded per process.
use foldhash::{HashMap, HashSet};

use crate::baseline::tally::{self, Minute};
use crate::baseline::{
    BaselineConfig, CallHours, Features, Kind, Observation, Report, Tallied, Tally,
    denied_report_window, hour_of, is_volume_spike,
};
use crate::ports::{ProfileStore, StoreError};

#[derive(Debug, Default)]
struct Profile {
    first_seen: Option<DateTime<Utc>>,
    last_seen: Option<DateTime<Utc>>,
    first_event: Option<String>,
    events: u64,
    /// Value → when it was last seen and which event saw it first, per kind.
    seen: HashMap<Kind, HashMap<String, Seen>>,
    hours: CallHours,
    /// Access-denied errors by event time, each event once.
    denied: BTreeMap<DateTime<Utc>, HashSet<String>>,
    /// The event that reports each (kind, window).
    reported: HashMap<(Report, i64), String>,
}

#[derive(Debug)]
struct Seen {
    last: DateTime<Utc>,
    first_event: String,
}

#[derive(Debug, Default)]
pub struct MemoryProfileStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    profiles: HashMap<String, Profile>,
    accounts: HashMap<String, DateTime<Utc>>,
    /// (rule, group) → its counts.
    tallies: HashMap<(String, String), Counts>,
    /// When what expired was last forgotten, in event time.
    forgotten_at: Option<DateTime<Utc>>,
}

/// How often, in event time, what has expired is forgotten.
const FORGET_EVERY: chrono::TimeDelta = chrono::TimeDelta::days(1);

impl State {
    /// Forgets what was not seen within `state_ttl` of `now`, once a [`FORGET_EVERY`].
    fn forget_expired(&mut self, now: DateTime<Utc>, config: &BaselineConfig) {
        let Some(last) = self.forgotten_at else {
            self.forgotten_at = Some(now);
            return;
        };
        if now < last + FORGET_EVERY {
            return;
        }
        self.forgotten_at = Some(now);
        let horizon = now - config.state_ttl;
        self.profiles.retain(|_, profile| {
            for values in profile.seen.values_mut() {
                values.retain(|_, seen| seen.last >= horizon);
            }
            profile.last_seen.is_some_and(|seen| seen >= horizon)
        });
    }
}

/// One threshold rule's counts for one group.
#[derive(Debug, Default)]
struct Counts {
    minutes: BTreeMap<i64, Minute>,
    reported: HashMap<(Report, i64), String>,
}

/// Groups whose counts a scan keeps before dropping those no window can reach.
const KEPT_TALLIES: usize = 100_000;

impl MemoryProfileStore {
    /// How many values of a kind the principal's profile holds.
    pub fn values_kept(&self, principal: &str, kind: Kind) -> usize {
        self.state
            .lock()
            .ok()
            .and_then(|state| {
                state
                    .profiles
                    .get(principal)
                    .and_then(|p| p.seen.get(&kind))
                    .map(HashMap::len)
            })
            .unwrap_or(0)
    }
}

impl ProfileStore for MemoryProfileStore {
    async fn observe(
        &self,
        features: &Features,
        at: DateTime<Utc>,
        config: &BaselineConfig,
    ) -> Result<Observation, StoreError> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| StoreError::Request("memory profile store lock poisoned".into()))?;
        if !features.learns {
            return Ok(peek(&state, features, at));
        }
        state.forget_expired(at, config);
        let account_first_seen = features.account.as_ref().map(|account| {
            let first = state.accounts.entry(account.clone()).or_insert(at);
            let before = *first;
            *first = before.min(at);
            before
        });
        let profile = state
            .profiles
            .entry(features.principal.clone())
            .or_default();
        // A retried first event is still the principal's first.
        let first_again = profile.first_event.as_deref() == Some(features.event_id.as_str());
        let mut observation = Observation {
            first_seen: profile.first_seen.filter(|_| !first_again),
            events_before: profile.events,
            // The account's first event "before" this one is this one when it opened the account.
            account_first_seen: account_first_seen.filter(|first| *first < at),
            ..Observation::default()
        };
        if profile.first_event.is_none() {
            profile.first_event = Some(features.event_id.clone());
        }
        profile.first_seen = Some(profile.first_seen.map_or(at, |first| first.min(at)));
        profile.last_seen = Some(profile.last_seen.map_or(at, |last| last.max(at)));
        profile.events += 1;

        for (kind, value) in &features.values {
            let values = profile.seen.entry(*kind).or_default();
            match values.get_mut(value) {
                Some(seen) => {
                    seen.last = seen.last.max(at);
                    if seen.first_event == features.event_id {
                        observation.new_values.push((*kind, value.clone()));
                    }
                }
                None => {
                    values.insert(
                        value.clone(),
                        Seen {
                            last: at,
                            first_event: features.event_id.clone(),
                        },
                    );
                    observation.new_values.push((*kind, value.clone()));
                    if values.len() > config.max_values_per_kind {
                        evict_oldest(values, config.max_values_per_kind);
                    }
                }
            }
        }

        let (hour_count, typical_hour) = profile.hours.count(at, config);
        observation.hour_count = hour_count;
        observation.typical_hour = typical_hour;
        if is_volume_spike(hour_count, typical_hour, config) {
            observation.volume_spike = claim_report(
                &mut profile.reported,
                (Report::VolumeSpike, hour_of(at)),
                &features.event_id,
            );
        }

        if features.denied {
            profile
                .denied
                .entry(at)
                .or_default()
                .insert(features.event_id.clone());
            let count: usize = profile
                .denied
                .range(at - config.denied_window..=at)
                .map(|(_, events)| events.len())
                .sum();
            observation.denied_in_window = u32::try_from(count).unwrap_or(u32::MAX);
            if count >= config.denied_burst as usize {
                observation.denied_burst = claim_report(
                    &mut profile.reported,
                    (Report::DeniedBurst, denied_report_window(at, config)),
                    &features.event_id,
                );
            }
            // Bounded: what no later window can reach goes (a day of slack for late events).
            let horizon = at - config.denied_window - chrono::Duration::days(1);
            profile.denied = profile.denied.split_off(&horizon);
        }
        Ok(observation)
    }

    async fn tally(
        &self,
        tally: &Tally,
        at: DateTime<Utc>,
        _config: &BaselineConfig,
    ) -> Result<Tallied, StoreError> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| StoreError::Request("memory profile store lock poisoned".into()))?;
        let minute = tally::minute_of(at);
        if state.tallies.len() >= KEPT_TALLIES {
            // Bounded: groups idle for longer than any window (and a day of slack for late
            // events) go.
            let horizon = minute - crate::rules::file::MAX_WINDOW_MINUTES - 24 * 60;
            state.tallies.retain(|_, counts| {
                counts
                    .minutes
                    .last_key_value()
                    .is_some_and(|(last, _)| *last >= horizon)
            });
        }
        let counts = state
            .tallies
            .entry((tally.rule.clone(), tally.group.clone()))
            .or_default();
        let bucket = counts.minutes.entry(minute).or_default();
        // A minute's values stop at the threshold, as in DynamoDB (where they keep an item
        // small): the count is then the threshold.
        let mut full = false;
        match &tally.value {
            Some(value) if bucket.values.len() as u64 >= tally.at_least => {
                full = !bucket.values.contains(value);
            }
            Some(value) => {
                bucket.values.insert(value.clone());
            }
            None => bucket.calls += 1,
        }
        let count = tally::count_in_window(&counts.minutes, tally, minute, full);
        let reports = count >= tally.at_least
            && claim_report(
                &mut counts.reported,
                (
                    Report::Threshold,
                    tally::report_window(at, tally.within_minutes),
                ),
                &tally.event_id,
            );
        // What no later window can reach goes (a day of slack for late events).
        let horizon = tally::window_start(minute, tally.within_minutes) - 24 * 60;
        counts.minutes = counts.minutes.split_off(&horizon);
        Ok(Tallied { count, reports })
    }

    async fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// What the profile knows of an event that teaches it nothing: its history and which values
/// would be new; no counts, no reports.
fn peek(state: &State, features: &Features, at: DateTime<Utc>) -> Observation {
    let profile = state.profiles.get(&features.principal);
    Observation {
        first_seen: profile.and_then(|profile| profile.first_seen),
        events_before: profile.map_or(0, |profile| profile.events),
        new_values: features
            .values
            .iter()
            .filter(|(kind, value)| {
                !profile.is_some_and(|profile| {
                    profile
                        .seen
                        .get(kind)
                        .is_some_and(|values| values.contains_key(value))
                })
            })
            .cloned()
            .collect(),
        account_first_seen: features
            .account
            .as_ref()
            .and_then(|account| state.accounts.get(account))
            .copied()
            .filter(|first| *first < at),
        ..Observation::default()
    }
}

/// Whether this event reports the window: the first to claim it, or the one that did.
fn claim_report(
    reported: &mut HashMap<(Report, i64), String>,
    key: (Report, i64),
    event_id: &str,
) -> bool {
    if reported.len() > 10_000 {
        // Old windows never come back; a warm scan keeps a bounded number of markers.
        reported.clear();
    }
    let (kind, window) = key;
    let reported_before = kind.continues_across_windows()
        && reported
            .get(&(kind, window - 1))
            .is_some_and(|owner| owner != event_id);
    match reported.entry(key) {
        Entry::Occupied(owner) => owner.get() == event_id,
        Entry::Vacant(_) if reported_before => false,
        Entry::Vacant(vacant) => {
            vacant.insert(event_id.to_string());
            true
        }
    }
}

/// Drops the least recently seen values down to `keep`, a tenth at a time so eviction is
/// rare.
fn evict_oldest(values: &mut HashMap<String, Seen>, keep: usize) {
    let target = keep - keep / 10;
    let mut by_age: Vec<(DateTime<Utc>, String)> = values
        .iter()
        .map(|(value, seen)| (seen.last, value.clone()))
        .collect();
    by_age.sort();
    for (_, value) in by_age.into_iter().take(values.len() - target) {
        values.remove(&value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract;

    #[tokio::test]
    async fn keeps_the_profile_store_contract() {
        let store = MemoryProfileStore::default();
        contract::check_all(&store, &store, "memory").await;
    }

    fn region_call(event_id: &str, principal: &str, region: &str) -> Features {
        Features {
            event_id: event_id.into(),
            principal: principal.into(),
            account: None,
            values: vec![(Kind::Region, region.into())],
            denied: false,
            instance_credentials: false,
            aws_service: false,
            learns: true,
        }
    }

    #[tokio::test]
    async fn forgets_principals_and_values_not_seen_for_the_state_ttl_of_event_time() {
        use chrono::TimeZone;
        let store = MemoryProfileStore::default();
        let config = BaselineConfig {
            state_ttl: chrono::Duration::days(30),
            ..BaselineConfig::default()
        };
        let day =
            |n| Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap() + chrono::Duration::days(n);
        for (id, principal, region, on) in [
            ("a1", "alice", "eu-west-1", 0),
            ("b1", "bob", "us-east-1", 0),
            ("b2", "bob", "eu-west-1", 20),
            ("b3", "bob", "eu-west-1", 31),
        ] {
            store
                .observe(&region_call(id, principal, region), day(on), &config)
                .await
                .unwrap();
        }
        let alice = store
            .observe(&region_call("a2", "alice", "eu-west-1"), day(32), &config)
            .await
            .unwrap();
        assert_eq!(alice.first_seen, None, "alice is new again");
        assert_eq!(alice.events_before, 0);
        assert_eq!(alice.new_values.len(), 1);
        let bob = store
            .observe(&region_call("b4", "bob", "eu-west-1"), day(32), &config)
            .await
            .unwrap();
        assert_eq!(bob.first_seen, Some(day(0)), "bob is remembered");
        assert!(bob.new_values.is_empty(), "eu-west-1 was seen 1 day ago");
        let bob = store
            .observe(&region_call("b5", "bob", "us-east-1"), day(33), &config)
            .await
            .unwrap();
        assert_eq!(
            bob.new_values,
            [(Kind::Region, "us-east-1".to_string())],
            "us-east-1 was last seen 33 days ago"
        );
    }

    #[tokio::test]
    async fn keeps_only_the_most_recent_values_of_a_kind() {
        let store = MemoryProfileStore::default();
        let config = BaselineConfig {
            max_values_per_kind: 10,
            ..BaselineConfig::default()
        };
        let start = Utc::now();
        for number in 0..25 {
            let features = Features {
                event_id: format!("e{number}"),
                principal: "p".into(),
                account: None,
                values: vec![(Kind::Asset, format!("arn:aws:s3:::bucket-{number}"))],
                denied: false,
                instance_credentials: false,
                aws_service: false,
                learns: true,
            };
            store
                .observe(
                    &features,
                    start + chrono::Duration::seconds(number),
                    &config,
                )
                .await
                .unwrap();
        }
        assert!(store.values_kept("p", Kind::Asset) <= 10);
        let recent = Features {
            event_id: "again".into(),
            principal: "p".into(),
            account: None,
            values: vec![(Kind::Asset, "arn:aws:s3:::bucket-24".into())],
            denied: false,
            instance_credentials: false,
            aws_service: false,
            learns: true,
        };
        let observation = store
            .observe(&recent, start + chrono::Duration::seconds(30), &config)
            .await
            .unwrap();
        assert!(
            observation.new_values.is_empty(),
            "the most recent values are kept"
        );
    }
}
