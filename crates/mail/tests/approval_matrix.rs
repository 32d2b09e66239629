//! The first approval, for every way the contacts of a demande can coincide.

mod common;

use std::collections::HashSet;

use common::{context, reached_once};
use passerelle_mail::{letters, Bouquet, Letter, Lifecycle, Parties, Person};

/// Who holds which role, as labels of distinct people: the demandeur is person 0,
/// and two roles with the same label are held by the same human.
#[derive(Debug, Clone, Copy)]
struct Shape {
    technique: Option<usize>,
    metier: Option<usize>,
    dpo: Option<usize>,
    responsable: Option<usize>,
}

/// Every set partition of the demandeur, technique and métier roles (technique and
/// métier possibly absent), labels given in order of first appearance.
fn contact_shapes() -> Vec<(Option<usize>, Option<usize>)> {
    let mut shapes = Vec::new();
    for technique in [None, Some(0), Some(1)] {
        let next = technique.map_or(1, |t| t + 1);
        for metier in std::iter::once(None).chain((0..=next).map(Some)) {
            shapes.push((technique, metier));
        }
    }
    shapes
}

/// A GDPR contact: absent, a new person, or anyone already named.
fn gdpr_choices(named: &[usize]) -> Vec<Option<usize>> {
    let new = named.iter().max().map_or(0, |m| m + 1);
    let mut choices = vec![None, Some(new)];
    choices.extend(named.iter().map(|&n| Some(n)));
    choices
}

fn all_shapes() -> Vec<Shape> {
    let mut shapes = Vec::new();
    for (technique, metier) in contact_shapes() {
        let contacts: HashSet<usize> = [Some(0), technique, metier].into_iter().flatten().collect();
        let contacts: Vec<usize> = contacts.into_iter().collect();
        for dpo in gdpr_choices(&contacts) {
            let mut named = contacts.clone();
            named.extend(dpo.filter(|d| !named.contains(d)));
            for responsable in gdpr_choices(&named) {
                shapes.push(Shape {
                    technique,
                    metier,
                    dpo,
                    responsable,
                });
            }
        }
    }
    shapes
}

/// Person `label`, written with a different case in each role so that addresses
/// must be compared without case.
fn holder(label: usize, role: &str) -> Person {
    let email = format!("personne{label}@mairie.example");
    let email = match role {
        "technique" => email.to_uppercase(),
        "metier" => format!("Personne{label}@Mairie.example"),
        _ => email,
    };
    Person::new(format!("Personne {label}"), email)
}

fn parties(shape: Shape) -> Parties {
    Parties {
        demandeur: holder(0, "demandeur"),
        technique: shape.technique.map(|l| holder(l, "technique")),
        metier: shape.metier.map(|l| holder(l, "metier")),
        dpo: shape.dpo.map(|l| holder(l, "dpo")),
        responsable_traitement: shape.responsable.map(|l| holder(l, "responsable")),
        instructors: vec![Person::new("Instructrice", "instruction@gouv.example")],
        reporters: vec![Person::new("Fournisseur", "suivi@fournisseur.example")],
    }
}

fn letter_for(letters: &[Letter], label: usize) -> &Letter {
    let email = format!("personne{label}@mairie.example");
    letters
        .iter()
        .find(|l| l.recipients().any(|a| a.email.eq_ignore_ascii_case(&email)))
        .expect("a letter for every role holder")
}

