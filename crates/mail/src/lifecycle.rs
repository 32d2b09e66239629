//! Who receives which letter at each step of a habilitation's life.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};

use crate::letter::{Address, Letter};
use crate::wording;

/// Someone holding a role in a demande. The same human may hold several roles;
/// people are told apart by e-mail address, without case.
pub type Person = Address;

/// Which gateway the habilitation opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bouquet {
    Particulier,
    Entreprise,
}

/// The people around one demande.
#[derive(Debug, Clone)]
pub struct Parties {
    pub demandeur: Person,
    pub technique: Option<Person>,
    pub metier: Option<Person>,
    /// Délégué à la protection des données.
    pub dpo: Option<Person>,
    /// Named by API Entreprise forms only; ignored for API Particulier, whose
    /// form has no such contact.
    pub responsable_traitement: Option<Person>,
    pub instructors: Vec<Person>,
    /// People of the data providers who follow demandes touching their data.
    pub reporters: Vec<Person>,
}

/// What the letters talk about, and the links they give.
#[derive(Debug, Clone)]
pub struct Context {
    /// "API Particulier" or "API Entreprise": prefixes every subject.
    pub bouquet_label: String,
    pub bouquet: Bouquet,
    pub demande_title: String,
    pub demande_number: u64,
    pub demande_url: String,
    pub token_url: String,
    pub portal_url: String,
    pub expires_on: Option<NaiveDate>,
}

/// A step of the life of a demande or of its token.
#[derive(Debug, Clone)]
pub enum Lifecycle {
    Submitted {
        resubmission: bool,
        reopening: bool,
    },
    ChangesRequested {
        reason: String,
        reopening: bool,
    },
    Refused {
        reason: String,
        reopening: bool,
    },
    /// `first` is false for the approval of an update (reopening).
    Approved {
        first: bool,
        message: Option<String>,
    },
    Revoked {
        reason: String,
    },
    Transferred {
        from: Person,
        to: Person,
    },
    MessagePosted {
        by_instructor: bool,
        excerpt: String,
    },
    ExpiryNotice {
        days_left: i64,
    },
    /// An operator bans the token at `at` (`scheduled`: later than the sending);
    /// `replaced`: a replacement token, with the same rights and end, awaits.
    TokenBanned {
        reason: String,
        at: DateTime<Utc>,
        scheduled: bool,
        replaced: bool,
    },
    /// A holder (`by`) rotated the token; the old one answers until `old_ends_at`
    /// (`None`: it stopped at once).
    TokenRotated {
        by: String,
        old_ends_at: Option<DateTime<Utc>>,
    },
}

/// The roles one person holds in a demande.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Roles {
    pub demandeur: bool,
    pub technique: bool,
    pub metier: bool,
    pub dpo: bool,
    pub responsable: bool,
}

#[derive(Debug, Clone, Copy)]
enum Role {
    Demandeur,
    Technique,
    Metier,
    Dpo,
    Responsable,
}

impl Roles {
    fn grant(&mut self, role: Role) {
        let held = match role {
            Role::Demandeur => &mut self.demandeur,
            Role::Technique => &mut self.technique,
            Role::Metier => &mut self.metier,
            Role::Dpo => &mut self.dpo,
            Role::Responsable => &mut self.responsable,
        };
        *held = true;
    }

    fn any_contact(self) -> bool {
        self.demandeur || self.technique || self.metier
    }
}

