//! Every rule's positive and negative cases, on real CloudTrail records from the reference
//! data (`../shared/data/traildiscover`), changed only where a case needs it: the request
//! parameters (shaped as the AWS API reference's examples of the call; named where the
//! shape is unusual), the identity, or the outcome. Most reference records are refused
//! calls without parameters, so they are unmodified positives of `-ATTEMPT` detections and
//! edited into successes for the rules themselves; `call()` renames an ordinary real record
//! for calls the reference data lacks.
//!
//! The tests at the end hold the cases to account: every rule has a negative case on its own
//! API (the engine never evaluates a rule against other APIs), every alternative of an `Any`
//! fires alone and every part of an `All` fails alone on some case, and a rule that fires on
//! any reference record has an unmodified one among its positive cases.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use super::CATALOG;
use crate::engine::Engine;
use crate::input::parse_value;

/// The first record of a reference file, e.g. `CloudTrail/StopLogging`.
fn real(path: &str) -> Value {
    let file = crate::input::tests::traildiscover_dir().join(format!("{path}.json.cloudtrail"));
    let records: Value =
        serde_json::from_slice(&std::fs::read(&file).expect("reference data")).expect("JSON");
    match records {
        Value::Array(mut records) if !records.is_empty() => records.remove(0),
        Value::Array(_) => panic!("{} holds no record", file.display()),
        record => record,
    }
}

/// A real record of an ordinary call (`cloudtrail:LookupEvents` by an IAM user), renamed to
/// another call: for calls the reference data has no record of.
fn call(source: &str, name: &str) -> Value {
    with(
        real("CloudTrail/LookupEvents"),
        &[
            ("/eventSource", json!(source)),
            ("/eventName", json!(name)),
            ("/readOnly", json!(false)),
            ("/requestParameters", Value::Null),
        ],
    )
}

/// Sets fields by JSON pointer, creating objects on the way; `null` removes `errorCode`
/// and `errorMessage` so a denied reference call becomes a successful one.
fn with(mut record: Value, edits: &[(&str, Value)]) -> Value {
    for (pointer, value) in edits {
        let mut target = &mut record;
        let keys: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
        for key in &keys[..keys.len() - 1] {
            if !target.get(*key).is_some_and(Value::is_object) {
                target[*key] = json!({});
            }
            target = &mut target[*key];
        }
        let last = keys[keys.len() - 1];
        if value.is_null() && matches!(last, "errorCode" | "errorMessage") {
            if let Some(object) = target.as_object_mut() {
                object.remove(last);
            }
        } else {
            target[last] = value.clone();
        }
    }
    record
}

fn succeeded(record: Value) -> Value {
    with(
        record,
        &[("/errorCode", Value::Null), ("/errorMessage", Value::Null)],
    )
}

fn params(record: Value, parameters: Value) -> Value {
    with(succeeded(record), &[("/requestParameters", parameters)])
}

fn as_root(record: Value) -> Value {
    with(
        record,
        &[(
            "/userIdentity",
            json!({"type": "Root", "principalId": "111111111111", "arn": "arn:aws:iam::111111111111:root", "accountId": "111111111111"}),
        )],
    )
}

fn console_login(identity_type: &str, outcome: &str, mfa: &str) -> Value {
    let login = call("signin.amazonaws.com", "ConsoleLogin");
    let login = with(
        login,
        &[
            ("/eventType", json!("AwsConsoleSignIn")),
            ("/userIdentity/type", json!(identity_type)),
            ("/responseElements", json!({"ConsoleLogin": outcome})),
            (
                "/additionalEventData",
                json!({"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": mfa}),
            ),
        ],
    );
    if outcome == "Failure" {
        with(login, &[("/errorMessage", json!("Failed authentication"))])
    } else {
        login
    }
}

/// The same call, refused: a rule that says something happened does not fire on it (its
/// `-ATTEMPT` does). For rules whose condition is the call itself, this is the negative case
/// on their own API.
fn refused(record: Value) -> Value {
    with(
        record,
        &[
            ("/errorCode", json!("AccessDenied")),
            (
                "/errorMessage",
                json!("User is not authorized to perform this action"),
            ),
            ("/responseElements", Value::Null),
        ],
    )
}

/// (rule id, record, whether the rule fires on it)
fn cases() -> Vec<(&'static str, Value, bool)> {
    let mut cases = catalog_cases();
    cases.extend(same_api_cases());
    cases
}

