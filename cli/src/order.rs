//! Event-time order without holding the input. Inputs arrive roughly in time order (files
//! sorted by delivery time, records within a file by CloudTrail's own loose order); a
//! bounded window of event time puts them right, and repeated event ids are recognised
//! within a bounded horizon. Memory follows the window, not the input.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use chrono::{DateTime, TimeDelta, Utc};
use trailwatch_shared::Event;

/// Events held until no event still to come can precede them.
pub struct Reorder {
    window: TimeDelta,
    pending: BinaryHeap<Pending>,
    newest: Option<DateTime<Utc>>,
    /// The time of the last event let out in order.
    released: Option<DateTime<Utc>>,
    arrivals: u64,
    /// Events that arrived after a later one had been let out: evaluated at once, out of
    /// order.
    pub late: usize,
}

struct Pending {
    time: DateTime<Utc>,
    arrival: u64,
    event: Event,
}

// The heap is a max-heap: the earliest event (then the first to arrive) compares greatest.
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.arrival).cmp(&(self.time, self.arrival))
    }
}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Pending {}

impl Reorder {
    pub fn new(window: TimeDelta) -> Self {
        Reorder {
            window,
            pending: BinaryHeap::new(),
            newest: None,
            released: None,
            arrivals: 0,
            late: 0,
        }
    }

    /// The time of the last event let out in order.
    pub fn released(&self) -> Option<DateTime<Utc>> {
        self.released
    }

    /// Takes an event; `ready` gets each event now due, in event-time order.
    pub fn push<E>(
        &mut self,
        event: Event,
        ready: &mut impl FnMut(Event) -> Result<(), E>,
    ) -> Result<(), E> {
        let time = event.event_time;
        if self.released.is_some_and(|released| time < released) {
            self.late += 1;
            return ready(event);
        }
        self.newest = Some(self.newest.map_or(time, |newest| newest.max(time)));
        self.arrivals += 1;
        self.pending.push(Pending {
            time,
            arrival: self.arrivals,
            event,
        });
        let Some(due) = self.newest.map(|newest| newest - self.window) else {
            return Ok(());
        };
        while self.pending.peek().is_some_and(|next| next.time <= due) {
            self.let_out(ready)?;
        }
        Ok(())
    }

    /// Lets out everything still held, in order.
    pub fn finish<E>(&mut self, ready: &mut impl FnMut(Event) -> Result<(), E>) -> Result<(), E> {
        while !self.pending.is_empty() {
            self.let_out(ready)?;
        }
        Ok(())
    }

    fn let_out<E>(&mut self, ready: &mut impl FnMut(Event) -> Result<(), E>) -> Result<(), E> {
        match self.pending.pop() {
            Some(next) => {
                self.released = Some(next.time);
                ready(next.event)
            }
            None => Ok(()),
        }
    }
}

/// Event ids seen recently, so a record delivered twice is evaluated once. Ids are kept for
/// a horizon of event time behind the last event let out; CloudTrail repeats a record in a
/// file delivered soon after, not days later.
pub struct RecentIds {
    horizon: TimeDelta,
    seen: HashMap<String, DateTime<Utc>>,
    /// How many ids the map held after its last sweep.
    swept_at: usize,
}

/// Ids held before the first sweep for expired ones.
const FIRST_SWEEP: usize = 1 << 16;

impl RecentIds {
    pub fn new(horizon: TimeDelta) -> Self {
        RecentIds {
            horizon,
            seen: HashMap::new(),
            swept_at: FIRST_SWEEP / 2,
        }
    }

    /// Whether this is the id's first appearance within the horizon; remembers it.
    pub fn first(
        &mut self,
        id: &str,
        time: DateTime<Utc>,
        released: Option<DateTime<Utc>>,
    ) -> bool {
        if self.seen.contains_key(id) {
            return false;
        }
        // Sweeping when the map has doubled keeps the work per id constant.
        if self.seen.len() >= self.swept_at * 2 {
            if let Some(cutoff) = released.map(|released| released - self.horizon) {
                self.seen.retain(|_, seen| *seen >= cutoff);
            }
            self.swept_at = self.seen.len().max(FIRST_SWEEP / 2);
        }
        self.seen.insert(id.to_string(), time);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, minute: i64) -> Event {
        let mut event = trailwatch_shared::input::parse_event(
            0,
            serde_json::json!({
                "eventID": id,
                "eventTime": "2026-11-02T10:00:00Z",
                "eventSource": "s3.amazonaws.com",
                "eventName": "GetObject",
                "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/a"}
            }),
        )
        .unwrap();
        event.event_time += TimeDelta::minutes(minute);
        event
    }

    fn run(window: i64, minutes: &[i64]) -> (Vec<String>, usize) {
        let mut reorder = Reorder::new(TimeDelta::minutes(window));
        let mut out = Vec::new();
        let mut ready = |event: Event| -> Result<(), ()> {
            out.push(event.event_id);
            Ok(())
        };
        for (i, minute) in minutes.iter().enumerate() {
            reorder
                .push(event(&format!("{i}@{minute}"), *minute), &mut ready)
                .unwrap();
        }
        reorder.finish(&mut ready).unwrap();
        (out, reorder.late)
    }

    #[test]
    fn events_within_the_window_come_out_in_time_order() {
        let (order, late) = run(15, &[10, 0, 14, 5, 30, 20, 25]);
        assert_eq!(
            order,
            ["1@0", "3@5", "0@10", "2@14", "5@20", "6@25", "4@30"]
        );
        assert_eq!(late, 0);
    }

    #[test]
    fn events_later_than_the_window_are_evaluated_and_counted_late() {
        // 40 lets out 0..=25; 3 then arrives behind the released 20.
        let (order, late) = run(15, &[0, 20, 40, 3, 41]);
        assert_eq!(order, ["0@0", "1@20", "3@3", "2@40", "4@41"]);
        assert_eq!(late, 1);
    }

    #[test]
    fn equal_times_keep_their_arrival_order() {
        let (order, _) = run(15, &[5, 5, 5]);
        assert_eq!(order, ["0@5", "1@5", "2@5"]);
    }

    #[test]
    fn repeats_are_recognised_within_the_horizon_and_memory_is_swept() {
        let mut ids = RecentIds::new(TimeDelta::minutes(75));
        let start = event("x", 0).event_time;
        assert!(ids.first("a", start, None));
        assert!(!ids.first("a", start, None));
        // Many ids a day later: "a" is swept out, and the map stays near the sweep size.
        let later = start + TimeDelta::days(1);
        for i in 0..(FIRST_SWEEP * 3) {
            assert!(ids.first(&format!("id-{i}"), later, Some(later)));
        }
        assert!(
            ids.first("a", later, Some(later)),
            "forgotten after the horizon"
        );
        assert!(ids.seen.len() <= FIRST_SWEEP * 4);
    }
}
