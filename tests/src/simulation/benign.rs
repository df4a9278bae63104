//! What an ordinary account does all day: people at work, CI runs, workloads, AWS services
//! acting on their own, errors at the rates real applications make them, and the legitimate
//! changes that look like the attacks the rules are written for.

use chrono::{DateTime, Duration, Utc};
use fastrand::Rng;
use serde_json::{Value, json};

use super::actors::{
    assumed_role, aws_service, ci_session, iam_user, identity_center, service_linked_role,
};
use super::calls::{Call, Origin, record, shaped};
use super::{ACCOUNT, Account, Labelled};

pub const CLI: &str =
    "aws-cli/2.17.32 md/awscrt#0.21.2 ua/2.0 os/linux#6.8 md/arch#x86_64 lang/python#3.11.9";
pub const BOTO: &str =
    "Boto3/1.34.162 md/Botocore#1.34.162 ua/2.0 os/linux#6.8 md/arch#x86_64 lang/python#3.12.4";
const BROWSER: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15";
const CONSOLE: &str = "AWS Internal";
const TERRAFORM: &str = "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.70.0";
pub const SDK_RUST: &str = "aws-sdk-rust/1.3.9 os/linux lang/rust/1.95.0";
const LAMBDA_GO: &str = "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#arm64 exec-env/AWS_Lambda_provided.al2023";
const LAMBDA_PYTHON: &str = "Boto3/1.34.145 md/Botocore#1.34.145 ua/2.0 os/linux#5.10 md/arch#x86_64 lang/python#3.12.4 exec-env/AWS_Lambda_python3.12";

/// What a person or workload calls, from where, with what, and when.
pub struct Habit {
    pub identity: Value,
    /// Calls weighted by repetition; most are reads, as in every real account.
    pub calls: Vec<(&'static str, &'static str)>,
    /// Calls it picks up in the second week, now and then.
    pub occasional: Vec<(&'static str, &'static str)>,
    /// /24 prefixes, "203.0.113.".
    pub networks: Vec<String>,
    pub agents: Vec<&'static str>,
    pub regions: Vec<&'static str>,
    pub hours: std::ops::Range<u32>,
    pub calls_per_hour: std::ops::Range<u32>,
    pub weekends: bool,
    /// A call this principal is not allowed to make and makes anyway now and then (a
    /// misconfigured application), with its chance per working hour.
    pub denied: Option<((&'static str, &'static str), u32)>,
    pub kind: Kind,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Person,
    Workload,
}

/// Calls console pages make behind the scenes, which people without the permission are
/// refused (panels that say "you don't have permission").
const CONSOLE_PAGE_CALLS: [(&str, &str); 10] = [
    ("ce", "GetCostAndUsage"),
    ("organizations", "DescribeOrganization"),
    ("iam", "GetAccountSummary"),
    ("iam", "ListAccountAliases"),
    ("health", "DescribeEventAggregates"),
    ("support", "DescribeTrustedAdvisorChecks"),
    ("servicequotas", "ListServiceQuotas"),
    ("ec2", "DescribeAccountAttributes"),
    ("securityhub", "DescribeHub"),
    ("account", "GetContactInformation"),
];

const PEOPLE: [&str; 8] = [
    "carol@example.com",
    "dan@example.com",
    "erin@example.com",
    "frank@example.com",
    "grace@example.com",
    "heidi@example.com",
    "ivan@example.com",
    "judy@example.com",
];

/// `count` random /24 prefixes ("203.0.113.") whose first octet is one of `first`.
pub fn prefixes(rng: &mut Rng, count: usize, first: &[u8]) -> Vec<String> {
    (0..count)
        .map(|_| {
            format!(
                "{}.{}.{}.",
                first[rng.usize(0..first.len())],
                rng.u8(1..255),
                rng.u8(0..255)
            )
        })
        .collect()
}

