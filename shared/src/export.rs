//! Findings in the two shapes AWS security data lives in: OCSF's Detection Finding (class
//! 2004, as Security Lake stores findings) and the AWS Security Finding Format (ASFF, as
//! Security Hub imports them).

use serde_json::{Value, json};

use crate::anomaly::Severity;
use crate::finding::Finding;

const PRODUCT: &str = "trailwatch";
/// The OCSF schema version the objects follow.
pub const OCSF_VERSION: &str = "1.1.0";

/// OCSF `severity_id`: 2 Low, 3 Medium, 4 High, 5 Critical.
fn ocsf_severity(severity: Severity) -> u8 {
    match severity {
        Severity::Low => 2,
        Severity::Medium => 3,
        Severity::High => 4,
        Severity::Critical => 5,
    }
}

/// A finding as an OCSF Detection Finding (class 2004), activity Create.
pub fn ocsf(finding: &Finding) -> Value {
    let (status_id, status) = if finding.is_suppressed() {
        (3, "Suppressed")
    } else {
        (1, "New")
    };
    let resources: Vec<Value> = finding
        .resources
        .iter()
        .map(|resource| json!({"uid": resource, "type": "AWS resource"}))
        .collect();
    json!({
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": 1,
        "activity_name": "Create",
        "type_uid": 200401,
        "time": finding.last_seen.timestamp_millis(),
        "start_time": finding.first_seen.timestamp_millis(),
        "end_time": finding.last_seen.timestamp_millis(),
        "count": finding.count,
        "severity_id": ocsf_severity(finding.severity),
        "severity": capitalised(finding.severity),
        "status_id": status_id,
        "status": status,
        "message": finding.reason,
        "finding_info": {
            "uid": finding.id,
            "title": finding.detection.title,
            "desc": finding.reason,
            "first_seen_time": finding.first_seen.timestamp_millis(),
            "last_seen_time": finding.last_seen.timestamp_millis(),
            "analytic": {"uid": finding.detection.id, "name": finding.detection.title, "type_id": 1, "type": "Rule"},
            "attacks": [{
                "tactic": {"name": finding.detection.tactic},
                "technique": {"uid": finding.detection.technique},
            }],
            "related_events": finding.event_ids.iter().map(|id| json!({"uid": id})).collect::<Vec<_>>(),
        },
        "metadata": {
            "version": OCSF_VERSION,
            "product": {"name": PRODUCT, "vendor_name": PRODUCT, "version": env!("CARGO_PKG_VERSION")},
        },
        "cloud": {
            "provider": "AWS",
            "account": {"uid": finding.account_id, "type": "AWS Account"},
            "region": finding.regions.iter().next(),
        },
        "actor": {"user": {"uid": finding.principal, "name": finding.principal}},
        "resources": resources,
        "unmapped": {
            "suppressed_by": finding.suppressed_by,
            "key": finding.key,
            "networks": finding.networks,
            "user_agents": finding.user_agents,
            "regions": finding.regions,
        },
    })
}

/// ASFF `Types`: `namespace/category/classifier`, the tactic where ASFF names it.
fn asff_type(finding: &Finding) -> String {
    const TTPS: [&str; 10] = [
        "Initial Access",
        "Execution",
        "Persistence",
        "Privilege Escalation",
        "Defense Evasion",
        "Credential Access",
        "Discovery",
        "Lateral Movement",
        "Collection",
        "Command and Control",
    ];
    let tactic = finding.detection.tactic.as_str();
    let id = &finding.detection.id;
    if TTPS.contains(&tactic) {
        format!("TTPs/{tactic}/{id}")
    } else if tactic == "Exfiltration" {
        format!("Effects/Data Exfiltration/{id}")
    } else if tactic == "Impact" {
        format!("Effects/Resource Consumption/{id}")
    } else {
        format!("Unusual Behaviors/User/{id}")
    }
}

