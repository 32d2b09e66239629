//! Sirene 3.11 records → the contract's `data`. Records stay `serde_json::Value`s read
//! field by field: INSEE adds fields often and leaves most of them null.

use chrono::{NaiveDate, TimeZone};
use chrono_tz::Europe::Paris;
use serde_json::{json, Map, Value};

use super::referentials;

/// What v4 changes in the bodies (§10): the activity follows NAF 2025 when INSEE
/// gives it, and the NAF rév. 2 code moves to `activite_principale_naf_rev2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V3,
    V4,
}

/// The diffusion status of a unit (`statutDiffusion…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Diffusion {
    Open,
    Partial,
    Closed,
}

impl Diffusion {
    pub fn of(code: Option<&str>) -> Option<Diffusion> {
        match code? {
            "O" => Some(Diffusion::Open),
            "P" => Some(Diffusion::Partial),
            "N" => Some(Diffusion::Closed),
            _ => None,
        }
    }

    fn label(code: Option<&str>) -> Value {
        match Diffusion::of(code) {
            Some(Diffusion::Open) => json!("diffusible"),
            Some(Diffusion::Partial) => json!("partiellement_diffusible"),
            Some(Diffusion::Closed) => json!("non_diffusible"),
            None => Value::Null,
        }
    }
}

/// What replaces protected fields on the "diffusibles" routes.
const MASKED: &str = "[ND]";

fn text<'a>(record: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    record.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn string(record: &Map<String, Value>, key: &str) -> Value {
    text(record, key).map_or(Value::Null, |s| json!(s))
}

/// A record's top-level fields overlaid by its open period (`dateFin` null), the way
/// INSEE's "current values" are read; a flat record (no periods) is itself.
fn current(record: &Map<String, Value>, periods: &str) -> Map<String, Value> {
    let mut merged = record.clone();
    let list = record.get(periods).and_then(Value::as_array);
    let open = list.and_then(|l| {
        l.iter()
            .find(|p| p.get("dateFin").is_some_and(Value::is_null))
            .or(l.first())
    });
    if let Some(Value::Object(period)) = open {
        merged.extend(period.clone());
    }
    merged
}

/// Midnight of an INSEE date (`2019-06-24` or `2019-06-24T13:45:17`) in Paris, as epoch
/// seconds: the real gateway's dates are integers in its server's zone.
pub fn epoch(raw: Option<&str>) -> Value {
    let day = raw
        .and_then(|r| r.get(..10))
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let midnight = day.and_then(|d| d.and_hms_opt(0, 0, 0));
    midnight
        .and_then(|m| Paris.from_local_datetime(&m).earliest())
        .map_or(Value::Null, |t| json!(t.timestamp()))
}

/// INSEE writes `1900-01-01` for an unknown creation date.
fn creation(raw: Option<&str>) -> Value {
    match raw {
        Some("1900-01-01") => Value::Null,
        other => epoch(other),
    }
}

/// The day the unit or établissement stopped: the start of the first period (newest
/// first) that changed its state, only when it is not active any more.
fn end_date(record: &Map<String, Value>, state: Option<&str>, periods: &str, flag: &str) -> Value {
    if state.is_none_or(|s| s == "A") {
        return Value::Null;
    }
    let list = record.get(periods).and_then(Value::as_array);
    let changed = list.and_then(|l| l.iter().find(|p| p.get(flag).and_then(Value::as_bool) == Some(true)));
    epoch(changed.and_then(|p| p.get("dateDebut")).and_then(Value::as_str))
}

fn activity(code: Option<&str>, nomenclature: Option<&str>) -> Value {
    let libelle = match nomenclature {
        Some("NAFRev2") => json!(code.and_then(referentials::naf_rev2).unwrap_or("non référencé")),
        Some("NAF2025") | None => json!("non référencé"),
        Some(old) => json!(format!("ancienne révision NAF ({old}) non supportée")),
    };
    json!({"code": code, "nomenclature": nomenclature, "libelle": libelle})
}

/// Adds `activite_principale` (and in v4 `activite_principale_naf_rev2`) to `out` from
/// the period's code and nomenclature and, in v4, the NAF 2025 code.
fn activities(
    out: &mut Map<String, Value>,
    version: Version,
    code: Option<&str>,
    nomenclature: Option<&str>,
    naf25: Option<&str>,
) {
    let current = activity(code, nomenclature);
    if version == Version::V3 {
        out.insert("activite_principale".into(), current);
        return;
    }
    let principal = naf25.map_or(current, |c| activity(Some(c), Some("NAF2025")));
    out.insert("activite_principale".into(), principal);
    let rev2 = code.filter(|_| nomenclature == Some("NAFRev2"));
    out.insert("activite_principale_naf_rev2".into(), activity(rev2, Some("NAFRev2")));
}

