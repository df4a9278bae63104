//! What a baseline remembers of an event: its principal and the values whose first
//! appearance is news (API, network, region, user-agent family, assets).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::event::Event;

/// A kind of value a principal's profile remembers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Api,
    Network,
    Region,
    UserAgent,
    Asset,
    /// What a first-time rule remembers: its id, and the network for a per-network one.
    Rule,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Api,
        Kind::Network,
        Kind::Region,
        Kind::UserAgent,
        Kind::Asset,
        Kind::Rule,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Api => "api",
            Kind::Network => "network",
            Kind::Region => "region",
            Kind::UserAgent => "user_agent",
            Kind::Asset => "asset",
            Kind::Rule => "rule",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// The most assets of one event a baseline remembers.
pub const MAX_ASSETS_OBSERVED: usize = 20;

/// The baseline's view of one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// The event these are features of: a value first seen by this event stays new for it
    /// when the event is processed again (a retried message).
    pub event_id: String,
    pub principal: String,
    pub account: Option<String>,
    /// (kind, value) pairs, at most one of each kind but assets.
    pub values: Vec<(Kind, String)>,
    /// The call was refused for lack of permission.
    pub denied: bool,
    /// Credentials of an EC2 instance's role (session named for the instance id).
    pub instance_credentials: bool,
    /// An AWS service made the call (see [`Event::is_aws_service_call`]).
    pub aws_service: bool,
    /// Whether the profile learns from the event. An event someone posted (not one AWS
    /// delivered) is assessed against the profile but teaches it nothing: forged history
    /// must not make an attacker's network "known".
    pub learns: bool,
}

impl Features {
    pub fn of(event: &Event) -> Features {
        let mut values = Vec::with_capacity(4 + event.assets.len().min(MAX_ASSETS_OBSERVED));
        values.push((Kind::Api, event.action()));
        if let Some(network) = event.source_ip.as_deref().and_then(network_of) {
            values.push((Kind::Network, network));
        }
        if let Some(region) = event.region.as_ref().filter(|_| !is_global_service(event)) {
            values.push((Kind::Region, region.clone()));
        }
        if let Some(family) = event.user_agent.as_deref().map(user_agent_family) {
            values.push((Kind::UserAgent, family));
        }
        // Bounded work per event: the first assets stand for the rest (each new one costs a
        // store write).
        values.extend(
            event
                .assets
                .iter()
                .take(MAX_ASSETS_OBSERVED)
                .map(|asset| (Kind::Asset, asset.clone())),
        );
        Features {
            event_id: event.event_id.clone(),
            principal: event.principal.clone(),
            account: event.account_id.clone(),
            values,
            denied: event.error_code.as_deref().is_some_and(is_access_denied),
            instance_credentials: is_instance_session(event),
            aws_service: event.is_aws_service_call(),
            learns: true,
        }
    }

    pub fn value(&self, kind: Kind) -> Option<&str> {
        self.values
            .iter()
            .find(|(value_kind, _)| *value_kind == kind)
            .map(|(_, value)| value.as_str())
    }
}

/// Services whose calls CloudTrail records in one region (us-east-1) whatever region the
/// caller works in: their region says nothing about the caller, so it is not learned or
/// judged (else a user of eu-west-1 listing IAM roles is "first activity in us-east-1").
const GLOBAL_SERVICES: [&str; 6] = [
    "iam",
    "organizations",
    "route53",
    "cloudfront",
    "globalaccelerator",
    "signin",
];

fn is_global_service(event: &Event) -> bool {
    GLOBAL_SERVICES
        .iter()
        .any(|service| event.is_service_prefix(service))
}

/// The network an address belongs to: its IPv4 /24 or IPv6 /48. Service names CloudTrail
/// puts in `sourceIPAddress` (`ec2.amazonaws.com`, `AWS Internal`) are not networks.
pub fn network_of(source: &str) -> Option<String> {
    match source.parse::<IpAddr>().ok()? {
        IpAddr::V4(address) => {
            let [a, b, c, _] = address.octets();
            Some(format!("{a}.{b}.{c}.0/24"))
        }
        IpAddr::V6(address) => {
            let segments = address.segments();
            Some(format!(
                "{:x}:{:x}:{:x}::/48",
                segments[0], segments[1], segments[2]
            ))
        }
    }
}