/// The account's principals, drawn for this seed: how many people sit behind the Identity
/// Center and SAML roles, where the account lives, which application is misconfigured.
pub fn habits(rng: &mut Rng, account: &Account) -> Vec<Habit> {
    let home = account.home_region;
    let second = account.second_region;
    let office = prefixes(rng, 2, &[203, 198, 192]);
    let mut habits = vec![
        Habit {
            identity: iam_user("alice", "AKIAALICE"),
            calls: vec![
                ("ec2", "DescribeInstances"),
                ("ec2", "DescribeInstances"),
                ("s3", "ListBuckets"),
                ("s3", "GetBucketLocation"),
                ("cloudwatch", "GetMetricData"),
                ("cloudwatch", "GetMetricData"),
                ("logs", "FilterLogEvents"),
                ("ecs", "DescribeServices"),
                ("sts", "GetCallerIdentity"),
                ("iam", "ListRoles"),
                ("rds", "DescribeDBInstances"),
                ("cloudformation", "DescribeStacks"),
            ],
            occasional: vec![
                ("ec2", "DescribeSecurityGroups"),
                ("lambda", "ListFunctions"),
                ("ssm", "DescribeInstanceInformation"),
            ],
            networks: office.clone(),
            agents: vec![CLI, BROWSER, CONSOLE],
            regions: vec![home, second],
            hours: 8..18,
            calls_per_hour: 2..14,
            weekends: false,
            denied: None,
            kind: Kind::Person,
        },
        Habit {
            identity: iam_user("bob", "AKIABOB"),
            calls: vec![
                ("s3", "ListBuckets"),
                ("s3", "GetBucketLocation"),
                ("dynamodb", "DescribeTable"),
                ("dynamodb", "ListTables"),
                ("sts", "GetCallerIdentity"),
                ("cloudformation", "DescribeStacks"),
                ("sqs", "ListQueues"),
                ("logs", "FilterLogEvents"),
            ],
            occasional: vec![
                ("cloudformation", "ListStacks"),
                ("logs", "DescribeLogGroups"),
            ],
            networks: vec![office[1].clone()],
            agents: vec![CLI, BOTO],
            regions: vec![home],
            hours: 9..17,
            calls_per_hour: 1..9,
            weekends: false,
            denied: None,
            kind: Kind::Person,
        },
    ];
    // Identity Center: several people behind one permission set, each a principal of its own.
    let admins = rng.usize(2..5);
    let readers = rng.usize(1..4);
    let mut people: Vec<&str> = PEOPLE.to_vec();
    rng.shuffle(&mut people);
    for (number, person) in people.iter().take(admins + readers).enumerate() {
        let admin = number < admins;
        let home_network = prefixes(rng, 1, &[81, 86, 90, 2]);
        habits.push(Habit {
            identity: if admin {
                identity_center("AdministratorAccess", person)
            } else {
                identity_center("ReadOnlyAccess", person)
            },
            calls: if admin {
                vec![
                    ("ec2", "DescribeInstances"),
                    ("iam", "ListRoles"),
                    ("iam", "GetRole"),
                    ("cloudtrail", "LookupEvents"),
                    ("guardduty", "ListFindings"),
                    ("config", "DescribeComplianceByConfigRule"),
                    ("cloudwatch", "DescribeAlarms"),
                ]
            } else {
                vec![
                    ("ec2", "DescribeInstances"),
                    ("cloudwatch", "GetMetricData"),
                    ("logs", "FilterLogEvents"),
                    ("dynamodb", "DescribeTable"),
                ]
            },
            occasional: vec![("iam", "ListPolicies"), ("securityhub", "GetFindings")],
            networks: vec![office[0].clone(), home_network[0].clone()],
            agents: vec![BROWSER, CONSOLE, CLI],
            regions: vec![home, second],
            hours: 8 + rng.u32(0..3)..15 + rng.u32(0..4),
            calls_per_hour: 0..7,
            weekends: false,
            denied: None,
            kind: Kind::Person,
        });
    }
    // SAML federation: engineers behind one role, sessions named by e-mail.
    for person in people.iter().skip(admins + readers).take(rng.usize(1..3)) {
        habits.push(Habit {
            identity: assumed_role("Engineers", person, true),
            calls: vec![
                ("ecs", "DescribeServices"),
                ("logs", "FilterLogEvents"),
                ("cloudwatch", "GetMetricData"),
                ("lambda", "GetFunction"),
                ("ssm", "GetParameter"),
            ],
            occasional: vec![("lambda", "ListFunctions")],
            networks: vec![office[0].clone()],
            agents: vec![CLI, BROWSER],
            regions: vec![home],
            hours: 9..18,
            calls_per_hour: 0..6,
            weekends: false,
            denied: None,
            kind: Kind::Person,
        });
    }
    let workloads = [
        Habit {
            identity: assumed_role("web-server", "i-0a1b2c3d4e5f60718", false),
            calls: vec![
                ("secretsmanager", "GetSecretValue"),
                ("kms", "Decrypt"),
                ("kms", "Decrypt"),
                ("kms", "Decrypt"),
                ("ssm", "UpdateInstanceInformation"),
                ("ssm", "GetParameters"),
            ],
            occasional: vec![],
            networks: prefixes(rng, 1, &[52, 54]),
            agents: vec![SDK_RUST],
            regions: vec![home],
            hours: 0..24,
            calls_per_hour: 6..14,
            weekends: true,
            denied: None,
            kind: Kind::Workload,
        },
        Habit {
            identity: assumed_role("processor", "processor", false),
            calls: vec![
                ("kms", "GenerateDataKey"),
                ("kms", "Decrypt"),
                ("kms", "Decrypt"),
                ("dynamodb", "DescribeTable"),
                ("sns", "ListTopics"),
            ],
            occasional: vec![],
            networks: prefixes(rng, 3, &[34, 52]),
            agents: vec![LAMBDA_GO],
            regions: vec![home],
            hours: 0..24,
            calls_per_hour: 10..30,
            weekends: true,
            denied: None,
            kind: Kind::Workload,
        },
        // A nightly-and-hourly report job whose role lacks one permission: denied every
        // run, a few times an hour, for the whole two weeks, as real misconfigurations are.
        Habit {
            identity: assumed_role("report-generator", "report-generator", false),
            calls: vec![
                ("dynamodb", "DescribeTable"),
                ("s3", "GetBucketLocation"),
                ("kms", "Decrypt"),
            ],
            occasional: vec![],
            networks: prefixes(rng, 2, &[34, 52]),
            agents: vec![LAMBDA_PYTHON],
            regions: vec![home],
            hours: 0..24,
            calls_per_hour: 1..4,
            weekends: true,
            denied: Some((
                *[
                    ("s3", "GetBucketPolicy"),
                    ("kms", "Decrypt"),
                    ("ssm", "GetParameter"),
                ]
                .get(rng.usize(0..3))
                .unwrap_or(&("kms", "Decrypt")),
                2,
            )),
            kind: Kind::Workload,
        },
    ];
    habits.extend(workloads);
    habits
}

