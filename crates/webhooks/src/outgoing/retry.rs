use std::time::Duration;

use rand::Rng;

/// When to try a failed delivery again: exponential backoff with full jitter (the wait
/// is drawn uniformly between zero and the ceiling, so receivers coming back up are not
/// hit by every sender at once), and a dead letter after `max_attempts`.
///
/// The ceiling after the n-th failed attempt is `min(cap, base × 2^(n−1))`. With the
/// defaults (8 attempts, 30 s, 6 h) the ceilings after attempts 1 to 7 are 30 s, 1 min,
/// 2 min, 4 min, 8 min, 16 min and 32 min, then the 8th failure is final: at most
/// 63½ min, about 32 min on average, from the first attempt to the dead letter. The
/// 6 h cap only bites from the 11th attempt, so it matters when `max_attempts` is raised
/// (15 attempts cover about 32 h at most).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base: Duration::from_secs(30),
            cap: Duration::from_secs(6 * 3600),
        }
    }
}

impl RetryPolicy {
    /// The wait before the next attempt, given how many were made; `None` once
    /// `max_attempts` were made: the delivery goes to the dead letters. Before any
    /// attempt the wait is zero.
    pub fn next_attempt(&self, attempts_made: u32, rng: &mut impl Rng) -> Option<Duration> {
        if attempts_made >= self.max_attempts {
            return None;
        }
        let ceiling = self.ceiling(attempts_made).as_millis();
        let millis = rng.gen_range(0..=u64::try_from(ceiling).unwrap_or(u64::MAX));
        Some(Duration::from_millis(millis))
    }

    /// The longest wait after `attempts_made` attempts (zero before the first).
    pub fn ceiling(&self, attempts_made: u32) -> Duration {
        let Some(doublings) = attempts_made.checked_sub(1) else {
            return Duration::ZERO;
        };
        let factor = 1u32.checked_shl(doublings).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn the_default_schedule() {
        let policy = RetryPolicy::default();
        let minutes: Vec<f64> = (1..8).map(|n| policy.ceiling(n).as_secs_f64() / 60.0).collect();
        assert_eq!(minutes, [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]);
        assert_eq!(policy.ceiling(0), Duration::ZERO);
    }

    #[test]
    fn grows_until_the_cap_then_stops() {
        let policy = RetryPolicy {
            max_attempts: 40,
            ..RetryPolicy::default()
        };
        let mut rng = StdRng::seed_from_u64(7);
        let mut previous = Duration::ZERO;
        for attempts in 1..40 {
            let ceiling = policy.ceiling(attempts);
            assert!(ceiling >= previous && ceiling <= policy.cap);
            if previous < policy.cap {
                assert!(ceiling > previous, "grows before the cap");
            }
            for _ in 0..50 {
                let wait = policy.next_attempt(attempts, &mut rng).unwrap();
                assert!(wait <= ceiling);
            }
            previous = ceiling;
        }
        assert_eq!(previous, policy.cap);
        assert_eq!(policy.next_attempt(40, &mut rng), None);
        assert_eq!(policy.next_attempt(41, &mut rng), None);
    }

    #[test]
    fn jitter_spreads_the_waits() {
        let policy = RetryPolicy::default();
        let mut rng = StdRng::seed_from_u64(1);
        let waits: Vec<Duration> = (0..200).map(|_| policy.next_attempt(5, &mut rng).unwrap()).collect();
        let ceiling = policy.ceiling(5);
        assert!(waits.iter().any(|w| *w < ceiling / 4));
        assert!(waits.iter().any(|w| *w > ceiling * 3 / 4));
    }

    #[test]
    fn dead_letter_at_max_attempts() {
        let policy = RetryPolicy::default();
        let mut rng = StdRng::seed_from_u64(3);
        assert!(policy.next_attempt(7, &mut rng).is_some());
        assert_eq!(policy.next_attempt(8, &mut rng), None);
    }

    #[test]
    fn huge_counts_do_not_overflow() {
        let policy = RetryPolicy {
            max_attempts: u32::MAX,
            base: Duration::from_secs(u64::MAX / 2),
            cap: Duration::MAX,
        };
        assert_eq!(policy.ceiling(u32::MAX - 1), Duration::MAX);
        assert!(policy.next_attempt(100, &mut StdRng::seed_from_u64(0)).is_some());
    }
}
