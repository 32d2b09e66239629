//! Scheduled maintenance windows of providers (Paris time), which answer 503 with
//! `meta.retry_in` instead of calling the upstream.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::{Europe::Paris, Tz};
use passerelle_bouquet::{Endpoint, Provider};
use passerelle_core::{ApiError, Subcode};
use serde::{Deserialize, Serialize};

/// The provider's `XX020` error when a window covers `endpoint` at `now`.
pub fn check(
    windows: &[MaintenanceWindow],
    endpoint: &Endpoint,
    provider: &dyn Provider,
    now: DateTime<Tz>,
) -> Result<(), ApiError> {
    let active = windows
        .iter()
        .find_map(|w| w.active_at(endpoint.provider.as_str(), endpoint.resource, now));
    match active {
        None => Ok(()),
        Some(a) => Err(provider
            .info()
            .error(Subcode::Maintenance)
            .with_detail(format!(
                "Le fournisseur de données est en maintenance de {} à {}",
                a.start, a.end
            ))
            .with_meta("retry_in", a.retry_in)),
    }
}

/// When the window closing the whole of `provider` ends, if one is active.
pub fn whole_provider_until(
    windows: &[MaintenanceWindow],
    provider: &str,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let paris = now.with_timezone(&Paris);
    windows
        .iter()
        .filter(|w| w.resources.is_empty())
        .find_map(|w| w.active_at(provider, "", paris))
        .map(|active| now + Duration::seconds(active.retry_in))
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct MaintenanceWindow {
    /// Provider id in the catalogue (`dss`).
    pub provider: String,
    /// Resources concerned (`quotient_familial`); empty means all of the provider.
    #[serde(default)]
    pub resources: Vec<String>,
    /// `mon` … `sun`; absent with no `dates` means every day.
    #[serde(default)]
    pub weekday: Option<String>,
    /// Specific days (`YYYY-MM-DD`).
    #[serde(default)]
    pub dates: Vec<NaiveDate>,
    /// `HH:MM`, Paris time. A window may wrap past midnight.
    pub start: String,
    pub end: String,
}

/// An active window: when it ends, for the error detail and `retry_in`.
#[derive(Debug, Clone, PartialEq)]
pub struct Active {
    pub start: String,
    pub end: String,
    pub retry_in: i64,
}

impl MaintenanceWindow {
    fn applies_to(&self, provider: &str, resource: &str) -> bool {
        self.provider == provider && (self.resources.is_empty() || self.resources.iter().any(|r| r == resource))
    }

    fn day_matches(&self, day: NaiveDate) -> bool {
        let weekday_ok = match self.weekday.as_deref().map(|w| w.parse::<Weekday>()) {
            Some(Ok(w)) => day.weekday() == w,
            Some(Err(_)) => false,
            None => self.dates.is_empty(),
        };
        weekday_ok || self.dates.contains(&day)
    }

    /// The window active at `now`, if this one is.
    pub fn active_at(&self, provider: &str, resource: &str, now: DateTime<Tz>) -> Option<Active> {
        if !self.applies_to(provider, resource) {
            return None;
        }
        let start = NaiveTime::parse_from_str(&self.start, "%H:%M").ok()?;
        let end = NaiveTime::parse_from_str(&self.end, "%H:%M").ok()?;
        let (today, time) = (now.date_naive(), now.time());
        let ends_at = if start <= end {
            (self.day_matches(today) && time >= start && time < end).then(|| today.and_time(end))
        } else if time >= start && self.day_matches(today) {
            Some((today + Duration::days(1)).and_time(end))
        } else if time < end && self.day_matches(today - Duration::days(1)) {
            Some(today.and_time(end))
        } else {
            None
        }?;
        let retry_in = (ends_at - now.naive_local()).num_seconds().max(1);
        Some(Active {
            start: self.start.clone(),
            end: self.end.clone(),
            retry_in,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn window(weekday: Option<&str>, start: &str, end: &str) -> MaintenanceWindow {
        MaintenanceWindow {
            provider: "dss".into(),
            resources: vec!["quotient_familial".into()],
            weekday: weekday.map(str::to_string),
            dates: vec![],
            start: start.into(),
            end: end.into(),
        }
    }

    fn at(d: u32, h: u32, m: u32) -> DateTime<Tz> {
        Paris.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap()
    }

    #[test]
    fn sunday_evening_window() {
        let w = window(Some("sun"), "23:00", "23:45");
        let active = w.active_at("dss", "quotient_familial", at(22, 23, 15)).unwrap();
        assert_eq!(active.retry_in, 30 * 60);
        assert!(w.active_at("dss", "quotient_familial", at(22, 23, 45)).is_none());
        assert!(w.active_at("dss", "quotient_familial", at(21, 23, 15)).is_none());
        assert!(w.active_at("dss", "prime_activite", at(22, 23, 15)).is_none());
    }

    #[test]
    fn window_wrapping_midnight() {
        let w = window(None, "23:30", "01:00");
        assert_eq!(
            w.active_at("dss", "quotient_familial", at(22, 23, 50))
                .unwrap()
                .retry_in,
            70 * 60
        );
        assert_eq!(
            w.active_at("dss", "quotient_familial", at(23, 0, 30)).unwrap().retry_in,
            30 * 60
        );
        assert!(w.active_at("dss", "quotient_familial", at(23, 1, 0)).is_none());
    }
}
