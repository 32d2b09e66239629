//! The spike rule, on the hourly rollups.
//!
//! The window is the rollup hours that overlap the last 60 minutes: the current hour
//! and the one before (60 to 120 minutes of calls, so a burst across the top of an
//! hour is seen whole). The usual level is the refusals of the 7 days (168 hours)
//! before the window, an hour on average. A spike is at least `spike_min_calls`
//! refusals in the window, and more than `spike_factor` times the usual level.

use chrono::{DateTime, Duration, DurationRound, Utc};

use crate::Rules;

/// Hours of the baseline before the window.
pub const BASELINE_HOURS: i64 = 7 * 24;

/// The start of the window at `now`: the previous hour's start.
pub fn window_start(now: DateTime<Utc>) -> DateTime<Utc> {
    let hour = now.duration_trunc(Duration::hours(1)).unwrap_or(now);
    hour - Duration::hours(1)
}

/// The start of the baseline before a window starting at `window`.
pub fn baseline_start(window: DateTime<Utc>) -> DateTime<Utc> {
    window - Duration::hours(BASELINE_HOURS)
}

/// The usual refusals an hour, from the baseline's total.
pub fn usual(baseline_total: u64) -> f64 {
    baseline_total as f64 / BASELINE_HOURS as f64
}

/// Whether `recent` refusals in the window, against `baseline_total` over the 7 days
/// before it, are a spike.
pub fn is_spike(recent: u64, baseline_total: u64, rules: &Rules) -> bool {
    recent >= rules.spike_min_calls && recent as f64 > rules.spike_factor * usual(baseline_total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            spike_min_calls: 50,
            spike_factor: 10.0,
            ..Rules::default()
        }
    }

    #[test]
    fn a_quiet_token_spikes_at_the_minimum() {
        assert!(!is_spike(49, 0, &rules()), "under the minimum");
        assert!(is_spike(50, 0, &rules()));
    }

    #[test]
    fn a_noisy_token_needs_more_than_factor_times_its_usual_level() {
        // 10 refusals an hour on average: a spike is over 100.
        let week = 10 * BASELINE_HOURS as u64;
        assert!(!is_spike(100, week, &rules()));
        assert!(is_spike(101, week, &rules()));
        // Under the minimum however noisy the past was not.
        assert!(!is_spike(40, 0, &rules()));
    }

    #[test]
    fn the_usual_level_is_an_hourly_mean_over_the_week() {
        assert_eq!(usual(168), 1.0);
        assert_eq!(usual(0), 0.0);
    }

    #[test]
    fn the_window_is_the_current_hour_and_the_one_before() {
        let now: DateTime<Utc> = "2026-12-06T14:05:30Z".parse().unwrap();
        let start = window_start(now);
        assert_eq!(start, "2026-12-06T13:00:00Z".parse::<DateTime<Utc>>().unwrap());
        assert_eq!(
            baseline_start(start),
            "2026-11-29T13:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }
}
