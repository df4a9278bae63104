//! What template.yaml promises, checked as data: the deployment and the code agree.

use serde_norway::Value;
use trailwatch_shared::ingest::{DEFAULT_MAX_AGE_DAYS, EventTimeWindow, MAX_AGE_DAYS_VARIABLE};
use trailwatch_shared::input::EVENTBRIDGE_DETAIL_TYPES;
use trailwatch_tests::template::{Template, get_att_target, ref_target};

fn template() -> Template {
    Template::load().expect("template.yaml parses")
}

fn property<'a>(template: &'a Template, resource: &str, path: &[&str]) -> &'a Value {
    let mut value = template
        .properties(resource)
        .unwrap_or_else(|| panic!("{resource} exists"));
    for key in path {
        value = value
            .get(*key)
            .unwrap_or_else(|| panic!("{resource}.{} is set", path.join(".")));
    }
    value
}

#[test]
fn functions_are_rust_on_arm64_with_json_logs() {
    let template = template();
    for function in [
        "IngestFunction",
        "DetectorFunction",
        "CollectorFunction",
        "PublisherFunction",
        "QueryFunction",
    ] {
        let resource = template.resource(function).unwrap();
        assert_eq!(
            resource["Metadata"]["BuildMethod"], "rust-cargolambda",
            "{function}"
        );
    }
    let globals =
        serde_norway::from_str::<Value>(&std::fs::read_to_string(Template::path()).unwrap())
            .unwrap();
    let function = &globals["Globals"]["Function"];
    assert_eq!(function["Runtime"], "provided.al2023");
    assert_eq!(function["Architectures"][0], "arm64");
    assert_eq!(function["LoggingConfig"]["LogFormat"], "JSON");
}

#[test]
fn the_queue_outlives_six_detector_timeouts_and_dead_letters_after_five_receives() {
    let template = template();
    let detector_timeout = property(&template, "DetectorFunction", &["Timeout"])
        .as_u64()
        .unwrap();
    let queue = template
        .queues()
        .into_iter()
        .find(|q| q.logical_id == "EventsQueue")
        .unwrap();
    let longest_window = Template::load_file("template.yaml")
        .unwrap()
        .parameter_max("DetectorBatchingWindowSeconds")
        .unwrap();
    assert!(queue.visibility_timeout.unwrap() >= 6 * detector_timeout + longest_window);
    assert_eq!(
        queue.redrive,
        Some(("EventsDeadLetterQueue".to_string(), 5))
    );
    assert!(queue.sse);
    assert!(
        template.queues().iter().all(|queue| queue.sse),
        "every queue is encrypted"
    );
}

#[test]
fn the_detector_reads_batches_and_reports_partial_failures() {
    let template = template();
    let source = property(
        &template,
        "DetectorFunction",
        &["Events", "EventsQueue", "Properties"],
    );
    assert_eq!(
        get_att_target(&source["Queue"]).as_deref(),
        Some("EventsQueue")
    );
    assert_eq!(
        source["FunctionResponseTypes"][0],
        "ReportBatchItemFailures"
    );
    assert!(
        source.get("BatchSize").is_some() && source.get("MaximumBatchingWindowInSeconds").is_some()
    );
}

