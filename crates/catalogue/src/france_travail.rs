//! France Travail: the job seeker's status and the payments made to them, found by
//! the person's France Travail login (`identifiant` mode).

use crate::{ids, Cache, Endpoint, ExtraParam, FieldMask, Mode};

const IDENTIFIANT: &[ExtraParam] = &[ExtraParam {
    name: "identifiant",
    required: true,
    kind: "string",
    description: "Identifiant France Travail choisi par le particulier pour son espace personnel (obligatoire).",
}];

const STATUT_SCOPES: &[&str] = &[
    "pole_emploi_identifiant",
    "pole_emploi_identite",
    "pole_emploi_adresse",
    "pole_emploi_contact",
    "pole_emploi_inscription",
];
const PAIEMENTS: &[&str] = &["pole_emploi_paiements"];

const fn mask(path: &'static str, scopes: &'static [&'static str]) -> FieldMask {
    FieldMask { path, scopes }
}

pub(crate) const ENDPOINTS: [Endpoint; 2] = [
    Endpoint {
        provider: ids::FRANCE_TRAVAIL,
        resource: "statut",
        path: "france_travail/statut",
        mode: Mode::Identifiant,
        versions: &[3],
        operation: "france_travail_statut",
        title: "Statut demandeur d'emploi",
        civility: None,
        extra_params: IDENTIFIANT,
        access_scopes: STATUT_SCOPES,
        fields: &["identifiant", "identite", "contact", "adresse", "inscription"],
        masks: &[
            mask("identifiant", &["pole_emploi_identifiant"]),
            mask("identite", &["pole_emploi_identite"]),
            mask("contact", &["pole_emploi_contact"]),
            mask("adresse", &["pole_emploi_adresse"]),
            mask("inscription", &["pole_emploi_inscription"]),
        ],
        // Live data about a person's situation: never cached (as the real gateway).
        cache: Cache::Never,
    },
    // `identifiant` is always returned: the contract gates only the payments.
    Endpoint {
        provider: ids::FRANCE_TRAVAIL,
        resource: "indemnites",
        path: "france_travail/indemnites",
        mode: Mode::Identifiant,
        versions: &[3],
        operation: "france_travail_indemnites",
        title: "Paiements versés par France Travail",
        civility: None,
        extra_params: IDENTIFIANT,
        access_scopes: PAIEMENTS,
        fields: &["identifiant", "paiements"],
        masks: &[mask("paiements", PAIEMENTS)],
        cache: Cache::Never,
    },
];
