//! The engine's throughput on real CloudTrail records: parse + normalise + rules + baselines
//! with in-memory state, one event at a time, as the detector and `scan` run it.

use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value;
use trailwatch_shared::adapters::memory_profiles::MemoryProfileStore;
use trailwatch_shared::input::parse_event;
use trailwatch_shared::sigma::SigmaRules;
use trailwatch_shared::{Engine, input};

/// Every record of the reference data, serialised one per message as the queue holds them,
/// spread over a few principals and days so baselines see repeats as well as news.
fn messages() -> Vec<String> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/traildiscover/events");
    let mut records = Vec::new();
    for service in std::fs::read_dir(&dir).expect("../shared/data beside the repo") {
        for file in std::fs::read_dir(service.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            if path.to_string_lossy().ends_with(".json.cloudtrail")
                && let Ok(Value::Array(found)) =
                    serde_json::from_slice::<Value>(&std::fs::read(&path).unwrap())
            {
                records.extend(found);
            }
        }
    }
    let mut messages = Vec::new();
    for copy in 0..25 {
        for (number, record) in records.iter().enumerate() {
            let mut record = record.clone();
            record["eventID"] = format!("{copy}-{number}").into();
            record["eventTime"] = format!(
                "2026-11-{:02}T{:02}:{:02}:00Z",
                1 + copy % 28,
                number % 24,
                copy % 60
            )
            .into();
            if let Some(identity) = record
                .get_mut("userIdentity")
                .and_then(Value::as_object_mut)
            {
                identity.insert(
                    "arn".into(),
                    format!("arn:aws:iam::111111111111:user/user-{}", number % 7).into(),
                );
            }
            messages.push(record.to_string());
        }
    }
    messages
}

/// Parses every message and runs the whole engine over it; the number of anomalies.
async fn evaluate_all(
    engine: &Engine,
    profiles: &MemoryProfileStore,
    messages: &[String],
) -> usize {
    let now = chrono::Utc::now();
    let mut anomalies = 0;
    for message in messages {
        for parsed in input::parse_body(message.as_bytes()).unwrap() {
            let event = parsed.outcome.unwrap();
            anomalies += usize::from(
                engine
                    .evaluate(&event, profiles, now)
                    .await
                    .unwrap()
                    .is_some(),
            );
        }
    }
    anomalies
}

fn engine_throughput(c: &mut Criterion) {
    let messages = messages();
    let engine = Engine::default();
    let profiles = MemoryProfileStore::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let now = chrono::Utc::now();

    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(messages.len() as u64));
    group.sample_size(20);
    group.bench_function("parse + rules", |bench| {
        bench.iter(|| {
            let mut anomalies = 0;
            for message in &messages {
                let value = serde_json::from_str(message).unwrap();
                let event = parse_event(0, value).unwrap();
                anomalies += usize::from(engine.evaluate_rules(&event, now).is_some());
            }
            anomalies
        })
    });
    group.bench_function("parse + rules + baselines", |bench| {
        bench.iter(|| runtime.block_on(evaluate_all(&engine, &profiles, &messages)))
    });
    let sigma_dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/sigma-aws-cloudtrail");
    let with_sigma = Engine::default().with_sigma(SigmaRules::load_dir(&sigma_dir).unwrap().rules);
    let sigma_profiles = MemoryProfileStore::default();
    group.bench_function("parse + rules + baselines + 57 Sigma rules", |bench| {
        bench.iter(|| runtime.block_on(evaluate_all(&with_sigma, &sigma_profiles, &messages)))
    });
    group.finish();
}

/// What reading the embedded rule files adds to a cold start (the detector's init, `scan`).
fn catalog_startup(c: &mut Criterion) {
    use trailwatch_shared::rules::catalog::{Source, parse_built_in};
    let count = parse_built_in(Source::Json).len();
    c.bench_function(&format!("read the {count} built-in rules"), |bench| {
        bench.iter(|| parse_built_in(Source::Json))
    });
    c.bench_function(
        &format!("read the {count} built-in rule files with their cases (YAML)"),
        |bench| bench.iter(|| parse_built_in(Source::Yaml)),
    );
}

criterion_group!(benches, engine_throughput, catalog_startup);
criterion_main!(benches);