#[test]
fn the_functions_get_the_environment_their_main_reads() {
    let template = template();
    let ingest = template.function_environment("IngestFunction");
    assert_eq!(
        ingest,
        vec![
            ("EVENTS_QUEUE_URL".to_string(), "EventsQueue".to_string()),
            (
                MAX_AGE_DAYS_VARIABLE.to_string(),
                "IngestMaxEventAgeDays".to_string()
            ),
            (
                "INGESTED_EVENTS_TABLE".to_string(),
                "IngestedEventsTable".to_string()
            ),
            (
                "TRAILWATCH_EVENT_STATUS_HOURS".to_string(),
                "EventStatusHours".to_string()
            ),
        ]
    );
    let detector = template.function_environment("DetectorFunction");
    assert_eq!(
        detector,
        vec![
            ("ANOMALIES_TABLE".to_string(), "AnomaliesTable".to_string()),
            ("PROFILES_TABLE".to_string(), "ProfilesTable".to_string()),
            (
                "EVENTS_DEAD_LETTER_QUEUE_URL".to_string(),
                "EventsDeadLetterQueue".to_string()
            ),
            ("CASES_TABLE".to_string(), "CasesTable".to_string()),
            (
                "SUPPRESSIONS_TABLE".to_string(),
                "SuppressionsTable".to_string()
            ),
            (
                "TRAILWATCH_FINDING_WINDOW_HOURS".to_string(),
                "FindingWindowHours".to_string()
            ),
            (
                "TRAILWATCH_INCIDENT_WINDOW_HOURS".to_string(),
                "IncidentWindowHours".to_string()
            ),
            (
                "TRAILWATCH_ANOMALY_RETENTION_DAYS".to_string(),
                "AnomalyRetentionDays".to_string()
            ),
            (
                "TRAILWATCH_FINDING_RETENTION_DAYS".to_string(),
                "FindingRetentionDays".to_string()
            ),
            (
                "TRAILWATCH_JUDGE_AWS_SERVICES".to_string(),
                "JudgeAwsServices".to_string()
            ),
        ]
    );
    let collector = template.function_environment("CollectorFunction");
    assert_eq!(
        collector,
        vec![
            ("EVENTS_QUEUE_URL".to_string(), "EventsQueue".to_string()),
            (
                "TRAIL_OBJECTS_DEAD_LETTER_QUEUE_URL".to_string(),
                "TrailObjectsDeadLetterQueue".to_string()
            ),
        ]
    );
    let collector_main = include_str!("../../functions/collector/src/main.rs");
    assert!(collector_main.contains("\"EVENTS_QUEUE_URL\""));
    assert!(collector_main.contains("\"TRAIL_OBJECTS_DEAD_LETTER_QUEUE_URL\""));
    let ingest_main = include_str!("../../functions/ingest/src/main.rs");
    let detector_main = include_str!("../../functions/detector/src/main.rs");
    assert!(ingest_main.contains("\"EVENTS_QUEUE_URL\""));
    assert!(ingest_main.contains("MAX_AGE_DAYS_VARIABLE"));
    assert!(detector_main.contains("\"ANOMALIES_TABLE\""));
    assert!(detector_main.contains("\"PROFILES_TABLE\""));
    assert!(detector_main.contains("\"EVENTS_DEAD_LETTER_QUEUE_URL\""));
    assert!(detector_main.contains("\"CASES_TABLE\""));
    assert!(detector_main.contains("\"SUPPRESSIONS_TABLE\""));
}

#[test]
fn ingest_accepts_ninety_days_of_history_unless_widened_for_backfill() {
    let template = template();
    assert_eq!(
        template.parameter_default("IngestMaxEventAgeDays"),
        Some(serde_json::json!(DEFAULT_MAX_AGE_DAYS))
    );
    assert_eq!(
        template.parameter_max("IngestMaxEventAgeDays"),
        Some(u64::from(EventTimeWindow::widest().max_age_days()))
    );
}

#[test]
fn the_eventbridge_rule_sends_aws_cloudtrail_events_to_the_queue_and_may() {
    let template = template();
    let pattern = property(&template, "CloudTrailRule", &["EventPattern"]);
    assert_eq!(pattern["source"][0]["prefix"], "aws.");
    let detail_types: Vec<&str> = pattern["detail-type"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|value| value.as_str().unwrap())
        .collect();
    assert_eq!(
        detail_types,
        EVENTBRIDGE_DETAIL_TYPES.to_vec(),
        "the rule sends what the parser reads"
    );
    let target = &property(&template, "CloudTrailRule", &["Targets"])[0];
    assert_eq!(
        get_att_target(&target["Arn"]).as_deref(),
        Some("EventsQueue")
    );

    let statement = &property(
        &template,
        "EventsQueuePolicy",
        &["PolicyDocument", "Statement"],
    )[0];
    assert_eq!(statement["Principal"]["Service"], "events.amazonaws.com");
    assert_eq!(statement["Action"], "sqs:SendMessage");
    let senders: Vec<String> = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(get_att_target)
        .collect();
    assert_eq!(
        senders,
        ["CloudTrailRule", "ForwardedCloudTrailRule"],
        "only our rules may send"
    );
}