/// A user agent's stable family: the tool, not its version or platform.
pub fn user_agent_family(user_agent: &str) -> String {
    let agent = user_agent.trim().trim_start_matches('[');
    let lower = agent.to_ascii_lowercase();
    if lower.contains("terraform") {
        return "terraform".to_string();
    }
    if lower.starts_with("mozilla/") {
        return "browser".to_string();
    }
    if lower.ends_with(".amazonaws.com") || lower == "aws internal" {
        return lower;
    }
    let first = lower.split_whitespace().next().unwrap_or_default();
    let name = first
        .split('/')
        .next()
        .unwrap_or(first)
        .trim_end_matches(']');
    if name.is_empty() {
        "unknown".to_string()
    } else {
        name.to_string()
    }
}

/// Error codes that mean "not allowed".
pub fn is_access_denied(code: &str) -> bool {
    code.starts_with("AccessDenied")
        || code.ends_with("UnauthorizedOperation")
        || code.ends_with("UnauthorizedAccess")
        || code == "AuthorizationError"
        || code == "Forbidden"
        || code == "NotAuthorized"
}

/// An assumed-role session named for an EC2 instance (`i-0123456789abcdef0`): the
/// credentials an instance gets from its instance profile.
fn is_instance_session(event: &Event) -> bool {
    if event.identity_type.as_deref() != Some("AssumedRole") {
        return false;
    }
    let session = event
        .identity_arn
        .as_deref()
        .and_then(|arn| arn.rsplit('/').next());
    session.is_some_and(|session| {
        session.strip_prefix("i-").is_some_and(|id| {
            (8..=17).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_hexdigit())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_prefixes_and_service_names_are_not_networks() {
        assert_eq!(
            network_of("203.0.113.17").as_deref(),
            Some("203.0.113.0/24")
        );
        assert_eq!(
            network_of("2001:db8:85a3::8a2e:370:7334").as_deref(),
            Some("2001:db8:85a3::/48")
        );
        assert_eq!(network_of("ec2.amazonaws.com"), None);
        assert_eq!(network_of("AWS Internal"), None);
    }

    #[test]
    fn user_agent_families_drop_versions_and_platforms() {
        assert_eq!(
            user_agent_family("aws-cli/2.17.32 md/awscrt#0.21.2 ua/2.0 os/linux#5.15"),
            "aws-cli"
        );
        assert_eq!(user_agent_family("aws-cli/1.29.0 Python/3.11"), "aws-cli");
        assert_eq!(
            user_agent_family("[aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21]"),
            "aws-sdk-go-v2"
        );
        assert_eq!(
            user_agent_family("Boto3/1.34.0 md/Botocore#1.34.0"),
            "boto3"
        );
        assert_eq!(
            user_agent_family("Mozilla/5.0 (Macintosh) Safari/605.1.15"),
            "browser"
        );
        assert_eq!(
            user_agent_family(
                "APN/1.0 HashiCorp/1.0 Terraform/1.5.7 terraform-provider-aws/5.31.0"
            ),
            "terraform"
        );
        assert_eq!(
            user_agent_family("cloudformation.amazonaws.com"),
            "cloudformation.amazonaws.com"
        );
    }

    #[test]
    fn denials_are_recognised_across_services() {
        for code in [
            "AccessDenied",
            "AccessDeniedException",
            "UnauthorizedOperation",
            "Client.UnauthorizedOperation",
        ] {
            assert!(is_access_denied(code), "{code}");
        }
        for code in ["NoSuchBucket", "ThrottlingException", "ValidationException"] {
            assert!(!is_access_denied(code), "{code}");
        }
    }

    #[test]
    fn the_region_of_a_global_service_call_is_not_a_feature() {
        let features = |source: &str, name: &str| {
            let record = serde_json::json!({"eventID": "e", "eventTime": "2026-11-02T09:00:00Z",
                "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
                "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice"}});
            Features::of(&crate::input::parse_event(0, record).unwrap())
        };
        assert_eq!(
            features("ec2.amazonaws.com", "DescribeInstances").value(Kind::Region),
            Some("us-east-1")
        );
        for (source, name) in [
            ("iam.amazonaws.com", "ListRoles"),
            ("organizations.amazonaws.com", "DescribeOrganization"),
            ("signin.amazonaws.com", "ConsoleLogin"),
        ] {
            let features = features(source, name);
            assert_eq!(features.value(Kind::Region), None, "{name}");
            assert!(features.value(Kind::Api).is_some(), "{name}");
        }
    }
}
