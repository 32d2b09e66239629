//! The MEN (Éducation nationale) family: scolarités, in `identite` mode, v3 to v5.
//! v3 and v4 serve the same fields; v5 adds `regime_pensionnat`.

use passerelle_core::CivilityRules;

use crate::{ids, Cache, Endpoint, ExtraParam, FieldMask, Mode};

/// Any one of these opens the endpoint (the real controller's list, every version).
const ACCESS: &[&str] = &[
    "men_statut_identite",
    "men_statut_scolarite",
    "men_statut_etablissement",
    "men_statut_module_elementaire_formation",
    "men_statut_boursier",
    "men_echelon_bourse",
    "men_regime_pensionnat",
];

const SCOLARITE: &[&str] = &["men_statut_scolarite"];

/// The MEN upstream matches on name, first first name, sex and full birth date; it
/// searches French registers only, so no birth country is asked. The sex is optional:
/// the official sandbox case `504.yaml` calls without it.
const CIVILITY: CivilityRules = CivilityRules {
    prenoms_required: true,
    max_prenoms: 3,
    birth_date_required: true,
    sexe_required: false,
    pays_required: false,
    birth_date_until_yesterday: false,
    birthplace_required_in_france: false,
};

/// The search parameters; the identity ones are documented from `CIVILITY`.
const PARAMS: &[ExtraParam] = &[
    ExtraParam {
        name: "anneeScolaire",
        required: true,
        kind: "string",
        description: "Année scolaire, AAAA ou AAAA-AAAA (obligatoire).",
    },
    ExtraParam {
        name: "codeEtablissement",
        required: false,
        kind: "string",
        description: "Code UAI de l'établissement (7 chiffres et 1 lettre) ; exclusif du périmètre.",
    },
    ExtraParam {
        name: "degreEtablissement",
        required: false,
        kind: "string",
        description: "Degré de l'établissement pour une recherche par périmètre : 1D ou 2D.",
    },
    ExtraParam {
        name: "codesBcnDepartements[]",
        required: false,
        kind: "string",
        description:
            "Codes BCN des départements du périmètre, un par paramètre répété (3 caractères, 001 par exemple).",
    },
    ExtraParam {
        name: "codesBcnRegions[]",
        required: false,
        kind: "string",
        description: "Codes BCN des régions académiques du périmètre, un par paramètre répété (01 à 18).",
    },
];

const FIELDS_V3: &[&str] = &[
    "identite",
    "module_elementaire_formation",
    "etablissement",
    "annee_scolaire",
    "est_scolarise",
    "statut_eleve",
    "est_boursier",
    "echelon_bourse",
];

const FIELDS_V5: &[&str] = &[
    "identite",
    "module_elementaire_formation",
    "etablissement",
    "annee_scolaire",
    "est_scolarise",
    "statut_eleve",
    "est_boursier",
    "echelon_bourse",
    "regime_pensionnat",
];

const MASKS_V3: &[FieldMask] = &[
    FieldMask {
        path: "identite",
        scopes: &["men_statut_identite"],
    },
    FieldMask {
        path: "annee_scolaire",
        scopes: SCOLARITE,
    },
    FieldMask {
        path: "est_scolarise",
        scopes: SCOLARITE,
    },
    FieldMask {
        path: "statut_eleve",
        scopes: SCOLARITE,
    },
    FieldMask {
        path: "etablissement",
        scopes: &["men_statut_etablissement"],
    },
    FieldMask {
        path: "module_elementaire_formation",
        scopes: &["men_statut_module_elementaire_formation"],
    },
    FieldMask {
        path: "est_boursier",
        scopes: &["men_statut_boursier"],
    },
    FieldMask {
        path: "echelon_bourse",
        scopes: &["men_echelon_bourse"],
    },
];

const MASKS_V5: &[FieldMask] = &[
    MASKS_V3[0],
    MASKS_V3[1],
    MASKS_V3[2],
    MASKS_V3[3],
    MASKS_V3[4],
    MASKS_V3[5],
    MASKS_V3[6],
    MASKS_V3[7],
    FieldMask {
        path: "regime_pensionnat",
        scopes: &["men_regime_pensionnat"],
    },
];

const fn entry(versions: &'static [u8], fields: &'static [&'static str], masks: &'static [FieldMask]) -> Endpoint {
    Endpoint {
        provider: ids::MEN,
        resource: "scolarites",
        path: "men/scolarites",
        mode: Mode::Identite,
        versions,
        operation: "men_scolarites",
        title: "Statut élève scolarisé et boursier",
        civility: Some(CIVILITY),
        extra_params: PARAMS,
        access_scopes: ACCESS,
        fields,
        masks,
        // Never cached: the real gateway does not cache it either.
        cache: Cache::Never,
    }
}

pub(crate) const ENDPOINTS: [Endpoint; 2] = [entry(&[3, 4], FIELDS_V3, MASKS_V3), entry(&[5], FIELDS_V5, MASKS_V5)];
