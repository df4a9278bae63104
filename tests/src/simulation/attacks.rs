//! Attacks inserted into the second week, each with its own principal and timing drawn for
//! the seed, every record labelled with the attack it belongs to. Some announce themselves
//! (a catalog call); others use only ordinary calls, or spread over minutes.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::actors::iam_user;
use super::benign::{BOTO, Generator, Habit};
use super::calls::{Call, Origin, record, shaped};
use super::{ACCOUNT, Labelled};

pub const FOREIGN_ACCOUNT: &str = "999988887777";

/// The attacks the simulation inserts, by name.
pub const ATTACKS: [&str; 12] = [
    "stolen credentials used from a new network",
    "IAM persistence",
    "logging tampering",
    "snapshot shared with another account",
    "reconnaissance with an access-denied burst",
    "instance credentials exfiltrated",
    "quiet credential theft with ordinary reads",
    "slow reconnaissance spread over minutes",
    "privilege escalation through a policy version or trust change",
    "exfiltration by snapshot or object copy",
    "persistence through a Lambda or another user's access key",
    "password spraying at the console",
];

/// The user names a sprayer tries: guessed, or gathered beforehand.
const SPRAYED_NAMES: [&str; 10] = [
    "admin",
    "devops",
    "backup",
    "jenkins",
    "deploy-user",
    "support",
    "test",
    "ops",
    "finance",
    "marketing",
];

/// What an intruder lists first to learn what a role may do.
const DISCOVERY_CALLS: [(&str, &str); 15] = [
    ("iam", "ListRoles"),
    ("iam", "ListUsers"),
    ("s3", "ListBuckets"),
    ("ec2", "DescribeInstances"),
    ("secretsmanager", "ListSecrets"),
    ("lambda", "ListFunctions"),
    ("rds", "DescribeDBInstances"),
    ("iam", "ListAttachedRolePolicies"),
    ("ec2", "DescribeSnapshots"),
    ("sns", "ListTopics"),
    ("dynamodb", "ListTables"),
    ("kms", "ListKeys"),
    ("ssm", "DescribeParameters"),
    ("ec2", "DescribeVpcs"),
    ("iam", "ListGroups"),
];

const SCRIPT: &str = "python-requests/2.32.3";
const PACU_LIKE: &str =
    "Boto3/1.35.0 md/Botocore#1.35.0 ua/2.0 os/linux#6.6 md/arch#x86_64 lang/python#3.12.6";

