use lambda_http::{Error, run, service_fn};
use trailwatch_shared::adapters::dynamodb::DynamoDbAnomalyStore;
use trailwatch_shared::adapters::dynamodb_cases::{DynamoDbCaseStore, Retention};
use trailwatch_shared::adapters::dynamodb_ledger::ledger_from_env;
use trailwatch_shared::adapters::dynamodb_receipts::DynamoDbReceiptStore;
use trailwatch_shared::adapters::dynamodb_suppressions::DynamoDbSuppressionStore;
use trailwatch_shared::api::QueryApi;
use trailwatch_shared::incident::IncidentSettings;

fn required(variable: &str) -> Result<String, Error> {
    std::env::var(variable).map_err(|_| format!("{variable} must name the table").into())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let anomalies_table = required("ANOMALIES_TABLE")?;
    let cases_table = required("CASES_TABLE")?;
    let suppressions_table = required("SUPPRESSIONS_TABLE")?;
    let profiles_table = required("PROFILES_TABLE")?;
    let config = aws_config::load_from_env().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    // Reads and status changes only: the incident settings and retention are the writers'.
    let cases = DynamoDbCaseStore::new(
        client.clone(),
        anomalies_table.clone(),
        cases_table,
        IncidentSettings::default(),
        Retention::from_env()?,
    );
    let anomalies = DynamoDbAnomalyStore::new(client.clone(), anomalies_table);
    let suppressions = DynamoDbSuppressionStore::new(client.clone(), suppressions_table);
    let ledger = ledger_from_env(client.clone())?;
    let receipts = DynamoDbReceiptStore::new(client, profiles_table);
    let api = QueryApi {
        cases: &cases,
        anomalies: &anomalies,
        suppressions: &suppressions,
        ledger: &ledger,
        receipts: &receipts,
    };
    let api = &api;
    run(service_fn(move |request| {
        trailwatch_query::handle(api, request)
    }))
    .await
}
