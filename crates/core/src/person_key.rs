//! The key that lets a citizen find the calls made about them ("Qui a consulté mes
//! données ?"). At call time the gateway derives it from the identity pivot; the
//! citizen's page derives it from the FranceConnect identity. Both must agree on the
//! same person however the names were written, and it must name nobody without the
//! server's secret: an HMAC-SHA-256 over a normalised rendering.
//!
//! What is kept: the birth name, the first given name (the providers match on it)
//! and the birth date. The sex and the birth place are left out: the answers that give
//! an identity back (an INE's) do not carry them, and FranceConnect gives the place as
//! a code a caller may have sent as a commune name. docs/citizen-record.md weighs what this
//! costs (namesakes born the same day) against what it reaches.

use ring::hmac;

use crate::identity::{BirthDate, Civility};
use crate::translit;

/// A person's lookup key, hex. Equal keys mean "the same person" as far as the
/// gateway can tell.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PersonKey(String);

impl PersonKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// The parts of an identity the key covers, as given (any case, accents, spacing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedIdentity<'a> {
    pub birth_name: &'a str,
    /// Every given name, in order; a single value may hold several separated by spaces.
    pub given_names: &'a [String],
    pub birth_date: BirthDate,
}

impl<'a> KeyedIdentity<'a> {
    pub fn of(civility: &'a Civility) -> KeyedIdentity<'a> {
        KeyedIdentity {
            birth_name: &civility.nom_naissance,
            given_names: &civility.prenoms,
            birth_date: civility.naissance,
        }
    }

    /// The normalised text the key is computed over; `None` when there is too little
    /// to tell a person (no birth name, no given name or no birth year).
    pub fn normalised(&self) -> Option<String> {
        let name = squeeze(self.birth_name);
        let first = self
            .given_names
            .iter()
            .flat_map(|g| g.split_whitespace())
            .next()
            .map(squeeze)?;
        if name.is_empty() || first.is_empty() || self.birth_date.annee.is_none() {
            return None;
        }
        Some(format!("v1|{name}|{first}|{}", self.birth_date.formatted()))
    }

    pub fn key(&self, secret: &[u8]) -> Option<PersonKey> {
        let text = self.normalised()?;
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), text.as_bytes());
        Some(PersonKey(hex(tag.as_ref())))
    }
}

/// Upper-case ASCII letters only: accents folded, spaces, hyphens and apostrophes
/// dropped, so that `de la Fontaine`, `DE-LA-FONTAINE` and `Délafontaine` agree.
fn squeeze(value: &str) -> String {
    translit::fold(value)
        .chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SECRET: &[u8] = b"a secret of the deployment";

    fn date(annee: u16, mois: u8, jour: u8) -> BirthDate {
        BirthDate {
            annee: Some(annee),
            mois: Some(mois),
            jour: Some(jour),
        }
    }

    fn key(name: &str, given: &[&str]) -> Option<PersonKey> {
        let given: Vec<String> = given.iter().map(|g| g.to_string()).collect();
        KeyedIdentity {
            birth_name: name,
            given_names: &given,
            birth_date: date(1980, 6, 12),
        }
        .key(SECRET)
    }

    #[test]
    fn accents_case_spaces_and_hyphens_do_not_change_the_key() {
        let plain = key("DE LA FONTAINE", &["ELODIE"]);
        assert!(plain.is_some());
        for (name, given) in [
            ("de la Fontaine", "Élodie"),
            ("De-La-Fontaine", "élodie"),
            ("  DE  LA FONTAINE ", " ÉLODIE "),
            ("D'ELAFONTAINE", "Elodie"),
        ] {
            assert_eq!(key(name, &[given]), plain, "{name} {given}");
        }
    }

    #[test]
    fn only_the_first_given_name_counts_whichever_way_the_list_is_sent() {
        let one = key("MARTIN", &["Jean-Pierre"]);
        assert_eq!(key("MARTIN", &["Jean-Pierre", "Marie"]), one);
        assert_eq!(key("MARTIN", &["Jean-Pierre Marie"]), one);
        assert_eq!(key("MARTIN", &["JEANPIERRE"]), one);
        // Providers match on the first given name: another order is another person.
        assert_ne!(key("MARTIN", &["Marie", "Jean-Pierre"]), one);
        assert_ne!(key("MARTIN", &["Jean"]), one);
    }

    #[test]
    fn every_part_tells_people_apart() {
        let base = key("MARTIN", &["Paul"]);
        assert_ne!(key("MARTINS", &["Paul"]), base);
        assert_ne!(key("MARTIN", &["Paule"]), base);
        let given = vec!["Paul".to_string()];
        let other_day = KeyedIdentity {
            birth_name: "MARTIN",
            given_names: &given,
            birth_date: date(1980, 6, 13),
        };
        assert_ne!(other_day.key(SECRET), base);
    }

    #[test]
    fn another_secret_gives_another_key_and_too_little_gives_none() {
        let given = vec!["Paul".to_string()];
        let paul = KeyedIdentity {
            birth_name: "MARTIN",
            given_names: &given,
            birth_date: date(1980, 6, 12),
        };
        assert_ne!(paul.key(b"another secret"), paul.key(SECRET));
        assert_eq!(paul.key(SECRET).unwrap().as_str().len(), 64);
        assert!(key("MARTIN", &[]).is_none());
        assert!(key("'-", &["Paul"]).is_none());
        let no_year = KeyedIdentity {
            birth_date: BirthDate::default(),
            ..paul
        };
        assert!(no_year.key(SECRET).is_none());
    }

    fn accented(c: char) -> String {
        match c {
            'E' => "É".into(),
            'A' => "à".into(),
            'C' => "ç".into(),
            other => other.to_ascii_lowercase().to_string(),
        }
    }

    proptest! {
        #[test]
        fn writing_variants_of_one_name_share_a_key(
            name in "[A-Z]{1,12}( [A-Z]{1,8}){0,2}",
            given in "[A-Z]{1,10}",
            more in proptest::collection::vec("[A-Z]{1,10}", 0..3),
            hyphen in proptest::bool::ANY,
        ) {
            let written: String = name.chars().map(accented).collect();
            let written = if hyphen { written.replace(' ', "-") } else { written };
            let mut list = vec![given.clone()];
            list.extend(more.iter().cloned());
            let joined = [list.join(" ")];
            let canonical = key(&name, &[&given]);
            let as_list: Vec<&str> = list.iter().map(String::as_str).collect();
            prop_assert_eq!(key(&written, &as_list), canonical.clone());
            let lower = given.to_lowercase();
            prop_assert_eq!(key(&name, &[&lower]), canonical.clone());
            let joined: Vec<&str> = joined.iter().map(String::as_str).collect();
            prop_assert_eq!(key(&name, &joined), canonical);
        }

        #[test]
        fn the_key_never_panics_and_is_hex(name in ".{0,40}", given in proptest::collection::vec(".{0,20}", 0..4)) {
            let identity = KeyedIdentity {
                birth_name: &name,
                given_names: &given,
                birth_date: date(1990, 1, 1),
            };
            if let Some(k) = identity.key(SECRET) {
                prop_assert!(k.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
            }
        }
    }
}
