//! The resources created locally are the ones template.yaml declares, read back from the
//! endpoint.

use aws_sdk_dynamodb::types::{KeyType, PointInTimeRecoveryStatus, TimeToLiveStatus};
use aws_sdk_sqs::types::QueueAttributeName;
use trailwatch_tests::harness::Harness;
use trailwatch_tests::template::Template;

#[tokio::test]
async fn queues_and_tables_match_the_template() {
    let Some(harness) = Harness::new("resources_match").await else {
        return;
    };
    let template = Template::load().unwrap();

    for spec in template.queues() {
        let queue = harness.resources.queue(&spec.logical_id);
        let attributes = harness
            .sqs
            .get_queue_attributes()
            .queue_url(&queue.url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap();
        if let Some(seconds) = spec.visibility_timeout {
            assert_eq!(
                attributes[&QueueAttributeName::VisibilityTimeout],
                seconds.to_string()
            );
        }
        if let Some((dead_letter, count)) = &spec.redrive {
            let policy: serde_json::Value =
                serde_json::from_str(&attributes[&QueueAttributeName::RedrivePolicy]).unwrap();
            assert_eq!(
                policy["deadLetterTargetArn"],
                harness.resources.queue(dead_letter).arn
            );
            assert_eq!(
                policy["maxReceiveCount"].to_string().trim_matches('"'),
                count.to_string()
            );
        }
    }

    for spec in template.tables() {
        let name = harness.resources.table(&spec.logical_id);
        let table = harness
            .dynamodb
            .describe_table()
            .table_name(name)
            .send()
            .await
            .unwrap()
            .table
            .unwrap();
        let keys: Vec<(String, String)> = table
            .key_schema()
            .iter()
            .map(|key| {
                (
                    key.attribute_name().to_string(),
                    key.key_type().as_str().to_string(),
                )
            })
            .collect();
        assert_eq!(keys, spec.keys, "{name}");
        assert!(
            table
                .key_schema()
                .iter()
                .any(|key| key.key_type() == &KeyType::Hash)
        );
        if spec.ttl_attribute.is_some() {
            let ttl = harness
                .dynamodb
                .describe_time_to_live()
                .table_name(name)
                .send()
                .await
                .unwrap();
            let description = ttl.time_to_live_description.unwrap();
            assert_eq!(
                description.time_to_live_status,
                Some(TimeToLiveStatus::Enabled)
            );
            assert_eq!(description.attribute_name, spec.ttl_attribute);
        }
        if spec.point_in_time_recovery {
            let backups = harness
                .dynamodb
                .describe_continuous_backups()
                .table_name(name)
                .send()
                .await
                .unwrap();
            let status = backups
                .continuous_backups_description
                .and_then(|d| d.point_in_time_recovery_description)
                .and_then(|d| d.point_in_time_recovery_status);
            assert_eq!(status, Some(PointInTimeRecoveryStatus::Enabled), "{name}");
        }
    }

    // Creating them again changes nothing and fails nothing.
    trailwatch_tests::resources::LocalResources::create(
        &harness.config,
        &template,
        &harness.prefix,
    )
    .await
    .expect("creating twice is harmless");
    harness.cleanup().await;
}
