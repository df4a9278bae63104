//! `template.yaml` read as data, so local resources are created exactly as it declares them
//! and tests can check what it promises.

use std::path::PathBuf;

use serde_norway::{Mapping, Value};

use crate::Error;

pub struct Template {
    document: Value,
    resources: Mapping,
}

/// A queue as the template declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSpec {
    pub logical_id: String,
    pub visibility_timeout: Option<u64>,
    pub message_retention_period: Option<u64>,
    pub sse: bool,
    /// The dead-letter queue's logical id and the receive count that sends a message there.
    pub redrive: Option<(String, u64)>,
}

/// A table as the template declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSpec {
    pub logical_id: String,
    /// (name, type) pairs.
    pub attributes: Vec<(String, String)>,
    /// (name, HASH|RANGE) pairs.
    pub keys: Vec<(String, String)>,
    pub ttl_attribute: Option<String>,
    pub point_in_time_recovery: bool,
    /// The change stream's view type (`NEW_AND_OLD_IMAGES`), when the table has one.
    pub stream_view_type: Option<String>,
    /// Global secondary indexes: (name, (attribute, HASH|RANGE) pairs, projection type).
    pub indexes: Vec<IndexSpec>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IndexSpec {
    pub name: String,
    pub keys: Vec<(String, String)>,
    pub projection: String,
}

impl Template {
    /// `template.yaml`: the trailwatch stack.
    pub fn path() -> PathBuf {
        Self::path_of("template.yaml")
    }

    /// A file at the repository's root.
    pub fn path_of(file: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(file)
    }

    pub fn load() -> Result<Self, Error> {
        Self::load_file("template.yaml")
    }