fn tranche(code: Option<&str>, year: Option<&str>) -> Value {
    let Some(code) = code else {
        return json!({"de": null, "a": null, "code": null, "date_reference": null, "intitule": null});
    };
    let (de, a, intitule) = referentials::tranche(code).unwrap_or((None, None, "non référencé"));
    json!({"de": de, "a": a, "code": code, "date_reference": year, "intitule": intitule})
}

fn ess(value: Option<&str>) -> Value {
    match value {
        Some("O") => json!(true),
        Some("N") => json!(false),
        _ => Value::Null,
    }
}

fn is_person(unit: &Map<String, Value>) -> bool {
    text(unit, "categorieJuridiqueUniteLegale") == Some("1000")
}

/// The unité légale body, from a `siren/` record (with periods) or the flat one an
/// `etablissement` embeds; `siren` is given since the flat one lacks it.
fn unit_body(unit: &Map<String, Value>, siren: &str, version: Version) -> Map<String, Value> {
    let status = text(unit, "statutDiffusionUniteLegale");
    let legal = text(unit, "categorieJuridiqueUniteLegale");
    let kind = legal.map(|c| {
        if c == "1000" {
            "personne_physique"
        } else {
            "personne_morale"
        }
    });
    let nic = text(unit, "nicSiegeUniteLegale");
    let mut out = Map::new();
    out.insert("siren".into(), json!(siren));
    out.insert("rna".into(), string(unit, "identifiantAssociationUniteLegale"));
    out.insert("siret_siege_social".into(), json!(nic.map(|n| format!("{siren}{n}"))));
    out.insert("type".into(), json!(kind));
    out.insert("status_diffusion".into(), Diffusion::label(status));
    out.insert("diffusable_commercialement".into(), json!(status == Some("O")));
    out.insert("categorie_entreprise".into(), string(unit, "categorieEntreprise"));
    out.insert(
        "personne_morale_attributs".into(),
        json!({"raison_sociale": string(unit, "denominationUniteLegale"), "sigle": string(unit, "sigleUniteLegale")}),
    );
    out.insert("personne_physique_attributs".into(), person(unit));
    let libelle = legal.map(|c| referentials::categorie_juridique(c).unwrap_or("non référencé"));
    out.insert("forme_juridique".into(), json!({"code": legal, "libelle": libelle}));
    activities(
        &mut out,
        version,
        text(unit, "activitePrincipaleUniteLegale"),
        text(unit, "nomenclatureActivitePrincipaleUniteLegale"),
        text(unit, "activitePrincipaleNAF25UniteLegale"),
    );
    out.insert(
        "tranche_effectif_salarie".into(),
        tranche(
            text(unit, "trancheEffectifsUniteLegale"),
            text(unit, "anneeEffectifsUniteLegale"),
        ),
    );
    out.insert(
        "etat_administratif".into(),
        string(unit, "etatAdministratifUniteLegale"),
    );
    out.insert(
        "economie_sociale_et_solidaire".into(),
        ess(text(unit, "economieSocialeSolidaireUniteLegale")),
    );
    out.insert("date_creation".into(), creation(text(unit, "dateCreationUniteLegale")));
    out
}

fn person(unit: &Map<String, Value>) -> Value {
    json!({
        "pseudonyme": string(unit, "pseudonymeUniteLegale"),
        "prenom_usuel": string(unit, "prenomUsuelUniteLegale"),
        "prenom_1": string(unit, "prenom1UniteLegale"),
        "prenom_2": string(unit, "prenom2UniteLegale"),
        "prenom_3": string(unit, "prenom3UniteLegale"),
        "prenom_4": string(unit, "prenom4UniteLegale"),
        "nom_usage": string(unit, "nomUsageUniteLegale"),
        "nom_naissance": string(unit, "nomUniteLegale"),
        "sexe": string(unit, "sexeUniteLegale"),
    })
}

/// `data` of the unités légales routes, from a `siren/` record.
pub fn unite_legale(record: &Map<String, Value>, version: Version) -> Map<String, Value> {
    let unit = current(record, "periodesUniteLegale");
    let siren = text(record, "siren").unwrap_or_default();
    let mut out = unit_body(&unit, siren, version);
    let state = text(&unit, "etatAdministratifUniteLegale");
    let end = end_date(
        record,
        state,
        "periodesUniteLegale",
        "changementEtatAdministratifUniteLegale",
    );
    out.insert("date_cessation".into(), end);
    out
}

