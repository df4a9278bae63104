//! Reads a CloudTrail delivery file (`{"Records": [...]}`, gzipped or not), or any file a
//! scan takes, as a stream: one record at a time goes to the caller, so memory holds one
//! record, not the file.

use std::io::{BufRead, BufReader, Read};

use flate2::read::MultiGzDecoder;
use serde::de::IgnoredAny;
use serde_json::Value;

use super::split::{SplitError, Splitter};

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
    mut on_record: impl FnMut(Value) -> Result<(), String>,
) -> Result<usize, DeliveryFileError> {
    let mut source = decompressed(reader, limit)?;
    read_document(
        &mut source,
        Shape::DeliveryFile,
        Records::Parsed,
        &mut |item| item.and_then(RawRecord::parse).and_then(&mut on_record),
    )
}

/// A line of JSON lines longer than this is refused.
pub const MAX_LINE_BYTES: u64 = 16 * 1024 * 1024;
/// A first line longer than this is read as the start of a document, as a stream; shorter,
/// it is read whole to tell JSON lines from one document.
const FIRST_LINE_BYTES: u64 = 1024 * 1024;

/// Any file a scan may be given, as a stream of records: a delivery file, an array of
/// records (or of delivery files), one record or event, or JSON lines of any of these.
/// `on_item` gets each record in order, or, for a JSON line that is not JSON, why; returns
/// how many items there were. Memory holds one record (or one line), not the file.
pub fn read_any_records<R: Read>(
    reader: R,
    limit: u64,
    mut on_item: impl FnMut(Result<Value, String>) -> Result<(), String>,
) -> Result<usize, DeliveryFileError> {
    read_any(reader, limit, Records::Parsed, &mut |item| {
        on_item(item.and_then(RawRecord::parse))
    })
}

/// [`read_any_records`], giving each record of a `Records` array as its text, checked for
/// UTF-8 but not yet parsed: a caller that holds records a while holds them compactly and
/// parses each when it wants it (a JSON error is then that record's, not the file's).
/// Records read any other way come parsed.
pub fn read_any_raw_records<R: Read>(
    reader: R,
    limit: u64,
    mut on_item: impl FnMut(Result<RawRecord<'_>, String>) -> Result<(), String>,
) -> Result<usize, DeliveryFileError> {
    read_any(reader, limit, Records::Text, &mut on_item)
}

/// A record as read.
#[derive(Debug)]
pub enum RawRecord<'t> {
    /// An element of a `Records` array, as text.
    Text(&'t str),
    /// A record that reading had to parse (one object, an element of a plain array).
    Parsed(Value),
}

impl RawRecord<'_> {
    pub fn parse(self) -> Result<Value, String> {
        match self {
            RawRecord::Text(text) => serde_json::from_str(text).map_err(|error| error.to_string()),
            RawRecord::Parsed(value) => Ok(value),
        }
    }
}

/// How a `Records` array's elements are given.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Records {
    Parsed,
    Text,
}