fn check(shape: Shape, bouquet: Bouquet) {
    let ctx = context(bouquet);
    let parties = parties(shape);
    let sent = letters(
        &Lifecycle::Approved {
            first: true,
            message: None,
        },
        &parties,
        &ctx,
    );
    let reached = reached_once(&sent);

    let responsable = shape.responsable.filter(|_| bouquet == Bouquet::Entreprise);
    let holders: HashSet<usize> = [Some(0), shape.technique, shape.metier, shape.dpo, responsable]
        .into_iter()
        .flatten()
        .collect();
    let mut expected: HashSet<String> = holders.iter().map(|l| format!("personne{l}@mairie.example")).collect();
    expected.insert("suivi@fournisseur.example".to_owned());
    assert_eq!(reached, expected, "{shape:?} {bouquet:?}: {sent:#?}");
    assert_eq!(sent.len(), expected.len(), "one letter each: {sent:#?}");

    for letter in &sent {
        assert_eq!(letter.to.len(), 1, "approval letters are personal");
        assert!(letter.cc.is_empty());
        assert!(letter.subject.starts_with(&format!("[{}] ", ctx.bouquet_label)));
    }
    for &label in &holders {
        check_wording(shape, responsable, label, letter_for(&sent, label), &ctx.token_url);
    }
}

/// The letter's wording follows the roles its reader holds.
fn check_wording(shape: Shape, responsable: Option<usize>, label: usize, letter: &Letter, token_url: &str) {
    let demandeur = label == 0;
    let technique = shape.technique == Some(label);
    let metier = shape.metier == Some(label);
    let dpo = shape.dpo == Some(label);
    let responsable = responsable == Some(label);
    let text = &letter.text;
    let context = format!("{shape:?}, person {label}: {text}");
    if demandeur || technique {
        assert!(text.contains(token_url), "{context}");
    }
    if demandeur && !technique {
        assert!(
            text.contains("transmettre") || text.contains("transmettez"),
            "{context}"
        );
    }
    if technique && !demandeur {
        assert!(text.contains("Vous êtes contact technique"), "{context}");
    }
    if metier {
        assert!(text.contains("contact métier"), "{context}");
    }
    if metier && !demandeur && !technique {
        assert!(!text.contains(token_url), "{context}");
        assert!(text.contains("rien à faire"), "{context}");
    }
    assert_eq!(text.contains("délégué à la protection des données"), dpo, "{context}");
    assert_eq!(text.contains("responsable de traitement"), responsable, "{context}");
    if !(demandeur || technique || metier) {
        assert!(letter.subject.contains("désignation"), "{context}");
        assert!(text.contains("vous n'avez rien à faire"), "{context}");
    }
}

#[test]
fn the_contacts_coincide_in_ten_ways() {
    assert_eq!(contact_shapes().len(), 10);
}

#[test]
fn every_role_holder_gets_exactly_one_fitting_letter() {
    let shapes = all_shapes();
    assert!(shapes.len() > 100, "{} shapes", shapes.len());
    for shape in shapes {
        for bouquet in [Bouquet::Particulier, Bouquet::Entreprise] {
            check(shape, bouquet);
        }
    }
}

#[test]
fn a_reporter_who_is_also_a_contact_gets_one_letter() {
    let ctx = context(Bouquet::Particulier);
    let mut parties = parties(Shape {
        technique: Some(1),
        metier: None,
        dpo: None,
        responsable: None,
    });
    parties.reporters.push(holder(1, "technique"));
    let approved = Lifecycle::Approved {
        first: true,
        message: None,
    };
    let sent = letters(&approved, &parties, &ctx);
    reached_once(&sent);
    assert!(letter_for(&sent, 1).text.contains("Vous êtes contact technique"));
}

#[test]
fn the_instructors_message_reaches_the_contacts() {
    let ctx = context(Bouquet::Entreprise);
    let parties = parties(Shape {
        technique: Some(1),
        metier: Some(2),
        dpo: Some(3),
        responsable: None,
    });
    let approved = Lifecycle::Approved {
        first: true,
        message: Some("Pensez à limiter les appels aux seuls dossiers éligibles.".to_owned()),
    };
    let sent = letters(&approved, &parties, &ctx);
    for label in 0..3 {
        assert!(letter_for(&sent, label).text.contains("seuls dossiers éligibles"));
    }
    assert!(!letter_for(&sent, 3).text.contains("seuls dossiers éligibles"));
}
