//! What a function asks of AWS that AWS bills for, counted as it happens: DynamoDB capacity
//! units (every call asks DynamoDB for its `ConsumedCapacity`) and SQS requests in the 64 KiB
//! units SQS bills. Each invocation logs its own counts (a `usage` line), so what a million
//! events cost is read from the logs of a replay, not estimated.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::operation::{
    batch_get_item::{BatchGetItemError, BatchGetItemInput, BatchGetItemOutput},
    batch_write_item::{BatchWriteItemError, BatchWriteItemInput, BatchWriteItemOutput},
    delete_item::{DeleteItemError, DeleteItemInput, DeleteItemOutput},
    get_item::{GetItemError, GetItemInput, GetItemOutput},
    put_item::{PutItemError, PutItemInput, PutItemOutput},
    query::{QueryError, QueryInput, QueryOutput},
    scan::{ScanError, ScanInput, ScanOutput},
    transact_write_items::{
        TransactWriteItemsError, TransactWriteItemsInput, TransactWriteItemsOutput,
    },
    update_item::{UpdateItemError, UpdateItemInput, UpdateItemOutput},
};
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};
use aws_sdk_sqs::operation::send_message_batch::SendMessageBatchInput;

type HookResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// SQS bills each 64 KiB of a request's payload as one request.
pub const SQS_BILLING_CHUNK: usize = 64 * 1024;

/// Counts shared by a function's clients; read and reset once per invocation.
#[derive(Debug, Clone, Default)]
pub struct Usage(Arc<Counters>);

#[derive(Debug, Default)]
struct Counters {
    /// Thousandths of a unit: DynamoDB reports halves for eventually consistent reads.
    read_milli_units: AtomicU64,
    write_milli_units: AtomicU64,
    dynamodb_requests: AtomicU64,
    sqs_requests: AtomicU64,
    sqs_billed_requests: AtomicU64,
    polled_messages: AtomicU64,
}

/// One invocation's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct UsageCounts {
    pub dynamodb_read_units: f64,
    pub dynamodb_write_units: f64,
    pub dynamodb_requests: u64,
    pub sqs_requests: u64,
    /// SQS requests as billed: one per 64 KiB of each request's payload.
    pub sqs_billed_requests: u64,
    /// Messages Lambda's poller handed over (what was sent to the queue, retries aside).
    pub polled_messages: u64,
}

impl Usage {
    /// The counts since the last take, and a fresh start.
    pub fn take(&self) -> UsageCounts {
        let counters = &self.0;
        UsageCounts {
            dynamodb_read_units: counters.read_milli_units.swap(0, Ordering::Relaxed) as f64
                / 1000.0,
            dynamodb_write_units: counters.write_milli_units.swap(0, Ordering::Relaxed) as f64
                / 1000.0,
            dynamodb_requests: counters.dynamodb_requests.swap(0, Ordering::Relaxed),
            sqs_requests: counters.sqs_requests.swap(0, Ordering::Relaxed),
            sqs_billed_requests: counters.sqs_billed_requests.swap(0, Ordering::Relaxed),
            polled_messages: counters.polled_messages.swap(0, Ordering::Relaxed),
        }
    }

    /// Runs one invocation's handler, then logs what it asked of AWS with its time.
    pub async fn metered<T>(&self, handler: impl std::future::Future<Output = T>) -> T {
        let started = std::time::Instant::now();
        let answer = handler.await;
        self.log_invocation(started.elapsed());
        answer
    }

    /// Logs one invocation's counts and its handler time, and starts afresh.
    pub fn log_invocation(&self, handler_time: Duration) {
        let counts = self.take();
        tracing::info!(
            handler_ms = handler_time.as_secs_f64() * 1000.0,
            dynamodb_read_units = counts.dynamodb_read_units,
            dynamodb_write_units = counts.dynamodb_write_units,
            dynamodb_requests = counts.dynamodb_requests,
            sqs_requests = counts.sqs_requests,
            sqs_billed_requests = counts.sqs_billed_requests,
            polled_messages = counts.polled_messages,
            "usage"
        );
    }

