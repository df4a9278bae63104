//! `s3://bucket/prefix`: CloudTrail read straight from a trail's bucket. Dates choose the
//! date-partitioned prefixes (`AWSLogs/[o-org/]<account>/CloudTrail/<region>/YYYY/MM/DD/`)
//! instead of listing the whole bucket; each object is streamed and gunzipped as it is read,
//! one at a time, in the order of the delivery times in their names. Credentials, region and endpoint come from the SDK's usual configuration.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use chrono::{Days, NaiveDate};
use trailwatch_shared::adapters::sdk_error_text;
use trailwatch_shared::collect::keys::TrailKey;

use crate::Selection;
use crate::inputs::Input;

/// Most days one scan lists, so a typo in a date cannot list a decade of prefixes.
const MAX_DAYS: u64 = 3_660;

/// A bucket and a key prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    pub bucket: String,
    pub prefix: String,
}

impl S3Url {
    /// `None` when the text is not an `s3://` address at all.
    pub fn parse(text: &str) -> Option<Result<S3Url, String>> {
        let rest = text.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Some(Err(format!("{text}: no bucket named")));
        }
        Some(Ok(S3Url {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        }))
    }
}

/// The date (`YYYY/MM/DD`) a CloudTrail log key is partitioned under.
pub fn key_date(key: &str) -> Option<NaiveDate> {
    let (_, rest) = key.split_once("/CloudTrail/")?;
    let mut parts = rest.split('/').skip(1);
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?)
}

/// The day prefixes under a region's prefix for `since..=until`, and the day after `until`
/// (a file delivered after midnight holds the day's last events).
pub fn day_prefixes(region_prefix: &str, since: NaiveDate, until: NaiveDate) -> Vec<String> {
    let last = until.checked_add_days(Days::new(1)).unwrap_or(until);
    since
        .iter_days()
        .take_while(|day| *day <= last)
        .take(MAX_DAYS as usize)
        .map(|day| format!("{region_prefix}{}/", day.format("%Y/%m/%d")))
        .collect()
}

/// Every CloudTrail log object the address and selection name, to be read in time order.
pub async fn inputs(
    client: &Client,
    url: &S3Url,
    selection: &Selection,
) -> Result<Vec<Input>, String> {
    let mut inputs = Vec::new();
    for prefix in prefixes(client, url, selection).await? {
        for key in list(client, &url.bucket, &prefix, None).await?.0 {
            let dated_out = key_date(&key).is_some_and(|date| !selection.may_hold(date));
            if TrailKey::of(&key).skip_reason().is_none() && !dated_out {
                inputs.push(Input::s3(&url.bucket, key));
            }
        }
    }
    Ok(inputs)
}

/// The prefixes to list: the address itself when it is a region's prefix or deeper; else
/// each account's and region's prefix under it (as selected), narrowed to the selected days.
async fn prefixes(
    client: &Client,
    url: &S3Url,
    selection: &Selection,
) -> Result<Vec<String>, String> {
    if url.prefix.contains("/CloudTrail/") || url.prefix.starts_with("CloudTrail/") {
        return Ok(vec![url.prefix.clone()]);
    }
    let root = match url.prefix.find("AWSLogs/") {
        Some(start) => url.prefix[..start + "AWSLogs/".len()].to_string(),
        None if url.prefix.is_empty() || url.prefix.ends_with('/') => {
            format!("{}AWSLogs/", url.prefix)
        }
        None => format!("{}/AWSLogs/", url.prefix),
    };
    let mut accounts = Vec::new();
    for entry in directories(client, &url.bucket, &root).await? {
        let name = entry[root.len()..].trim_end_matches('/');
        if name.starts_with("o-") {
            accounts.extend(directories(client, &url.bucket, &entry).await?);
        } else {
            accounts.push(entry.clone());
        }
    }
    let mut prefixes = Vec::new();
    for account in accounts {
        let id = account
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default();
        if !selection.account.is_empty() && !selection.account.iter().any(|a| a == id) {
            continue;
        }
        let trail = format!("{account}CloudTrail/");
        for region in directories(client, &url.bucket, &trail).await? {
            let name = region[trail.len()..].trim_end_matches('/');
            if !selection.region.is_empty() && !selection.region.iter().any(|r| r == name) {
                continue;
            }
            match (selection.since, selection.until) {
                (Some(since), Some(until)) => prefixes.extend(day_prefixes(&region, since, until)),
                (Some(since), None) => {
                    let today = chrono::Utc::now().date_naive();
                    prefixes.extend(day_prefixes(&region, since, today));
                }
                _ => prefixes.push(region),
            }
        }
    }
    Ok(prefixes)
}

/// The "directories" right under a prefix.
async fn directories(client: &Client, bucket: &str, prefix: &str) -> Result<Vec<String>, String> {
    Ok(list(client, bucket, prefix, Some("/")).await?.1)
}

/// Keys and common prefixes under a prefix, every page.
async fn list(
    client: &Client,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
) -> Result<(Vec<String>, Vec<String>), String> {
    let mut keys = Vec::new();
    let mut directories = Vec::new();
    let mut token = None;
    loop {
        let output = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_delimiter(delimiter.map(str::to_string))
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|error| format!("listing s3://{bucket}/{prefix}: {}", describe(&error)))?;
        keys.extend(
            output
                .contents()
                .iter()
                .filter_map(|object| object.key().map(str::to_string)),
        );
        directories.extend(
            output
                .common_prefixes()
                .iter()
                .filter_map(|common| common.prefix().map(str::to_string)),
        );
        match output.next_continuation_token {
            Some(next) if output.is_truncated == Some(true) => token = Some(next),
            _ => return Ok((keys, directories)),
        }
    }
}

/// An SDK error as a person wants it: the service's code and message, else the chain of
/// causes (a connection refused, a missing credential).
fn describe<E, R>(error: &aws_sdk_s3::error::SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    if let (Some(code), Some(message)) = (error.code(), error.message()) {
        return format!("{code}: {message}");
    }
    sdk_error_text(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn addresses_name_a_bucket_and_a_prefix() {
        assert_eq!(
            S3Url::parse("s3://trail-logs/org/AWSLogs/"),
            Some(Ok(S3Url {
                bucket: "trail-logs".into(),
                prefix: "org/AWSLogs/".into()
            }))
        );
        assert_eq!(
            S3Url::parse("s3://trail-logs"),
            Some(Ok(S3Url {
                bucket: "trail-logs".into(),
                prefix: String::new()
            }))
        );
        assert!(matches!(S3Url::parse("s3:///x"), Some(Err(_))));
        assert_eq!(S3Url::parse("logs/file.json"), None);
    }

    #[test]
    fn dates_select_day_prefixes_and_keys() {
        let region = "AWSLogs/111122223333/CloudTrail/eu-west-1/";
        assert_eq!(
            day_prefixes(region, date("2026-10-31"), date("2026-11-01")),
            vec![
                format!("{region}2026/10/31/"),
                format!("{region}2026/11/01/"),
                format!("{region}2026/11/02/"),
            ]
        );
        assert_eq!(
            key_date(&format!(
                "{region}2026/11/02/111122223333_CloudTrail_eu-west-1_x.json.gz"
            )),
            Some(date("2026-11-02"))
        );
        assert_eq!(key_date("AWSLogs/111122223333/CloudTrail-Digest/x"), None);
    }
}