    /// Another template at the repository's root, such as `forwarder.yaml`.
    pub fn load_file(file: &str) -> Result<Self, Error> {
        let text = std::fs::read_to_string(Self::path_of(file))?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, Error> {
        let document: Value = serde_norway::from_str(text)?;
        let resources = document
            .get("Resources")
            .and_then(Value::as_mapping)
            .ok_or("the template has no Resources")?
            .clone();
        Ok(Self {
            document,
            resources,
        })
    }

    /// A parameter's default value as the stack sees it: a `CommaDelimitedList` is a list.
    pub fn parameter_default(&self, name: &str) -> Option<serde_json::Value> {
        let parameter = self.document.get("Parameters")?.get(name)?;
        let default = parameter.get("Default")?;
        if let Some(number) = default.as_u64() {
            return Some(serde_json::Value::from(number));
        }
        let default = default.as_str()?;
        Some(
            if parameter.get("Type").and_then(Value::as_str) == Some("CommaDelimitedList") {
                serde_json::Value::from(default.split(',').collect::<Vec<_>>())
            } else {
                serde_json::Value::from(default)
            },
        )
    }

    /// A number parameter's `MaxValue`.
    pub fn parameter_max(&self, name: &str) -> Option<u64> {
        self.document
            .get("Parameters")?
            .get(name)?
            .get("MaxValue")?
            .as_u64()
    }

    /// A rule's event pattern as JSON, with each `!Ref` and `!GetAtt` replaced by what
    /// `resolve` makes of it (given the tag, `Ref` or `GetAtt`, and its argument); a
    /// parameter `resolve` does not know takes its default.
    pub fn event_pattern(
        &self,
        rule: &str,
        resolve: impl Fn(&str, &str) -> Option<serde_json::Value>,
    ) -> Result<serde_json::Value, Error> {
        let pattern = self
            .properties(rule)
            .and_then(|properties| properties.get("EventPattern"))
            .ok_or_else(|| format!("{rule} has no EventPattern"))?;
        let resolve = |tag: &str, argument: &str| {
            resolve(tag, argument).or_else(|| {
                (tag == "Ref")
                    .then(|| self.parameter_default(argument))
                    .flatten()
            })
        };
        to_json(pattern, &resolve)
    }

    /// Logical ids and properties of every resource of one type, in template order.
    fn of_type<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (String, &'a Value)> + 'a {
        self.resources
            .iter()
            .filter(move |(_, resource)| resource.get("Type").and_then(Value::as_str) == Some(kind))
            .map(|(id, resource)| {
                (
                    id.as_str().unwrap_or_default().to_string(),
                    resource.get("Properties").unwrap_or(&Value::Null),
                )
            })
    }

    pub fn resource(&self, logical_id: &str) -> Option<&Value> {
        self.resources.get(logical_id)
    }

    /// A resource's `Properties`.
    pub fn properties(&self, logical_id: &str) -> Option<&Value> {
        self.resource(logical_id)
            .and_then(|resource| resource.get("Properties"))
    }

    /// Queues, dead-letter queues first so a redrive policy can name them.
    pub fn queues(&self) -> Vec<QueueSpec> {
        let mut queues: Vec<QueueSpec> = self
            .of_type("AWS::SQS::Queue")
            .map(|(logical_id, properties)| QueueSpec {
                logical_id,
                visibility_timeout: properties.get("VisibilityTimeout").and_then(Value::as_u64),
                message_retention_period: properties
                    .get("MessageRetentionPeriod")
                    .and_then(Value::as_u64),
                sse: properties
                    .get("SqsManagedSseEnabled")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                redrive: properties.get("RedrivePolicy").and_then(|policy| {
                    let target = get_att_target(policy.get("deadLetterTargetArn")?)?;
                    let count = policy.get("maxReceiveCount")?.as_u64()?;
                    Some((target, count))
                }),
            })
            .collect();
        queues.sort_by_key(|queue| queue.redrive.is_some());
        queues
    }

    pub fn tables(&self) -> Vec<TableSpec> {
        self.of_type("AWS::DynamoDB::Table")
            .map(|(logical_id, properties)| TableSpec {
                logical_id,
                attributes: pairs(
                    properties.get("AttributeDefinitions"),
                    "AttributeName",
                    "AttributeType",
                ),
                keys: pairs(properties.get("KeySchema"), "AttributeName", "KeyType"),
                ttl_attribute: properties
                    .get("TimeToLiveSpecification")
                    .filter(|ttl| ttl.get("Enabled").and_then(Value::as_bool) == Some(true))
                    .and_then(|ttl| ttl.get("AttributeName"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
                point_in_time_recovery: properties
                    .get("PointInTimeRecoverySpecification")
                    .and_then(|pitr| pitr.get("PointInTimeRecoveryEnabled"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                stream_view_type: properties
                    .get("StreamSpecification")
                    .and_then(|stream| stream.get("StreamViewType"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
                indexes: properties
                    .get("GlobalSecondaryIndexes")
                    .and_then(Value::as_sequence)
                    .map(|indexes| {
                        indexes
                            .iter()
                            .map(|index| IndexSpec {
                                name: index["IndexName"].as_str().unwrap_or_default().to_string(),
                                keys: pairs(index.get("KeySchema"), "AttributeName", "KeyType"),
                                projection: index["Projection"]["ProjectionType"]
                                    .as_str()
                                    .unwrap_or("ALL")
                                    .to_string(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect()
    }

    /// The environment a function gets: variable name → the logical id it `!Ref`s.
    pub fn function_environment(&self, function: &str) -> Vec<(String, String)> {
        self.properties(function)
            .and_then(|properties| properties.get("Environment"))
            .and_then(|environment| environment.get("Variables"))
            .and_then(Value::as_mapping)
            .map(|variables| {
                variables
                    .iter()
                    .filter_map(|(name, value)| {
                        Some((name.as_str()?.to_string(), ref_target(value)?))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn to_json(
    value: &Value,
    resolve: &dyn Fn(&str, &str) -> Option<serde_json::Value>,
) -> Result<serde_json::Value, Error> {
    Ok(match value {
        Value::Tagged(tagged) => {
            let argument = tagged
                .value
                .as_str()
                .ok_or_else(|| format!("!{} takes one name here", tagged.tag))?;
            let tag = tagged.tag.to_string();
            let tag = tag.trim_start_matches('!');
            resolve(tag, argument).ok_or_else(|| format!("nothing resolves !{tag} {argument}"))?
        }
        Value::Mapping(mapping) => {
            let mut object = serde_json::Map::new();
            for (key, value) in mapping {
                let key = key.as_str().ok_or("pattern keys are strings")?;
                object.insert(key.to_string(), to_json(value, resolve)?);
            }
            serde_json::Value::Object(object)
        }
        Value::Sequence(items) => serde_json::Value::Array(
            items
                .iter()
                .map(|item| to_json(item, resolve))
                .collect::<Result<_, _>>()?,
        ),
        Value::String(text) => serde_json::Value::from(text.as_str()),
        Value::Bool(flag) => serde_json::Value::from(*flag),
        Value::Number(number) => serde_json::to_value(number)?,
        Value::Null => serde_json::Value::Null,
    })
}

/// `!Ref X` → `X`.
pub fn ref_target(value: &Value) -> Option<String> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => tagged.value.as_str().map(str::to_string),
        _ => value.get("Ref").and_then(Value::as_str).map(str::to_string),
    }
}

/// `!GetAtt X.Arn` → `X`.
pub fn get_att_target(value: &Value) -> Option<String> {
    let text = match value {
        Value::Tagged(tagged) if tagged.tag == "GetAtt" => tagged.value.as_str()?.to_string(),
        _ => value.get("Fn::GetAtt")?.get(0)?.as_str()?.to_string() + ".Arn",
    };
    text.split('.').next().map(str::to_string)
}

fn pairs(list: Option<&Value>, key: &str, value: &str) -> Vec<(String, String)> {
    list.and_then(Value::as_sequence)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| {
                    Some((
                        item.get(key)?.as_str()?.to_string(),
                        item.get(value)?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}
