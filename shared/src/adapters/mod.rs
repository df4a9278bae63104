//! Implementations of the ports: AWS (SQS, DynamoDB) and in-memory.

#[cfg(feature = "aws")]
pub mod dynamodb;
#[cfg(feature = "aws")]
pub mod dynamodb_profiles;
#[cfg(feature = "aws")]
pub mod dynamodb_receipts;
pub mod memory;
pub mod memory_profiles;
pub mod memory_receipts;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(feature = "aws")]
pub mod sqs;

#[cfg(feature = "s3")]
/// The whole chain of an SDK error, not just its outermost "service error".
pub fn sdk_error_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
