//! Writes a simulated organization's trail as CloudTrail delivery files, for measuring scans
//! at scale: 50 accounts, each a seed of the simulation (two weeks of its CloudTrail, attacks
//! included); past 50 seeds, the next 50 hold the two weeks before, so more records mean a
//! longer history, not a wider one, and never one in the future (a scan refuses records
//! dated more than a day ahead). Files are laid out as CloudTrail lays them out
//! (`AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_
//! <delivered>_<unique>.json.gz`), one per account, region and five minutes, as CloudTrail delivers them: a quiet
//! account's five minutes hold a few records, so a scan of them opens many small files.
//!
//! Usage: trail-files RECORDS DIR

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, DurationRound, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};
use trailwatch_tests::simulation::{ACCOUNT, simulate};

const ACCOUNTS: u64 = 50;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(records), Some(dir)) = (
        args.next().and_then(|count| count.parse::<usize>().ok()),
        args.next().map(PathBuf::from),
    ) else {
        eprintln!("usage: trail-files RECORDS DIR");
        std::process::exit(2);
    };
    let mut written = 0;
    let mut files = 0;
    let mut bytes = 0;
    for seed in 1.. {
        if written >= records {
            break;
        }
        let account = format!("{:012}", 200_000_000_000 + (seed - 1) % ACCOUNTS);
        let shift = Duration::days(-14 * ((seed - 1) / ACCOUNTS) as i64);
        let mut deliveries: BTreeMap<(String, DateTime<Utc>), Vec<Value>> = BTreeMap::new();
        for labelled in simulate(seed).records {
            if written >= records {
                break;
            }
            let mut record = labelled.record;
            let time = record["eventTime"]
                .as_str()
                .and_then(|text| text.parse::<DateTime<Utc>>().ok())
                .expect("simulated records have times")
                + shift;
            record["eventTime"] = time.format("%Y-%m-%dT%H:%M:%SZ").to_string().into();
            let region = record["awsRegion"]
                .as_str()
                .unwrap_or("us-east-1")
                .to_string();
            let window = time
                .duration_trunc(Duration::minutes(5))
                .expect("five minutes divide a day");
            deliveries.entry((region, window)).or_default().push(record);
            written += 1;
        }
        for ((region, window), records) in deliveries {
            let text = json!({ "Records": records })
                .to_string()
                .replace(ACCOUNT, &account);
            bytes += write_delivery(&dir, &account, &region, window, seed, &text);
            files += 1;
        }
    }
    eprintln!(
        "{written} records in {files} files, {:.1} MiB gzipped, under {}",
        bytes as f64 / (1024.0 * 1024.0),
        dir.display()
    );
}

/// Writes one delivery file, delivered five minutes after its window closes; its size.
fn write_delivery(
    dir: &Path,
    account: &str,
    region: &str,
    window: DateTime<Utc>,
    seed: u64,
    text: &str,
) -> u64 {
    let delivered = window + Duration::minutes(10);
    let folder = dir.join(format!(
        "AWSLogs/{account}/CloudTrail/{region}/{}",
        delivered.format("%Y/%m/%d")
    ));
    std::fs::create_dir_all(&folder).expect("the output directory can be written");
    let name = format!(
        "{account}_CloudTrail_{region}_{}_{seed:04x}{:x}.json.gz",
        delivered.format("%Y%m%dT%H%MZ"),
        window.timestamp() / 300 % 0xffff
    );
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder
        .write_all(text.as_bytes())
        .and_then(|()| encoder.try_finish())
        .expect("gzip in memory");
    let gzipped = encoder.finish().expect("gzip in memory");
    std::fs::write(folder.join(name), &gzipped).expect("the output directory can be written");
    gzipped.len() as u64
}
