//! The publisher's work: the cases table's changes, in stream order, turned into alerts and
//! published. A stream is read in order per shard, so the first change that cannot be
//! published stops the batch there: it and every later change are tried again (the runtime
//! resumes from the failed record), and the alerts before it are not published twice except
//! by a retry of the whole batch — which carries the same alert ids.

use crate::alert::{AlertPolicy, Case, CaseChange, alerts_for};
use crate::ports::AlertSink;

/// One stream record: its sequence number and the change it holds, or why it cannot be read.
#[derive(Debug, Clone)]
pub struct ChangeRecord {
    pub sequence_number: String,
    pub change: Result<CaseChange, String>,
}

/// What a batch came to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PublishReport {
    pub changes: usize,
    pub alerts_published: usize,
    /// The sequence number to resume from, when a change failed.
    pub failed_at: Option<String>,
}

/// Publishes the alerts of each change, in order, stopping at the first failure.
pub async fn publish_changes<S: AlertSink>(
    records: &[ChangeRecord],
    sink: &S,
    policy: &AlertPolicy,
) -> PublishReport {
    let mut report = PublishReport::default();
    for record in records {
        let change = match &record.change {
            Ok(change) => change,
            Err(reason) => {
                // Retries cannot mend it; after them the runtime sends the record's position
                // to the on-failure destination, where it is seen.
                tracing::error!(sequence_number = %record.sequence_number, %reason, "unreadable change");
                report.failed_at = Some(record.sequence_number.clone());
                return report;
            }
        };
        report.changes += 1;
        let alerts = alerts_for(change, policy);
        if let (Some(Case::Finding(finding)), false) = (&change.after, alerts.is_empty())
            && let Err(error) = sink.import_finding(finding).await
        {
            tracing::warn!(%error, "finding not imported; the change will be retried");
            report.failed_at = Some(record.sequence_number.clone());
            return report;
        }
        for alert in alerts {
            match sink.publish(&alert).await {
                Ok(()) => {
                    tracing::info!(alert_id = %alert.alert_id, severity = alert.severity.as_str(), "alert published");
                    report.alerts_published += 1;
                }
                Err(error) => {
                    tracing::warn!(%error, "alert not published; the change will be retried");
                    report.failed_at = Some(record.sequence_number.clone());
                    return report;
                }
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::memory_alerts::MemoryAlerts;
    use crate::alert::Case;
    use crate::finding::Finding;

    fn new_finding(id: &str) -> CaseChange {
        let finding: Finding = serde_json::from_value(serde_json::json!({
            "id": id, "account_id": null, "principal": "root",
            "detection": {"id": "TW-ROOT-001", "title": "Root account used", "tactic": "Privilege Escalation", "technique": "T1078.004"},
            "key": null, "window_start": "2026-11-30T00:00:00Z", "severity": "high",
            "reason": "root signed in", "first_seen": "2026-11-30T10:00:00Z",
            "last_seen": "2026-11-30T10:00:00Z", "count": 1, "event_ids": [], "actions": [],
            "networks": [], "user_agents": [], "regions": [], "resources": [], "suppressed_by": null
        }))
        .unwrap();
        CaseChange {
            before: None,
            after: Some(Case::Finding(Box::new(finding))),
        }
    }

    fn records() -> Vec<ChangeRecord> {
        ["F-1", "F-2", "F-3"]
            .iter()
            .enumerate()
            .map(|(n, id)| ChangeRecord {
                sequence_number: format!("{n}"),
                change: Ok(new_finding(id)),
            })
            .collect()
    }

    #[tokio::test]
    async fn a_failed_publish_stops_the_batch_there_and_its_retry_loses_nothing() {
        let sink = MemoryAlerts::default();
        let records = records();
        sink.fail_next(1);
        let first = publish_changes(&records, &sink, &AlertPolicy::default()).await;
        assert_eq!(first.failed_at.as_deref(), Some("0"));
        assert!(sink.published().is_empty());
        // The runtime resumes from the failed record.
        let retry = publish_changes(&records, &sink, &AlertPolicy::default()).await;
        assert_eq!(retry.failed_at, None);
        let ids: Vec<String> = sink.published().into_iter().map(|a| a.alert_id).collect();
        assert_eq!(ids, ["F-1:opened", "F-2:opened", "F-3:opened"]);
    }

    #[tokio::test]
    async fn a_finding_told_is_imported_once_and_its_growth_is_not() {
        let sink = MemoryAlerts::default();
        let mut records = records();
        let grown = match &records[0].change {
            Ok(CaseChange {
                after: Some(Case::Finding(finding)),
                ..
            }) => {
                let mut grown = finding.clone();
                grown.count += 1;
                CaseChange {
                    before: Some(Case::Finding(finding.clone())),
                    after: Some(Case::Finding(grown)),
                }
            }
            _ => unreachable!("a finding"),
        };
        records.push(ChangeRecord {
            sequence_number: "3".into(),
            change: Ok(grown),
        });
        publish_changes(&records, &sink, &AlertPolicy::default()).await;
        assert_eq!(sink.imported(), ["F-1", "F-2", "F-3"]);
    }

    #[tokio::test]
    async fn an_unreadable_change_is_failed_not_skipped() {
        let sink = MemoryAlerts::default();
        let mut records = records();
        records[1].change = Err("F-2: missing field `severity`".into());
        let report = publish_changes(&records, &sink, &AlertPolicy::default()).await;
        assert_eq!(report.failed_at.as_deref(), Some("1"));
        assert_eq!(sink.published().len(), 1);
    }
}
