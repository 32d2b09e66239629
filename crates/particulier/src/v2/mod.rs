//! API Particulier v2, the legacy surface that much client software still calls:
//! `/api/v2/...` paths, the key in `X-Api-Key`, v2 parameter names, v2 bodies and the
//! flat error `{"error", "reason", "message"}`. Each v2 route is served by today's
//! endpoint of the same data (same providers, cache, limits, journal); this module says
//! which, and how parameters, answers and errors translate.

mod render;

use passerelle_bouquet::legacy::{Answered, Legacy, LegacyRoute, Retired, Target, When};
use passerelle_bouquet::Endpoint;
use passerelle_core::{ApiError, Query};
use serde_json::{json, Value};

/// The v2 surface of API Particulier.
pub fn legacy() -> Legacy {
    Legacy {
        routes: routes(),
        retired: RETIRED,
        error,
        default_purpose: Some("recipient"),
    }
}

/// Routes gone from the real service; their callers get 410 and where to go.
pub const RETIRED: &[Retired] = &[
    Retired {
        path: "/api/v2/composition-familiale",
        message: "Cette route est fermée depuis le 31 octobre 2025 : le quotient familial par numéro d'allocataire n'est plus servi par la CNAF. Utilisez /api/v2/composition-familiale-v2 (identité) ou /v3/dss/quotient_familial/identite.\n",
    },
    Retired {
        path: "/api/caf/famille",
        message: "Cette route est fermée : utilisez /v3/dss/quotient_familial/identite.\n",
    },
    Retired {
        path: "/api/impots/svair",
        message: "Cette route est fermée : l'avis d'impôt n'est plus servi par API Particulier.\n",
    },
    Retired {
        path: "/api/v2/avis-imposition",
        message: "Cette route est fermée : l'avis d'impôt n'est plus servi par API Particulier.\n",
    },
];

/// A route whose v2 body comes from today's `data` alone.
macro_rules! from_data {
    ($render:path) => {
        |answered: &Answered| $render(answered.data)
    };
}

fn routes() -> Vec<LegacyRoute> {
    let dss = |path, operation_id, resource: &str, render: fn(&Answered) -> Value| LegacyRoute {
        path,
        operation_id,
        targets: vec![
            target(&format!("dss/{resource}"), "france_connect", 3, When::FranceConnect),
            target(&format!("dss/{resource}"), "identite", 3, When::Otherwise),
        ],
        parameters: dss_parameters,
        render,
    };
    let students = |path, operation_id, provider_path: &str, render: fn(&Answered) -> Value| LegacyRoute {
        path,
        operation_id,
        targets: vec![
            target(provider_path, "france_connect", 3, When::FranceConnect),
            target(provider_path, "ine", 3, When::Param("ine")),
            target(provider_path, "identite", 3, When::Otherwise),
        ],
        parameters: student_parameters,
        render,
    };
    vec![
        dss(
            "/api/v2/allocation-adulte-handicape",
            "api_particulier_v2_cnav_allocation_adulte_handicape",
            "allocation_adulte_handicape",
            from_data!(render::allocation_adulte_handicape),
        ),
        dss(
            "/api/v2/allocation-soutien-familial",
            "api_particulier_v2_cnav_allocation_soutien_familial",
            "allocation_soutien_familial",
            from_data!(render::allocation_soutien_familial),
        ),
        dss(
            "/api/v2/complementaire-sante-solidaire",
            "api_particulier_v2_cnav_complementaire_sante_solidaire",
            "complementaire_sante_solidaire",
            from_data!(render::complementaire_sante_solidaire),
        ),
        dss(
            "/api/v2/prime-activite",
            "api_particulier_v2_cnav_prime_activite",
            "prime_activite",
            from_data!(render::prime_activite),
        ),
        dss(
            "/api/v2/composition-familiale-v2",
            "api_particulier_v2_cnav_quotient_familial_v2",
            "quotient_familial",
            from_data!(render::quotient_familial),
        ),
        dss(
            "/api/v2/revenu-solidarite-active",
            "api_particulier_v2_cnav_revenu_solidarite_active",
            "revenu_solidarite_active",
            from_data!(render::revenu_solidarite_active),
        ),
        LegacyRoute {
            path: "/api/v2/scolarites",
            operation_id: "api_particulier_v2_men_scolarites",
            targets: vec![target("men/scolarites", "identite", 3, When::Otherwise)],
            parameters: men_parameters,
            render: from_data!(render::scolarites),
        },
        LegacyRoute {
            path: "/api/v2/paiements-pole-emploi",
            operation_id: "api_particulier_v2_pole_emploi_indemnites",
            targets: vec![target("france_travail/indemnites", "identifiant", 3, When::Otherwise)],
            parameters: Query::clone,
            render: from_data!(render::paiements_france_travail),
        },
        LegacyRoute {
            path: "/api/v2/situations-pole-emploi",
            operation_id: "api_particulier_v2_pole_emploi_statut",
            targets: vec![target("france_travail/statut", "identifiant", 3, When::Otherwise)],
            parameters: Query::clone,
            render: from_data!(render::situation_france_travail),
        },
        students(
            "/api/v2/etudiants",
            "api_particulier_v2_mesri_student_status",
            "mesri/statut_etudiant",
            render::etudiants,
        ),
        students(
            "/api/v2/etudiants-boursiers",
            "api_particulier_v2_cnous_student_scholarship",
            "cnous/etudiant_boursier",
            from_data!(render::etudiants_boursiers),
        ),
    ]
}