impl Generator<'_> {
    fn attack_record(
        &mut self,
        attack: &'static str,
        identity: &Value,
        call: &Call,
        at: DateTime<Utc>,
        origin: &Origin,
    ) {
        let record = record(self.rng, identity, call, at, origin);
        self.out.push(Labelled::new(record, Some(attack)));
    }

    /// A moment in the second week, at any hour (attackers keep no office hours).
    fn attack_time(&mut self, days: i64) -> DateTime<Utc> {
        self.start
            + Duration::days(self.rng.i64(8..days))
            + Duration::seconds(self.rng.i64(0..86_400))
    }

    fn hostile_address(&mut self) -> String {
        let networks = [
            "185.220.101.",
            "45.134.26.",
            "91.219.237.",
            "138.199.59.",
            "5.188.206.",
        ];
        format!(
            "{}{}",
            networks[self.rng.usize(0..networks.len())],
            self.rng.u8(1..255)
        )
    }

    /// Inserts every attack. `users` are the IAM users whose keys may leak, `instance` the
    /// instance role, `workloads` roles whose code may be taken over, `ci` the CI role's habit.
    pub fn attacks(
        &mut self,
        users: &[&Habit],
        instance: &Habit,
        workloads: &[&Habit],
        ci_identity: &Value,
        days: i64,
    ) {
        let [
            stolen,
            persistence,
            tampering,
            sharing,
            recon,
            exfiltration,
            quiet,
            slow,
            escalation,
            copy,
            backdoor,
            spraying,
        ] = ATTACKS;
        let region = instance.regions[0];

        // A user's leaked key, tried from an anonymising network with a script: who am I, who
        // else is here, dump everything; then a user of its own with admin rights, which
        // stops the trail and shares a snapshot out.
        let victim = users[self.rng.usize(0..users.len())];
        let mut at = self.attack_time(days - 1);
        let address = self.hostile_address();
        let origin = Origin {
            source: &address,
            agent: SCRIPT,
            region,
        };
        for name in [
            "GetCallerIdentity",
            "ListUsers",
            "GetAccountAuthorizationDetails",
        ] {
            let service = if name == "GetCallerIdentity" {
                "sts"
            } else {
                "iam"
            };
            at += Duration::seconds(self.rng.i64(20..90));
            self.attack_record(
                stolen,
                &victim.identity,
                &Call::new(service, name),
                at,
                &origin,
            );
        }
        let new_user = ["backup-svc", "support", "svc-monitoring"][self.rng.usize(0..3)];
        at += Duration::minutes(self.rng.i64(5..40));
        for (name, request) in [
            ("CreateUser", json!({"userName": new_user})),
            ("CreateAccessKey", json!({"userName": new_user})),
            (
                "AttachUserPolicy",
                json!({"userName": new_user, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
            ),
        ] {
            at += Duration::seconds(self.rng.i64(10..120));
            self.attack_record(
                persistence,
                &victim.identity,
                &Call::new("iam", name).request(request),
                at,
                &origin,
            );
        }
        let created = iam_user(new_user, "AKIANEWUSER");
        at += Duration::hours(self.rng.i64(1..12));
        let address = self.hostile_address();
        let origin = Origin {
            source: &address,
            agent: SCRIPT,
            region,
        };
        self.attack_record(
            tampering,
            &created,
            &Call::new("cloudtrail", "StopLogging").request(json!({"name": "management-events"})),
            at,
            &origin,
        );
        at += Duration::seconds(self.rng.i64(30..300));
        self.attack_record(
            tampering,
            &created,
            &Call::new("guardduty", "DeleteDetector")
                .request(json!({"detectorId": "12abc34d567e8fa901bc2d34e56789f0"})),
            at,
            &origin,
        );
        at += Duration::minutes(self.rng.i64(5..60));
        self.attack_record(
            sharing,
            &created,
            &Call::new("ec2", "ModifySnapshotAttribute").request(json!({
            "snapshotId": "snap-0123456789abcdef0", "attributeType": "CREATE_VOLUME_PERMISSION",
            "createVolumePermission": {"add": {"items": [{"userId": FOREIGN_ACCOUNT}]}}})),
            at,
            &origin,
        );

        // Someone with a shell on the web server probing what its role may do: a dozen
        // denied calls seconds apart, starting at any second.
        let at = self.attack_time(days);
        let origin_address = self.address(instance);
        let origin = Origin {
            source: &origin_address,
            agent: instance.agents[0],
            region,
        };
        let probes = &DISCOVERY_CALLS[..12];
        let mut when = at;
        for (service, name) in probes {
            when += Duration::seconds(self.rng.i64(3..20));
            self.attack_record(
                recon,
                &instance.identity,
                &Call::new(service, name).denied(),
                when,
                &origin,
            );
        }

        // The web server's instance credentials, stolen through SSRF, used elsewhere.
        let mut at = self.attack_time(days);
        let address = self.hostile_address();
        let origin = Origin {
            source: &address,
            agent: SCRIPT,
            region,
        };
        for (service, name) in [
            ("sts", "GetCallerIdentity"),
            ("secretsmanager", "GetSecretValue"),
        ] {
            at += Duration::seconds(self.rng.i64(30..200));
            let call = shaped(self.rng, service, name, at);
            self.attack_record(exfiltration, &instance.identity, &call, at, &origin);
        }

        // A user's key used quietly: only calls the user makes every day, from a residential
        // network and a client of its own, spread over an hour.
        let victim = users[self.rng.usize(0..users.len())];
        let mut at = self.attack_time(days);
        let address = format!(
            "{}.{}.{}.{}",
            [73, 96, 174][self.rng.usize(0..3)],
            self.rng.u8(1..255),
            self.rng.u8(1..255),
            self.rng.u8(1..255)
        );
        let agent = if victim.agents.contains(&BOTO) {
            "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5"
        } else {
            BOTO
        };
        let origin = Origin {
            source: &address,
            agent,
            region: victim.regions[0],
        };
        for _ in 0..self.rng.usize(4..12) {
            at += Duration::seconds(self.rng.i64(60..600));
            let (service, name) = victim.calls[self.rng.usize(0..victim.calls.len())];
            let call = shaped(self.rng, service, name, at);
            self.attack_record(quiet, &victim.identity, &call, at, &origin);
        }

        // A workload's role, taken over through its code, enumerating slowly: a listing every
        // minute or two for half an hour, some denied, from the workload's own network.
        let workload = workloads[self.rng.usize(0..workloads.len())];
        let mut at = self.attack_time(days);
        let address = self.address(workload);
        let origin = Origin {
            source: &address,
            agent: workload.agents[0],
            region,
        };
        let listings = DISCOVERY_CALLS;
        for (service, name) in listings {
            at += Duration::seconds(self.rng.i64(45..180));
            let mut call = shaped(self.rng, service, name, at);
            if self.rng.u32(0..10) < 6 {
                call = call.denied();
            }
            self.attack_record(slow, &workload.identity, &call, at, &origin);
        }

        // Privilege escalation by the CI role's stolen OIDC-minted session: a new default
        // version of a policy it holds, or a trust policy letting another account in.
        let at = self.attack_time(days);
        let address = self.hostile_address();
        let origin = Origin {
            source: &address,
            agent: PACU_LIKE,
            region: "us-east-1",
        };
        let admin_document = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}).to_string();
        let call = if self.rng.bool() {
            Call::new("iam", "CreatePolicyVersion").request(
                json!({"policyArn": format!("arn:aws:iam::{ACCOUNT}:policy/deploy-permissions"),
                "policyDocument": admin_document, "setAsDefault": true}),
            )
        } else {
            Call::new("iam", "UpdateAssumeRolePolicy").request(json!({"roleName": "deploy", "policyDocument": json!({"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{FOREIGN_ACCOUNT}:root")}, "Action": "sts:AssumeRole"}]}).to_string()}))
        };
        self.attack_record(escalation, ci_identity, &call, at, &origin);

        // Data out by copy: a database snapshot made restorable by another account, or the
        // data lake's objects copied into a bucket the attacker owns.
        let victim = users[self.rng.usize(0..users.len())];
        let mut at = self.attack_time(days);
        let address = self.hostile_address();
        let origin = Origin {
            source: &address,
            agent: BOTO,
            region,
        };
        if self.rng.bool() {
            at += Duration::seconds(self.rng.i64(10..60));
            self.attack_record(copy, &victim.identity, &Call::new("rds", "CreateDBSnapshot")
                .request(json!({"dBSnapshotIdentifier": "orders-copy", "dBInstanceIdentifier": "orders"})), at, &origin);
            at += Duration::minutes(self.rng.i64(5..20));
            self.attack_record(copy, &victim.identity, &Call::new("rds", "ModifyDBSnapshotAttribute")
                .request(json!({"dBSnapshotIdentifier": "orders-copy", "attributeName": "restore", "valuesToAdd": [FOREIGN_ACCOUNT]})), at, &origin);
        } else {
            for number in 0..self.rng.u32(5..20) {
                at += Duration::seconds(self.rng.i64(1..10));
                let call = Call::new("s3", "CopyObject").request(json!({"bucketName": "exfil-drop-7731", "key": format!("dump/{number}.parquet"),
                    "x-amz-copy-source": format!("acme-data-lake/exports/{number}.parquet")}))
                    .resource("arn:aws:s3:::acme-data-lake".to_string())
                    .data_event();
                self.attack_record(copy, &victim.identity, &call, at, &origin);
            }
        }

        // Persistence: a function opened to another account, or an access key minted for
        // another user.
        let victim = users[self.rng.usize(0..users.len())];
        let mut at = self.attack_time(days);
        let address = self.hostile_address();
        let origin = Origin {
            source: &address,
            agent: SCRIPT,
            region,
        };
        if self.rng.bool() {
            at += Duration::seconds(self.rng.i64(10..60));
            self.attack_record(backdoor, &victim.identity, &Call::new("lambda", "CreateFunction").request(json!({
                "functionName": "cache-warmer", "runtime": "python3.12", "role": format!("arn:aws:iam::{ACCOUNT}:role/processor"),
                "handler": "index.handler"})), at, &origin);
            at += Duration::seconds(self.rng.i64(10..60));
            self.attack_record(backdoor, &victim.identity, &Call::new("lambda", "AddPermission").request(json!({
                "functionName": "cache-warmer", "statementId": "x", "action": "lambda:InvokeFunction",
                "principal": FOREIGN_ACCOUNT})), at, &origin);
        } else {
            let other = users
                .iter()
                .find(|user| user.identity["userName"] != victim.identity["userName"])
                .unwrap_or(&victim);
            let target = other.identity["userName"].as_str().unwrap_or("alice");
            self.attack_record(
                backdoor,
                &victim.identity,
                &Call::new("iam", "CreateAccessKey").request(json!({"userName": target})),
                at,
                &origin,
            );
        }

        // Password spraying: one address tries one password on many users' console
        // sign-ins within minutes. Every third name does not exist, which CloudTrail records
        // as HIDDEN_DUE_TO_SECURITY_REASONS.
        let mut at = self.attack_time(days);
        let address = self.hostile_address();
        let first = self.rng.usize(0..SPRAYED_NAMES.len());
        for attempt in 0..self.rng.usize(8..13) {
            at += Duration::seconds(self.rng.i64(5..40));
            let name = SPRAYED_NAMES[(first + attempt) % SPRAYED_NAMES.len()];
            let identity = if attempt % 3 == 2 {
                json!({"type": "IAMUser", "accountId": ACCOUNT, "accessKeyId": "",
                    "userName": "HIDDEN_DUE_TO_SECURITY_REASONS"})
            } else {
                iam_user(name, "")
            };
            let mut login = self.console_login(&identity, at, &address);
            login["responseElements"] = json!({"ConsoleLogin": "Failure"});
            login["errorMessage"] = json!("Failed authentication");
            login["additionalEventData"] = json!({"LoginTo": "https://console.aws.amazon.com/console/home",
                "MobileVersion": "No", "MFAUsed": "No"});
            self.out.push(Labelled::new(login, Some(spraying)));
        }
    }
}
