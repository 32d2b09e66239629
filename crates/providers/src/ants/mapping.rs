//! From the SIV answer to the contract's `data`, `meta` and errors.

use passerelle_core::Subcode;
use std::collections::BTreeMap;
use std::sync::LazyLock;

use passerelle_core::{ApiError, Civility};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::matching::{self, Candidate};
use super::xml::Node;
use super::ANTS;
use crate::{http, Fetched};

/// What the SIV writes when it has no file for the plate.
const NOT_FOUND_MESSAGE: &str = "Aucune réponse trouvée pour les critères en entrée";

#[derive(Deserialize)]
struct Labels {
    categorie_vehicule: BTreeMap<String, String>,
    genre_national: BTreeMap<String, String>,
    type_carburant: BTreeMap<String, String>,
    classe_environnementale: Vec<EuroPattern>,
    classe_environnementale_labels: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct EuroPattern {
    pattern: String,
    code: String,
}

static LABELS: LazyLock<Labels> =
    LazyLock::new(|| serde_json::from_str(include_str!("labels.json")).expect("labels.json is valid"));

/// Maps an upstream answer for the person FranceConnect identified.
pub fn build(status: StatusCode, body: &[u8], identity: &Civility) -> Result<Fetched, ApiError> {
    if let Some(error) = http::soft_status_error(ANTS, status) {
        return Err(error);
    }
    let text = String::from_utf8_lossy(body);
    if status.is_server_error() {
        return Err(unknown("server error status"));
    }
    if text.contains(NOT_FOUND_MESSAGE) {
        return Err(not_found());
    }
    let root = Node::parse(&text).map_err(|_| unknown("body is not XML"))?;
    if root.find("Fault").is_some() {
        return Err(unknown("SOAP fault"));
    }
    if root.text_of("code_traitement") != Some("0") {
        return Err(unknown("code_traitement is not 0"));
    }
    let dossier = root.find("dossier").ok_or_else(|| unknown("no dossier"))?;
    let plate = dossier.text_of("num_immat").ok_or_else(|| unknown("no num_immat"))?;
    let candidates = matching::candidates(dossier, plate);
    let (person, scores) = matching::first_match(&candidates, identity).ok_or_else(identity_not_found)?;
    let mut meta = Map::new();
    meta.insert("identity_matching".into(), scores.to_json());
    Ok(Fetched {
        data: data(dossier, person)?,
        links: Map::new(),
        meta,
        attachments: Vec::new(),
        proxied: Vec::new(),
        deferred: Vec::new(),
        legacy: serde_json::Map::new(),
    })
}

fn data(dossier: &Node, person: &Candidate) -> Result<Value, ApiError> {
    let p = person.node;
    let empty = Node::default();
    let identite = p.find("identite_personne").unwrap_or(&empty);
    let adresse = p.find("adresse_personne").unwrap_or(&empty);
    let immat = dossier.find("immatriculation").unwrap_or(&empty);
    let tech = dossier.find("caracteristiques_techniques").unwrap_or(&empty);
    let (annee, mois, jour) = date_parts(identite.text_of("date_naissance"));
    Ok(json!({
        "identite_particulier": {
            "nom": person.nom,
            "prenom": (!person.prenoms.is_empty()).then(|| person.prenoms.join(" ")),
            "sexe_etat_civil": identite.text_of("sexe"),
            "annee_date_naissance": annee,
            "mois_date_naissance": mois,
            "jour_date_naissance": jour,
            "code_departement_naissance": identite.text_of("code_dep_naissance"),
        },
        "adresse_particulier": {
            "complement_information": adresse.text_of("compl_adresse"),
            "num_voie": adresse.text_of("num_voie"),
            "type_voie": adresse.text_of("type_voie"),
            "libelle_voie": adresse.text_of("libelle_voie"),
            "code_postal_ville": adresse.text_of("code_postal"),
            "libelle_commune": adresse.text_of("libelle_commune"),
            "lieu_dit": adresse.text_of("lieudit_ou_bp"),
            "etage_escalier_appartement": adresse.text_of("point_remise"),
            "extension": adresse.text_of("extension"),
            "pays": adresse.text_of("pays"),
        },
        "statut_rattachement": p.text_of("libelle_type_personne"),
        "donnees_immatriculation_vehicule": {
            "numero_immatriculation": immat.text_of("num_immat"),
            "date_premiere_immatriculation": immat.text_of("date_prem_immat"),
            // The rental status (LLD, LCB, LCL), as the contract describes it.
            "statut_location": {
                "code": immat.text_of("code_type_loc"),
                "label": immat.text_of("libelle_type_loc"),
            },
        },
        "caracteristiques_techniques_vehicule": {
            "marque": tech.text_of("marque_vehicule"),
            "type_variante_version": tech.text_of("tvv"),
            "denomination_commerciale": tech.text_of("denomination_com"),
            "masse_charge_maximale": integer(tech, "ptac")?,
            "categorie_vehicule": labelled(tech.text_of("categorie_ce"), &LABELS.categorie_vehicule),
            "genre_national": labelled(tech.text_of("genre_national"), &LABELS.genre_national),
            "cylindree": integer(tech, "cylindree")?,
            "type_carburant": labelled(tech.text_of("energie"), &LABELS.type_carburant),
            "taux_co2": integer(tech, "co2")?,
            "classe_environnementale": classe_environnementale(tech.text_of("classe_environnement_ce")),
        },
    }))
}

/// `YYYY-MM-DD` as three integers; an absent or odd date gives nulls.
fn date_parts(date: Option<&str>) -> (Option<u32>, Option<u32>, Option<u32>) {
    let parts: Vec<Option<u32>> = date.unwrap_or_default().split('-').map(|p| p.parse().ok()).collect();
    match parts.as_slice() {
        [y, m, d] => (*y, *m, *d),
        _ => (None, None, None),
    }
}

/// A number the SIV writes as text; absent is null, anything else is a broken answer.
fn integer(node: &Node, name: &str) -> Result<Option<i64>, ApiError> {
    node.text_of(name)
        .map(|t| t.parse().map_err(|_| unknown("a number is not an integer")))
        .transpose()
}

fn labelled(code: Option<&str>, labels: &BTreeMap<String, String>) -> Value {
    json!({"code": code, "label": code.and_then(|c| labels.get(c))})
}

/// `70/220*2003/76EURO4` → `Euro 4`: the first known pattern in the raw value, else
/// the raw value itself (with no label).
pub fn classe_environnementale(raw: Option<&str>) -> Value {
    let code = raw.map(|raw| {
        let upper = raw.to_uppercase();
        LABELS
            .classe_environnementale
            .iter()
            .find(|p| upper.contains(&p.pattern))
            .map_or_else(|| raw.to_string(), |p| p.code.clone())
    });
    let label = code.as_ref().and_then(|c| LABELS.classe_environnementale_labels.get(c));
    json!({"code": code, "label": label})
}

pub fn not_found() -> ApiError {
    ANTS.error(Subcode::NotFound)
        .with_title("Entité non trouvée")
        .with_detail("Le ou les paramètre(s) d'entrée n'existent pas, ne sont pas connus, ou ne comportent aucune information pour cet appel. Veuillez vérifier que votre recherche est couverte par le périmètre de l'API.")
}

/// The file exists but none of its physical persons is the FranceConnect user
/// (sub-code 005 reused as a 404, as the contract does).
pub fn identity_not_found() -> ApiError {
    ANTS.error(Subcode::NotFound)
        .with_code("42005")
        .with_title("Identité non trouvée")
        .with_detail("Immatriculation trouvée mais aucune identité ne correspond")
}

fn unknown(why: &'static str) -> ApiError {
    tracing::warn!(provider = ANTS.name, why, "unexpected upstream answer");
    ANTS.error(Subcode::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ants::matching::tests::identity;

    /// The real upstream payloads, when the shared fixtures sit next to the checkout.
    fn upstream(file: &str) -> Option<String> {
        let path = format!(
            "{}/../../../shared/fixtures/upstream/ants/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(path).ok()
    }

    fn code(status: u16, body: &str) -> String {
        build(
            StatusCode::from_u16(status).unwrap(),
            body.as_bytes(),
            &identity("X", &["Y"], (2000, 1, 1)),
        )
        .unwrap_err()
        .code
    }

    #[test]
    fn found_siv_maps_every_block() {
        let Some(body) = upstream("found_siv.xml") else { return };
        let got = build(
            StatusCode::OK,
            body.as_bytes(),
            &identity("Dupont", &["Jean"], (2000, 1, 1)),
        )
        .unwrap();
        assert_eq!(
            got.data,
            json!({
                "identite_particulier": {"nom": "DUPONT", "prenom": "JEAN", "sexe_etat_civil": "M",
                    "annee_date_naissance": 2000, "mois_date_naissance": 1, "jour_date_naissance": 1,
                    "code_departement_naissance": "75"},
                "adresse_particulier": {"complement_information": null, "num_voie": "12", "type_voie": "AVENUE",
                    "libelle_voie": "DES CHAMPS", "code_postal_ville": "59000", "libelle_commune": "LILLE",
                    "lieu_dit": null, "etage_escalier_appartement": null, "extension": null, "pays": "FRANCE"},
                "statut_rattachement": "titulaire",
                "donnees_immatriculation_vehicule": {"numero_immatriculation": "TT-939-WA",
                    "date_premiere_immatriculation": "2009-02-18", "statut_location": {"code": null, "label": null}},
                "caracteristiques_techniques_vehicule": {"marque": "PEUGEOT", "type_variante_version": "4H5FTF",
                    "denomination_commerciale": "308", "masse_charge_maximale": 2145,
                    "categorie_vehicule": {"code": "M1", "label": LABELS.categorie_vehicule["M1"]},
                    "genre_national": {"code": "VP", "label": "Véhicule Particulier"},
                    "cylindree": 1598, "type_carburant": {"code": "ES", "label": "Essence"}, "taux_co2": 194,
                    "classe_environnementale": {"code": "Euro 4", "label": "Norme européenne d'émission Euro 4"}},
            })
        );
        assert_eq!(
            Value::Object(got.meta),
            json!({"identity_matching": {"family_name": 1.0, "given_name": 1.0, "birth_date": 1.0, "overall_match": true}})
        );
    }

    /// A SIV answer as the simulator writes it, with or without its processing code.
    fn envelope(dossier: &Value, code_traitement: bool) -> String {
        let mut inner = String::new();
        if code_traitement {
            inner.push_str("<siv:code_traitement>0</siv:code_traitement>");
        }
        inner.push_str("<siv:reponse>");
        crate::ants::xml::render("siv", "dossier", dossier, &mut inner);
        inner.push_str("</siv:reponse>");
        format!("<Envelope><Body><rep_consulter_dossier xmlns:siv=\"urn:siv\">{inner}</rep_consulter_dossier></Body></Envelope>")
    }

    proptest::proptest! {
        #[test]
        fn incomplete_bodies_are_42999(cut in 0usize..3000) {
            let dossier = json!({
                "immatriculation": {"num_immat": "TM-001-YB", "date_prem_immat": "2017-01-19"},
                "vehicule": {"caracteristiques_techniques": {"marque_vehicule": "PORSCHE", "ptac": "3080"}},
                "personne": {"liste_personnes": {"personne": [{"libelle_type_personne": "titulaire",
                    "identite_personne": {"flag_pers_physique": "oui", "nom_naiss": "CESAR", "prenom": "CLEOPATRE",
                        "sexe": "F", "date_naissance": "1992-05-25"}}]}}});
            let person = identity("Cesar", &["Cleopatre"], (1992, 5, 25));
            let map = |body: &str| build(StatusCode::OK, body.as_bytes(), &person).map(|f| f.data);
            let valid = envelope(&dossier, true);
            proptest::prop_assert!(map(&valid).is_ok());
            let incomplete = [
                "{}".to_string(),
                valid[..cut % valid.len()].to_string(),
                envelope(&dossier, false),
                envelope(&Value::Null, true),
                envelope(&crate::incomplete::without(&dossier, "/immatriculation/num_immat"), true),
            ];
            for body in &incomplete {
                crate::incomplete::is_unknown(map(body), "42999")?;
            }
        }
    }

    #[test]
    fn the_fixtures_pick_the_right_person() {
        let cases = [
            (
                "found_siv_no_raw_code.xml",
                identity("DUPONT", &["Jean"], (1999, 1, 1)),
                Ok(("DUPONT", "titulaire")),
            ),
            (
                "found_siv_with_cotitulaire.xml",
                identity("Shepard", &["John"], (1987, 8, 9)),
                Ok(("SHEPARD", "titulaire")),
            ),
            (
                "found_siv_with_cotitulaire.xml",
                identity("Luigi", &["Mario"], (1987, 8, 9)),
                Ok(("LUIGI", "cotitulaire")),
            ),
            (
                "found_siv_with_cotitulaire.xml",
                identity("Luigi", &["Luigi"], (1987, 8, 9)),
                Err("42005"),
            ),
            (
                "found_fni.xml",
                identity("Martin", &["Marie"], (1946, 3, 31)),
                Ok(("MARTIN", "locataire")),
            ),
            (
                "found_siv_composed_name.xml",
                identity("Martinez", &["Jean-Philippe"], (1975, 6, 20)),
                Ok(("MARTINEZ", "titulaire")),
            ),
            (
                "found_personne_morale_siv.xml",
                identity("Entreprise", &["Anonyme"], (1975, 6, 20)),
                Err("42005"),
            ),
            (
                "not_found.xml",
                identity("Dupont", &["Jean"], (2000, 1, 1)),
                Err("42003"),
            ),
        ];
        for (file, who, expected) in cases {
            let Some(body) = upstream(file) else { continue };
            let got = build(StatusCode::OK, body.as_bytes(), &who);
            match (got, expected) {
                (Ok(f), Ok((nom, statut))) => {
                    assert_eq!(f.data["identite_particulier"]["nom"], nom, "{file}");
                    assert_eq!(f.data["statut_rattachement"], statut, "{file}");
                }
                (Err(e), Err(code)) => assert_eq!(e.code, code, "{file}"),
                (got, _) => panic!("{file}: {got:?}"),
            }
        }
    }

    #[test]
    fn fni_rental_and_missing_class() {
        let Some(body) = upstream("found_fni.xml") else { return };
        let got = build(
            StatusCode::OK,
            body.as_bytes(),
            &identity("Martin", &["Marie"], (1946, 3, 31)),
        )
        .unwrap();
        assert_eq!(got.data["identite_particulier"]["prenom"], "MARIE");
        assert_eq!(
            got.data["donnees_immatriculation_vehicule"]["statut_location"],
            json!({"code": "LLD", "label": "location longue durée"})
        );
        let tech = &got.data["caracteristiques_techniques_vehicule"];
        assert_eq!(tech["classe_environnementale"], json!({"code": null, "label": null}));
        assert_eq!(tech["type_carburant"], json!({"code": "GO", "label": "Gazole"}));
    }

    #[test]
    fn composed_name_fixture_reads_despite_its_escapes() {
        let Some(body) = upstream("found_siv_composed_name.xml") else {
            return;
        };
        let got = build(
            StatusCode::OK,
            body.as_bytes(),
            &identity("Martinez", &["Jean Philippe"], (1975, 6, 20)),
        )
        .unwrap();
        let tech = &got.data["caracteristiques_techniques_vehicule"];
        assert_eq!(tech["classe_environnementale"]["code"], "Euro 6");
        assert_eq!(got.data["adresse_particulier"]["etage_escalier_appartement"], "2");
    }

    #[test]
    fn environmental_class_patterns() {
        assert_eq!(
            classe_environnementale(Some("715/2007*692/2008EURO5"))["code"],
            "Euro 5"
        );
        assert_eq!(
            classe_environnementale(Some("715/2007*2017/1347EURO6DTEMP"))["code"],
            "Euro 6d-TEMP"
        );
        assert_eq!(
            classe_environnementale(Some("595/2009*2011/582EUROVI"))["code"],
            "Euro VI"
        );
        assert_eq!(
            classe_environnementale(Some("SANS")),
            json!({"code": "SANS", "label": null})
        );
        assert_eq!(classe_environnementale(None), json!({"code": null, "label": null}));
    }

    #[test]
    fn errors_follow_the_reference() {
        assert_eq!(code(500, "<soap:Fault/>"), "42999");
        assert_eq!(code(503, ""), "42001");
        assert_eq!(code(504, ""), "42002");
        assert_eq!(code(302, ""), "42000");
        assert_eq!(code(200, "<html>oops"), "42999");
        assert_eq!(
            code(
                200,
                "<Envelope><Body><Fault><Reason>x</Reason></Fault></Body></Envelope>"
            ),
            "42999"
        );
        let other =
            "<Envelope><Body><rep><control><code_traitement>1</code_traitement></control></rep></Body></Envelope>";
        assert_eq!(code(200, other), "42999");
        let none = "<r><control><code_traitement>0</code_traitement></control><dossier><num_immat>AB-123-CD</num_immat></dossier></r>";
        assert_eq!(code(200, none), "42005");
        let odd = "<r><control><code_traitement>0</code_traitement></control><dossier><num_immat>AB-123-CD</num_immat>\
            <caracteristiques_techniques><ptac>lourd</ptac></caracteristiques_techniques><liste_personnes><personne>\
            <flag_pers_physique>oui</flag_pers_physique><nom_naiss>X</nom_naiss><prenom>Y</prenom></personne>\
            </liste_personnes></dossier></r>";
        assert_eq!(code(200, odd), "42999");
        let not_found = build(
            StatusCode::OK,
            format!("<a>{NOT_FOUND_MESSAGE}.</a>").as_bytes(),
            &identity("X", &["Y"], (2000, 1, 1)),
        )
        .unwrap_err();
        assert_eq!((not_found.code.as_str(), not_found.status()), ("42003", 404));
        let mismatch = identity_not_found();
        assert_eq!(
            (mismatch.code.as_str(), mismatch.status(), mismatch.title.as_str()),
            ("42005", 404, "Identité non trouvée")
        );
    }
}
