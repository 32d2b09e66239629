//! SDH (Ministère des Sports): the high-level athlete status, found by the athlete's
//! identifier in the ministry's information system (`identifiant` mode).

use crate::{ids, Cache, Endpoint, ExtraParam, FieldMask, Mode};

const IDENTITE: &[&str] = &["sdh_statut_sportif_identite"];
const EST_HN: &[&str] = &["sdh_statut_sportif_est_sportif_de_haut_niveau"];
const A_ETE_HN: &[&str] = &["sdh_statut_sportif_a_ete_sportif_de_haut_niveau"];
const STATUT: &[&str] = &["sdh_statut_sportif_informations_statut"];
const PRECEDENTS: &[&str] = &["sdh_statut_sportif_informations_statuts_precedents"];

pub(crate) const ENDPOINTS: [Endpoint; 1] = [Endpoint {
    provider: ids::SDH,
    resource: "statut_sportif",
    path: "sdh/statut_sportif",
    mode: Mode::Identifiant,
    versions: &[3],
    operation: "sdh_statut_sportif",
    title: "Statut sportif de haut niveau et sur liste ministérielle",
    civility: None,
    extra_params: &[ExtraParam {
        name: "identifiant",
        required: true,
        kind: "string",
        description:
            "Identifiant numérique du sportif dans le système d'information du Ministère des Sports (obligatoire).",
    }],
    access_scopes: &[
        "sdh_statut_sportif_identite",
        "sdh_statut_sportif_est_sportif_de_haut_niveau",
        "sdh_statut_sportif_a_ete_sportif_de_haut_niveau",
        "sdh_statut_sportif_informations_statut",
        "sdh_statut_sportif_informations_statuts_precedents",
    ],
    fields: &[
        "identite",
        "est_sportif_de_haut_niveau",
        "a_ete_sportif_de_haut_niveau",
        "informations_statut",
        "informations_statuts_precedents",
    ],
    masks: &[
        FieldMask {
            path: "identite",
            scopes: IDENTITE,
        },
        FieldMask {
            path: "est_sportif_de_haut_niveau",
            scopes: EST_HN,
        },
        FieldMask {
            path: "a_ete_sportif_de_haut_niveau",
            scopes: A_ETE_HN,
        },
        FieldMask {
            path: "informations_statut",
            scopes: STATUT,
        },
        FieldMask {
            path: "informations_statuts_precedents",
            scopes: PRECEDENTS,
        },
    ],
    // A status changes with the ministry's lists: never cached (as the real gateway).
    cache: Cache::Never,
}];
