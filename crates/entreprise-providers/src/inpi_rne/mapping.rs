//! INPI's answers → the contract: the company's beneficial owners, and its actes and
//! bilans (whose `url` the gateway fills with its own download links).

use chrono::NaiveDate;
use passerelle_bouquet::{Deferred, Fetched};
use serde_json::{json, Map, Value};

use super::Failure;

/// How long the gateway's download links live (§6.5).
pub const LINK_LIFETIME_SECS: u64 = 3600;

/// The contract's modalités (a JSON pointer under `modalites`) and the RNE field each
/// copies as it comes (a number, a boolean, or null when missing).
const MODALITES: &[(&str, &str)] = &[
    ("/detention_de_capital/parts_totale", "detentionPartTotale"),
    ("/detention_de_capital/parts_directes/detention", "detentionPartDirecte"),
    (
        "/detention_de_capital/parts_directes/pleine_propriete",
        "partsDirectesPleinePropriete",
    ),
    (
        "/detention_de_capital/parts_directes/nue_propriete",
        "partsDirectesNuePropriete",
    ),
    (
        "/detention_de_capital/parts_indirectes/detention",
        "detentionPartIndirecte",
    ),
    (
        "/detention_de_capital/parts_indirectes/par_indivision/total",
        "partsIndirectesIndivision",
    ),
    (
        "/detention_de_capital/parts_indirectes/par_indivision/pleine_propriete",
        "partsIndirectesIndivisionPleinePropriete",
    ),
    (
        "/detention_de_capital/parts_indirectes/par_indivision/nue_propriete",
        "partsIndirectesIndivisionNuePropriete",
    ),
    (
        "/detention_de_capital/parts_indirectes/via_personnes_morales/total",
        "partsIndirectesPersonnesMorales",
    ),
    (
        "/detention_de_capital/parts_indirectes/via_personnes_morales/pleine_propriete",
        "partsIndirectesPmoralesPleinePropriete",
    ),
    (
        "/detention_de_capital/parts_indirectes/via_personnes_morales/nue_propriete",
        "partsIndirectesPmoralesNuePropriete",
    ),
    (
        "/vocation_a_devenir_titulaire_de_parts/parts_directes/pleine_propriete",
        "vocationTitulaireDirectePleinePropriete",
    ),
    (
        "/vocation_a_devenir_titulaire_de_parts/parts_directes/nue_propriete",
        "vocationTitulaireDirecteNuePropriete",
    ),
    (
        "/vocation_a_devenir_titulaire_de_parts/parts_indirectes/par_indivision/total",
        "vocationTitulaireIndirecteIndivision",
    ),
    (
        "/vocation_a_devenir_titulaire_de_parts/parts_indirectes/par_indivision/pleine_propriete",
        "vocationTitulaireIndirectePleinePropriete",
    ),
    (
        "/vocation_a_devenir_titulaire_de_parts/parts_indirectes/par_indivision/nue_propriete",
        "vocationTitulaireIndirecteNuePropriete",
    ),
    (
        "/vocation_a_devenir_titulaire_de_parts/parts_indirectes/via_personnes_morales/total",
        "vocationTitulaireIndirectePersonnesMorales",
    ),
    (
        "/vocation_a_devenir_titulaire_de_parts/parts_indirectes/via_personnes_morales/pleine_propriete",
        "vocationTitulaireIndirectePmoralesPleinePropriete",
    ),
    (
        "/vocation_a_devenir_titulaire_de_parts/parts_indirectes/via_personnes_morales/nue_propriete",
        "vocationTitulaireIndirectePmoralesNuePropriete",
    ),
    ("/droits_de_vote/total", "detentionVoteTotal"),
    ("/droits_de_vote/directes/detention", "detentionVoteDirecte"),
    (
        "/droits_de_vote/directes/pleine_propriete",
        "voteDirectePleinePropriete",
    ),
    ("/droits_de_vote/directes/nue_propriete", "voteDirecteNuePropriete"),
    ("/droits_de_vote/directes/usufruit", "voteDirecteUsufruit"),
    ("/droits_de_vote/indirectes/detention", "detentionVoteIndirecte"),
    (
        "/droits_de_vote/indirectes/par_indivision/total",
        "voteIndirecteIndivision",
    ),
    (
        "/droits_de_vote/indirectes/par_indivision/pleine_propriete",
        "voteIndirecteIndivisionPleinePropriete",
    ),
    (
        "/droits_de_vote/indirectes/par_indivision/nue_propriete",
        "voteIndirecteIndivisionNuePropriete",
    ),
    (
        "/droits_de_vote/indirectes/par_indivision/usufruit",
        "voteIndirecteIndivisionUsufruit",
    ),
    (
        "/droits_de_vote/indirectes/via_personnes_morales/total",
        "voteIndirectePersonnesMorales",
    ),
    (
        "/droits_de_vote/indirectes/via_personnes_morales/pleine_propriete",
        "voteIndirectePmoralesPleinePropriete",
    ),
    (
        "/droits_de_vote/indirectes/via_personnes_morales/nue_propriete",
        "voteIndirectePmoralesNuePropriete",
    ),
    (
        "/droits_de_vote/indirectes/via_personnes_morales/usufruit",
        "voteIndirectePmoralesUsufruit",
    ),
    ("/pouvoirs_de_controle/decision_ag", "detentionPouvoirDecisionAG"),
    (
        "/pouvoirs_de_controle/nommage_membres_conseil_administratif",
        "detentionPouvoirNommageMembresConseilAdmin",
    ),
    ("/pouvoirs_de_controle/autres", "detentionAutresMoyensControle"),
    ("/representant_legal", "beneficiaireRepresentantLegal"),
    (
        "/representant_legal_placement_sans_gestion_deleguee",
        "representantLegalPlacementSansGestionDelegue",
    ),
];