#[test]
fn every_rule_takes_read_only_events_by_default_with_one_pattern() {
    let template = template();
    let forwarder = Template::load_file("forwarder.yaml").expect("forwarder.yaml parses");
    let home = property(&template, "CloudTrailRule", &["EventPattern"]);
    assert_eq!(
        property(&template, "ForwardedCloudTrailRule", &["EventPattern"]),
        home,
        "the forwarders' bus is read with the same pattern"
    );
    // The forwarder's pattern is the home pattern less the exclusion of the stack's roles.
    let mut without_own_roles = home.clone();
    without_own_roles["detail"]
        .as_mapping_mut()
        .unwrap()
        .remove("$or");
    assert_eq!(
        forwarder
            .properties("ForwardCloudTrailRule")
            .unwrap()
            .get("EventPattern")
            .unwrap(),
        &without_own_roles
    );

    for (template, rule) in [
        (&template, "CloudTrailRule"),
        (&template, "ForwardedCloudTrailRule"),
        (&forwarder, "ForwardCloudTrailRule"),
    ] {
        let state = template.properties(rule).unwrap()["State"].clone();
        let Value::Tagged(choice) = state else {
            panic!("{rule}: State depends on ReadOnlyEvents")
        };
        assert_eq!(
            choice.value,
            serde_norway::from_str::<Value>(
                "[WithReadOnlyEvents, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS, ENABLED]"
            )
            .unwrap(),
            "{rule}"
        );
        assert_eq!(
            template.parameter_default("ReadOnlyEvents"),
            Some(serde_json::json!("include"))
        );
        let excluded = template.parameter_default("ExcludedCalls").unwrap();
        assert!(excluded.as_array().unwrap().contains(&"Decrypt".into()));
        assert!(
            !excluded
                .as_array()
                .unwrap()
                .contains(&"GetCallerIdentity".into())
        );
    }
}

#[test]
fn forwarders_send_to_the_home_bus_which_admits_the_organization_or_listed_accounts() {
    let template = template();
    let forwarder = Template::load_file("forwarder.yaml").expect("forwarder.yaml parses");
    let target = &forwarder.properties("ForwardCloudTrailRule").unwrap()["Targets"][0];
    assert_eq!(
        ref_target(&target["Arn"]).as_deref(),
        Some("HomeEventBusArn")
    );
    assert_eq!(
        get_att_target(&target["RoleArn"]).as_deref(),
        Some("ForwarderRole"),
        "a bus in another region or account needs a role"
    );
    assert_eq!(
        ref_target(property(
            &template,
            "ForwardedCloudTrailRule",
            &["EventBusName"]
        ))
        .as_deref(),
        Some("ForwardedEventsBus")
    );
    let organization = property(&template, "OrganizationForwardersPolicy", &["Statement"]);
    assert_eq!(organization["Action"], "events:PutEvents");
    assert_eq!(
        ref_target(&organization["Condition"]["StringEquals"]["aws:PrincipalOrgID"]).as_deref(),
        Some("OrganizationId")
    );
    let accounts = property(&template, "AccountForwardersPolicy", &["Statement"]);
    assert_eq!(
        ref_target(&accounts["Principal"]["AWS"]).as_deref(),
        Some("ForwarderAccountIds")
    );
}

