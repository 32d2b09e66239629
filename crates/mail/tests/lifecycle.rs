//! Recipients of the letters of every other step.

mod common;

use chrono::{TimeZone, Utc};
use common::{context, reached_once};
use passerelle_mail::{letters, Bouquet, Letter, Lifecycle, Parties, Person, EXPIRY_NOTICE_DAYS};

fn parties() -> Parties {
    Parties {
        demandeur: Person::new("Anne Dupont", "anne.dupont@mairie.example"),
        technique: Some(Person::new("Bruno Martin", "bruno.martin@prestataire.example")),
        metier: Some(Person::new("Chloé Petit", "chloe.petit@mairie.example")),
        dpo: Some(Person::new("Damien Roux", "dpo@mairie.example")),
        responsable_traitement: None,
        instructors: vec![
            Person::new("Inès", "ines@gouv.example"),
            Person::new("Jules", "jules@gouv.example"),
        ],
        reporters: vec![Person::new("Suivi CNAF", "suivi@cnaf.example")],
    }
}

fn emails(addresses: &[passerelle_mail::Address]) -> Vec<&str> {
    addresses.iter().map(|a| a.email.as_str()).collect()
}

fn sent(event: Lifecycle) -> Vec<Letter> {
    let letters = letters(&event, &parties(), &context(Bouquet::Particulier));
    reached_once(&letters);
    letters
}

#[test]
fn submitting_sends_one_receipt_and_one_letter_per_instructor() {
    for (resubmission, reopening) in [(false, false), (true, false), (false, true)] {
        let sent = sent(Lifecycle::Submitted {
            resubmission,
            reopening,
        });
        let receipts: Vec<&Letter> = sent
            .iter()
            .filter(|l| l.recipients().any(|a| a.email == "anne.dupont@mairie.example"))
            .collect();
        assert_eq!(receipts.len(), 1);
        assert_eq!(emails(&receipts[0].to), ["anne.dupont@mairie.example"]);
        assert!(receipts[0].subject.contains("reçue"));
        for instructor in ["ines@gouv.example", "jules@gouv.example"] {
            let theirs: Vec<&Letter> = sent.iter().filter(|l| emails(&l.to) == [instructor]).collect();
            assert_eq!(theirs.len(), 1, "{instructor}");
            assert!(theirs[0].text.contains("https://habilitation.example/demandes/1287"));
            assert!(theirs[0].text.contains("Anne Dupont"));
        }
        let first = !resubmission && !reopening;
        let reporters = sent.iter().filter(|l| emails(&l.to) == ["suivi@cnaf.example"]);
        assert_eq!(reporters.count(), usize::from(first));
    }
}

#[test]
fn a_resubmission_is_flagged_to_instructors() {
    let sent = sent(Lifecycle::Submitted {
        resubmission: true,
        reopening: false,
    });
    let instructor = sent.iter().find(|l| emails(&l.to) == ["ines@gouv.example"]).unwrap();
    assert!(instructor.subject.contains("modifiée"));
    assert!(instructor.text.contains("à la suite de vos remarques"));
}

#[test]
fn decisions_go_to_the_demandeur_with_the_technical_contact_in_copy() {
    let events = [
        Lifecycle::ChangesRequested {
            reason: "Précisez la délibération.".to_owned(),
            reopening: false,
        },
        Lifecycle::Refused {
            reason: "Précisez la délibération.".to_owned(),
            reopening: true,
        },
        Lifecycle::Revoked {
            reason: "Précisez la délibération.".to_owned(),
        },
        Lifecycle::TokenBanned {
            reason: "Précisez la délibération.".to_owned(),
            at: Utc.with_ymd_and_hms(2026, 8, 15, 12, 5, 0).unwrap(),
            scheduled: false,
            replaced: false,
        },
    ];
    for event in events {
        let sent = sent(event);
        assert_eq!(sent.len(), 1);
        assert_eq!(emails(&sent[0].to), ["anne.dupont@mairie.example"]);
        assert_eq!(emails(&sent[0].cc), ["bruno.martin@prestataire.example"]);
        assert!(sent[0].text.contains("Précisez la délibération."));
    }
}

#[test]
fn the_ban_date_is_given_in_french_time() {
    let sent = sent(Lifecycle::TokenBanned {
        reason: "Jeton publié par erreur.".to_owned(),
        at: Utc.with_ymd_and_hms(2026, 1, 10, 8, 30, 0).unwrap(),
        scheduled: false,
        replaced: false,
    });
    assert!(sent[0].text.contains("10 janvier 2026 à 09 h 30"));
}

#[test]
fn a_scheduled_ban_with_a_replacement_says_when_and_where_the_new_token_is() {
    let sent = sent(Lifecycle::TokenBanned {
        reason: "Jeton publié par erreur.".to_owned(),
        at: Utc.with_ymd_and_hms(2026, 1, 10, 8, 30, 0).unwrap(),
        scheduled: true,
        replaced: true,
    });
    assert!(
        sent[0].subject.contains("banni le 10 janvier 2026 à 09 h 30"),
        "{}",
        sent[0].subject
    );
    assert!(
        sent[0]
            .text
            .contains("cessera de répondre le 10 janvier 2026 à 09 h 30"),
        "{}",
        sent[0].text
    );
    assert!(sent[0].text.contains("jeton de remplacement"), "{}", sent[0].text);
}

