//! INPI RNE's company record (`GET /api/companies/{siren}`) → the `data` of the extrait RNE
//! (§6.3 of the upstream reference), without `document_url`, which the provider adds.
//!
//! The record is read leniently, as the real gateway does: a member that is missing or of
//! another type is `null` in the answer. Only a record without its `formality`, its
//! `content` or a SIREN is unreadable.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Value};

use super::errors::Failure;
use crate::insee::referentials;

const MAIN: &str = "Siège et principal";
const SECONDARY: &str = "Secondaire";
/// `statutPourFormalite` of a closed établissement.
const CLOSED: &str = "6";

pub(super) fn extrait(company: &Value) -> Result<Value, Failure> {
    let formality = &company["formality"];
    let content = &formality["content"];
    if !formality.is_object() || !content.is_object() {
        return Err(Failure::Unreadable("no formality.content in the company record".into()));
    }
    let siren = text(&formality["siren"])
        .or_else(|| text(&company["siren"]))
        .ok_or_else(|| Failure::Unreadable("no SIREN in the company record".into()))?;
    let personne = personne(content);
    let etablissements = etablissements(personne);
    Ok(json!({
        "identite_entreprise": identite(siren, formality, personne),
        "dirigeants_et_associes": dirigeants(personne),
        "etablissements": etablissements.iter().map(|(e, kind)| etablissement(e, kind)).collect::<Vec<_>>(),
        "diffusion_commerciale": formality["diffusionCommerciale"].as_bool().unwrap_or(false),
        "diffusion_insee": formality["diffusionINSEE"] == "O",
        "etablissements_fermes_total": etablissements.iter().filter(|(e, _)| closed(e)).count(),
        "observations": observations(content),
    }))
}

/// The company's person: the personne morale when there is one, else the entrepreneur's.
fn personne(content: &Value) -> &Value {
    match &content["personneMorale"] {
        Value::Object(morale) if !morale.is_empty() => &content["personneMorale"],
        _ => &content["personnePhysique"],
    }
}

fn identite(siren: &str, formality: &Value, personne: &Value) -> Value {
    let content = &formality["content"];
    let entreprise = &personne["identite"]["entreprise"];
    let description = &personne["identite"]["description"];
    let entrepreneur = &personne["identite"]["entrepreneur"]["descriptionPersonne"];
    let forme = [entreprise, &content["natureCreation"], formality]
        .into_iter()
        .find_map(|holder| text(&holder["formeJuridique"]));
    let associe_unique = entreprise["indicateurAssocieUnique"]
        .as_bool()
        .or_else(|| description["indicateurAssocieUnique"].as_bool());
    json!({
        "siren": siren,
        "denomination": text(&entreprise["denomination"]),
        "nom": text(&entrepreneur["nom"]),
        "prenoms": texts(&entrepreneur["prenoms"]),
        "forme_juridique": coded(forme, forme_juridique_libelle),
        "nature_entreprise": text(&content["formeExerciceActivitePrincipale"]),
        "associe_unique": associe_unique.unwrap_or(false),
        "date_immatriculation_rne": date(&entreprise["dateImmat"]).or_else(|| date(&content["natureCreation"]["dateCreation"])),
        "date_debut_activite": date(&entreprise["dateDebutActiv"]),
        "date_fin_personne": date(&description["dateFinExistence"]),
        "date_cloture_exercice": text(&description["dateClotureExerciceSocial"]).map(cloture),
        "date_premiere_cloture_exercice": date(&description["datePremiereCloture"]),
        "detail_cessation": null,
        "dissolution": {
            "date": date(&description["dateDissolutionDisparition"]),
            "poursuite_activite": description["indicateurPoursuiteActivite"].as_bool(),
            "avec_liquidation": null,
        },
        "capital_social": {
            "montant": description["montantCapital"].as_f64(),
            "devise": text(&description["deviseCapital"]).unwrap_or("EUR"),
        },
        "activite_principales_objet_social": text(&description["objet"]),
        "code_APE": coded(text(&entreprise["codeApe"]), ape_libelle),
        "code_APRM": coded(text(&entreprise["codeAprm"]), aprm_libelle),
        "adresse_siege_social": adresse(&personne["adresseEntreprise"]["adresse"]),
    })
}

/// The active pouvoirs held by individuals (companies holding a mandate are left out).
fn dirigeants(personne: &Value) -> Vec<Value> {
    items(&personne["composition"]["pouvoirs"])
        .filter(|pouvoir| pouvoir["actif"] != false)
        .filter(|pouvoir| matches!(pouvoir["typeDePersonne"].as_str(), Some("INDIVIDU" | "P")))
        .filter(|pouvoir| pouvoir["individu"].is_object())
        .map(|pouvoir| {
            let individu = &pouvoir["individu"];
            let description = &individu["descriptionPersonne"];
            json!({
                "qualite": qualite(&pouvoir["roleEntreprise"]),
                "nom": text(&description["nom"]),
                "prenom": text(&description["prenoms"][0]),
                "date_naissance": text(&description["dateDeNaissance"]).map(naissance),
                "commune_residence": text(&individu["adresseDomicile"]["commune"]),
            })
        })
        .collect()
}

