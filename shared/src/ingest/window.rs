//! Which event times the ingest API accepts. Whoever may post can claim any time; a forged
//! past would make an attacker's network "known" before the attack and a forged future keeps
//! a principal learning forever. CloudTrail delivers within minutes, so by default only the
//! last 90 days (older history is backfill: widen the window for it) and a little clock skew.

use chrono::{DateTime, Duration, Utc};

/// The environment variable (template parameter `IngestMaxEventAgeDays`) that widens the past.
pub const MAX_AGE_DAYS_VARIABLE: &str = "TRAILWATCH_INGEST_MAX_AGE_DAYS";
pub const DEFAULT_MAX_AGE_DAYS: u32 = 90;
/// Back to 2006, when AWS began: nothing older passes parsing anyway.
pub const MOST_MAX_AGE_DAYS: u32 = 7_670;
/// How far ahead of the API's clock an event may be: clock skew and nothing more.
pub const MAX_AHEAD: Duration = Duration::minutes(15);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventTimeWindow {
    max_age_days: u32,
}

impl Default for EventTimeWindow {
    fn default() -> Self {
        Self {
            max_age_days: DEFAULT_MAX_AGE_DAYS,
        }
    }
}

impl EventTimeWindow {
    pub fn with_max_age_days(days: u32) -> Result<Self, String> {
        if days == 0 || days > MOST_MAX_AGE_DAYS {
            return Err(format!(
                "{MAX_AGE_DAYS_VARIABLE} must be between 1 and {MOST_MAX_AGE_DAYS} days, found {days}"
            ));
        }
        Ok(Self { max_age_days: days })
    }

    /// The window the environment sets; the default when it sets none.
    pub fn from_variable(value: Option<&str>) -> Result<Self, String> {
        let Some(value) = value.map(str::trim).filter(|value| !value.is_empty()) else {
            return Ok(Self::default());
        };
        let days = value.parse::<u32>().map_err(|_| {
            format!("{MAX_AGE_DAYS_VARIABLE} must be a whole number of days, found {value:?}")
        })?;
        Self::with_max_age_days(days)
    }

    /// Every past time parsing accepts: for tests of dated samples and for whole-history
    /// backfills.
    pub fn widest() -> Self {
        Self {
            max_age_days: MOST_MAX_AGE_DAYS,
        }
    }

    pub fn max_age_days(&self) -> u32 {
        self.max_age_days
    }

    /// What is wrong with an event time received at `now`, if anything.
    pub fn problem(&self, time: DateTime<Utc>, now: DateTime<Utc>) -> Option<String> {
        let max_age = Duration::days(i64::from(self.max_age_days));
        if time < now - max_age {
            return Some(format!(
                "is {} days old; the ingest API accepts events of the last {} days \
                 (widen {MAX_AGE_DAYS_VARIABLE}, template parameter IngestMaxEventAgeDays, \
                 to backfill)",
                (now - time).num_days(),
                self.max_age_days
            ));
        }
        if time > now + MAX_AHEAD {
            return Some(format!(
                "is {} minutes ahead of the API's clock; at most {} are accepted",
                (time - now).num_minutes(),
                MAX_AHEAD.num_minutes()
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_default_accepts_the_last_ninety_days_and_fifteen_minutes_of_skew() {
        let now = at("2026-11-30T12:00:00Z");
        let window = EventTimeWindow::default();
        assert_eq!(window.problem(at("2026-09-02T12:00:00Z"), now), None);
        assert_eq!(window.problem(at("2026-11-30T12:15:00Z"), now), None);
        let old = window.problem(at("2026-08-31T12:00:00Z"), now).unwrap();
        assert!(
            old.contains("91 days old") && old.contains("last 90 days"),
            "{old}"
        );
        let ahead = window.problem(at("2026-11-30T12:16:00Z"), now).unwrap();
        assert!(ahead.contains("16 minutes ahead"), "{ahead}");
    }

    #[test]
    fn a_backfill_window_reaches_further_back_but_never_further_ahead() {
        let now = at("2026-11-30T12:00:00Z");
        let window = EventTimeWindow::from_variable(Some("3650")).unwrap();
        assert_eq!(window.problem(at("2017-01-01T00:00:00Z"), now), None);
        assert!(window.problem(at("2026-11-30T13:00:00Z"), now).is_some());
    }

    #[test]
    fn a_bad_setting_is_refused_by_name() {
        assert_eq!(
            EventTimeWindow::from_variable(None),
            Ok(EventTimeWindow::default())
        );
        for bad in ["0", "-3", "ninety", "100000"] {
            let error = EventTimeWindow::from_variable(Some(bad)).unwrap_err();
            assert!(error.contains(MAX_AGE_DAYS_VARIABLE), "{error}");
        }
    }
}
