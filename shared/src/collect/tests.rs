use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};

use super::*;
use crate::adapters::memory::{MemoryObjectSource, MemoryQueue};
use crate::ports::QueueError;

const BUCKET: &str = "trail-logs";
const KEY: &str = "AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/us-east-1/2026/11/02/111122223333_CloudTrail_us-east-1_20261102T0915Z_a1B2c3D4.json.gz";

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn sample_file() -> Value {
    serde_json::from_str(include_str!("../../../events/cloudtrail-delivery.json")).unwrap()
}

fn object(key: &str) -> ObjectRef {
    ObjectRef {
        bucket: BUCKET.into(),
        key: key.into(),
    }
}

fn queued_ids(queue: &MemoryQueue) -> Vec<String> {
    queue
        .bodies()
        .iter()
        .flat_map(|body| {
            let file: Value = serde_json::from_str(body).unwrap();
            file["Records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|record| record["eventID"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test]
async fn a_delivery_file_becomes_one_packed_message_marked_with_its_origin() {
    let source = MemoryObjectSource::default();
    source.put(BUCKET, KEY, gzip(sample_file().to_string().as_bytes()));
    let queue = MemoryQueue::default();
    let collected = collect_object(&source, &queue, &object(KEY)).await.unwrap();
    assert_eq!(
        collected,
        Collected::Read(ObjectReport {
            records: 6,
            messages: 1,
            rejected: vec![]
        })
    );
    let expected: Vec<String> = sample_file()["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|record| record["eventID"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(queued_ids(&queue), expected);
    let message = &queue.messages()[0];
    assert_eq!(
        message.attributes,
        vec![
            (ORIGIN_ATTRIBUTE, "s3".to_string()),
            (OBJECT_ATTRIBUTE, format!("s3://{BUCKET}/{KEY}")),
        ]
    );
    // The detector reads the packed body as it reads any delivery file.
    let events = input::parse_body(message.body.as_bytes()).unwrap();
    assert!(events.iter().all(|event| event.outcome.is_ok()));
}

#[tokio::test]
async fn a_large_file_is_split_into_full_messages_in_order() {
    let template = sample_file()["Records"][0].clone();
    let records: Vec<Value> = (0..3000)
        .map(|number| {
            let mut record = template.clone();
            record["eventID"] = json!(format!("event-{number:05}"));
            record
        })
        .collect();
    let file = json!({ "Records": records }).to_string();
    let source = MemoryObjectSource::default();
    source.put(BUCKET, KEY, gzip(file.as_bytes()));
    let queue = MemoryQueue::default();
    let Collected::Read(report) = collect_object(&source, &queue, &object(KEY)).await.unwrap()
    else {
        panic!("a log file is read")
    };
    assert_eq!(report.records, 3000);
    let ids = queued_ids(&queue);
    assert_eq!(ids.len(), 3000);
    assert!(
        ids.windows(2).all(|pair| pair[0] < pair[1]),
        "in file order"
    );
    let sizes: Vec<usize> = queue.bodies().iter().map(String::len).collect();
    assert_eq!(report.messages, sizes.len());
    assert!(sizes.iter().all(|size| *size <= MAX_QUEUE_BODY_BYTES));
    // Every message but the last is nearly full: ~1 KiB records, so within a record of it.
    assert!(
        sizes[..sizes.len() - 1]
            .iter()
            .all(|size| *size > MAX_QUEUE_BODY_BYTES - 2048),
        "{sizes:?}"
    );
}

#[tokio::test]
async fn invalid_records_are_rejected_by_index_and_their_neighbours_queued() {
    let mut file = sample_file();
    file["Records"][2]["eventTime"] = json!("yesterday");
    file["Records"][4] = json!("not a record");
    let source = MemoryObjectSource::default();
    source.put(BUCKET, KEY, file.to_string().into_bytes());
    let queue = MemoryQueue::default();
    let Collected::Read(report) = collect_object(&source, &queue, &object(KEY)).await.unwrap()
    else {
        panic!("a log file is read")
    };
    assert_eq!(report.records, 6);
    let rejected: Vec<(usize, &str)> = report
        .rejected
        .iter()
        .map(|problem| (problem.index, problem.field.as_str()))
        .collect();
    assert_eq!(rejected, vec![(2, "eventTime"), (4, "")]);
    assert_eq!(queued_ids(&queue).len(), 4);
}

#[tokio::test]
async fn digests_and_insights_are_skipped_unread() {
    let source = MemoryObjectSource::default();
    let queue = MemoryQueue::default();
    for key in [
        "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/02/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20261102T101500Z.json.gz",
        "AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2026/11/02/x.json.gz",
    ] {
        let collected = collect_object(&source, &queue, &object(key)).await.unwrap();
        assert!(matches!(collected, Collected::Skipped(_)), "{key}");
    }
    assert!(queue.bodies().is_empty());
}

#[tokio::test]
async fn corrupt_and_missing_objects_are_permanent_errors() {
    let source = MemoryObjectSource::default();
    let mut truncated = gzip(sample_file().to_string().as_bytes());
    truncated.truncate(40);
    source.put(BUCKET, KEY, truncated);
    let queue = MemoryQueue::default();
    let error = collect_object(&source, &queue, &object(KEY))
        .await
        .unwrap_err();
    assert!(matches!(error, CollectError::Corrupt { .. }), "{error}");
    assert!(error.is_permanent());
    assert!(error.to_string().contains(KEY), "names the object: {error}");

    let missing = KEY.replace("a1B2c3D4", "gone");
    let error = collect_object(&source, &queue, &object(&missing))
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        CollectError::Open(ObjectError::NotFound(_))
    ));
    assert!(error.is_permanent());
}

struct DownQueue;

impl EventQueue for DownQueue {
    async fn send_batch(
        &self,
        _messages: &[OutgoingMessage],
    ) -> Result<Vec<SendFailure>, QueueError> {
        Err(QueueError::Send("connection refused".into()))
    }
}

#[tokio::test(start_paused = true)]
async fn a_queue_that_refuses_fails_the_object_for_a_retry() {
    let source = MemoryObjectSource::default();
    source.put(BUCKET, KEY, gzip(sample_file().to_string().as_bytes()));
    let error = collect_object(&source, &DownQueue, &object(KEY))
        .await
        .unwrap_err();
    assert!(matches!(error, CollectError::Queue { .. }), "{error}");
    assert!(!error.is_permanent());
}

fn notification(key: &str) -> String {
    json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": BUCKET, "arn": format!("arn:aws:s3:::{BUCKET}")},
               "object": {"key": key, "size": 100}}}]})
    .to_string()
}

