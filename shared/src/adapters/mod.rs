//! Implementations of the ports: AWS (SQS, DynamoDB) and in-memory.

#[cfg(feature = "alerts")]
pub mod alerts;
#[cfg(feature = "aws")]
pub mod dynamodb;
#[cfg(feature = "aws")]
pub mod dynamodb_cases;
#[cfg(feature = "aws")]
pub mod dynamodb_ledger;
#[cfg(feature = "aws")]
pub mod dynamodb_profiles;
#[cfg(feature = "aws")]
pub mod dynamodb_receipts;
#[cfg(feature = "aws")]
pub mod dynamodb_suppressions;
pub mod memory;
pub mod memory_alerts;
pub mod memory_cases;
pub mod memory_ledger;
pub mod memory_profiles;
pub mod memory_receipts;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(feature = "alerts")]
pub mod securityhub;
#[cfg(feature = "aws")]
pub mod sqs;
#[cfg(feature = "aws")]
pub mod usage;

/// A DynamoDB error as the domain sees it: one DynamoDB will always refuse again is
/// [`StoreError::Rejected`], anything else may pass on a retry.
#[cfg(feature = "aws")]
pub fn store_error<E>(error: &E) -> crate::ports::StoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    let text = sdk_error_text(error);
    match error.code() {
        Some("ValidationException") => crate::ports::StoreError::Rejected(text),
        _ => crate::ports::StoreError::Request(text),
    }
}

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
