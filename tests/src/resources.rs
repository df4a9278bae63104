//! Creates `template.yaml`'s queues and tables at the configured endpoint, under a name
//! prefix, idempotently: what exists already is kept.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    PointInTimeRecoverySpecification, Projection, ProjectionType, ScalarAttributeType,
    StreamSpecification, StreamViewType, TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_sqs::types::QueueAttributeName;

use crate::Error;
use crate::template::{QueueSpec, TableSpec, Template};

#[derive(Debug, Clone)]
pub struct Queue {
    pub name: String,
    pub url: String,
    pub arn: String,
}

/// What was created, by the template's logical ids.
#[derive(Debug, Clone, Default)]
pub struct LocalResources {
    pub queues: BTreeMap<String, Queue>,
    pub tables: BTreeMap<String, String>,
}

impl LocalResources {
    pub async fn create(
        config: &SdkConfig,
        template: &Template,
        prefix: &str,
    ) -> Result<Self, Error> {
        let sqs = aws_sdk_sqs::Client::new(config);
        let dynamodb = aws_sdk_dynamodb::Client::new(config);
        let mut resources = LocalResources::default();
        for spec in template.queues() {
            let queue = create_queue(&sqs, &spec, prefix, &resources).await?;
            resources.queues.insert(spec.logical_id.clone(), queue);
        }
        for spec in template.tables() {
            let name = create_table(&dynamodb, &spec, prefix).await?;
            resources.tables.insert(spec.logical_id.clone(), name);
        }
        Ok(resources)
    }

    pub fn queue(&self, logical_id: &str) -> &Queue {
        &self.queues[logical_id]
    }

    pub fn table(&self, logical_id: &str) -> &str {
        &self.tables[logical_id]
    }

    /// The physical name or URL a `!Ref` to this logical id resolves to.
    pub fn reference(&self, logical_id: &str) -> Option<&str> {
        self.queues
            .get(logical_id)
            .map(|queue| queue.url.as_str())
            .or_else(|| self.tables.get(logical_id).map(String::as_str))
    }

    /// Removes everything; for tests that made their own copy.
    pub async fn delete(&self, config: &SdkConfig) {
        let sqs = aws_sdk_sqs::Client::new(config);
        let dynamodb = aws_sdk_dynamodb::Client::new(config);
        for queue in self.queues.values() {
            let _ = sqs.delete_queue().queue_url(&queue.url).send().await;
        }
        for table in self.tables.values() {
            let _ = dynamodb.delete_table().table_name(table).send().await;
        }
    }
}

/// Names what failed and keeps the SDK error's whole chain of causes.
fn failed<E: std::error::Error>(what: String) -> impl FnOnce(E) -> Error {
    move |error| {
        format!(
            "{what}: {}",
            aws_sdk_sqs::error::DisplayErrorContext(&error)
        )
        .into()
    }
}

pub fn physical_name(prefix: &str, logical_id: &str) -> String {
    format!("{prefix}-{logical_id}")
}

async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    spec: &QueueSpec,
    prefix: &str,
    created: &LocalResources,
) -> Result<Queue, Error> {
    let name = physical_name(prefix, &spec.logical_id);
    let mut request = sqs.create_queue().queue_name(&name);
    if let Some(seconds) = spec.visibility_timeout {
        request = request.attributes(QueueAttributeName::VisibilityTimeout, seconds.to_string());
    }
    if let Some(seconds) = spec.message_retention_period {
        request = request.attributes(
            QueueAttributeName::MessageRetentionPeriod,
            seconds.to_string(),
        );
    }
    if spec.sse {
        request = request.attributes(QueueAttributeName::SqsManagedSseEnabled, "true");
    }
    if let Some((dead_letter_id, max_receive_count)) = &spec.redrive {
        let dead_letter = created.queues.get(dead_letter_id).ok_or_else(|| {
            format!(
                "{} redrives to unknown queue {dead_letter_id}",
                spec.logical_id
            )
        })?;
        let policy = serde_json::json!({
            "deadLetterTargetArn": dead_letter.arn,
            "maxReceiveCount": max_receive_count.to_string(),
        });
        request = request.attributes(QueueAttributeName::RedrivePolicy, policy.to_string());
    }
    let url = request
        .send()
        .await
        .map_err(failed(format!("creating queue {name}")))?
        .queue_url
        .ok_or("CreateQueue returned no URL")?;
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await?
        .attributes
        .and_then(|mut attributes| attributes.remove(&QueueAttributeName::QueueArn))
        .ok_or("GetQueueAttributes returned no QueueArn")?;
    Ok(Queue { name, url, arn })
}

async fn create_table(
    dynamodb: &aws_sdk_dynamodb::Client,
    spec: &TableSpec,
    prefix: &str,
) -> Result<String, Error> {
    let name = physical_name(prefix, &spec.logical_id);
    let mut request = dynamodb
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest);
    for (attribute, kind) in &spec.attributes {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attribute)
                .attribute_type(ScalarAttributeType::from(kind.as_str()))
                .build()?,
        );
    }
    for (attribute, kind) in &spec.keys {
        request = request.key_schema(
            KeySchemaElement::builder()
                .attribute_name(attribute)
                .key_type(KeyType::from(kind.as_str()))
                .build()?,
        );
    }
    for index in &spec.indexes {
        let mut builder = GlobalSecondaryIndex::builder()
            .index_name(&index.name)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::from(index.projection.as_str()))
                    .build(),
            );
        for (attribute, kind) in &index.keys {
            builder = builder.key_schema(
                KeySchemaElement::builder()
                    .attribute_name(attribute)
                    .key_type(KeyType::from(kind.as_str()))
                    .build()?,
            );
        }
        request = request.global_secondary_indexes(builder.build()?);
    }
    if let Some(view) = &spec.stream_view_type {
        request = request.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view.as_str()))
                .build()?,
        );
    }
    match request.send().await {
        Ok(_) => {}
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|service| service.is_resource_in_use_exception()) => {}
        Err(error) => return Err(failed(format!("creating table {name}"))(error)),
    }
    if let Some(attribute) = &spec.ttl_attribute {
        let current = dynamodb
            .describe_time_to_live()
            .table_name(&name)
            .send()
            .await?
            .time_to_live_description
            .and_then(|description| description.time_to_live_status);
        if current != Some(TimeToLiveStatus::Enabled) {
            dynamodb
                .update_time_to_live()
                .table_name(&name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(attribute)
                        .enabled(true)
                        .build()?,
                )
                .send()
                .await
                .map_err(failed(format!("enabling TTL on {name}")))?;
        }
    }
    if spec.point_in_time_recovery {
        dynamodb
            .update_continuous_backups()
            .table_name(&name)
            .point_in_time_recovery_specification(
                PointInTimeRecoverySpecification::builder()
                    .point_in_time_recovery_enabled(true)
                    .build()?,
            )
            .send()
            .await
            .map_err(failed(format!("enabling point-in-time recovery on {name}")))?;
    }
    Ok(name)
}
