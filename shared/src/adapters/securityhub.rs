//! Findings imported into AWS Security Hub (`BatchImportFindings`), beside GuardDuty's: the
//! ASFF document `trailwatch scan --format asff` prints ([`crate::export::asff`]), as the
//! SDK's types. Security Hub keeps one finding per id: an import again updates it.

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, Partition, RecordState, Resource, Severity, SeverityLabel, Workflow,
    WorkflowStatus,
};
use serde_json::Value;

use super::sdk_error_text;
use crate::finding::Finding;
use crate::ports::AlertError;

pub struct SecurityHubFindings {
    client: aws_sdk_securityhub::Client,
    /// Security Hub's region, in the product ARN.
    region: Option<String>,
}

impl SecurityHubFindings {
    pub fn new(client: aws_sdk_securityhub::Client, region: Option<String>) -> Self {
        Self { client, region }
    }

    pub async fn import(&self, finding: &Finding) -> Result<(), AlertError> {
        let failed = |reason: String| AlertError {
            alert_id: finding.id.clone(),
            target: "Security Hub".into(),
            reason,
        };
        let document = crate::export::asff(finding, self.region.as_deref());
        let output = self
            .client
            .batch_import_findings()
            .findings(security_finding(&document))
            .send()
            .await
            .map_err(|error| failed(sdk_error_text(&error)))?;
        // Like PutEvents, it answers 200 and refuses findings one by one.
        if output.failed_count.unwrap_or_default() > 0 {
            let refused = output.failed_findings().first();
            return Err(failed(format!(
                "{}: {}",
                refused.and_then(|f| f.error_code()).unwrap_or("refused"),
                refused
                    .and_then(|f| f.error_message())
                    .unwrap_or("no reason given")
            )));
        }
        Ok(())
    }
}

/// The SDK's finding from the ASFF document, field by field.
pub fn security_finding(asff: &Value) -> AwsSecurityFinding {
    let text = |name: &str| asff[name].as_str().unwrap_or_default().to_string();
    let mut builder = AwsSecurityFinding::builder()
        .schema_version(text("SchemaVersion"))
        .id(text("Id"))
        .product_arn(text("ProductArn"))
        .product_name(text("ProductName"))
        .company_name(text("CompanyName"))
        .generator_id(text("GeneratorId"))
        .aws_account_id(text("AwsAccountId"))
        .first_observed_at(text("FirstObservedAt"))
        .last_observed_at(text("LastObservedAt"))
        .created_at(text("CreatedAt"))
        .updated_at(text("UpdatedAt"))
        .title(text("Title"))
        .description(text("Description"))
        .severity(
            Severity::builder()
                .label(SeverityLabel::from(
                    asff["Severity"]["Label"]
                        .as_str()
                        .unwrap_or("INFORMATIONAL"),
                ))
                .build(),
        )
        .workflow(
            Workflow::builder()
                .status(WorkflowStatus::from(
                    asff["Workflow"]["Status"].as_str().unwrap_or("NEW"),
                ))
                .build(),
        )
        .record_state(RecordState::from(
            asff["RecordState"].as_str().unwrap_or("ACTIVE"),
        ));
    for kind in asff["Types"].as_array().into_iter().flatten() {
        builder = builder.types(kind.as_str().unwrap_or_default());
    }
    for resource in asff["Resources"].as_array().into_iter().flatten() {
        let field = |name: &str| resource[name].as_str().unwrap_or_default().to_string();
        builder = builder.resources(
            Resource::builder()
                .r#type(field("Type"))
                .id(field("Id"))
                .partition(Partition::from(field("Partition").as_str()))
                .region(field("Region"))
                .build(),
        );
    }
    for (name, value) in asff["ProductFields"].as_object().into_iter().flatten() {
        builder = builder.product_fields(name, value.as_str().unwrap_or_default());
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_of_the_asff_document_reaches_the_sdk_finding() {
        let finding: Finding = serde_json::from_value(serde_json::json!({
            "id": "F-1", "account_id": "111122223333", "principal": "arn:aws:iam::111122223333:user/bob",
            "detection": {"id": "TW-CLOUDTRAIL-001", "title": "CloudTrail logging stopped",
                          "tactic": "Defense Evasion", "technique": "T1562.008"},
            "key": null, "window_start": "2026-11-30T00:00:00Z", "severity": "high",
            "reason": "bob stopped trail main", "first_seen": "2026-11-30T10:00:00Z",
            "last_seen": "2026-11-30T10:05:00Z", "count": 2, "event_ids": ["e1", "e2"],
            "actions": [], "networks": [], "user_agents": [], "regions": ["eu-west-1"],
            "resources": ["arn:aws:cloudtrail:eu-west-1:111122223333:trail/main"], "suppressed_by": null
        }))
        .unwrap();
        let sdk = security_finding(&crate::export::asff(&finding, None));
        assert_eq!(sdk.id(), Some("F-1"));
        assert_eq!(
            sdk.product_arn(),
            Some("arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default")
        );
        assert_eq!(
            sdk.severity().and_then(|s| s.label()),
            Some(&SeverityLabel::High)
        );
        assert_eq!(sdk.types(), ["TTPs/Defense Evasion/TW-CLOUDTRAIL-001"]);
        assert_eq!(sdk.resources().len(), 2);
        assert_eq!(sdk.resources()[0].r#type(), Some("AwsIamUser"));
        assert_eq!(
            sdk.workflow().and_then(|w| w.status()),
            Some(&WorkflowStatus::New)
        );
        assert_eq!(
            sdk.product_fields()
                .and_then(|fields| fields.get("trailwatch/Count"))
                .map(String::as_str),
            Some("2")
        );
        assert_eq!(sdk.description(), Some("bob stopped trail main"));
    }
}