    /// Counts what Lambda's poller asked of SQS for a batch handed to this function: its
    /// receive (billed by the batch's payload) and the delete of what succeeded.
    pub fn add_polled_batch(&self, payload_bytes: usize, messages: usize) {
        self.add_sqs_request(payload_bytes);
        self.add_sqs_request(0);
        self.0
            .polled_messages
            .fetch_add(messages as u64, Ordering::Relaxed);
    }

    /// A DynamoDB client that reports its consumed capacity here.
    pub fn dynamodb(&self, config: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
        let config = aws_sdk_dynamodb::config::Builder::from(config)
            .interceptor(DynamoDbMeter(self.clone()))
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }

    /// An SQS client whose sends are counted here.
    pub fn sqs(&self, config: &aws_config::SdkConfig) -> aws_sdk_sqs::Client {
        let config = aws_sdk_sqs::config::Builder::from(config)
            .interceptor(SqsMeter(self.clone()))
            .build();
        aws_sdk_sqs::Client::from_conf(config)
    }

    fn add_capacity(&self, kind: Kind, units: f64) {
        let counter = match kind {
            Kind::Read => &self.0.read_milli_units,
            Kind::Write => &self.0.write_milli_units,
        };
        counter.fetch_add((units * 1000.0).round() as u64, Ordering::Relaxed);
    }

    /// Counts one SQS request of `payload_bytes`.
    pub fn add_sqs_request(&self, payload_bytes: usize) {
        self.0.sqs_requests.fetch_add(1, Ordering::Relaxed);
        self.0
            .sqs_billed_requests
            .fetch_add(billed_sqs_requests(payload_bytes), Ordering::Relaxed);
    }
}

/// The requests SQS bills for one request of `payload_bytes`: one per 64 KiB, at least one.
pub fn billed_sqs_requests(payload_bytes: usize) -> u64 {
    payload_bytes.div_ceil(SQS_BILLING_CHUNK).max(1) as u64
}

#[derive(Clone, Copy)]
enum Kind {
    Read,
    Write,
}

#[derive(Debug)]
struct DynamoDbMeter(Usage);

/// For each operation trailwatch calls: ask for the total consumed capacity, and read it. (The
/// input is gone once serialized: what was called is known from the output or error type.)
macro_rules! each_operation {
    ($mac:ident, $($args:tt)*) => {
        $mac!($($args)*, GetItemInput, GetItemOutput, GetItemError, Read, single);
        $mac!($($args)*, QueryInput, QueryOutput, QueryError, Read, single);
        $mac!($($args)*, ScanInput, ScanOutput, ScanError, Read, single);
        $mac!($($args)*, BatchGetItemInput, BatchGetItemOutput, BatchGetItemError, Read, many);
        $mac!($($args)*, PutItemInput, PutItemOutput, PutItemError, Write, single);
        $mac!($($args)*, UpdateItemInput, UpdateItemOutput, UpdateItemError, Write, single);
        $mac!($($args)*, DeleteItemInput, DeleteItemOutput, DeleteItemError, Write, single);
        $mac!($($args)*, BatchWriteItemInput, BatchWriteItemOutput, BatchWriteItemError, Write, many);
        $mac!($($args)*, TransactWriteItemsInput, TransactWriteItemsOutput, TransactWriteItemsError, Write, many);
    };
}

macro_rules! ask_for_capacity {
    ($input:ident, $in:ty, $out:ty, $err:ty, $kind:ident, $shape:ident) => {
        if let Some(input) = $input.downcast_mut::<$in>() {
            input
                .return_consumed_capacity
                .get_or_insert(ReturnConsumedCapacity::Total);
        }
    };
}

macro_rules! capacity_of {
    ($output:ident, $found:ident, $in:ty, $out:ty, $err:ty, $kind:ident, single) => {
        if let Some(output) = $output.downcast_ref::<$out>() {
            $found = Some((
                Kind::$kind,
                output.consumed_capacity.as_ref().map_or(0.0, total),
            ));
        }
    };
    ($output:ident, $found:ident, $in:ty, $out:ty, $err:ty, $kind:ident, many) => {
        if let Some(output) = $output.downcast_ref::<$out>() {
            let units = output.consumed_capacity.iter().flatten().map(total).sum();
            $found = Some((Kind::$kind, units));
        }
    };
}

