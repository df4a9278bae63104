//! Alerts to Amazon SNS (a topic people and queues subscribe to) and Amazon EventBridge (a
//! bus rules route from: `source` `trailwatch`, `detail-type` `Finding` or `Incident`).

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_sns::types::MessageAttributeValue;

use super::sdk_error_text;
use crate::alert::Alert;
use crate::ports::{AlertError, AlertSink};

/// The `source` of trailwatch's events on an EventBridge bus.
pub const EVENT_SOURCE: &str = "trailwatch";

/// Publishes each alert to a topic as JSON, with `kind` and `severity` attributes that
/// subscription filter policies can match.
pub struct SnsAlerts {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsAlerts {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

impl AlertSink for SnsAlerts {
    async fn publish(&self, alert: &Alert) -> Result<(), AlertError> {
        let failed = |reason: String| AlertError {
            alert_id: alert.alert_id.clone(),
            target: self.topic_arn.clone(),
            reason,
        };
        let attribute = |value: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|error| failed(error.to_string()))
        };
        let message = serde_json::to_string(alert).map_err(|error| failed(error.to_string()))?;
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(ascii_subject(&alert.subject()))
            .message(message)
            .message_attributes("kind", attribute(alert.kind.as_str())?)
            .message_attributes("severity", attribute(alert.severity.as_str())?)
            .message_attributes("alert_id", attribute(&alert.alert_id)?)
            .send()
            .await
            .map_err(|error| failed(sdk_error_text(&error)))?;
        Ok(())
    }
}

/// SNS takes only printable ASCII in a subject.
fn ascii_subject(subject: &str) -> String {
    subject
        .chars()
        .map(|c| match c {
            '…' => '.',
            c if c.is_ascii_graphic() || c == ' ' => c,
            _ => '?',
        })
        .collect()
}

/// Puts each alert on an EventBridge bus (`default` unless named).
pub struct EventBridgeAlerts {
    client: aws_sdk_eventbridge::Client,
    bus: String,
}

impl EventBridgeAlerts {
    pub fn new(client: aws_sdk_eventbridge::Client, bus: impl Into<String>) -> Self {
        Self {
            client,
            bus: bus.into(),
        }
    }
}

impl AlertSink for EventBridgeAlerts {
    async fn publish(&self, alert: &Alert) -> Result<(), AlertError> {
        let failed = |reason: String| AlertError {
            alert_id: alert.alert_id.clone(),
            target: format!("event bus {}", self.bus),
            reason,
        };
        let detail = serde_json::to_string(alert).map_err(|error| failed(error.to_string()))?;
        let output = self
            .client
            .put_events()
            .entries(
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus)
                    .source(EVENT_SOURCE)
                    .detail_type(alert.kind.as_str())
                    .detail(detail)
                    .build(),
            )
            .send()
            .await
            .map_err(|error| failed(sdk_error_text(&error)))?;
        // PutEvents answers 200 and reports refused entries one by one.
        if output.failed_entry_count > 0 {
            let entry = output.entries().first();
            return Err(failed(format!(
                "{}: {}",
                entry.and_then(|e| e.error_code()).unwrap_or("refused"),
                entry
                    .and_then(|e| e.error_message())
                    .unwrap_or("no reason given")
            )));
        }
        Ok(())
    }
}

/// Every configured target, in turn. A target that fails fails the alert; its retry publishes
/// to the others again under the same alert id, which is what receivers deduplicate on.
pub struct AlertTargets {
    pub topic: Option<SnsAlerts>,
    pub bus: Option<EventBridgeAlerts>,
    pub security_hub: Option<super::securityhub::SecurityHubFindings>,
}

impl AlertSink for AlertTargets {
    async fn publish(&self, alert: &Alert) -> Result<(), AlertError> {
        if let Some(topic) = &self.topic {
            topic.publish(alert).await?;
        }
        if let Some(bus) = &self.bus {
            bus.publish(alert).await?;
        }
        Ok(())
    }

    async fn import_finding(&self, finding: &crate::finding::Finding) -> Result<(), AlertError> {
        match &self.security_hub {
            Some(hub) => hub.import(finding).await,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ascii_subject;

    #[test]
    fn a_subject_is_made_printable_ascii() {
        assert_eq!(ascii_subject("root at work…\nnow"), "root at work.?now");
    }
}
