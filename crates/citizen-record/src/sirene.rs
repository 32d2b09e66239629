//! Organisation names from INSEE Sirene (the API Entreprise provider's client),
//! remembered for a day: a page shows a handful of SIRETs, read again and again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use passerelle_core::Siret;
use passerelle_entreprise_providers::insee::InseeProvider;

use crate::describe::{Directory, Named};

const KEPT: Duration = Duration::from_secs(24 * 3600);
/// Past this many names the memory starts again rather than grows.
const MOST: usize = 10_000;

pub struct Sirene {
    insee: InseeProvider,
    names: Mutex<HashMap<String, (Option<String>, Instant)>>,
}

impl Sirene {
    pub fn new(insee: InseeProvider) -> Sirene {
        Sirene {
            insee,
            names: Mutex::new(HashMap::new()),
        }
    }

    fn remembered(&self, siret: &str) -> Option<Option<String>> {
        let names = self.names.lock().expect("names");
        let (name, at) = names.get(siret)?;
        (at.elapsed() < KEPT).then(|| name.clone())
    }

    fn remember(&self, siret: &str, name: Option<String>) {
        let mut names = self.names.lock().expect("names");
        if names.len() >= MOST {
            names.clear();
        }
        names.insert(siret.to_string(), (name, Instant::now()));
    }
}

impl Directory for Sirene {
    fn name<'a>(&'a self, siret: &'a str) -> Named<'a> {
        Box::pin(async move {
            // Only a well-formed SIRET goes upstream: the journal's recipient was checked,
            // but a page never sends what it did not check itself.
            Siret::parse(siret)?;
            if let Some(name) = self.remembered(siret) {
                return name;
            }
            let name = self.insee.organisation_name(siret).await;
            self.remember(siret, name.clone());
            name
        })
    }
}
