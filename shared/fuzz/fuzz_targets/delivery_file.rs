//! A CloudTrail delivery file as S3 holds it, gzipped or not, read as a stream.
#![no_main]

use trailwatch_shared::collect::delivery::read_records_within;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // A small decompression limit keeps each run fast; the limit's logic is the same.
    let _ = read_records_within(data, 1024 * 1024, |record| {
        let _ = trailwatch_shared::input::parse_event(0, record);
        Ok(())
    });
});