/// The catalogue's endpoint at `path`/`mode` in `version`: the table above names only
/// endpoints the catalogue has (a test reads every one).
fn target(path: &str, mode: &str, version: u8, when: When) -> Target {
    let endpoint: &'static Endpoint = passerelle_catalogue::find(path, mode, version)
        .unwrap_or_else(|_| panic!("the catalogue serves /v{version}/{path}/{mode}"));
    Target {
        endpoint,
        version,
        when,
    }
}

/// v2 identity names and today's (the DSS routes).
const DSS_NAMES: &[(&str, &str)] = &[
    ("anneeDateDeNaissance", "anneeDateNaissance"),
    ("moisDateDeNaissance", "moisDateNaissance"),
    ("jourDateDeNaissance", "jourDateNaissance"),
    ("sexe", "sexeEtatCivil"),
    ("codeInseeLieuDeNaissance", "codeCogInseeCommuneNaissance"),
    ("codePaysLieuDeNaissance", "codeCogInseePaysNaissance"),
    ("codeInseeDepartementNaissance", "codeCogInseeDepartementNaissance"),
];

fn dss_parameters(query: &Query) -> Query {
    Query::new(
        query
            .pairs()
            .iter()
            .map(|(k, v)| (renamed(k, DSS_NAMES), v.clone()))
            .collect(),
    )
}

/// `nom`, `prenom`, `sexe` (`m`/`f`), `dateNaissance` (`AAAA-MM-JJ`): the MEN v2 names.
fn men_parameters(query: &Query) -> Query {
    split_identity(query, "dateNaissance")
}

/// The students' v2 names: `nom`, `prenom` (MESRI, one first name) or `prenoms`
/// (CNOUS, space separated), `sexe`, `dateDeNaissance` (`AAAA-MM-JJ`), `lieuDeNaissance` (the INSEE
/// code of the birth commune), or `ine`.
fn student_parameters(query: &Query) -> Query {
    split_identity(query, "dateDeNaissance")
}

/// The identity given as name, first names, one date and a sex letter, in today's
/// names; other parameters as sent.
fn split_identity(query: &Query, date_name: &str) -> Query {
    let mut pairs = Vec::new();
    for (key, value) in query.pairs() {
        match key.as_str() {
            "nom" => pairs.push(("nomNaissance".to_string(), value.clone())),
            // One first name, possibly compound (`Marie Davida`), as MEN and MESRI take it.
            "prenom" => pairs.push(("prenoms[]".to_string(), value.trim().to_string())),
            "prenoms" | "prenoms[]" => pairs.extend(
                value
                    .split_whitespace()
                    .map(|p| ("prenoms[]".to_string(), p.to_string())),
            ),
            "sexe" => pairs.push(("sexeEtatCivil".to_string(), value.trim().to_uppercase())),
            "lieuDeNaissance" => pairs.push(("codeCogInseeCommuneNaissance".to_string(), value.clone())),
            name if name == date_name => pairs.extend(birth_date(value)),
            _ => pairs.push((key.clone(), value.clone())),
        }
    }
    Query::new(pairs)
}

/// `AAAA-MM-JJ` as today's three parameters; anything else goes whole as the year, so
/// that today's checks name the error.
fn birth_date(value: &str) -> Vec<(String, String)> {
    let parts: Vec<&str> = value.trim().split('-').collect();
    match parts.as_slice() {
        [year, month, day]
            if parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) =>
        {
            vec![
                ("anneeDateNaissance".to_string(), year.to_string()),
                ("moisDateNaissance".to_string(), month.to_string()),
                ("jourDateNaissance".to_string(), day.to_string()),
            ]
        }
        _ => vec![("anneeDateNaissance".to_string(), value.to_string())],
    }
}

fn renamed(key: &str, names: &[(&str, &str)]) -> String {
    names
        .iter()
        .find(|(v2, _)| *v2 == key)
        .map_or(key, |(_, today)| today)
        .to_string()
}