#[test]
fn tables_are_on_demand_with_recovery_for_evidence_ttl_and_the_indexes_queries_need() {
    let template = template();
    let tables = template.tables();
    let anomalies = tables
        .iter()
        .find(|t| t.logical_id == "AnomaliesTable")
        .unwrap();
    assert_eq!(anomalies.keys, vec![("pk".to_string(), "HASH".to_string())]);
    assert!(anomalies.point_in_time_recovery);
    let profiles = tables
        .iter()
        .find(|t| t.logical_id == "ProfilesTable")
        .unwrap();
    assert_eq!(profiles.ttl_attribute.as_deref(), Some("expires_at"));
    assert_eq!(anomalies.ttl_attribute.as_deref(), Some("expires_at"));
    let cases = tables
        .iter()
        .find(|t| t.logical_id == "CasesTable")
        .unwrap();
    assert_eq!(cases.ttl_attribute.as_deref(), Some("expires_at"));
    assert!(cases.point_in_time_recovery);
    // The indexes the query API lists findings and incidents by, newest first.
    let indexes: Vec<(&str, Vec<(String, String)>)> = cases
        .indexes
        .iter()
        .map(|index| (index.name.as_str(), index.keys.clone()))
        .collect();
    let keys = |hash: &str| {
        vec![
            (hash.to_string(), "HASH".to_string()),
            ("last_seen".to_string(), "RANGE".to_string()),
        ]
    };
    assert_eq!(
        indexes,
        vec![
            ("by-last-seen", keys("list")),
            ("by-severity", keys("severity_list")),
            ("by-principal", keys("principal")),
        ]
    );
    for table in [
        "AnomaliesTable",
        "ProfilesTable",
        "CasesTable",
        "SuppressionsTable",
    ] {
        assert_eq!(
            property(&template, table, &["BillingMode"]),
            "PAY_PER_REQUEST"
        );
    }
}

