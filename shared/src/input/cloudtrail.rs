//! A CloudTrail record, read leniently: only `eventID`, `eventTime`, `eventSource` and
//! `eventName` are required, since records vary by service (console sign-ins carry no
//! `requestID`, service events no `userIdentity.arn`).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::Problem;
use super::fields::{Fields, optional_object, optional_str, optional_string};
use crate::event::{ConsoleLogin, Event, Origin};

const REQUIRED: [&str; 4] = ["eventID", "eventTime", "eventSource", "eventName"];

pub fn looks_like(object: &Map<String, Value>) -> bool {
    REQUIRED.iter().any(|field| object.contains_key(*field))
        || object.contains_key("eventVersion")
        || object.contains_key("userIdentity")
}

/// What an [`Event`] takes from a CloudTrail record, however the record was read: from its
/// tree here, or from its text ([`super::record_text`]).
pub(super) struct Parts<'r> {
    pub event_id: String,
    pub event_time: DateTime<Utc>,
    pub event_source: String,
    /// As recorded (with any API version in it).
    pub event_name: &'r str,
    pub request_id: Option<&'r str>,
    pub identity: Option<Identity<'r>>,
    pub assets: Vec<String>,
    pub source_ip: Option<&'r str>,
    pub region: Option<&'r str>,
    pub user_agent: Option<&'r str>,
    pub error_code: Option<&'r str>,
    pub recipient_account: Option<&'r str>,
    /// `responseElements.ConsoleLogin` and `additionalEventData.MFAUsed`.
    pub console_login: Option<&'r str>,
    pub mfa_used: Option<&'r str>,
}

/// The fields of `userIdentity` that name the principal. Each is `None` when absent,
/// empty or not a string, as [`optional_str`] reads them.
pub(super) struct Identity<'r> {
    pub kind: Option<&'r str>,
    pub arn: Option<&'r str>,
    pub invoked_by: Option<&'r str>,
    pub access_key_id: Option<&'r str>,
    pub account_id: Option<&'r str>,
    pub principal_id: Option<&'r str>,
    /// `onBehalfOf.userId`.
    pub on_behalf_of_user: Option<&'r str>,
    /// `sessionContext.sessionIssuer.arn`.
    pub issuer_arn: Option<&'r str>,
    /// `sessionContext.sourceIdentity`.
    pub source_identity: Option<&'r str>,
}

impl<'r> Identity<'r> {
    fn of(identity: &'r Map<String, Value>) -> Self {
        let text = |key| optional_str(identity, key);
        let context = optional_object(identity, "sessionContext");
        Identity {
            kind: text("type"),
            arn: text("arn"),
            invoked_by: text("invokedBy"),
            access_key_id: text("accessKeyId"),
            account_id: text("accountId"),
            principal_id: text("principalId"),
            on_behalf_of_user: optional_object(identity, "onBehalfOf")
                .and_then(|user| optional_str(user, "userId")),
            issuer_arn: context
                .and_then(|context| optional_object(context, "sessionIssuer"))
                .and_then(|issuer| optional_str(issuer, "arn")),
            source_identity: context.and_then(|context| optional_str(context, "sourceIdentity")),
        }
    }
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
        let event_name = event_name?;
        Some(event_of(Parts {
            event_id: event_id?,
            event_time: event_time?,
            event_source: event_source?,
            event_name: &event_name,
            request_id: optional_str(object, "requestID"),
            identity: optional_object(object, "userIdentity").map(Identity::of),
            assets: resource_arns(object),
            source_ip: optional_str(object, "sourceIPAddress"),
            region: optional_str(object, "awsRegion"),
            user_agent: optional_str(object, "userAgent"),
            error_code: optional_str(object, "errorCode"),
            recipient_account: optional_str(object, "recipientAccountId"),
            console_login: optional_object(object, "responseElements")
                .and_then(|response| optional_str(response, "ConsoleLogin")),
            mfa_used: optional_object(object, "additionalEventData")
                .and_then(|data| optional_str(data, "MFAUsed")),
        }))
    })();
    fields.finish(event)
}