/// The v2 error: one flat object whose `error` says the kind; its status is v2's (a
/// missing scope is 401; a provider's failure 503). `reason` carries today's details,
/// `message` the first error's title.
pub fn error(status: u16, errors: &[ApiError]) -> (u16, Value) {
    let gateway = errors.iter().all(|e| e.code.starts_with("00"));
    let (status, kind) = match status {
        401 | 403 => (401, "access_denied"),
        400 | 422 => (400, "bad_request"),
        404 => (404, "not_found"),
        409 => (409, "conflict"),
        410 => (410, "gone"),
        429 => (429, "too_many_requests"),
        504 => (503, "network_error"),
        502 | 503 if !gateway => (503, "data_provider_error"),
        503 => (503, "service_unavailable"),
        _ => (500, "internal_error"),
    };
    let reason = errors
        .iter()
        .map(|e| e.detail.as_str())
        .filter(|d| !d.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let message = errors.first().map(|e| e.title.as_str()).unwrap_or_default();
    (status, json!({"error": kind, "reason": reason, "message": message}))
}

#[cfg(test)]
mod tests {
    use passerelle_core::codes;

    use super::*;

    #[test]
    fn every_target_is_in_the_catalogue_and_every_route_has_a_non_france_connect_one() {
        for route in legacy().routes {
            assert!(route.target(&Query::new(vec![]), false).is_some(), "{}", route.path);
            assert!(route.path.starts_with("/api/v2/"), "{}", route.path);
        }
    }

    #[test]
    fn the_subject_chooses_the_target() {
        let routes = routes();
        let etudiants = routes.iter().find(|r| r.path == "/api/v2/etudiants").unwrap();
        let mode = |query: &[(&str, &str)], fc| etudiants.target(&Query::from_pairs(query), fc).unwrap().when;
        assert_eq!(mode(&[("ine", "1234567890A")], false), When::Param("ine"));
        assert_eq!(mode(&[("ine", " ")], false), When::Otherwise);
        assert_eq!(mode(&[("nom", "X")], false), When::Otherwise);
        assert_eq!(mode(&[("ine", "1234567890A")], true), When::FranceConnect);
    }

    #[test]
    fn v2_identity_names_become_todays() {
        let v2 = Query::from_pairs(&[
            ("nomNaissance", "MARTIN"),
            ("prenoms[]", "SAMUEL"),
            ("anneeDateDeNaissance", "1980"),
            ("moisDateDeNaissance", "9"),
            ("jourDateDeNaissance", "20"),
            ("codeInseeLieuDeNaissance", "08480"),
            ("codePaysLieuDeNaissance", "99100"),
            ("sexe", "M"),
            ("recipient", "13002526500013"),
        ]);
        let today = dss_parameters(&v2);
        for (name, value) in [
            ("anneeDateNaissance", "1980"),
            ("sexeEtatCivil", "M"),
            ("codeCogInseeCommuneNaissance", "08480"),
            ("codeCogInseePaysNaissance", "99100"),
            ("recipient", "13002526500013"),
        ] {
            assert_eq!(today.get(name), Some(value), "{name}");
        }
        let men = men_parameters(&Query::from_pairs(&[
            ("nom", "Martin"),
            ("prenom", "Justine"),
            ("sexe", "f"),
            ("dateNaissance", "2000-01-20"),
            ("anneeScolaire", "2022"),
        ]));
        assert_eq!(
            men.pairs(),
            Query::from_pairs(&[
                ("nomNaissance", "Martin"),
                ("prenoms[]", "Justine"),
                ("sexeEtatCivil", "F"),
                ("anneeDateNaissance", "2000"),
                ("moisDateNaissance", "01"),
                ("jourDateNaissance", "20"),
                ("anneeScolaire", "2022"),
            ])
            .pairs()
        );
        let cnous = student_parameters(&Query::from_pairs(&[
            ("prenoms", "Jean  Martin"),
            ("dateDeNaissance", "1/2"),
        ]));
        assert_eq!(
            cnous.pairs(),
            Query::from_pairs(&[
                ("prenoms[]", "Jean"),
                ("prenoms[]", "Martin"),
                ("anneeDateNaissance", "1/2")
            ])
            .pairs()
        );
        let mesri = student_parameters(&Query::from_pairs(&[("prenom", " Marie Davida ")]));
        assert_eq!(
            mesri.pairs(),
            Query::from_pairs(&[("prenoms[]", "Marie Davida")]).pairs()
        );
    }

    #[test]
    fn errors_take_the_v2_shape_and_statuses() {
        let scope = ApiError::gateway(codes::SCOPE_MISSING);
        let (status, body) = error(403, std::slice::from_ref(&scope));
        assert_eq!((status, body["error"].as_str()), (401, Some("access_denied")));
        assert_eq!(body["reason"], scope.detail.as_str());
        assert_eq!(body["message"], scope.title.as_str());
        let provider = passerelle_core::ProviderInfo {
            name: "CNAV",
            prefix: "37",
        };
        let (status, body) = error(502, &[provider.error(passerelle_core::Subcode::Unknown)]);
        assert_eq!((status, body["error"].as_str()), (503, Some("data_provider_error")));
        let (status, body) = error(504, &[provider.error(passerelle_core::Subcode::Timeout)]);
        assert_eq!((status, body["error"].as_str()), (503, Some("network_error")));
        let (status, _) = error(503, &[ApiError::gateway(codes::JOURNAL_UNAVAILABLE)]);
        assert_eq!(status, 503);
        let (status, body) = error(422, &[ApiError::gateway(codes::RECIPIENT_INVALID)]);
        assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")));
    }
}
