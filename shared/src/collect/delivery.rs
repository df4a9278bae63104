//! Reads a CloudTrail delivery file (`{"Records": [...]}`, gzipped or not) as a stream: one
//! record at a time goes to the caller, so memory holds one record, not the file.

use std::io::{BufRead, BufReader, Read};

use flate2::read::MultiGzDecoder;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryFileError {
    /// Not gzip, not JSON, or not a delivery file: reading it again will not help.
    #[error("not a readable CloudTrail delivery file: {0}")]
    Corrupt(String),
    /// The caller asked to stop.
    #[error("stopped: {0}")]
    Stopped(String),
}

/// The most a gzipped file may decompress to. CloudTrail's files are far smaller; past this
/// a file is a gzip bomb (or not CloudTrail's), and reading on would only burn time and
/// memory.
pub const MAX_DECOMPRESSED_BYTES: u64 = 256 * 1024 * 1024;

/// A reader that fails once more than `limit` bytes have come through it.
pub struct Bounded<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R: Read> Bounded<R> {
    pub fn new(inner: R, limit: u64) -> Self {
        Self {
            inner,
            left: limit,
            limit,
        }
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        match self.left.checked_sub(read as u64) {
            Some(left) => {
                self.left = left;
                Ok(read)
            }
            None => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "decompresses to more than {} (a gzip bomb?)",
                    mebibytes(self.limit)
                ),
            )),
        }
    }
}

fn mebibytes(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{} MiB", bytes / (1024 * 1024))
    } else {
        format!("{bytes} bytes")
    }
}

/// Calls `on_record` with each record of the file, in order; returns how many there were.
/// gzip is recognised by its magic bytes, so `.json` and `.json.gz` both read.
pub fn read_records<R: Read>(
    reader: R,
    on_record: impl FnMut(Value) -> Result<(), String>,
) -> Result<usize, DeliveryFileError> {
    read_records_within(reader, MAX_DECOMPRESSED_BYTES, on_record)
}

/// [`read_records`], with a gzipped file allowed to decompress to at most `limit` bytes.
pub fn read_records_within<R: Read>(
    reader: R,
    limit: u64,
    on_record: impl FnMut(Value) -> Result<(), String>,
) -> Result<usize, DeliveryFileError> {
    let mut buffered = BufReader::with_capacity(64 * 1024, reader);
    let head = buffered
        .fill_buf()
        .map_err(|error| DeliveryFileError::Corrupt(error.to_string()))?;
    let gzipped = head.starts_with(&[0x1f, 0x8b]);
    let source: Box<dyn Read> = if gzipped {
        Box::new(BufReader::with_capacity(
            64 * 1024,
            Bounded::new(MultiGzDecoder::new(buffered), limit),
        ))
    } else {
        Box::new(buffered)
    };
    let mut stopped = None;
    let mut deserializer = serde_json::Deserializer::from_reader(source);
    let seed = DeliveryFile {
        on_record,
        count: 0,
        stopped: &mut stopped,
    };
    let result = seed.deserialize(&mut deserializer).and_then(|count| {
        deserializer.end()?;
        Ok(count)
    });
    match (result, stopped) {
        (_, Some(reason)) => Err(DeliveryFileError::Stopped(reason)),
        (Ok(count), None) => Ok(count),
        (Err(error), None) => Err(DeliveryFileError::Corrupt(error.to_string())),
    }
}

struct DeliveryFile<'s, F> {
    on_record: F,
    count: usize,
    stopped: &'s mut Option<String>,
}

impl<'de, F: FnMut(Value) -> Result<(), String>> DeserializeSeed<'de> for DeliveryFile<'_, F> {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, F: FnMut(Value) -> Result<(), String>> Visitor<'de> for DeliveryFile<'_, F> {
    type Value = usize;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str(r#"a CloudTrail delivery file, {"Records": [...]}"#)
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<usize, A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "Records" {
                found = true;
                map.next_value_seed(Records { file: &mut self })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        if !found {
            return Err(serde::de::Error::missing_field("Records"));
        }
        Ok(self.count)
    }
}

struct Records<'a, 's, F> {
    file: &'a mut DeliveryFile<'s, F>,
}

impl<'de, F: FnMut(Value) -> Result<(), String>> DeserializeSeed<'de> for Records<'_, '_, F> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(Value) -> Result<(), String>> Visitor<'de> for Records<'_, '_, F> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("an array of CloudTrail records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(record) = seq.next_element::<Value>()? {
            self.file.count += 1;
            if let Err(reason) = (self.file.on_record)(record) {
                *self.file.stopped = Some(reason.clone());
                return Err(serde::de::Error::custom(reason));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn records_stream_out_of_plain_and_gzipped_files() {
        let file = br#"{"Records":[{"eventID":"a"},{"eventID":"b"}],"other":1}"#;
        for bytes in [file.to_vec(), gzip(file)] {
            let mut ids = Vec::new();
            let count = read_records(bytes.as_slice(), |record| {
                ids.push(record["eventID"].as_str().unwrap().to_string());
                Ok(())
            })
            .unwrap();
            assert_eq!((count, ids), (2, vec!["a".to_string(), "b".to_string()]));
        }
    }

    #[test]
    fn corrupt_files_and_other_json_are_named_as_such() {
        let mut truncated = gzip(br#"{"Records":[{"eventID":"a"},{"eventID":"b"}]}"#);
        truncated.truncate(truncated.len() / 2);
        for bytes in [
            truncated,
            b"\x1f\x8bnot gzip at all".to_vec(),
            b"[1, 2]".to_vec(),
            br#"{"records": []}"#.to_vec(),
            b"".to_vec(),
        ] {
            let result = read_records(bytes.as_slice(), |_| Ok(()));
            assert!(
                matches!(result, Err(DeliveryFileError::Corrupt(_))),
                "{result:?}"
            );
        }
    }

    #[test]
    fn the_caller_can_stop_the_stream() {
        let file = br#"{"Records":[{"eventID":"a"},{"eventID":"b"}]}"#;
        let result = read_records(file.as_slice(), |_| Err("queue closed".into()));
        assert_eq!(
            result,
            Err(DeliveryFileError::Stopped("queue closed".into()))
        );
    }
}
