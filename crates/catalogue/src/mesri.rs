//! MESRI statut étudiant: a student's admissions and enrolments, by identity or by INE
//! (the France Connect mode is served elsewhere).

use crate::{Endpoint, ExtraParam, FieldMask, Mode};

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

/// The identity parameters MESRI takes. They are parsed by the provider, not by the
/// shared civility parser, because that parser requires `codeCogInseePaysNaissance`,
/// which the MESRI contract does not have (see docs/providers/mesri.md).
const IDENTITY_PARAMS: &[ExtraParam] = &[
    ExtraParam {
        name: "nomNaissance",
        kind: "string",
        description: "Nom de naissance (obligatoire).",
    },
    ExtraParam {
        name: "prenoms[]",
        kind: "string",
        description: "Prénom, un seul (obligatoire).",
    },
    ExtraParam {
        name: "anneeDateNaissance",
        kind: "integer",
        description: "Année de naissance (obligatoire).",
    },
    ExtraParam {
        name: "moisDateNaissance",
        kind: "integer",
        description: "Mois de naissance (obligatoire).",
    },
    ExtraParam {
        name: "jourDateNaissance",
        kind: "integer",
        description: "Jour de naissance (obligatoire).",
    },
    ExtraParam {
        name: "sexeEtatCivil",
        kind: "string",
        description: "Sexe à l'état civil, M ou F (obligatoire).",
    },
    ExtraParam {
        name: "codeCogInseeCommuneNaissance",
        kind: "string",
        description: "Code COG INSEE de la commune de naissance.",
    },
    ExtraParam {
        name: "nomCommuneNaissance",
        kind: "string",
        description: "Nom de la commune de naissance, à la place de son code (avec le département).",
    },
    ExtraParam {
        name: "codeCogInseeDepartementNaissance",
        kind: "string",
        description: "Code du département de naissance (avec nomCommuneNaissance).",
    },
];

const INE_PARAMS: &[ExtraParam] = &[ExtraParam {
    name: "ine",
    kind: "string",
    description: "Identifiant national étudiant (INE), 11 caractères (obligatoire).",
}];

const fn entry(mode: Mode, extra_params: &'static [ExtraParam]) -> Endpoint {
    Endpoint {
        provider: "mesri",
        resource: "statut_etudiant",
        path: "mesri/statut_etudiant",
        mode,
        versions: &[3],
        operation: "mesri_statut_etudiant",
        title: "Statut étudiant",
        civility: None,
        extra_params,
        access_scopes: ACCESS,
        fields: FIELDS,
        masks: MASKS,
        // The contract caches no MESRI answer.
        cache_ttl_secs: 0,
    }
}

pub(crate) const ENDPOINTS: [Endpoint; 2] = [entry(Mode::Identite, IDENTITY_PARAMS), entry(Mode::Ine, INE_PARAMS)];
