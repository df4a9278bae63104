use lambda_runtime::{Error, run, service_fn};
use trailwatch_shared::adapters::alerts::{AlertTargets, EventBridgeAlerts, SnsAlerts};
use trailwatch_shared::adapters::securityhub::SecurityHubFindings;
use trailwatch_shared::alert::AlertPolicy;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = aws_config::load_from_env().await;
    let policy = AlertPolicy::from_env()?;
    let topic = std::env::var("ALERTS_TOPIC_ARN")
        .ok()
        .filter(|arn| !arn.is_empty())
        .map(|arn| SnsAlerts::new(aws_sdk_sns::Client::new(&config), arn));
    // The account's default bus unless named; an empty name turns the bus off.
    let bus = match std::env::var("ALERTS_EVENT_BUS") {
        Ok(name) if name.is_empty() => None,
        Ok(name) => Some(name),
        Err(_) => Some("default".to_string()),
    }
    .map(|bus| EventBridgeAlerts::new(aws_sdk_eventbridge::Client::new(&config), bus));
    if topic.is_none() && bus.is_none() {
        return Err("neither ALERTS_TOPIC_ARN nor ALERTS_EVENT_BUS names a target".into());
    }
    // Security Hub beside GuardDuty's findings, when asked.
    let security_hub =
        (std::env::var("TRAILWATCH_SECURITY_HUB").as_deref() == Ok("true")).then(|| {
            SecurityHubFindings::new(
                aws_sdk_securityhub::Client::new(&config),
                config.region().map(|region| region.to_string()),
            )
        });
    let targets = AlertTargets {
        topic,
        bus,
        security_hub,
    };
    let (targets, policy) = (&targets, &policy);
    run(service_fn(move |event| {
        trailwatch_publisher::handle(targets, policy, event)
    }))
    .await
}