/// The main établissement first, then the others, each with its kind.
///
/// The real gateway leaves a `null` in first place when the main établissement is closed
/// (the secondary ones come closed or open). We give the closed main one like the others,
/// with `statut` `fermé`: the contract's items are objects, and a `null` tells nothing.
fn etablissements(personne: &Value) -> Vec<(&Value, &'static str)> {
    let main = Some(&personne["etablissementPrincipal"]).filter(|e| e.is_object());
    main.into_iter()
        .map(|e| (e, MAIN))
        .chain(items(&personne["autresEtablissements"]).map(|e| (e, SECONDARY)))
        .collect()
}

fn closed(etablissement: &Value) -> bool {
    let description = &etablissement["descriptionEtablissement"];
    description["statutPourFormalite"] == CLOSED || text(&description["dateEffetFermeture"]).is_some()
}

fn etablissement(etablissement: &Value, kind: &str) -> Value {
    let description = &etablissement["descriptionEtablissement"];
    let activites: Vec<&Value> = items(&etablissement["activites"]).collect();
    let principale = activites
        .iter()
        .find(|a| a["indicateurPrincipal"] == true)
        .copied()
        .unwrap_or(&Value::Null);
    let autres: Vec<String> = activites
        .iter()
        .filter(|a| a["indicateurPrincipal"] != true)
        .filter_map(|a| text(&a["descriptionDetaillee"]).map(repair))
        .collect();
    let statut = if closed(etablissement) { "fermé" } else { "actif" };
    json!({
        "type_etablissement": kind,
        "siret": text(&description["siret"]),
        "statut": statut,
        "date_debut_activite": date(&description["dateEffet"]).or_else(|| date(&principale["dateDebut"])),
        "code_APE": coded(text(&description["codeApe"]), ape_libelle),
        "code_APRM": coded(text(&principale["codeAprm"]), aprm_libelle),
        "nature_etablissement": text(&principale["formeExercice"]),
        "activite_principale": text(&principale["descriptionDetaillee"]).map(repair),
        "autre_activite": (!autres.is_empty()).then(|| autres.join(", ")),
        "adresse": adresse(&etablissement["adresse"]),
    })
}

/// RCS observations then RNM ones (the chambres de métiers' inscriptions d'office), the
/// newest first; those without a date that reads come last, in their original order.
fn observations(content: &Value) -> Vec<Value> {
    let rcs = items(&content["personneMorale"]["observations"]["rcs"]).map(|o| {
        observation(
            "rcs",
            text(&o["numObservation"]),
            &o["dateAjout"],
            text(&o["texte"]).map(repair),
        )
    });
    let rnm = items(&content["inscriptionsOffices"]).map(|o| {
        observation(
            "rnm",
            None,
            &o["dateEffet"],
            text(&o["observationComplementaire"]).map(String::from),
        )
    });
    let mut all: Vec<(Option<NaiveDate>, Value)> = rcs.chain(rnm).collect();
    // Dated first, newest first; a stable sort keeps the rest in order.
    all.sort_by_key(|(day, _)| (day.is_none(), Reverse(*day)));
    all.into_iter().map(|(_, o)| o).collect()
}

/// One observation, with the day it sorts by.
fn observation(
    fournisseur: &str,
    numero: Option<&str>,
    day: &Value,
    texte: Option<String>,
) -> (Option<NaiveDate>, Value) {
    let raw = text(day);
    let value = json!({
        "fournisseur": fournisseur,
        "numero": numero,
        "date": raw.map(normalise_date),
        "texte": texte,
    });
    (raw.and_then(parse_date), value)
}

/// An RNE address: number, street type and street upper-cased in one line.
fn adresse(adresse: &Value) -> Value {
    let parts: Vec<&str> = ["numVoie", "typeVoie", "voie"]
        .iter()
        .filter_map(|member| text(&adresse[*member]))
        .collect();
    match adresse.as_object() {
        Some(members) if !members.is_empty() => json!({
            "voie": parts.join(" ").to_uppercase(),
            "code_postal": text(&adresse["codePostal"]),
            "commune": text(&adresse["commune"]).map(str::to_uppercase),
            "pays": text(&adresse["pays"]).unwrap_or("FRANCE"),
            "complement": text(&adresse["complementLocalisation"]),
        }),
        _ => Value::Null,
    }
}

/// `{code, libelle}`; both null without a code.
fn coded(code: Option<&str>, libelle: fn(&str) -> String) -> Value {
    json!({"code": code, "libelle": code.map(libelle)})
}

/// The codes' labels. A code no table knows gets the real gateway's placeholder, which
/// names the code rather than leaving the contract's label empty.
fn forme_juridique_libelle(code: &str) -> String {
    referentials::categorie_juridique(code).map_or_else(|| format!("Forme juridique {code}"), String::from)
}