/// Writes the records of one account's two weeks into `out`.
pub struct Generator<'a> {
    pub rng: &'a mut Rng,
    pub out: &'a mut Vec<Labelled>,
    pub start: DateTime<Utc>,
}

impl Generator<'_> {
    pub fn push(&mut self, identity: &Value, call: &Call, at: DateTime<Utc>, origin: &Origin) {
        let record = record(self.rng, identity, call, at, origin);
        self.out.push(Labelled::new(record, None));
    }

    fn at(&mut self, day: i64, hours: std::ops::Range<u32>) -> DateTime<Utc> {
        self.start
            + Duration::days(day)
            + Duration::hours(self.rng.u32(hours) as i64)
            + Duration::seconds(self.rng.i64(0..3600))
    }

    /// Each habit's calls, hour by hour.
    pub fn routine(&mut self, habit: &Habit, days: i64) {
        for day in 0..days {
            let weekend = day % 7 >= 5;
            if weekend && !habit.weekends {
                continue;
            }
            for hour in habit.hours.clone() {
                for _ in 0..self.rng.u32(habit.calls_per_hour.clone()) {
                    let at = self.start
                        + Duration::days(day)
                        + Duration::hours(hour as i64)
                        + Duration::seconds(self.rng.i64(0..3600));
                    let (service, name) =
                        if day >= 7 && !habit.occasional.is_empty() && self.rng.u32(0..60) == 0 {
                            habit.occasional[self.rng.usize(0..habit.occasional.len())]
                        } else {
                            habit.calls[self.rng.usize(0..habit.calls.len())]
                        };
                    let mut call = shaped(self.rng, service, name, at);
                    // Throttling now and then on the chatty workloads.
                    if habit.kind == Kind::Workload && self.rng.u32(0..400) == 0 {
                        call = call.failed("ThrottlingException", "Rate exceeded");
                    }
                    let address = self.address(habit);
                    let agent = habit.agents[self.rng.usize(0..habit.agents.len())];
                    let region = habit.regions[self.rng.usize(0..habit.regions.len())];
                    let origin = Origin {
                        source: &address,
                        agent,
                        region,
                    };
                    self.push(&habit.identity, &call, at, &origin);
                    // Secrets Manager decrypts the secret with the caller's identity.
                    if name == "GetSecretValue" && call.error.is_none() {
                        let mut identity = habit.identity.clone();
                        identity["invokedBy"] = json!("secretsmanager.amazonaws.com");
                        let decrypt = shaped(self.rng, "kms", "Decrypt", at);
                        let origin = Origin {
                            source: "secretsmanager.amazonaws.com",
                            agent: "secretsmanager.amazonaws.com",
                            region,
                        };
                        self.push(&identity, &decrypt, at, &origin);
                    }
                }
                if let Some(((service, name), chance)) = habit.denied
                    && self.rng.u32(0..chance) == 0
                {
                    let at = self.at(day, hour..hour + 1);
                    let call = shaped(self.rng, service, name, at).denied();
                    let address = self.address(habit);
                    let origin = Origin {
                        source: &address,
                        agent: habit.agents[0],
                        region: habit.regions[0],
                    };
                    self.push(&habit.identity, &call, at, &origin);
                }
            }
            // The console calls more than a page shows: people without a permission meet
            // denials for calls they never made themselves, a few times a week.
            if habit.kind == Kind::Person
                && habit.agents.contains(&BROWSER)
                && self.rng.u32(0..3) == 0
            {
                let (service, name) =
                    CONSOLE_PAGE_CALLS[self.rng.usize(0..CONSOLE_PAGE_CALLS.len())];
                let at = self.at(day, habit.hours.clone());
                let call = shaped(self.rng, service, name, at).denied();
                let address = self.address(habit);
                let origin = Origin {
                    source: &address,
                    agent: BROWSER,
                    region: habit.regions[0],
                };
                self.push(&habit.identity, &call, at, &origin);
            }
            // People sign in to the console once a working day, with MFA.
            if habit.kind == Kind::Person
                && habit.agents.contains(&BROWSER)
                && habit.identity["type"] == "IAMUser"
            {
                let at = self.at(day, habit.hours.start..habit.hours.start + 1);
                let address = self.address(habit);
                let login = self.console_login(&habit.identity, at, &address);
                self.out.push(Labelled::new(login, None));
            }
        }
    }

    /// An address in one of the habit's networks.
    pub fn address(&mut self, habit: &Habit) -> String {
        let network = &habit.networks[self.rng.usize(0..habit.networks.len())];
        format!("{network}{}", self.rng.u8(1..255))
    }

    pub(super) fn console_login(
        &mut self,
        identity: &Value,
        at: DateTime<Utc>,
        address: &str,
    ) -> Value {
        let mut record = record(
            self.rng,
            identity,
            &Call::new("signin", "ConsoleLogin").response(json!({"ConsoleLogin": "Success"})),
            at,
            &Origin {
                source: address,
                agent: BROWSER,
                region: "us-east-1",
            },
        );
        let object = record.as_object_mut().expect("a record is an object");
        object.remove("requestID");
        object.remove("tlsDetails");
        object.insert("eventType".into(), json!("AwsConsoleSignIn"));
        object.insert("readOnly".into(), json!(false));
        object.insert("additionalEventData".into(), json!({"LoginTo": "https://console.aws.amazon.com/console/home",
            "MobileVersion": "No", "MFAUsed": "Yes", "MFAIdentifier": format!("arn:aws:iam::{ACCOUNT}:mfa/phone")}));
        record
    }

    /// The CI role: runs of a few minutes from GitHub's hosted runners, each from one of many
    /// networks, with a session name of its own.
    pub fn ci(&mut self, days: i64, runner_networks: &[String], region: &str) {
        let mut run = 4000 + self.rng.u32(0..1000);
        for day in 0..days {
            let runs = if day % 7 >= 5 {
                self.rng.u32(0..3)
            } else {
                self.rng.u32(3..12)
            };
            for _ in 0..runs {
                run += 1;
                let identity = ci_session("deploy", run);
                let network = &runner_networks[self.rng.usize(0..runner_networks.len())];
                let address = format!("{network}{}", self.rng.u8(1..255));
                let agent = [TERRAFORM, CLI][self.rng.usize(0..2)];
                let origin = Origin {
                    source: &address,
                    agent,
                    region,
                };
                let mut at = self.at(day, 7..20);
                let mut steps: Vec<(&str, &str)> = vec![
                    ("sts", "GetCallerIdentity"),
                    ("ecr", "GetAuthorizationToken"),
                    ("ecr", "BatchCheckLayerAvailability"),
                    ("cloudformation", "DescribeStacks"),
                ];
                if self.rng.bool() {
                    steps.extend([
                        ("cloudformation", "CreateChangeSet"),
                        ("cloudformation", "DescribeStacks"),
                        ("cloudformation", "ExecuteChangeSet"),
                    ]);
                } else {
                    steps.push(("cloudformation", "UpdateStack"));
                }
                let polls = self.rng.usize(3..15);
                steps.extend(std::iter::repeat_n(
                    ("cloudformation", "DescribeStackEvents"),
                    polls,
                ));
                steps.extend([
                    ("ecs", "UpdateService"),
                    ("ecs", "DescribeServices"),
                    ("lambda", "UpdateFunctionCode"),
                    ("lambda", "GetFunction"),
                ]);
                for (service, name) in steps {
                    at += Duration::seconds(self.rng.i64(2..20));
                    let mut call = shaped(self.rng, service, name, at);
                    if name == "DescribeStackEvents" && self.rng.u32(0..25) == 0 {
                        call = call.failed("Throttling", "Rate exceeded");
                    }
                    self.push(&identity, &call, at, &origin);
                }
            }
        }
    }

    /// AWS services at work: AWS Config's recorder describing every region hourly, Lambda
    /// assuming functions' roles, Auto Scaling replacing instances, and (on some accounts) a
    /// flow log whose bucket policy refuses the log delivery service.
    pub fn services(&mut self, days: i64, regions: &[&str], misdelivered_logs: bool) {
        let config = service_linked_role("AWSServiceRoleForConfig", "AWSConfig-Describe");
        let config_origin = |region| Origin {
            source: "config.amazonaws.com",
            agent: "config.amazonaws.com",
            region,
        };
        let lambda = aws_service("lambda.amazonaws.com");
        let autoscaling = service_linked_role("AWSServiceRoleForAutoScaling", "AutoScaling");
        let delivery = aws_service("delivery.logs.amazonaws.com");
        for day in 0..days {
            for hour in 0..24 {
                for region in regions {
                    for (service, name) in [
                        ("ec2", "DescribeInstances"),
                        ("ec2", "DescribeSecurityGroups"),
                        ("ec2", "DescribeVolumes"),
                        ("s3", "GetBucketPolicy"),
                        ("s3", "GetBucketAcl"),
                        ("iam", "ListAttachedRolePolicies"),
                    ] {
                        if self.rng.u32(0..3) != 0 {
                            continue;
                        }
                        let at = self.at(day, hour..hour + 1);
                        let call = shaped(self.rng, service, name, at);
                        self.push(&config, &call, at, &config_origin(region));
                    }
                }
                for _ in 0..self.rng.u32(2..8) {
                    let at = self.at(day, hour..hour + 1);
                    let call = shaped(self.rng, "sts", "AssumeRole", at);
                    let origin = Origin {
                        source: "lambda.amazonaws.com",
                        agent: "lambda.amazonaws.com",
                        region: regions[0],
                    };
                    self.push(&lambda, &call, at, &origin);
                }
                if misdelivered_logs {
                    for _ in 0..self.rng.u32(0..8) {
                        let at = self.at(day, hour..hour + 1);
                        self.misdelivered_log(&delivery, at, regions[0]);
                    }
                }
            }
            if self.rng.u32(0..2) == 0 {
                let at = self.at(day, 0..24);
                let origin = Origin {
                    source: "autoscaling.amazonaws.com",
                    agent: "autoscaling.amazonaws.com",
                    region: regions[0],
                };
                let launch = Call::new("ec2", "RunInstances")
                    .request(json!({"instancesSet": {"items": [{"minCount": 1, "maxCount": 1}]},
                        "instanceType": "t3.medium", "launchTemplate": {"launchTemplateId": "lt-0abcd1234efgh5678", "version": "7"},
                        "subnetId": "subnet-0a1b2c3d", "clientToken": "fleet-replacement"}))
                    .response(json!({"instancesSet": {"items": [{"instanceId": "i-0f1e2d3c4b5a69788", "instanceType": "t3.medium"}]}}));
                self.push(&autoscaling, &launch, at, &origin);
                let terminate = Call::new("ec2", "TerminateInstances").request(
                    json!({"instancesSet": {"items": [{"instanceId": "i-0123456789abcdef1"}]}}),
                );
                self.push(&autoscaling, &terminate, at + Duration::minutes(3), &origin);
            }
        }
    }

    /// A denied S3 data event: the flow-log delivery service refused by the bucket policy.
    fn misdelivered_log(&mut self, delivery: &Value, at: DateTime<Utc>, region: &str) {
        let call = Call::new("s3", "PutObject")
            .request(json!({"bucketName": "acme-flow-logs", "Host": "acme-flow-logs.s3.amazonaws.com",
                "key": format!("AWSLogs/{ACCOUNT}/vpcflowlogs/{region}/{}.log.gz", super::calls::uuid(self.rng)),
                "x-amz-acl": "bucket-owner-full-control"}))
            .resource("arn:aws:s3:::acme-flow-logs".to_string())
            .data_event()
            .denied();
        let origin = Origin {
            source: "delivery.logs.amazonaws.com",
            agent: "delivery.logs.amazonaws.com",
            region,
        };
        self.push(delivery, &call, at, &origin);
    }
}