/// The letters to send for `event`. Every person is written to at most once per
/// event, and never twice in one letter.
pub fn letters(event: &Lifecycle, parties: &Parties, ctx: &Context) -> Vec<Letter> {
    let mut outbox = Outbox::default();
    let demandeur = &parties.demandeur;
    let technique = parties.technique.as_ref();
    match event {
        Lifecycle::Submitted {
            resubmission,
            reopening,
        } => {
            outbox.post(&[demandeur], &[], wording::receipt(ctx, *resubmission, *reopening));
            for instructor in &parties.instructors {
                let draft = wording::to_instruct(ctx, demandeur, *resubmission, *reopening);
                outbox.post(&[instructor], &[], draft);
            }
            if !resubmission && !reopening {
                notify_reporters(&mut outbox, parties, ctx, false);
            }
        }
        Lifecycle::ChangesRequested { reason, reopening } => {
            let draft = wording::changes_requested(ctx, reason, *reopening);
            outbox.post(&[demandeur], &option(technique), draft);
        }
        Lifecycle::Refused { reason, reopening } => {
            let draft = wording::refused(ctx, reason, *reopening);
            outbox.post(&[demandeur], &option(technique), draft);
        }
        Lifecycle::Approved { first: true, message } => {
            for (person, roles) in role_holders(parties, ctx.bouquet) {
                let draft = if roles.any_contact() {
                    wording::approved(ctx, roles, parties, message.as_deref())
                } else {
                    wording::designated(ctx, roles)
                };
                outbox.post(&[person], &[], draft);
            }
            notify_reporters(&mut outbox, parties, ctx, true);
        }
        Lifecycle::Approved { first: false, message } => {
            let to: Vec<&Person> = parties.metier.iter().chain(technique).collect();
            let draft = wording::update_approved(ctx, message.as_deref());
            outbox.post(&to, &[demandeur], draft);
        }
        Lifecycle::Revoked { reason } => {
            outbox.post(&[demandeur], &option(technique), wording::revoked(ctx, reason));
        }
        Lifecycle::Transferred { from, to } => {
            outbox.post(&[from], &[], wording::transferred_away(ctx, to));
            outbox.post(&[to], &[], wording::transferred_to(ctx, from));
        }
        Lifecycle::MessagePosted {
            by_instructor: true,
            excerpt,
        } => {
            outbox.post(&[demandeur], &[], wording::message(ctx, true, excerpt));
        }
        Lifecycle::MessagePosted {
            by_instructor: false,
            excerpt,
        } => {
            for instructor in &parties.instructors {
                outbox.post(&[instructor], &[], wording::message(ctx, false, excerpt));
            }
        }
        Lifecycle::ExpiryNotice { days_left } => {
            let draft = wording::expiry_notice(ctx, *days_left);
            outbox.post(&[demandeur], &option(technique), draft);
        }
        Lifecycle::TokenBanned {
            reason,
            at,
            scheduled,
            replaced,
        } => {
            let draft = wording::token_banned(ctx, reason, *at, *scheduled, *replaced);
            outbox.post(&[demandeur], &option(technique), draft);
        }
        Lifecycle::TokenRotated { by, old_ends_at } => {
            let draft = wording::token_rotated(ctx, by, *old_ends_at);
            outbox.post(&[demandeur], &option(technique), draft);
        }
    }
    outbox.letters
}

fn option(person: Option<&Person>) -> Vec<&Person> {
    person.into_iter().collect()
}

fn notify_reporters(outbox: &mut Outbox, parties: &Parties, ctx: &Context, validated: bool) {
    for reporter in &parties.reporters {
        outbox.post(&[reporter], &[], wording::reporter(ctx, validated));
    }
}

/// Every distinct person named in the demande with all the roles they hold, in the
/// order demandeur, technique, métier, DPO, responsable de traitement.
fn role_holders(parties: &Parties, bouquet: Bouquet) -> Vec<(&Person, Roles)> {
    let responsable = match bouquet {
        Bouquet::Entreprise => parties.responsable_traitement.as_ref(),
        Bouquet::Particulier => None,
    };
    let named = [
        (Some(&parties.demandeur), Role::Demandeur),
        (parties.technique.as_ref(), Role::Technique),
        (parties.metier.as_ref(), Role::Metier),
        (parties.dpo.as_ref(), Role::Dpo),
        (responsable, Role::Responsable),
    ];
    let mut holders: Vec<(&Person, Roles)> = Vec::new();
    for (person, role) in named {
        let Some(person) = person else { continue };
        match holders.iter_mut().find(|(p, _)| p.same_as(person)) {
            Some((_, roles)) => roles.grant(role),
            None => {
                let mut roles = Roles::default();
                roles.grant(role);
                holders.push((person, roles));
            }
        }
    }
    holders
}

/// A letter before its recipients are known: the greeting depends on them.
pub(crate) struct Draft {
    pub subject: String,
    pub body: String,
}

/// Letters of one event, so that nobody is written to twice.
#[derive(Default)]
struct Outbox {
    reached: HashSet<String>,
    letters: Vec<Letter>,
}

impl Outbox {
    /// Adds a letter to those of `to` and `cc` not reached yet. A letter left with
    /// copies only is addressed to them; one left with nobody is dropped.
    fn post(&mut self, to: &[&Person], cc: &[&Person], draft: Draft) {
        let mut to = self.claim(to);
        let mut cc = self.claim(cc);
        if to.is_empty() {
            std::mem::swap(&mut to, &mut cc);
        }
        if to.is_empty() {
            return;
        }
        let greeting = match to.as_slice() {
            [one] => one.greeting(),
            _ => "Bonjour,".to_owned(),
        };
        self.letters.push(Letter {
            to,
            cc,
            subject: draft.subject,
            text: format!("{greeting}\n\n{}", draft.body),
            html: None,
        });
    }

    fn claim(&mut self, people: &[&Person]) -> Vec<Address> {
        people
            .iter()
            .filter(|person| self.reached.insert(person.key()))
            .map(|person| (*person).clone())
            .collect()
    }
}

/// The letter that carries a token's one-time link to whom the applicant named.
pub fn token_link_letter(ctx: &Context, sender: &Person, to: &str, link: &str, until: DateTime<Utc>) -> Letter {
    let draft = wording::token_link(ctx, &sender.name, link, until);
    Letter {
        to: vec![Address::new("", to)],
        cc: Vec::new(),
        subject: draft.subject,
        text: format!("Bonjour,\n\n{}", draft.body),
        html: None,
    }
}