/// The bilans' kinds, by INPI's code.
const BILAN_TYPES: &[(&str, &str)] = &[
    ("C", "bilan complet"),
    ("S", "bilan simplifié"),
    ("K", "bilan consolidé"),
    ("B", "bilan de type banque"),
    ("A", "bilan de type assurance"),
    ("AS", "bilan de type agricole simplifié"),
];

/// The company's JSON: a 200 that is not a JSON object cannot be read (`34001`).
pub fn company(body: &[u8]) -> Result<Value, Failure> {
    match serde_json::from_slice::<Value>(body) {
        Ok(company @ Value::Object(_)) => Ok(company),
        Ok(_) => Err(Failure::Unreadable("the company is not a JSON object".into())),
        Err(_) => Err(Failure::Unreadable("the company is not JSON".into())),
    }
}

/// The beneficial owners that have modalités, one resource each; the ids of the others
/// in `meta`. A personne physique, a company without `personneMorale` or without
/// beneficial owners: not found.
pub fn beneficiaires(company: &Value) -> Result<Fetched, Failure> {
    let content = company
        .pointer("/formality/content")
        .filter(|c| c.is_object())
        .ok_or(Failure::Unknown)?;
    let owners = match content.pointer("/personneMorale/beneficiairesEffectifs") {
        Some(Value::Array(owners)) if !owners.is_empty() => owners,
        Some(Value::Array(_)) | Some(Value::Null) | None => return Err(Failure::NotFound),
        Some(_) => return Err(Failure::Unknown),
    };
    if owners.iter().any(|o| !o.is_object()) {
        return Err(Failure::Unknown);
    }
    let (with, without): (Vec<&Value>, Vec<&Value>) = owners.iter().partition(|o| has_modalite(o));
    let items = with
        .iter()
        .map(|owner| beneficiaire(owner).map(|data| json!({"data": data, "links": {}, "meta": {}})))
        .collect::<Result<Vec<_>, _>>()?;
    let mut fetched = Fetched::from(Value::Array(items));
    fetched.meta.insert("count".into(), json!(with.len()));
    fetched.meta.insert(
        "beneficiaires_sans_modalites_uuids".into(),
        without
            .iter()
            .map(|o| o.get("beneficiaireId").cloned().unwrap_or(Value::Null))
            .collect(),
    );
    Ok(fetched)
}

fn has_modalite(owner: &Value) -> bool {
    owner.get("modalite").is_some_and(|m| !m.is_null())
}

fn beneficiaire(owner: &Value) -> Result<Value, Failure> {
    let person = owner
        .pointer("/beneficiaire/descriptionPersonne")
        .unwrap_or(&Value::Null);
    let birth = text(person, "dateDeNaissance")?;
    let mut parts = birth.map(|b| b.split('-')).into_iter().flatten();
    let prenoms = match person.get("prenoms") {
        None | Some(Value::Null) => Value::Null,
        Some(Value::Array(names)) => names
            .iter()
            .map(|n| n.as_str().map(|n| json!(n.to_uppercase())).ok_or(Failure::Unknown))
            .collect::<Result<Value, _>>()?,
        Some(_) => return Err(Failure::Unknown),
    };
    Ok(json!({
        "beneficiaire_uuid": owner.get("beneficiaireId").cloned().unwrap_or(Value::Null),
        "nom": text(person, "nom")?.map(str::to_uppercase),
        "nom_usage": text(person, "nomUsage")?.map(str::to_uppercase),
        "prenoms": prenoms,
        "date_naissance": {"annee": parts.next(), "mois": parts.next()},
        "nationalite": text(person, "nationalite")?,
        "pays_residence": text(owner.pointer("/beneficiaire/adresseDomicile").unwrap_or(&Value::Null), "pays")?,
        "modalites": modalites(owner.get("modalite").unwrap_or(&Value::Null))?,
    }))
}

/// A text member: absent or null is `None`, anything but a string is unknown.
fn text<'a>(value: &'a Value, key: &str) -> Result<Option<&'a str>, Failure> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Failure::Unknown),
    }
}

