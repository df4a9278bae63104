//! The prototype's event: `RequestID`, `EventID`, `RoleID`, `EventType`, `EventTimestamp`,
//! `AffectedAssets`, all required.

use serde_json::{Map, Value};

use super::Problem;
use super::fields::Fields;
use crate::event::{Event, Origin};

const FIELDS: [&str; 6] = [
    "RequestID",
    "EventID",
    "RoleID",
    "EventType",
    "EventTimestamp",
    "AffectedAssets",
];

pub fn looks_like(object: &Map<String, Value>) -> bool {
    FIELDS.iter().any(|field| object.contains_key(*field))
}

pub fn parse(index: usize, object: &Map<String, Value>) -> Result<Event, Vec<Problem>> {
    let mut fields = Fields::new(object, "", index);
    let request_id = fields.required_id("RequestID");
    let event_id = fields.required_id("EventID");
    let role_id = fields.required_id("RoleID");
    let event_type = fields.required_id("EventType");
    let event_time = fields.required_time("EventTimestamp");
    let assets = fields.required_strings("AffectedAssets");

    let event = (|| {
        let event_type = event_type?;
        // `EventType` may name the service as IAM does (`cloudtrail:StopLogging`), so the
        // seed event can say which API it records.
        let (event_source, event_name) = match event_type.split_once(':') {
            Some((service, name)) if !service.is_empty() && !name.is_empty() => {
                (Some(format!("{service}.amazonaws.com")), name.to_string())
            }
            _ => (None, event_type),
        };
        Some(Event {
            origin: Origin::Seed,
            event_id: event_id?,
            request_id: Some(request_id?),
            principal: role_id?,
            identity_type: None,
            identity_arn: None,
            invoked_by: None,
            access_key_id: None,
            event_source,
            event_name,
            event_time: event_time?,
            assets: assets?,
            source_ip: None,
            region: None,
            user_agent: None,
            error_code: None,
            account_id: None,
            console_login: None,
            raw: Default::default(),
            record_in_detail: false,
        })
    })();
    fields.finish(event)
}
