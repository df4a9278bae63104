//! An S3 event notification as the collector's queue delivers it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = trailwatch_shared::collect::notification::parse(text);
    }
});
