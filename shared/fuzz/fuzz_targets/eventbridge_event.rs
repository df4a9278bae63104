//! An EventBridge envelope around a CloudTrail record.
#![no_main]

#[path = "shapes.rs"]
mod shapes;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    shapes::parse_as(
        data,
        (
            "detail-type",
            serde_json::json!("AWS API Call via CloudTrail"),
        ),
    );
});
