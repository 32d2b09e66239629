//! Maintenance windows (Paris time): when a provider answers nothing, so that calls
//! fail at once with its `XX020` error and `meta.retry_in` instead of reaching it. The
//! operator declares them (`[[maintenance]]`); a provider declares its own published
//! ones (`Provider::maintenance_windows`).

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

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
    /// Every day from `start` to `end` (`HH:MM`, Paris time), the whole of `provider`.
    pub fn daily(provider: crate::ProviderId, start: &str, end: &str) -> MaintenanceWindow {
        MaintenanceWindow {
            provider: provider.as_str().into(),
            resources: Vec::new(),
            weekday: None,
            dates: Vec::new(),
            start: start.into(),
            end: end.into(),
        }
    }

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
    use chrono_tz::Europe::Paris;

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

    #[test]
    fn a_daily_window_holds_its_start_not_its_end_in_paris_time_all_year() {
        use chrono::Utc;
        let w = MaintenanceWindow::daily(crate::ProviderId::new("banque_de_france"), "22:04", "22:08");
        let retry_in = |utc: DateTime<Utc>| {
            w.active_at("banque_de_france", "bilans", utc.with_timezone(&Paris))
                .map(|a| a.retry_in)
        };
        // 21:05 UTC in winter is 22:05 in Paris; 20:05 UTC in summer too.
        assert_eq!(
            retry_in(Utc.with_ymd_and_hms(2026, 1, 15, 21, 5, 0).unwrap()),
            Some(180)
        );
        assert_eq!(
            retry_in(Utc.with_ymd_and_hms(2026, 7, 15, 20, 5, 0).unwrap()),
            Some(180)
        );
        assert_eq!(
            retry_in(Utc.with_ymd_and_hms(2026, 1, 15, 21, 4, 0).unwrap()),
            Some(240)
        );
        assert_eq!(retry_in(Utc.with_ymd_and_hms(2026, 1, 15, 21, 8, 0).unwrap()), None);
        assert_eq!(retry_in(Utc.with_ymd_and_hms(2026, 1, 15, 21, 3, 59).unwrap()), None);
        assert_eq!(
            w.active_at("cnetp", "", Paris.with_ymd_and_hms(2026, 1, 15, 22, 5, 0).unwrap()),
            None
        );
    }
}
