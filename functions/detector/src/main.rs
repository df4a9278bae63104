// The detector future (SDK calls inside the profile store inside the runtime) nests deeper
// than the default limit lets clippy compute its layout.
#![recursion_limit = "256"]

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use trailwatch_shared::Engine;
use trailwatch_shared::adapters::dynamodb_cases::{DynamoDbCaseStore, Retention};
use trailwatch_shared::adapters::dynamodb_profiles::DynamoDbProfileStore;
use trailwatch_shared::adapters::dynamodb_receipts::DynamoDbReceiptStore;
use trailwatch_shared::adapters::dynamodb_suppressions::DynamoDbSuppressionStore;
use trailwatch_shared::adapters::sqs::SqsEventQueue;
use trailwatch_shared::adapters::usage::Usage;
use trailwatch_shared::baseline::BaselineConfig;
use trailwatch_shared::casebook::{Triage, window_settings_from_env};
use trailwatch_shared::detect::{RecentEvents, Stores};
use trailwatch_shared::finding::FindingSettings;
use trailwatch_shared::rules::catalog;
use trailwatch_shared::sigma::SigmaRules;
use trailwatch_shared::suppress::LiveSuppressions;

/// How often the suppressions table is read again: a rule added takes effect within this.
const SUPPRESSIONS_REFRESH: Duration = Duration::from_secs(60);

/// What one warm instance holds, built once.
struct Detector {
    engine: Engine,
    findings: FindingSettings,
    incidents: trailwatch_shared::incident::IncidentSettings,
    cases: DynamoDbCaseStore,
    profiles: DynamoDbProfileStore,
    receipts: DynamoDbReceiptStore,
    recent: RecentEvents,
    dead_letters: Option<SqsEventQueue>,
    suppression_table: Option<DynamoDbSuppressionStore>,
    suppressions: LiveSuppressions,
}

impl Detector {
    async fn handle(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
        let triage = Triage {
            findings: self.findings.clone(),
            incidents: self.incidents.clone(),
            suppressions: self
                .suppressions
                .current(self.suppression_table.as_ref())
                .await,
        };
        let stores = Stores {
            cases: &self.cases,
            triage: &triage,
            profiles: &self.profiles,
            receipts: &self.receipts,
            recent: &self.recent,
        };
        trailwatch_detector::handle(&self.engine, stores, self.dead_letters.as_ref(), event).await
    }
}

fn required(variable: &str) -> Result<String, Error> {
    std::env::var(variable).map_err(|_| format!("{variable} must name the table").into())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let anomalies_table = required("ANOMALIES_TABLE")?;
    let profiles_table = required("PROFILES_TABLE")?;
    let cases_table = required("CASES_TABLE")?;
    let config = aws_config::load_from_env().await;
    // Where messages no retry can help go at once; without it, they wait for the redrive.
    // What each batch costs in DynamoDB capacity is logged with it.
    let usage = Usage::default();
    let dead_letters = std::env::var("EVENTS_DEAD_LETTER_QUEUE_URL")
        .ok()
        .map(|url| SqsEventQueue::new(usage.sqs(&config), url));
    let client = usage.dynamodb(&config);
    let (findings, incidents) = window_settings_from_env()?;
    let packaged = trailwatch_detector::packaged_suppressions()?;
    tracing::info!(
        rules = packaged.rules().count(),
        "packaged suppression rules"
    );
    // Rule files of the user's own packaged with the function, if named: added to the
    // built-in catalog, or replacing built-in rules of the same id.
    let rules = match std::env::var("TRAILWATCH_RULES_DIR") {
        Ok(dir) => {
            let files = catalog::load_dir(std::path::Path::new(&dir))?;
            tracing::info!(files = files.len(), %dir, "rule files loaded");
            catalog::with_user_rules(&files)
        }
        Err(_) => trailwatch_shared::rules::built_in(),
    };
    let mut engine = Engine::new(rules, BaselineConfig::from_env()?);
    // Sigma rules packaged with the function (or on a mounted file system), if named.
    if let Ok(dir) = std::env::var("TRAILWATCH_SIGMA_DIR") {
        let loaded = SigmaRules::load_dir(std::path::Path::new(&dir))?;
        for unsupported in &loaded.unsupported {
            tracing::warn!(file = %unsupported.file.display(), reason = %unsupported.reason, "Sigma rule not loaded");
        }
        tracing::info!(rules = loaded.rules.len(), %dir, "Sigma rules loaded");
        engine = engine.with_sigma(loaded.rules);
    }
    // Built once: the stores' caches live as long as this warm instance.
    let detector = Detector {
        engine,
        cases: DynamoDbCaseStore::new(
            client.clone(),
            anomalies_table,
            cases_table,
            incidents.clone(),
            Retention::from_env()?,
        ),
        findings,
        incidents,
        profiles: DynamoDbProfileStore::new(client.clone(), profiles_table.clone()),
        receipts: DynamoDbReceiptStore::new(client.clone(), profiles_table),
        recent: RecentEvents::default(),
        dead_letters,
        suppression_table: std::env::var("SUPPRESSIONS_TABLE")
            .ok()
            .map(|table| DynamoDbSuppressionStore::new(client, table)),
        suppressions: LiveSuppressions::new(packaged, SUPPRESSIONS_REFRESH),
    };
    let (detector, usage) = (&detector, &usage);
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        trailwatch_detector::meter_polled_batch(usage, &event.payload);
        usage.metered(detector.handle(event)).await
    }))
    .await
}
