//! The Sécurité sociale (DSS) family: eight prestations served by one upstream
//! (hosted by CNAV), each in `identite` and `france_connect` modes.

use passerelle_core::CivilityRules;

use crate::{ids, Cache, Endpoint, ExtraParam, FieldMask, Mode};

/// DSS matching is done upstream: only the birth name, sex and birth country are
/// mandatory, the rest narrows the search.
const CIVILITY: CivilityRules = CivilityRules {
    prenoms_required: false,
    max_prenoms: 3,
    birth_date_required: false,
    sexe_required: true,
    pays_required: true,
    birth_date_until_yesterday: true,
    birthplace_required_in_france: true,
};

const HOUR: Cache = Cache::For { secs: 3600 };
const DAY: Cache = Cache::For { secs: 24 * 3600 };

const QF_PARAMS: &[ExtraParam] = &[
    ExtraParam {
        name: "annee",
        required: false,
        kind: "integer",
        description: "Année du quotient familial (année en cours par défaut ; N, N-1 ou N-2).",
    },
    ExtraParam {
        name: "mois",
        required: false,
        kind: "integer",
        description: "Mois du quotient familial (mois en cours par défaut).",
    },
];

const fn entry(
    resource: &'static str,
    operation: &'static str,
    title: &'static str,
    access_scopes: &'static [&'static str],
    fields: &'static [&'static str],
    masks: &'static [FieldMask],
    cache: Cache,
) -> Endpoint {
    Endpoint {
        provider: ids::DSS,
        resource,
        path: resource_path(resource),
        mode: Mode::Identite,
        versions: &[3],
        operation,
        title,
        civility: Some(CIVILITY),
        extra_params: &[],
        access_scopes,
        fields,
        masks,
        cache,
    }
}

