//! Fixtures shared by the integration tests.

use std::collections::HashSet;

use chrono::NaiveDate;
use passerelle_mail::{Bouquet, Context, Letter};

pub fn context(bouquet: Bouquet) -> Context {
    let label = match bouquet {
        Bouquet::Particulier => "API Particulier",
        Bouquet::Entreprise => "API Entreprise",
    };
    Context {
        bouquet_label: label.to_owned(),
        bouquet,
        demande_title: "Tarification sociale de la cantine".to_owned(),
        demande_number: 1287,
        demande_url: "https://habilitation.example/demandes/1287".to_owned(),
        token_url: "https://habilitation.example/jetons/1287".to_owned(),
        portal_url: "https://habilitation.example".to_owned(),
        expires_on: NaiveDate::from_ymd_opt(2027, 3, 1),
    }
}

/// Lower-cased addresses of every recipient of every letter, checking on the way
/// that nobody appears twice, in one letter or across them.
pub fn reached_once(letters: &[Letter]) -> HashSet<String> {
    let mut reached = HashSet::new();
    for letter in letters {
        for address in letter.recipients() {
            assert!(
                reached.insert(address.email.to_lowercase()),
                "{} is written to twice: {letters:#?}",
                address.email
            );
        }
    }
    reached
}
