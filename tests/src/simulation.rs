//! A seeded simulation of one AWS account's CloudTrail: two weeks of benign activity by
//! humans, a CI role, an instance role and a Lambda role, with the variety real accounts
//! have (working hours, several networks, several clients, new APIs now and then), and
//! attack sequences inserted in the second week. Every record is labelled with the attack
//! it belongs to, if any, so detection can be scored.

use chrono::{DateTime, Duration, TimeZone, Utc};
use fastrand::Rng;
use serde_json::{Value, json};

pub const ACCOUNT: &str = "111122223333";
const FOREIGN_ACCOUNT: &str = "999988887777";

/// One simulated record and the attack it belongs to.
pub struct Labelled {
    pub record: Value,
    pub attack: Option<&'static str>,
}

/// The attacks the simulation inserts.
pub const ATTACKS: [&str; 6] = [
    "stolen credentials used from a new network",
    "IAM persistence",
    "logging tampering",
    "snapshot shared with another account",
    "reconnaissance with an access-denied burst",
    "instance credentials exfiltrated",
];

#[derive(Clone)]
struct Identity {
    principal_arn: &'static str,
    record: Value,
}

fn iam_user(name: &str, key: &str) -> Value {
    json!({"type": "IAMUser", "principalId": format!("AIDA{}", name.to_uppercase()), "arn": format!("arn:aws:iam::{ACCOUNT}:user/{name}"),
           "accountId": ACCOUNT, "accessKeyId": key, "userName": name})
}

fn assumed_role(role: &str, session: &str) -> Value {
    json!({"type": "AssumedRole", "principalId": format!("AROA{}:{session}", role.to_uppercase()),
           "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}"), "accountId": ACCOUNT, "accessKeyId": "ASIAEXAMPLE",
           "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": format!("AROA{}", role.to_uppercase()),
               "arn": format!("arn:aws:iam::{ACCOUNT}:role/{role}"), "accountId": ACCOUNT, "userName": role},
               "attributes": {"creationDate": "2026-10-01T00:00:00Z", "mfaAuthenticated": "false"}}})
}

/// A principal's habits: what it calls, from where, with what, and when.
struct Habit {
    identity: Identity,
    calls: &'static [(&'static str, &'static str)],
    /// Calls it picks up later, now and then.
    occasional: &'static [(&'static str, &'static str)],
    networks: &'static [&'static str],
    agents: &'static [&'static str],
    regions: &'static [&'static str],
    /// Working hours (UTC) and calls per working hour.
    hours: std::ops::Range<u32>,
    calls_per_hour: std::ops::Range<u32>,
    weekends: bool,
}

const CLI: &str =
    "aws-cli/2.17.32 md/awscrt#0.21.2 ua/2.0 os/linux#6.8 md/arch#x86_64 lang/python#3.11.9";
const BOTO: &str =
    "Boto3/1.34.162 md/Botocore#1.34.162 ua/2.0 os/linux#6.8 md/arch#x86_64 lang/python#3.12.4";
const BROWSER: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15";
const CONSOLE: &str = "AWS Internal";
const TERRAFORM: &str = "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.70.0";
const SDK_RUST: &str = "aws-sdk-rust/1.3.9 os/linux lang/rust/1.95.0";
const LAMBDA_GO: &str = "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#arm64 exec-env/AWS_Lambda_provided.al2023";

