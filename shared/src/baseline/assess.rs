//! Turns what a profile store observed into detections, with reasons a person can check.

use chrono::{DateTime, Duration, Utc};

use super::{BaselineConfig, Features, Kind, Observation};
use crate::anomaly::{Detection, Severity};

struct Signal {
    id: &'static str,
    title: &'static str,
    severity: Severity,
    tactic: &'static str,
    technique: &'static str,
}

const NEW_PRINCIPAL: Signal = Signal {
    id: "TW-BASE-PRINCIPAL",
    title: "New principal",
    severity: Severity::Low,
    tactic: "Initial Access",
    technique: "T1078.004",
};
const NEW_API: Signal = Signal {
    id: "TW-BASE-API",
    title: "First use of an API",
    severity: Severity::Low,
    tactic: "Initial Access",
    technique: "T1078.004",
};
const NEW_API_DENIED: Signal = Signal {
    id: "TW-BASE-API-DENIED",
    title: "Denied call of an API never used",
    severity: Severity::Medium,
    tactic: "Discovery",
    technique: "T1526",
};
const NEW_NETWORK_AND_CLIENT: Signal = Signal {
    id: "TW-BASE-NETWORK-CLIENT",
    title: "First call from a network with a client never used",
    severity: Severity::Medium,
    tactic: "Initial Access",
    technique: "T1078.004",
};
const NEW_NETWORK: Signal = Signal {
    id: "TW-BASE-NETWORK",
    title: "First call from a network",
    severity: Severity::Low,
    tactic: "Initial Access",
    technique: "T1078.004",
};
const NEW_REGION: Signal = Signal {
    id: "TW-BASE-REGION",
    title: "First activity in a region",
    severity: Severity::Medium,
    tactic: "Defense Evasion",
    technique: "T1535",
};
const NEW_USER_AGENT: Signal = Signal {
    id: "TW-BASE-USERAGENT",
    title: "First use of a client",
    severity: Severity::Low,
    tactic: "Initial Access",
    technique: "T1078.004",
};
const NEW_ASSET: Signal = Signal {
    id: "TW-BASE-ASSET",
    title: "First touch of a resource",
    severity: Severity::Low,
    tactic: "Collection",
    technique: "T1530",
};
const VOLUME_SPIKE: Signal = Signal {
    id: "TW-BASE-VOLUME",
    title: "Call volume spike",
    severity: Severity::Medium,
    tactic: "Impact",
    technique: "T1496",
};
const DENIED_BURST: Signal = Signal {
    id: "TW-BASE-DENIED",
    title: "Burst of access-denied errors",
    severity: Severity::Medium,
    tactic: "Discovery",
    technique: "T1580",
};
const INSTANCE_CREDENTIALS: Signal = Signal {
    id: "TW-BASE-INSTANCECREDS",
    title: "Instance credentials used from a new network",
    severity: Severity::High,
    tactic: "Credential Access",
    technique: "T1552.005",
};

impl Signal {
    fn detect(&self, reason: String) -> Detection {
        Detection {
            id: self.id.to_string(),
            title: self.title.to_string(),
            severity: self.severity,
            tactic: self.tactic.to_string(),
            technique: self.technique.to_string(),
            reason,
            tags: Vec::new(),
            attribution: None,
        }
    }
}

