//! Which person of a registration file is the one FranceConnect identified. ANTS
//! answers with every holder of the vehicle; only a physical person whose birth name
//! and one first name match the FranceConnect identity is shown.

use passerelle_core::translit::fold;
use passerelle_core::Civility;
use serde_json::{json, Value};

use super::xml::Node;

/// A physical person of the file, with the names the match reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate<'a> {
    pub node: &'a Node,
    pub nom: String,
    pub prenoms: Vec<String>,
    pub date_naissance: Option<String>,
}

/// How the chosen person compared with the FranceConnect identity (the response's
/// `meta.identity_matching`). Only the names decide; the birth date is reported.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    pub family_name: bool,
    pub given_name: bool,
    pub birth_date: bool,
}

impl Scores {
    pub fn overall(&self) -> bool {
        self.family_name && self.given_name
    }

    pub fn to_json(self) -> Value {
        let score = |hit: bool| if hit { 1.0 } else { 0.0 };
        json!({
            "family_name": score(self.family_name),
            "given_name": score(self.given_name),
            "birth_date": score(self.birth_date),
            "overall_match": self.overall(),
        })
    }
}

/// Upper case, accents removed, punctuation as spaces, only printable ASCII, single
/// spaces, trimmed: `Jean-Éric d'Ormesson` → `JEAN ERIC D ORMESSON`.
pub fn normalize(value: &str) -> String {
    // `fold` leaves `Ÿ` (outside Latin-1) alone; the reference folds it too.
    let folded = fold(&value.to_uppercase().replace('Ÿ', "Y"));
    let kept: String = folded
        .chars()
        .filter_map(|c| match c {
            c if c.is_ascii_punctuation() => Some(' '),
            c if c == ' ' || c.is_ascii_graphic() => Some(c),
            _ => None,
        })
        .collect();
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A plate in the SIV format (`AA-123-BB`); older plates come from the FNI.
pub fn is_siv_plate(plate: &str) -> bool {
    let bytes = plate.as_bytes();
    bytes.len() == 9
        && bytes[..2].iter().all(u8::is_ascii_uppercase)
        && bytes[2] == b'-'
        && bytes[3..6].iter().all(u8::is_ascii_digit)
        && bytes[6] == b'-'
        && bytes[7..].iter().all(u8::is_ascii_uppercase)
}

/// The physical persons of the file. FNI files hold "NOM PRENOM1 PRENOM2" in the birth
/// name; SIV files have a first-name field of space-separated names.
pub fn candidates<'a>(dossier: &'a Node, plate: &str) -> Vec<Candidate<'a>> {
    let Some(list) = dossier.find("liste_personnes") else {
        return Vec::new();
    };
    let fni = !is_siv_plate(plate);
    list.children_named("personne")
        .filter(|p| p.text_of("flag_pers_physique") == Some("oui"))
        .filter_map(|p| {
            let nom_naiss = p.text_of("nom_naiss")?;
            let (nom, prenoms) = if fni {
                let mut tokens = nom_naiss.split_whitespace();
                let nom = tokens.next()?.to_string();
                (nom, tokens.map(str::to_string).collect())
            } else {
                let prenoms = p.text_of("prenom").unwrap_or("").split_whitespace().map(str::to_string);
                (nom_naiss.to_string(), prenoms.collect())
            };
            Some(Candidate {
                node: p,
                nom,
                prenoms,
                date_naissance: p.text_of("date_naissance").map(str::to_string),
            })
        })
        .collect()
}

/// Scores one candidate: the birth names are equal, and one of the candidate's first
/// names is one of the identity's first names or one of their words.
pub fn score(candidate: &Candidate, identity: &Civility) -> Scores {
    let family_name = normalize(&candidate.nom) == normalize(&identity.nom_naissance);
    let reference: Vec<String> = identity.prenoms.iter().map(|p| normalize(p)).collect();
    let given_name = candidate.prenoms.iter().map(|p| normalize(p)).any(|prenom| {
        !prenom.is_empty()
            && reference
                .iter()
                .any(|r| *r == prenom || r.split(' ').any(|word| word == prenom))
    });
    let birth_date = candidate.date_naissance.as_deref() == Some(identity.naissance.formatted().as_str());
    Scores {
        family_name,
        given_name,
        birth_date,
    }
}

