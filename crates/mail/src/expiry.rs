//! When token expiry notices are sent.

/// Days before expiry at which a notice is due, largest first. The job that sends
/// notices and the wording of the notices both read this one list.
pub const EXPIRY_NOTICE_DAYS: [i64; 6] = [90, 60, 30, 15, 7, 0];

/// The notice to send now for a token expiring in `days_left` days (negative once
/// expired), given the thresholds already notified since the token was issued or
/// last prolonged.
///
/// Only the nearest due threshold is ever returned, never a backlog: a token issued
/// 20 days before expiry gets the J-30 notice at once (its wording gives the real
/// 20 days), then J-15, J-7, J-0. Nothing is returned once that threshold or a
/// nearer one was sent, so a job that was down never sends stale, larger notices.
pub fn due_notice(days_left: i64, already_sent: &[i64]) -> Option<i64> {
    let nearest = EXPIRY_NOTICE_DAYS
        .iter()
        .copied()
        .filter(|&threshold| threshold >= days_left)
        .min()?;
    let superseded = already_sent.iter().any(|&sent| sent <= nearest);
    (!superseded).then_some(nearest)
}

/// The threshold of the notice that follows one sent with `days_left` days left.
pub(crate) fn next_notice(days_left: i64) -> Option<i64> {
    EXPIRY_NOTICE_DAYS
        .iter()
        .copied()
        .filter(|&threshold| threshold < days_left)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_notice_table() {
        let cases: &[(i64, &[i64], Option<i64>)] = &[
            (120, &[], None),
            (91, &[], None),
            (90, &[], Some(90)),
            (89, &[90], None),
            (60, &[90], Some(60)),
            (45, &[90, 60], None),
            (30, &[90, 60], Some(30)),
            (20, &[], Some(30)),
            (16, &[90, 60, 30], None),
            (15, &[90, 60, 30], Some(15)),
            (14, &[90, 60, 30], Some(15)),
            (14, &[90, 60, 30, 15], None),
            (7, &[15], Some(7)),
            (3, &[15, 7], None),
            (0, &[15, 7], Some(0)),
            (0, &[0], None),
            (-4, &[7], Some(0)),
            (-4, &[0], None),
            // A job down for weeks sends the nearest notice only.
            (6, &[90], Some(7)),
            // Never a notice larger than one already sent.
            (25, &[15], None),
        ];
        for &(days_left, sent, expected) in cases {
            assert_eq!(
                due_notice(days_left, sent),
                expected,
                "days_left {days_left}, already sent {sent:?}"
            );
        }
    }

    #[test]
    fn every_threshold_is_sent_once_when_checked_daily() {
        let mut sent = Vec::new();
        for days_left in (-3..=100).rev() {
            if let Some(threshold) = due_notice(days_left, &sent) {
                assert_eq!(threshold, days_left, "sent on its day");
                sent.push(threshold);
            }
        }
        assert_eq!(sent, EXPIRY_NOTICE_DAYS);
    }

    #[test]
    fn next_notice_follows_the_schedule() {
        assert_eq!(next_notice(90), Some(60));
        assert_eq!(next_notice(20), Some(15));
        assert_eq!(next_notice(7), Some(0));
        assert_eq!(next_notice(0), None);
    }
}
