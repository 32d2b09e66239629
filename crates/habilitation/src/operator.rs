//! What the operators (the service's admins) do from the back-office: give an eligible
//! habilitation a token with a chosen end, ban a token now or at a date with a reason
//! (optionally with a replacement), and see an organisation's members. Each token
//! change is written with the demande (its version guards it), its history event and
//! its letters, like the holders' own changes (`tokens`).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use passerelle_mail::Lifecycle;
use passerelle_store::{DemandeChange, TokenChange, TokenRecord};
use serde_json::json;
use uuid::Uuid;

use crate::content::ContactKind;
use crate::state::{Refusal, State};
use crate::tokens::{standing, written, Standing, EVENT};
use crate::workflow::{self, ActError, Agent, Demande, Site, MAX_TEXT, TOKEN_DAYS};

/// A demande's tokens as the store holds them: the main one (if found), the ones
/// a rotation or a replacement set aside, and the editors' delegated tokens.
pub struct Tokens<'a> {
    pub main: Option<&'a TokenRecord>,
    pub retired: &'a [TokenRecord],
    pub delegated: &'a [TokenRecord],
}

impl Tokens<'_> {
    fn all(&self) -> impl Iterator<Item = &TokenRecord> {
        self.main.into_iter().chain(self.retired).chain(self.delegated)
    }
}

/// Whether an operator may give the habilitation a token: validated, neither revoked
/// nor archived (an update under instruction keeps it in force).
pub fn eligible(demande: &Demande) -> bool {
    demande.standing.state == State::Validated
}

/// Whether an operator may create a token for `demande` now: eligible, and none of
/// its tokens answers without a ban set.
pub fn creatable(demande: &Demande, tokens: &Tokens, now: DateTime<Utc>) -> bool {
    eligible(demande) && !tokens.all().any(|t| unbanned_and_answering(t, now))
}

/// Whether an operator's search `q` finds `demande`: its number, its organisation's
/// SIRET or name, or the e-mail of someone it names (case and spaces ignored).
pub fn matches(demande: &Demande, q: &str) -> bool {
    let q = q.trim().to_lowercase();
    if q.is_empty() {
        return true;
    }
    let digits: String = q.chars().filter(|c| !c.is_whitespace()).collect();
    let number = digits.trim_start_matches("n°").trim_start_matches('#');
    if number.parse::<i64>().is_ok_and(|n| n == demande.number) {
        return true;
    }
    let name = demande.body.organisation.as_deref().unwrap_or("").to_lowercase();
    (digits.len() >= 3 && demande.siret.contains(&digits))
        || name.contains(&q)
        || named(demande).iter().any(|(email, _, _)| email.contains(&q))
}

/// Whether `record` answers at `now` and no ban is set for it yet.
fn unbanned_and_answering(record: &TokenRecord, now: DateTime<Utc>) -> bool {
    record.revoked_at.is_none() && record.expires_at > now
}

