//! Structural checks the catalog names where a field test is not enough: policy documents,
//! permission lists, port ranges, instance types. Each reads only the fields it needs.

use serde_json::Value;
use std::net::IpAddr;

use crate::event::Event;

fn request(event: &Event) -> Option<&Value> {
    event
        .record()
        .get("requestParameters")
        .filter(|value| !value.is_null())
}

fn request_str<'e>(event: &'e Event, key: &str) -> Option<&'e str> {
    request(event)?.get(key)?.as_str()
}

/// The acting identity's own user name, for "on another user" checks.
fn own_user_name(event: &Event) -> Option<&str> {
    event.record().pointer("/userIdentity/userName")?.as_str()
}

/// The call names a user (`requestParameters.userName`) other than the caller. Without a
/// user name, IAM acts on the caller itself.
pub fn acts_on_other_user(event: &Event) -> bool {
    match request_str(event, "userName") {
        Some(target) => own_user_name(event) != Some(target),
        None => false,
    }
}

/// Managed policies that amount to administrator or IAM control.
const ADMIN_POLICIES: [&str; 4] = [
    "/AdministratorAccess",
    "/IAMFullAccess",
    "/AWSOrganizationsFullAccess",
    "/PowerUserAccess",
];

pub fn attaches_admin_policy(event: &Event) -> bool {
    request_str(event, "policyArn")
        .is_some_and(|arn| ADMIN_POLICIES.iter().any(|policy| arn.ends_with(policy)))
}

/// A policy document, given inline as a JSON string (IAM) or as an object (S3).
fn document(value: Option<&Value>) -> Option<Value> {
    match value? {
        Value::String(text) => serde_json::from_str(text).ok(),
        object @ Value::Object(_) => Some(object.clone()),
        _ => None,
    }
}

/// A statement's `Statement` entries, whether one object or a list.
fn statements(document: &Value) -> Vec<&Value> {
    match document.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(item @ Value::Object(_)) => vec![item],
        _ => Vec::new(),
    }
}

fn is_allow(statement: &Value) -> bool {
    statement.get("Effect").and_then(Value::as_str) == Some("Allow")
}

/// A string, or a list of strings, that is or holds `*`.
fn has_wildcard(value: Option<&Value>) -> bool {
    match value {
        Some(Value::String(text)) => text == "*",
        Some(Value::Array(items)) => items.iter().any(|item| item.as_str() == Some("*")),
        _ => false,
    }
}

/// An inline policy that allows every action on every resource.
pub fn grants_everything(event: &Event) -> bool {
    document(request(event).and_then(|request| request.get("policyDocument"))).is_some_and(
        |document| {
            statements(&document).iter().any(|statement| {
                is_allow(statement)
                    && has_wildcard(statement.get("Action"))
                    && has_wildcard(statement.get("Resource"))
            })
        },
    )
}

