//! A FranceConnect identity as the v3 identity parameters that the
//! `*_with_france_connect` case folders record (contract §6: gender male → M, else F;
//! birthdate → year, month, day; birthplace → commune code; birthcountry → country
//! code; `given_name` → `prenoms`).

use passerelle_core::Query;
use serde_json::{Map, Value};

use crate::params::{self, Params};

pub fn from_introspection(claims: &Map<String, Value>) -> Params {
    let text = |key: &str| claims.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
    // The contract splits `given_name` on spaces; `given_name_array` stands in when it is
    // missing. Lists compare as their items joined by a space, so both give one value.
    let prenoms = match claims.get("given_name").and_then(Value::as_str) {
        Some(given) => given.to_string(),
        None => claims
            .get("given_name_array")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" "),
    };
    let birthdate = text("birthdate");
    let mut date = birthdate.splitn(3, '-');
    let (annee, mois, jour) = (date.next(), date.next(), date.next());
    let sexe = match text("gender").as_str() {
        "" => "",
        "male" => "M",
        _ => "F",
    };
    let pairs = [
        ("nomNaissance", text("family_name")),
        ("prenoms", prenoms),
        ("anneeDateNaissance", annee.unwrap_or_default().to_string()),
        ("moisDateNaissance", mois.unwrap_or_default().to_string()),
        ("jourDateNaissance", jour.unwrap_or_default().to_string()),
        ("sexeEtatCivil", sexe.to_string()),
        ("codeCogInseeCommuneNaissance", text("birthplace")),
        ("codeCogInseePaysNaissance", text("birthcountry")),
    ];
    params::from_query(&Query::new(
        pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn introspection_claims_become_v3_parameters() {
        let claims = serde_json::json!({
            "gender": "female", "family_name": "DUBOIS", "given_name": "Angela Claire",
            "given_name_array": ["Angela", "Claire"], "birthdate": "1962-08-04",
            "birthplace": "75107", "birthcountry": "99100"
        });
        let identity = from_introspection(claims.as_object().unwrap());
        let expected = params::from_query(&Query::from_pairs(&[
            ("nomNaissance", "dubois"),
            ("prenoms[]", "angela"),
            ("prenoms[]", "claire"),
            ("anneeDateNaissance", "1962"),
            ("moisDateNaissance", "8"),
            ("jourDateNaissance", "4"),
            ("sexeEtatCivil", "F"),
            ("codeCogInseeCommuneNaissance", "75107"),
            ("codeCogInseePaysNaissance", "99100"),
        ]));
        assert_eq!(identity, expected);
    }

    #[test]
    fn missing_claims_are_left_out() {
        let claims = serde_json::json!({"family_name": "X", "given_name": "Jean Paul", "birthplace": ""});
        let identity = from_introspection(claims.as_object().unwrap());
        assert_eq!(identity.len(), 2);
        assert_eq!(identity["prenoms"], "jean paul");
    }
}