/// A new main token for `demande`, ending at `expires_at` (not past, at most 18 months
/// away), with the approved scopes and restrictions. Refused while one of its tokens
/// still answers without a ban set: ban it first (with a replacement if need be).
pub fn create_token(
    demande: &Demande,
    tokens: &Tokens,
    admin: &Agent,
    site: &Site,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(Demande, DemandeChange, TokenRecord), ActError> {
    admin_only(admin, site)?;
    if !eligible(demande) {
        return Err(ActError::Invalid(
            "Seule une habilitation validée, ni révoquée ni archivée, reçoit un jeton.".into(),
        ));
    }
    if expires_at <= now {
        return Err(ActError::Invalid("La date de fin du jeton est passée.".into()));
    }
    if expires_at > now + Duration::days(TOKEN_DAYS) {
        return Err(ActError::Invalid(
            "Un jeton vaut au plus 18 mois : choisissez une date de fin plus proche.".into(),
        ));
    }
    if tokens.all().any(|t| unbanned_and_answering(t, now)) {
        return Err(ActError::Invalid(
            "Un jeton de cette habilitation répond encore : bannissez-le d'abord (avec un remplaçant si besoin)."
                .into(),
        ));
    }
    let record = new_token(demande, tokens.main, expires_at, now);
    let mut next = demande.clone();
    if let Some(old) = next.body.token.replace(record.jti) {
        next.body.retired_tokens.push(old);
    }
    let label = format!("Jeton créé par l'équipe le {}", now.format("%d/%m/%Y"));
    next.body.token_labels.insert(record.jti, label);
    let detail = json!({"action": "create", "token": record.jti, "expires_at": expires_at, "operator": true});
    let token = TokenChange::Issue(record.clone());
    let (next, change) = written(next, admin, now, EVENT, detail, Vec::new(), Some(token))?;
    Ok((next, change, record))
}

/// The habilitation's token as approved: its scopes, the instructor's restrictions.
fn new_token(
    demande: &Demande,
    main: Option<&TokenRecord>,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> TokenRecord {
    let approved = demande.body.habilitations.iter().rev().find(|h| h.state == "active");
    let scopes = match approved {
        Some(h) => h.scopes.clone(),
        None => demande.body.content.scopes.iter().cloned().collect(),
    };
    let allowance = demande.body.allowance.clone().unwrap_or_else(|| workflow::Allowance {
        rate_limit_per_minute: main.and_then(|m| m.rate_limit_per_minute),
        allowed_ips: main.map(|m| m.allowed_ips.clone()).unwrap_or_default(),
    });
    TokenRecord {
        jti: Uuid::new_v4(),
        name: demande.title().to_string(),
        siret: demande.siret.clone(),
        bouquet: demande.bouquet.clone(),
        scopes,
        issued_at: now,
        expires_at,
        revoked_at: None,
        rate_limit_per_minute: allowance.rate_limit_per_minute,
        allowed_ips: allowance.allowed_ips,
        dpo_email: demande
            .body
            .content
            .contact_email(ContactKind::DelegueProtectionDonnees),
    }
}

/// What an operator asks of a ban.
#[derive(Debug, Clone)]
pub struct Ban {
    pub jti: Uuid,
    /// When the token stops answering: now, or later (it answers until then).
    pub at: DateTime<Utc>,
    pub reason: String,
    /// A new token with the same rights and end (the main token only).
    pub replace: bool,
}

/// Bans one of `demande`'s tokens at `ban.at`, with its letter to the applicant and
/// the technical contact; with a replacement, the new token becomes the main one.
/// The replacement is made from the token as it was, never carrying its ban.
pub fn ban(
    demande: &Demande,
    tokens: &Tokens,
    admin: &Agent,
    site: &Site,
    ban: &Ban,
    now: DateTime<Utc>,
) -> Result<(Demande, DemandeChange, Option<TokenRecord>), ActError> {
    admin_only(admin, site)?;
    let reason = ban.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_TEXT {
        return Err(ActError::Invalid(format!(
            "Donnez le motif du bannissement (au plus {MAX_TEXT} caractères) : il est écrit aux contacts."
        )));
    }
    let Some(old) = tokens.all().find(|t| t.jti == ban.jti) else {
        return Err(ActError::Invalid(
            "Ce jeton n'est pas celui de cette habilitation.".into(),
        ));
    };
    check_bannable(old, ban.at, now)?;
    let is_main = demande.body.token == Some(old.jti);
    let replacement = match ban.replace {
        false => None,
        true => Some(replacement_of(demande, tokens, old, is_main, now)?),
    };
    let mut next = demande.clone();
    if let Some(new) = &replacement {
        next.body.retired_tokens.push(old.jti);
        next.body.token = Some(new.jti);
        let label = format!("Remplaçant du jeton banni le {}", now.format("%d/%m/%Y"));
        next.body.token_labels.insert(new.jti, label);
    }
    let banned = Lifecycle::TokenBanned {
        reason: reason.to_string(),
        at: ban.at,
        scheduled: ban.at > now,
        replaced: replacement.is_some(),
    };
    let letters = workflow::letters(&next, &banned, site, now);
    let detail = json!({
        "action": "ban",
        "token": old.jti,
        "at": ban.at,
        "reason": reason,
        "replacement": replacement.as_ref().map(|t| t.jti),
        "operator": true,
    });
    // Banning the main token without a replacement ends the habilitation's access:
    // the tokens that answer beside it (an overlap, an editor's) stop at the same time.
    let also = match is_main && replacement.is_none() {
        true => next.body.tokens_besides_main(),
        false => Vec::new(),
    };
    let token = TokenChange::Revoke {
        jti: old.jti,
        at: ban.at,
        also,
    };
    let (next, change) = written(next, admin, now, EVENT, detail, letters, Some(token))?;
    Ok((next, change, replacement))
}

/// A ban must stop a token that answers, no later than its end, and no later than a
/// ban already set.
fn check_bannable(old: &TokenRecord, at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), ActError> {
    if old.expires_at <= now || old.revoked_at.is_some_and(|r| r <= now) {
        return Err(ActError::Invalid("Ce jeton ne répond déjà plus.".into()));
    }
    if at < now {
        return Err(ActError::Invalid("La date du bannissement est passée.".into()));
    }
    if at >= old.expires_at {
        return Err(ActError::Invalid(
            "Le jeton expire avant cette date : le bannir n'y changerait rien.".into(),
        ));
    }
    if old.revoked_at.is_some_and(|r| r <= at) {
        return Err(ActError::Invalid(
            "Ce jeton est déjà banni à cette date ou avant.".into(),
        ));
    }
    Ok(())
}

/// The replacement of the main token `old`: same scopes, restrictions and end, a new
/// id and issue time, and no ban. At most two tokens answer at once.
fn replacement_of(
    demande: &Demande,
    tokens: &Tokens,
    old: &TokenRecord,
    is_main: bool,
    now: DateTime<Utc>,
) -> Result<TokenRecord, ActError> {
    if !is_main {
        return Err(ActError::Invalid(
            "Seul le jeton principal se remplace ; un ancien jeton se bannit seul.".into(),
        ));
    }
    if !eligible(demande) {
        return Err(ActError::Invalid(
            "Seule une habilitation validée, ni révoquée ni archivée, reçoit un jeton de remplacement.".into(),
        ));
    }
    let overlapping = tokens
        .retired
        .iter()
        .any(|t| standing(t, false, now) == Standing::Overlapping);
    if overlapping {
        return Err(ActError::Invalid(
            "Un ancien jeton répond encore : bannissez-le d'abord, deux jetons au plus répondent à la fois.".into(),
        ));
    }
    Ok(TokenRecord {
        jti: Uuid::new_v4(),
        issued_at: now,
        revoked_at: None,
        ..old.clone()
    })
}

fn admin_only(agent: &Agent, site: &Site) -> Result<(), ActError> {
    if site.staff.is_admin(agent) {
        return Ok(());
    }
    Err(Refusal::WrongRole { event: EVENT }.into())
}

/// Someone named on an organisation's demandes, with every role they hold there.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub email: String,
    pub name: String,
    /// "Demandeur", "Contact technique"…, each once.
    pub roles: Vec<&'static str>,
    /// The numbers of the demandes naming them.
    pub demandes: Vec<i64>,
}

/// The people named on `demandes` (an organisation's), by e-mail.
pub fn members(demandes: &[Demande]) -> Vec<Member> {
    let mut found: BTreeMap<String, Member> = BTreeMap::new();
    for demande in demandes {
        for (email, name, role) in named(demande) {
            let member = found.entry(email.clone()).or_insert_with(|| Member {
                email,
                name: String::new(),
                roles: Vec::new(),
                demandes: Vec::new(),
            });
            if member.name.is_empty() {
                member.name = name;
            }
            if !member.roles.contains(&role) {
                member.roles.push(role);
            }
            if !member.demandes.contains(&demande.number) {
                member.demandes.push(demande.number);
            }
        }
    }
    found.into_values().collect()
}

/// The applicant and the contacts of `demande`: e-mail, name, role.
fn named(demande: &Demande) -> Vec<(String, String, &'static str)> {
    let applicant = &demande.body.applicant;
    let mut people = vec![(applicant.email.to_lowercase(), applicant.name(), "Demandeur")];
    let content = &demande.body.content;
    for kind in ContactKind::of(&demande.bouquet) {
        if let Some(email) = content.contact_email(*kind) {
            let part = |p: &str| content.field(&format!("{}_{p}", kind.key())).trim().to_string();
            let name = format!("{} {}", part("given_name"), part("family_name"));
            people.push((email, name.trim().to_string(), kind.label()));
        }
    }
    people
}

/// The agent an admin sees the site as: someone named on one of `demandes` (their
/// organisation's), as ProConnect would vouch for them in that organisation.
pub fn agent_named(demandes: &[Demande], email: &str, siret: &str) -> Option<Agent> {
    let email = email.trim().to_lowercase();
    let demande = demandes
        .iter()
        .filter(|d| d.siret == siret)
        .find(|d| named(d).iter().any(|(e, _, _)| *e == email))?;
    let applicant = &demande.body.applicant;
    if applicant.email.eq_ignore_ascii_case(&email) {
        return Some(Agent {
            siret: siret.to_string(),
            ..applicant.clone()
        });
    }
    let content = &demande.body.content;
    let kind = ContactKind::of(&demande.bouquet)
        .iter()
        .find(|k| content.contact_email(**k).as_deref() == Some(email.as_str()))?;
    let part = |p: &str| content.field(&format!("{}_{p}", kind.key())).trim().to_string();
    Some(Agent {
        uid: String::new(),
        email,
        given_name: part("given_name"),
        family_name: part("family_name"),
        siret: siret.to_string(),
        phone: None,
        job_title: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::tests::approved;
    use crate::workflow::tests::{agent, site, TOWN};

    const ELISE: &str = "elise@numerique.example";

    fn elise() -> Agent {
        agent(ELISE, "13002526500013")
    }

    fn ban_of(jti: Uuid, at: DateTime<Utc>, replace: bool) -> Ban {
        Ban {
            jti,
            at,
            reason: "Jeton publié sur un dépôt public.".into(),
            replace,
        }
    }

    fn letters_to(change: &DemandeChange) -> Vec<String> {
        change
            .outbox
            .iter()
            .map(|i| serde_json::from_str::<passerelle_mail::Letter>(&i.body).unwrap())
            .flat_map(|l| l.to.into_iter().map(|a| a.email))
            .collect()
    }

    #[test]
    fn a_scheduled_ban_with_a_replacement_keeps_the_ban_off_the_new_token() {
        let now = Utc::now();
        let (d, main) = approved(now);
        let tokens = Tokens {
            main: Some(&main),
            retired: &[],
            delegated: &[],
        };
        let at = now + Duration::days(10);
        let (next, change, new) = ban(&d, &tokens, &elise(), &site(), &ban_of(main.jti, at, true), now).unwrap();
        let new = new.expect("a replacement");
        assert_eq!(new.revoked_at, None, "the copy never inherits the ban");
        assert_ne!(new.jti, main.jti);
        assert_eq!((&new.scopes, new.expires_at), (&main.scopes, main.expires_at));
        assert_eq!(new.issued_at, now);
        assert!(
            matches!(change.token, Some(TokenChange::Revoke { jti, at: when, .. }) if jti == main.jti && when == at)
        );
        assert_eq!(next.body.token, Some(new.jti));
        assert_eq!(next.body.retired_tokens, [main.jti]);
        assert_eq!(change.event.kind, EVENT);
        assert_eq!(letters_to(&change), ["camille@ville.example", "karim@ville.example"]);
        // Until the date, the old token still answers, as a replaced one.
        let scheduled = TokenRecord {
            revoked_at: Some(at),
            ..main.clone()
        };
        assert_eq!(standing(&scheduled, false, now), Standing::Overlapping);
        assert_eq!(standing(&scheduled, false, at), Standing::Revoked);
    }

    #[test]
    fn only_an_admin_bans_and_only_a_token_that_answers_before_its_end() {
        let now = Utc::now();
        let (d, main) = approved(now);
        let tokens = Tokens {
            main: Some(&main),
            retired: &[],
            delegated: &[],
        };
        let camille = agent("camille@ville.example", TOWN);
        let refused = ban(&d, &tokens, &camille, &site(), &ban_of(main.jti, now, false), now);
        assert!(matches!(refused, Err(ActError::Refused(_))));
        for bad in [
            ban_of(main.jti, now - Duration::hours(1), false),
            ban_of(main.jti, main.expires_at + Duration::days(1), false),
            ban_of(Uuid::new_v4(), now, false),
            Ban {
                reason: "  ".into(),
                ..ban_of(main.jti, now, false)
            },
        ] {
            let refused = ban(&d, &tokens, &elise(), &site(), &bad, now);
            assert!(matches!(refused, Err(ActError::Invalid(_))), "{bad:?}");
        }
        let banned = TokenRecord {
            revoked_at: Some(now),
            ..main.clone()
        };
        let tokens = Tokens {
            main: Some(&banned),
            retired: &[],
            delegated: &[],
        };
        let again = ban(&d, &tokens, &elise(), &site(), &ban_of(main.jti, now, false), now);
        assert!(matches!(again, Err(ActError::Invalid(_))));
    }

    #[test]
    fn a_token_is_created_only_when_none_answers_unbanned_and_within_eighteen_months() {
        let now = Utc::now();
        let (d, main) = approved(now);
        let tokens = Tokens {
            main: Some(&main),
            retired: &[],
            delegated: &[],
        };
        let end = now + Duration::days(90);
        let busy = create_token(&d, &tokens, &elise(), &site(), end, now);
        assert!(matches!(busy, Err(ActError::Invalid(_))), "the main token answers");
        let banned = TokenRecord {
            revoked_at: Some(now),
            ..main.clone()
        };
        let tokens = Tokens {
            main: Some(&banned),
            retired: &[],
            delegated: &[],
        };
        for bad in [now - Duration::days(1), now + Duration::days(TOKEN_DAYS + 1)] {
            let refused = create_token(&d, &tokens, &elise(), &site(), bad, now);
            assert!(matches!(refused, Err(ActError::Invalid(_))), "{bad}");
        }
        let camille = agent("camille@ville.example", TOWN);
        let refused = create_token(&d, &tokens, &camille, &site(), end, now);
        assert!(matches!(refused, Err(ActError::Refused(_))));
        let (next, change, record) = create_token(&d, &tokens, &elise(), &site(), end, now).unwrap();
        assert_eq!(record.expires_at, end);
        assert_eq!(record.scopes, main.scopes);
        assert_eq!(
            (record.rate_limit_per_minute, record.allowed_ips.clone()),
            (Some(120), vec!["192.0.2.0/24".to_string()])
        );
        assert_eq!(next.body.token, Some(record.jti));
        assert_eq!(next.body.retired_tokens, [main.jti]);
        assert!(matches!(change.token, Some(TokenChange::Issue(ref t)) if *t == record));
    }

    #[test]
    fn a_search_finds_a_demande_by_number_siret_name_or_email() {
        let now = Utc::now();
        let (mut d, _) = approved(now);
        d.number = 42;
        d.body.organisation = Some("COMMUNE DE SAINTE-COLOMBE".into());
        for q in [
            "42",
            "n° 42",
            "2134 9910",
            "sainte-colombe",
            "KARIM@",
            "camille@ville.example",
            "",
        ] {
            assert!(matches(&d, q), "{q}");
        }
        for q in ["43", "mairie-bourg", "nadia@", "99"] {
            assert!(!matches(&d, q), "{q}");
        }
    }

    #[test]
    fn members_gather_their_roles_and_an_admin_sees_the_site_as_one_of_them() {
        let now = Utc::now();
        let (d, _) = approved(now);
        let people = members(std::slice::from_ref(&d));
        let karim = people.iter().find(|m| m.email == "karim@ville.example").unwrap();
        assert_eq!(karim.name, "Karim Benali");
        assert!(karim.roles.contains(&"Contact technique") && karim.roles.contains(&"Contact métier"));
        assert_eq!(karim.demandes, [d.number]);
        let seen = agent_named(std::slice::from_ref(&d), "Karim@Ville.example", TOWN).unwrap();
        assert_eq!(
            (seen.email.as_str(), seen.siret.as_str()),
            ("karim@ville.example", TOWN)
        );
        assert!(d.may_see_token(&seen, &site().staff));
        assert!(agent_named(std::slice::from_ref(&d), "someone@ville.example", TOWN).is_none());
        assert!(agent_named(std::slice::from_ref(&d), "karim@ville.example", "13002526500013").is_none());
    }
}