pub fn parse(index: usize, object: &Map<String, Value>) -> Result<Event, Vec<Problem>> {
    parse_at(index, object, "")
}

/// The event a record's parts make.
pub(super) fn event_of(parts: Parts<'_>) -> Event {
    let event_name = api_name(parts.event_name).to_string();
    let console_login = (event_name == "ConsoleLogin").then(|| ConsoleLogin {
        succeeded: parts.console_login == Some("Success"),
        mfa_used: parts.mfa_used.map(|used| used != "No"),
    });
    let identity = parts.identity.as_ref();
    let owned = |text: Option<&str>| text.map(str::to_string);
    Event {
        origin: Origin::CloudTrail,
        event_id: parts.event_id,
        request_id: owned(parts.request_id),
        principal: principal(identity),
        identity_type: owned(identity.and_then(|identity| identity.kind)),
        identity_arn: owned(identity.and_then(|identity| identity.arn)),
        invoked_by: owned(identity.and_then(|identity| identity.invoked_by)),
        access_key_id: owned(identity.and_then(|identity| identity.access_key_id)),
        event_source: Some(parts.event_source),
        event_name,
        event_time: parts.event_time,
        assets: parts.assets,
        source_ip: owned(parts.source_ip),
        region: owned(parts.region),
        user_agent: owned(parts.user_agent),
        error_code: owned(parts.error_code),
        account_id: owned(
            parts
                .recipient_account
                .or_else(|| identity.and_then(|identity| identity.account_id)),
        ),
        console_login,
        raw: Default::default(),
        record_in_detail: false,
    }
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
fn principal(identity: Option<&Identity<'_>>) -> String {
    let Some(identity) = identity else {
        return "unknown".to_string();
    };
    let arn = identity.arn.map(str::to_string);
    let on_behalf_of = identity
        .on_behalf_of_user
        .map(|user_id| format!("identity-center-user/{user_id}"));
    match identity.kind {
        Some("AssumedRole") => {
            let role = identity
                .issuer_arn
                .map(str::to_string)
                .or_else(|| identity.arn.and_then(role_arn_of_session));
            let user = on_behalf_of.or_else(|| session_user(identity));
            match (role, user) {
                (Some(role), Some(user)) => Some(format!("{role} as {user}")),
                (role, _) => role.or(arn),
            }
        }
        Some("AWSService") => identity.invoked_by.map(str::to_string).or(arn),
        // A user acting through an Identity Center application: no ARN, one user id.
        Some("IdentityCenterUser") => on_behalf_of,
        // Another account's principal without an ARN: its unique id (`AROA…:session`) names
        // the role; the session part would make a new principal of every session.
        Some("AWSAccount") if arn.is_none() => {
            let account = identity.account_id.unwrap_or("-");
            identity.principal_id.map(|id| {
                let unique = id.split(':').next().unwrap_or(id);
                format!("aws-account/{account}/{unique}")
            })
        }
        _ => arn,
    }
    .or_else(|| identity.principal_id.map(str::to_string))
    .or_else(|| identity.kind.map(str::to_string))
    .unwrap_or_else(|| "unknown".to_string())
}

/// The person behind a role session not acting for an Identity Center user (`onBehalfOf`
/// comes first): the source identity an identity provider set (it survives role chaining),
/// the user of an Identity Center permission set (`AWSReservedSSO_*`, whose session is named
/// for the user), or a federated session named by e-mail address (the SAML and OIDC
/// convention). Service, instance and pipeline sessions have none: their session names change
/// every time and would make a new principal of each.
fn session_user(identity: &Identity<'_>) -> Option<String> {
    if let Some(source) = identity.source_identity {
        return Some(source.to_string());
    }
    let (role, session) = identity
        .arn?
        .split_once(":assumed-role/")?
        .1
        .split_once('/')?;
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
