//! An `<Extrait>` → the two public answers: the extrait RCS (one object) and the
//! mandataires sociaux (a collection). Absent or empty values become `null`; a value
//! present but unreadable (a capital that is no amount, a birth date that is no date)
//! is the provider's `02999`, never a guess.

use chrono::{NaiveDate, TimeZone};
use chrono_tz::Europe::Paris;
use passerelle_core::translit::fold;
use serde_json::{json, Map, Value};

use super::errors::Failure;
use super::xml::Element;

/// A value as the contract wants it: trimmed, `null` when absent or blank.
fn value(raw: Option<&str>) -> Value {
    match raw.map(str::trim) {
        Some(text) if !text.is_empty() => Value::String(text.to_string()),
        _ => Value::Null,
    }
}

fn text_at(element: Option<&Element>, path: &[&str]) -> Value {
    value(element.and_then(|e| e.at(path)).map(|e| e.text.as_str()))
}

fn attribute_at(element: Option<&Element>, path: &[&str], name: &str) -> Value {
    value(element.and_then(|e| e.at(path)).and_then(|e| e.attribute(name)))
}

/// The parts of an extract every answer reads.
struct Extrait<'a> {
    root: &'a Element,
    dossier: Option<&'a Element>,
    entreprise: Option<&'a Element>,
}

impl<'a> Extrait<'a> {
    fn of(root: &'a Element) -> Self {
        let dossier = root.child("dossier");
        Extrait {
            root,
            dossier,
            entreprise: dossier.and_then(|d| d.child("entreprise")),
        }
    }

    fn dirigeants(&self) -> Vec<&'a Element> {
        self.dossier
            .and_then(|d| d.child("liste_dirigeant"))
            .map(|l| l.all("dirigeant").collect())
            .unwrap_or_default()
    }

    fn etablissements(&self) -> Vec<&'a Element> {
        self.dossier
            .map(|d| d.all("etablissement").collect())
            .unwrap_or_default()
    }

    /// The `adresse` block an `adresse="ADn"` attribute points to.
    fn adresse(&self, id: Option<&str>) -> Option<&'a Element> {
        let id = id?;
        self.root.all("adresse").find(|a| a.attribute("id") == Some(id))
    }
}

/// The extrait RCS of `siren`.
pub fn extrait_rcs(root: &Element, siren: &str) -> Result<Value, Failure> {
    let extrait = Extrait::of(root);
    let mandataires = extrait
        .dirigeants()
        .into_iter()
        .map(mandataire_court)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({
        "siren": siren,
        "date_radiation": attribute_at(extrait.dossier.and_then(|d| d.find("date_radiation")), &[], "dateISO"),
        "date_extrait": date_in_words(extrait.dossier.and_then(|d| d.attribute("date_extrait"))),
        "date_immatriculation": attribute_at(extrait.dossier, &[], "dateISO_immat"),
        "mandataires_sociaux": mandataires,
        "observations": observations(extrait.dossier),
        "nom_commercial": nom_commercial(&extrait.etablissements()),
        "etablissement_principal": etablissement_principal(&extrait.etablissements()),
        "capital": capital(extrait.entreprise.and_then(|e| e.at(&["pm", "capital", "montant"])))?,
        "greffe": {
            "valeur": text_at(extrait.entreprise, &["greffe"]),
            "code": attribute_at(extrait.entreprise, &["greffe"], "code"),
        },
        "personne_physique": personne_physique(&extrait),
        "personne_morale": personne_morale(extrait.entreprise.and_then(|e| e.child("pm"))),
    }))
}

/// The mandataires sociaux and their counts: the dirigeants, else the entrepreneur
/// himself; nobody at all is a not found.
pub fn mandataires_sociaux(root: &Element) -> Result<(Vec<Value>, Map<String, Value>), Failure> {
    let extrait = Extrait::of(root);
    let dirigeants = extrait.dirigeants();
    let items = if dirigeants.is_empty() {
        match extrait.entreprise.and_then(|e| e.child("pp")) {
            Some(pp) => vec![personne_physique_detaillee(Value::Null, Some(pp))?],
            None => return Err(Failure::NoMandataire),
        }
    } else {
        dirigeants
            .into_iter()
            .map(mandataire_detaille)
            .collect::<Result<Vec<_>, _>>()?
    };
    let physiques = items.iter().filter(|i| i["type"] == "personne_physique").count();
    let mut meta = Map::new();
    meta.insert("personnes_physiques_count".into(), json!(physiques));
    meta.insert("personnes_morales_count".into(), json!(items.len() - physiques));
    meta.insert("count".into(), json!(items.len()));
    let wrapped = items
        .into_iter()
        .map(|data| json!({"data": data, "links": {}, "meta": {}}))
        .collect();
    Ok((wrapped, meta))
}