fn read_any<R: Read>(
    reader: R,
    limit: u64,
    records: Records,
    on_item: &mut OnItem<'_>,
) -> Result<usize, DeliveryFileError> {
    let corrupt = |error: std::io::Error| DeliveryFileError::Corrupt(error.to_string());
    let mut source = decompressed(reader, limit)?;
    let mut first = Vec::new();
    (&mut source)
        .take(FIRST_LINE_BYTES)
        .read_until(b'\n', &mut first)
        .map_err(corrupt)?;
    let (only_line, blank_lines) = at_end(&mut source).map_err(corrupt)?;
    if only_line {
        return read_document(&mut first.as_slice(), Shape::Any, records, on_item);
    }
    let first_is_whole = first.len() < FIRST_LINE_BYTES as usize
        && serde_json::from_slice::<IgnoredAny>(&first).is_ok();
    if !first_is_whole {
        // One document over many lines, or one long line (then perhaps more documents after
        // it): read as a stream.
        return read_document(&mut first.chain(source), Shape::Any, records, on_item);
    }
    let mut count = 0;
    let mut line = first;
    let mut number = 1;
    // The blank lines at_end passed are not read again.
    let mut next_number = 2 + blank_lines;
    loop {
        if !line.iter().all(u8::is_ascii_whitespace) {
            count += match read_document(&mut line.as_slice(), Shape::Any, records, on_item) {
                Ok(count) => count,
                Err(DeliveryFileError::Corrupt(reason)) => {
                    on_item(Err(format!("line {number}: {reason}")))
                        .map_err(DeliveryFileError::Stopped)?;
                    1
                }
                Err(stopped) => return Err(stopped),
            };
        }
        line.clear();
        let read = (&mut source)
            .take(MAX_LINE_BYTES)
            .read_until(b'\n', &mut line)
            .map_err(corrupt)?;
        if read == 0 {
            break;
        }
        number = next_number;
        next_number += 1;
        if line.len() == MAX_LINE_BYTES as usize && line.last() != Some(&b'\n') {
            source.skip_until(b'\n').map_err(corrupt)?;
            line.clear();
            on_item(Err(format!(
                "line {number}: longer than {}",
                mebibytes(MAX_LINE_BYTES)
            )))
            .map_err(DeliveryFileError::Stopped)?;
            count += 1;
        }
    }
    Ok(count)
}

/// The file's bytes, gunzipped (and bounded by `limit`) when they start with gzip's magic.
pub fn decompressed<'r, R: Read + 'r>(
    reader: R,
    limit: u64,
) -> Result<Box<dyn BufRead + 'r>, DeliveryFileError> {
    let mut buffered = BufReader::with_capacity(64 * 1024, reader);
    let head = buffered
        .fill_buf()
        .map_err(|error| DeliveryFileError::Corrupt(error.to_string()))?;
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(BufReader::with_capacity(
            64 * 1024,
            Bounded::new(MultiGzDecoder::new(buffered), limit),
        ))
    } else {
        Box::new(buffered)
    })
}

/// Consumes whitespace: whether nothing else is left, and how many line ends it passed.
fn at_end(source: &mut dyn BufRead) -> std::io::Result<(bool, usize)> {
    let mut lines = 0;
    loop {
        let buffer = source.fill_buf()?;
        if buffer.is_empty() {
            return Ok((true, lines));
        }
        let blank = buffer
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
        lines += buffer[..blank].iter().filter(|b| **b == b'\n').count();
        let all_blank = blank == buffer.len();
        source.consume(blank);
        if !all_blank {
            return Ok((false, lines));
        }
    }
}

/// Which documents a reader takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Only `{"Records": [...]}`.
    DeliveryFile,
    /// A delivery file, an array, or any other object (one record).
    Any,
}

type OnItem<'f> = dyn FnMut(Result<RawRecord<'_>, String>) -> Result<(), String> + 'f;

/// Reads one JSON document, giving its records to `on_item` as they are read.
fn read_document(
    source: &mut dyn BufRead,
    shape: Shape,
    records: Records,
    on_item: &mut OnItem<'_>,
) -> Result<usize, DeliveryFileError> {
    let mut split = Splitter::new(source);
    let mut document = Document {
        on_item,
        records,
        count: 0,
        bytes: Vec::new(),
    };
    let read = match (split.next_token(), shape) {
        (Ok(Some(b'{')), _) => document.object(&mut split, shape),
        (Ok(Some(b'[')), Shape::Any) => document.array(&mut split),
        (Ok(found), Shape::Any) => Err(split.unexpected(found, b"{[").into()),
        (Ok(found), Shape::DeliveryFile) => Err(split.unexpected(found, b"{").into()),
        (Err(error), _) => Err(error.into()),
    };
    let ended = read.and_then(|()| {
        loop {
            match (split.next_token()?, shape) {
                (None, _) => return Ok(()),
                // Documents one after another (JSON lines with a long first line).
                (Some(b'{'), Shape::Any) => document.object(&mut split, shape)?,
                (Some(b'['), Shape::Any) => document.array(&mut split)?,
                (found, _) => return Err(split.unexpected(found, b"").into()),
            }
        }
    });
    match ended {
        Ok(()) => Ok(document.count),
        Err(Split::Stopped(reason)) => Err(DeliveryFileError::Stopped(reason)),
        Err(Split::Io(error)) => Err(DeliveryFileError::Corrupt(error.to_string())),
        Err(Split::Syntax(reason)) => {
            Err(DeliveryFileError::Corrupt(format!("not JSON: {reason}")))
        }
    }
}

