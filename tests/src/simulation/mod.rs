//! A seeded simulation of one AWS account's CloudTrail for two weeks: people (IAM users,
//! Identity Center and SAML sessions), a CI role on hosted runners, workloads, AWS services
//! acting on their own, errors at realistic rates, near-misses of the rules and legitimate
//! surprises, with attacks inserted in the second week. Seeds differ in structure (how many
//! people, which regions, which application is misconfigured, which surprises, which
//! principals the attacks take over), not only in timing. Every record is labelled with the
//! attack it belongs to, if any, so detection can be scored per event and per attack.

mod actors;
mod attacks;
mod benign;
mod calls;
mod changes;
mod score;

use chrono::{TimeZone, Utc};
use fastrand::Rng;
use serde_json::Value;

pub use attacks::ATTACKS;
pub use score::{CaseScore, Figure, Figures, Outcome, Score, evaluate, evaluate_cases};

pub const ACCOUNT: &str = "111122223333";

/// One simulated record and the attack it belongs to.
pub struct Labelled {
    pub record: Value,
    pub attack: Option<&'static str>,
    /// A benign call on a rule's own API with benign parameters: no rule may fire on it.
    pub near_miss: bool,
    /// Part of a legitimate surprise (a user onboarded, a release-day burst…), which may
    /// alert; everything else benign is the account's routine.
    pub surprise: bool,
}

impl Labelled {
    /// A record of the routine, or of an attack.
    pub fn new(record: Value, attack: Option<&'static str>) -> Labelled {
        Labelled {
            record,
            attack,
            near_miss: false,
            surprise: false,
        }
    }
}

pub struct Simulation {
    pub records: Vec<Labelled>,
    pub days: i64,
}

/// Where the simulated account lives.
pub struct Account {
    pub home_region: &'static str,
    pub second_region: &'static str,
}

/// Two weeks of the account, attacks included, in event-time order.
pub fn simulate(seed: u64) -> Simulation {
    let mut rng = Rng::with_seed(seed);
    let start = Utc.with_ymd_and_hms(2026, 10, 5, 0, 0, 0).unwrap();
    let days = 14;
    let regions = ["eu-west-1", "us-east-1", "ap-southeast-2"];
    let home = regions[rng.usize(0..regions.len())];
    let second = ["us-west-2", "eu-central-1"][rng.usize(0..2)];
    let account = Account {
        home_region: home,
        second_region: second,
    };
    let habits = benign::habits(&mut rng, &account);
    // GitHub's hosted runners call from many Azure networks; each run from one of them.
    let runners = rng.usize(20..60);
    let runner_networks = benign::prefixes(&mut rng, runners, &[4, 13, 20, 40, 52]);
    let misdelivered_logs = rng.bool();
    let mut records = Vec::new();
    {
        let mut generator = benign::Generator {
            rng: &mut rng,
            out: &mut records,
            start,
        };
        for habit in &habits {
            generator.routine(habit, days);
        }
        generator.ci(days, &runner_networks, home);
        generator.services(days, &[home, second, "us-east-1"], misdelivered_logs);
        let person = |habit: &&benign::Habit| habit.kind == benign::Kind::Person;
        let people: Vec<&benign::Habit> = habits.iter().filter(person).collect();
        let admin = habits
            .iter()
            .find(|habit| {
                habit.identity["arn"]
                    .as_str()
                    .is_some_and(|arn| arn.contains("AWSReservedSSO_AdministratorAccess"))
            })
            .expect("every account has an Identity Center administrator");
        let workloads: Vec<&benign::Habit> = habits
            .iter()
            .filter(|habit| habit.kind == benign::Kind::Workload)
            .collect();
        let users: Vec<&benign::Habit> = habits
            .iter()
            .filter(|habit| habit.identity["type"] == "IAMUser")
            .collect();
        generator.near_misses(admin, users[0], workloads[0], days);
        generator.surprises(&people, &workloads, &runner_networks, days);
        let ci = actors::ci_session("deploy", 7777);
        generator.attacks(&users, workloads[0], &workloads, &ci, days);
    }
    records.sort_by(|a, b| {
        a.record["eventTime"]
            .as_str()
            .cmp(&b.record["eventTime"].as_str())
    });
    Simulation { records, days }
}
