//! GIP-MDS: the service civique contracts of a person (from the DSN), in `identite`
//! and `france_connect` modes.

use passerelle_core::CivilityRules;

use crate::{ids, Cache, Endpoint, FieldMask, Mode};

const ACTUEL: &[&str] = &["gip_mds_service_civique_statut_actuel"];
const PASSE: &[&str] = &["gip_mds_service_civique_statut_passe"];
const ORGANISME: &[&str] = &["gip_mds_service_civique_organisme_accueil"];
const DATES: &[&str] = &["gip_mds_service_civique_dates"];

/// GIP-MDS matches on birth name, first name and full birth date only: no sex, and
/// no birth country (it searches French registers, so an absent one is France).
const CIVILITY: CivilityRules = CivilityRules {
    prenoms_required: true,
    max_prenoms: 3,
    birth_date_required: true,
    sexe_required: false,
    pays_required: false,
    birth_date_until_yesterday: false,
    birthplace_required_in_france: false,
};

const IDENTITE: Endpoint = Endpoint {
    provider: ids::GIP_MDS,
    resource: "service_civique",
    path: "gip_mds/service_civique",
    mode: Mode::Identite,
    versions: &[3],
    operation: "gip_mds_service_civique",
    title: "Statut service civique",
    civility: Some(CIVILITY),
    extra_params: &[],
    access_scopes: &[
        "gip_mds_service_civique_statut_actuel",
        "gip_mds_service_civique_statut_passe",
        "gip_mds_service_civique_organisme_accueil",
        "gip_mds_service_civique_dates",
    ],
    fields: &["statut_actuel", "statut_passe"],
    // `contrat_trouve` is never masked on its own: it goes with its status.
    masks: &[
        FieldMask {
            path: "statut_actuel",
            scopes: ACTUEL,
        },
        FieldMask {
            path: "statut_passe",
            scopes: PASSE,
        },
        FieldMask {
            path: "statut_actuel.organisme_accueil",
            scopes: ORGANISME,
        },
        FieldMask {
            path: "statut_passe.organisme_accueil",
            scopes: ORGANISME,
        },
        FieldMask {
            path: "statut_actuel.date_debut_contrat",
            scopes: DATES,
        },
        FieldMask {
            path: "statut_actuel.date_fin_contrat",
            scopes: DATES,
        },
        FieldMask {
            path: "statut_passe.date_debut_contrat",
            scopes: DATES,
        },
        FieldMask {
            path: "statut_passe.date_fin_contrat",
            scopes: DATES,
        },
    ],
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
