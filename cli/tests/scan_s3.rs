//! `trailwatch scan s3://…` against the local endpoint: delivery files put into a bucket as a
//! trail lays them out are read straight from S3; dates, accounts and regions choose what is
//! listed; local files mix in.

use std::io::Write;
use std::process::{Command, Output};

use aws_sdk_s3::primitives::ByteStream;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};
use trailwatch_tests::harness::local_endpoint;

const DELIVERY: &str = include_str!("../../events/cloudtrail-delivery.json");

fn gzip(text: &str) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

fn scan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .arg("scan")
        .arg("--format")
        .arg("jsonl")
        .args(args)
        .output()
        .expect("trailwatch runs")
}

fn event_ids(output: &Output) -> Vec<String> {
    let mut ids: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let anomaly: Value = serde_json::from_str(line).expect("one JSON object a line");
            anomaly["event_id"].as_str().unwrap().to_string()
        })
        .collect();
    ids.sort();
    ids
}

/// The sample file's records moved to another account, region and day, with fresh ids.
fn shifted(account: &str, region: &str, day: &str, tag: &str) -> String {
    let mut file: Value = serde_json::from_str(DELIVERY).unwrap();
    for record in file["Records"].as_array_mut().unwrap() {
        let time = record["eventTime"]
            .as_str()
            .unwrap()
            .replace("2026-11-02", day);
        let id = record["eventID"].as_str().unwrap().replace("5b0c1e0a", tag);
        record["eventTime"] = json!(time);
        record["eventID"] = json!(id);
        record["awsRegion"] = json!(region);
        record["recipientAccountId"] = json!(account);
    }
    file.to_string()
}

/// A delivery file with 4 MiB of hexadecimal noise beside its records.
fn padded(file: &str) -> String {
    let mut file: Value = serde_json::from_str(file).unwrap();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: String = (0..4 * 1024 * 1024)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            char::from_digit(((state >> 60) & 0xf) as u32, 16).unwrap()
        })
        .collect();
    file["padding"] = json!(noise);
    file.to_string()
}

#[tokio::test]
async fn a_trail_bucket_is_scanned_by_date_account_and_region() {
    let Some(config) = local_endpoint("scan_s3").await else {
        return;
    };
    let s3 = aws_sdk_s3::Client::new(&config);
    let bucket = format!("tw-scan-{}", std::process::id());
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("CreateBucket");
    let objects = [
        // An organization trail under a key prefix: two accounts, two regions, two days.
        (
            "org/AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/us-east-1/2026/11/02/111122223333_CloudTrail_us-east-1_20261102T0915Z_a.json.gz",
            shifted("111122223333", "us-east-1", "2026-11-02", "aaaaaaaa"),
        ),
        // Megabytes that do not compress: the body arrives over many reads after the
        // response's headers (a scan once waited forever for them).
        (
            "org/AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/eu-west-1/2026/11/02/111122223333_CloudTrail_eu-west-1_20261102T0915Z_b.json.gz",
            padded(&shifted(
                "111122223333",
                "eu-west-1",
                "2026-11-02",
                "bbbbbbbb",
            )),
        ),
        (
            "org/AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail/us-east-1/2026/11/02/444455556666_CloudTrail_us-east-1_20261102T0915Z_c.json.gz",
            shifted("444455556666", "us-east-1", "2026-11-02", "cccccccc"),
        ),
        (
            "org/AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/us-east-1/2026/10/20/111122223333_CloudTrail_us-east-1_20261020T0915Z_d.json.gz",
            shifted("111122223333", "us-east-1", "2026-10-20", "dddddddd"),
        ),
        // Not log files: never read.
        (
            "org/AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail-Digest/us-east-1/2026/11/02/digest.json.gz",
            "{\"not\": \"records\"}".to_string(),
        ),
    ];
    for (key, text) in &objects {
        s3.put_object()
            .bucket(&bucket)
            .key(*key)
            .body(ByteStream::from(gzip(text)))
            .send()
            .await
            .expect("PutObject");
    }
    let address = format!("s3://{bucket}/org/");
    // StopLogging (…0005) and the root login (…0002) are anomalies in every copy.
    let anomalies = |tag: &str| {
        vec![
            format!("{tag}-1111-4e6f-8a9b-000000000002"),
            format!("{tag}-1111-4e6f-8a9b-000000000005"),
        ]
    };

    let everything = scan(&[&address]);
    assert!(everything.status.success(), "{everything:?}");
    let mut all: Vec<String> = ["aaaaaaaa", "bbbbbbbb", "cccccccc", "dddddddd"]
        .iter()
        .flat_map(|tag| anomalies(tag))
        .collect();
    all.sort();
    assert_eq!(event_ids(&everything), all);
    let summary = String::from_utf8_lossy(&everything.stderr);
    assert!(
        summary.contains("from 4 files"),
        "the digest is not read: {summary}"
    );

    let one_day = scan(&[
        &address,
        "--since",
        "2026-11-02",
        "--until",
        "2026-11-02",
        "--account",
        "111122223333",
        "--region",
        "us-east-1",
    ]);
    assert!(one_day.status.success(), "{one_day:?}");
    assert_eq!(event_ids(&one_day), anomalies("aaaaaaaa"));
    let summary = String::from_utf8_lossy(&one_day.stderr);
    assert!(
        summary.contains("from 1 file"),
        "only that day's prefix: {summary}"
    );

    // A local file and a region's prefix, mixed.
    let dir = std::env::temp_dir().join(format!("tw-scan-s3-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let local = dir.join("local.json");
    std::fs::write(
        &local,
        shifted("777788889999", "us-west-2", "2026-11-03", "eeeeeeee"),
    )
    .unwrap();
    let mixed = scan(&[
        local.to_str().unwrap(),
        &format!("s3://{bucket}/org/AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail/us-east-1/"),
    ]);
    assert!(mixed.status.success(), "{mixed:?}");
    let mut expected = [anomalies("cccccccc"), anomalies("eeeeeeee")].concat();
    expected.sort();
    assert_eq!(event_ids(&mixed), expected);

    let missing = scan(&[&format!("s3://{bucket}-missing/")]);
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("missing"),
        "the error names the bucket: {missing:?}"
    );
}
