//! Legitimate changes that look like trouble: near-misses of the rules (the same API with
//! benign parameters: a read-only policy attached, a snapshot shared within the account, a
//! web port opened to the world) and surprises real accounts have (a colleague onboarded,
//! a fleet patched through Run Command, a release day's burst of calls, a trip abroad).
//! Near-misses must raise nothing; the surprises may, and count as false alarms.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::ACCOUNT;
use super::actors::ci_session;
use super::benign::{CLI, Generator, Habit};
use super::calls::{Call, Origin};

/// Near-misses of every rule with a condition, on its own API.
fn near_misses() -> Vec<Call> {
    let statement = |principal: Value| {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]})
            .to_string()
    };
    vec![
        Call::new("iam", "CreateAccessKey").request(json!({"userName": "alice"})).response(json!({"accessKey": {
            "accessKeyId": "AKIAALICENEW", "status": "Active", "userName": "alice", "createDate": "Oct 12, 2026 9:14:02 AM"}})),
        Call::new("iam", "UpdateLoginProfile").request(json!({"userName": "alice", "passwordResetRequired": false})),
        Call::new("iam", "AttachUserPolicy").request(json!({"userName": "bob", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"})),
        Call::new("iam", "AttachRolePolicy").request(json!({"roleName": "processor",
            "policyArn": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"})),
        Call::new("iam", "PutRolePolicy").request(json!({"roleName": "processor", "policyName": "read-data-lake",
            "policyDocument": json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": ["arn:aws:s3:::acme-data-lake", "arn:aws:s3:::acme-data-lake/*"]}]}).to_string()})),
        Call::new("iam", "CreatePolicyVersion").request(json!({"policyArn": format!("arn:aws:iam::{ACCOUNT}:policy/deploy-boundary"),
            "setAsDefault": false, "policyDocument": json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Action": "cloudformation:*", "Resource": "*"}]}).to_string()})),
        Call::new("iam", "CreateRole").request(json!({"roleName": "thumbnailer",
            "assumeRolePolicyDocument": statement(json!({"Service": "lambda.amazonaws.com"}))})),
        Call::new("iam", "UpdateAssumeRolePolicy").request(json!({"roleName": "report-generator",
            "policyDocument": statement(json!({"AWS": format!("arn:aws:iam::{ACCOUNT}:role/deploy")}))})),
        Call::new("eks", "AssociateAccessPolicy").request(json!({"name": "prod", "principalArn": format!("arn:aws:iam::{ACCOUNT}:role/Engineers"),
            "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", "accessScope": {"type": "cluster"}})),
        Call::new("ec2", "ModifySnapshotAttribute").request(json!({"snapshotId": "snap-0fedcba9876543210",
            "attributeType": "CREATE_VOLUME_PERMISSION", "createVolumePermission": {"add": {"items": [{"userId": ACCOUNT}]}}})),
        Call::new("ec2", "ModifySnapshotAttribute").request(json!({"snapshotId": "snap-0fedcba9876543210",
            "attributeType": "CREATE_VOLUME_PERMISSION", "createVolumePermission": {"remove": {"items": [{"group": "all"}]}}})),
        Call::new("rds", "ModifyDBSnapshotAttribute").request(json!({"dBSnapshotIdentifier": "orders-2026-10-01",
            "attributeName": "restore", "valuesToRemove": ["444455556666"]})),
        Call::new("s3", "PutBucketPolicy").request(json!({"bucketName": "acme-web-assets", "Host": "acme-web-assets.s3.amazonaws.com",
            "policy": "", "bucketPolicy": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
                 "Resource": "arn:aws:s3:::acme-web-assets/*",
                 "Condition": {"StringEquals": {"AWS:SourceArn": format!("arn:aws:cloudfront::{ACCOUNT}:distribution/E2QWRUHEXAMPLE")}}},
                {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::acme-web-assets/*",
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}})),
        Call::new("s3", "PutBucketAcl").request(json!({"bucketName": "acme-logs", "Host": "acme-logs.s3.amazonaws.com", "acl": "",
            "x-amz-acl": ["log-delivery-write"]})),
        Call::new("s3", "PutPublicAccessBlock").request(json!({"bucketName": "acme-data-lake", "publicAccessBlock": "",
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true,
                "RestrictPublicBuckets": true}})),
        Call::new("ec2", "AuthorizeSecurityGroupIngress").request(json!({"groupId": "sg-0a1b2c3d4e5f67890", "ipPermissions": {"items": [
            {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0", "description": "HTTPS"}]}}]}})),
        Call::new("ec2", "AuthorizeSecurityGroupIngress").request(json!({"groupId": "sg-0a1b2c3d4e5f67890", "ipPermissions": {"items": [
            {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": {"items": [{"cidrIp": "203.0.113.0/24", "description": "office"}]}}]}})),
        Call::new("ec2", "ModifyInstanceAttribute").request(json!({"instanceId": "i-0a1b2c3d4e5f60718", "instanceType": {"value": "m6i.large"}})),
        Call::new("ec2", "DescribeInstanceAttribute").request(json!({"instanceId": "i-0a1b2c3d4e5f60718", "attribute": "disableApiTermination"})),
        Call::new("ec2", "RunInstances").request(json!({"instancesSet": {"items": [{"imageId": "ami-0abcdef1234567890", "minCount": 1, "maxCount": 1}]},
            "instanceType": "m6i.xlarge"})),
        Call::new("lambda", "AddPermission").request(json!({"functionName": "thumbnailer", "statementId": "s3-invoke",
            "action": "lambda:InvokeFunction", "principal": "s3.amazonaws.com", "sourceAccount": ACCOUNT,
            "sourceArn": "arn:aws:s3:::acme-web-assets"})),
        Call::new("lambda", "CreateFunctionUrlConfig").request(json!({"functionName": "report-generator", "authType": "AWS_IAM"})),
        Call::new("lambda", "UpdateFunctionConfiguration").request(json!({"functionName": "processor", "memorySize": 512, "timeout": 30})),
        Call::new("guardduty", "UpdateDetector").request(json!({"detectorId": "12abc34d567e8fa901bc2d34e56789f0", "enable": true,
            "findingPublishingFrequency": "FIFTEEN_MINUTES"})),
        Call::new("cloudtrail", "PutEventSelectors").request(json!({"trailName": "management-events", "eventSelectors": [
            {"readWriteType": "All", "includeManagementEvents": true, "dataResources": [{"type": "AWS::S3::Object",
                "values": ["arn:aws:s3:::acme-data-lake/"]}]}]})),
        Call::new("cloudtrail", "UpdateTrail").request(json!({"name": "management-events", "enableLogFileValidation": true,
            "isMultiRegionTrail": true})),
        Call::new("ssm", "GetParameters").request(json!({"names": ["/app/db-host"], "withDecryption": false})),
        Call::new("ses", "UpdateAccountSendingEnabled").request(json!({"enabled": false})),
        Call::new("secretsmanager", "GetSecretValue").request(json!({"secretId": "prod/db"})),
    ]
}

impl Generator<'_> {
    /// The near-misses, each made once at a random working hour by an administrator (or by
    /// the user rotating their own key and password, or, for a secret, by the application
    /// that reads it).
    pub fn near_misses(&mut self, admin: &Habit, user: &Habit, workload: &Habit, days: i64) {
        for call in near_misses() {
            let day = self.rng.i64(1..days);
            let at = self.start
                + Duration::days(day)
                + Duration::hours(self.rng.i64(9..17))
                + Duration::seconds(self.rng.i64(0..3600));
            let by = match call.name {
                "GetSecretValue" => workload,
                "CreateAccessKey" | "UpdateLoginProfile" => user,
                _ => admin,
            };
            let address = format!("{}{}", by.networks[0], self.rng.u8(1..255));
            let origin = Origin {
                source: &address,
                agent: by.agents[0],
                region: by.regions[0],
            };
            self.push(&by.identity, &call, at, &origin);
            if let Some(last) = self.out.last_mut() {
                last.near_miss = true;
            }
        }
    }

    /// A draw of the surprises every account has now and then; which ones, and when, vary
    /// by seed.
    pub fn surprises(
        &mut self,
        people: &[&Habit],
        workloads: &[&Habit],
        runner_networks: &[String],
        days: i64,
    ) {
        let day = |generator: &mut Self| generator.rng.i64(7..days);
        let when = |generator: &mut Self, day: i64| -> DateTime<Utc> {
            generator.start
                + Duration::days(day)
                + Duration::hours(generator.rng.i64(9..17))
                + Duration::minutes(generator.rng.i64(0..60))
        };
        let person = |generator: &mut Self| people[generator.rng.usize(0..people.len())];
        let mut kinds: Vec<u32> = (0..8).collect();
        self.rng.shuffle(&mut kinds);
        let first = self.out.len();
        for kind in kinds.into_iter().take(self.rng.usize(3..6)) {
            let who = person(self);
            let address = format!("{}{}", who.networks[0], self.rng.u8(1..255));
            let origin = Origin {
                source: &address,
                agent: who.agents[0],
                region: who.regions[0],
            };
            let chosen = day(self);
            let at = when(self, chosen);
            match kind {
                // A colleague onboarded.
                0 => {
                    let name = ["dave", "mallory", "trent"][self.rng.usize(0..3)];
                    self.push(&who.identity, &Call::new("iam", "CreateUser").request(json!({"userName": name}))
                        .response(json!({"user": {"userName": name, "arn": format!("arn:aws:iam::{ACCOUNT}:user/{name}")}})), at, &origin);
                }
                // A fleet patched through Run Command.
                1 => self.push(
                    &who.identity,
                    &Call::new("ssm", "SendCommand").request(json!({
                    "documentName": "AWS-RunPatchBaseline", "instanceIds": ["i-0a1b2c3d4e5f60718"],
                    "parameters": {"Operation": ["Install"]}})),
                    at,
                    &origin,
                ),
                // CloudFormation rolls out a new version of a managed policy.
                2 => {
                    let identity = ci_session("deploy", 9000 + self.rng.u32(0..100));
                    let network = &runner_networks[self.rng.usize(0..runner_networks.len())];
                    let address = format!("{network}{}", self.rng.u8(1..255));
                    let call = Call::new("iam", "CreatePolicyVersion").request(json!({
                        "policyArn": format!("arn:aws:iam::{ACCOUNT}:policy/processor-data"), "setAsDefault": true,
                        "policyDocument": json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                            "Action": ["dynamodb:GetItem", "dynamodb:PutItem"], "Resource": format!("arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/orders")}]}).to_string()}));
                    self.push(
                        &identity,
                        &call,
                        at,
                        &Origin {
                            source: &address,
                            agent: CLI,
                            region: "us-east-1",
                        },
                    );
                }
                // A trip: a day's work from a hotel network in another region.
                3 => {
                    let hotel = format!(
                        "{}.{}.{}.",
                        [5, 37, 185][self.rng.usize(0..3)],
                        self.rng.u8(1..255),
                        self.rng.u8(1..255)
                    );
                    for minute in 0..self.rng.i64(5..25) {
                        let address = format!("{hotel}{}", self.rng.u8(1..255));
                        let call = super::calls::shaped(self.rng, "ec2", "DescribeInstances", at);
                        self.push(
                            &who.identity,
                            &call,
                            at + Duration::minutes(minute * 7),
                            &Origin {
                                source: &address,
                                agent: who.agents[0],
                                region: "eu-central-1",
                            },
                        );
                    }
                }
                // A release day: the CI role polls stack events for an hour.
                4 => {
                    let identity = ci_session("deploy", 9500 + self.rng.u32(0..100));
                    let network = &runner_networks[self.rng.usize(0..runner_networks.len())];
                    let address = format!("{network}{}", self.rng.u8(1..255));
                    let origin = Origin {
                        source: &address,
                        agent: CLI,
                        region: who.regions[0],
                    };
                    for second in 0..self.rng.i64(300..500) {
                        let call = super::calls::shaped(
                            self.rng,
                            "cloudformation",
                            "DescribeStackEvents",
                            at,
                        );
                        self.push(
                            &identity,
                            &call,
                            at + Duration::seconds(second * 8),
                            &origin,
                        );
                    }
                }
                // A new laptop: a person works from home with a client they never used.
                5 => {
                    let home = format!(
                        "{}.{}.{}.",
                        [73, 86, 109][self.rng.usize(0..3)],
                        self.rng.u8(1..255),
                        self.rng.u8(1..255)
                    );
                    let agent = "aws-sdk-java/2.28.11 Linux/6.8 OpenJDK_64-Bit_Server_VM/21.0.4+7-LTS Java/21.0.4 vendor/Eclipse_Adoptium";
                    // A device of its own signs in on its own: a session key of its own.
                    let mut laptop = who.identity.clone();
                    if laptop["accessKeyId"]
                        .as_str()
                        .is_some_and(|key| key.starts_with("ASIA"))
                    {
                        laptop["accessKeyId"] =
                            json!(super::actors::session_key(&format!("{home}laptop")));
                    }
                    for minute in 0..self.rng.i64(5..20) {
                        let address = format!("{home}{}", self.rng.u8(1..255));
                        let (service, name) = who.calls[self.rng.usize(0..who.calls.len())];
                        let call = super::calls::shaped(self.rng, service, name, at);
                        self.push(
                            &laptop,
                            &call,
                            at + Duration::minutes(minute * 3),
                            &Origin {
                                source: &address,
                                agent,
                                region: who.regions[0],
                            },
                        );
                    }
                }
                // A release ships code calling an API its role may not call yet: refused
                // for an hour until the policy catches up, then allowed.
                6 => {
                    let workload = workloads[self.rng.usize(0..workloads.len())];
                    let address = format!("{}{}", workload.networks[0], self.rng.u8(1..255));
                    let origin = Origin {
                        source: &address,
                        agent: workload.agents[0],
                        region: workload.regions[0],
                    };
                    let (service, name) = [
                        ("sqs", "GetQueueAttributes"),
                        ("s3", "GetBucketTagging"),
                        ("secretsmanager", "DescribeSecret"),
                    ][self.rng.usize(0..3)];
                    for minute in (0..60).step_by(self.rng.usize(4..12)) {
                        let call = Call::new(service, name)
                            .request(json!({"resource": "orders"}))
                            .denied();
                        self.push(
                            &workload.identity,
                            &call,
                            at + Duration::minutes(minute),
                            &origin,
                        );
                    }
                    let call = Call::new(service, name).request(json!({"resource": "orders"}));
                    self.push(
                        &workload.identity,
                        &call,
                        at + Duration::minutes(61),
                        &origin,
                    );
                }
                // An administrator reads a secret to debug the application.
                _ => self.push(
                    &who.identity,
                    &Call::new("secretsmanager", "GetSecretValue")
                        .request(json!({"secretId": "prod/db"})),
                    at,
                    &origin,
                ),
            }
        }
        for labelled in &mut self.out[first..] {
            labelled.surprise = true;
        }
    }
}
