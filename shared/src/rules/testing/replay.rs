//! A stateful rule's case, replayed through the engine with an in-memory profile store. A
//! threshold rule's record is sent as many times as its threshold (each copy a new event,
//! its distinct field made distinct) and must fire on the last copy, not before. A
//! first-time rule's record comes after a learning period of other calls by its principal
//! and must fire once: a second copy stays quiet.

use std::future::Future;
use std::task::{Context, Poll, Waker};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{event_of, set};
use crate::adapters::memory_profiles::MemoryProfileStore;
use crate::baseline::BaselineConfig;
use crate::engine::Engine;
use crate::event::Event;
use crate::rules::{Rule, Stateful};

/// The id a stateful rule fired with on the case's record (its own or its `-ATTEMPT`), or
/// none; a problem when it fired too soon or twice. `event` is the record as read.
pub(super) fn fired(
    rule: &Rule,
    stateful: &Stateful,
    record: &Value,
    event: &Event,
) -> Result<Option<String>, String> {
    let engine = Engine::new(vec![rule.clone()], BaselineConfig::default());
    let store = MemoryProfileStore::default();
    match stateful {
        Stateful::Threshold(threshold) => {
            for copy in 1..=threshold.at_least {
                let mut record = record.clone();
                set(&mut record, "/eventID", &json!(format!("case-copy-{copy}")));
                if let Some(pointer) = &threshold.distinct {
                    let original = record
                        .pointer(pointer)
                        .and_then(Value::as_str)
                        .unwrap_or("value")
                        .to_string();
                    set(&mut record, pointer, &json!(format!("{original}-{copy}")));
                }
                let fired = fired_on(&engine, &store, rule, &event_of(record)?)?;
                if copy == threshold.at_least {
                    return Ok(fired);
                }
                if let Some(id) = fired {
                    return Err(format!(
                        "fired {id} on copy {copy} of {}, before its threshold",
                        threshold.at_least
                    ));
                }
            }
            Ok(None)
        }
        Stateful::FirstTime(_) => {
            let config = engine.baseline();
            // The principal's history: other calls, across a learning period ending a day
            // before the case's call.
            let start = event.event_time - config.learning_period - chrono::Duration::days(1);
            for number in 0..=config.learning_min_events {
                let mut warm_up = record.clone();
                set(
                    &mut warm_up,
                    "/eventID",
                    &json!(format!("case-history-{number}")),
                );
                set(&mut warm_up, "/eventName", &json!("GetCallerIdentity"));
                set(&mut warm_up, "/eventSource", &json!("sts.amazonaws.com"));
                set(&mut warm_up, "/errorCode", &Value::Null);
                let at = start + chrono::Duration::minutes(number as i64);
                set(&mut warm_up, "/eventTime", &json!(time(at)));
                fired_on(&engine, &store, rule, &event_of(warm_up)?)?;
            }
            let fired = fired_on(&engine, &store, rule, event)?;
            if fired.is_some() {
                let mut again = record.clone();
                set(&mut again, "/eventID", &json!("case-second-call"));
                if let Some(id) = fired_on(&engine, &store, rule, &event_of(again)?)? {
                    return Err(format!(
                        "fired {id} again on a second call; a first-time rule fires once"
                    ));
                }
            }
            Ok(fired)
        }
    }
}

fn fired_on(
    engine: &Engine,
    store: &MemoryProfileStore,
    rule: &Rule,
    event: &Event,
) -> Result<Option<String>, String> {
    let anomaly = ready(engine.evaluate(event, store, event.event_time))
        .map_err(|error| format!("the memory profile store failed: {error}"))?;
    let attempt = format!("{}-ATTEMPT", rule.id);
    Ok(anomaly.and_then(|anomaly| {
        anomaly
            .detections
            .into_iter()
            .map(|detection| detection.id)
            .find(|id| *id == rule.id || *id == attempt)
    }))
}

fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Runs a future of the memory store to its end: it never waits on anything, so no runtime
/// is needed (and `rules test` may run inside one).
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::yield_now();
    }
}
