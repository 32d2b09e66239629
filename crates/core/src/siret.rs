//! SIRET of the administration receiving the data (`recipient`).

use std::fmt;

/// A SIRET that passed the contract's check: 14 digits and a Luhn checksum,
/// except La Poste's establishments (prefix 356000000), which have no valid Luhn.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Siret(String);

const LA_POSTE_PREFIX: &str = "356000000";

impl Siret {
    pub fn parse(raw: &str) -> Option<Siret> {
        let digits_only = raw.len() == 14 && raw.bytes().all(|b| b.is_ascii_digit());
        if !digits_only {
            return None;
        }
        if raw.starts_with(LA_POSTE_PREFIX) || luhn_valid(raw) {
            Some(Siret(raw.to_string()))
        } else {
            None
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Siret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Luhn over ASCII digits (callers check the shape first).
pub(crate) fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_dinum_siret() {
        assert!(Siret::parse("13002526500013").is_some());
    }

    #[test]
    fn rejects_bad_checksum_and_shapes() {
        assert!(Siret::parse("13002526500014").is_none());
        assert!(Siret::parse("1300252650001").is_none());
        assert!(Siret::parse("1300252650001a").is_none());
        assert!(Siret::parse("").is_none());
    }

    #[test]
    fn la_poste_skips_luhn() {
        assert!(Siret::parse("35600000000048").is_some());
        assert!(Siret::parse("35600000012345").is_some());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = Siret::parse(&s);
        }

        #[test]
        fn one_changed_digit_breaks_luhn(pos in 0usize..14, delta in 1u8..10) {
            let base = b"13002526500013".to_vec();
            let mut changed = base.clone();
            changed[pos] = b'0' + (base[pos] - b'0' + delta) % 10;
            let s = String::from_utf8(changed).unwrap();
            prop_assert!(Siret::parse(&s).is_none());
        }
    }
}
