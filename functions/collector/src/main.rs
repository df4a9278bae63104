// The metered handler future (SDK calls inside the collector inside the runtime) nests deeper
// than the default limit lets the compiler compute its layout.
#![recursion_limit = "256"]

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use trailwatch_shared::adapters::s3::S3ObjectSource;
use trailwatch_shared::adapters::sqs::SqsEventQueue;
use trailwatch_shared::adapters::usage::Usage;
use trailwatch_shared::collect::Collector;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let events_queue_url = std::env::var("EVENTS_QUEUE_URL")
        .map_err(|_| "EVENTS_QUEUE_URL must name the events queue")?;
    let dead_letter_url = std::env::var("TRAIL_OBJECTS_DEAD_LETTER_QUEUE_URL").map_err(
        |_| "TRAIL_OBJECTS_DEAD_LETTER_QUEUE_URL must name the notifications' dead-letter queue",
    )?;
    let config = aws_config::load_from_env().await;
    // What each batch costs in SQS requests is logged with it.
    let usage = Usage::default();
    let sqs = usage.sqs(&config);
    let objects = S3ObjectSource::new(aws_sdk_s3::Client::new(&config));
    let events = SqsEventQueue::new(sqs.clone(), events_queue_url);
    let dead_letters = SqsEventQueue::new(sqs, dead_letter_url);
    let collector = Collector {
        objects: &objects,
        events: &events,
        dead_letters: &dead_letters,
    };
    let (collector, usage) = (&collector, &usage);
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        trailwatch_detector::meter_polled_batch(usage, &event.payload);
        usage
            .metered(trailwatch_collector::handle(collector, event))
            .await
    }))
    .await
}