/// Why a document's reading ended early.
enum Split {
    Io(std::io::Error),
    Syntax(String),
    /// The caller asked to stop.
    Stopped(String),
}

impl From<SplitError> for Split {
    fn from(error: SplitError) -> Self {
        match error {
            SplitError::Io(error) => Split::Io(error),
            SplitError::Syntax(reason) => Split::Syntax(reason),
        }
    }
}

struct Document<'a, 'f> {
    on_item: &'a mut OnItem<'f>,
    records: Records,
    count: usize,
    /// The value being read, reused from one to the next.
    bytes: Vec<u8>,
}

impl Document<'_, '_> {
    fn give(&mut self, record: Value) -> Result<(), Split> {
        self.count += 1;
        (self.on_item)(Ok(RawRecord::Parsed(record))).map_err(Split::Stopped)
    }

    /// The record just copied into `bytes`, given as its text or parsed.
    fn give_record(&mut self) -> Result<(), Split> {
        if self.records == Records::Parsed {
            let value = self.parsed()?;
            return self.give(value);
        }
        let text =
            crate::input::utf8(&self.bytes, "record").map_err(|reason| self.syntax(reason))?;
        self.count += 1;
        (self.on_item)(Ok(RawRecord::Text(text))).map_err(Split::Stopped)
    }

    /// The value just copied into `bytes`, parsed.
    fn parsed(&self) -> Result<Value, Split> {
        crate::input::parse_json(&self.bytes, "record").map_err(|reason| self.syntax(reason))
    }

    /// Why the record just copied into `bytes` cannot be read, naming it.
    fn syntax(&self, reason: String) -> Split {
        Split::Syntax(format!("record {}: {reason}", self.count))
    }

    /// `{"Records": [...]}` gives its records; any other object (when `shape` allows) is one
    /// record.
    fn object(&mut self, split: &mut Splitter, shape: Shape) -> Result<(), Split> {
        let mut streamed = false;
        let mut fields = serde_json::Map::new();
        let mut token = split.expect(b"\"}")?;
        while token == b'"' {
            split.value(b'"', &mut self.bytes)?;
            let key: String = serde_json::from_slice(&self.bytes)
                .map_err(|error| Split::Syntax(format!("a key: {error}")))?;
            split.expect(b":")?;
            let first = split
                .next_token()?
                .ok_or_else(|| split.unexpected(None, b"{[\""))?;
            if key == "Records" && first == b'[' && !streamed {
                streamed = true;
                self.elements(split, Self::give_record)?;
            } else {
                split.value(first, &mut self.bytes)?;
                if shape == Shape::Any {
                    fields.insert(key, self.parsed()?);
                }
            }
            token = split.expect(b",}")?;
            if token == b',' {
                token = split.expect(b"\"")?;
            }
        }
        match (streamed, shape) {
            (true, _) => Ok(()),
            (false, Shape::DeliveryFile) => Err(Split::Syntax(
                "missing field `Records` (a delivery file is {\"Records\": [...]})".into(),
            )),
            (false, Shape::Any) => self.give(Value::Object(fields)),
        }
    }

