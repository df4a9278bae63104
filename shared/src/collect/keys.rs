//! What an object in a trail's bucket is, from its key alone.
//!
//! CloudTrail writes `[prefix/]AWSLogs/[o-org/]<account>/CloudTrail/<region>/YYYY/MM/DD/<file>.json.gz`
//! for logs, and `CloudTrail-Digest/` and `CloudTrail-Insight/` beside `CloudTrail/` for digest
//! files and Insights events, which hold no API calls.

/// A key's kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrailKey {
    /// A log file of API calls.
    Log { account: String, region: String },
    /// An integrity digest: no events.
    Digest,
    /// CloudTrail Insights events: not API calls.
    Insight,
    /// Anything else in the bucket.
    Other,
}

impl TrailKey {
    pub fn of(key: &str) -> TrailKey {
        let Some((_, rest)) = key.split_once("AWSLogs/") else {
            return TrailKey::Other;
        };
        let mut parts = rest.split('/').peekable();
        // An organization trail puts the organization's id before the account.
        if parts.peek().is_some_and(|part| part.starts_with("o-")) {
            parts.next();
        }
        let (Some(account), Some(kind)) = (parts.next(), parts.next()) else {
            return TrailKey::Other;
        };
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return TrailKey::Other;
        }
        match kind {
            "CloudTrail-Digest" => TrailKey::Digest,
            "CloudTrail-Insight" => TrailKey::Insight,
            "CloudTrail" => {
                let region = parts.next().unwrap_or_default();
                let is_log =
                    !region.is_empty() && (key.ends_with(".json.gz") || key.ends_with(".json"));
                if is_log {
                    TrailKey::Log {
                        account: account.to_string(),
                        region: region.to_string(),
                    }
                } else {
                    TrailKey::Other
                }
            }
            _ => TrailKey::Other,
        }
    }

    /// Why an object is not read, for the log; `None` for a log file.
    pub fn skip_reason(&self) -> Option<&'static str> {
        match self {
            TrailKey::Log { .. } => None,
            TrailKey::Digest => Some("a CloudTrail digest file holds no events"),
            TrailKey::Insight => Some("a CloudTrail Insights file holds no API calls"),
            TrailKey::Other => Some("not a CloudTrail log file (AWSLogs/…/CloudTrail/…json.gz)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_and_organization_trails_are_logs_and_digests_are_not() {
        assert_eq!(
            TrailKey::of(
                "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/02/111122223333_CloudTrail_eu-west-1_20261102T0915Z_a1B2c3D4e5F6g7H8.json.gz"
            ),
            TrailKey::Log {
                account: "111122223333".into(),
                region: "eu-west-1".into()
            }
        );
        assert_eq!(
            TrailKey::of(
                "logs/AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail/us-east-1/2026/11/02/444455556666_CloudTrail_us-east-1_20261102T0915Z_x.json.gz"
            ),
            TrailKey::Log {
                account: "444455556666".into(),
                region: "us-east-1".into()
            }
        );
        assert_eq!(
            TrailKey::of(
                "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/02/111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_20261102T101500Z.json.gz"
            ),
            TrailKey::Digest
        );
        assert_eq!(
            TrailKey::of("AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2026/11/02/x.json.gz"),
            TrailKey::Insight
        );
        for other in [
            "AWSLogs/111122223333/elasticloadbalancing/us-east-1/2026/11/02/x.log.gz",
            "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/02/",
            "AWSLogs/short/CloudTrail/us-east-1/2026/11/02/x.json.gz",
            "uploads/report.json.gz",
        ] {
            assert_eq!(TrailKey::of(other), TrailKey::Other, "{other}");
            assert!(TrailKey::of(other).skip_reason().is_some());
        }
    }
}
