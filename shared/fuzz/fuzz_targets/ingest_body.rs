//! A request body posted to /ingest: answered with a 202, 400 or 413, never anything else.
#![no_main]

use trailwatch_shared::adapters::memory::MemoryQueue;
use trailwatch_shared::ingest::{EventTimeWindow, IngestRequest, handle};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let queue = MemoryQueue::default();
    let request = IngestRequest {
        method: "POST",
        path: "/ingest",
        content_type: Some("application/json"),
        body: data,
        caller: None,
    };
    let response = runtime.block_on(handle(&queue, &EventTimeWindow::widest(), request));
    assert!(
        matches!(response.status, 202 | 400 | 413),
        "status {} for a body: {}",
        response.status,
        response.body
    );
});
