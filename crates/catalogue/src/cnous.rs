//! CNOUS `etudiant_boursier`: a student's scholarship, by identity (given or from
//! FranceConnect) or by INE, in v3
//! (`est_boursier`) and v4 (`statut_boursier`, optional `campaignYear`).

use passerelle_core::CivilityRules;

use crate::{ids, Cache, Endpoint, ExtraParam, FieldMask, Mode};

/// CNOUS checks names, first names and the birth date; sex and birthplace only narrow
/// the search. The contract has no birth country (the upstream searches French
/// students only).
const CIVILITY: CivilityRules = CivilityRules {
    prenoms_required: true,
    max_prenoms: 3,
    birth_date_required: true,
    sexe_required: false,
    pays_required: false,
    birth_date_until_yesterday: false,
    birthplace_required_in_france: false,
};

const CAMPAIGN_YEAR: ExtraParam = ExtraParam {
    name: "campaignYear",
    required: false,
    kind: "integer",
    description:
        "Année de début de la campagne de bourse (2021 à l'année courante - 1) ; la bourse la plus récente par défaut.",
};

const INE: ExtraParam = ExtraParam {
    name: "ine",
    required: true,
    kind: "string",
    description: "Identifiant national étudiant, 11 caractères (obligatoire).",
};

const V4_IDENTITE_PARAMS: &[ExtraParam] = &[CAMPAIGN_YEAR];
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
    civility: Option<CivilityRules>,
    version: &'static [u8],
    extra_params: &'static [ExtraParam],
    fields: &'static [&'static str],
    masks: &'static [FieldMask],
) -> Endpoint {
    Endpoint {
        provider: ids::CNOUS,
        resource: "etudiant_boursier",
        path: "cnous/etudiant_boursier",
        mode,
        versions: version,
        operation: "cnous_etudiant_boursier",
        title: "Statut étudiant boursier",
        civility,
        extra_params,
        access_scopes: SCOPES,
        fields,
        masks,
        // The contract caches no CNOUS answer.
        cache: Cache::Never,
    }
}

pub(crate) const ENDPOINTS: [Endpoint; 6] = [
    entry(Mode::Identite, Some(CIVILITY), &[3], &[], V3_FIELDS, V3_MASKS),
    entry(
        Mode::Identite,
        Some(CIVILITY),
        &[4],
        V4_IDENTITE_PARAMS,
        V4_FIELDS,
        V4_MASKS,
    ),
    entry(Mode::Ine, None, &[3], V3_INE_PARAMS, V3_FIELDS, V3_MASKS),
    entry(Mode::Ine, None, &[4], V4_INE_PARAMS, V4_FIELDS, V4_MASKS),
    // The identity comes from FranceConnect, whose callers never get `identite`.
    entry(Mode::FranceConnect, None, &[3], &[], V3_FIELDS, V3_MASKS),
    entry(Mode::FranceConnect, None, &[4], V4_IDENTITE_PARAMS, V4_FIELDS, V4_MASKS),
];
