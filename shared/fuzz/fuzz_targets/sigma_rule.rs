//! A Sigma rule file, loaded and evaluated against a real CloudTrail record.
#![no_main]

use std::sync::OnceLock;

use trailwatch_shared::Event;
use trailwatch_shared::sigma::SigmaRules;

fn sample() -> &'static Event {
    static SAMPLE: OnceLock<Event> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let body = include_str!("../../../events/eventbridge-cloudtrail.json");
        let mut parsed = trailwatch_shared::input::parse_body(body.as_bytes()).expect("sample");
        parsed.remove(0).outcome.expect("a valid sample")
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rules) = SigmaRules::from_text(text) {
        let _ = rules.detect(sample());
    }
});