fn incoming(id: &str, body: &str) -> crate::detect::IncomingMessage {
    crate::detect::IncomingMessage {
        message_id: id.into(),
        body: Some(body.into()),
        origin: None,
        caller: None,
    }
}

#[tokio::test]
async fn a_batch_reads_what_it_can_and_dead_letters_what_never_will_read() {
    let source = MemoryObjectSource::default();
    source.put(BUCKET, KEY, gzip(sample_file().to_string().as_bytes()));
    let corrupt_key = KEY.replace("a1B2c3D4", "corrupt");
    source.put(BUCKET, &corrupt_key, b"\x1f\x8b\x08garbage".to_vec());
    let digest_key = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/02/d.json.gz";
    let events = MemoryQueue::default();
    let dead_letters = MemoryQueue::default();
    let collector = Collector {
        objects: &source,
        events: &events,
        dead_letters: &dead_letters,
    };
    let report = process_batch(
        &collector,
        &[
            incoming("good", &notification(KEY)),
            incoming("corrupt", &notification(&corrupt_key)),
            incoming("digest", &notification(digest_key)),
            incoming("test", r#"{"Service":"Amazon S3","Event":"s3:TestEvent"}"#),
            incoming("garbage", "not json"),
        ],
        None,
    )
    .await;
    assert_eq!(
        report,
        CollectReport {
            objects_read: 1,
            objects_skipped: 1,
            records: 6,
            messages: 1,
            records_rejected: 0,
            dead_lettered: 2,
            failed_message_ids: vec![],
        }
    );
    assert_eq!(queued_ids(&events).len(), 6);
    let dead = dead_letters.messages();
    assert_eq!(dead[0].body, notification(&corrupt_key));
    assert_eq!(dead[0].attributes[0].0, ERROR_ATTRIBUTE);
    assert!(
        dead[0].attributes[0].1.contains(&corrupt_key),
        "{:?}",
        dead[0]
    );
    assert!(dead[1].attributes[0].1.contains("not valid JSON"));
}

#[tokio::test(start_paused = true)]
async fn an_object_that_may_read_later_fails_its_notification_alone() {
    let source = MemoryObjectSource::default();
    source.put(BUCKET, KEY, gzip(sample_file().to_string().as_bytes()));
    let dead_letters = MemoryQueue::default();
    let collector = Collector {
        objects: &source,
        events: &DownQueue,
        dead_letters: &dead_letters,
    };
    let report = process_batch(&collector, &[incoming("m1", &notification(KEY))], None).await;
    assert_eq!(report.failed_message_ids, vec!["m1".to_string()]);
    assert!(dead_letters.messages().is_empty());
}

#[test]
fn a_gzip_bomb_is_refused_as_corrupt_once_past_the_decompressed_limit() {
    // A record whose one string is members of 64 KiB each, which the streaming reader
    // would otherwise hold whole; the limit is 256 MiB, scaled down here to 1 MiB.
    let mut bomb = gzip(br#"{"Records": [{"eventID": ""#);
    bomb.extend(gzip(&vec![b'a'; 64 * 1024]).repeat(20));
    let error =
        delivery::read_records_within(bomb.as_slice(), 1024 * 1024, |_| Ok(())).unwrap_err();
    assert!(
        matches!(&error, delivery::DeliveryFileError::Corrupt(reason) if reason.contains("more than 1 MiB")),
        "{error}"
    );
    assert_eq!(delivery::MAX_DECOMPRESSED_BYTES, 256 * 1024 * 1024);
}