/// `data` of the établissements and sièges routes, from an `etablissement` record.
pub fn etablissement(record: &Map<String, Value>, version: Version) -> Map<String, Value> {
    let etab = current(record, "periodesEtablissement");
    let state = text(&etab, "etatAdministratifEtablissement");
    let mut out = Map::new();
    out.insert("siret".into(), string(record, "siret"));
    out.insert(
        "siege_social".into(),
        json!(record.get("etablissementSiege").and_then(Value::as_bool)),
    );
    out.insert("etat_administratif".into(), json!(state));
    let closed = end_date(
        record,
        state,
        "periodesEtablissement",
        "changementEtatAdministratifEtablissement",
    );
    out.insert("date_fermeture".into(), closed);
    out.insert("enseigne".into(), enseigne(&etab));
    let status = text(record, "statutDiffusionEtablissement");
    out.insert("status_diffusion".into(), Diffusion::label(status));
    out.insert("diffusable_commercialement".into(), json!(status == Some("O")));
    activities(
        &mut out,
        version,
        text(&etab, "activitePrincipaleEtablissement"),
        text(&etab, "nomenclatureActivitePrincipaleEtablissement"),
        text(record, "activitePrincipaleNAF25Etablissement"),
    );
    out.insert(
        "tranche_effectif_salarie".into(),
        tranche(
            text(record, "trancheEffectifsEtablissement"),
            text(record, "anneeEffectifsEtablissement"),
        ),
    );
    out.insert(
        "date_creation".into(),
        creation(text(record, "dateCreationEtablissement")),
    );
    let unit = embedded_unit(record);
    let siren = text(record, "siren").unwrap_or_default();
    out.insert("unite_legale".into(), Value::Object(unit_body(&unit, siren, version)));
    out.insert("adresse".into(), Value::Object(adresse(record)));
    out
}

