//! Creates template.yaml's queues and tables at `AWS_ENDPOINT_URL` (moto or LocalStack) and
//! prints the functions' environment for them, as `NAME=value` lines.
//!
//! Usage: local-resources [PREFIX]   (default prefix: trailwatch)

use trailwatch_tests::Error;
use trailwatch_tests::resources::LocalResources;
use trailwatch_tests::template::Template;

#[tokio::main]
async fn main() -> Result<(), Error> {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        return Err(
            "AWS_ENDPOINT_URL must point at a local endpoint; refusing to touch a real account"
                .into(),
        );
    }
    let prefix = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "trailwatch".to_string());
    let template = Template::load()?;
    let config = aws_config::load_from_env().await;
    let resources = LocalResources::create(&config, &template, &prefix).await?;
    let mut printed = std::collections::BTreeSet::new();
    for function in ["IngestFunction", "DetectorFunction", "CollectorFunction"] {
        for (variable, logical_id) in template.function_environment(function) {
            if let Some(value) = resources.reference(&logical_id)
                && printed.insert(variable.clone())
            {
                println!("{variable}={value}");
            }
        }
    }
    for (logical_id, queue) in &resources.queues {
        eprintln!("queue {logical_id}: {}", queue.url);
    }
    for (logical_id, table) in &resources.tables {
        eprintln!("table {logical_id}: {table}");
    }
    Ok(())
}
