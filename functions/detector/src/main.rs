// The detector future (SDK calls inside the profile store inside the runtime) nests deeper
// than the default limit lets clippy compute its layout.
#![recursion_limit = "256"]

use lambda_runtime::{Error, run, service_fn};
use trailwatch_shared::Engine;
use trailwatch_shared::adapters::dynamodb::DynamoDbAnomalyStore;
use trailwatch_shared::adapters::dynamodb_profiles::DynamoDbProfileStore;
use trailwatch_shared::adapters::dynamodb_receipts::DynamoDbReceiptStore;
use trailwatch_shared::adapters::sqs::SqsEventQueue;
use trailwatch_shared::baseline::BaselineConfig;
use trailwatch_shared::detect::{RecentEvents, Stores};
use trailwatch_shared::rules::CATALOG;
use trailwatch_shared::sigma::SigmaRules;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let anomalies_table = std::env::var("ANOMALIES_TABLE")
        .map_err(|_| "ANOMALIES_TABLE must name the anomalies table")?;
    let profiles_table = std::env::var("PROFILES_TABLE")
        .map_err(|_| "PROFILES_TABLE must name the profiles table")?;
    let config = aws_config::load_from_env().await;
    // Where messages no retry can help go at once; without it, they wait for the redrive.
    let dead_letters = std::env::var("EVENTS_DEAD_LETTER_QUEUE_URL")
        .ok()
        .map(|url| SqsEventQueue::new(aws_sdk_sqs::Client::new(&config), url));
    let client = aws_sdk_dynamodb::Client::new(&config);
    // Built once: the profile store's cache lives as long as this warm instance.
    let anomalies = DynamoDbAnomalyStore::new(client.clone(), anomalies_table);
    let profiles = DynamoDbProfileStore::new(client.clone(), profiles_table.clone());
    let receipts = DynamoDbReceiptStore::new(client, profiles_table);
    let recent = RecentEvents::default();
    let mut engine = Engine::new(CATALOG, BaselineConfig::from_env()?);
    // Sigma rules packaged with the function (or on a mounted file system), if named.
    if let Ok(dir) = std::env::var("TRAILWATCH_SIGMA_DIR") {
        let loaded = SigmaRules::load_dir(std::path::Path::new(&dir))?;
        for unsupported in &loaded.unsupported {
            tracing::warn!(file = %unsupported.file.display(), reason = %unsupported.reason, "Sigma rule not loaded");
        }
        tracing::info!(rules = loaded.rules.len(), %dir, "Sigma rules loaded");
        engine = engine.with_sigma(loaded.rules);
    }
    run(service_fn(|event| {
        let stores = Stores {
            anomalies: &anomalies,
            profiles: &profiles,
            receipts: &receipts,
            recent: &recent,
        };
        trailwatch_detector::handle(&engine, stores, dead_letters.as_ref(), event)
    }))
    .await
}
