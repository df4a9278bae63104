//! Shared by the three event-shape targets: the fuzzer's bytes as a JSON object, marked so
//! that the parser takes it for the shape under test, then parsed and bounded as any input.

use serde_json::Value;

/// Parses `data` as a JSON object, adds `marker` (so the shape is recognised), and checks
/// that parsing answers — an event or field problems — and never panics.
pub fn parse_as(data: &[u8], marker: (&str, Value)) {
    let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    object.entry(marker.0).or_insert(marker.1);
    if let Ok(event) = trailwatch_shared::input::parse_event(0, Value::Object(object)) {
        // A valid event names a principal within the bounds every store can take.
        assert!(event.principal.len() <= trailwatch_shared::input::MAX_PRINCIPAL_BYTES);
        let _ = event.action();
    }
}