/// A dirigeant is a legal person only when it says so (`type="PM"`).
fn is_personne_morale(dirigeant: &Element) -> bool {
    dirigeant.attribute("type") == Some("PM")
}

fn fonction(dirigeant: &Element) -> Value {
    text_at(Some(dirigeant), &["qualite"])
}

/// The extract's short form: birth reduced to the month.
fn mandataire_court(dirigeant: &Element) -> Result<Value, Failure> {
    if is_personne_morale(dirigeant) {
        let pm = dirigeant.child("pm");
        return Ok(json!({
            "numero_identification": text_at(pm, &["num_ident"]),
            "type": "personne_morale",
            "fonction": fonction(dirigeant),
            "nom": null,
            "prenom": null,
            "date_naissance": null,
            "raison_sociale": text_at(pm, &["denomination"]),
        }));
    }
    let pp = dirigeant.child("pp");
    let month = birth_date(pp)?.map(|d| d.format("%Y-%m").to_string());
    Ok(json!({
        "numero_identification": null,
        "type": "personne_physique",
        "fonction": fonction(dirigeant),
        "nom": text_at(pp, &["nom"]),
        "prenom": text_at(pp, &["prenom"]),
        "date_naissance": month,
        "raison_sociale": null,
    }))
}

fn mandataire_detaille(dirigeant: &Element) -> Result<Value, Failure> {
    if is_personne_morale(dirigeant) {
        let pm = dirigeant.child("pm");
        return Ok(json!({
            "numero_identification": text_at(pm, &["num_ident"]),
            "type": "personne_morale",
            "fonction": fonction(dirigeant),
            "raison_sociale": text_at(pm, &["denomination"]),
            "code_greffe": attribute_at(pm, &["greffe"], "code"),
            "libelle_greffe": text_at(pm, &["greffe"]),
        }));
    }
    personne_physique_detaillee(fonction(dirigeant), dirigeant.child("pp"))
}

fn personne_physique_detaillee(fonction: Value, pp: Option<&Element>) -> Result<Value, Failure> {
    let born = birth_date(pp)?;
    Ok(json!({
        "type": "personne_physique",
        "fonction": fonction,
        "nom": text_at(pp, &["nom"]),
        "prenom": text_at(pp, &["prenom"]),
        "date_naissance": born.map(|d| d.format("%Y-%m-%d").to_string()),
        "date_naissance_timestamp": born.map(paris_midnight),
        "lieu_naissance": text_at(pp, &["naissance", "lieu"]),
        "pays_naissance": attribute_at(pp, &["naissance"], "pays"),
        "code_pays_naissance": attribute_at(pp, &["naissance"], "codePays"),
        "nationalite": attribute_at(pp, &[], "nationalite"),
        "code_nationalite": attribute_at(pp, &[], "codeNationalite"),
    }))
}

/// `naissance/date@dateISO`: absent is `None`, present but no date is an error.
fn birth_date(pp: Option<&Element>) -> Result<Option<NaiveDate>, Failure> {
    match attribute_at(pp, &["naissance", "date"], "dateISO") {
        Value::String(raw) => NaiveDate::parse_from_str(&raw, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| Failure::Unknown),
        _ => Ok(None),
    }
}

/// Epoch seconds of the day's start in Paris, as the real service computes them.
fn paris_midnight(day: NaiveDate) -> Option<i64> {
    let midnight = day.and_hms_opt(0, 0, 0)?;
    Paris.from_local_datetime(&midnight).earliest().map(|t| t.timestamp())
}

