//! A CloudTrail record read from its text straight into the fields an [`Event`] holds, the
//! record's tree left unbuilt until something asks for it ([`Raw`]): most records are judged
//! on those fields alone, and building a tree of every record was most of a scan's time.
//!
//! Only a record of the plain shape is read this way. Anything else (a string field of
//! another type, an empty one the rules read, a field given twice, an EventBridge envelope,
//! a seed event, an id or time that is wrong) is left to [`super::parse_event`], which reads
//! the tree and names each problem; so both ways give the same event or the same problems.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::cloudtrail::{self, Identity, Parts};
use super::fields::{event_time, id_problem};
use crate::event::{Event, Raw};

/// The event a record of the plain CloudTrail shape makes, read from its text; the text back
/// when the record is of any other shape or has a problem.
pub fn read(text: Box<str>) -> Result<Event, Box<str>> {
    let Some(event) = event_of(&text) else {
        return Err(text);
    };
    if !super::bound_problems(0, &event).is_empty() {
        return Err(text);
    }
    Ok(Event {
        raw: Raw::from_json_text(text),
        ..event
    })
}

fn event_of(text: &str) -> Option<Event> {
    let Object(record): Object<Record<'_>> = serde_json::from_str(text).ok()?;
    if record.detail || record.detail_type {
        return None;
    }
    let id = |field: Option<Cow<'_, str>>| {
        field
            .filter(|value| id_problem(value).is_none())
            .map(Cow::into_owned)
    };
    let event_name = record.event_name?;
    if id_problem(&event_name).is_some() {
        return None;
    }
    // What the rules read from the event instead of the tree (`Event::known_field`) must
    // say what the tree says: an empty string is not an absent field.
    let empty = |text: &Text<'_>| text.as_deref() == Some("");
    let identity_empty = record
        .user_identity
        .as_ref()
        .is_some_and(|Object(identity)| {
            [
                &identity.kind,
                &identity.arn,
                &identity.invoked_by,
                &identity.access_key_id,
            ]
            .into_iter()
            .any(empty)
        });
    if identity_empty
        || [&record.user_agent, &record.error_code, &record.source_ip]
            .into_iter()
            .any(empty)
    {
        return None;
    }
    let identity = record.user_identity.as_ref().map(|Object(identity)| {
        let context = identity
            .session_context
            .as_ref()
            .map(|Object(context)| context);
        Identity {
            kind: nonempty(&identity.kind),
            arn: nonempty(&identity.arn),
            invoked_by: nonempty(&identity.invoked_by),
            access_key_id: nonempty(&identity.access_key_id),
            account_id: nonempty(&identity.account_id),
            principal_id: nonempty(&identity.principal_id),
            on_behalf_of_user: identity
                .on_behalf_of
                .as_ref()
                .and_then(|Object(user)| nonempty(&user.user_id)),
            issuer_arn: context
                .and_then(|context| context.session_issuer.as_ref())
                .and_then(|Object(issuer)| nonempty(&issuer.arn)),
            source_identity: context.and_then(|context| nonempty(&context.source_identity)),
        }
    });
    Some(cloudtrail::event_of(Parts {
        event_id: id(record.event_id)?,
        event_time: event_time(&record.event_time?).ok()?,
        event_source: id(record.event_source)?,
        event_name: &event_name,
        request_id: nonempty(&record.request_id),
        identity,
        assets: record
            .resources
            .unwrap_or_default()
            .into_iter()
            .filter_map(|Object(resource)| resource.arn.filter(|arn| !arn.is_empty()))
            .map(Cow::into_owned)
            .collect(),
        source_ip: nonempty(&record.source_ip),
        region: nonempty(&record.region),
        user_agent: nonempty(&record.user_agent),
        error_code: nonempty(&record.error_code),
        recipient_account: nonempty(&record.recipient_account),
        console_login: record
            .response_elements
            .as_ref()
            .and_then(|Object(response)| nonempty(&response.console_login)),
        mfa_used: record
            .additional_event_data
            .as_ref()
            .and_then(|Object(data)| nonempty(&data.mfa_used)),
    }))
}

/// The fields of a CloudTrail record an event is made of; the rest are skipped unbuilt.
/// A string field: absent or null, or a string. A field of another type makes the record
/// the tree's to read (which takes it for absent).
type Text<'a> = Option<Cow<'a, str>>;

