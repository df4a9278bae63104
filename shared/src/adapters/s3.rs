//! CloudTrail's delivery files on Amazon S3, streamed.

use aws_sdk_s3::Client;
use aws_sdk_s3::operation::get_object::GetObjectError;

use super::sdk_error_text;
use crate::ports::{ObjectError, ObjectSource};

#[derive(Debug, Clone)]
pub struct S3ObjectSource {
    client: Client,
}

impl S3ObjectSource {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

impl ObjectSource for S3ObjectSource {
    type Reader = Box<dyn tokio::io::AsyncRead + Send + Unpin>;

    async fn open(&self, bucket: &str, key: &str) -> Result<Self::Reader, ObjectError> {
        let object = format!("s3://{bucket}/{key}");
        let output = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|error| match error.as_service_error() {
                Some(GetObjectError::NoSuchKey(_)) => ObjectError::NotFound(object.clone()),
                _ => ObjectError::Read {
                    object: object.clone(),
                    reason: sdk_error_text(&error),
                },
            })?;
        Ok(Box::new(output.body.into_async_read()))
    }
}