const MONTHS: [&str; 12] = [
    "JANVIER",
    "FEVRIER",
    "MARS",
    "AVRIL",
    "MAI",
    "JUIN",
    "JUILLET",
    "AOUT",
    "SEPTEMBRE",
    "OCTOBRE",
    "NOVEMBRE",
    "DECEMBRE",
];

/// "30 MAI 2017" → "2017-05-30": the contract documents an ISO date. A date that
/// cannot be read is left out (`null`) rather than passed on in words.
fn date_in_words(raw: Option<&str>) -> Value {
    let Some(raw) = raw else { return Value::Null };
    let folded = fold(raw.trim()).to_uppercase();
    let parts: Vec<&str> = folded.split_whitespace().collect();
    let day = match parts.as_slice() {
        [day, month, year] => MONTHS
            .iter()
            .position(|m| m == month)
            .and_then(|m| NaiveDate::from_ymd_opt(year.parse().ok()?, m as u32 + 1, day.parse().ok()?)),
        _ => NaiveDate::parse_from_str(&folded, "%Y-%m-%d").ok(),
    };
    day.map_or(Value::Null, |d| Value::String(d.format("%Y-%m-%d").to_string()))
}

fn observations(dossier: Option<&Element>) -> Vec<Value> {
    let Some(list) = dossier.and_then(|d| d.child("liste_observations")) else {
        return Vec::new();
    };
    list.all("observation")
        .map(|o| {
            json!({
                "numero": attribute_at(Some(o), &[], "numero"),
                "libelle": text_at(Some(o), &["libelle"]),
                "date": attribute_at(Some(o), &[], "dateISO"),
            })
        })
        .collect()
}

/// The main établissement (`type="1"`), else the first one.
fn principal<'a>(etablissements: &[&'a Element]) -> Option<&'a Element> {
    etablissements
        .iter()
        .find(|e| e.attribute("type") == Some("1"))
        .or(etablissements.first())
        .copied()
}

/// The main établissement's trade name, else any établissement's.
fn nom_commercial(etablissements: &[&Element]) -> Value {
    let main = text_at(principal(etablissements), &["nom_commercial"]);
    if !main.is_null() {
        return main;
    }
    etablissements
        .iter()
        .map(|e| text_at(Some(e), &["nom_commercial"]))
        .find(|v| !v.is_null())
        .unwrap_or(Value::Null)
}

fn etablissement_principal(etablissements: &[&Element]) -> Value {
    let main = principal(etablissements);
    json!({
        "activite": text_at(main, &["activite"]),
        "origine_fonds": text_at(main, &["origine_fonds"]),
        "mode_exploitation": text_at(main, &["mode_exploit"]),
        "code_ape": text_at(main, &["codeAPE"]),
    })
}

/// The amount is read from the French text ("234 567,80"); currency from the
/// attributes (the real gateway looks for child elements and always finds nothing).
fn capital(montant: Option<&Element>) -> Result<Value, Failure> {
    let amount = match value(montant.map(|m| m.text.as_str())) {
        Value::String(text) => json!(french_amount(&text).ok_or(Failure::Unknown)?),
        _ => Value::Null,
    };
    Ok(json!({
        "montant": amount,
        "devise": attribute_at(montant, &[], "devise"),
        "code_devise": attribute_at(montant, &[], "codeDevise"),
    }))
}

/// "1 234 567,80" → 1234567.8 (spaces, also non-breaking, group the thousands).
fn french_amount(text: &str) -> Option<f64> {
    let plain: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    plain.parse::<f64>().ok().filter(|amount| amount.is_finite())
}

/// The entrepreneur of a natural person's business; every member `null` otherwise.
fn personne_physique(extrait: &Extrait<'_>) -> Value {
    let pp = extrait.entreprise.and_then(|e| e.child("pp"));
    let adresse = extrait.adresse(pp.and_then(|p| p.attribute("adresse")));
    let line = |tag: &str| text_at(adresse, &[tag]);
    json!({
        "adresse": {
            "nom_postal": line("nompostal"),
            "numero": line("numero"),
            "type": line("type"),
            "voie": line("voie"),
            "ligne_1": line("ligne1"),
            "ligne_2": line("ligne2"),
            "localite": line("localite"),
            "code_postal": line("code_postal"),
            "bureau_distributeur": line("bureau_distributeur"),
            "pays": line("pays"),
        },
        "nationalite": {
            "valeur": attribute_at(pp, &[], "nationalite"),
            "code": attribute_at(pp, &[], "codeNationalite"),
        },
        "nom": text_at(pp, &["nom"]),
        "prenom": text_at(pp, &["prenom"]),
        "naissance": {
            "pays": {
                "valeur": attribute_at(pp, &["naissance"], "pays"),
                "code": attribute_at(pp, &["naissance"], "codePays"),
            },
            "date": attribute_at(pp, &["naissance", "date"], "dateISO"),
            "lieu": text_at(pp, &["naissance", "lieu"]),
        },
    })
}

