//! The extrait mapping on the recorded INPI RNE company records (`fixtures/`), the
//! official sandbox case, and on records altered to reach each rule.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::{extrait, repair};

fn fixture(name: &str) -> Value {
    let text = match name {
        "valid" => include_str!("fixtures/valid.json"),
        "valid_ei" => include_str!("fixtures/valid_ei.json"),
        "rcs" => include_str!("fixtures/valid_rcs_with_observations.json"),
        "rnm" => include_str!("fixtures/valid_rnm_with_observations.json"),
        other => panic!("no fixture {other}"),
    };
    serde_json::from_str(text).unwrap()
}

fn mapped(company: &Value) -> Value {
    extrait(company).expect("a readable record")
}

/// The contract's members (OpenAPI of extrait_rne), `document_url` aside.
const DATA: [&str; 7] = [
    "identite_entreprise",
    "dirigeants_et_associes",
    "etablissements",
    "diffusion_commerciale",
    "diffusion_insee",
    "etablissements_fermes_total",
    "observations",
];
const IDENTITE: [&str; 19] = [
    "denomination",
    "nom",
    "prenoms",
    "siren",
    "date_immatriculation_rne",
    "date_debut_activite",
    "detail_cessation",
    "dissolution",
    "date_fin_personne",
    "date_cloture_exercice",
    "date_premiere_cloture_exercice",
    "nature_entreprise",
    "forme_juridique",
    "associe_unique",
    "activite_principales_objet_social",
    "code_APE",
    "code_APRM",
    "capital_social",
    "adresse_siege_social",
];
const ETABLISSEMENT: [&str; 10] = [
    "type_etablissement",
    "date_debut_activite",
    "siret",
    "code_APE",
    "code_APRM",
    "nature_etablissement",
    "activite_principale",
    "autre_activite",
    "adresse",
    "statut",
];
const DIRIGEANT: [&str; 5] = ["qualite", "nom", "prenom", "date_naissance", "commune_residence"];
const OBSERVATION: [&str; 4] = ["fournisseur", "numero", "date", "texte"];

