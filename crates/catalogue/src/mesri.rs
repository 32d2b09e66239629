//! MESRI statut étudiant: a student's admissions and enrolments, by identity (given or
//! from FranceConnect) or by INE.

use passerelle_core::CivilityRules;

use crate::{ids, Cache, Endpoint, ExtraParam, FieldMask, Mode};

/// MESRI takes exactly one first name and a full birth date; the birthplace is
/// optional and there is no birth country (the upstream searches French registers).
const CIVILITY: CivilityRules = CivilityRules {
    prenoms_required: true,
    max_prenoms: 1,
    birth_date_required: true,
    sexe_required: true,
    pays_required: false,
    birth_date_until_yesterday: false,
    birthplace_required_in_france: false,
};

const ACCESS: &[&str] = &[
    "mesri_identite",
    "mesri_admissions",
    "mesri_admission_inscrit",
    "mesri_admission_regime_formation",
    "mesri_admission_commune_etudes",
    "mesri_admission_etablissement_etudes",
];

const FIELDS: &[&str] = &["identite", "admissions"];

/// Each admission always keeps its dates; every other detail has its own scope.
const MASKS: &[FieldMask] = &[
    FieldMask {
        path: "identite",
        scopes: &["mesri_identite"],
    },
    FieldMask {
        path: "admissions",
        scopes: &["mesri_admissions"],
    },
    FieldMask {
        path: "admissions[].est_inscrit",
        scopes: &["mesri_admission_inscrit"],
    },
    FieldMask {
        path: "admissions[].regime_formation",
        scopes: &["mesri_admission_regime_formation"],
    },
    FieldMask {
        path: "admissions[].code_cog_insee_commune",
        scopes: &["mesri_admission_commune_etudes"],
    },
    FieldMask {
        path: "admissions[].etablissement_etudes",
        scopes: &["mesri_admission_etablissement_etudes"],
    },
];

const INE_PARAMS: &[ExtraParam] = &[ExtraParam {
    name: "ine",
    required: true,
    kind: "string",
    description: "Identifiant national étudiant (INE), 11 caractères (obligatoire).",
}];

const fn entry(mode: Mode, civility: Option<CivilityRules>, extra_params: &'static [ExtraParam]) -> Endpoint {
    Endpoint {
        provider: ids::MESRI,
        resource: "statut_etudiant",
        path: "mesri/statut_etudiant",
        mode,
        versions: &[3],
        operation: "mesri_statut_etudiant",
        title: "Statut étudiant",
        civility,
        extra_params,
        access_scopes: ACCESS,
        fields: FIELDS,
        masks: MASKS,
        // The contract caches no MESRI answer.
        cache: Cache::Never,
    }
}

pub(crate) const ENDPOINTS: [Endpoint; 3] = [
    entry(Mode::Identite, Some(CIVILITY), &[]),
    entry(Mode::Ine, None, INE_PARAMS),
    entry(Mode::FranceConnect, None, &[]),
];
