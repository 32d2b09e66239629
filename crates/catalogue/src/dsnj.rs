//! DSNJ (Direction du service national et de la jeunesse): the service national
//! status of a young person, in `identite` and `france_connect` modes.

use passerelle_core::CivilityRules;

use crate::{ids, Cache, Endpoint, FieldMask, Mode};

/// The upstream matches on the full identity pivot: first name, birth name, full
/// birth date, sex and birth country; the commune only narrows people born in France.
const CIVILITY: CivilityRules = CivilityRules {
    prenoms_required: true,
    max_prenoms: 3,
    birth_date_required: true,
    sexe_required: true,
    pays_required: true,
    birth_date_until_yesterday: false,
    birthplace_required_in_france: false,
};

const STATUT: &[&str] = &["dsnj_statut_service_national"];

const IDENTITE: Endpoint = Endpoint {
    provider: ids::DSNJ,
    resource: "service_national",
    path: "dsnj/service_national",
    mode: Mode::Identite,
    versions: &[3],
    operation: "dsnj_service_national",
    title: "Statut service national",
    civility: Some(CIVILITY),
    extra_params: &[],
    access_scopes: STATUT,
    fields: &["statut_service_national", "commentaires"],
    // One scope gates both fields, as the real serializer does.
    masks: &[
        FieldMask {
            path: "statut_service_national",
            scopes: STATUT,
        },
        FieldMask {
            path: "commentaires",
            scopes: STATUT,
        },
    ],
    // The contract caches DSS answers only.
    cache: Cache::Never,
};

pub(crate) const ENDPOINTS: [Endpoint; 2] = [
    IDENTITE,
    // The identity comes from FranceConnect; same scopes and masks.
    Endpoint {
        mode: Mode::FranceConnect,
        civility: None,
        ..IDENTITE
    },
];
