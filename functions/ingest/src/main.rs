use lambda_http::{Error, run, service_fn};
use trailwatch_shared::adapters::dynamodb_ledger::ledger_from_env;
use trailwatch_shared::adapters::sqs::SqsEventQueue;
use trailwatch_shared::adapters::usage::Usage;
use trailwatch_shared::ingest::{EventTimeWindow, MAX_AGE_DAYS_VARIABLE};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let queue_url = std::env::var("EVENTS_QUEUE_URL")
        .map_err(|_| "EVENTS_QUEUE_URL must name the events queue")?;
    let window =
        EventTimeWindow::from_variable(std::env::var(MAX_AGE_DAYS_VARIABLE).ok().as_deref())?;
    let config = aws_config::load_from_env().await;
    // What each request costs in SQS and DynamoDB requests is logged with it.
    let usage = Usage::default();
    let queue = SqsEventQueue::new(usage.sqs(&config), queue_url);
    // What GET /events/{id} reads; without it, nothing is noted.
    let ledger = ledger_from_env(usage.dynamodb(&config))?;
    let (queue, ledger, window, usage) = (&queue, &ledger, &window, &usage);
    run(service_fn(move |request| {
        usage.metered(trailwatch_ingest::handle(queue, ledger, window, request))
    }))
    .await
}