fn embedded_unit(record: &Map<String, Value>) -> Map<String, Value> {
    record
        .get("uniteLegale")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// The three signs of the open period, joined.
fn enseigne(etab: &Map<String, Value>) -> Value {
    let signs: Vec<&str> = [
        "enseigne1Etablissement",
        "enseigne2Etablissement",
        "enseigne3Etablissement",
    ]
    .iter()
    .filter_map(|k| text(etab, k))
    .collect();
    if signs.is_empty() {
        Value::Null
    } else {
        json!(signs.join(", "))
    }
}

/// `data` of the adresse routes (and the `adresse` of an établissement).
pub fn adresse(record: &Map<String, Value>) -> Map<String, Value> {
    let empty = Map::new();
    let place = record
        .get("adresseEtablissement")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let field = |k: &str| string(place, k);
    let indice = text(place, "indiceRepetitionEtablissement").map(referentials::indice_repetition);
    let voie = text(place, "typeVoieEtablissement").map(referentials::type_voie);
    let mut out = Map::new();
    out.insert("numero_voie".into(), field("numeroVoieEtablissement"));
    out.insert("indice_repetition_voie".into(), json!(indice));
    out.insert("type_voie".into(), json!(voie));
    out.insert("libelle_voie".into(), field("libelleVoieEtablissement"));
    out.insert("complement_adresse".into(), field("complementAdresseEtablissement"));
    out.insert("code_commune".into(), field("codeCommuneEtablissement"));
    out.insert("libelle_commune".into(), field("libelleCommuneEtablissement"));
    out.insert("code_postal".into(), field("codePostalEtablissement"));
    out.insert(
        "distribution_speciale".into(),
        field("distributionSpecialeEtablissement"),
    );
    out.insert("code_cedex".into(), field("codeCedexEtablissement"));
    out.insert("libelle_cedex".into(), field("libelleCedexEtablissement"));
    out.insert(
        "libelle_commune_etranger".into(),
        field("libelleCommuneEtrangerEtablissement"),
    );
    out.insert("code_pays_etranger".into(), field("codePaysEtrangerEtablissement"));
    out.insert(
        "libelle_pays_etranger".into(),
        field("libellePaysEtrangerEtablissement"),
    );
    out.insert(
        "status_diffusion".into(),
        Diffusion::label(text(record, "statutDiffusionEtablissement")),
    );
    let lines = postal_lines(&embedded_unit(record), place, indice.as_deref(), voie.as_deref());
    out.insert("acheminement_postal".into(), lines);
    out
}

/// The seven lines of a postal address, as La Poste wants them (empty strings for the
/// lines that have nothing).
fn postal_lines(
    unit: &Map<String, Value>,
    place: &Map<String, Value>,
    indice: Option<&str>,
    voie: Option<&str>,
) -> Value {
    let t = |k: &str| text(place, k).unwrap_or_default();
    let joined = |parts: &[&str]| {
        parts
            .iter()
            .filter(|p| !p.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (l1, l2) = if is_person(unit) {
        let nom = text(unit, "nomUsageUniteLegale")
            .or(text(unit, "nomUniteLegale"))
            .unwrap_or_default();
        (
            String::new(),
            joined(&[text(unit, "prenom1UniteLegale").unwrap_or_default(), nom]),
        )
    } else {
        let name = text(unit, "denominationUniteLegale").unwrap_or_default();
        let usual = text(unit, "denominationUsuelle1UniteLegale")
            .filter(|u| *u != name)
            .unwrap_or_default();
        (joined(&[name, usual]), String::new())
    };
    let street = joined(&[
        t("numeroVoieEtablissement"),
        indice.unwrap_or_default(),
        voie.unwrap_or_default(),
        t("libelleVoieEtablissement"),
    ]);
    let l6 = if !t("codeCedexEtablissement").is_empty() {
        joined(&[t("codeCedexEtablissement"), t("libelleCedexEtablissement")])
    } else if !t("libelleCommuneEtrangerEtablissement").is_empty() {
        t("libelleCommuneEtrangerEtablissement").to_string()
    } else {
        joined(&[t("codePostalEtablissement"), t("libelleCommuneEtablissement")])
    };
    let l7 = text(place, "libellePaysEtrangerEtablissement").unwrap_or("FRANCE");
    json!({
        "l1": l1,
        "l2": l2,
        "l3": t("complementAdresseEtablissement"),
        "l4": street.to_uppercase(),
        "l5": t("distributionSpecialeEtablissement"),
        "l6": l6,
        "l7": l7,
    })
}

/// `data` of the successions route: the links where `siret` is the successor give its
/// predecessors, and conversely; each item names the other établissement.
pub fn successions(links: &[Value], siret: &str) -> Value {
    let item = |link: &Value, other: &str| {
        json!({
            "siret": link.get(other),
            "date_succession": link.get("dateLienSuccession"),
            "transfert_siege": link.get("transfertSiege"),
            "continuite_economique": link.get("continuiteEconomique"),
        })
    };
    let side = |own: &str, other: &str| -> Vec<Value> {
        links
            .iter()
            .filter(|l| l.get(own).and_then(Value::as_str) == Some(siret))
            .map(|l| item(l, other))
            .collect()
    };
    json!({
        "predecesseurs": side("siretEtablissementSuccesseur", "siretEtablissementPredecesseur"),
        "successeurs": side("siretEtablissementPredecesseur", "siretEtablissementSuccesseur"),
    })
}

fn mask(object: &mut Map<String, Value>, keys: &[&str]) {
    for key in keys {
        object.insert((*key).into(), json!(MASKED));
    }
}

const PERSON_FIELDS: &[&str] = &[
    "sexe",
    "nom_naissance",
    "nom_usage",
    "prenom_1",
    "prenom_2",
    "prenom_3",
    "prenom_4",
    "prenom_usuel",
    "pseudonyme",
];

const ADDRESS_FIELDS: &[&str] = &[
    "numero_voie",
    "indice_repetition_voie",
    "type_voie",
    "libelle_voie",
    "complement_adresse",
    "code_postal",
    "code_cedex",
    "libelle_cedex",
    "distribution_speciale",
];

/// Hides a partially diffusible unité légale's protected fields (§11): the sigle of a
/// company, the names and sex of a person.
pub fn mask_unit(unit: &mut Map<String, Value>) {
    let person = unit.get("type").and_then(Value::as_str) == Some("personne_physique");
    let (group, keys) = if person {
        ("personne_physique_attributs", PERSON_FIELDS)
    } else {
        ("personne_morale_attributs", &["sigle"][..])
    };
    if let Some(Value::Object(attributes)) = unit.get_mut(group) {
        mask(attributes, keys);
    }
}

/// Hides every street-level part of an address and the first six postal lines.
pub fn mask_address(address: &mut Map<String, Value>) {
    mask(address, ADDRESS_FIELDS);
    if let Some(Value::Object(lines)) = address.get_mut("acheminement_postal") {
        mask(lines, &["l1", "l2", "l3", "l4", "l5", "l6"]);
    }
}

/// An établissement: its unité légale and address, and the sign of a person's shop.
pub fn mask_etablissement(etab: &mut Map<String, Value>) {
    let mut person = false;
    if let Some(Value::Object(unit)) = etab.get_mut("unite_legale") {
        person = unit.get("type").and_then(Value::as_str) == Some("personne_physique");
        mask_unit(unit);
    }
    if let Some(Value::Object(address)) = etab.get_mut("adresse") {
        mask_address(address);
    }
    if person {
        etab.insert("enseigne".into(), json!(MASKED));
    }
}