/// Negative cases on each rule's own API (near-misses that exercise its condition), the
/// branches of conditions not covered above, and unmodified real records. Records written
/// or edited by hand say which AWS documentation example they follow.
fn same_api_cases() -> Vec<(&'static str, Value, bool)> {
    // Rules that fire on the call itself: the refused call is their near-miss.
    let mut cases: Vec<(&'static str, Value, bool)> = [
        ("TW-CLOUDTRAIL-001", real("CloudTrail/StopLogging")),
        ("TW-CLOUDTRAIL-002", real("CloudTrail/DeleteTrail")),
        ("TW-GUARDDUTY-001", real("GuardDuty/DeleteDetector")),
        (
            "TW-GUARDDUTY-003",
            real("GuardDuty/DisassociateFromMasterAccount"),
        ),
        (
            "TW-SECURITYHUB-001",
            call("securityhub.amazonaws.com", "DisableSecurityHub"),
        ),
        ("TW-CONFIG-001", real("Config/StopConfigurationRecorder")),
        ("TW-CONFIG-002", real("Config/DeleteDeliveryChannel")),
        ("TW-VPC-001", real("EC2/DeleteFlowLogs")),
        (
            "TW-ROUTE53-001",
            call(
                "route53resolver.amazonaws.com",
                "DeleteResolverQueryLogConfig",
            ),
        ),
        ("TW-LOGS-001", real("CloudWatch/DeleteLogGroup")),
        (
            "TW-BEDROCK-001",
            call(
                "bedrock.amazonaws.com",
                "DeleteModelInvocationLoggingConfiguration",
            ),
        ),
        ("TW-ORG-001", real("Organizations/LeaveOrganization")),
        ("TW-WAF-001", real("WAFV2/DeleteWebACL")),
        ("TW-EVENTS-001", real("EventBridge/DisableRule")),
        ("TW-MFA-001", real("IAM/DeactivateMFADevice")),
        ("TW-IAM-001", real("IAM/CreateUser")),
        ("TW-IAM-008", real("IAM/DeleteRolePermissionsBoundary")),
        (
            "TW-IAM-009",
            call("iam.amazonaws.com", "CreateOpenIDConnectProvider"),
        ),
        ("TW-IAM-010", real("IAM/GetAccountAuthorizationDetails")),
        (
            "TW-IAM-011",
            real("EC2/ReplaceIamInstanceProfileAssociation"),
        ),
        (
            "TW-STS-001",
            real("SecurityTokenService/GetFederationToken"),
        ),
        (
            "TW-ROLESANYWHERE-001",
            call("rolesanywhere.amazonaws.com", "CreateTrustAnchor"),
        ),
        ("TW-EC2-001", real("EC2/GetPasswordData")),
        ("TW-EXPORT-001", real("RDS/StartExportTask")),
        ("TW-SSM-002", real("SSM/SendCommand")),
        ("TW-SSM-003", real("SSM/StartSession")),
        (
            "TW-EC2-003",
            call("ec2-instance-connect.amazonaws.com", "SendSSHPublicKey"),
        ),
        ("TW-EC2-004", real("EC2/EnableSerialConsoleAccess")),
        (
            "TW-KMS-001",
            call("kms.amazonaws.com", "ScheduleKeyDeletion"),
        ),
        (
            "TW-ACCOUNT-001",
            call("account.amazonaws.com", "EnableRegion"),
        ),
    ]
    .into_iter()
    .map(|(rule, record)| (rule, refused(record), false))
    .collect();

    let application = json!({"type": "AssumedRole", "principalId": "AROAEXAMPLE:i-0a1b2c3d4e5f60718",
        "arn": "arn:aws:sts::111111111111:assumed-role/web-server/i-0a1b2c3d4e5f60718", "accountId": "111111111111",
        "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::111111111111:role/web-server"}}});
    let identity_center = json!({"type": "AssumedRole", "principalId": "AROAEXAMPLE:carol@example.com",
        "arn": "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_AdministratorAccess_6c63ce732f255555/carol@example.com",
        "accountId": "111111111111"});
    // Trust policies as the IAM documentation's CreateRole example writes them.
    let role = |principal: Value| {
        json!({"roleName": "ops", "path": "/", "assumeRolePolicyDocument": json!({"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]}).to_string()})
    };
    // Bucket policies as the S3 documentation's examples write them.
    let bucket_policy = |statement: Value| {
        json!({"bucketName": "reports", "Host": "s3.us-east-1.amazonaws.com", "policy": "",
               "bucketPolicy": {"Version": "2012-10-17", "Statement": [statement]}})
    };
    cases.extend([
        // Applications read secrets all day; people (users, root, Identity Center) are reported.
        (
            "TW-SECRETS-001",
            with(
                succeeded(real("SecretsManager/GetSecretValue")),
                &[("/userIdentity", application)],
            ),
            false,
        ),
        (
            "TW-SECRETS-001",
            with(
                succeeded(real("SecretsManager/GetSecretValue")),
                &[("/userIdentity", identity_center)],
            ),
            true,
        ),
        (
            "TW-SECRETS-001",
            as_root(succeeded(real("SecretsManager/GetSecretValue"))),
            true,
        ),
        // SES: sending turned off is no abuse.
        (
            "TW-SES-001",
            params(
                real("SES/UpdateAccountSendingEnabled"),
                json!({"enabled": false}),
            ),
            false,
        ),
        (
            "TW-SES-001",
            params(
                real("SES/UpdateAccountSendingEnabled"),
                json!({"enabled": true}),
            ),
            true,
        ),
        // A role created for a service or this account; one created for another account.
        (
            "TW-IAM-007",
            params(
                real("IAM/CreateRole"),
                role(json!({"Service": "lambda.amazonaws.com"})),
            ),
            false,
        ),
        (
            "TW-IAM-007",
            params(
                real("IAM/CreateRole"),
                role(json!({"AWS": "arn:aws:iam::111111111111:root"})),
            ),
            false,
        ),
        (
            "TW-IAM-007",
            params(
                real("IAM/CreateRole"),
                role(json!({"AWS": "arn:aws:iam::999999999999:root"})),
            ),
            true,
        ),
        ("TW-IAM-007-ATTEMPT", real("IAM/CreateRole"), false),
        // Everyone, but only through a condition (a VPC endpoint; a CloudFront distribution),
        // or a Deny for everyone: not public.
        (
            "TW-S3-001",
            params(
                real("S3/PutBucketPolicy"),
                bucket_policy(json!({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::reports/*", "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}})),
            ),
            false,
        ),
        (
            "TW-S3-001",
            params(
                real("S3/PutBucketPolicy"),
                bucket_policy(json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                    "Resource": "arn:aws:s3:::reports/*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})),
            ),
            false,
        ),
        (
            "TW-S3-001",
            params(
                real("S3/PutBucketPolicy"),
                bucket_policy(json!({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::reports/*"})),
            ),
            true,
        ),
        // Lambda: a service of this account invoking is no foreign principal.
        (
            "TW-LAMBDA-001",
            params(
                real("Lambda/AddPermission20150331v2"),
                json!({"functionName": "thumbnailer", "statementId": "s3", "action": "lambda:InvokeFunction",
                    "principal": "s3.amazonaws.com", "sourceAccount": "111111111111"}),
            ),
            false,
        ),
        (
            "TW-LAMBDA-001",
            params(
                real("Lambda/AddPermission20150331v2"),
                json!({"functionName": "thumbnailer", "statementId": "own", "action": "lambda:InvokeFunction",
                    "principal": "111111111111"}),
            ),
            false,
        ),
        // Configuration changed without layers: no code replaced.
        (
            "TW-LAMBDA-002",
            params(
                real("Lambda/UpdateFunctionConfiguration20150331v2"),
                json!({"functionName": "processor", "memorySize": 512, "timeout": 30}),
            ),
            false,
        ),
        (
            "TW-LAMBDA-002",
            params(
                real("Lambda/UpdateFunctionConfiguration20150331v2"),
                json!({"functionName": "processor", "layers": ["arn:aws:lambda:us-east-1:999999999999:layer:x:1"]}),
            ),
            true,
        ),
        // Canned ACLs and grants as a list of header values.
        (
            "TW-S3-002",
            params(
                real("S3/PutBucketAcl"),
                json!({"bucketName": "reports", "acl": "", "x-amz-acl": ["public-read-write"]}),
            ),
            true,
        ),
        (
            "TW-S3-002",
            params(
                real("S3/PutBucketAcl"),
                json!({"bucketName": "reports", "acl": "", "x-amz-grant-read": ["uri=http://acs.amazonaws.com/groups/global/AuthenticatedUsers"]}),
            ),
            true,
        ),
        (
            "TW-S3-002",
            params(
                real("S3/PutBucketAcl"),
                json!({"bucketName": "logs", "acl": "", "x-amz-acl": ["log-delivery-write"]}),
            ),
            false,
        ),
        // Root's own trail tampering: by someone else, or refused, it is the high rule only.
        (
            "TW-CLOUDTRAIL-005",
            succeeded(real("CloudTrail/StopLogging")),
            false,
        ),
        (
            "TW-CLOUDTRAIL-005",
            as_root(refused(real("CloudTrail/StopLogging"))),
            false,
        ),
        // Root signing in is TW-ROOT-002's; TW-ROOT-001 is root at work after it.
        (
            "TW-ROOT-001",
            as_root(console_login("Root", "Success", "Yes")),
            false,
        ),
        // User data named as the attribute changed (the EC2 API reference's
        // ModifyInstanceAttribute form `--attribute userData --value …`).
        (
            "TW-EC2-006",
            params(
                real("EC2/ModifyInstanceAttribute"),
                json!({"instanceId": "i-1", "attribute": "userData", "value": "<sensitiveDataRemoved>"}),
            ),
            true,
        ),
        // Unmodified real records: a SAML provider changed by an Identity Center admin, and a
        // public function URL attempted on a function that did not exist.
        ("TW-IAM-009", real("IAM/UpdateSAMLProvider"), true),
        (
            "TW-LAMBDA-003-ATTEMPT",
            real("Lambda/CreateFunctionUrlConfig"),
            true,
        ),
    ]);
    cases
}

/// The catalog's cases, rule by rule.
fn catalog_cases() -> Vec<(&'static str, Value, bool)> {
    let trust = |principal: &str| {
        json!({"roleName": "ops", "policyDocument": json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}]}).to_string()})
    };
    let ingress = |cidr: &str, from: i64, to: i64| {
        json!({"groupId": "sg-0683fcf7a41c82593", "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": from, "toPort": to,
            "groups": {}, "ipRanges": {"items": [{"cidrIp": cidr}]}, "ipv6Ranges": {}, "prefixListIds": {}}]}})
    };
    let bucket_policy = |principal: Value| {
        json!({"bucketName": "reports", "Host": "s3.us-east-1.amazonaws.com", "policy": "",
               "bucketPolicy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*"}]}})
    };
    let inline = |action: &str| {
        json!({"userName": "TrailDiscover", "policyName": "p", "policyDocument": json!({"Version": "2012-10-17",
            "Statement": {"Effect": "Allow", "Action": action, "Resource": "*"}}).to_string()})
    };
    vec![
        (
            "TW-CLOUDTRAIL-001",
            succeeded(real("CloudTrail/StopLogging")),
            true,
        ),
        (
            "TW-CLOUDTRAIL-001-ATTEMPT",
            real("CloudTrail/StopLogging"),
            true,
        ),
        ("TW-CLOUDTRAIL-001", real("CloudTrail/LookupEvents"), false),
        (
            "TW-CLOUDTRAIL-002",
            succeeded(real("CloudTrail/DeleteTrail")),
            true,
        ),
        (
            "TW-CLOUDTRAIL-002-ATTEMPT",
            real("CloudTrail/DeleteTrail"),
            true,
        ),
        ("TW-CLOUDTRAIL-002", real("CloudTrail/StopLogging"), false),
        (
            "TW-CLOUDTRAIL-003",
            params(
                real("CloudTrail/UpdateTrail"),
                json!({"name": "main", "isMultiRegionTrail": false}),
            ),
            true,
        ),
        (
            "TW-CLOUDTRAIL-003",
            params(
                real("CloudTrail/UpdateTrail"),
                json!({"name": "main", "s3BucketName": "new-logs"}),
            ),
            false,
        ),
        (
            "TW-CLOUDTRAIL-004",
            params(
                call("cloudtrail.amazonaws.com", "PutEventSelectors"),
                json!({"trailName": "main", "eventSelectors": [{"includeManagementEvents": false, "readWriteType": "All"}]}),
            ),
            true,
        ),
        (
            "TW-CLOUDTRAIL-004",
            params(
                call("cloudtrail.amazonaws.com", "PutEventSelectors"),
                json!({"trailName": "main", "eventSelectors": [{"includeManagementEvents": true, "readWriteType": "All"}]}),
            ),
            false,
        ),
        (
            "TW-CLOUDTRAIL-004",
            params(
                call("cloudtrail.amazonaws.com", "PutEventSelectors"),
                json!({"trailName": "main", "advancedEventSelectors": [{"fieldSelectors": [{"field": "eventCategory", "equals": ["Data"]}]}]}),
            ),
            true,
        ),
        (
            // Management events, read-only ones only: every write dropped.
            "TW-CLOUDTRAIL-004",
            params(
                call("cloudtrail.amazonaws.com", "PutEventSelectors"),
                json!({"trailName": "main", "advancedEventSelectors": [{"name": "reads", "fieldSelectors": [
                    {"field": "eventCategory", "equals": ["Management"]},
                    {"field": "readOnly", "equals": ["true"]}]}]}),
            ),
            true,
        ),
        (
            "TW-CLOUDTRAIL-004",
            params(
                call("cloudtrail.amazonaws.com", "PutEventSelectors"),
                json!({"trailName": "main", "advancedEventSelectors": [{"name": "all", "fieldSelectors": [
                    {"field": "eventCategory", "equals": ["Management"]},
                    {"field": "eventSource", "notEquals": ["kms.amazonaws.com"]}]}]}),
            ),
            false,
        ),
        (
            "TW-CLOUDTRAIL-005",
            succeeded(as_root(real("CloudTrail/DeleteTrail"))),
            true,
        ),
        ("TW-CLOUDTRAIL-005", real("CloudTrail/DeleteTrail"), false),
        (
            "TW-GUARDDUTY-001",
            succeeded(real("GuardDuty/DeleteDetector")),
            true,
        ),
        (
            "TW-GUARDDUTY-001-ATTEMPT",
            real("GuardDuty/DeleteDetector"),
            true,
        ),
        ("TW-GUARDDUTY-001", real("GuardDuty/GetDetector"), false),
        (
            "TW-GUARDDUTY-002",
            with(
                succeeded(real("GuardDuty/UpdateDetector")),
                &[("/requestParameters/enable", json!(false))],
            ),
            true,
        ),
        ("TW-GUARDDUTY-002", real("GuardDuty/UpdateDetector"), false),
        (
            "TW-GUARDDUTY-003",
            succeeded(real("GuardDuty/DisassociateFromMasterAccount")),
            true,
        ),
        (
            "TW-GUARDDUTY-003-ATTEMPT",
            real("GuardDuty/DisassociateFromMasterAccount"),
            true,
        ),
        (
            "TW-GUARDDUTY-003",
            succeeded(real("GuardDuty/DisassociateMembers")),
            true,
        ),
        (
            "TW-GUARDDUTY-003-ATTEMPT",
            real("GuardDuty/DisassociateMembers"),
            true,
        ),
        ("TW-GUARDDUTY-003", real("GuardDuty/ListDetectors"), false),
        (
            "TW-GUARDDUTY-004",
            params(
                call("guardduty.amazonaws.com", "CreateFilter"),
                json!({"detectorId": "d", "name": "quiet", "action": "ARCHIVE", "findingCriteria": {}}),
            ),
            true,
        ),
        (
            "TW-GUARDDUTY-004",
            params(
                call("guardduty.amazonaws.com", "CreateFilter"),
                json!({"detectorId": "d", "name": "triage", "action": "NOOP", "findingCriteria": {}}),
            ),
            false,
        ),
        (
            "TW-GUARDDUTY-004",
            succeeded(real("GuardDuty/CreateIPSet")),
            true,
        ),
        (
            "TW-GUARDDUTY-004-ATTEMPT",
            real("GuardDuty/CreateIPSet"),
            true,
        ),
        (
            "TW-SECURITYHUB-001",
            call("securityhub.amazonaws.com", "DisableSecurityHub"),
            true,
        ),
        (
            "TW-SECURITYHUB-001",
            succeeded(real("SecurityHub/DeleteMembers")),
            true,
        ),
        (
            "TW-SECURITYHUB-001-ATTEMPT",
            real("SecurityHub/DeleteMembers"),
            true,
        ),
        (
            "TW-SECURITYHUB-001",
            call("securityhub.amazonaws.com", "GetFindings"),
            false,
        ),
        (
            "TW-CONFIG-001",
            succeeded(real("Config/StopConfigurationRecorder")),
            true,
        ),
        (
            "TW-CONFIG-001-ATTEMPT",
            real("Config/StopConfigurationRecorder"),
            true,
        ),
        (
            "TW-CONFIG-001",
            succeeded(real("Config/DeleteConfigurationRecorder")),
            true,
        ),
        (
            "TW-CONFIG-001-ATTEMPT",
            real("Config/DeleteConfigurationRecorder"),
            true,
        ),
        ("TW-CONFIG-001", real("Config/DeleteConfigRule"), false),
        (
            "TW-CONFIG-002",
            succeeded(real("Config/DeleteDeliveryChannel")),
            true,
        ),
        (
            "TW-CONFIG-002-ATTEMPT",
            real("Config/DeleteDeliveryChannel"),
            true,
        ),
        (
            "TW-CONFIG-002",
            real("Config/StopConfigurationRecorder"),
            false,
        ),
        ("TW-VPC-001", succeeded(real("EC2/DeleteFlowLogs")), true),
        ("TW-VPC-001-ATTEMPT", real("EC2/DeleteFlowLogs"), true),
        ("TW-VPC-001", real("EC2/DescribeFlowLogs"), false),
        (
            "TW-ROUTE53-001",
            call(
                "route53resolver.amazonaws.com",
                "DeleteResolverQueryLogConfig",
            ),
            true,
        ),
        (
            "TW-ROUTE53-001",
            call(
                "route53resolver.amazonaws.com",
                "ListResolverQueryLogConfigs",
            ),
            false,
        ),
        (
            "TW-LOGS-001",
            succeeded(real("CloudWatch/DeleteLogGroup")),
            true,
        ),
        (
            "TW-LOGS-001-ATTEMPT",
            real("CloudWatch/DeleteLogGroup"),
            true,
        ),
        ("TW-LOGS-001", real("CloudWatch/DescribeLogGroups"), false),
        (
            "TW-BEDROCK-001",
            call(
                "bedrock.amazonaws.com",
                "DeleteModelInvocationLoggingConfiguration",
            ),
            true,
        ),
        ("TW-BEDROCK-001", real("Bedrock/ListAgents"), false),
        (
            "TW-ORG-001",
            succeeded(real("Organizations/LeaveOrganization")),
            true,
        ),
        (
            "TW-ORG-001-ATTEMPT",
            real("Organizations/LeaveOrganization"),
            true,
        ),
        (
            "TW-ORG-001",
            real("Organizations/DescribeOrganization"),
            false,
        ),
        ("TW-WAF-001", succeeded(real("WAFV2/DeleteWebACL")), true),
        ("TW-WAF-001-ATTEMPT", real("WAFV2/DeleteWebACL"), true),
        ("TW-WAF-001", real("WAFV2/UpdateIPSet"), false),
        (
            "TW-EVENTS-001",
            succeeded(real("EventBridge/DisableRule")),
            true,
        ),
        (
            "TW-EVENTS-001-ATTEMPT",
            real("EventBridge/DisableRule"),
            true,
        ),
        ("TW-EVENTS-001", real("EventBridge/ListRules"), false),
        (
            "TW-ROOT-001",
            as_root(real("CloudTrail/LookupEvents")),
            true,
        ),
        (
            "TW-ROOT-001",
            with(
                as_root(real("CloudTrail/LookupEvents")),
                &[("/userIdentity/invokedBy", json!("support.amazonaws.com"))],
            ),
            false,
        ),
        ("TW-ROOT-001", real("CloudTrail/LookupEvents"), false),
        (
            "TW-ROOT-002",
            as_root(console_login("Root", "Success", "Yes")),
            true,
        ),
        (
            "TW-ROOT-002",
            as_root(console_login("Root", "Failure", "No")),
            false,
        ),
        (
            "TW-ROOT-002",
            console_login("IAMUser", "Success", "Yes"),
            false,
        ),
        (
            "TW-SIGNIN-001",
            console_login("IAMUser", "Success", "No"),
            true,
        ),
        (
            "TW-SIGNIN-001",
            console_login("IAMUser", "Success", "Yes"),
            false,
        ),
        (
            "TW-SIGNIN-001",
            console_login("AssumedRole", "Success", "No"),
            false,
        ),
        (
            "TW-SIGNIN-001",
            console_login("IAMUser", "Failure", "No"),
            false,
        ),
        (
            "TW-SIGNIN-002",
            console_login("IAMUser", "Failure", "No"),
            true,
        ),
        (
            "TW-SIGNIN-002",
            console_login("IAMUser", "Success", "Yes"),
            false,
        ),
        (
            "TW-MFA-001",
            succeeded(real("IAM/DeactivateMFADevice")),
            true,
        ),
        ("TW-MFA-001-ATTEMPT", real("IAM/DeactivateMFADevice"), true),
        ("TW-MFA-001", real("IAM/ListUsers"), false),
        ("TW-IAM-001", succeeded(real("IAM/CreateUser")), true),
        ("TW-IAM-001-ATTEMPT", real("IAM/CreateUser"), true),
        ("TW-IAM-001", real("IAM/GetUser"), false),
        (
            "TW-IAM-002",
            params(
                real("IAM/CreateAccessKey"),
                json!({"userName": "backup-admin"}),
            ),
            true,
        ),
        (
            "TW-IAM-002",
            params(
                real("IAM/CreateAccessKey"),
                json!({"userName": "TrailDiscover"}),
            ),
            false,
        ),
        ("TW-IAM-002", succeeded(real("IAM/CreateAccessKey")), false),
        (
            "TW-IAM-003",
            params(
                real("IAM/CreateLoginProfile"),
                json!({"userName": "backup-admin", "passwordResetRequired": false}),
            ),
            true,
        ),
        (
            "TW-IAM-003",
            params(
                real("IAM/UpdateLoginProfile"),
                json!({"userName": "TrailDiscover"}),
            ),
            false,
        ),
        (
            "TW-IAM-004",
            params(
                real("IAM/AttachUserPolicy"),
                json!({"userName": "TrailDiscover", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
            ),
            true,
        ),
        (
            "TW-IAM-004",
            params(
                real("IAM/AttachRolePolicy"),
                json!({"roleName": "ops", "policyArn": "arn:aws:iam::aws:policy/IAMFullAccess"}),
            ),
            true,
        ),
        (
            "TW-IAM-004",
            params(
                real("IAM/AttachUserPolicy"),
                json!({"userName": "TrailDiscover", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
            ),
            false,
        ),
        (
            "TW-IAM-005",
            params(real("IAM/PutUserPolicy"), inline("*")),
            true,
        ),
        (
            "TW-IAM-005",
            params(real("IAM/PutUserPolicy"), inline("s3:GetObject")),
            false,
        ),
        (
            "TW-IAM-006",
            params(
                real("IAM/CreatePolicyVersion"),
                json!({"policyArn": "arn:aws:iam::111111111111:policy/ops", "setAsDefault": true, "policyDocument": "{}"}),
            ),
            true,
        ),
        (
            "TW-IAM-006",
            params(
                real("IAM/CreatePolicyVersion"),
                json!({"policyArn": "arn:aws:iam::111111111111:policy/ops", "setAsDefault": false, "policyDocument": "{}"}),
            ),
            false,
        ),
        (
            "TW-IAM-006",
            succeeded(real("IAM/SetDefaultPolicyVersion")),
            true,
        ),
        (
            "TW-IAM-006-ATTEMPT",
            real("IAM/SetDefaultPolicyVersion"),
            true,
        ),
        (
            "TW-IAM-007",
            params(
                real("IAM/UpdateAssumeRolePolicy"),
                trust("arn:aws:iam::999999999999:root"),
            ),
            true,
        ),
        (
            "TW-IAM-007",
            params(real("IAM/UpdateAssumeRolePolicy"), trust("*")),
            true,
        ),
        (
            "TW-IAM-007",
            params(
                real("IAM/UpdateAssumeRolePolicy"),
                trust("arn:aws:iam::111111111111:role/ci"),
            ),
            false,
        ),
        (
            "TW-IAM-008",
            succeeded(real("IAM/DeleteRolePermissionsBoundary")),
            true,
        ),
        (
            "TW-IAM-008-ATTEMPT",
            real("IAM/DeleteRolePermissionsBoundary"),
            true,
        ),
        ("TW-IAM-008", real("IAM/PutRolePermissionsBoundary"), false),
        (
            "TW-IAM-009",
            call("iam.amazonaws.com", "CreateOpenIDConnectProvider"),
            true,
        ),
        ("TW-IAM-009", real("IAM/ListSAMLProviders"), false),
        (
            "TW-IAM-010",
            succeeded(real("IAM/GetAccountAuthorizationDetails")),
            true,
        ),
        (
            "TW-IAM-010-ATTEMPT",
            real("IAM/GetAccountAuthorizationDetails"),
            true,
        ),
        ("TW-IAM-010", real("IAM/ListRoles"), false),
        (
            "TW-IAM-011",
            succeeded(real("EC2/ReplaceIamInstanceProfileAssociation")),
            true,
        ),
        (
            "TW-IAM-011-ATTEMPT",
            real("EC2/ReplaceIamInstanceProfileAssociation"),
            true,
        ),
        ("TW-IAM-011", real("IAM/ListInstanceProfiles"), false),
        (
            "TW-STS-001",
            succeeded(real("SecurityTokenService/GetFederationToken")),
            true,
        ),
        (
            "TW-STS-001-ATTEMPT",
            real("SecurityTokenService/GetFederationToken"),
            true,
        ),
        (
            "TW-STS-001",
            real("SecurityTokenService/GetCallerIdentity"),
            false,
        ),
        (
            "TW-ROLESANYWHERE-001",
            call("rolesanywhere.amazonaws.com", "CreateTrustAnchor"),
            true,
        ),
        (
            "TW-ROLESANYWHERE-001",
            call("rolesanywhere.amazonaws.com", "ListTrustAnchors"),
            false,
        ),
        (
            "TW-EKS-001",
            params(
                real("EKS/AssociateAccessPolicy"),
                json!({"name": "prod", "principalArn": "arn:aws:iam::111111111111:user/x", "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"}),
            ),
            true,
        ),
        (
            "TW-EKS-001",
            params(
                real("EKS/AssociateAccessPolicy"),
                json!({"name": "prod", "principalArn": "arn:aws:iam::111111111111:user/x", "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"}),
            ),
            false,
        ),
        ("TW-EC2-001", succeeded(real("EC2/GetPasswordData")), true),
        ("TW-EC2-001-ATTEMPT", real("EC2/GetPasswordData"), true),
        ("TW-EC2-001", real("EC2/DescribeInstances"), false),
        (
            "TW-SECRETS-001",
            succeeded(real("SecretsManager/GetSecretValue")),
            true,
        ),
        (
            "TW-SECRETS-001-ATTEMPT",
            real("SecretsManager/GetSecretValue"),
            true,
        ),
        (
            "TW-SECRETS-001",
            real("SecretsManager/DescribeSecret"),
            false,
        ),
        (
            "TW-SSM-001",
            params(
                real("SSM/GetParameters"),
                json!({"names": ["/prod/db"], "withDecryption": true}),
            ),
            true,
        ),
        (
            "TW-SSM-001",
            params(
                real("SSM/GetParameters"),
                json!({"names": ["/prod/db"], "withDecryption": false}),
            ),
            false,
        ),
        (
            "TW-EC2-002",
            with(
                succeeded(real("EC2/DescribeInstanceAttribute")),
                &[("/requestParameters/attribute", json!("userData"))],
            ),
            true,
        ),
        (
            "TW-EC2-002",
            with(
                real("EC2/DescribeInstanceAttribute"),
                &[("/requestParameters/attribute", json!("instanceType"))],
            ),
            false,
        ),
        (
            "TW-EBS-001",
            params(
                real("EC2/ModifySnapshotAttribute"),
                json!({"snapshotId": "snap-046281ab24d756c50", "attributeType": "CREATE_VOLUME_PERMISSION", "createVolumePermission": {"add": {"items": [{"group": "all"}]}}}),
            ),
            true,
        ),
        (
            "TW-EBS-001",
            params(
                real("EC2/ModifySnapshotAttribute"),
                json!({"snapshotId": "snap-046281ab24d756c50", "attributeType": "CREATE_VOLUME_PERMISSION", "createVolumePermission": {"add": {"items": [{"userId": "999999999999"}]}}}),
            ),
            true,
        ),
        ("TW-EBS-001", real("EC2/ModifySnapshotAttribute"), false),
        (
            "TW-EBS-001",
            params(
                real("EC2/ModifyImageAttribute"),
                json!({"imageId": "ami-1", "launchPermission": {"add": {"items": [{"userId": "111111111111"}]}}}),
            ),
            false,
        ),
        (
            "TW-EBS-001",
            params(
                real("EC2/ModifyImageAttribute"),
                json!({"imageId": "ami-1", "launchPermission": {"add": {"items": [{"group": "all"}]}}}),
            ),
            true,
        ),
        (
            "TW-RDS-001",
            params(
                real("RDS/ModifyDBSnapshotAttribute"),
                json!({"dBSnapshotIdentifier": "db-1", "attributeName": "restore", "valuesToAdd": ["999999999999"]}),
            ),
            true,
        ),
        (
            "TW-RDS-001",
            params(
                real("RDS/ModifyDBSnapshotAttribute"),
                json!({"dBSnapshotIdentifier": "db-1", "attributeName": "restore", "valuesToRemove": ["all"]}),
            ),
            false,
        ),
        (
            "TW-S3-001",
            params(real("S3/PutBucketPolicy"), bucket_policy(json!("*"))),
            true,
        ),
        (
            "TW-S3-001",
            params(
                real("S3/PutBucketPolicy"),
                bucket_policy(json!({"AWS": "arn:aws:iam::111111111111:role/reader"})),
            ),
            false,
        ),
        (
            "TW-S3-002",
            params(
                real("S3/PutBucketAcl"),
                json!({"bucketName": "reports", "acl": "", "x-amz-acl": "public-read"}),
            ),
            true,
        ),
        (
            "TW-S3-002",
            params(
                real("S3/PutBucketAcl"),
                json!({"bucketName": "reports", "acl": "", "x-amz-acl": "private"}),
            ),
            false,
        ),
        (
            "TW-S3-002",
            params(
                real("S3/PutBucketAcl"),
                json!({"bucketName": "reports", "acl": "", "AccessControlPolicy": {"AccessControlList": {"Grant": [{"Grantee": {"URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"}]}}}),
            ),
            true,
        ),
        (
            "TW-S3-003",
            call("s3.amazonaws.com", "DeletePublicAccessBlock"),
            true,
        ),
        (
            "TW-S3-003",
            params(
                call("s3.amazonaws.com", "PutPublicAccessBlock"),
                json!({"bucketName": "reports", "PublicAccessBlockConfiguration": {"BlockPublicAcls": false, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true}}),
            ),
            true,
        ),
        (
            "TW-S3-003",
            params(
                call("s3.amazonaws.com", "PutPublicAccessBlock"),
                json!({"bucketName": "reports", "PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true}}),
            ),
            false,
        ),
        (
            "TW-SG-001",
            params(
                real("EC2/AuthorizeSecurityGroupIngress"),
                ingress("0.0.0.0/0", 22, 22),
            ),
            true,
        ),
        (
            "TW-SG-001",
            params(
                real("EC2/AuthorizeSecurityGroupIngress"),
                ingress("0.0.0.0/0", 3000, 3500),
            ),
            true,
        ),
        (
            "TW-SG-001",
            params(
                real("EC2/AuthorizeSecurityGroupIngress"),
                ingress("0.0.0.0/0", 443, 443),
            ),
            false,
        ),
        (
            // Any address with prefix length 0 is the whole internet.
            "TW-SG-001",
            params(
                real("EC2/AuthorizeSecurityGroupIngress"),
                ingress("203.0.113.7/0", 22, 22),
            ),
            true,
        ),
        (
            "TW-SG-001",
            params(
                real("EC2/AuthorizeSecurityGroupIngress"),
                ingress("10.0.0.0/8", 22, 22),
            ),
            false,
        ),
        (
            "TW-SG-001",
            real("EC2/AuthorizeSecurityGroupIngress"),
            false,
        ),
        (
            "TW-EXPORT-001",
            succeeded(real("EC2/CreateInstanceExportTask")),
            true,
        ),
        (
            "TW-EXPORT-001-ATTEMPT",
            real("EC2/CreateInstanceExportTask"),
            true,
        ),
        (
            "TW-EXPORT-001",
            succeeded(real("RDS/StartExportTask")),
            true,
        ),
        ("TW-EXPORT-001-ATTEMPT", real("RDS/StartExportTask"), true),
        ("TW-EXPORT-001", real("RDS/DescribeExportTasks"), false),
        ("TW-SSM-002", succeeded(real("SSM/SendCommand")), true),
        ("TW-SSM-002-ATTEMPT", real("SSM/SendCommand"), true),
        ("TW-SSM-002", real("SSM/DescribeInstanceInformation"), false),
        ("TW-SSM-003", succeeded(real("SSM/StartSession")), true),
        ("TW-SSM-003-ATTEMPT", real("SSM/StartSession"), true),
        ("TW-SSM-003", real("SSM/DescribeInstanceInformation"), false),
        (
            "TW-EC2-003",
            call("ec2-instance-connect.amazonaws.com", "SendSSHPublicKey"),
            true,
        ),
        (
            "TW-EC2-003",
            call("ec2-instance-connect.amazonaws.com", "OpenTunnel"),
            false,
        ),
        (
            "TW-EC2-004",
            succeeded(real("EC2/EnableSerialConsoleAccess")),
            true,
        ),
        (
            "TW-EC2-004-ATTEMPT",
            real("EC2/EnableSerialConsoleAccess"),
            true,
        ),
        (
            "TW-EC2-004",
            call("ec2.amazonaws.com", "GetSerialConsoleAccessStatus"),
            false,
        ),
        (
            "TW-EC2-005",
            with(
                succeeded(real("EC2/RunInstances")),
                &[("/requestParameters/instanceType", json!("p4d.24xlarge"))],
            ),
            true,
        ),
        (
            "TW-EC2-005",
            with(
                succeeded(real("EC2/RunInstances")),
                &[("/requestParameters/instanceType", json!("c5.metal"))],
            ),
            true,
        ),
        ("TW-EC2-005", real("EC2/RunInstances"), false),
        (
            "TW-EC2-006",
            params(
                real("EC2/ModifyInstanceAttribute"),
                json!({"instanceId": "i-1", "userData": "<sensitiveDataRemoved>"}),
            ),
            true,
        ),
        ("TW-EC2-006", real("EC2/ModifyInstanceAttribute"), false),
        (
            "TW-LAMBDA-001",
            params(
                real("Lambda/AddPermission20150331v2"),
                json!({"functionName": "billing", "statementId": "s", "action": "lambda:InvokeFunction", "principal": "*"}),
            ),
            true,
        ),
        (
            "TW-LAMBDA-001",
            params(
                real("Lambda/AddPermission20150331v2"),
                json!({"functionName": "billing", "statementId": "s", "action": "lambda:InvokeFunction", "principal": "s3.amazonaws.com"}),
            ),
            false,
        ),
        (
            "TW-LAMBDA-002",
            succeeded(real("Lambda/UpdateFunctionCode20150331v2")),
            true,
        ),
        (
            "TW-LAMBDA-002-ATTEMPT",
            real("Lambda/UpdateFunctionCode20150331v2"),
            true,
        ),
        (
            "TW-LAMBDA-002",
            params(
                real("Lambda/UpdateFunctionConfiguration20150331v2"),
                json!({"functionName": "billing", "layers": ["arn:aws:lambda:us-east-1:999999999999:layer:x:1"]}),
            ),
            true,
        ),
        (
            "TW-LAMBDA-002",
            params(
                real("Lambda/UpdateFunctionConfiguration20150331v2"),
                json!({"functionName": "billing", "timeout": 30}),
            ),
            false,
        ),
        (
            "TW-LAMBDA-003",
            params(
                real("Lambda/CreateFunctionUrlConfig"),
                json!({"functionName": "billing", "authType": "NONE"}),
            ),
            true,
        ),
        (
            "TW-LAMBDA-003",
            params(
                real("Lambda/CreateFunctionUrlConfig"),
                json!({"functionName": "billing", "authType": "AWS_IAM"}),
            ),
            false,
        ),
        (
            "TW-KMS-001",
            call("kms.amazonaws.com", "ScheduleKeyDeletion"),
            true,
        ),
        ("TW-KMS-001", real("KMS/DescribeKey"), false),
        (
            "TW-SES-001",
            with(
                succeeded(real("SES/UpdateAccountSendingEnabled")),
                &[("/requestParameters/enabled", json!(true))],
            ),
            true,
        ),
        ("TW-SES-001", succeeded(real("SES/PutAccountDetails")), true),
        ("TW-SES-001", real("SES/GetSendQuota"), false),
        (
            "TW-ACCOUNT-001",
            call("account.amazonaws.com", "EnableRegion"),
            true,
        ),
        (
            "TW-ACCOUNT-001",
            call("account.amazonaws.com", "ListRegions"),
            false,
        ),
        (
            "TW-TOOL-001",
            with(
                real("IAM/ListUsers"),
                &[(
                    "/userAgent",
                    json!(
                        "aws-cli/2.15.0 Python/3.11.8 Linux/6.6.9-amd64 exe/x86_64.kali.2024 prompt/off"
                    ),
                )],
            ),
            true,
        ),
        ("TW-TOOL-001", real("IAM/ListUsers"), false),
        (
            "TW-TOOL-002",
            with(
                real("IAM/ListUsers"),
                &[(
                    "/userAgent",
                    json!("Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux Pacu"),
                )],
            ),
            true,
        ),
        ("TW-TOOL-002", real("IAM/ListUsers"), false),
    ]
}

#[test]
fn every_rule_fires_on_its_positive_cases_and_not_on_its_negatives() {
    let engine = Engine::default();
    let mut failures = Vec::new();
    for (number, (rule, record, fires)) in cases().into_iter().enumerate() {
        let event = parse_value(record)
            .expect("readable")
            .remove(0)
            .outcome
            .expect("valid");
        let fired: Vec<String> = engine
            .detect(&event)
            .into_iter()
            .map(|detection| detection.id)
            .collect();
        if fired.iter().any(|id| id == rule) != fires {
            failures.push(format!(
                "case {number}: {rule} should {}fire on {}; fired {fired:?}",
                if fires { "" } else { "not " },
                event.action()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_rule_has_a_positive_and_a_negative_case() {
    let mut covered: HashMap<&str, (bool, bool)> = HashMap::new();
    for (rule, _, fires) in cases() {
        let entry = covered.entry(rule).or_default();
        if fires {
            entry.0 = true
        } else {
            entry.1 = true
        }
    }
    let missing: Vec<&str> = CATALOG
        .iter()
        .map(|rule| rule.id)
        .filter(|id| covered.get(id) != Some(&(true, true)))
        .collect();
    assert!(missing.is_empty(), "rules without both cases: {missing:?}");
}

#[test]
fn the_catalog_is_large_unique_and_mapped_to_attack() {
    assert!(CATALOG.len() >= 50, "{} rules", CATALOG.len());
    let ids: HashSet<&str> = CATALOG.iter().map(|rule| rule.id).collect();
    assert_eq!(ids.len(), CATALOG.len(), "rule ids are unique");
    for rule in CATALOG {
        assert!(rule.id.starts_with("TW-"), "{}", rule.id);
        assert!(
            !rule.title.is_empty() && rule.description.ends_with('.'),
            "{}",
            rule.id
        );
        assert!(
            rule.technique.starts_with('T')
                && rule.technique[1..5].bytes().all(|b| b.is_ascii_digit()),
            "{}",
            rule.id
        );
        for call in rule.calls {
            assert!(
                call.split_once(':')
                    .is_some_and(|(service, name)| !service.is_empty()
                        && name.starts_with(char::is_uppercase)),
                "{}: {call}",
                rule.id
            );
        }
    }
}

#[test]
fn reasons_name_the_principal_the_target_and_a_denial() {
    let event = parse_value(real("CloudTrail/StopLogging"))
        .unwrap()
        .remove(0)
        .outcome
        .unwrap();
    let detection = Engine::default().detect(&event).remove(0);
    assert_eq!(
        detection.reason,
        "arn:aws:iam::111111111111:user/TrailDiscover stopped trail (not recorded) (denied: AccessDenied)"
    );
    let record = params(
        real("IAM/CreateAccessKey"),
        json!({"userName": "backup-admin"}),
    );
    let event = parse_value(record).unwrap().remove(0).outcome.unwrap();
    let detection = Engine::default().detect(&event).remove(0);
    assert_eq!(
        detection.reason,
        "arn:aws:iam::111111111111:user/TrailDiscover created an access key for backup-admin"
    );
}

#[test]
fn lambda_and_cloudfront_event_names_lose_their_api_version() {
    let event = parse_value(real("Lambda/UpdateFunctionCode20150331v2"))
        .unwrap()
        .remove(0)
        .outcome
        .unwrap();
    assert_eq!(event.action(), "lambda:UpdateFunctionCode");
    let event = parse_value(real("CloudFront/CreateFunction2020_05_31"))
        .unwrap()
        .remove(0)
        .outcome
        .unwrap();
    assert_eq!(event.action(), "cloudfront:CreateFunction");
}

#[test]
fn rules_read_the_cloudtrail_record_inside_an_eventbridge_event() {
    let record = params(
        real("IAM/CreateAccessKey"),
        json!({"userName": "backup-admin"}),
    );
    let envelope = json!({"version": "0", "id": "1", "detail-type": "AWS API Call via CloudTrail", "source": "aws.iam",
                          "account": "111111111111", "time": "2024-08-18T13:00:00Z", "region": "us-east-1", "resources": [], "detail": record});
    let event = parse_value(envelope).unwrap().remove(0).outcome.unwrap();
    let ids: Vec<String> = Engine::default()
        .detect(&event)
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(ids, vec!["TW-IAM-002"]);
}

#[test]
fn a_failed_call_is_an_attempt_one_level_lower_and_root_at_work_fires_whatever_the_outcome() {
    let detect = |record: Value| {
        let event = parse_value(record).unwrap().remove(0).outcome.unwrap();
        Engine::default().detect(&event)
    };
    // The reference StopLogging was denied: nothing stopped, but someone tried.
    let denied = detect(real("CloudTrail/StopLogging"));
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0].id, "TW-CLOUDTRAIL-001-ATTEMPT");
    assert_eq!(
        denied[0].title,
        "Failed attempt: CloudTrail logging stopped"
    );
    assert_eq!(denied[0].severity, crate::Severity::Medium);
    assert!(denied[0].reason.ends_with("(denied: AccessDenied)"));
    let stopped = detect(succeeded(real("CloudTrail/StopLogging")));
    assert_eq!(stopped[0].id, "TW-CLOUDTRAIL-001");
    assert_eq!(stopped[0].severity, crate::Severity::High);

    // Root calling anything is news, denied or not.
    let root = detect(as_root(real("CloudTrail/LookupEvents")));
    let ids: Vec<&str> = root.iter().map(|d| d.id.as_str()).collect();
    assert!(ids.contains(&"TW-ROOT-001"), "{ids:?}");
    let root_denied = detect(as_root(with(
        real("CloudTrail/LookupEvents"),
        &[("/errorCode", json!("AccessDenied"))],
    )));
    assert!(
        root_denied
            .iter()
            .any(|d| d.id == "TW-ROOT-001" && d.severity == crate::Severity::High)
    );
}

/// Every reference record, as compact JSON, to tell an unmodified real record from an edited one.
fn reference_records() -> HashMap<String, String> {
    let mut records = HashMap::new();
    let root = crate::input::tests::traildiscover_dir();
    let mut directories = vec![root.clone()];
    while let Some(directory) = directories.pop() {
        for entry in std::fs::read_dir(&directory).expect("reference data") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                directories.push(path);
            } else if path.to_string_lossy().ends_with(".json.cloudtrail") {
                let name = path
                    .strip_prefix(&root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .trim_end_matches(".json.cloudtrail")
                    .to_string();
                let file: Value =
                    serde_json::from_slice(&std::fs::read(&path).expect("file")).expect("JSON");
                let list = match file {
                    Value::Array(list) => list,
                    record => vec![record],
                };
                for record in list {
                    records.insert(record.to_string(), name.clone());
                }
            }
        }
    }
    records
}

/// `service:Name` of a case's record, as the engine reads it (API versions dropped).
fn action_of(record: &Value) -> String {
    parse_value(record.clone())
        .ok()
        .and_then(|mut events| events.pop())
        .and_then(|parsed| parsed.outcome.ok())
        .map(|event| event.action())
        .unwrap_or_default()
}

#[test]
fn every_rule_has_a_negative_case_on_its_own_api() {
    let cases = cases();
    let missing: Vec<&str> = CATALOG
        .iter()
        .filter(|rule| {
            !cases.iter().any(|(id, record, fires)| {
                *id == rule.id
                    && !fires
                    && (rule.calls.is_empty() || rule.calls.contains(&action_of(record).as_str()))
            })
        })
        .map(|rule| rule.id)
        .collect();
    assert!(
        missing.is_empty(),
        "{} rules whose negative cases are all other APIs (which the engine never even evaluates against them): {missing:?}",
        missing.len()
    );
}

#[test]
fn positive_cases_are_unmodified_real_records_where_the_reference_data_has_one() {
    let engine = Engine::default();
    // What each reference record fires: a rule that fires on some real record must have one
    // (any) among its positive cases, as it stands.
    let mut fired_by_reference: HashMap<String, Vec<String>> = HashMap::new();
    let references = reference_records();
    for (record, name) in &references {
        let record: Value = serde_json::from_str(record).expect("JSON");
        let Ok(mut events) = parse_value(record) else {
            continue;
        };
        let Some(Ok(event)) = events.pop().map(|parsed| parsed.outcome) else {
            continue;
        };
        for detection in engine.detect(&event) {
            let rule = detection.id.trim_end_matches("-ATTEMPT").to_string();
            fired_by_reference
                .entry(rule)
                .or_default()
                .push(name.clone());
        }
    }
    let cases = cases();
    let positives = cases.iter().filter(|(_, _, fires)| *fires).count();
    let real_positives = cases
        .iter()
        .filter(|(_, record, fires)| *fires && references.contains_key(&record.to_string()))
        .count();
    println!(
        "{} cases; {positives} positive, {real_positives} of them unmodified reference records",
        cases.len()
    );
    let missing: Vec<String> = CATALOG
        .iter()
        .filter(|rule| fired_by_reference.contains_key(rule.id))
        .filter(|rule| {
            let attempt = format!("{}-ATTEMPT", rule.id);
            !cases.iter().any(|(id, record, fires)| {
                *fires
                    && (*id == rule.id || *id == attempt)
                    && references.contains_key(&record.to_string())
            })
        })
        .map(|rule| format!("{} ({:?})", rule.id, fired_by_reference[rule.id]))
        .collect();
    assert!(
        missing.is_empty(),
        "{} rules that fire on a reference record but have no unmodified one among their positive cases: {missing:?}",
        missing.len()
    );
}

/// The `Any` and `All` nodes of a condition, at any depth.
fn branching_nodes(when: &'static super::When, nodes: &mut Vec<&'static super::When>) {
    use super::When;
    match when {
        When::Any(children) | When::All(children) => {
            nodes.push(when);
            for child in children.iter() {
                branching_nodes(child, nodes);
            }
        }
        When::Not(inner) => branching_nodes(inner, nodes),
        _ => {}
    }
}

#[test]
fn every_branch_of_every_condition_is_decided_by_some_case() {
    use super::When;
    let cases: Vec<(&str, crate::event::Event, bool)> = cases()
        .into_iter()
        .map(|(rule, record, fires)| {
            let event = parse_value(record)
                .expect("readable")
                .remove(0)
                .outcome
                .expect("valid");
            (rule, event, fires)
        })
        .collect();
    let mut undecided = Vec::new();
    for rule in CATALOG {
        let attempt = format!("{}-ATTEMPT", rule.id);
        let positives: Vec<&crate::event::Event> = cases
            .iter()
            .filter(|(id, _, fires)| *fires && (*id == rule.id || *id == attempt))
            .map(|(_, event, _)| event)
            .collect();
        let negatives: Vec<&crate::event::Event> = cases
            .iter()
            .filter(|(id, event, fires)| !fires && *id == rule.id && rule.concerns(event))
            .map(|(_, event, _)| event)
            .collect();
        let mut nodes = Vec::new();
        branching_nodes(&rule.when, &mut nodes);
        for node in nodes {
            match node {
                // Each alternative alone makes some positive case fire.
                When::Any(alternatives) => {
                    for (index, alternative) in alternatives.iter().enumerate() {
                        let alone = positives.iter().any(|event| {
                            alternative.holds(event)
                                && alternatives
                                    .iter()
                                    .enumerate()
                                    .all(|(other, when)| other == index || !when.holds(event))
                        });
                        if !alone {
                            undecided.push(format!(
                                "{}: alternative {index} of {node:?} never fires alone",
                                rule.id
                            ));
                        }
                    }
                }
                // Each part alone failing keeps some negative case on the rule's API quiet.
                When::All(parts) => {
                    for (index, part) in parts.iter().enumerate() {
                        let decisive = negatives.iter().any(|event| {
                            !part.holds(event)
                                && parts
                                    .iter()
                                    .enumerate()
                                    .all(|(other, when)| other == index || when.holds(event))
                        });
                        if !decisive {
                            undecided.push(format!(
                                "{}: part {index} of {node:?} never fails alone",
                                rule.id
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    assert!(undecided.is_empty(), "{}", undecided.join("\n"));
}