const fn resource_path(resource: &'static str) -> &'static str {
    // Paths are `dss/<resource>`; spelled out because const string concatenation
    // is not available.
    match resource.as_bytes() {
        b"quotient_familial" => "dss/quotient_familial",
        b"revenu_solidarite_active" => "dss/revenu_solidarite_active",
        b"prime_activite" => "dss/prime_activite",
        b"allocation_soutien_familial" => "dss/allocation_soutien_familial",
        b"allocation_adulte_handicape" => "dss/allocation_adulte_handicape",
        b"complementaire_sante_solidaire" => "dss/complementaire_sante_solidaire",
        b"allocation_enfant_handicape" => "dss/allocation_enfant_handicape",
        b"participation_familiale_eaje" => "dss/participation_familiale_eaje",
        _ => panic!("unknown DSS resource"),
    }
}

const RSA: &[&str] = &["revenu_solidarite_active"];
const RSA_MAJORATION: &[&str] = &["revenu_solidarite_active_majoration"];
const PA: &[&str] = &["prime_activite"];
const PA_MAJORATION: &[&str] = &["prime_activite_majoration"];
const ASF: &[&str] = &["allocation_soutien_familial"];
const AAH: &[&str] = &["allocation_adulte_handicape"];
const CSS: &[&str] = &["complementaire_sante_solidaire"];
const EAJE_ALLOCATAIRES: &[&str] = &["cnav_participation_familiale_eaje_allocataires"];
const EAJE_ENFANTS: &[&str] = &["cnav_participation_familiale_eaje_enfants"];
const EAJE_ADRESSE: &[&str] = &["cnav_participation_familiale_eaje_adresse"];
const EAJE_CALCUL: &[&str] = &["cnav_participation_familiale_eaje_parametres_calcul"];

const IDENTITE: [Endpoint; 8] = [
    Endpoint {
        extra_params: QF_PARAMS,
        ..entry(
            "quotient_familial",
            "cnav_quotient_familial",
            "Quotient familial CAF & MSA",
            &[
                "cnaf_quotient_familial",
                "cnaf_allocataires",
                "cnaf_enfants",
                "cnaf_adresse",
            ],
            &["allocataires", "enfants", "adresse", "quotient_familial"],
            &[
                FieldMask {
                    path: "allocataires",
                    scopes: &["cnaf_allocataires"],
                },
                FieldMask {
                    path: "enfants",
                    scopes: &["cnaf_enfants"],
                },
                FieldMask {
                    path: "adresse",
                    scopes: &["cnaf_adresse"],
                },
                FieldMask {
                    path: "quotient_familial",
                    scopes: &["cnaf_quotient_familial"],
                },
            ],
            DAY,
        )
    },
    entry(
        "revenu_solidarite_active",
        "cnav_revenu_solidarite_active",
        "Statut revenu de solidarité active (RSA)",
        &["revenu_solidarite_active", "revenu_solidarite_active_majoration"],
        &["est_beneficiaire", "avec_majoration", "date_debut_droit"],
        &[
            FieldMask {
                path: "est_beneficiaire",
                scopes: RSA,
            },
            FieldMask {
                path: "avec_majoration",
                scopes: RSA_MAJORATION,
            },
            FieldMask {
                path: "date_debut_droit",
                scopes: RSA,
            },
        ],
        HOUR,
    ),
    entry(
        "prime_activite",
        "cnav_prime_activite",
        "Statut prime d'activité",
        &["prime_activite", "prime_activite_majoration"],
        &["est_beneficiaire", "avec_majoration", "date_debut_droit"],
        &[
            FieldMask {
                path: "est_beneficiaire",
                scopes: PA,
            },
            FieldMask {
                path: "avec_majoration",
                scopes: PA_MAJORATION,
            },
            FieldMask {
                path: "date_debut_droit",
                scopes: PA,
            },
        ],
        HOUR,
    ),
    entry(
        "allocation_soutien_familial",
        "cnav_allocation_soutien_familial",
        "Statut allocation de soutien familial (ASF)",
        ASF,
        &["est_beneficiaire", "date_debut_droit"],
        &[
            FieldMask {
                path: "est_beneficiaire",
                scopes: ASF,
            },
            FieldMask {
                path: "date_debut_droit",
                scopes: ASF,
            },
        ],
        HOUR,
    ),
    entry(
        "allocation_adulte_handicape",
        "cnav_allocation_adulte_handicape",
        "Statut allocation adulte handicapé (AAH)",
        AAH,
        &["est_beneficiaire", "date_debut_droit"],
        &[
            FieldMask {
                path: "est_beneficiaire",
                scopes: AAH,
            },
            FieldMask {
                path: "date_debut_droit",
                scopes: AAH,
            },
        ],
        HOUR,
    ),
    entry(
        "complementaire_sante_solidaire",
        "cnav_complementaire_sante_solidaire",
        "Statut complémentaire santé solidaire (C2S)",
        CSS,
        &["est_beneficiaire", "avec_participation", "date_debut_droit"],
        &[
            FieldMask {
                path: "est_beneficiaire",
                scopes: CSS,
            },
            FieldMask {
                path: "avec_participation",
                scopes: CSS,
            },
            FieldMask {
                path: "date_debut_droit",
                scopes: CSS,
            },
        ],
        HOUR,
    ),
    // The contract gates this endpoint as a whole: no field-level mask.
    entry(
        "allocation_enfant_handicape",
        "cnav_allocation_enfant_handicape",
        "Statut allocation d'éducation de l'enfant handicapé (AEEH)",
        &["cnav_allocation_enfant_handicape"],
        &["status", "date_debut_droit"],
        &[],
        HOUR,
    ),
    entry(
        "participation_familiale_eaje",
        "cnav_participation_familiale_eaje",
        "Participation familiale EAJE",
        &[
            "cnav_participation_familiale_eaje_allocataires",
            "cnav_participation_familiale_eaje_enfants",
            "cnav_participation_familiale_eaje_adresse",
            "cnav_participation_familiale_eaje_parametres_calcul",
        ],
        &[
            "allocataires",
            "enfants",
            "adresse",
            "parametres_calcul_participation_familiale",
        ],
        &[
            FieldMask {
                path: "allocataires",
                scopes: EAJE_ALLOCATAIRES,
            },
            FieldMask {
                path: "enfants",
                scopes: EAJE_ENFANTS,
            },
            FieldMask {
                path: "adresse",
                scopes: EAJE_ADRESSE,
            },
            FieldMask {
                path: "parametres_calcul_participation_familiale",
                scopes: EAJE_CALCUL,
            },
        ],
        HOUR,
    ),
];

/// The same prestations, the identity coming from FranceConnect: same scopes and masks.
const fn france_connect(endpoint: Endpoint) -> Endpoint {
    Endpoint {
        mode: Mode::FranceConnect,
        civility: None,
        ..endpoint
    }
}

pub(crate) const ENDPOINTS: [Endpoint; 16] = [
    IDENTITE[0],
    IDENTITE[1],
    IDENTITE[2],
    IDENTITE[3],
    IDENTITE[4],
    IDENTITE[5],
    IDENTITE[6],
    IDENTITE[7],
    france_connect(IDENTITE[0]),
    france_connect(IDENTITE[1]),
    france_connect(IDENTITE[2]),
    france_connect(IDENTITE[3]),
    france_connect(IDENTITE[4]),
    france_connect(IDENTITE[5]),
    france_connect(IDENTITE[6]),
    france_connect(IDENTITE[7]),
];