/// The baseline detections one observed event makes.
pub fn assess(
    features: &Features,
    observation: &Observation,
    at: DateTime<Utc>,
    config: &BaselineConfig,
) -> Vec<Detection> {
    let mut detections = Vec::new();
    // A service failing to deliver its logs is a misconfiguration the rules and one finding
    // report, not a thousand first-seen values, bursts and spikes of an attacker.
    if features.aws_service && !config.judge_aws_services {
        return detections;
    }
    let principal = &features.principal;

    if observation.first_seen.is_none()
        && let Some(account_first) = observation.account_first_seen
        && at - account_first >= config.account_learning_period
    {
        detections.push(NEW_PRINCIPAL.detect(format!(
            "first activity of {principal}, {} after the account's first event",
            span(at - account_first)
        )));
    }

    let learning = observation.learning(at, config);
    let history = observation
        .first_seen
        .map(|first| span(at - first))
        .unwrap_or_default();
    let new = |kind: Kind| -> Vec<&str> {
        observation
            .new_values
            .iter()
            .filter(|(value_kind, _)| *value_kind == kind)
            .map(|(_, value)| value.as_str())
            .collect()
    };

    if !learning {
        if let Some(api) = new(Kind::Api).first() {
            // Trying a call it never made and being refused is how enumeration looks when
            // it is spread too thin for a burst. Not from the console: its pages call on a
            // person's behalf, and a refusal there is a missing permission, not a probe.
            if features.denied && !from_console(features) {
                detections.push(NEW_API_DENIED.detect(format!(
                    "{principal} was denied {api}, a call it never made in {history} of history"
                )));
            } else {
                detections.push(NEW_API.detect(format!(
                    "first call of {api} by {principal} in {history} of history"
                )));
            }
        }
        let network = new(Kind::Network).first().copied();
        let family = new(Kind::UserAgent).first().copied();
        // Both new at once is someone else's machine more often than a new laptop; instance
        // credentials elsewhere are news of their own, with the client said beside them.
        let together = network.is_some() && family.is_some() && !features.instance_credentials;
        if let Some(network) = network {
            if features.instance_credentials {
                detections.push(INSTANCE_CREDENTIALS.detect(format!(
                    "instance credentials of {principal} used from {network}, a network its instances never used in {history}"
                )));
            } else if let Some(family) = family {
                detections.push(NEW_NETWORK_AND_CLIENT.detect(format!(
                    "first call by {principal} from {network}, with {family}, a client it never used, in {history} of history"
                )));
            } else {
                detections.push(NEW_NETWORK.detect(format!(
                    "first call by {principal} from {network} in {history} of history"
                )));
            }
        }
        if let Some(region) = new(Kind::Region).first() {
            detections.push(NEW_REGION.detect(format!(
                "first activity of {principal} in {region} in {history} of history"
            )));
        }
        if let Some(family) = family.filter(|_| !together) {
            detections.push(NEW_USER_AGENT.detect(format!(
                "first use of {family} by {principal} in {history} of history"
            )));
        }
        let assets = new(Kind::Asset);
        if !assets.is_empty() {
            let shown: Vec<&str> = assets.iter().take(3).copied().collect();
            let more = if assets.len() > 3 {
                format!(" and {} more", assets.len() - 3)
            } else {
                String::new()
            };
            detections.push(NEW_ASSET.detect(format!(
                "first touch of {}{more} by {principal} in {history} of history",
                shown.join(", ")
            )));
        }
        if observation.volume_spike
            && let Some(typical) = observation.typical_hour
        {
            detections.push(VOLUME_SPIKE.detect(format!(
                "{} calls by {principal} this hour, over {:.0}× its typical {typical:.0}",
                observation.hour_count, config.volume_factor
            )));
        }
    }

    // A burst is news whether or not the principal is still learning.
    if features.denied && observation.denied_burst {
        detections.push(DENIED_BURST.detect(format!(
            "{} access-denied errors for {principal} within {}",
            observation.denied_in_window,
            span(config.denied_window)
        )));
    }
    detections
}

/// A call the AWS console made as a page loaded.
fn from_console(features: &Features) -> bool {
    matches!(
        features.value(Kind::UserAgent),
        Some("browser" | "aws internal")
    )
}

/// "14 days", "5 hours", "3 minutes".
fn span(duration: Duration) -> String {
    let plural =
        |count: i64, unit: &str| format!("{count} {unit}{}", if count == 1 { "" } else { "s" });
    if duration.num_days() >= 1 {
        plural(duration.num_days(), "day")
    } else if duration.num_hours() >= 1 {
        plural(duration.num_hours(), "hour")
    } else {
        plural(duration.num_minutes().max(0), "minute")
    }
}

#[cfg(test)]
mod tests;
