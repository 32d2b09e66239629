//! Percentiles: estimated from a latency histogram (the rollups keep no single
//! duration), and exact over a list (instruction times).

use passerelle_store::{Histogram, LATENCY_BOUNDS_MS};

/// The `p`-quantile (`0 < p <= 1`) of the calls `histogram` counts, in ms; `None`
/// when it counts none.
///
/// The nearest-rank call (the `⌈p·n⌉`-th fastest) falls in a known bucket; the
/// estimate places it within that bucket as if the bucket's calls were spread evenly,
/// so it is never outside the bucket the true value is in. In the last bucket, which
/// has no upper bound, the estimate is its lower bound: the quantile is at least that.
pub fn estimate(histogram: &Histogram, p: f64) -> Option<f64> {
    let total = histogram.total();
    if total == 0 || p.is_nan() {
        return None;
    }
    let rank = nearest_rank(total, p);
    let mut below = 0u64;
    for (i, &n) in histogram.0.iter().enumerate() {
        if n > 0 && below + n >= rank {
            let (lo, hi) = bounds(i);
            let Some(hi) = hi else {
                return Some(lo);
            };
            let within = (rank - below) as f64 - 0.5;
            return Some(lo + (hi - lo) * within / n as f64);
        }
        below += n;
    }
    None
}

/// The bucket `i` spans `[lo, hi)` ms; the last one has no `hi`.
pub fn bounds(i: usize) -> (f64, Option<f64>) {
    let lo = i.checked_sub(1).map_or(0.0, |j| f64::from(LATENCY_BOUNDS_MS[j]));
    (lo, LATENCY_BOUNDS_MS.get(i).map(|b| f64::from(*b)))
}

/// The 1-based rank of the `p`-quantile of `n` values: `⌈p·n⌉`, within `1..=n`.
fn nearest_rank(n: u64, p: f64) -> u64 {
    let rank = (p.clamp(0.0, 1.0) * n as f64).ceil() as u64;
    rank.clamp(1, n)
}

/// The exact nearest-rank `p`-quantile of `values`; `None` when there are none.
pub fn exact(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() || p.is_nan() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = nearest_rank(values.len() as u64, p);
    values.get(usize::try_from(rank - 1).ok()?).copied()
}

#[cfg(test)]
mod tests {
    use passerelle_store::LATENCY_BUCKETS;
    use proptest::prelude::*;

    use super::*;

    fn of(samples: &[f64]) -> Histogram {
        let mut h = Histogram::default();
        for s in samples {
            h.record(*s);
        }
        h
    }

    #[test]
    fn one_bucket_spreads_its_calls_evenly() {
        // Ten calls in [100, 250): the 5th is placed at 45 % of the bucket.
        let h = of(&[120.0; 10]);
        assert_eq!(estimate(&h, 0.5), Some(167.5));
        assert_eq!(estimate(&h, 1.0), Some(242.5));
        assert_eq!(estimate(&h, 0.0), Some(107.5));
    }

    #[test]
    fn the_quantile_lands_in_the_right_bucket() {
        let h = of(&[1.0, 2.0, 3.0, 60.0, 70.0, 80.0, 90.0, 3_000.0, 4_000.0, 20_000.0]);
        let p50 = estimate(&h, 0.5).unwrap();
        assert!((50.0..100.0).contains(&p50), "{p50}");
        let p80 = estimate(&h, 0.8).unwrap();
        assert!((2_500.0..5_000.0).contains(&p80), "{p80}");
        // The slowest is beyond the last bound: its estimate is that bound.
        assert_eq!(estimate(&h, 1.0), Some(10_000.0));
    }

    #[test]
    fn nothing_counted_gives_no_estimate() {
        assert_eq!(estimate(&Histogram::default(), 0.5), None);
        assert_eq!(estimate(&of(&[1.0]), f64::NAN), None);
        assert_eq!(exact(&mut [], 0.5), None);
    }

    #[test]
    fn exact_quantiles_take_the_nearest_rank() {
        let mut days = [5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(exact(&mut days, 0.5), Some(3.0));
        assert_eq!(exact(&mut days, 0.8), Some(4.0));
        assert_eq!(exact(&mut days, 0.0), Some(1.0));
        assert_eq!(exact(&mut days, 1.0), Some(5.0));
    }

    fn samples() -> impl Strategy<Value = Vec<f64>> {
        prop::collection::vec(prop_oneof![0.0..20.0f64, 0.0..1_500.0f64, 0.0..30_000.0f64], 1..300)
    }

    proptest! {
        #[test]
        fn the_estimate_is_in_the_bucket_of_the_true_quantile(values in samples(), p in 0.0..=1.0f64) {
            let estimate = estimate(&of(&values), p).unwrap();
            let truth = exact(&mut values.clone(), p).unwrap();
            let (lo, hi) = bounds(Histogram::bucket(truth));
            prop_assert!(estimate >= lo, "{estimate} below {lo} (truth {truth})");
            match hi {
                Some(hi) => prop_assert!(estimate < hi, "{estimate} not below {hi} (truth {truth})"),
                None => prop_assert_eq!(estimate, lo),
            }
        }

        #[test]
        fn estimates_grow_with_p(values in samples(), p in 0.0..=1.0f64, q in 0.0..=1.0f64) {
            let h = of(&values);
            let (low, high) = if p <= q { (p, q) } else { (q, p) };
            prop_assert!(estimate(&h, low).unwrap() <= estimate(&h, high).unwrap());
        }

        #[test]
        fn estimates_stay_within_the_histograms_range(counts in prop::array::uniform12(0u64..1_000), p in 0.0..=1.0f64) {
            let h = Histogram(counts);
            match estimate(&h, p) {
                None => prop_assert_eq!(h.total(), 0),
                Some(ms) => {
                    let last = f64::from(LATENCY_BOUNDS_MS[LATENCY_BUCKETS - 2]);
                    prop_assert!((0.0..=last).contains(&ms), "{ms}");
                }
            }
        }
    }
}
