//! A CloudTrail record, read leniently: only `eventID`, `eventTime`, `eventSource` and
//! `eventName` are required, since records vary by service (console sign-ins carry no
//! `requestID`, service events no `userIdentity.arn`).

use serde_json::{Map, Value};

use super::Problem;
use super::fields::{Fields, optional_object, optional_string};
use crate::event::{ConsoleLogin, Event, Origin};

const REQUIRED: [&str; 4] = ["eventID", "eventTime", "eventSource", "eventName"];

pub fn looks_like(object: &Map<String, Value>) -> bool {
    REQUIRED.iter().any(|field| object.contains_key(*field))
        || object.contains_key("eventVersion")
        || object.contains_key("userIdentity")
}

/// Parses a record found at `prefix` inside the event (`""`, or `"detail."` in EventBridge).
pub fn parse_at(
    index: usize,
    object: &Map<String, Value>,
    prefix: &str,
) -> Result<Event, Vec<Problem>> {
    let mut fields = Fields::new(object, prefix, index);
    let event_id = fields.required_id("eventID");
    let event_time = fields.required_time("eventTime");
    let event_source = fields.required_id("eventSource");
    let event_name = fields.required_id("eventName");
    let event = (|| {
        let event_name = api_name(&event_name?).to_string();
        let identity = optional_object(object, "userIdentity");
        let console_login = (event_name == "ConsoleLogin").then(|| console_login(object));
        Some(Event {
            origin: Origin::CloudTrail,
            event_id: event_id?,
            request_id: fields.optional_string("requestID"),
            principal: principal(identity),
            identity_type: identity.and_then(|identity| optional_string(identity, "type")),
            invoked_by: identity.and_then(|identity| optional_string(identity, "invokedBy")),
            access_key_id: identity.and_then(|identity| optional_string(identity, "accessKeyId")),
            event_source: Some(event_source?),
            event_name,
            event_time: event_time?,
            assets: resource_arns(object),
            source_ip: fields.optional_string("sourceIPAddress"),
            region: fields.optional_string("awsRegion"),
            user_agent: fields.optional_string("userAgent"),
            error_code: fields.optional_string("errorCode"),
            account_id: fields
                .optional_string("recipientAccountId")
                .or_else(|| identity.and_then(|identity| optional_string(identity, "accountId"))),
            console_login,
            raw: Value::Null,
            record_in_detail: false,
        })
    })();
    fields.finish(event)
}

pub fn parse(index: usize, object: &Map<String, Value>) -> Result<Event, Vec<Problem>> {
    parse_at(index, object, "")
}

/// Lambda and CloudFront record their API version in the event name
/// (`UpdateFunctionCode20150331v2`, `CreateFunction2020_05_31`); the API is the name without it.
fn api_name(event_name: &str) -> &str {
    let trimmed = event_name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '_' || c == 'v');
    let suffix = &event_name[trimmed.len()..];
    let is_version = suffix.len() >= 8
        && suffix.starts_with(|c: char| c.is_ascii_digit())
        && suffix.bytes().filter(u8::is_ascii_digit).count() >= 8;
    if is_version && !trimmed.is_empty() {
        trimmed
    } else {
        event_name
    }
}

/// The identity behind a call, stable across sessions: an assumed role is named by its role
/// ARN, not by the session, so one role's calls share one principal — unless the sessions are
/// people's (see [`session_user`]), whose baselines must not be shared.
fn principal(identity: Option<&Map<String, Value>>) -> String {
    let Some(identity) = identity else {
        return "unknown".to_string();
    };
    let arn = optional_string(identity, "arn");
    let on_behalf_of = optional_object(identity, "onBehalfOf")
        .and_then(|user| optional_string(user, "userId"))
        .map(|user_id| format!("identity-center-user/{user_id}"));
    match optional_string(identity, "type").as_deref() {
        Some("AssumedRole") => {
            let role = optional_object(identity, "sessionContext")
                .and_then(|context| optional_object(context, "sessionIssuer"))
                .and_then(|issuer| optional_string(issuer, "arn"))
                .or_else(|| arn.as_deref().and_then(role_arn_of_session));
            let user = on_behalf_of.or_else(|| session_user(identity, arn.as_deref()));
            match (role, user) {
                (Some(role), Some(user)) => Some(format!("{role} as {user}")),
                (role, _) => role.or(arn),
            }
        }
        Some("AWSService") => optional_string(identity, "invokedBy").or(arn),
        // A user acting through an Identity Center application: no ARN, one user id.
        Some("IdentityCenterUser") => on_behalf_of,
        // Another account's principal without an ARN: its unique id (`AROA…:session`) names
        // the role; the session part would make a new principal of every session.
        Some("AWSAccount") if arn.is_none() => {
            let account = optional_string(identity, "accountId").unwrap_or_else(|| "-".into());
            optional_string(identity, "principalId").map(|id| {
                let unique = id.split(':').next().unwrap_or(&id).to_string();
                format!("aws-account/{account}/{unique}")
            })
        }
        _ => arn,
    }
    .or_else(|| optional_string(identity, "principalId"))
    .or_else(|| optional_string(identity, "type"))
    .unwrap_or_else(|| "unknown".to_string())
}

/// The person behind a role session not acting for an Identity Center user (`onBehalfOf`
/// comes first): the source identity an identity provider set (it survives role chaining),
/// the user of an Identity Center permission set (`AWSReservedSSO_*`, whose session is named
/// for the user), or a federated session named by e-mail address (the SAML and OIDC
/// convention). Service, instance and pipeline sessions have none: their session names change
/// every time and would make a new principal of each.
fn session_user(identity: &Map<String, Value>, arn: Option<&str>) -> Option<String> {
    let context = optional_object(identity, "sessionContext");
    if let Some(source) = context.and_then(|context| optional_string(context, "sourceIdentity")) {
        return Some(source);
    }
    let (role, session) = arn?.split_once(":assumed-role/")?.1.split_once('/')?;
    if role.starts_with("AWSReservedSSO_") || session.contains('@') {
        return Some(session.to_string());
    }
    None
}

/// `arn:aws:sts::123:assumed-role/Deploy/session` → `arn:aws:iam::123:role/Deploy`.
pub fn role_arn_of_session(session_arn: &str) -> Option<String> {
    let (head, resource) = session_arn.split_once(":assumed-role/")?;
    let role = resource.split('/').next()?;
    let head = head.replacen(":sts:", ":iam:", 1);
    Some(format!("{head}:role/{role}"))
}

fn resource_arns(object: &Map<String, Value>) -> Vec<String> {
    object
        .get("resources")
        .and_then(Value::as_array)
        .map(|resources| {
            resources
                .iter()
                .filter_map(Value::as_object)
                .filter_map(|resource| optional_string(resource, "ARN"))
                .collect()
        })
        .unwrap_or_default()
}

fn console_login(object: &Map<String, Value>) -> ConsoleLogin {
    let succeeded = optional_object(object, "responseElements")
        .and_then(|response| optional_string(response, "ConsoleLogin"))
        .is_some_and(|outcome| outcome == "Success");
    let mfa_used = optional_object(object, "additionalEventData")
        .and_then(|data| optional_string(data, "MFAUsed"))
        .map(|used| used != "No");
    ConsoleLogin {
        succeeded,
        mfa_used,
    }
}