#[test]
fn iam_is_least_privilege() {
    let template = template();
    let ingest = property(&template, "IngestFunction", &["Policies"])
        .as_sequence()
        .unwrap();
    assert_eq!(ingest.len(), 2);
    assert!(ingest[0].get("SQSSendMessagePolicy").is_some());
    // The ledger of what it queued: batch writes to its own table, nothing else.
    assert_eq!(
        ingest[1]["Statement"][0]["Action"][0],
        "dynamodb:BatchWriteItem"
    );
    assert_eq!(
        get_att_target(&ingest[1]["Statement"][0]["Resource"]).as_deref(),
        Some("IngestedEventsTable")
    );
    let statements = property(&template, "DetectorFunction", &["Policies"])[0]["Statement"]
        .as_sequence()
        .unwrap();
    let grants: Vec<(String, Vec<&str>)> = statements
        .iter()
        .map(|statement| {
            (
                get_att_target(&statement["Resource"]).unwrap(),
                statement["Action"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .map(|action| action.as_str().unwrap())
                    .collect(),
            )
        })
        .collect();
    // Anomalies are evidence: put (conditionally) and read, never updated, batch-written or
    // deleted. Cases: read and put back under a version condition (in the transaction with
    // the anomaly). Suppressions: read. Profiles: what the stores call, no deletes or scans.
    assert_eq!(
        grants,
        vec![
            (
                "AnomaliesTable".to_string(),
                vec!["dynamodb:PutItem", "dynamodb:GetItem"]
            ),
            (
                "CasesTable".to_string(),
                vec![
                    "dynamodb:GetItem",
                    "dynamodb:BatchGetItem",
                    "dynamodb:PutItem"
                ]
            ),
            ("SuppressionsTable".to_string(), vec!["dynamodb:Scan"]),
            (
                "ProfilesTable".to_string(),
                vec![
                    "dynamodb:GetItem",
                    "dynamodb:BatchGetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:Query"
                ]
            ),
        ]
    );
    // And it sends only to its own dead-letter queue, for messages no retry can help.
    let detector = property(&template, "DetectorFunction", &["Policies"])
        .as_sequence()
        .unwrap();
    assert_eq!(detector.len(), 2);
    assert_eq!(
        get_att_target(&detector[1]["SQSSendMessagePolicy"]["QueueName"]).as_deref(),
        Some("EventsDeadLetterQueue")
    );
}

#[test]
fn the_outputs_name_the_api_queue_and_tables() {
    let text = std::fs::read_to_string(Template::path()).unwrap();
    let document: Value = serde_norway::from_str(&text).unwrap();
    for output in [
        "IngestUrl",
        "EventsQueueUrl",
        "EventsDeadLetterQueueUrl",
        "ForwardedEventsBusArn",
        "AnomaliesTableName",
        "ProfilesTableName",
    ] {
        assert!(document["Outputs"].get(output).is_some(), "{output}");
    }
}

#[test]
fn the_collector_is_optional_and_reads_its_queue_with_partial_failures() {
    let template = template();
    for resource in [
        "CollectorFunction",
        "TrailObjectsQueue",
        "TrailObjectsDeadLetterQueue",
        "TrailObjectsQueuePolicy",
    ] {
        assert_eq!(
            template.resource(resource).unwrap()["Condition"],
            "CollectsTrailBucket",
            "{resource} exists only with a trail bucket"
        );
    }
    let source = property(
        &template,
        "CollectorFunction",
        &["Events", "TrailObjects", "Properties"],
    );
    assert_eq!(
        get_att_target(&source["Queue"]).as_deref(),
        Some("TrailObjectsQueue")
    );
    assert_eq!(
        source["FunctionResponseTypes"][0],
        "ReportBatchItemFailures"
    );
    let timeout = property(&template, "CollectorFunction", &["Timeout"])
        .as_u64()
        .unwrap();
    let queue = template
        .queues()
        .into_iter()
        .find(|q| q.logical_id == "TrailObjectsQueue")
        .unwrap();
    assert!(queue.visibility_timeout.unwrap() >= 6 * timeout);
    assert_eq!(
        queue.redrive,
        Some(("TrailObjectsDeadLetterQueue".to_string(), 5))
    );
    let statement = &property(
        &template,
        "TrailObjectsQueuePolicy",
        &["PolicyDocument", "Statement"],
    )[0];
    assert_eq!(statement["Principal"]["Service"], "s3.amazonaws.com");
    assert!(
        statement["Condition"]["ArnLike"]
            .get("aws:SourceArn")
            .is_some(),
        "only the trail bucket may notify"
    );
}

#[test]
fn the_collector_reads_the_trail_bucket_and_sends_only_to_its_two_queues() {
    let template = template();
    let policies = property(&template, "CollectorFunction", &["Policies"])
        .as_sequence()
        .unwrap();
    let mut grants = Vec::new();
    for policy in policies {
        match policy {
            Value::Mapping(mapping) => {
                for (name, body) in mapping {
                    let target = body
                        .get("QueueName")
                        .and_then(get_att_target)
                        .or_else(|| body.get("BucketName").and_then(ref_target));
                    grants.push((name.as_str().unwrap().to_string(), target.unwrap()));
                }
            }
            // The trail key's decrypt permission, only when a key is named.
            Value::Tagged(choice) => assert_eq!(choice.value[0], "HasTrailKmsKey"),
            other => panic!("unexpected policy {other:?}"),
        }
    }
    assert_eq!(
        grants,
        vec![
            (
                "SQSSendMessagePolicy".to_string(),
                "EventsQueue".to_string()
            ),
            (
                "SQSSendMessagePolicy".to_string(),
                "TrailObjectsDeadLetterQueue".to_string()
            ),
            ("S3ReadPolicy".to_string(), "TrailBucketName".to_string()),
        ]
    );
}

#[test]
fn the_stack_watches_itself() {
    let template = template();
    // Every alarm goes to the stack's topic.
    let alarms: Vec<(String, String, String)> = [
        (
            "EventsDeadLetterAlarm",
            "ApproximateNumberOfMessagesVisible",
        ),
        ("RuleDeadLetterAlarm", "ApproximateNumberOfMessagesVisible"),
        (
            "TrailObjectsDeadLetterAlarm",
            "ApproximateNumberOfMessagesVisible",
        ),
        ("EventsBacklogAlarm", "ApproximateAgeOfOldestMessage"),
        ("DetectorErrorsAlarm", "Errors"),
        ("DetectorThrottlesAlarm", "Throttles"),
        ("QueryErrorsAlarm", "Errors"),
        ("IngestErrorsAlarm", "Errors"),
        ("CollectorErrorsAlarm", "Errors"),
        ("RuleFailedInvocationsAlarm", "FailedInvocations"),
        (
            "PublisherDeadLetterAlarm",
            "ApproximateNumberOfMessagesVisible",
        ),
        ("PublisherErrorsAlarm", "Errors"),
    ]
    .iter()
    .map(|(alarm, metric)| {
        let properties = template
            .properties(alarm)
            .unwrap_or_else(|| panic!("{alarm} exists"));
        assert_eq!(properties["MetricName"], *metric, "{alarm}");
        assert_eq!(
            ref_target(&properties["AlarmActions"][0]).as_deref(),
            Some("AlarmsTopic"),
            "{alarm}"
        );
        let dimension = &properties["Dimensions"][0]["Value"];
        let watched = get_att_target(dimension)
            .or_else(|| ref_target(dimension))
            .unwrap();
        (alarm.to_string(), metric.to_string(), watched)
    })
    .collect();
    let watched: Vec<&str> = alarms
        .iter()
        .map(|(_, _, watched)| watched.as_str())
        .collect();
    assert_eq!(
        watched,
        [
            "EventsDeadLetterQueue",
            "RuleDeadLetterQueue",
            "TrailObjectsDeadLetterQueue",
            "EventsQueue",
            "DetectorFunction",
            "DetectorFunction",
            "QueryFunction",
            "IngestFunction",
            "CollectorFunction",
            "CloudTrailRule",
            "PublisherDeadLetterQueue",
            "PublisherFunction",
        ]
    );
    assert_eq!(
        ref_target(property(
            &template,
            "AlarmsEmailSubscription",
            &["Endpoint"]
        ))
        .as_deref(),
        Some("AlarmEmail")
    );

    // What EventBridge cannot deliver is kept.
    for rule in ["CloudTrailRule", "ForwardedCloudTrailRule"] {
        let target = &property(&template, rule, &["Targets"])[0];
        assert_eq!(
            get_att_target(&target["DeadLetterConfig"]["Arn"]).as_deref(),
            Some("RuleDeadLetterQueue"),
            "{rule}"
        );
        assert!(
            target["RetryPolicy"]["MaximumEventAgeInSeconds"]
                .as_u64()
                .is_some()
        );
    }

    // Logs are kept a set time; a flood cannot take the account's concurrency.
    for (group, function) in [
        ("IngestLogGroup", "IngestFunction"),
        ("DetectorLogGroup", "DetectorFunction"),
        ("CollectorLogGroup", "CollectorFunction"),
        ("PublisherLogGroup", "PublisherFunction"),
        ("QueryLogGroup", "QueryFunction"),
    ] {
        assert_eq!(
            ref_target(property(&template, group, &["RetentionInDays"])).as_deref(),
            Some("LogRetentionDays")
        );
        let Value::Tagged(name) = property(&template, group, &["LogGroupName"]) else {
            panic!("{group} names its function's group")
        };
        assert_eq!(
            name.value.as_str(),
            Some(format!("/aws/lambda/${{{function}}}").as_str())
        );
    }
    assert_eq!(
        ref_target(property(
            &template,
            "DetectorFunction",
            &[
                "Events",
                "EventsQueue",
                "Properties",
                "ScalingConfig",
                "MaximumConcurrency"
            ]
        ))
        .as_deref(),
        Some("DetectorMaximumConcurrency")
    );
}

#[test]
fn alerts_are_published_from_the_cases_stream_with_retries_bisection_and_a_dead_letter_queue() {
    let template = template();
    assert_eq!(
        property(
            &template,
            "CasesTable",
            &["StreamSpecification", "StreamViewType"]
        ),
        "NEW_AND_OLD_IMAGES"
    );
    let stream = property(
        &template,
        "PublisherFunction",
        &["Events", "CasesStream", "Properties"],
    );
    assert_eq!(
        get_att_target(&stream["Stream"]).as_deref(),
        Some("CasesTable")
    );
    assert_eq!(stream["BisectBatchOnFunctionError"], true);
    assert!(
        stream["MaximumRetryAttempts"]
            .as_u64()
            .is_some_and(|n| n > 0)
    );
    assert_eq!(
        stream["FunctionResponseTypes"][0],
        "ReportBatchItemFailures"
    );
    assert_eq!(
        get_att_target(&stream["DestinationConfig"]["OnFailure"]["Destination"]).as_deref(),
        Some("PublisherDeadLetterQueue")
    );
    // Only findings and incidents written or changed reach the function.
    let pattern: serde_json::Value = serde_json::from_str(
        stream["FilterCriteria"]["Filters"][0]["Pattern"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        pattern,
        serde_json::json!({"eventName": ["INSERT", "MODIFY"],
            "dynamodb": {"Keys": {"sk": {"S": ["finding", "incident"]}}}})
    );
    assert_eq!(
        template.function_environment("PublisherFunction"),
        vec![
            ("ALERTS_TOPIC_ARN".to_string(), "AlertsTopic".to_string()),
            ("ALERTS_EVENT_BUS".to_string(), "AlertEventBus".to_string()),
            (
                "TRAILWATCH_ALERT_MIN_SEVERITY".to_string(),
                "AlertMinSeverity".to_string()
            ),
            (
                "TRAILWATCH_SECURITY_HUB".to_string(),
                "ImportToSecurityHub".to_string()
            ),
        ]
    );
    let publisher_main = include_str!("../../functions/publisher/src/main.rs");
    for variable in ["\"ALERTS_TOPIC_ARN\"", "\"ALERTS_EVENT_BUS\""] {
        assert!(publisher_main.contains(variable), "{variable}");
    }
    assert_eq!(
        template.parameter_default("AlertMinSeverity"),
        Some(serde_json::json!("medium"))
    );
    // It may publish to its topic and bus and record failures, nothing else.
    let policies = property(&template, "PublisherFunction", &["Policies"])
        .as_sequence()
        .unwrap();
    assert_eq!(
        get_att_target(&policies[0]["SNSPublishMessagePolicy"]["TopicName"]).as_deref(),
        Some("AlertsTopic")
    );
    // Security Hub only when asked (a conditional statement), and only its own product.
    assert_eq!(policies.len(), 4);
    assert_eq!(
        template.parameter_default("ImportToSecurityHub"),
        Some(serde_json::json!("false"))
    );
    assert!(publisher_main.contains("\"TRAILWATCH_SECURITY_HUB\""));
    assert_eq!(
        ref_target(property(
            &template,
            "AlertsEmailSubscription",
            &["Endpoint"]
        ))
        .as_deref(),
        Some("AlertEmail")
    );
}

#[test]
fn every_query_route_reaches_the_query_function_on_the_iam_authorized_api() {
    let template = template();
    let events = property(&template, "QueryFunction", &["Events"])
        .as_mapping()
        .unwrap();
    let mut served: Vec<String> = events
        .values()
        .map(|event| {
            assert_eq!(event["Type"], "HttpApi");
            let properties = &event["Properties"];
            assert_eq!(
                ref_target(&properties["ApiId"]).as_deref(),
                Some("IngestApi")
            );
            // Every method reaches the function: a wrong one gets our 405 with Allow.
            assert_eq!(properties["Method"], "ANY");
            properties["Path"].as_str().unwrap().to_string()
        })
        .collect();
    served.sort();
    let mut routes: Vec<String> = trailwatch_shared::api::ROUTES
        .iter()
        .map(|(path, _)| path.to_string())
        .filter(|path| path != "/ingest")
        .collect();
    routes.sort();
    assert_eq!(served, routes);
    assert_eq!(
        property(&template, "IngestApi", &["Auth", "DefaultAuthorizer"]),
        "AWS_IAM"
    );
    let environment: Vec<String> = template
        .function_environment("QueryFunction")
        .into_iter()
        .map(|(variable, _)| variable)
        .collect();
    // The function's main reads its variables, but for the ledger's, which the ledger reads.
    let main = include_str!("../../functions/query/src/main.rs");
    let ledger = include_str!("../../shared/src/adapters/dynamodb_ledger.rs");
    assert!(main.contains("ledger_from_env"));
    for variable in &environment {
        if !variable.starts_with("TRAILWATCH_") {
            let read = format!("\"{variable}\"");
            assert!(main.contains(&read) || ledger.contains(&read), "{variable}");
        }
    }
    assert_eq!(
        property(
            &template,
            "IngestedEventsTable",
            &["TimeToLiveSpecification", "AttributeName"]
        ),
        "expires_at"
    );
}