/// Principals a trust or resource policy statement names: `"*"`, or the values under
/// `AWS` (ARNs or account ids).
fn aws_principals(statement: &Value) -> Vec<String> {
    match statement.get("Principal") {
        Some(Value::String(text)) => vec![text.clone()],
        Some(Value::Object(principal)) => match principal.get("AWS") {
            Some(Value::String(text)) => vec![text.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// The 12-digit account in an ARN or a bare account id.
fn account_of(principal: &str) -> Option<&str> {
    if principal.len() == 12 && principal.bytes().all(|b| b.is_ascii_digit()) {
        return Some(principal);
    }
    principal
        .split(':')
        .nth(4)
        .filter(|account| !account.is_empty())
}

/// Whether a principal is everyone or belongs to another account than the event's.
fn is_foreign(principal: &str, own_account: Option<&str>) -> bool {
    principal == "*" || account_of(principal).is_some_and(|account| Some(account) != own_account)
}

/// A role trust policy (UpdateAssumeRolePolicy, CreateRole) that lets `*` or another
/// account assume the role.
pub fn trusts_foreign_principal(event: &Event) -> bool {
    let request = request(event);
    let policy = document(request.and_then(|request| request.get("policyDocument")))
        .or_else(|| document(request.and_then(|request| request.get("assumeRolePolicyDocument"))));
    let own_account = event.account_id.as_deref();
    policy.is_some_and(|policy| {
        statements(&policy).iter().any(|statement| {
            is_allow(statement)
                && aws_principals(statement)
                    .iter()
                    .any(|principal| is_foreign(principal, own_account))
        })
    })
}

/// A request header's values: CloudTrail writes S3's headers as a string or, for some
/// clients, a list of strings.
fn header_values(value: &Value) -> impl Iterator<Item = &str> {
    let list = value
        .as_array()
        .map(|values| values.iter().filter_map(Value::as_str));
    value.as_str().into_iter().chain(list.into_iter().flatten())
}

/// An S3 bucket policy with an Allow for everyone.
pub fn bucket_policy_is_public(event: &Event) -> bool {
    document(request(event).and_then(|request| request.get("bucketPolicy"))).is_some_and(|policy| {
        statements(&policy).iter().any(|statement| {
            is_allow(statement)
                && aws_principals(statement)
                    .iter()
                    .any(|principal| principal == "*")
                && statement.get("Condition").is_none()
        })
    })
}

const PUBLIC_GROUPS: [&str; 2] = ["AllUsers", "AuthenticatedUsers"];

/// A bucket ACL granting to all users or all authenticated AWS users, by canned ACL, grant
/// header or ACL document.
pub fn bucket_acl_is_public(event: &Event) -> bool {
    let Some(request) = request(event) else {
        return false;
    };
    let canned = request.get("x-amz-acl").is_some_and(|acl| {
        header_values(acl).any(|acl| acl.starts_with("public-") || acl == "authenticated-read")
    });
    let grant_headers = request.as_object().is_some_and(|fields| {
        fields.iter().any(|(name, value)| {
            name.starts_with("x-amz-grant-")
                && header_values(value)
                    .any(|grantees| PUBLIC_GROUPS.iter().any(|group| grantees.contains(group)))
        })
    });
    let document = request
        .pointer("/AccessControlPolicy/AccessControlList/Grant")
        .map(|grants| grants.to_string())
        .is_some_and(|grants| PUBLIC_GROUPS.iter().any(|group| grants.contains(group)));
    canned || grant_headers || document
}

/// A public access block set with any of its protections off.
pub fn public_access_block_weakened(event: &Event) -> bool {
    request(event)
        .and_then(|request| request.get("PublicAccessBlockConfiguration"))
        .and_then(Value::as_object)
        .is_some_and(|settings| {
            settings
                .iter()
                .filter(|(name, _)| name.as_str() != "xmlns")
                .any(|(_, value)| value.as_bool() == Some(false) || value.as_str() == Some("false"))
        })
}

/// Ports whose exposure to the internet is an invitation: remote administration and
/// databases.
const ADMIN_PORTS: [i64; 12] = [
    22, 23, 135, 445, 1433, 3306, 3389, 5432, 5900, 6379, 9200, 27017,
];

/// Whether a CIDR range opens to much of the internet: judged by its parsed prefix length,
/// not its text (`203.0.113.7/0` is every address, as is `0.0.0.0/0`). Wide means an IPv4
/// /8 or wider, an IPv6 /16 or wider, that is not private (10/8, 172.16/12, 192.168/16,
/// 100.64/10, fc00::/7). A range that does not parse is not judged wide.
pub fn is_public_wide(cidr: &str) -> bool {
    let Some((address, length)) = cidr.trim().split_once('/') else {
        return false;
    };
    let (Ok(address), Ok(length)) = (address.parse::<IpAddr>(), length.parse::<u8>()) else {
        return false;
    };
    match address {
        IpAddr::V4(address) if length <= 32 => {
            let within = |network: [u8; 4], bits: u8| {
                length >= bits && {
                    let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
                    u32::from(address) & mask == u32::from_be_bytes(network) & mask
                }
            };
            let private = within([10, 0, 0, 0], 8)
                || within([172, 16, 0, 0], 12)
                || within([192, 168, 0, 0], 16)
                || within([100, 64, 0, 0], 10);
            length <= 8 && !private
        }
        IpAddr::V6(address) if length <= 128 => {
            let unique_local = length >= 7 && address.segments()[0] & 0xfe00 == 0xfc00;
            length <= 16 && !unique_local
        }
        _ => false,
    }
}

/// A security group rule that opens an admin port (or every port) to much of the internet
/// (0.0.0.0/0, ::/0, or any other wide public range).
pub fn opens_admin_port_to_world(event: &Event) -> bool {
    let permissions = request(event)
        .and_then(|request| request.pointer("/ipPermissions/items"))
        .and_then(Value::as_array);
    permissions.is_some_and(|permissions| {
        permissions.iter().any(|permission| {
            let world = ["/ipRanges/items", "/ipv6Ranges/items"]
                .iter()
                .any(|ranges| {
                    permission
                        .pointer(ranges)
                        .and_then(Value::as_array)
                        .is_some_and(|ranges| {
                            ranges.iter().any(|range| {
                                ["cidrIp", "cidrIpv6"].iter().any(|key| {
                                    range
                                        .get(*key)
                                        .and_then(Value::as_str)
                                        .is_some_and(is_public_wide)
                                })
                            })
                        })
                });
            let all_traffic = permission.get("ipProtocol").and_then(Value::as_str) == Some("-1");
            let from = permission.get("fromPort").and_then(Value::as_i64);
            let to = permission.get("toPort").and_then(Value::as_i64);
            let admin = match (from, to) {
                (Some(from), Some(to)) => ADMIN_PORTS.iter().any(|port| (from..=to).contains(port)),
                _ => false,
            };
            world && (all_traffic || admin)
        })
    })
}

/// An EC2 snapshot or AMI permission list that adds everyone or another account.
pub fn shares_ec2_resource(event: &Event) -> bool {
    let own_account = event.account_id.as_deref();
    [
        "/createVolumePermission/add/items",
        "/launchPermission/add/items",
    ]
    .iter()
    .filter_map(|pointer| request(event)?.pointer(pointer)?.as_array())
    .flatten()
    .any(|grantee| {
        grantee.get("group").and_then(Value::as_str) == Some("all")
            || grantee
                .get("userId")
                .and_then(Value::as_str)
                .is_some_and(|account| Some(account) != own_account)
    })
}

/// An RDS snapshot's `restore` attribute given to `all` or another account.
pub fn shares_rds_snapshot(event: &Event) -> bool {
    let Some(request) = request(event) else {
        return false;
    };
    let own_account = event.account_id.as_deref();
    request.get("attributeName").and_then(Value::as_str) == Some("restore")
        && request
            .get("valuesToAdd")
            .and_then(Value::as_array)
            .is_some_and(|values| {
                values
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|value| value == "all" || Some(value) != own_account)
            })
}

/// A Lambda resource policy that lets everyone or another account invoke or manage.
pub fn lambda_permission_is_foreign(event: &Event) -> bool {
    let own_account = event.account_id.as_deref();
    request_str(event, "principal").is_some_and(|principal| {
        !principal.ends_with(".amazonaws.com") && is_foreign(principal, own_account)
    })
}

/// Instance families bought for GPUs or sheer size: what cryptominers launch.
pub fn launches_gpu_or_huge_instance(event: &Event) -> bool {
    request_str(event, "instanceType").is_some_and(|instance_type| {
        let family = instance_type.split('.').next().unwrap_or_default();
        let size = instance_type.split('.').nth(1).unwrap_or_default();
        let gpu = [
            "p2", "p3", "p4", "p5", "p6", "g3", "g4", "g5", "g6", "dl1", "dl2", "inf1", "inf2",
            "trn1", "trn2",
        ]
        .iter()
        .any(|gpu_family| family.starts_with(gpu_family));
        let huge = size == "metal"
            || size
                .strip_suffix("xlarge")
                .and_then(|count| count.parse::<u32>().ok())
                .is_some_and(|count| count >= 24);
        gpu || huge
    })
}

/// CloudTrail event selectors that leave management events out.
pub fn drops_management_events(event: &Event) -> bool {
    let Some(request) = request(event) else {
        return false;
    };
    let basic = request
        .get("eventSelectors")
        .and_then(Value::as_array)
        .is_some_and(|selectors| {
            selectors.iter().all(|selector| {
                selector
                    .get("includeManagementEvents")
                    .and_then(Value::as_bool)
                    == Some(false)
                    || selector.get("readWriteType").and_then(Value::as_str) == Some("ReadOnly")
            })
        });
    let advanced = request
        .get("advancedEventSelectors")
        .and_then(Value::as_array)
        .is_some_and(|selectors| !selectors.iter().any(records_write_management_events));
    basic || advanced
}

/// Whether one advanced event selector records write management events, as CloudTrail
/// evaluates it: every field selector must admit the event (`equals`, `notEquals`,
/// `startsWith`, `notStartsWith`, …), and a selector without an `eventCategory` field
/// records nothing.
fn records_write_management_events(selector: &Value) -> bool {
    let Some(fields) = selector
        .get("fieldSelectors")
        .or_else(|| selector.get("FieldSelectors"))
        .and_then(Value::as_array)
    else {
        return false;
    };
    let field_name = |field: &Value| {
        field
            .get("field")
            .or_else(|| field.get("Field"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let has_category = fields
        .iter()
        .any(|field| field_name(field).as_deref() == Some("eventCategory"));
    // A write management event: eventCategory Management, readOnly false; any other field
    // (eventSource exclusions, say) leaves most of them recorded.
    let admits = |field: &Value| match field_name(field).as_deref() {
        Some("eventCategory") => field_admits(field, "Management"),
        Some("readOnly") => field_admits(field, "false"),
        _ => true,
    };
    has_category && fields.iter().all(admits)
}

/// Whether a field selector's conditions all admit `value`.
fn field_admits(field: &Value, value: &str) -> bool {
    let list = |names: [&str; 2]| -> Option<Vec<&str>> {
        names
            .iter()
            .find_map(|name| field.get(*name))
            .map(|values| {
                values
                    .as_array()
                    .map(|items| items.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default()
            })
    };
    let equals = list(["equals", "Equals"]);
    let not_equals = list(["notEquals", "NotEquals"]);
    let starts = list(["startsWith", "StartsWith"]);
    let not_starts = list(["notStartsWith", "NotStartsWith"]);
    let ends = list(["endsWith", "EndsWith"]);
    let not_ends = list(["notEndsWith", "NotEndsWith"]);
    equals.is_none_or(|values| values.contains(&value))
        && not_equals.is_none_or(|values| !values.contains(&value))
        && starts.is_none_or(|values| values.iter().any(|prefix| value.starts_with(prefix)))
        && not_starts.is_none_or(|values| !values.iter().any(|prefix| value.starts_with(prefix)))
        && ends.is_none_or(|values| values.iter().any(|suffix| value.ends_with(suffix)))
        && not_ends.is_none_or(|values| !values.iter().any(|suffix| value.ends_with(suffix)))
}

/// An UpdateTrail that narrows what the trail records.
pub fn narrows_trail(event: &Event) -> bool {
    let Some(request) = request(event) else {
        return false;
    };
    [
        "isMultiRegionTrail",
        "includeGlobalServiceEvents",
        "enableLogFileValidation",
    ]
    .iter()
    .any(|setting| request.get(*setting).and_then(Value::as_bool) == Some(false))
}

/// A call a person made: directly, or through the console (whose calls CloudTrail marks
/// `invokedBy: signin.amazonaws.com`). Calls another AWS service made on the principal's
/// behalf, with nobody at the keyboard, are not.
pub fn acted_in_person(event: &Event) -> bool {
    event
        .invoked_by
        .as_deref()
        .is_none_or(|service| service == "signin.amazonaws.com")
}

/// A resource policy (a KMS key's, a secret's, an ECR repository's) with an Allow for
/// another account, or for everyone without a condition.
pub fn resource_policy_admits_another_account(event: &Event) -> bool {
    let request = request(event);
    let own_account = event.account_id.as_deref();
    ["policy", "resourcePolicy", "policyText"]
        .iter()
        .filter_map(|key| document(request.and_then(|request| request.get(*key))))
        .any(|policy| {
            statements(&policy).iter().any(|statement| {
                is_allow(statement)
                    && aws_principals(statement).iter().any(|principal| {
                        if principal == "*" {
                            statement.get("Condition").is_none()
                        } else {
                            is_foreign(principal, own_account)
                        }
                    })
            })
        })
}

/// A KMS grant to a principal of another account.
pub fn grantee_is_another_account(event: &Event) -> bool {
    let own_account = event.account_id.as_deref();
    request_str(event, "granteePrincipal").is_some_and(|principal| {
        !principal.ends_with(".amazonaws.com") && is_foreign(principal, own_account)
    })
}

/// An object written with a KMS key of another account: the data is readable only by
/// whoever holds that key (ransomware).
pub fn encrypts_with_another_accounts_key(event: &Event) -> bool {
    let own_account = event.account_id.as_deref();
    request_str(event, "x-amz-server-side-encryption-aws-kms-key-id").is_some_and(|key| {
        key.starts_with("arn:")
            && account_of(key).is_some_and(|account| Some(account) != own_account)
    })
}

/// A VPC peering request to a VPC of another account.
pub fn peers_with_another_account(event: &Event) -> bool {
    let own_account = event.account_id.as_deref();
    request_str(event, "peerOwnerId").is_some_and(|owner| Some(owner) != own_account)
}

/// A function given a layer published by another account: code that runs in the function.
pub fn uses_another_accounts_layer(event: &Event) -> bool {
    let own_account = event.account_id.as_deref();
    request(event)
        .and_then(|request| request.get("layers"))
        .and_then(Value::as_array)
        .is_some_and(|layers| {
            layers
                .iter()
                .filter_map(Value::as_str)
                .any(|layer| account_of(layer).is_some_and(|account| Some(account) != own_account))
        })
}

/// The most days an S3 lifecycle rule may take to expire a whole bucket's objects before
/// the rule reads as destruction rather than housekeeping.
const EXPIRES_EVERYTHING_WITHIN_DAYS: u64 = 7;

/// An enabled S3 lifecycle rule, without a prefix or tag filter, that expires current or
/// noncurrent objects within days: a bucket emptied by AWS itself, with no delete call to see.
pub fn lifecycle_expires_everything(event: &Event) -> bool {
    let Some(configuration) =
        request(event).and_then(|request| request.get("LifecycleConfiguration"))
    else {
        return false;
    };
    let rules: Vec<&Value> = match configuration.get("Rule") {
        Some(Value::Array(rules)) => rules.iter().collect(),
        Some(rule @ Value::Object(_)) => vec![rule],
        _ => Vec::new(),
    };
    let days = |value: Option<&Value>| -> Option<u64> {
        match value? {
            Value::Number(number) => number.as_u64(),
            Value::String(text) => text.parse().ok(),
            _ => None,
        }
    };
    rules.into_iter().any(|rule| {
        let enabled = rule.get("Status").and_then(Value::as_str) == Some("Enabled");
        let filter = rule.get("Filter");
        let narrowed = [
            "Prefix",
            "Tag",
            "And",
            "ObjectSizeGreaterThan",
            "ObjectSizeLessThan",
        ]
        .iter()
        .any(|key| {
            filter
                .and_then(|filter| filter.get(*key))
                .is_some_and(|value| value.as_str() != Some(""))
        }) || rule
            .get("Prefix")
            .and_then(Value::as_str)
            .is_some_and(|prefix| !prefix.is_empty());
        let soon = days(rule.pointer("/Expiration/Days"))
            .into_iter()
            .chain(days(
                rule.pointer("/NoncurrentVersionExpiration/NoncurrentDays"),
            ))
            .any(|days| days <= EXPIRES_EVERYTHING_WITHIN_DAYS);
        enabled && !narrowed && soon
    })
}

/// A console sign-in whose outcome CloudTrail recorded as a success.
pub fn console_login_succeeded(event: &Event) -> bool {
    event
        .console_login
        .as_ref()
        .is_some_and(|login| login.succeeded)
}

pub fn console_login_failed(event: &Event) -> bool {
    event
        .console_login
        .as_ref()
        .is_some_and(|login| !login.succeeded)
}

/// A successful console sign-in by an IAM user or root without MFA. Federated sign-ins
/// (SSO, SAML, Identity Center) carry `MFAUsed: No` whatever the identity provider
/// enforced, so they are not judged.
pub fn console_login_without_mfa(event: &Event) -> bool {
    let judged = matches!(event.identity_type.as_deref(), Some("IAMUser" | "Root"));
    judged
        && event
            .console_login
            .as_ref()
            .is_some_and(|login| login.succeeded && login.mfa_used == Some(false))
}

/// A structural check, as rule files name it.
pub type CheckFn = fn(&Event) -> bool;

/// Every check a rule file may name (`check: name`).
pub static CHECKS: &[(&str, CheckFn)] = &[
    ("acts_on_other_user", acts_on_other_user),
    ("attaches_admin_policy", attaches_admin_policy),
    ("grants_everything", grants_everything),
    ("trusts_foreign_principal", trusts_foreign_principal),
    ("bucket_policy_is_public", bucket_policy_is_public),
    ("bucket_acl_is_public", bucket_acl_is_public),
    ("public_access_block_weakened", public_access_block_weakened),
    ("opens_admin_port_to_world", opens_admin_port_to_world),
    ("shares_ec2_resource", shares_ec2_resource),
    ("shares_rds_snapshot", shares_rds_snapshot),
    ("lambda_permission_is_foreign", lambda_permission_is_foreign),
    (
        "launches_gpu_or_huge_instance",
        launches_gpu_or_huge_instance,
    ),
    ("drops_management_events", drops_management_events),
    ("narrows_trail", narrows_trail),
    ("acted_in_person", acted_in_person),
    (
        "resource_policy_admits_another_account",
        resource_policy_admits_another_account,
    ),
    ("grantee_is_another_account", grantee_is_another_account),
    (
        "encrypts_with_another_accounts_key",
        encrypts_with_another_accounts_key,
    ),
    ("peers_with_another_account", peers_with_another_account),
    ("uses_another_accounts_layer", uses_another_accounts_layer),
    ("lifecycle_expires_everything", lifecycle_expires_everything),
    ("console_login_succeeded", console_login_succeeded),
    ("console_login_failed", console_login_failed),
    ("console_login_without_mfa", console_login_without_mfa),
];

#[cfg(test)]
mod properties {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    proptest! {
        #[test]
        fn any_ipv4_address_with_prefix_zero_is_the_internet(octets in any::<[u8; 4]>()) {
            let cidr = format!("{}/0", Ipv4Addr::from(octets));
            prop_assert!(is_public_wide(&cidr));
        }

        #[test]
        fn ipv4_ranges_narrower_than_a_slash_8_are_not(octets in any::<[u8; 4]>(), length in 9u8..=32) {
            let cidr = format!("{}/{length}", Ipv4Addr::from(octets));
            prop_assert!(!is_public_wide(&cidr));
        }

        #[test]
        fn any_ipv6_address_with_prefix_zero_is_the_internet(segments in any::<[u16; 8]>()) {
            let cidr = format!("{}/0", Ipv6Addr::from(segments));
            prop_assert!(is_public_wide(&cidr));
        }

        #[test]
        fn ipv6_ranges_narrower_than_a_slash_16_are_not(segments in any::<[u16; 8]>(), length in 17u8..=128) {
            let cidr = format!("{}/{length}", Ipv6Addr::from(segments));
            prop_assert!(!is_public_wide(&cidr));
        }

        #[test]
        fn nonsense_is_never_judged_wide(text in ".*") {
            let judged = is_public_wide(&text);
            if judged {
                // Only what parses as address/length can be judged wide.
                let (address, length) = text.trim().split_once('/').unwrap();
                prop_assert!(address.parse::<IpAddr>().is_ok() && length.parse::<u8>().is_ok());
            }
        }

        /// Selectors that each take only read-only management events, or only data events,
        /// drop every write management event; one selector for management events without a
        /// readOnly restriction keeps them, wherever it stands.
        #[test]
        fn advanced_selectors_are_judged_as_cloudtrail_evaluates_them(
            kinds in proptest::collection::vec(0u8..3, 1..6),
            keeping_at in any::<prop::sample::Index>(),
        ) {
            let selector = |kind: u8| match kind {
                0 => json!({"fieldSelectors": [{"field": "eventCategory", "equals": ["Management"]},
                                               {"field": "readOnly", "equals": ["true"]}]}),
                1 => json!({"fieldSelectors": [{"field": "eventCategory", "equals": ["Data"]},
                                               {"field": "resources.type", "equals": ["AWS::S3::Object"]}]}),
                _ => json!({"fieldSelectors": [{"field": "eventCategory", "notEquals": ["Management"]}]}),
            };
            let mut selectors: Vec<Value> = kinds.iter().map(|kind| selector(*kind)).collect();
            prop_assert!(!selectors.iter().any(records_write_management_events));
            let keeping = json!({"fieldSelectors": [{"field": "eventCategory", "equals": ["Management"]},
                                                    {"field": "readOnly", "notEquals": ["true"]}]});
            selectors.insert(keeping_at.index(selectors.len() + 1), keeping);
            prop_assert!(selectors.iter().any(records_write_management_events));
        }
    }

    #[test]
    fn private_and_unparsable_ranges_are_not_the_internet() {
        for cidr in [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "100.64.0.0/10",
            "fd00::/8",
            "0.0.0.0",
            "x/0",
            "1.2.3.4/33",
        ] {
            assert!(!is_public_wide(cidr), "{cidr}");
        }
        for cidr in ["0.0.0.0/0", "::/0", "11.0.0.0/8", "2000::/3", " 0.0.0.0/0 "] {
            assert!(is_public_wide(cidr), "{cidr}");
        }
    }
}