/// The first candidate the names match, with its scores.
pub fn first_match<'a, 'b>(
    candidates: &'b [Candidate<'a>],
    identity: &Civility,
) -> Option<(&'b Candidate<'a>, Scores)> {
    candidates
        .iter()
        .map(|c| (c, score(c, identity)))
        .find(|(_, scores)| scores.overall())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use passerelle_core::identity::BirthDate;
    use proptest::prelude::*;

    pub fn identity(nom: &str, prenoms: &[&str], date: (u16, u8, u8)) -> Civility {
        Civility {
            nom_naissance: nom.into(),
            nom_usage: None,
            prenoms: prenoms.iter().map(|p| p.to_string()).collect(),
            naissance: BirthDate {
                annee: Some(date.0),
                mois: Some(date.1),
                jour: Some(date.2),
            },
            sexe: None,
            code_pays_naissance: "99100".into(),
            code_commune_naissance: None,
            nom_commune_naissance: None,
            code_departement_naissance: None,
        }
    }

    fn dossier(people: &str) -> Node {
        Node::parse(&format!(
            "<dossier><personne><liste_personnes>{people}</liste_personnes></personne></dossier>"
        ))
        .unwrap()
    }

    fn person(flag: &str, nom: &str, prenom: &str, date: &str) -> String {
        format!(
            "<personne><identite_personne><flag_pers_physique>{flag}</flag_pers_physique><nom_naiss>{nom}</nom_naiss>\
             <prenom>{prenom}</prenom><date_naissance>{date}</date_naissance></identite_personne></personne>"
        )
    }

    #[test]
    fn normalization_follows_the_reference() {
        assert_eq!(normalize("  Jean-Éric  d'Ormesson "), "JEAN ERIC D ORMESSON");
        assert_eq!(normalize("Œuvre Ÿves Ñandú"), "OEUVRE YVES NANDU");
        // Control characters, tabs included, are dropped rather than spaced.
        assert_eq!(normalize("Zoë\u{7}\tX Y"), "ZOEX Y");
        assert_eq!(normalize("王"), "");
    }

    #[test]
    fn siv_plates() {
        assert!(is_siv_plate("AB-123-CD"));
        assert!(!is_siv_plate("ab-123-CD"));
        assert!(!is_siv_plate("3579 LA 05"));
        assert!(!is_siv_plate("AB-123-CDE"));
    }

    #[test]
    fn siv_first_names_are_split_on_spaces() {
        let d = dossier(&person("oui", "CIS CINQUANTESEPT", "PRENOM CHARLES", "1960-04-19"));
        let all = candidates(&d, "TM-003-KB");
        assert_eq!(all[0].nom, "CIS CINQUANTESEPT");
        assert_eq!(all[0].prenoms, ["PRENOM", "CHARLES"]);
        let (_, scores) = first_match(&all, &identity("Cis Cinquanteseptk", &["Charles"], (1960, 4, 19))).unzip();
        assert_eq!(scores, None, "the birth name must be equal");
        let (_, scores) = first_match(&all, &identity("Cis-Cinquantesept", &["Charles"], (1960, 4, 19))).unwrap();
        assert_eq!(
            scores.to_json(),
            json!({"family_name": 1.0, "given_name": 1.0, "birth_date": 1.0, "overall_match": true})
        );
    }

    #[test]
    fn fni_birth_name_holds_the_first_names() {
        let d = dossier(&person("oui", "MARTIN MARIE LOUISE", "", "1946-03-31"));
        let all = candidates(&d, "3579 LA 05");
        assert_eq!(
            (all[0].nom.as_str(), all[0].prenoms.clone()),
            ("MARTIN", vec!["MARIE".to_string(), "LOUISE".into()])
        );
        let (_, scores) = first_match(&all, &identity("Martin", &["Louise"], (1950, 1, 1))).unwrap();
        assert!(scores.overall() && !scores.birth_date);
    }

    #[test]
    fn only_physical_persons_are_candidates() {
        let d = dossier(&format!(
            "{}{}",
            person("non", "DUPONT", "JEAN", "2000-01-01"),
            person("oui", "DUPONT", "PAUL", "2000-01-01")
        ));
        let all = candidates(&d, "AB-123-CD");
        assert_eq!(all.len(), 1);
        assert!(first_match(&all, &identity("Dupont", &["Jean"], (2000, 1, 1))).is_none());
    }

    #[test]
    fn a_candidate_first_name_may_be_a_word_of_a_reference_one() {
        let d = dossier(&person("oui", "MARTINEZ", "PHILIPPE", "1975-06-20"));
        let all = candidates(&d, "AB-123-CD");
        assert!(first_match(&all, &identity("Martinez", &["Jean Philippe"], (1975, 6, 20))).is_some());
        // The other way round does not match: the file's name is more precise.
        let d = dossier(&person("oui", "MARTINEZ", "JEAN-PHILIPPE", "1975-06-20"));
        let all = candidates(&d, "AB-123-CD");
        assert!(first_match(&all, &identity("Martinez", &["Jean"], (1975, 6, 20))).is_none());
        assert!(first_match(&all, &identity("Martinez", &["Jean Philippe"], (1975, 6, 20))).is_some());
    }

    #[test]
    fn the_first_matching_person_wins() {
        let d = dossier(&format!(
            "{}{}",
            person("oui", "DUPONT", "ANNE", "1990-01-01"),
            person("oui", "DUPONT", "JEAN", "1980-01-01")
        ));
        let all = candidates(&d, "AB-123-CD");
        let (chosen, _) = first_match(&all, &identity("Dupont", &["Jean", "Anne"], (1980, 1, 1))).unwrap();
        assert_eq!(chosen.prenoms, ["ANNE"]);
    }

    proptest! {
        #[test]
        fn normalization_is_idempotent(s in "\\PC{0,30}") {
            let once = normalize(&s);
            prop_assert_eq!(normalize(&once), once.clone());
            prop_assert!(once.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ' || !b.is_ascii_lowercase()));
            prop_assert!(!once.starts_with(' ') && !once.ends_with(' ') && !once.contains("  "));
        }

        #[test]
        fn a_person_matches_their_own_names_whatever_the_case_and_accents(
            nom in "[A-Za-zÀ-ÖØ-öø-ÿ' -]{1,20}",
            prenom in "[A-Za-zÀ-ÖØ-öø-ÿ-]{1,12}",
            upper in any::<bool>(),
        ) {
            prop_assume!(!normalize(&nom).is_empty() && !normalize(&prenom).is_empty());
            let shown = |s: &str| if upper { s.to_uppercase() } else { s.to_lowercase() };
            let d = dossier(&person("oui", &xml_text(&shown(&nom)), &xml_text(&shown(&prenom)), "2000-01-01"));
            let all = candidates(&d, "AB-123-CD");
            prop_assume!(all.len() == 1);
            let found = first_match(&all, &identity(&nom, &[&prenom], (2000, 1, 1)));
            prop_assert!(found.is_some());
            prop_assert!(found.unwrap().1.birth_date);
        }

        #[test]
        fn another_birth_name_never_matches(nom in "[A-Z]{2,10}", other in "[A-Z]{2,10}", prenom in "[A-Z]{2,10}") {
            prop_assume!(nom != other);
            let d = dossier(&person("oui", &nom, &prenom, "2000-01-01"));
            let all = candidates(&d, "AB-123-CD");
            prop_assert!(first_match(&all, &identity(&other, &[&prenom], (2000, 1, 1))).is_none());
        }
    }

    fn xml_text(s: &str) -> String {
        super::super::xml::text(s).replace('\'', "&apos;")
    }
}
