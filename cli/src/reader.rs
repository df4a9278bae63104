//! A scan's reading, on a thread of its own: files listed, opened, gunzipped and split
//! into records, and each CloudTrail record read from its text into its event, while the
//! scan's own thread orders and evaluates what was read before. What crosses between them
//! is an event holding its record's text, whose tree is built only if something reads it
//! (a record of another shape crosses parsed, as it always did): sending parsed trees across
//! was slower, each tree's many small allocations freed on the other thread.

use std::io::Read;
use std::sync::mpsc::SyncSender;

use indicatif::ProgressBar;
use serde_json::Value;
use tokio::runtime::Runtime;
use trailwatch_shared::adapters::s3::S3ObjectSource;
use trailwatch_shared::collect::delivery::{
    DeliveryFileError, MAX_DECOMPRESSED_BYTES, RawRecord, read_any_raw_records,
};
use trailwatch_shared::ports::ObjectSource;

use crate::inputs::{Input, Location, Plan};

/// Arrivals sent at once: one message a record would cost more than reading it.
const BATCH: usize = 256;
/// Batches sent and not yet taken: bounds what reading runs ahead by.
pub const BATCHES_AHEAD: usize = 4;

/// What reading finds, in the order it finds it; the records are those of the file last
/// opened.
pub enum Arrival {
    /// A file begins.
    Opened { name: String },
    /// A CloudTrail record read into its event.
    Event(Box<trailwatch_shared::event::Event>),
    /// A record to parse whole (an EventBridge event, a seed event, anything odd), or why
    /// it is not JSON.
    Record {
        index: usize,
        record: Result<Value, String>,
    },
    /// An item that is no record (a JSON line that is not JSON).
    Unreadable { index: usize, problem: String },
    /// The file has ended: whether it counts as read, and what to say of it.
    Closed {
        read: bool,
        diagnostic: Option<String>,
    },
    /// Something to say that is not about a record (a file or folder that cannot be read).
    Diagnostic(String),
}

pub struct Reader<'a> {
    pub runtime: &'a Runtime,
    /// What reads S3 objects, when the scan has any.
    pub objects: Option<S3ObjectSource>,
    pub progress: ProgressBar,
    sender: SyncSender<Vec<Arrival>>,
    batch: Vec<Arrival>,
}

/// The scan's thread stopped taking what is read.
struct Gone;

impl<'a> Reader<'a> {
    pub fn new(
        runtime: &'a Runtime,
        objects: Option<S3ObjectSource>,
        progress: ProgressBar,
        sender: SyncSender<Vec<Arrival>>,
    ) -> Self {
        Reader {
            runtime,
            objects,
            progress,
            sender,
            batch: Vec::with_capacity(BATCH),
        }
    }

    /// Reads every input of the plan, in its order, until the end or until the scan's
    /// thread stops taking.
    pub fn read_all(mut self, mut plan: Plan) {
        loop {
            let mut listing = Vec::new();
            let next = plan.next_batch(&mut listing);
            let said = String::from_utf8_lossy(&listing);
            for line in said.lines() {
                if self.send(Arrival::Diagnostic(line.to_string())).is_err() {
                    return;
                }
            }
            let Some((inputs, taken)) = next else {
                break;
            };
            for input in &inputs {
                if self.read_input(input).is_err() {
                    return;
                }
            }
            self.progress.inc(taken as u64);
        }
        let _ = self.flush();
    }

    fn read_input(&mut self, input: &Input) -> Result<(), Gone> {
        let name = input.name();
        let reader = match self.open(input) {
            Ok(reader) => reader,
            Err(error) => {
                return self.send(Arrival::Diagnostic(format!(
                    "trailwatch: skipping {name}: {error}"
                )));
            }
        };
        self.send(Arrival::Opened { name: name.clone() })?;
        let mut records = 0;
        let read = read_any_raw_records(reader, MAX_DECOMPRESSED_BYTES, |item| {
            let index = records;
            records += 1;
            let arrival = match item {
                Ok(RawRecord::Text(text)) => {
                    match trailwatch_shared::input::read_cloudtrail_text(text.into()) {
                        Ok(event) => Arrival::Event(Box::new(event)),
                        Err(text) => Arrival::Record {
                            index,
                            record: RawRecord::Text(&text).parse(),
                        },
                    }
                }
                Ok(record @ RawRecord::Parsed(_)) => Arrival::Record {
                    index,
                    record: record.parse(),
                },
                Err(problem) => Arrival::Unreadable { index, problem },
            };
            self.send(arrival)
                .map_err(|Gone| "the scan stopped".to_string())
        });
        let (read, diagnostic) = match read {
            Ok(_) => (true, None),
            // Only a failed send stops the reading.
            Err(DeliveryFileError::Stopped(_)) => return Err(Gone),
            // What came before the break was read and counts.
            Err(DeliveryFileError::Corrupt(reason)) if records > 0 => (
                true,
                Some(format!(
                    "trailwatch: skipping the rest of {name} after {records} records: {reason}"
                )),
            ),
            Err(DeliveryFileError::Corrupt(reason)) => (
                false,
                Some(format!("trailwatch: skipping {name}: {reason}")),
            ),
        };
        self.send(Arrival::Closed { read, diagnostic })
    }

    fn open(&self, input: &Input) -> Result<Box<dyn Read>, String> {
        match &input.location {
            Location::Local(path) => std::fs::File::open(path)
                .map(|file| Box::new(file) as Box<dyn Read>)
                .map_err(|error| error.to_string()),
            Location::S3 { bucket, key } => {
                let source = self
                    .objects
                    .as_ref()
                    .ok_or("no S3 client: the object was not listed by this scan")?;
                let reader = self
                    .runtime
                    .block_on(source.open(bucket, key))
                    .map_err(|error| error.to_string())?;
                // Read as it downloads: blocking reads on this thread, the runtime beside it.
                Ok(Box::new(tokio_util::io::SyncIoBridge::new_with_handle(
                    reader,
                    self.runtime.handle().clone(),
                )))
            }
        }
    }

    fn send(&mut self, arrival: Arrival) -> Result<(), Gone> {
        self.batch.push(arrival);
        if self.batch.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Gone> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        self.sender.send(batch).map_err(|_| Gone)
    }
}