fn modalites(modalite: &Value) -> Result<Value, Failure> {
    let modalite = modalite.as_object().ok_or(Failure::Unknown)?;
    let mut out = Value::Object(Map::new());
    for (pointer, key) in MODALITES {
        let value = modalite.get(*key).cloned().unwrap_or(Value::Null);
        if !matches!(value, Value::Null | Value::Bool(_) | Value::Number(_)) {
            return Err(Failure::Unknown);
        }
        put(&mut out, pointer, value);
    }
    Ok(out)
}

/// Writes `value` at `pointer`, making the objects on the way.
fn put(target: &mut Value, pointer: &str, value: Value) {
    let mut parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    let last = parts.pop().unwrap_or_default();
    let mut here = target;
    for part in parts {
        here = here
            .as_object_mut()
            .map(|o| o.entry(part).or_insert_with(|| json!({})))
            .expect("the table only nests objects");
    }
    if let Some(object) = here.as_object_mut() {
        object.insert(last.to_string(), value);
    }
}

/// The actes and bilans of a company, deleted ones left out; each `url` is a link the
/// gateway writes (`null` until then).
pub fn actes_bilans(body: &[u8]) -> Result<Fetched, Failure> {
    let answer: Value = serde_json::from_slice(body).map_err(|_| Failure::Unknown)?;
    let answer = answer.as_object().ok_or(Failure::Unknown)?;
    if answer.is_empty() {
        return Err(Failure::NoAttachments);
    }
    let actes = items(answer.get("actes"))?;
    let bilans = items(answer.get("bilans"))?;
    if actes.is_empty() && bilans.is_empty() {
        return Err(Failure::Unknown);
    }
    let actes = actes.into_iter().map(acte).collect::<Result<Vec<_>, _>>()?;
    let bilans = bilans.into_iter().map(bilan).collect::<Result<Vec<_>, _>>()?;
    let mut deferred = links("actes", &actes);
    deferred.extend(links("bilans", &bilans));
    let mut fetched = Fetched::from(json!({"actes": actes, "bilans": bilans}));
    fetched.deferred = deferred;
    Ok(fetched)
}

/// The items still in force of a list that may be missing.
fn items(list: Option<&Value>) -> Result<Vec<&Value>, Failure> {
    let list = match list {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(Failure::Unknown),
    };
    let mut kept = Vec::new();
    for item in list {
        match item.get("deleted") {
            _ if !item.is_object() => return Err(Failure::Unknown),
            Some(Value::Bool(true)) => {}
            None | Some(Value::Null) | Some(Value::Bool(false)) => kept.push(item),
            Some(_) => return Err(Failure::Unknown),
        }
    }
    Ok(kept)
}

fn acte(item: &Value) -> Result<Value, Failure> {
    let types = match item.get("typeRdd") {
        None | Some(Value::Null) => Value::Null,
        Some(Value::Array(types)) => types.iter().map(type_acte).collect::<Result<Value, _>>()?,
        Some(_) => return Err(Failure::Unknown),
    };
    Ok(json!({
        "id": id(item)?,
        "nom_document": text(item, "nomDocument")?,
        "date_depot": text(item, "dateDepot")?,
        "date_mise_a_jour": text(item, "updatedAt")?.map(day),
        "types_actes": types,
        "url": null,
    }))
}

fn type_acte(kind: &Value) -> Result<Value, Failure> {
    let mut out = Map::new();
    out.insert("type_acte".into(), text(kind, "typeActe")?.into());
    if let Some(decision) = text(kind, "decision")? {
        out.insert("type_decision".into(), decision.into());
    }
    Ok(Value::Object(out))
}

fn bilan(item: &Value) -> Result<Value, Failure> {
    let kind = text(item, "typeBilan")?;
    let label = BILAN_TYPES
        .iter()
        .find(|(code, _)| Some(*code) == kind)
        .map(|(_, label)| *label);
    Ok(json!({
        "id": id(item)?,
        "nom_document": text(item, "nomDocument")?,
        "date_depot": text(item, "dateDepot")?,
        "date_cloture": text(item, "dateCloture")?,
        "date_mise_a_jour": text(item, "updatedAt")?.map(day),
        "type": label,
        "url": null,
    }))
}

/// A document's id, which its download needs.
fn id(item: &Value) -> Result<&str, Failure> {
    text(item, "id")?.ok_or(Failure::Unknown)
}

/// The day of an INPI timestamp (`2023-11-01T09:30:00+01:00`), as written; a value
/// that does not start with a day passes as it comes.
fn day(stamp: &str) -> String {
    let date = stamp
        .get(..10)
        .filter(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok());
    date.unwrap_or(stamp).to_string()
}

/// One download link per document, to be written at its `url`.
fn links(kind: &str, documents: &[Value]) -> Vec<Deferred> {
    documents
        .iter()
        .enumerate()
        .map(|(i, document)| Deferred {
            url_pointer: format!("/{kind}/{i}/url"),
            target: format!("{kind}:{}", document["id"].as_str().unwrap_or_default()),
            lifetime_secs: LINK_LIFETIME_SECS,
        })
        .collect()
}
