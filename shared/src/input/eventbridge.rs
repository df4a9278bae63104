//! An EventBridge event whose `detail` is a CloudTrail record: what the EventBridge rule
//! puts on the queue for real CloudTrail activity.

use serde_json::{Map, Value};

use super::fields::{Fields, optional_string};
use super::{Problem, cloudtrail, json_type};
use crate::event::Event;

pub const DETAIL_TYPES: [&str; 2] = [
    "AWS API Call via CloudTrail",
    "AWS Console Sign In via CloudTrail",
];

pub fn parse(index: usize, object: &Map<String, Value>) -> Result<Event, Vec<Problem>> {
    let mut fields = Fields::new(object, "", index);
    if let Some(detail_type) = fields.required_string("detail-type")
        && !DETAIL_TYPES.contains(&detail_type.as_str())
    {
        fields.problem(
            "detail-type",
            format!("must be one of {DETAIL_TYPES:?}, found {detail_type:?}"),
        );
    }
    if let Some(source) = fields.required_string("source")
        && !source.starts_with("aws.")
    {
        fields.problem(
            "source",
            format!("must name an AWS service (aws.*), found {source:?}"),
        );
    }
    let detail = match object.get("detail") {
        Some(Value::Object(detail)) => Some(cloudtrail::parse_at(index, detail, "detail.")),
        Some(other) => {
            fields.problem(
                "detail",
                format!(
                    "must be a CloudTrail record (an object), found {}",
                    json_type(other)
                ),
            );
            None
        }
        None => {
            fields.problem("detail", "is required");
            None
        }
    };
    let event = match detail {
        Some(Ok(mut event)) => {
            event.region = event.region.or_else(|| optional_string(object, "region"));
            event.account_id = event
                .account_id
                .or_else(|| optional_string(object, "account"));
            event.record_in_detail = true;
            Some(event)
        }
        Some(Err(problems)) => {
            fields.problems.extend(problems);
            None
        }
        None => None,
    };
    fields.finish(event)
}