fn ape_libelle(code: &str) -> String {
    let key: String = code.chars().filter(|c| *c != '.').collect();
    referentials::naf_rev2(&key)
        .map(String::from)
        .or_else(|| TABLES.ape.get(&key).cloned())
        .unwrap_or_else(|| format!("Activité {code}"))
}

fn aprm_libelle(code: &str) -> String {
    TABLES
        .aprm
        .get(code)
        .cloned()
        .unwrap_or_else(|| format!("Activité Art {code}"))
}

/// A pouvoir's role: a code (the RNE's usual form) or an object `{rolePersonne,
/// denomination}`; a code the table lacks gives the role's own name, else the code.
fn qualite(role: &Value) -> Option<String> {
    let (code, name) = match role {
        Value::Object(_) => (text(&role["rolePersonne"]), text(&role["denomination"])),
        _ => (text(role), None),
    };
    code.and_then(|c| TABLES.roles.get(c).cloned())
        .or(name.map(String::from))
        .or(code.map(String::from))
}

#[derive(Deserialize)]
struct Tables {
    ape: BTreeMap<String, String>,
    aprm: BTreeMap<String, String>,
    roles: BTreeMap<String, String>,
}

static TABLES: LazyLock<Tables> = LazyLock::new(|| {
    let mut tables: Tables =
        serde_json::from_str(include_str!("tables/extrait.json")).expect("tables/extrait.json is valid");
    for table in [&mut tables.ape, &mut tables.aprm, &mut tables.roles] {
        table.retain(|code, _| !code.starts_with('_'));
    }
    tables
});

/// `YYYY-MM-DD` when the date reads (a timestamp keeps its own calendar day), else the
/// text as it came.
fn normalise_date(raw: &str) -> String {
    parse_date(raw).map_or_else(|| raw.to_string(), |day| day.format("%Y-%m-%d").to_string())
}

fn parse_date(raw: &str) -> Option<NaiveDate> {
    let day = raw.get(..10).filter(|_| raw.len() == 10 || raw[10..].starts_with('T'));
    day.and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .or_else(|| NaiveDate::parse_from_str(raw, "%Y%m%d").ok())
        .or_else(|| NaiveDate::parse_from_str(raw, "%d/%m/%Y").ok())
}

fn date(value: &Value) -> Option<String> {
    text(value).map(normalise_date)
}

/// The closing day of the financial year, `DDMM` → `MM-DD`; another form passes through.
fn cloture(raw: &str) -> String {
    match raw.as_bytes() {
        [d1, d2, m1, m2] if raw.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{}{}-{}{}", *m1 as char, *m2 as char, *d1 as char, *d2 as char)
        }
        _ => raw.to_string(),
    }
}

/// A birth month, `YYYY-MM` (or a full date) → `MM-YYYY` as the contract writes it; the
/// day, when the RNE gives one, is not passed on. Another form passes through.
fn naissance(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let month_first = bytes.len() >= 7
        && bytes[4] == b'-'
        && bytes[..4].iter().chain(&bytes[5..7]).all(u8::is_ascii_digit)
        && (bytes.len() == 7 || parse_date(raw).is_some());
    if month_first {
        format!("{}-{}", &raw[5..7], &raw[..4])
    } else {
        raw.to_string()
    }
}

/// Text written in UTF-8 but read somewhere as Latin-1 (or Windows-1252) and sent again
/// in UTF-8 — `sociÃ©tÃ©` — is put back (`société`). Text that does not decode that way
/// is left as it is, so genuine accents are safe.
fn repair(raw: &str) -> String {
    let mut current = raw.to_string();
    // Text can have been garbled twice; three rounds is plenty and bounds the work.
    for _ in 0..3 {
        match undo_latin1(&current) {
            Some(fixed) if fixed != current => current = fixed,
            _ => break,
        }
    }
    current
}

fn undo_latin1(text: &str) -> Option<String> {
    let bytes: Vec<u8> = text.chars().map(latin1_byte).collect::<Option<_>>()?;
    if bytes.is_ascii() {
        return None;
    }
    String::from_utf8(bytes).ok()
}

/// Windows-1252's characters for the bytes 0x80–0x9F (Latin-1 has control codes there).
const CP1252_HIGH: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž', '\u{8F}', '\u{90}', '‘', '’',
    '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}', 'ž', 'Ÿ',
];

fn latin1_byte(c: char) -> Option<u8> {
    u8::try_from(u32::from(c)).ok().or_else(|| {
        let index = CP1252_HIGH.iter().position(|&high| high == c)?;
        u8::try_from(0x80 + index).ok()
    })
}

/// A non-blank text member.
fn text(value: &Value) -> Option<&str> {
    value.as_str().filter(|s| !s.trim().is_empty())
}

fn texts(value: &Value) -> Vec<&str> {
    items(value).filter_map(text).collect()
}

/// The members of an array; nothing when it is not one.
fn items(value: &Value) -> impl Iterator<Item = &Value> {
    value.as_array().into_iter().flatten()
}

#[cfg(test)]
#[path = "extrait_tests.rs"]
mod tests;