fn habits() -> Vec<Habit> {
    vec![
        Habit {
            identity: Identity {
                principal_arn: "arn:aws:iam::111122223333:user/alice",
                record: iam_user("alice", "AKIAALICE"),
            },
            calls: &[
                ("ec2", "DescribeInstances"),
                ("s3", "ListBuckets"),
                ("cloudwatch", "GetMetricData"),
                ("logs", "FilterLogEvents"),
                ("ecs", "DescribeServices"),
                ("sts", "GetCallerIdentity"),
                ("iam", "ListRoles"),
                ("rds", "DescribeDBInstances"),
            ],
            occasional: &[
                ("ec2", "DescribeSecurityGroups"),
                ("lambda", "ListFunctions"),
                ("ssm", "DescribeInstanceInformation"),
            ],
            networks: &["203.0.113.", "198.51.100."],
            agents: &[CLI, BROWSER, CONSOLE],
            regions: &["eu-west-1", "us-east-1"],
            hours: 8..18,
            calls_per_hour: 2..12,
            weekends: false,
        },
        Habit {
            identity: Identity {
                principal_arn: "arn:aws:iam::111122223333:user/bob",
                record: iam_user("bob", "AKIABOB"),
            },
            calls: &[
                ("s3", "ListBuckets"),
                ("s3", "GetBucketLocation"),
                ("dynamodb", "DescribeTable"),
                ("dynamodb", "ListTables"),
                ("sts", "GetCallerIdentity"),
                ("cloudformation", "DescribeStacks"),
                ("sqs", "ListQueues"),
            ],
            occasional: &[
                ("cloudformation", "ListStacks"),
                ("logs", "DescribeLogGroups"),
            ],
            networks: &["192.0.2."],
            agents: &[CLI, BOTO],
            regions: &["eu-west-1"],
            hours: 9..17,
            calls_per_hour: 1..8,
            weekends: false,
        },
        Habit {
            identity: Identity {
                principal_arn: "arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_0123456789abcdef",
                record: assumed_role("AWSReservedSSO_Admin_0123456789abcdef", "carol@example.com"),
            },
            calls: &[
                ("ec2", "DescribeInstances"),
                ("iam", "ListUsers"),
                ("iam", "GetRole"),
                ("cloudtrail", "LookupEvents"),
                ("guardduty", "ListFindings"),
                ("config", "DescribeComplianceByConfigRule"),
            ],
            occasional: &[("iam", "ListPolicies"), ("securityhub", "GetFindings")],
            networks: &["203.0.113."],
            agents: &[BROWSER, CONSOLE],
            regions: &["eu-west-1", "us-east-1"],
            hours: 10..16,
            calls_per_hour: 0..6,
            weekends: false,
        },
        Habit {
            identity: Identity {
                principal_arn: "arn:aws:iam::111122223333:role/deploy",
                record: assumed_role("deploy", "gh-actions"),
            },
            calls: &[
                ("cloudformation", "DescribeStacks"),
                ("cloudformation", "UpdateStack"),
                ("cloudformation", "DescribeStackEvents"),
                ("s3", "ListBuckets"),
                ("lambda", "GetFunction"),
                ("ecr", "GetAuthorizationToken"),
                ("ecs", "UpdateService"),
                ("ecs", "DescribeServices"),
                ("iam", "PassRole"),
                ("sts", "GetCallerIdentity"),
            ],
            occasional: &[
                ("cloudformation", "CreateChangeSet"),
                ("cloudformation", "ExecuteChangeSet"),
            ],
            networks: &["4.175.10.", "4.175.11.", "20.42.7.", "20.42.8."],
            agents: &[TERRAFORM, CLI],
            regions: &["eu-west-1"],
            hours: 7..20,
            calls_per_hour: 0..30,
            weekends: true,
        },
        Habit {
            identity: Identity {
                principal_arn: "arn:aws:iam::111122223333:role/web-server",
                record: assumed_role("web-server", "i-0a1b2c3d4e5f60718"),
            },
            calls: &[
                ("secretsmanager", "GetSecretValue"),
                ("sqs", "SendMessage"),
                ("sqs", "ReceiveMessage"),
                ("dynamodb", "DescribeTable"),
                ("kms", "Decrypt"),
                ("ssm", "UpdateInstanceInformation"),
            ],
            occasional: &[],
            networks: &["52.210.33."],
            agents: &[SDK_RUST],
            regions: &["eu-west-1"],
            hours: 0..24,
            calls_per_hour: 4..10,
            weekends: true,
        },
        Habit {
            identity: Identity {
                principal_arn: "arn:aws:iam::111122223333:role/processor",
                record: assumed_role("processor", "processor"),
            },
            calls: &[
                ("sqs", "DeleteMessage"),
                ("dynamodb", "DescribeTable"),
                ("kms", "GenerateDataKey"),
                ("sns", "Publish"),
            ],
            occasional: &[],
            networks: &["34.245.0.", "34.245.1.", "34.245.2."],
            agents: &[LAMBDA_GO],
            regions: &["eu-west-1"],
            hours: 0..24,
            calls_per_hour: 2..15,
            weekends: true,
        },
    ]
}

pub struct Simulation {
    pub records: Vec<Labelled>,
    pub days: i64,
    pub principals: usize,
}

