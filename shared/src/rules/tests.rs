//! Every rule's positive and negative cases, on real CloudTrail records from the reference
//! data (`../shared/data/traildiscover`), changed only where a case needs it.

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

/// (rule id, record, whether the rule fires on it)
fn cases() -> Vec<(&'static str, Value, bool)> {
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
