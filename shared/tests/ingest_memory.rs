//! The ingest API answers a body of millions of tiny elements without building them: its
//! memory stays near the body's own size. A counting allocator measures this test binary's
//! peak heap while the request is handled.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use trailwatch_shared::adapters::memory::MemoryQueue;
use trailwatch_shared::ingest::{EventTimeWindow, IngestRequest, MAX_BODY_BYTES, handle};

struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the system allocator, with the caller's layout.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: the pointer came from `alloc` above with this layout.
        unsafe { System.dealloc(pointer, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[tokio::test]
async fn a_body_of_millions_of_empty_objects_is_refused_within_a_few_megabytes() {
    // Just under 5 MiB: 1.7 million `{}` elements.
    let count = (MAX_BODY_BYTES - 2) / 3;
    let mut body = String::with_capacity(MAX_BODY_BYTES);
    body.push('[');
    for n in 0..count {
        if n > 0 {
            body.push(',');
        }
        body.push_str("{}");
    }
    body.push(']');
    let queue = MemoryQueue::default();
    let before = IN_USE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let response = handle(
        &queue,
        &EventTimeWindow::default(),
        IngestRequest {
            method: "POST",
            path: "/ingest",
            content_type: Some("application/json"),
            body: body.as_bytes(),
            caller: None,
        },
    )
    .await;
    let peak = PEAK.load(Ordering::Relaxed) - before;
    assert_eq!(response.status, 413, "{}", response.body);
    // Building each element as an event took over a gigabyte; counting takes nothing.
    assert!(peak < 8 * 1024 * 1024, "peak heap {peak} bytes");
}
