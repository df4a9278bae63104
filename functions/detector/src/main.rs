use lambda_runtime::{Error, run, service_fn};
use trailwatch_shared::Engine;
use trailwatch_shared::adapters::dynamodb::DynamoDbAnomalyStore;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let table = std::env::var("ANOMALIES_TABLE")
        .map_err(|_| "ANOMALIES_TABLE must name the anomalies table")?;
    let config = aws_config::load_from_env().await;
    let store = DynamoDbAnomalyStore::new(aws_sdk_dynamodb::Client::new(&config), table);
    let engine = Engine::default();
    run(service_fn(|event| {
        trailwatch_detector::handle(&engine, &store, event)
    }))
    .await
}