    /// An array of records, or of delivery files.
    fn array(&mut self, split: &mut Splitter) -> Result<(), Split> {
        self.elements(split, |document| match document.parsed()? {
            Value::Object(mut object) if matches!(object.get("Records"), Some(Value::Array(_))) => {
                if let Some(Value::Array(records)) = object.remove("Records") {
                    for record in records {
                        document.give(record)?;
                    }
                }
                Ok(())
            }
            record => document.give(record),
        })
    }

    /// Each element of the array whose `[` was just taken, copied into `bytes`, to `each`.
    fn elements(
        &mut self,
        split: &mut Splitter,
        mut each: impl FnMut(&mut Self) -> Result<(), Split>,
    ) -> Result<(), Split> {
        let mut token = split.next_token()?;
        if token == Some(b']') {
            return Ok(());
        }
        loop {
            let first = token.ok_or_else(|| split.unexpected(None, b"{"))?;
            split.value(first, &mut self.bytes)?;
            each(self)?;
            if split.expect(b",]")? == b']' {
                return Ok(());
            }
            token = split.next_token()?;
        }
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

    /// Every record (or why a line is not one) of a file read as a scan reads it.
    fn any_records(bytes: &[u8]) -> Result<Vec<String>, DeliveryFileError> {
        let mut items = Vec::new();
        read_any_records(bytes, MAX_DECOMPRESSED_BYTES, |item| {
            items.push(match item {
                Ok(record) => record["eventID"].as_str().unwrap_or("?").to_string(),
                Err(reason) => format!("error: {reason}"),
            });
            Ok(())
        })?;
        Ok(items)
    }

    #[test]
    fn a_scan_reads_every_shape_of_file_as_records() {
        let ids = |list: &[&str]| -> Vec<String> { list.iter().map(|s| s.to_string()).collect() };
        let delivery = r#"{"Records":[{"eventID":"a"},{"eventID":"b"}]}"#;
        for (file, expected) in [
            (delivery.to_string(), ids(&["a", "b"])),
            // Pretty-printed over many lines, streamed.
            (
                "{\n  \"Records\": [\n    {\"eventID\": \"a\"},\n    {\"eventID\": \"b\"}\n  ]\n}\n"
                    .to_string(),
                ids(&["a", "b"]),
            ),
            // An array of records and delivery files.
            (
                format!(r#"[{{"eventID":"x"}}, {delivery}]"#),
                ids(&["x", "a", "b"]),
            ),
            // One record, with a field that happens to be called Records.
            (
                r#"{"eventID":"r","Records":{"n":1}}"#.to_string(),
                ids(&["r"]),
            ),
            // JSON lines: records and delivery files, blank lines, one line not JSON.
            (
                format!("{{\"eventID\":\"1\"}}\n\n{delivery}\nnot json\n{{\"eventID\":\"2\"}}"),
                ids(&["1", "a", "b", "error: line 4: not JSON: expected `{` or `[` at byte 0, found `n`", "2"]),
            ),
        ] {
            assert_eq!(any_records(file.as_bytes()).unwrap(), expected, "{file}");
            assert_eq!(any_records(&gzip(file.as_bytes())).unwrap(), expected, "{file}");
        }
        let not_json = any_records(b"\x00\x01").unwrap_err();
        assert!(
            matches!(&not_json, DeliveryFileError::Corrupt(reason) if reason.starts_with("not JSON")),
            "{not_json:?}"
        );
    }

    #[test]
    fn a_document_longer_than_a_first_line_may_be_is_read_as_a_stream() {
        let record = format!(r#"{{"eventID":"a","pad":"{}"}}"#, "x".repeat(1024));
        let count = (FIRST_LINE_BYTES as usize / record.len()) + 10;
        let delivery = format!(r#"{{"Records":[{}]}}"#, vec![record; count].join(","));
        // And JSON lines whose first line is that long.
        let file = format!("{delivery}\n{delivery}\n");
        let count = count * 2;
        let mut seen = 0;
        read_any_records(file.as_bytes(), MAX_DECOMPRESSED_BYTES, |item| {
            assert!(item.is_ok());
            seen += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, count);
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
