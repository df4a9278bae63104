//! A CloudTrail record, read leniently.
#![no_main]

#[path = "shapes.rs"]
mod shapes;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    shapes::parse_as(data, ("eventVersion", serde_json::json!("1.08")));
});
