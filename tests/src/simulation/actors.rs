//! Who calls AWS in the simulated account, as CloudTrail's `userIdentity` records them.

use serde_json::{Value, json};

use super::ACCOUNT;

pub fn iam_user(name: &str, key: &str) -> Value {
    json!({"type": "IAMUser", "principalId": format!("AIDA{}", name.to_uppercase().replace('-', "")),
           "arn": format!("arn:aws:iam::{ACCOUNT}:user/{name}"), "accountId": ACCOUNT, "accessKeyId": key,
           "userName": name})
}

/// A role session. `mfa` is set for people who signed in with MFA.
pub fn assumed_role(role: &str, session: &str, mfa: bool) -> Value {
    let role_id = format!("AROA{}", role.to_uppercase().replace(['-', '_'], ""))
        .chars()
        .take(21)
        .collect::<String>();
    json!({"type": "AssumedRole", "principalId": format!("{role_id}:{session}"),
           "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}"), "accountId": ACCOUNT,
           "accessKeyId": session_key(&format!("{role}/{session}")),
           "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": role_id,
               "arn": format!("arn:aws:iam::{ACCOUNT}:role/{role}"), "accountId": ACCOUNT, "userName": role},
               "attributes": {"creationDate": "2026-10-01T00:00:00Z", "mfaAuthenticated": mfa.to_string()}}})
}

/// A role session's temporary key (`ASIA…`), named for what signed it in; [`super::calls::record`]
/// renews it every 12 hours, as sessions expire.
pub fn session_key(signed_in: &str) -> String {
    format!("ASIA{:016X}", fnv1a(signed_in))
}

/// FNV-1a: stable names for simulated keys.
pub fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A session of an Identity Center permission set, named for the person.
pub fn identity_center(permission_set: &str, person: &str) -> Value {
    assumed_role(
        &format!("AWSReservedSSO_{permission_set}_0123456789abcdef"),
        person,
        false,
    )
}

/// A service-linked role's session: the service calls from its own name.
pub fn service_linked_role(role: &str, session: &str) -> Value {
    let mut identity = assumed_role(role, session, false);
    identity["sessionContext"]["sessionIssuer"]["arn"] = json!(format!(
        "arn:aws:iam::{ACCOUNT}:role/aws-service-role/{role}"
    ));
    identity
}

/// An AWS service acting on its own behalf (assuming a role for a function, delivering logs).
pub fn aws_service(service: &str) -> Value {
    json!({"type": "AWSService", "invokedBy": service})
}

/// A role session started by GitHub Actions through OIDC: a new session name each run.
pub fn ci_session(role: &str, run: u32) -> Value {
    assumed_role(role, &format!("GitHubActions-{run}"), false)
}
