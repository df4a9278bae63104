//! The prototype's seed event (`RequestID`, `EventID`, `RoleID`, `EventType`, …).
#![no_main]

#[path = "shapes.rs"]
mod shapes;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    shapes::parse_as(data, ("RoleID", serde_json::json!("role12")));
});
