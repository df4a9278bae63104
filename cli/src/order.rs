//! Event-time order without holding the input. Inputs arrive roughly in time order (files
//! sorted by delivery time, records within a file by CloudTrail's own loose order); a
//! bounded window of event time puts them right, and repeated event ids are recognised
//! within a bounded horizon. Memory follows the window, not the input.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use chrono::{DateTime, TimeDelta, Utc};

/// Items (records, events) held until no item still to come can precede them in event time.
pub struct Reorder<T> {
    window: TimeDelta,
    pending: BinaryHeap<Pending<T>>,
    newest: Option<DateTime<Utc>>,
    /// The time of the last item let out in order.
    released: Option<DateTime<Utc>>,
    arrivals: u64,
}

struct Pending<T> {
    time: DateTime<Utc>,
    arrival: u64,
    item: T,
}

// The heap is a max-heap: the earliest item (then the first to arrive) compares greatest.
impl<T> Ord for Pending<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.arrival).cmp(&(self.time, self.arrival))
    }
}

impl<T> PartialOrd for Pending<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> PartialEq for Pending<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<T> Eq for Pending<T> {}

impl<T> Reorder<T> {
    pub fn new(window: TimeDelta) -> Self {
        Reorder {
            window,
            pending: BinaryHeap::new(),
            newest: None,
            released: None,
            arrivals: 0,
        }
    }

    /// The time of the last item let out in order.
    pub fn released(&self) -> Option<DateTime<Utc>> {
        self.released
    }

    /// Takes an item of event time `time`. An item behind one already let out is late: it
    /// comes straight back, to be handled at once, out of order.
    #[must_use = "a late item comes back and is not held"]
    pub fn push(&mut self, time: DateTime<Utc>, item: T) -> Option<T> {
        if self.released.is_some_and(|released| time < released) {
            return Some(item);
        }
        self.newest = Some(self.newest.map_or(time, |newest| newest.max(time)));
        self.arrivals += 1;
        self.pending.push(Pending {
            time,
            arrival: self.arrivals,
            item,
        });
        None
    }

    /// The next item now due (no item still to come can precede it), in event-time order.
    pub fn next_due(&mut self) -> Option<T> {
        let due = self.newest? - self.window;
        if self.pending.peek()?.time <= due {
            self.next()
        } else {
            None
        }
    }

    /// The next item still held, due or not: for the end of the input.
    pub fn next(&mut self) -> Option<T> {
        let next = self.pending.pop()?;
        self.released = Some(next.time);
        Some(next.item)
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
    use trailwatch_shared::Event;

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
        let mut late = 0;
        for (i, minute) in minutes.iter().enumerate() {
            let event = event(&format!("{i}@{minute}"), *minute);
            if let Some(event) = reorder.push(event.event_time, event) {
                late += 1;
                out.push(event.event_id);
            }
            while let Some(event) = reorder.next_due() {
                out.push(event.event_id);
            }
        }
        while let Some(event) = reorder.next() {
            out.push(event.event_id);
        }
        (out, late)
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
