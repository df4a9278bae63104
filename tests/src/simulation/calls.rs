//! The calls the simulation makes, shaped as CloudTrail records them: request parameters,
//! response elements and resources as the AWS documentation's CloudTrail examples show them,
//! so rules meet the same fields they meet in a real trail.

use chrono::{DateTime, SecondsFormat, Utc};
use fastrand::Rng;
use serde_json::{Value, json};

use super::ACCOUNT;

/// One API call before it is given a caller, a time and a place.
#[derive(Clone, Debug)]
pub struct Call {
    pub service: &'static str,
    pub name: &'static str,
    pub request: Value,
    pub response: Value,
    /// ARNs of the resources CloudTrail lists for the call.
    pub resources: Vec<String>,
    pub error: Option<(&'static str, &'static str)>,
    /// A data event (an S3 object call), not a management event.
    pub data_event: bool,
}

impl Call {
    pub fn new(service: &'static str, name: &'static str) -> Call {
        Call {
            service,
            name,
            request: Value::Null,
            response: Value::Null,
            resources: Vec::new(),
            error: None,
            data_event: false,
        }
    }

    pub fn request(mut self, request: Value) -> Call {
        self.request = request;
        self
    }

    pub fn response(mut self, response: Value) -> Call {
        self.response = response;
        self
    }

    pub fn resource(mut self, arn: String) -> Call {
        self.resources.push(arn);
        self
    }

    /// The call failed: CloudTrail keeps the request and drops the response.
    pub fn failed(mut self, code: &'static str, message: &'static str) -> Call {
        self.error = Some((code, message));
        self.response = Value::Null;
        self
    }

    pub fn data_event(mut self) -> Call {
        self.data_event = true;
        self
    }

    pub fn denied(self) -> Call {
        let code = if self.service == "ec2" {
            "Client.UnauthorizedOperation"
        } else {
            "AccessDenied"
        };
        self.failed(code, "User is not authorized to perform this operation")
    }

    pub fn read_only(&self) -> bool {
        [
            "Describe", "List", "Get", "Lookup", "Filter", "Decrypt", "Head", "Search",
        ]
        .iter()
        .any(|prefix| self.name.starts_with(prefix))
    }
}

/// Services whose calls CloudTrail records in us-east-1 whatever region the caller uses.
const GLOBAL_SERVICES: [&str; 3] = ["iam", "organizations", "route53"];

/// Where a call came from and with what.
pub struct Origin<'a> {
    pub source: &'a str,
    pub agent: &'a str,
    pub region: &'a str,
}

/// The CloudTrail record of `call` made by `identity` at `at`.
pub fn record(
    rng: &mut Rng,
    identity: &Value,
    call: &Call,
    at: DateTime<Utc>,
    origin: &Origin,
) -> Value {
    let region = if GLOBAL_SERVICES.contains(&call.service) {
        "us-east-1"
    } else {
        origin.region
    };
    let mut record = json!({
        "eventVersion": "1.10",
        "userIdentity": identity,
        "eventTime": at.to_rfc3339_opts(SecondsFormat::Secs, true),
        "eventSource": format!("{}.amazonaws.com", call.service),
        "eventName": call.name,
        "awsRegion": region,
        "sourceIPAddress": origin.source,
        "userAgent": origin.agent,
        "requestParameters": call.request,
        "responseElements": call.response,
        "requestID": uuid(rng),
        "eventID": uuid(rng),
        "readOnly": call.read_only(),
        "eventType": "AwsApiCall",
        "managementEvent": !call.data_event,
        "recipientAccountId": ACCOUNT,
        "eventCategory": if call.data_event { "Data" } else { "Management" }
    });
    // Role sessions last at most 12 hours: each half-day signs in anew, with a new key.
    if let Some(key) = identity["accessKeyId"]
        .as_str()
        .filter(|key| key.starts_with("ASIA"))
    {
        let half_day = at.timestamp().div_euclid(12 * 3600);
        record["userIdentity"]["accessKeyId"] = json!(format!(
            "ASIA{:016X}",
            super::actors::fnv1a(&format!("{key}/{half_day}"))
        ));
    }
    if let Some((code, message)) = call.error {
        record["errorCode"] = json!(code);
        record["errorMessage"] = json!(message);
    }
    if !call.resources.is_empty() {
        record["resources"] = call
            .resources
            .iter()
            .map(|arn| json!({"accountId": ACCOUNT, "ARN": arn}))
            .collect();
    }
    if origin.source.parse::<std::net::IpAddr>().is_ok() {
        record["tlsDetails"] = json!({"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": format!("{}.{region}.amazonaws.com", call.service)});
    }
    record
}