/// The company of a legal person; every member `null` otherwise.
fn personne_morale(pm: Option<&Element>) -> Value {
    json!({
        "forme_juridique": {
            "valeur": attribute_at(pm, &[], "forme_juridique"),
            "code": attribute_at(pm, &[], "codeFormeJuridique"),
        },
        "denomination": text_at(pm, &["denomination"]),
        "date_cloture_exercice_comptable": attribute_at(pm, &["date_cloture"], "dateISO"),
        "date_fin_de_vie": attribute_at(pm, &["duree_ste", "valeur_duree"], "dateISO"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_amounts_and_dates_in_words_are_read() {
        assert_eq!(french_amount("234 567,80"), Some(234567.8));
        assert_eq!(french_amount("1\u{a0}000,00"), Some(1000.0));
        assert_eq!(french_amount("MILLE EUROS"), None);
        assert_eq!(date_in_words(Some("30 MAI 2017")), json!("2017-05-30"));
        assert_eq!(date_in_words(Some("1 février 2022")), json!("2022-02-01"));
        assert_eq!(date_in_words(Some("2022-07-11")), json!("2022-07-11"));
        assert_eq!(date_in_words(Some("31 FEVRIER 2022")), Value::Null);
        assert_eq!(date_in_words(None), Value::Null);
    }

    #[test]
    fn radiation_untyped_dirigeants_and_secondary_etablissements_are_read() {
        let extrait = Element::parse(
            br#"<Extrait><dossier dateISO_immat="2001-02-03">
                <entreprise><num_ident siren="900000019"/></entreprise>
                <liste_dirigeant><dirigeant><qualite>GERANT</qualite>
                  <pp><nom>MARTIN</nom><naissance><date dateISO="1970-05-06"/></naissance></pp>
                </dirigeant></liste_dirigeant>
                <etablissement type="2"><nom_commercial> LE SECOND </nom_commercial><codeAPE>1234Z</codeAPE></etablissement>
                <etablissement type="1"><nom_commercial/><codeAPE>5601A</codeAPE></etablissement>
                <radiation><date_radiation dateISO="2020-12-31">31 DECEMBRE 2020</date_radiation></radiation>
              </dossier></Extrait>"#,
        )
        .unwrap();
        let rcs = extrait_rcs(&extrait, "900000019").unwrap();
        assert_eq!(rcs["date_radiation"], "2020-12-31");
        assert_eq!(rcs["date_extrait"], Value::Null);
        assert_eq!(rcs["nom_commercial"], "LE SECOND");
        assert_eq!(rcs["etablissement_principal"]["code_ape"], "5601A");
        assert_eq!(rcs["mandataires_sociaux"][0]["type"], "personne_physique");
        assert_eq!(rcs["mandataires_sociaux"][0]["date_naissance"], "1970-05");
        let (items, meta) = mandataires_sociaux(&extrait).unwrap();
        assert_eq!(items[0]["data"]["fonction"], "GERANT");
        assert_eq!(items[0]["data"]["prenom"], Value::Null);
        assert_eq!(meta["personnes_physiques_count"], 1);
    }

    #[test]
    fn birth_days_start_at_paris_midnight() {
        let day = NaiveDate::from_ymd_opt(1969, 8, 24).unwrap();
        // The OpenAPI's own example.
        assert_eq!(paris_midnight(day), Some(-11_235_600));
        let summer = NaiveDate::from_ymd_opt(1990, 7, 1).unwrap();
        assert_eq!(paris_midnight(summer), Some(646_783_200));
    }
}