/// A finding in the AWS Security Finding Format, for Security Hub's `BatchImportFindings`.
/// `region` names Security Hub's region in the product ARN (the finding's own region when
/// `None`).
pub fn asff(finding: &Finding, region: Option<&str>) -> Value {
    let account = finding.account_id.as_deref().unwrap_or("000000000000");
    let region = region
        .or(finding.regions.iter().next().map(String::as_str))
        .unwrap_or("us-east-1");
    let principal_type = if finding.principal.contains(":user/") {
        "AwsIamUser"
    } else if finding.principal.contains(":role/") {
        "AwsIamRole"
    } else {
        "Other"
    };
    let mut resources = vec![
        json!({"Type": principal_type, "Id": finding.principal, "Partition": "aws", "Region": region}),
    ];
    resources.extend(finding.resources.iter().take(31).map(
        |resource| json!({"Type": "Other", "Id": resource, "Partition": "aws", "Region": region}),
    ));
    let mut description = finding.reason.clone();
    if description.len() > 1024 {
        description.truncate(description.floor_char_boundary(1021));
        description.push_str("...");
    }
    json!({
        "SchemaVersion": "2018-10-08",
        "Id": finding.id,
        "ProductArn": format!("arn:aws:securityhub:{region}:{account}:product/{account}/default"),
        "ProductName": PRODUCT,
        "CompanyName": PRODUCT,
        "GeneratorId": finding.detection.id,
        "AwsAccountId": account,
        "Types": [asff_type(finding)],
        "FirstObservedAt": finding.first_seen.to_rfc3339(),
        "LastObservedAt": finding.last_seen.to_rfc3339(),
        "CreatedAt": finding.first_seen.to_rfc3339(),
        "UpdatedAt": finding.last_seen.to_rfc3339(),
        "Severity": {"Label": finding.severity.as_str().to_ascii_uppercase()},
        "Title": finding.detection.title,
        "Description": description,
        "Resources": resources,
        "Workflow": {"Status": if finding.is_suppressed() { "SUPPRESSED" } else { "NEW" }},
        "RecordState": "ACTIVE",
        "ProductFields": {
            "trailwatch/Count": finding.count.to_string(),
            "trailwatch/Technique": finding.detection.technique,
            "trailwatch/SuppressedBy": finding.suppressed_by.clone().unwrap_or_default(),
            "trailwatch/SampleEventIds": finding.event_ids.join(","),
        },
    })
}

fn capitalised(severity: Severity) -> &'static str {
    match severity {
        Severity::Low => "Low",
        Severity::Medium => "Medium",
        Severity::High => "High",
        Severity::Critical => "Critical",
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::finding::{Contribution, DetectionRef};

    fn finding(suppressed: bool) -> Finding {
        let at = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
        let contribution = Contribution {
            finding_id: "F-0123456789abcdef".into(),
            account_id: Some("111122223333".into()),
            principal: "arn:aws:iam::111122223333:user/build-bot".into(),
            access_key: None,
            detection: DetectionRef {
                id: "TW-BASE-DENIED".into(),
                title: "Burst of access-denied errors".into(),
                tactic: "Discovery".into(),
                technique: "T1580".into(),
            },
            key: None,
            window_start: at,
            severity: Severity::Medium,
            reason: "10 access-denied errors within 5 minutes".into(),
            event_id: "e1".into(),
            event_time: at,
            action: "s3:PutObject".into(),
            network: None,
            user_agent: None,
            region: Some("eu-west-1".into()),
            resources: vec!["arn:aws:s3:::audit".into()],
            suppressed_by: suppressed.then(|| "known-bot".into()),
        };
        let mut finding = Finding::opened_by(&contribution);
        finding.absorb(&contribution);
        finding
    }

    #[test]
    fn ocsf_is_a_detection_finding_with_the_finding_its_count_and_its_tactic() {
        let ocsf = ocsf(&finding(false));
        assert_eq!(ocsf["class_uid"], 2004);
        assert_eq!(ocsf["type_uid"], 200401);
        assert_eq!(ocsf["severity_id"], 3);
        assert_eq!(ocsf["status"], "New");
        assert_eq!(ocsf["count"], 1);
        assert_eq!(ocsf["finding_info"]["uid"], "F-0123456789abcdef");
        assert_eq!(ocsf["finding_info"]["analytic"]["uid"], "TW-BASE-DENIED");
        assert_eq!(
            ocsf["finding_info"]["attacks"][0]["tactic"]["name"],
            "Discovery"
        );
        assert_eq!(ocsf["cloud"]["account"]["uid"], "111122223333");
        assert_eq!(ocsf["cloud"]["region"], "eu-west-1");
        assert_eq!(super::ocsf(&finding(true))["status_id"], 3);
    }

    #[test]
    fn asff_has_every_field_security_hub_requires() {
        let asff = asff(&finding(true), None);
        for field in [
            "SchemaVersion",
            "Id",
            "ProductArn",
            "GeneratorId",
            "AwsAccountId",
            "Types",
            "CreatedAt",
            "UpdatedAt",
            "Severity",
            "Title",
            "Description",
            "Resources",
        ] {
            assert!(!asff[field].is_null(), "{field} missing");
        }
        assert_eq!(
            asff["ProductArn"],
            "arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default"
        );
        assert_eq!(asff["Types"][0], "TTPs/Discovery/TW-BASE-DENIED");
        assert_eq!(asff["Severity"]["Label"], "MEDIUM");
        assert_eq!(asff["Resources"][0]["Type"], "AwsIamUser");
        assert_eq!(asff["Workflow"]["Status"], "SUPPRESSED");
    }
}