pub fn uuid(rng: &mut Rng) -> String {
    let hex = |rng: &mut Rng, n: usize| {
        (0..n)
            .map(|_| char::from_digit(rng.u32(0..16), 16).unwrap_or('0'))
            .collect::<String>()
    };
    format!(
        "{}-{}-4{}-a{}-{}",
        hex(rng, 8),
        hex(rng, 4),
        hex(rng, 3),
        hex(rng, 3),
        hex(rng, 12)
    )
}

fn pick<'a>(rng: &mut Rng, values: &[&'a str]) -> &'a str {
    values[rng.usize(0..values.len())]
}

const BUCKETS: [&str; 4] = [
    "acme-artifacts",
    "acme-web-assets",
    "acme-data-lake",
    "acme-logs",
];
const TABLES: [&str; 3] = ["orders", "sessions", "inventory"];
const STACKS: [&str; 3] = ["web-prod", "data-pipeline", "network"];
const FUNCTIONS: [&str; 3] = ["processor", "thumbnailer", "report-generator"];
const KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d";

/// A benign call with the request parameters and response elements the service records.
/// Calls not listed get `null` parameters, as CloudTrail records calls without any.
pub fn shaped(rng: &mut Rng, service: &'static str, name: &'static str, at: DateTime<Utc>) -> Call {
    let call = Call::new(service, name);
    let millis = at.timestamp_millis();
    match (service, name) {
        ("ec2", "DescribeInstances") => call.request(json!({"instancesSet": {}, "filterSet": {
            "items": [{"name": "tag:env", "valueSet": {"items": [{"value": "prod"}]}}]}})),
        ("ec2", "DescribeSecurityGroups") => call.request(json!({"securityGroupSet": {},
            "securityGroupIdSet": {}, "filterSet": {}})),
        ("ec2", "DescribeVolumes") => call.request(json!({"volumeSet": {}, "filterSet": {}})),
        ("ec2", "DescribeSnapshots") => call.request(json!({"snapshotSet": {}, "ownersSet": {
            "items": [{"owner": "self"}]}, "sharedUsersSet": {}, "filterSet": {}})),
        ("ec2", "DescribeInstanceStatus") => call.request(json!({"instancesSet": {},
            "filterSet": {}, "includeAllInstances": false})),
        ("s3", "ListBuckets") => call.request(json!({"Host": "s3.amazonaws.com"})),
        ("s3", "GetBucketLocation" | "GetBucketPolicy" | "GetBucketAcl" | "GetBucketEncryption"
            | "GetBucketVersioning" | "GetBucketLogging") => {
            let bucket = pick(rng, &BUCKETS);
            let parameter = match name {
                "GetBucketLocation" => "location",
                "GetBucketPolicy" => "policy",
                "GetBucketAcl" => "acl",
                "GetBucketEncryption" => "encryption",
                "GetBucketVersioning" => "versioning",
                _ => "logging",
            };
            call.request(json!({"bucketName": bucket, "Host": format!("{bucket}.s3.amazonaws.com"), parameter: ""}))
                .resource(format!("arn:aws:s3:::{bucket}"))
        }
        ("cloudwatch", "GetMetricData") => call.request(json!({
            "metricDataQueries": [{"id": "m1", "metricStat": {"metric": {"namespace": "AWS/ApplicationELB",
                "metricName": "TargetResponseTime", "dimensions": [{"name": "LoadBalancer", "value": "app/web/50dc6c495c0c9188"}]},
                "period": 60, "stat": "p99"}, "returnData": true}],
            "startTime": (at - chrono::Duration::hours(3)).to_rfc3339_opts(SecondsFormat::Secs, true),
            "endTime": at.to_rfc3339_opts(SecondsFormat::Secs, true)})),
        ("cloudwatch", "DescribeAlarms") => call.request(json!({"stateValue": "ALARM", "maxRecords": 100})),
        ("logs", "FilterLogEvents") => call.request(json!({
            "logGroupName": format!("/aws/lambda/{}", pick(rng, &FUNCTIONS)),
            "startTime": millis - 3_600_000, "endTime": millis, "filterPattern": "ERROR", "interleaved": true})),
        ("logs", "DescribeLogGroups") => call.request(json!({"logGroupNamePrefix": "/aws/lambda/"})),
        ("logs", "CreateLogStream") => call.request(json!({
            "logGroupName": format!("/aws/lambda/{}", pick(rng, &FUNCTIONS)),
            "logStreamName": format!("2026/10/05/[$LATEST]{}", uuid(rng).replace('-', ""))})),
        ("ecs", "DescribeServices") => call.request(json!({"cluster": "prod", "services": ["web"]})),
        ("ecs", "UpdateService") => call
            .request(json!({"cluster": "prod", "service": "web", "taskDefinition": format!("web:{}", rng.u32(40..90)),
                "forceNewDeployment": true}))
            .response(json!({"service": {"serviceName": "web", "status": "ACTIVE", "desiredCount": 3}})),
        ("iam", "ListRoles") => call.request(json!({"maxItems": 100})),
        ("iam", "ListPolicies") => call.request(json!({"scope": "Local", "onlyAttached": false, "maxItems": 100})),
        ("iam", "GetRole") => call.request(json!({"roleName": pick(rng, &["deploy", "web-server", "processor"])})),
        ("iam", "ListAttachedRolePolicies") => call.request(json!({"roleName": pick(rng, &["deploy", "web-server", "processor"])})),
        ("dynamodb", "DescribeTable") => {
            let table = pick(rng, &TABLES);
            call.request(json!({"tableName": table}))
                .resource(format!("arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/{table}"))
        }
        ("cloudformation", "DescribeStacks" | "DescribeStackEvents" | "DescribeStackResources") => {
            call.request(json!({"stackName": pick(rng, &STACKS)}))
        }
        ("cloudformation", "ListStacks") => call.request(json!({"stackStatusFilter": ["CREATE_COMPLETE", "UPDATE_COMPLETE"]})),
        ("cloudformation", "UpdateStack") => {
            let stack = pick(rng, &STACKS);
            call.request(json!({"stackName": stack, "templateURL": format!("https://acme-artifacts.s3.amazonaws.com/{stack}/{}.yaml", uuid(rng)),
                "capabilities": ["CAPABILITY_IAM"], "parameters": [{"parameterKey": "Version", "parameterValue": format!("1.{}.0", rng.u32(0..300))}]}))
                .response(json!({"stackId": format!("arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/{stack}/{}", uuid(rng))}))
        }
        ("cloudformation", "CreateChangeSet") => {
            let stack = pick(rng, &STACKS);
            call.request(json!({"stackName": stack, "changeSetName": format!("release-{}", rng.u32(100..999)), "changeSetType": "UPDATE",
                "capabilities": ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]}))
                .response(json!({"id": format!("arn:aws:cloudformation:eu-west-1:{ACCOUNT}:changeSet/release/{}", uuid(rng))}))
        }
        ("cloudformation", "ExecuteChangeSet") => call.request(json!({"stackName": pick(rng, &STACKS),
            "changeSetName": format!("release-{}", rng.u32(100..999))})),
        ("lambda", "GetFunction") => call.request(json!({"functionName": pick(rng, &FUNCTIONS)})),
        ("lambda", "ListFunctions") => call.request(json!({"maxItems": 50})),
        ("lambda", "UpdateFunctionCode") => {
            let function = pick(rng, &FUNCTIONS);
            call.request(json!({"functionName": function, "s3Bucket": "acme-artifacts",
                "s3Key": format!("{function}/{}.zip", uuid(rng)), "publish": true}))
                .response(json!({"functionName": function, "runtime": "provided.al2023", "state": "Pending"}))
        }
        ("ecr", "GetAuthorizationToken") => call,
        ("ecr", "BatchCheckLayerAvailability") => call.request(json!({"repositoryName": "web", "registryId": ACCOUNT})),
        ("cloudtrail", "LookupEvents") => call.request(json!({"maxResults": 50, "lookupAttributes": [
            {"attributeKey": "EventName", "attributeValue": pick(rng, &["ConsoleLogin", "CreateUser", "RunInstances"])}]})),
        ("cloudtrail", "DescribeTrails") => call.request(json!({"includeShadowTrails": true})),
        ("guardduty", "ListFindings") => call.request(json!({"detectorId": "12abc34d567e8fa901bc2d34e56789f0",
            "findingCriteria": {"criterion": {"service.archived": {"eq": ["false"]}}}, "maxResults": 50})),
        ("config", "DescribeComplianceByConfigRule") => call.request(json!({"complianceTypes": ["NON_COMPLIANT"]})),
        ("securityhub", "GetFindings") => call.request(json!({"maxResults": 100, "filters": {
            "RecordState": [{"value": "ACTIVE", "comparison": "EQUALS"}]}})),
        ("kms", "Decrypt") => call
            .request(json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                "encryptionContext": {"aws:lambda:FunctionArn": format!("arn:aws:lambda:eu-west-1:{ACCOUNT}:function:{}", pick(rng, &FUNCTIONS))}}))
            .resource(KEY.to_string()),
        ("kms", "GenerateDataKey") => call
            .request(json!({"keyId": "alias/app", "keySpec": "AES_256",
                "encryptionContext": {"aws:s3:arn": "arn:aws:s3:::acme-data-lake"}}))
            .resource(KEY.to_string()),
        ("secretsmanager", "GetSecretValue") => {
            let secret = pick(rng, &["prod/db", "prod/stripe", "prod/session-key"]);
            call.request(json!({"secretId": secret}))
                .resource(format!("arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:{secret}-AbCdEf"))
        }
        ("ssm", "GetParameter") => call.request(json!({"name": pick(rng, &["/app/feature-flags", "/app/endpoint"]), "withDecryption": false})),
        ("ssm", "GetParameters") => call.request(json!({"names": ["/app/db-host", "/app/db-port"], "withDecryption": false})),
        ("ssm", "UpdateInstanceInformation") => call.request(json!({"instanceId": "i-0a1b2c3d4e5f60718",
            "agentVersion": "3.3.987.0", "platformType": "Linux", "platformName": "Amazon Linux", "platformVersion": "2023"})),
        ("ssm", "DescribeInstanceInformation") => call.request(json!({"maxResults": 50})),
        ("sqs", "ListQueues") => call.request(json!({"queueNamePrefix": "orders"})),
        ("sns", "ListTopics") => call,
        ("rds", "DescribeDBInstances" | "DescribeDBClusters") => call.request(json!({"maxRecords": 100})),
        ("sts", "AssumeRole") => {
            let role = pick(rng, &["processor", "report-generator"]);
            call.request(json!({"roleArn": format!("arn:aws:iam::{ACCOUNT}:role/{role}"),
                "roleSessionName": role, "durationSeconds": 3600}))
                .response(json!({"credentials": {"accessKeyId": "ASIAEXAMPLEXXXXXXXXX", "sessionToken": "IQoJb3JpZ2luX2VjEXAMPLE",
                    "expiration": (at + chrono::Duration::hours(1)).to_rfc3339_opts(SecondsFormat::Secs, true)}}))
                .resource(format!("arn:aws:iam::{ACCOUNT}:role/{role}"))
        }
        _ => call,
    }
}
