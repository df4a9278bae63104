//! What a team subscribes to alerts, made at the local endpoint as a user would make it: an
//! SQS queue subscribed to the alerts topic, and an EventBridge rule on the default bus
//! sending trailwatch's events to another queue. And the cases table's stream read as the
//! publisher function receives it.

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;

use trailwatch_shared::adapters::alerts::{AlertTargets, EventBridgeAlerts, SnsAlerts};

use crate::harness::Harness;

/// The topic the publisher publishes to, and the queues that receive its alerts.
pub struct Subscribers {
    pub topic_arn: String,
    pub bus: String,
    /// Subscribed to the topic, raw delivery: each message is the alert's JSON.
    pub topic_queue: String,
    /// Target of a rule matching `source: trailwatch` on the bus.
    pub bus_queue: String,
    rule: String,
}

async fn queue(harness: &Harness, name: &str) -> (String, String) {
    let url = harness
        .sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("CreateQueue")
        .queue_url
        .expect("queue URL");
    let arn = harness
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("GetQueueAttributes")
        .attributes
        .and_then(|mut attributes| attributes.remove(&QueueAttributeName::QueueArn))
        .expect("queue ARN");
    (url, arn)
}

impl Subscribers {
    pub async fn create(harness: &Harness) -> Subscribers {
        let sns = aws_sdk_sns::Client::new(&harness.config);
        let events = aws_sdk_eventbridge::Client::new(&harness.config);
        let topic_arn = sns
            .create_topic()
            .name(format!("{}-alerts", harness.prefix))
            .send()
            .await
            .expect("CreateTopic")
            .topic_arn
            .expect("topic ARN");
        let (topic_queue, topic_queue_arn) =
            queue(harness, &format!("{}-topic-subscriber", harness.prefix)).await;
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(&topic_queue_arn)
            .attributes("RawMessageDelivery", "true")
            .send()
            .await
            .expect("Subscribe");
        let (bus_queue, bus_queue_arn) =
            queue(harness, &format!("{}-bus-subscriber", harness.prefix)).await;
        let rule = format!("{}-alerts", harness.prefix);
        events
            .put_rule()
            .name(&rule)
            .event_pattern(
                serde_json::json!({"source": ["trailwatch"], "detail-type": ["Finding", "Incident"]})
                    .to_string(),
            )
            .send()
            .await
            .expect("PutRule");
        events
            .put_targets()
            .rule(&rule)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("subscriber")
                    .arn(&bus_queue_arn)
                    .build()
                    .expect("target"),
            )
            .send()
            .await
            .expect("PutTargets");
        Subscribers {
            topic_arn,
            bus: "default".into(),
            topic_queue,
            bus_queue,
            rule,
        }
    }

    /// The publisher's targets, as its `main` builds them: this topic and bus.
    pub fn targets(&self, harness: &Harness) -> AlertTargets {
        AlertTargets {
            topic: Some(SnsAlerts::new(
                aws_sdk_sns::Client::new(&harness.config),
                &self.topic_arn,
            )),
            bus: Some(EventBridgeAlerts::new(
                aws_sdk_eventbridge::Client::new(&harness.config),
                &self.bus,
            )),
            security_hub: None,
        }
    }

    /// The alerts the topic's subscriber queue holds, as JSON.
    pub async fn from_topic(&self, harness: &Harness) -> Vec<Value> {
        bodies(harness, &self.topic_queue).await
    }

    /// The `(detail-type, detail)` of each event the bus's rule delivered.
    pub async fn from_bus(&self, harness: &Harness) -> Vec<(String, Value)> {
        bodies(harness, &self.bus_queue)
            .await
            .into_iter()
            .map(|event| {
                assert_eq!(event["source"], "trailwatch", "{event}");
                (
                    event["detail-type"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    event["detail"].clone(),
                )
            })
            .collect()
    }

    pub async fn delete(&self, harness: &Harness) {
        let events = aws_sdk_eventbridge::Client::new(&harness.config);
        let _ = events
            .remove_targets()
            .rule(&self.rule)
            .ids("subscriber")
            .send()
            .await;
        let _ = events.delete_rule().name(&self.rule).send().await;
        let sns = aws_sdk_sns::Client::new(&harness.config);
        let _ = sns.delete_topic().topic_arn(&self.topic_arn).send().await;
        for queue in [&self.topic_queue, &self.bus_queue] {
            let _ = harness.sqs.delete_queue().queue_url(queue).send().await;
        }
    }
}

/// Every message a queue holds now, deleted, bodies parsed.
async fn bodies(harness: &Harness, queue_url: &str) -> Vec<Value> {
    let messages = harness.receive(queue_url, usize::MAX).await;
    for message in &messages {
        harness
            .sqs
            .delete_message()
            .queue_url(queue_url)
            .receipt_handle(message.receipt_handle().unwrap_or_default())
            .send()
            .await
            .expect("DeleteMessage");
    }
    messages
        .iter()
        .map(|message| {
            serde_json::from_str(message.body().unwrap_or_default()).expect("JSON message")
        })
        .collect()
}

/// The cases table's stream from its start, as the publisher function receives it: the
/// records its event source mapping's filter lets through (findings and incidents written
/// or changed), in order.
pub async fn cases_stream(harness: &Harness) -> Event {
    let dynamodb = &harness.dynamodb;
    let streams = aws_sdk_dynamodbstreams::Client::new(&harness.config);
    let stream_arn = dynamodb
        .describe_table()
        .table_name(harness.cases_table())
        .send()
        .await
        .expect("DescribeTable")
        .table
        .and_then(|table| table.latest_stream_arn)
        .expect("the cases table has a stream");
    let shards = streams
        .describe_stream()
        .stream_arn(&stream_arn)
        .send()
        .await
        .expect("DescribeStream")
        .stream_description
        .map(|description| description.shards.unwrap_or_default())
        .unwrap_or_default();
    let mut records = Vec::new();
    for shard in shards {
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(&stream_arn)
            .shard_id(shard.shard_id().unwrap_or_default())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("GetShardIterator")
            .shard_iterator;
        // A shard still open answers an empty page at its end, with an iterator to wait on.
        while let Some(current) = iterator {
            let output = streams
                .get_records()
                .shard_iterator(current)
                .send()
                .await
                .expect("GetRecords");
            let page = output.records.unwrap_or_default();
            if page.is_empty() {
                break;
            }
            records.extend(page);
            iterator = output.next_shard_iterator;
        }
    }
    let mut event = Event::default();
    for record in records {
        let name = record.event_name().map(|name| name.as_str().to_string());
        let Some(change) = record.dynamodb else {
            continue;
        };
        let keys: serde_dynamo::Item = change.keys.unwrap_or_default().into();
        let kind = serde_dynamo::from_attribute_value::<_, String>(
            keys.get("sk").cloned().expect("a sort key"),
        )
        .unwrap_or_default();
        let admitted = matches!(name.as_deref(), Some("INSERT" | "MODIFY"))
            && matches!(kind.as_str(), "finding" | "incident");
        if !admitted {
            continue;
        }
        let mut lambda_record = EventRecord::default();
        lambda_record.event_name = name.unwrap_or_default();
        lambda_record.change.keys = keys;
        lambda_record.change.new_image = change.new_image.unwrap_or_default().into();
        lambda_record.change.old_image = change.old_image.unwrap_or_default().into();
        lambda_record.change.sequence_number = change.sequence_number;
        event.records.push(lambda_record);
    }
    event
}