macro_rules! kind_of_error {
    ($error:ident, $found:ident, $in:ty, $out:ty, $err:ty, $kind:ident, $shape:ident) => {
        if $error.downcast_ref::<$err>().is_some() {
            $found = Some(Kind::$kind);
        }
    };
}

fn total(capacity: &ConsumedCapacity) -> f64 {
    capacity.capacity_units.unwrap_or_default()
}

impl aws_sdk_dynamodb::config::Intercept for DynamoDbMeter {
    fn name(&self) -> &'static str {
        "trailwatch-dynamodb-usage"
    }

    fn modify_before_serialization(
        &self,
        context: &mut aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextMut<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> HookResult {
        let input = context.input_mut();
        each_operation!(ask_for_capacity, input);
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::FinalizerInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> HookResult {
        let mut found = None;
        match context.output_or_error() {
            Some(Ok(output)) => {
                each_operation!(capacity_of, output, found);
            }
            Some(Err(error)) => {
                // A write refused by its condition (a repeat the store recognised) is billed
                // all the same, and its error carries no capacity: count the least it costs.
                // Errors before DynamoDB answered (the network) are not counted.
                if let Some(error) = error.as_operation_error() {
                    let mut kind = None;
                    each_operation!(kind_of_error, error, kind);
                    found = kind.map(|kind| {
                        (
                            kind,
                            if matches!(kind, Kind::Write) {
                                1.0
                            } else {
                                0.0
                            },
                        )
                    });
                }
            }
            None => {}
        }
        if let Some((kind, units)) = found {
            self.0.0.dynamodb_requests.fetch_add(1, Ordering::Relaxed);
            self.0.add_capacity(kind, units);
        }
        Ok(())
    }
}

#[derive(Debug)]
struct SqsMeter(Usage);

impl aws_sdk_sqs::config::Intercept for SqsMeter {
    fn name(&self) -> &'static str {
        "trailwatch-sqs-usage"
    }

    fn read_before_execution(
        &self,
        context: &aws_sdk_sqs::config::interceptors::BeforeSerializationInterceptorContextRef<'_>,
        _: &mut aws_sdk_sqs::config::ConfigBag,
    ) -> HookResult {
        let payload = match context.input().downcast_ref::<SendMessageBatchInput>() {
            Some(batch) => batch
                .entries
                .iter()
                .flatten()
                .map(|entry| {
                    entry.message_body.len()
                        + entry
                            .message_attributes
                            .iter()
                            .flatten()
                            .map(|(name, value)| {
                                name.len()
                                    + value.data_type.len()
                                    + value.string_value.as_deref().map_or(0, str::len)
                            })
                            .sum::<usize>()
                })
                .sum(),
            None => 0,
        };
        self.0.add_sqs_request(payload);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqs_bills_a_request_per_64_kib_of_payload() {
        assert_eq!(billed_sqs_requests(0), 1);
        assert_eq!(billed_sqs_requests(1), 1);
        assert_eq!(billed_sqs_requests(SQS_BILLING_CHUNK), 1);
        assert_eq!(billed_sqs_requests(SQS_BILLING_CHUNK + 1), 2);
        assert_eq!(billed_sqs_requests(256 * 1024), 4);
    }

    #[test]
    fn counts_are_taken_once() {
        let usage = Usage::default();
        usage.add_capacity(Kind::Read, 0.5);
        usage.add_capacity(Kind::Write, 3.0);
        usage.add_sqs_request(200 * 1024);
        // A polled batch of 3 messages, 100 KiB: its receive (2 units) and delete.
        usage.add_polled_batch(100 * 1024, 3);
        let counts = usage.take();
        assert_eq!(counts.dynamodb_read_units, 0.5);
        assert_eq!(counts.dynamodb_write_units, 3.0);
        assert_eq!((counts.sqs_requests, counts.sqs_billed_requests), (3, 7));
        assert_eq!(counts.polled_messages, 3);
        assert_eq!(usage.take(), UsageCounts::default());
    }
}
