//! The DSS upstream's query string.

use passerelle_core::identity::FRANCE;
use passerelle_core::translit::fold;
use passerelle_core::Civility;

use crate::Extras;

/// Query pairs as the upstream expects them. Names are sent without accents; the
/// commune code only for people born in France (the upstream resolves names itself).
pub fn query(civility: &Civility, resource: &str, extras: &Extras) -> Vec<(&'static str, String)> {
    let mut pairs = Vec::with_capacity(12);
    if let Some(nom_usage) = &civility.nom_usage {
        pairs.push(("nomUsage", fold(nom_usage)));
    }
    pairs.push(("nomNaissance", fold(&civility.nom_naissance)));
    if !civility.prenoms.is_empty() {
        pairs.push(("listePrenoms", fold(&civility.prenoms.join(" "))));
    }
    pairs.push(("dateNaissance", civility.naissance.formatted()));
    if civility.code_pays_naissance == FRANCE {
        if let Some(code) = &civility.code_commune_naissance {
            pairs.push(("codeLieuNaissance", code.clone()));
        }
    }
    pairs.push(("codePaysNaissance", civility.code_pays_naissance.clone()));
    if let Some(ville) = &civility.nom_commune_naissance {
        pairs.push(("villeNaissance", ville.clone()));
    }
    if let Some(dep) = &civility.code_departement_naissance {
        pairs.push(("depNaissance", dep.clone()));
    }
    if let Some(sexe) = civility.sexe {
        pairs.push(("genre", sexe.as_str().to_string()));
    }
    if resource == "quotient_familial" {
        if let (Some(annee), Some(mois)) = (extras.get("annee"), extras.get("mois")) {
            pairs.push(("anneeDemandee", annee.clone()));
            pairs.push(("moisDemande", format!("{:0>2}", mois)));
        }
    }
    pairs
}
