//! Dates, times and shares as the pages write them: French, Paris time.

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Utc, Weekday};
use chrono_tz::Europe::Paris;

pub(crate) const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

const WEEKDAYS: [&str; 7] = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"];

/// The Paris day `at` falls in: the day a check counts in.
pub fn paris_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Paris).date_naive()
}

/// `1er mai 2026`, `12 mars 2026`.
pub fn day(d: NaiveDate) -> String {
    let month = MONTHS.get(d.month0() as usize).copied().unwrap_or_default();
    match d.day() {
        1 => format!("1er {month} {}", d.year()),
        n => format!("{n} {month} {}", d.year()),
    }
}

/// `12 mars 2026 à 10:42` (Paris time).
pub fn moment(at: DateTime<Utc>) -> String {
    let paris = at.with_timezone(&Paris);
    format!("{} à {}", day(paris.date_naive()), paris.format("%H:%M"))
}

/// `12 mars 2026 à 10:42:05` (Paris time).
pub fn moment_seconds(at: DateTime<Utc>) -> String {
    let paris = at.with_timezone(&Paris);
    format!("{} à {}", day(paris.date_naive()), paris.format("%H:%M:%S"))
}

/// For a `datetime` attribute.
pub fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `lundi` for `mon` (read as a maintenance window reads it); `None` for anything else.
pub fn weekday(code: &str) -> Option<&'static str> {
    let day = code.parse::<Weekday>().ok()?;
    WEEKDAYS.get(day.num_days_from_monday() as usize).copied()
}

/// `ok` checks out of `ok + down` as a percentage rounded down to the hundredth, so
/// that 100 % means every check: `99,95 %`, `50 %`; `None` when nothing was measured.
pub fn percent(ok: i64, down: i64) -> Option<String> {
    let (ok, down) = (i128::from(ok.max(0)), i128::from(down.max(0)));
    let measured = ok + down;
    if measured == 0 {
        return None;
    }
    let hundredths = ok * 10_000 / measured;
    let (whole, fraction) = (hundredths / 100, hundredths % 100);
    Some(match fraction {
        0 => format!("{whole}\u{a0}%"),
        f if f % 10 == 0 => format!("{whole},{}\u{a0}%", f / 10),
        f => format!("{whole},{f:02}\u{a0}%"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn days_and_times_are_french_in_paris_time() {
        let d = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
        assert_eq!(day(d), "1er mai 2026");
        assert_eq!(moment(utc("2026-08-14T22:30:00Z")), "15 août 2026 à 00:30");
        assert_eq!(
            moment_seconds(utc("2026-01-10T09:05:07Z")),
            "10 janvier 2026 à 10:05:07"
        );
        assert_eq!(
            paris_day(utc("2026-03-28T23:30:00Z")),
            NaiveDate::from_ymd_opt(2026, 3, 29).unwrap()
        );
    }

    #[test]
    fn shares_round_down_so_that_100_means_every_check() {
        assert_eq!(percent(3, 0).as_deref(), Some("100\u{a0}%"));
        assert_eq!(percent(1, 1).as_deref(), Some("50\u{a0}%"));
        assert_eq!(percent(2, 1).as_deref(), Some("66,66\u{a0}%"));
        assert_eq!(percent(199, 1).as_deref(), Some("99,5\u{a0}%"));
        assert_eq!(percent(9_999_999, 1).as_deref(), Some("99,99\u{a0}%"));
        assert_eq!(percent(29, 71).as_deref(), Some("29\u{a0}%"));
        assert_eq!(percent(0, 4).as_deref(), Some("0\u{a0}%"));
        assert_eq!(percent(0, 0), None);
        assert_eq!(percent(i64::MAX, i64::MAX).as_deref(), Some("50\u{a0}%"));
    }

    #[test]
    fn weekdays_read_as_windows_read_them() {
        assert_eq!(weekday("sun"), Some("dimanche"));
        assert_eq!(weekday("Monday"), Some("lundi"));
        assert_eq!(weekday("xyz"), None);
    }
}