/// The string, unless empty (as the tree's reader takes it).
fn nonempty<'t>(text: &'t Text<'_>) -> Option<&'t str> {
    text.as_deref().filter(|text| !text.is_empty())
}

#[derive(Deserialize)]
struct Record<'a> {
    #[serde(rename = "eventID", borrow)]
    event_id: Option<Cow<'a, str>>,
    #[serde(rename = "eventTime", borrow)]
    event_time: Option<Cow<'a, str>>,
    #[serde(rename = "eventSource", borrow)]
    event_source: Option<Cow<'a, str>>,
    #[serde(rename = "eventName", borrow)]
    event_name: Option<Cow<'a, str>>,
    #[serde(rename = "requestID", borrow)]
    request_id: Text<'a>,
    #[serde(rename = "userIdentity", borrow)]
    user_identity: Option<Object<UserIdentity<'a>>>,
    #[serde(borrow)]
    resources: Option<Vec<Object<Resource<'a>>>>,
    #[serde(rename = "sourceIPAddress", borrow)]
    source_ip: Text<'a>,
    #[serde(rename = "awsRegion", borrow)]
    region: Text<'a>,
    #[serde(rename = "userAgent", borrow)]
    user_agent: Text<'a>,
    #[serde(rename = "errorCode", borrow)]
    error_code: Text<'a>,
    #[serde(rename = "recipientAccountId", borrow)]
    recipient_account: Text<'a>,
    #[serde(rename = "responseElements", borrow)]
    response_elements: Option<Object<ResponseElements<'a>>>,
    #[serde(rename = "additionalEventData", borrow)]
    additional_event_data: Option<Object<AdditionalEventData<'a>>>,
    /// An EventBridge envelope's fields, present even when null.
    #[serde(default, deserialize_with = "present")]
    detail: bool,
    #[serde(rename = "detail-type", default, deserialize_with = "present")]
    detail_type: bool,
}

#[derive(Deserialize)]
struct UserIdentity<'a> {
    #[serde(rename = "type", borrow)]
    kind: Text<'a>,
    #[serde(borrow)]
    arn: Text<'a>,
    #[serde(rename = "invokedBy", borrow)]
    invoked_by: Text<'a>,
    #[serde(rename = "accessKeyId", borrow)]
    access_key_id: Text<'a>,
    #[serde(rename = "accountId", borrow)]
    account_id: Text<'a>,
    #[serde(rename = "principalId", borrow)]
    principal_id: Text<'a>,
    #[serde(rename = "onBehalfOf", borrow)]
    on_behalf_of: Option<Object<OnBehalfOf<'a>>>,
    #[serde(rename = "sessionContext", borrow)]
    session_context: Option<Object<SessionContext<'a>>>,
}

#[derive(Deserialize)]
struct OnBehalfOf<'a> {
    #[serde(rename = "userId", borrow)]
    user_id: Text<'a>,
}

#[derive(Deserialize)]
struct SessionContext<'a> {
    #[serde(rename = "sessionIssuer", borrow)]
    session_issuer: Option<Object<SessionIssuer<'a>>>,
    #[serde(rename = "sourceIdentity", borrow)]
    source_identity: Text<'a>,
}

#[derive(Deserialize)]
struct SessionIssuer<'a> {
    #[serde(borrow)]
    arn: Text<'a>,
}

#[derive(Deserialize)]
struct Resource<'a> {
    #[serde(rename = "ARN", borrow)]
    arn: Text<'a>,
}

#[derive(Deserialize)]
struct ResponseElements<'a> {
    #[serde(rename = "ConsoleLogin", borrow)]
    console_login: Text<'a>,
}

#[derive(Deserialize)]
struct AdditionalEventData<'a> {
    #[serde(rename = "MFAUsed", borrow)]
    mfa_used: Text<'a>,
}

/// A JSON object read into `T`. Serde would also read a struct from an array of its
/// fields in order, which the tree's reader does not take for an object.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ObjectVisitor(std::marker::PhantomData))
    }
}

struct ObjectVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = Object<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, entries: A) -> Result<Self::Value, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(entries)).map(Object)
    }
}

/// Whether a field is there at all, null included, as the tree's reader sees it.
fn present<'de, D: Deserializer<'de>>(value: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(value).map(|_| true)
}
