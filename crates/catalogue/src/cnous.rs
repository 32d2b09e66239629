//! CNOUS `etudiant_boursier`: a student's scholarship, by identity or by INE, in v3
//! (`est_boursier`) and v4 (`statut_boursier`, optional `campaignYear`).
//!
//! The `identite` entries carry no `CivilityRules`: the shared identity parser requires
//! `codeCogInseePaysNaissance`, which the CNOUS contract does not have. The provider
//! parses the identity itself (see `passerelle_providers::cnous`), so the identity
//! parameters are listed here as extra parameters for the OpenAPI document.

use crate::{Endpoint, ExtraParam, FieldMask, Mode};

const IDENTITY_PARAMS: &[ExtraParam] = &[
    ExtraParam {
        name: "nomNaissance",
        kind: "string",
        description: "Nom de naissance (obligatoire).",
    },
    ExtraParam {
        name: "prenoms[]",
        kind: "array",
        description: "Prénoms, un par paramètre, de 1 à 3 (obligatoire).",
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
        description: "Sexe à l'état civil : M ou F.",
    },
    ExtraParam {
        name: "codeCogInseeCommuneNaissance",
        kind: "string",
        description: "Code COG INSEE de la commune de naissance (ne pas remplir pour une naissance à l'étranger).",
    },
    ExtraParam {
        name: "nomCommuneNaissance",
        kind: "string",
        description: "Nom de la commune de naissance, avec codeCogInseeDepartementNaissance et anneeDateNaissance, à la place du code commune.",
    },
    ExtraParam {
        name: "codeCogInseeDepartementNaissance",
        kind: "string",
        description: "Code du département de naissance (avec nomCommuneNaissance).",
    },
];

const CAMPAIGN_YEAR: ExtraParam = ExtraParam {
    name: "campaignYear",
    kind: "integer",
    description:
        "Année de début de la campagne de bourse (2021 à l'année courante - 1) ; la bourse la plus récente par défaut.",
};

const INE: ExtraParam = ExtraParam {
    name: "ine",
    kind: "string",
    description: "Identifiant national étudiant, 11 caractères (obligatoire).",
};

const V4_IDENTITE_PARAMS: &[ExtraParam] = &[
    IDENTITY_PARAMS[0],
    IDENTITY_PARAMS[1],
    IDENTITY_PARAMS[2],
    IDENTITY_PARAMS[3],
    IDENTITY_PARAMS[4],
    IDENTITY_PARAMS[5],
    IDENTITY_PARAMS[6],
    IDENTITY_PARAMS[7],
    IDENTITY_PARAMS[8],
    CAMPAIGN_YEAR,
];
const V3_INE_PARAMS: &[ExtraParam] = &[INE];
const V4_INE_PARAMS: &[ExtraParam] = &[INE, CAMPAIGN_YEAR];

/// Any one of these opens the endpoint (`cnous_statut_bourse` gates no field).
const SCOPES: &[&str] = &[
    "cnous_statut_boursier",
    "cnous_echelon_bourse",
    "cnous_email",
    "cnous_periode_versement",
    "cnous_statut_bourse",
    "cnous_ville_etudes",
    "cnous_identite",
];

const V3_FIELDS: &[&str] = &[
    "est_boursier",
    "periode_versement_bourse",
    "etablissement_etudes",
    "echelon_bourse",
    "email",
    "identite",
];

const V4_FIELDS: &[&str] = &[
    "statut_boursier",
    "periode_versement_bourse",
    "etablissement_etudes",
    "echelon_bourse",
    "email",
    "identite",
];

const fn mask(path: &'static str, scope: &'static [&'static str]) -> FieldMask {
    FieldMask { path, scopes: scope }
}

const STATUT: &[&str] = &["cnous_statut_boursier"];
const ECHELON: &[&str] = &["cnous_echelon_bourse"];
const EMAIL: &[&str] = &["cnous_email"];
const PERIODE: &[&str] = &["cnous_periode_versement"];
const VILLE: &[&str] = &["cnous_ville_etudes"];
const IDENTITE: &[&str] = &["cnous_identite"];

const V3_MASKS: &[FieldMask] = &[
    mask("est_boursier", STATUT),
    mask("periode_versement_bourse", PERIODE),
    mask("etablissement_etudes", VILLE),
    mask("echelon_bourse", ECHELON),
    mask("email", EMAIL),
    mask("identite", IDENTITE),
];

const V4_MASKS: &[FieldMask] = &[
    mask("statut_boursier", STATUT),
    mask("periode_versement_bourse", PERIODE),
    mask("etablissement_etudes", VILLE),
    mask("echelon_bourse", ECHELON),
    mask("email", EMAIL),
    mask("identite", IDENTITE),
];

const fn entry(
    mode: Mode,
    version: &'static [u8],
    extra_params: &'static [ExtraParam],
    fields: &'static [&'static str],
    masks: &'static [FieldMask],
) -> Endpoint {
    Endpoint {
        provider: "cnous",
        resource: "etudiant_boursier",
        path: "cnous/etudiant_boursier",
        mode,
        versions: version,
        operation: "cnous_etudiant_boursier",
        title: "Statut étudiant boursier",
        civility: None,
        extra_params,
        access_scopes: SCOPES,
        fields,
        masks,
        // The contract caches no CNOUS answer.
        cache_ttl_secs: 0,
    }
}

pub(crate) const ENDPOINTS: [Endpoint; 4] = [
    entry(Mode::Identite, &[3], IDENTITY_PARAMS, V3_FIELDS, V3_MASKS),
    entry(Mode::Identite, &[4], V4_IDENTITE_PARAMS, V4_FIELDS, V4_MASKS),
    entry(Mode::Ine, &[3], V3_INE_PARAMS, V3_FIELDS, V3_MASKS),
    entry(Mode::Ine, &[4], V4_INE_PARAMS, V4_FIELDS, V4_MASKS),
];