/// Two weeks of the account, attacks included, in event-time order.
pub fn simulate(seed: u64) -> Simulation {
    let mut rng = Rng::with_seed(seed);
    let start = Utc.with_ymd_and_hms(2026, 10, 5, 0, 0, 0).unwrap();
    let days = 14;
    let mut records = Vec::new();
    let habits = habits();
    for day in 0..days {
        let weekend = day % 7 >= 5;
        for habit in &habits {
            if weekend && !habit.weekends {
                continue;
            }
            for hour in habit.hours.clone() {
                let calls = rng.u32(habit.calls_per_hour.clone());
                for _ in 0..calls {
                    let at = start
                        + Duration::days(day)
                        + Duration::hours(hour as i64)
                        + Duration::seconds(rng.i64(0..3600));
                    // From the second week, a principal now and then picks up a call it never made.
                    let (service, name) =
                        if day >= 7 && !habit.occasional.is_empty() && rng.u32(0..40) == 0 {
                            habit.occasional[rng.usize(0..habit.occasional.len())]
                        } else {
                            habit.calls[rng.usize(0..habit.calls.len())]
                        };
                    let network = habit.networks[rng.usize(0..habit.networks.len())];
                    let address = format!("{network}{}", rng.u8(1..255));
                    let agent = habit.agents[rng.usize(0..habit.agents.len())];
                    let region = habit.regions[rng.usize(0..habit.regions.len())];
                    let record = call(
                        &mut rng,
                        &habit.identity,
                        service,
                        name,
                        at,
                        &address,
                        agent,
                        region,
                    );
                    records.push(Labelled {
                        record,
                        attack: None,
                    });
                }
            }
        }
    }
    insert_benign_surprises(&mut rng, &mut records, start, &habits);
    insert_attacks(&mut rng, &mut records, start, &habits);
    records.sort_by_key(|labelled| {
        labelled.record["eventTime"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    });
    Simulation {
        records,
        days,
        principals: habits.len(),
    }
}

#[allow(clippy::too_many_arguments)]
fn call(
    rng: &mut Rng,
    identity: &Identity,
    service: &str,
    name: &str,
    at: DateTime<Utc>,
    address: &str,
    agent: &str,
    region: &str,
) -> Value {
    let read_only = ["Describe", "List", "Get", "Lookup", "Filter"]
        .iter()
        .any(|prefix| name.starts_with(prefix));
    json!({
        "eventVersion": "1.10",
        "userIdentity": identity.record,
        "eventTime": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "eventSource": format!("{service}.amazonaws.com"),
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": address,
        "userAgent": agent,
        "requestParameters": null,
        "responseElements": null,
        "requestID": uuid(rng),
        "eventID": uuid(rng),
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management"
    })
}

fn uuid(rng: &mut Rng) -> String {
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

/// Legitimate work that looks like trouble, as every real account has: an admin onboarding
/// a colleague, an engineer running a command on the fleet, a release day's burst of calls.
/// The engine may flag these; they count as false alarms.
fn insert_benign_surprises(
    rng: &mut Rng,
    records: &mut Vec<Labelled>,
    start: DateTime<Utc>,
    habits: &[Habit],
) {
    let habit = |arn: &str| {
        habits
            .iter()
            .find(|habit| habit.identity.principal_arn.ends_with(arn))
            .unwrap_or_else(|| panic!("{arn}"))
    };
    let at = |day: i64, hour: i64, minute: i64| {
        start + Duration::days(day) + Duration::hours(hour) + Duration::minutes(minute)
    };
    let mut add = |rng: &mut Rng,
                   habit: &Habit,
                   service: &str,
                   name: &str,
                   when: DateTime<Utc>,
                   parameters: Value| {
        let address = format!("{}{}", habit.networks[0], rng.u8(1..255));
        let mut record = call(
            rng,
            &habit.identity,
            service,
            name,
            when,
            &address,
            habit.agents[0],
            habit.regions[0],
        );
        record["requestParameters"] = parameters;
        records.push(Labelled {
            record,
            attack: None,
        });
    };
    let carol = habit("AWSReservedSSO_Admin_0123456789abcdef");
    add(
        rng,
        carol,
        "iam",
        "CreateUser",
        at(8, 11, 5),
        json!({"userName": "dave"}),
    );
    let alice = habit("user/alice");
    for day in [3, 10] {
        add(
            rng,
            alice,
            "ssm",
            "SendCommand",
            at(day, 14, 30),
            json!({"documentName": "AWS-RunPatchBaseline", "instanceIds": ["i-0a1b2c3d4e5f60718"]}),
        );
    }
    let deploy = habit("role/deploy");
    for second in 0..400 {
        add(
            rng,
            deploy,
            "cloudformation",
            "DescribeStackEvents",
            at(11, 15, 0) + Duration::seconds(second * 8),
            Value::Null,
        );
    }
}

/// One call of an attack: (attack, who, service, call, when, request parameters).
type Step<'a> = (
    &'static str,
    &'a Identity,
    &'a str,
    &'a str,
    DateTime<Utc>,
    Value,
);

fn insert_attacks(
    rng: &mut Rng,
    records: &mut Vec<Labelled>,
    start: DateTime<Utc>,
    habits: &[Habit],
) {
    let identity = |arn: &str| {
        habits
            .iter()
            .find(|habit| habit.identity.principal_arn.ends_with(arn))
            .map(|habit| habit.identity.clone())
            .unwrap_or_else(|| panic!("{arn}"))
    };
    let bob = identity("user/bob");
    let web = identity("role/web-server");
    let backup = Identity {
        principal_arn: "arn:aws:iam::111122223333:user/backup-svc",
        record: iam_user("backup-svc", "AKIABACKUP"),
    };
    let day = |day: i64, hour: i64, minute: i64| {
        start + Duration::days(day) + Duration::hours(hour) + Duration::minutes(minute)
    };
    let [stolen, persistence, tampering, sharing, recon, exfiltration] = ATTACKS;

    // (attack, who, service, call, when, request parameters), all from a Tor exit with a script.
    let steps: Vec<Step> = vec![
        // Day 9: bob's key, leaked, tried from a Tor exit.
        (
            stolen,
            &bob,
            "sts",
            "GetCallerIdentity",
            day(9, 2, 14),
            Value::Null,
        ),
        (stolen, &bob, "iam", "ListUsers", day(9, 2, 15), Value::Null),
        (
            stolen,
            &bob,
            "iam",
            "GetAccountAuthorizationDetails",
            day(9, 2, 16),
            Value::Null,
        ),
        // Day 9: persistence with the same key.
        (
            persistence,
            &bob,
            "iam",
            "CreateUser",
            day(9, 2, 30),
            json!({"userName": "backup-svc"}),
        ),
        (
            persistence,
            &bob,
            "iam",
            "CreateAccessKey",
            day(9, 2, 31),
            json!({"userName": "backup-svc"}),
        ),
        (
            persistence,
            &bob,
            "iam",
            "AttachUserPolicy",
            day(9, 2, 32),
            json!({"userName": "backup-svc", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        ),
        // Day 10: the new user covers its tracks…
        (
            tampering,
            &backup,
            "cloudtrail",
            "StopLogging",
            day(10, 3, 0),
            json!({"name": "management-events"}),
        ),
        (
            tampering,
            &backup,
            "guardduty",
            "DeleteDetector",
            day(10, 3, 1),
            json!({"detectorId": "12abc34d567e8fa901bc2d34e56789f0"}),
        ),
        // …and shares a snapshot out.
        (
            sharing,
            &backup,
            "ec2",
            "ModifySnapshotAttribute",
            day(10, 3, 20),
            json!({"snapshotId": "snap-0123456789abcdef0", "attributeType": "CREATE_VOLUME_PERMISSION",
                   "createVolumePermission": {"add": {"items": [{"userId": FOREIGN_ACCOUNT}]}}}),
        ),
        // Day 12: the web server's instance credentials, stolen through SSRF, used elsewhere.
        (
            exfiltration,
            &web,
            "sts",
            "GetCallerIdentity",
            day(12, 1, 0),
            Value::Null,
        ),
        (
            exfiltration,
            &web,
            "secretsmanager",
            "GetSecretValue",
            day(12, 1, 2),
            json!({"secretId": "prod/db"}),
        ),
    ];
    for (attack, who, service, name, at, parameters) in steps {
        let address = format!("185.220.101.{}", rng.u8(1..255));
        let mut record = call(
            rng,
            who,
            service,
            name,
            at,
            &address,
            "python-requests/2.32.3",
            "eu-west-1",
        );
        record["requestParameters"] = parameters;
        records.push(Labelled {
            record,
            attack: Some(attack),
        });
    }

    // Day 11: someone on the web server probing what its role may do, from the instance.
    let probes = [
        ("iam", "ListUsers"),
        ("iam", "ListRoles"),
        ("s3", "ListBuckets"),
        ("ec2", "DescribeInstances"),
        ("lambda", "ListFunctions"),
        ("rds", "DescribeDBInstances"),
        ("secretsmanager", "ListSecrets"),
        ("kms", "ListKeys"),
        ("iam", "ListPolicies"),
        ("organizations", "DescribeOrganization"),
        ("ec2", "DescribeSnapshots"),
        ("iam", "GetAccountSummary"),
    ];
    for (number, (service, name)) in probes.iter().enumerate() {
        let at = day(11, 4, 0) + Duration::seconds(number as i64 * 9);
        let mut record = call(
            rng,
            &web,
            service,
            name,
            at,
            "52.210.33.40",
            SDK_RUST,
            "eu-west-1",
        );
        record["errorCode"] = json!(if *service == "ec2" {
            "Client.UnauthorizedOperation"
        } else {
            "AccessDenied"
        });
        record["errorMessage"] = json!("not authorized");
        records.push(Labelled {
            record,
            attack: Some(recon),
        });
    }
}

/// How the engine did on a simulation: per attack, and on benign principal-days.
pub struct Score {
    pub attacks_detected: Vec<(&'static str, bool)>,
    pub attack_events: usize,
    pub attack_events_flagged: usize,
    /// Anomalies of medium or above: on attack events, and on benign ones.
    pub true_alerts: usize,
    pub false_alerts: usize,
    /// Low anomalies on benign events: what `--min-severity medium` hides.
    pub benign_low: usize,
    /// The most medium-or-above false alarms one principal had in one day.
    pub worst_principal_day: usize,
    pub principal_days: usize,
    pub events: usize,
}

impl Score {
    pub fn precision(&self) -> f64 {
        self.true_alerts as f64 / (self.true_alerts + self.false_alerts).max(1) as f64
    }

    pub fn recall(&self) -> f64 {
        let detected = self
            .attacks_detected
            .iter()
            .filter(|(_, detected)| *detected)
            .count();
        detected as f64 / self.attacks_detected.len().max(1) as f64
    }
}

/// Runs the engine over a simulation as `trailwatch scan` does, and scores it.
pub async fn score(simulation: &Simulation, engine: &trailwatch_shared::Engine) -> Score {
    use std::collections::{HashMap, HashSet};
    use trailwatch_shared::Severity;
    use trailwatch_shared::adapters::memory_profiles::MemoryProfileStore;

    let profiles = MemoryProfileStore::default();
    let mut flagged_attacks: HashSet<&str> = HashSet::new();
    let mut false_by_principal_day: HashMap<(String, String), usize> = HashMap::new();
    let mut principal_days: HashSet<(String, String)> = HashSet::new();
    let mut score = Score {
        attacks_detected: Vec::new(),
        attack_events: 0,
        attack_events_flagged: 0,
        true_alerts: 0,
        false_alerts: 0,
        benign_low: 0,
        worst_principal_day: 0,
        principal_days: 0,
        events: simulation.records.len(),
    };
    for labelled in &simulation.records {
        let event = trailwatch_shared::input::parse_event(0, labelled.record.clone())
            .expect("simulated records are valid");
        let anomaly = engine
            .evaluate(&event, &profiles, Utc::now())
            .await
            .expect("the memory store does not fail");
        let severity = anomaly.map(|anomaly| anomaly.severity);
        let alert = severity.is_some_and(|severity| severity >= Severity::Medium);
        let day = event.event_time.date_naive().to_string();
        match labelled.attack {
            Some(attack) => {
                score.attack_events += 1;
                if alert {
                    score.attack_events_flagged += 1;
                    score.true_alerts += 1;
                    flagged_attacks.insert(attack);
                }
            }
            None => {
                principal_days.insert((event.principal.clone(), day.clone()));
                if severity == Some(Severity::Low) {
                    score.benign_low += 1;
                }
                if alert {
                    score.false_alerts += 1;
                    *false_by_principal_day
                        .entry((event.principal.clone(), day))
                        .or_default() += 1;
                }
            }
        }
    }
    score.attacks_detected = ATTACKS
        .iter()
        .map(|attack| (*attack, flagged_attacks.contains(attack)))
        .collect();
    score.worst_principal_day = false_by_principal_day.values().copied().max().unwrap_or(0);
    score.principal_days = principal_days.len();
    score
}
