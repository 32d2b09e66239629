//! ANTS: the extract of a vehicle's registration file (SIV), for the person
//! FranceConnect identifies. FranceConnect only: the gateway takes the identity from
//! FranceConnect and the registration number from the query.

use crate::{ids, Cache, Endpoint, ExtraParam, FieldMask, Mode};

const IDENTITE: &str = "ants_extrait_immatriculation_vehicule_identite_particulier";
const ADRESSE: &[&str] = &["ants_extrait_immatriculation_vehicule_adresse_particulier"];
const STATUT: &[&str] = &["ants_extrait_immatriculation_vehicule_statut_rattachement"];
const IMMATRICULATION: &[&str] = &["ants_extrait_immatriculation_vehicule_donnees_immatriculation_vehicule"];
const CARACTERISTIQUES: &[&str] = &["ants_extrait_immatriculation_vehicule_caracteristiques_techniques_vehicule"];

/// Any one of them opens the endpoint.
const ALL: &[&str] = &[IDENTITE, ADRESSE[0], STATUT[0], IMMATRICULATION[0], CARACTERISTIQUES[0]];

pub(crate) const ENDPOINTS: [Endpoint; 1] = [Endpoint {
    provider: ids::ANTS,
    resource: "extrait_immatriculation_vehicule",
    path: "ants/extrait_immatriculation_vehicule",
    mode: Mode::FranceConnect,
    versions: &[3],
    operation: "ants_extrait_immatriculation_vehicule",
    title: "Extrait d'immatriculation véhicule",
    // The identity comes from FranceConnect, not from the query.
    civility: None,
    extra_params: &[ExtraParam {
        name: "immatriculation",
        required: true,
        kind: "string",
        description: "Numéro d'immatriculation du véhicule, SIV (AA-123-BB) ou FNI (obligatoire).",
    }],
    access_scopes: ALL,
    fields: &[
        "identite_particulier",
        "adresse_particulier",
        "statut_rattachement",
        "donnees_immatriculation_vehicule",
        "caracteristiques_techniques_vehicule",
    ],
    masks: &[
        // The identity is always returned (the real serializer gates it on nothing): any
        // scope that opens the endpoint keeps it. Its own scope is listed even though the
        // gateway drops `_identite` scopes from FranceConnect callers.
        FieldMask {
            path: "identite_particulier",
            scopes: ALL,
        },
        FieldMask {
            path: "adresse_particulier",
            scopes: ADRESSE,
        },
        FieldMask {
            path: "statut_rattachement",
            scopes: STATUT,
        },
        FieldMask {
            path: "donnees_immatriculation_vehicule",
            scopes: IMMATRICULATION,
        },
        FieldMask {
            path: "caracteristiques_techniques_vehicule",
            scopes: CARACTERISTIQUES,
        },
    ],
    // The contract caches DSS answers only.
    cache: Cache::Never,
}];
