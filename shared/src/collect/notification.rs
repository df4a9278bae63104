//! The objects an S3 event notification names, as S3 sends it to a queue directly or through
//! EventBridge (`Object Created`).

use serde_json::Value;

use crate::input::json_type;

/// An object in a bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    /// Objects created.
    Created(Vec<ObjectRef>),
    /// The `s3:TestEvent` S3 sends when a notification is configured.
    Test,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationError {
    #[error("the notification is not valid JSON: {0}")]
    NotJson(String),
    #[error("the notification's {field} {problem}")]
    Field { field: String, problem: String },
}

fn field_error(field: impl Into<String>, problem: impl Into<String>) -> NotificationError {
    NotificationError::Field {
        field: field.into(),
        problem: problem.into(),
    }
}

fn string_at<'a>(
    value: &'a Value,
    pointer: &str,
    field: &str,
) -> Result<&'a str, NotificationError> {
    match value.pointer(pointer) {
        Some(Value::String(text)) if !text.is_empty() => Ok(text),
        Some(Value::String(_)) => Err(field_error(field, "is empty")),
        Some(other) => Err(field_error(
            field,
            format!("must be a string, found {}", json_type(other)),
        )),
        None => Err(field_error(field, "is required")),
    }
}

pub fn parse(body: &str) -> Result<Notification, NotificationError> {
    let value: Value = serde_json::from_str(body)
        .map_err(|error| NotificationError::NotJson(error.to_string()))?;
    if value["Event"] == "s3:TestEvent" {
        return Ok(Notification::Test);
    }
    if value.get("detail-type").is_some() {
        // EventBridge gives the key as it is.
        return Ok(Notification::Created(vec![ObjectRef {
            bucket: string_at(&value, "/detail/bucket/name", "detail.bucket.name")?.to_string(),
            key: string_at(&value, "/detail/object/key", "detail.object.key")?.to_string(),
        }]));
    }
    let records = match value.get("Records") {
        Some(Value::Array(records)) => records,
        Some(other) => {
            return Err(field_error(
                "Records",
                format!("must be an array, found {}", json_type(other)),
            ));
        }
        None => return Err(field_error("Records", "is required")),
    };
    let mut objects = Vec::with_capacity(records.len());
    for (index, record) in records.iter().enumerate() {
        let name = |field: &str| format!("Records[{index}].{field}");
        let event_name = string_at(record, "/eventName", &name("eventName"))?;
        if !event_name.starts_with("ObjectCreated:") {
            continue;
        }
        let bucket = string_at(record, "/s3/bucket/name", &name("s3.bucket.name"))?;
        let key = string_at(record, "/s3/object/key", &name("s3.object.key"))?;
        objects.push(ObjectRef {
            bucket: bucket.to_string(),
            key: decode_key(key).map_err(|problem| field_error(name("s3.object.key"), problem))?,
        });
    }
    Ok(Notification::Created(objects))
}

/// S3 notifications give keys form-encoded: `+` for a space, `%XX` for other bytes.
fn decode_key(key: &str) -> Result<String, String> {
    percent_encoding::percent_decode_str(&key.replace('+', " "))
        .decode_utf8()
        .map(|key| key.into_owned())
        .map_err(|_| format!("is not UTF-8 once decoded: {key:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_notifications_name_decoded_keys() {
        let body = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"trail-logs","arn":"arn:aws:s3:::trail-logs"},"object":{"key":"AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/02/my+file%3D1.json.gz","size":1024}}}]}"#;
        assert_eq!(
            parse(body).unwrap(),
            Notification::Created(vec![ObjectRef {
                bucket: "trail-logs".into(),
                key: "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/02/my file=1.json.gz"
                    .into()
            }])
        );
    }

    #[test]
    fn eventbridge_notifications_and_test_events_are_understood() {
        let body = r#"{"version":"0","detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{"name":"trail-logs"},"object":{"key":"AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/02/a b.json.gz"}}}"#;
        assert_eq!(
            parse(body).unwrap(),
            Notification::Created(vec![ObjectRef {
                bucket: "trail-logs".into(),
                key: "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/02/a b.json.gz".into()
            }])
        );
        let test = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-02T09:00:00.000Z","Bucket":"trail-logs"}"#;
        assert_eq!(parse(test).unwrap(), Notification::Test);
    }

    #[test]
    fn bad_notifications_name_the_field() {
        assert_eq!(
            parse(r#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{}}}]}"#)
                .unwrap_err()
                .to_string(),
            "the notification's Records[0].s3.object.key is required"
        );
        assert!(matches!(
            parse("not json"),
            Err(NotificationError::NotJson(_))
        ));
        assert_eq!(
            parse(r#"{"Records":{}}"#).unwrap_err().to_string(),
            "the notification's Records must be an array, found an object"
        );
    }
}