fn members(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

fn sorted<const N: usize>(names: [&'static str; N]) -> Vec<&'static str> {
    let mut names = names.to_vec();
    names.sort_unstable();
    names
}

fn assert_contract_shape(data: &Value) {
    assert_eq!(members(data), sorted(DATA));
    assert_eq!(members(&data["identite_entreprise"]), sorted(IDENTITE));
    for etablissement in data["etablissements"].as_array().unwrap() {
        assert_eq!(members(etablissement), sorted(ETABLISSEMENT));
    }
    for dirigeant in data["dirigeants_et_associes"].as_array().unwrap() {
        assert_eq!(members(dirigeant), sorted(DIRIGEANT));
    }
    for observation in data["observations"].as_array().unwrap() {
        assert_eq!(members(observation), sorted(OBSERVATION));
    }
}

#[test]
fn official_case_from_its_company_record() {
    let company: Value = serde_json::from_str(include_str!("extrait_case_company.json")).unwrap();
    let case: Value = serde_json::from_str(include_str!("fixtures/extrait_case_200.json")).unwrap();
    let mut expected = case["payload"]["data"].clone();
    expected.as_object_mut().unwrap().remove("document_url");
    assert_eq!(company["siren"], case["siren"]);
    assert_eq!(mapped(&company), expected);
}

#[test]
fn every_fixture_has_the_contract_shape() {
    for name in ["valid", "valid_ei", "rcs", "rnm"] {
        assert_contract_shape(&mapped(&fixture(name)));
    }
}

#[test]
fn personne_morale_identity() {
    let identite = mapped(&fixture("rcs"))["identite_entreprise"].clone();
    assert_eq!(
        identite,
        json!({
            "siren": "987654321",
            "denomination": "SOCIETE TEST",
            "nom": null,
            "prenoms": [],
            "forme_juridique": {"code": "5710", "libelle": "SAS, société par actions simplifiée"},
            "nature_entreprise": "COMMERCIALE",
            "associe_unique": false,
            "date_immatriculation_rne": "2020-01-15",
            "date_debut_activite": "2020-01-15",
            "date_fin_personne": "2119-01-14",
            "date_cloture_exercice": "12-31",
            "date_premiere_cloture_exercice": "2021-12-31",
            "detail_cessation": null,
            "dissolution": {"date": null, "poursuite_activite": null, "avec_liquidation": null},
            "capital_social": {"montant": 1000.0, "devise": "EUR"},
            "activite_principales_objet_social": "Activités des sièges sociaux et conseil en gestion d'entreprise.",
            "code_APE": {"code": "7010Z", "libelle": "Activités des sièges sociaux"},
            "code_APRM": {"code": null, "libelle": null},
            "adresse_siege_social": {
                "voie": "100 AV DES CHAMPS ELYSEES",
                "code_postal": "75008",
                "commune": "PARIS",
                "pays": "FRANCE",
                "complement": null
            }
        })
    );
}

#[test]
fn dirigeants_are_the_active_individuals_with_their_role() {
    let mut company = fixture("rcs");
    assert_eq!(
        mapped(&company)["dirigeants_et_associes"],
        json!([
            {"qualite": "Président", "nom": "DURAND", "prenom": "MARIE", "date_naissance": "05-1975", "commune_residence": "PARIS"},
            {"qualite": "Directeur général", "nom": "BERNARD", "prenom": "PIERRE", "date_naissance": "01-1990", "commune_residence": "PARIS"}
        ])
    );
    let pouvoirs = &mut company["formality"]["content"]["personneMorale"]["composition"]["pouvoirs"];
    pouvoirs[0]["actif"] = json!(false);
    pouvoirs[1]["roleEntreprise"] = json!({"rolePersonne": "99", "denomination": "Liquidateur"});
    let company_held = json!({"roleEntreprise": "73", "typeDePersonne": "ENTREPRISE", "actif": true, "entreprise": {}});
    pouvoirs.as_array_mut().unwrap().push(company_held);
    let dirigeants = mapped(&company)["dirigeants_et_associes"].clone();
    assert_eq!(dirigeants.as_array().unwrap().len(), 1);
    assert_eq!(dirigeants[0]["nom"], "BERNARD");
    assert_eq!(dirigeants[0]["qualite"], "Liquidateur");
}

#[test]
fn a_role_code_no_one_knows_passes_through() {
    let mut company = fixture("rcs");
    company["formality"]["content"]["personneMorale"]["composition"]["pouvoirs"][0]["roleEntreprise"] = json!("99");
    assert_eq!(mapped(&company)["dirigeants_et_associes"][0]["qualite"], "99");
}

#[test]
fn entrepreneur_individuel_with_a_closed_secondary_etablissement() {
    let data = mapped(&fixture("valid_ei"));
    let identite = &data["identite_entreprise"];
    assert_eq!(identite["denomination"], Value::Null);
    assert_eq!(identite["nom"], "MARTIN");
    assert_eq!(identite["prenoms"], json!(["JEAN", "PIERRE", "HENRI"]));
    // INSEE's label of catégorie juridique 1000 (the real gateway's own table says
    // "Entreprise individuelle").
    assert_eq!(
        identite["forme_juridique"],
        json!({"code": "1000", "libelle": "Entrepreneur individuel"})
    );
    assert_eq!(identite["nature_entreprise"], "LIBERALE_NON_REGLEMENTEE");
    assert_eq!(identite["date_immatriculation_rne"], "2020-01-01");
    assert_eq!(identite["capital_social"], json!({"montant": null, "devise": "EUR"}));
    assert_eq!(
        identite["code_APE"],
        json!({"code": "6201Z", "libelle": "Programmation informatique"})
    );
    assert_eq!(data["diffusion_commerciale"], true);
    assert_eq!(data["diffusion_insee"], false);
    assert_eq!(data["etablissements_fermes_total"], 1);
    let etablissements = data["etablissements"].as_array().unwrap();
    assert_eq!(etablissements.len(), 2);
    assert_eq!(etablissements[0]["type_etablissement"], "Siège et principal");
    assert_eq!(etablissements[0]["statut"], "actif");
    assert_eq!(etablissements[0]["date_debut_activite"], "2020-01-07");
    assert_eq!(
        etablissements[1],
        json!({
            "type_etablissement": "Secondaire",
            "siret": "12345678900002",
            "statut": "fermé",
            "date_debut_activite": "2020-01-01",
            "code_APE": {"code": "6201Z", "libelle": "Programmation informatique"},
            "code_APRM": {"code": null, "libelle": null},
            "nature_etablissement": "LIBERALE_NON_REGLEMENTEE",
            "activite_principale": "Programmation informatique",
            "autre_activite": null,
            "adresse": {"voie": "5 DES HALLES", "code_postal": "69001", "commune": "LYON", "pays": "FRANCE", "complement": null}
        })
    );
}

#[test]
fn artisan_with_an_aprm_code() {
    let data = mapped(&fixture("valid"));
    assert_eq!(data["identite_entreprise"]["nom"], "DUPONT");
    assert_eq!(data["identite_entreprise"]["date_immatriculation_rne"], "2010-01-01");
    assert_eq!(data["identite_entreprise"]["nature_entreprise"], "ARTISANALE");
    assert_eq!(
        data["identite_entreprise"]["code_APE"]["libelle"],
        "Fabrication d'articles de bijouterie fantaisie et articles similaires"
    );
    let main = &data["etablissements"][0];
    assert_eq!(main["activite_principale"], "FABRICATION D'ARTICLES DIVERS");
    // NAFA 3213ZZ is in no table we hold: the real gateway's placeholder.
    assert_eq!(
        main["code_APRM"],
        json!({"code": "3213ZZ", "libelle": "Activité Art 3213ZZ"})
    );
    assert_eq!(main["adresse"]["voie"], "10 RUE DE LA PAIX");
    assert_eq!(data["diffusion_commerciale"], false);
    assert_eq!(data["observations"], json!([]));
    assert_eq!(data["dirigeants_et_associes"], json!([]));
}

#[test]
fn known_aprm_and_unknown_codes() {
    let mut company = fixture("valid");
    let content = &mut company["formality"]["content"];
    content["personnePhysique"]["etablissementPrincipal"]["activites"][0]["codeAprm"] = json!("9602AA");
    content["personnePhysique"]["identite"]["entreprise"]["codeApe"] = json!("01.11Z");
    content["personnePhysique"]["identite"]["entreprise"]["formeJuridique"] = json!("5498");
    let data = mapped(&company);
    assert_eq!(data["etablissements"][0]["code_APRM"]["libelle"], "Coiffure en salon");
    assert_eq!(
        data["identite_entreprise"]["code_APE"],
        json!({"code": "01.11Z", "libelle": "Activité 01.11Z"})
    );
    assert_eq!(
        data["identite_entreprise"]["forme_juridique"],
        json!({"code": "5498", "libelle": "Forme juridique 5498"})
    );
}

#[test]
fn a_closed_main_etablissement_stays_first_as_closed() {
    let mut company = fixture("valid_ei");
    let main = &mut company["formality"]["content"]["personnePhysique"]["etablissementPrincipal"];
    main["descriptionEtablissement"]["statutPourFormalite"] = json!("6");
    let data = mapped(&company);
    assert_eq!(data["etablissements_fermes_total"], 2);
    let first = &data["etablissements"][0];
    assert!(first.is_object(), "the real gateway puts null here; we do not");
    assert_eq!(first["type_etablissement"], "Siège et principal");
    assert_eq!(first["siret"], "12345678900001");
    assert_eq!(first["statut"], "fermé");
}

#[test]
fn no_main_etablissement_leaves_no_hole() {
    let mut company = fixture("valid_ei");
    let personne = company["formality"]["content"]["personnePhysique"]
        .as_object_mut()
        .unwrap();
    personne.remove("etablissementPrincipal");
    let data = mapped(&company);
    assert_eq!(data["etablissements"].as_array().unwrap().len(), 1);
    assert_eq!(data["etablissements"][0]["type_etablissement"], "Secondaire");
}

#[test]
fn other_activities_are_listed_by_their_description() {
    let mut company = fixture("valid_ei");
    let activites = &mut company["formality"]["content"]["personnePhysique"]["etablissementPrincipal"]["activites"];
    let mut second = activites[0].clone();
    second["indicateurPrincipal"] = json!(false);
    second["descriptionDetaillee"] = json!("Conseil en systèmes informatiques");
    let mut third = second.clone();
    third["descriptionDetaillee"] = json!("Maintenance de logiciels");
    activites.as_array_mut().unwrap().extend([second, third]);
    let main = mapped(&company)["etablissements"][0].clone();
    assert_eq!(main["activite_principale"], "Programmation informatique");
    assert_eq!(
        main["autre_activite"],
        "Conseil en systèmes informatiques, Maintenance de logiciels"
    );
}

#[test]
fn rcs_observation() {
    assert_eq!(
        mapped(&fixture("rcs"))["observations"],
        json!([{"fournisseur": "rcs", "numero": "2020A123456", "date": "2020-01-15", "texte": "Constitution de la société"}])
    );
}

#[test]
fn rnm_observations_newest_first() {
    let data = mapped(&fixture("rnm"));
    assert_eq!(
        data["observations"],
        json!([
            {"fournisseur": "rnm", "numero": null, "date": "2024-09-20", "texte": "Modification relative au conjoint collaborateur"},
            {
                "fournisseur": "rnm",
                "numero": null,
                "date": "2024-06-15",
                "texte": "Inscription d'office de mentions - Qualité de la personne - Artisan - JEAN DUPONT (Entrepreneur) - Établissement - 12345678900010 - Entretien et réparation de véhicules automobiles"
            }
        ])
    );
    assert_eq!(data["diffusion_insee"], true);
    assert_eq!(data["identite_entreprise"]["nature_entreprise"], "INDEPENDANTE");
    assert_eq!(data["identite_entreprise"]["prenoms"], json!(["JEAN", "MARIE"]));
    assert_eq!(data["identite_entreprise"]["adresse_siege_social"]["commune"], "PARIS");
}

#[test]
fn observations_mix_sources_dated_before_undated() {
    let mut company = fixture("rcs");
    let content = &mut company["formality"]["content"];
    content["personneMorale"]["observations"]["rcs"] = json!([
        {"numObservation": "A", "dateAjout": "2020-01-15", "texte": "a"},
        {"numObservation": "B", "texte": "b"},
        {"numObservation": "C", "dateAjout": "2023-02-01T09:30:00+01:00", "texte": "c"},
        {"numObservation": "D", "dateAjout": "bientôt", "texte": "d"}
    ]);
    content["inscriptionsOffices"] = json!([
        {"dateEffet": "2021-07-01", "observationComplementaire": "e"},
        {"observationComplementaire": "f"}
    ]);
    let observations = mapped(&company)["observations"].clone();
    let order: Vec<&str> = observations
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["texte"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["c", "e", "a", "b", "d", "f"]);
    assert_eq!(observations[0]["date"], "2023-02-01");
    assert_eq!(
        observations[4]["date"], "bientôt",
        "a date that does not read passes through"
    );
    assert_eq!(observations[3]["date"], Value::Null);
}

#[test]
fn mojibake_is_repaired_in_rcs_texts_and_activities() {
    let mut company = fixture("rcs");
    let personne = &mut company["formality"]["content"]["personneMorale"];
    personne["observations"]["rcs"][0]["texte"] = json!("Constitution de la sociÃ©tÃ©");
    personne["etablissementPrincipal"]["activites"][0]["descriptionDetaillee"] =
        json!("ActivitÃ©s des siÃ¨ges sociaux");
    let data = mapped(&company);
    assert_eq!(data["observations"][0]["texte"], "Constitution de la société");
    assert_eq!(
        data["etablissements"][0]["activite_principale"],
        "Activités des sièges sociaux"
    );
}

#[test]
fn repair_undoes_latin1_and_windows_1252_readings_only() {
    assert_eq!(
        repair("sociÃ©tÃ© Ã\u{a0}responsabilitÃ© limitÃ©e"),
        "société àresponsabilité limitée"
    );
    assert_eq!(repair("lâ€™entreprise â€\u{201c} siÃ¨ge"), "l’entreprise – siège");
    assert_eq!(repair("sociÃƒÂ©tÃƒÂ©"), "société", "garbled twice");
    for genuine in ["société", "Ã la carte", "PARIS", "Ærø 50 €", ""] {
        assert_eq!(repair(genuine), genuine);
    }
}

#[test]
fn dates_are_normalised_when_they_read() {
    let mut company = fixture("rcs");
    let personne = &mut company["formality"]["content"]["personneMorale"];
    let entreprise = &mut personne["identite"]["entreprise"];
    entreprise["dateImmat"] = json!("2021-06-10T00:00:00+02:00");
    entreprise["dateDebutActiv"] = json!("15/01/2020");
    let description = &mut personne["identite"]["description"];
    description["dateFinExistence"] = json!("21190114");
    description["datePremiereCloture"] = json!("fin 2021");
    description["dateClotureExerciceSocial"] = json!("30/06");
    description["dateDissolutionDisparition"] = json!("2024-02-30");
    description["indicateurPoursuiteActivite"] = json!(true);
    let identite = mapped(&company)["identite_entreprise"].clone();
    assert_eq!(identite["date_immatriculation_rne"], "2021-06-10");
    assert_eq!(identite["date_debut_activite"], "2020-01-15");
    assert_eq!(identite["date_fin_personne"], "2119-01-14");
    assert_eq!(identite["date_premiere_cloture_exercice"], "fin 2021");
    assert_eq!(identite["date_cloture_exercice"], "30/06");
    assert_eq!(
        identite["dissolution"],
        json!({"date": "2024-02-30", "poursuite_activite": true, "avec_liquidation": null})
    );
}

#[test]
fn registration_date_falls_back_to_the_creation() {
    let data = mapped(&fixture("rnm"));
    assert_eq!(data["identite_entreprise"]["date_immatriculation_rne"], "2024-01-01");
    assert_eq!(data["identite_entreprise"]["forme_juridique"]["code"], "1000");
}

#[test]
fn birth_months_read_month_first() {
    let mut company = fixture("rcs");
    let pouvoirs = &mut company["formality"]["content"]["personneMorale"]["composition"]["pouvoirs"];
    pouvoirs[0]["individu"]["descriptionPersonne"]["dateDeNaissance"] = json!("1975-05-12");
    pouvoirs[1]["individu"]["descriptionPersonne"]["dateDeNaissance"] = json!("mai 1990");
    let dirigeants = mapped(&company)["dirigeants_et_associes"].clone();
    assert_eq!(dirigeants[0]["date_naissance"], "05-1975", "the day is not passed on");
    assert_eq!(dirigeants[1]["date_naissance"], "mai 1990");
}

#[test]
fn unreadable_records() {
    for company in [
        json!([]),
        json!("x"),
        json!({"siren": "123456789"}),
        json!({"siren": "123456789", "formality": {"content": []}}),
        json!({"formality": {"content": {}}}),
        json!({"formality": {"siren": "  ", "content": {}}}),
    ] {
        assert!(extrait(&company).is_err(), "{company}");
    }
}

#[test]
fn a_bare_record_still_has_the_contract_shape() {
    let data = mapped(&json!({"siren": "123456789", "formality": {"content": {}}}));
    assert_contract_shape(&data);
    assert_eq!(data["identite_entreprise"]["siren"], "123456789");
    assert_eq!(data["identite_entreprise"]["adresse_siege_social"], Value::Null);
    assert_eq!(data["etablissements"], json!([]));
    assert_eq!(data["etablissements_fermes_total"], 0);
}

/// JSON built from the RNE's own member names, so that generated records reach the
/// mapping's rules rather than stopping at the first missing member.
fn rne_json() -> impl Strategy<Value = Value> {
    let names = prop::sample::select(vec![
        "formality",
        "content",
        "siren",
        "personneMorale",
        "personnePhysique",
        "identite",
        "entreprise",
        "description",
        "entrepreneur",
        "descriptionPersonne",
        "prenoms",
        "etablissementPrincipal",
        "autresEtablissements",
        "descriptionEtablissement",
        "statutPourFormalite",
        "activites",
        "indicateurPrincipal",
        "descriptionDetaillee",
        "codeApe",
        "codeAprm",
        "composition",
        "pouvoirs",
        "individu",
        "typeDePersonne",
        "roleEntreprise",
        "dateDeNaissance",
        "observations",
        "rcs",
        "texte",
        "dateAjout",
        "inscriptionsOffices",
        "dateEffet",
        "adresse",
        "adresseEntreprise",
        "numVoie",
        "dateClotureExerciceSocial",
        "montantCapital",
        "diffusionINSEE",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>().prop_map(|f| json!(f)),
        any::<i64>().prop_map(|i| json!(i)),
        "[0-9/T:+-]{0,12}".prop_map(Value::String),
        "\\PC{0,8}".prop_map(Value::String),
        prop::sample::select(vec![
            "INDIVIDU",
            "6",
            "O",
            "3112",
            "1985-07",
            "2020-01-15",
            "sociÃ©tÃ©",
            "5710"
        ])
        .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(6, 96, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(names.clone().prop_map(String::from), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn any_json_maps_or_fails_without_panicking(company in rne_json()) {
        if let Ok(data) = extrait(&company) {
            assert_contract_shape(&data);
        }
    }

    #[test]
    fn any_member_of_a_real_record_can_be_replaced(value in rne_json(), path in prop::collection::vec(0usize..64, 1..6)) {
        let mut company = fixture("rcs");
        let mut pointer = String::new();
        let mut at = &company;
        for step in path {
            let (segment, next) = match at {
                Value::Object(map) if !map.is_empty() => {
                    let (key, next) = map.iter().nth(step % map.len()).unwrap();
                    (key.replace('~', "~0").replace('/', "~1"), next)
                }
                Value::Array(list) if !list.is_empty() => ((step % list.len()).to_string(), &list[step % list.len()]),
                _ => break,
            };
            pointer = format!("{pointer}/{segment}");
            at = next;
        }
        *company.pointer_mut(&pointer).unwrap() = value;
        if let Ok(data) = extrait(&company) {
            assert_contract_shape(&data);
        }
    }

    #[test]
    fn repair_never_panics_and_keeps_plain_ascii(text in "\\PC{0,40}") {
        let fixed = repair(&text);
        if text.is_ascii() {
            prop_assert_eq!(fixed, text);
        }
    }
}