#[test]
fn a_rotation_tells_who_did_it_and_until_when_the_old_token_answers() {
    let sent = sent(Lifecycle::TokenRotated {
        by: "Karim Benali".to_owned(),
        old_ends_at: Some(Utc.with_ymd_and_hms(2026, 1, 17, 8, 30, 0).unwrap()),
    });
    assert_eq!(emails(&sent[0].to), ["anne.dupont@mairie.example"]);
    assert_eq!(emails(&sent[0].cc), ["bruno.martin@prestataire.example"]);
    assert!(sent[0].text.contains("Karim Benali"), "{}", sent[0].text);
    assert!(sent[0].text.contains("17 janvier 2026 à 09 h 30"), "{}", sent[0].text);
}

#[test]
fn every_scheduled_expiry_notice_reaches_demandeur_and_technique() {
    for days_left in EXPIRY_NOTICE_DAYS {
        let sent = sent(Lifecycle::ExpiryNotice { days_left });
        assert_eq!(sent.len(), 1);
        assert_eq!(emails(&sent[0].to), ["anne.dupont@mairie.example"]);
        assert_eq!(emails(&sent[0].cc), ["bruno.martin@prestataire.example"]);
        assert!(sent[0].text.contains("https://habilitation.example/jetons/1287"));
    }
    let fifteen = sent(Lifecycle::ExpiryNotice { days_left: 15 });
    assert!(fifteen[0].subject.contains("expire dans 15 jours"));
    assert!(fifteen[0].text.contains("le 1er mars 2027"));
    assert!(fifteen[0].text.contains("7 jours avant l'expiration"));
    let last = sent(Lifecycle::ExpiryNotice { days_left: 0 });
    assert!(last[0].subject.contains("expire aujourd'hui"));
}

#[test]
fn an_expiry_notice_is_not_doubled_when_the_demandeur_is_the_technical_contact() {
    let mut parties = parties();
    parties.technique = Some(Person::new("Anne", "Anne.Dupont@Mairie.example"));
    let sent = letters(
        &Lifecycle::ExpiryNotice { days_left: 30 },
        &parties,
        &context(Bouquet::Entreprise),
    );
    assert_eq!(sent.len(), 1);
    assert_eq!(emails(&sent[0].to), ["anne.dupont@mairie.example"]);
    assert!(sent[0].cc.is_empty());
}

#[test]
fn an_update_approval_goes_to_the_contacts_with_the_demandeur_in_copy() {
    let sent = sent(Lifecycle::Approved {
        first: false,
        message: None,
    });
    assert_eq!(sent.len(), 1);
    assert_eq!(
        emails(&sent[0].to),
        ["chloe.petit@mairie.example", "bruno.martin@prestataire.example"]
    );
    assert_eq!(emails(&sent[0].cc), ["anne.dupont@mairie.example"]);
}

#[test]
fn an_update_approval_reaches_a_demandeur_without_contacts() {
    let mut parties = parties();
    parties.technique = None;
    parties.metier = None;
    let approved = Lifecycle::Approved {
        first: false,
        message: None,
    };
    let sent = letters(&approved, &parties, &context(Bouquet::Particulier));
    assert_eq!(sent.len(), 1);
    assert_eq!(emails(&sent[0].to), ["anne.dupont@mairie.example"]);
}

#[test]
fn a_transfer_informs_both_people() {
    let sent = sent(Lifecycle::Transferred {
        from: Person::new("Anne Dupont", "anne.dupont@mairie.example"),
        to: Person::new("Élodie Garnier", "elodie.garnier@mairie.example"),
    });
    assert_eq!(sent.len(), 2);
    assert!(sent[0].text.contains("transférée à Élodie Garnier"));
    assert_eq!(emails(&sent[1].to), ["elodie.garnier@mairie.example"]);
    assert!(sent[1].text.contains("Anne Dupont vous a transféré"));
}

#[test]
fn a_message_reaches_the_other_side() {
    let from_instructor = sent(Lifecycle::MessagePosted {
        by_instructor: true,
        excerpt: "Pouvez-vous joindre la délibération ?".to_owned(),
    });
    assert_eq!(from_instructor.len(), 1);
    assert_eq!(emails(&from_instructor[0].to), ["anne.dupont@mairie.example"]);
    let from_applicant = sent(Lifecycle::MessagePosted {
        by_instructor: false,
        excerpt: "La voici.".to_owned(),
    });
    let reached: Vec<&str> = from_applicant.iter().flat_map(|l| emails(&l.to)).collect();
    assert_eq!(reached, ["ines@gouv.example", "jules@gouv.example"]);
}
