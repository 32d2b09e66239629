//! What a habilitation's holders (its applicant and its technical contact) do with its
//! tokens themselves, without an instructor: rotate the token with an overlap, retire
//! an old one at once, name them, restrict the main one to client addresses and a
//! per-minute limit within what the instructor allowed. Each change is written with
//! the demande (its version guards it) and its history event.

use chrono::{DateTime, Duration, Utc};
use passerelle_store::{DemandeChange, TokenChange, TokenRecord};
use serde_json::json;
use uuid::Uuid;

use crate::state::{Refusal, State};
use crate::workflow::{ActError, Agent, Demande, Staff};

/// How long an old token may keep answering after a rotation.
pub const MAX_OVERLAP_DAYS: u32 = 30;
/// The overlap offered first: a week to deploy the new token everywhere.
pub const DEFAULT_OVERLAP_DAYS: u32 = 7;
const MAX_LABEL: usize = 80;
const MAX_RANGES: usize = 20;
/// The history event of every token change.
pub const EVENT: &str = "token";

#[derive(Debug, Clone)]
pub enum TokenAction {
    /// A new token for the same rights and end; the old one answers `overlap_days` more.
    Rotate { overlap_days: u32, label: String },
    /// An old token stops answering now.
    Retire(Uuid),
    /// A token's name, for its holders.
    Label { jti: Uuid, label: String },
    /// The main token's own client addresses and per-minute limit.
    Restrict {
        allowed_ips: Vec<String>,
        rate_limit_per_minute: Option<u32>,
    },
}

/// The tokens of a demande as the store holds them.
pub struct Held<'a> {
    pub main: &'a TokenRecord,
    /// The tokens a rotation replaced, when still in the store.
    pub retired: &'a [TokenRecord],
}

/// Below this many days left, the applicant may prolong the token without instruction.
pub const PROLONG_WITHIN_DAYS: i64 = 90;

/// The prolongation wizard's answer: the applicant is still in charge, the purpose and
/// both contacts are unchanged. The token gets 18 more months, added to its end (or to
/// now, once expired): an early prolongation loses no day. Anything changed goes
/// through an update of the demande instead, and its instruction.
pub fn prolong(
    demande: &Demande,
    main: &TokenRecord,
    actor: &Agent,
    site: &crate::workflow::Site,
    now: DateTime<Utc>,
) -> Result<(Demande, DemandeChange), ActError> {
    if !demande
        .roles(actor, &site.staff)
        .contains(&crate::state::Role::Applicant)
    {
        return Err(Refusal::WrongRole { event: EVENT }.into());
    }
    let approved = demande.standing.state == State::Validated && !demande.standing.reopening;
    if !approved || demande.body.token != Some(main.jti) || main.revoked_at.is_some() {
        return Err(ActError::Invalid(
            "Seul le jeton en vigueur d'une habilitation validée, hors mise à jour en cours, se prolonge.".into(),
        ));
    }
    if main.expires_at - now >= Duration::days(PROLONG_WITHIN_DAYS) {
        return Err(ActError::Invalid(format!(
            "La prolongation s'ouvre {PROLONG_WITHIN_DAYS} jours avant la fin du jeton."
        )));
    }
    let expires_at = main.expires_at.max(now) + Duration::days(crate::workflow::TOKEN_DAYS);
    let detail = json!({"action": "prolong", "token": main.jti, "from": main.expires_at, "to": expires_at});
    let token = TokenChange::Update {
        jti: main.jti,
        scopes: main.scopes.clone(),
        expires_at,
        also: Vec::new(),
    };
    written(demande.clone(), actor, now, EVENT, detail, Vec::new(), Some(token))
}

/// How long a token's one-time link may be opened.
pub const LINK_HOURS: i64 = 4;

/// The applicant sends the main token to `to` (a developer, an editor) as a one-time
/// link whose `code` only the letter carries; what to write with the link's record.
pub fn transmit(
    demande: &Demande,
    main: &TokenRecord,
    actor: &Agent,
    to: &str,
    code: &str,
    site: &crate::workflow::Site,
    now: DateTime<Utc>,
) -> Result<(Demande, DemandeChange), ActError> {
    let applicant = demande
        .roles(actor, &site.staff)
        .contains(&crate::state::Role::Applicant);
    if !applicant {
        return Err(Refusal::WrongRole { event: EVENT }.into());
    }
    if !in_force(demande, main, now) {
        return Err(ActError::Invalid(
            "Cette habilitation n'a pas de jeton en vigueur : rien à transmettre.".into(),
        ));
    }
    let to = to.trim().to_lowercase();
    if !crate::content::email_address(&to) {
        return Err(ActError::Invalid(format!(
            "« {to} » n'est pas une adresse électronique."
        )));
    }
    let until = now + Duration::hours(LINK_HOURS);
    let link = format!("{}/lien/{code}", site.base_url);
    let ctx = crate::workflow::mail_context(demande, site, None);
    let sender = crate::workflow::parties(demande, site).demandeur;
    let letter = passerelle_mail::token_link_letter(&ctx, &sender, &to, &link, until);
    let item = passerelle_store::OutboxItem::new(
        "mail",
        serde_json::to_string(&letter).map_err(|e| ActError::Invalid(e.to_string()))?,
        now,
    );
    let detail = json!({"action": "transmit", "token": main.jti, "to": to, "until": until});
    written(demande.clone(), actor, now, EVENT, detail, vec![item], None)
}

/// The state of one token, for a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Active,
    /// Replaced, answering until its end.
    Overlapping,
    Expired,
    Revoked,
}

pub fn standing(record: &TokenRecord, is_main: bool, now: DateTime<Utc>) -> Standing {
    // A ban set for later (an operator's) lets the token answer until then.
    if record.revoked_at.is_some_and(|at| at <= now) {
        Standing::Revoked
    } else if record.expires_at <= now {
        Standing::Expired
    } else if is_main {
        Standing::Active
    } else {
        Standing::Overlapping
    }
}

/// `action` by `actor` on `demande`'s tokens: refused, or what it writes.
/// `ceiling_per_minute` bounds the holders' own limit when the instructor set none.
pub fn manage(
    demande: &Demande,
    held: &Held,
    actor: &Agent,
    staff: &Staff,
    action: TokenAction,
    ceiling_per_minute: u32,
    now: DateTime<Utc>,
) -> Result<(Demande, DemandeChange), ActError> {
    if !demande.may_see_token(actor, staff) {
        return Err(Refusal::WrongRole { event: EVENT }.into());
    }
    if !in_force(demande, held.main, now) {
        return Err(ActError::Invalid(
            "Cette habilitation n'a pas de jeton en vigueur : rien à changer.".into(),
        ));
    }
    let mut next = demande.clone();
    let (token, detail) = match action {
        TokenAction::Rotate { overlap_days, label } => {
            // At most two tokens answer at once: a rotation never multiplies rights or quotas.
            if held
                .retired
                .iter()
                .any(|t| standing(t, false, now) == Standing::Overlapping)
            {
                return Err(ActError::Invalid(
                    "L'ancien jeton répond encore : arrêtez-le, ou attendez la fin du chevauchement, avant d'en créer un autre."
                        .into(),
                ));
            }
            rotate(&mut next, held.main, overlap_days, &label, now)?
        }
        TokenAction::Retire(jti) => retire(&next, held, jti, now)?,
        TokenAction::Label { jti, label } => relabel(&mut next, jti, &label)?,
        TokenAction::Restrict {
            allowed_ips,
            rate_limit_per_minute,
        } => restrict(
            &mut next,
            held.main,
            allowed_ips,
            rate_limit_per_minute,
            ceiling_per_minute,
        )?,
    };
    written(next, actor, now, EVENT, detail, Vec::new(), token)
}

/// `next` at its next version, with its history event (`kind`, `detail`), its letters
/// and its token change: what one commit writes.
pub(crate) fn written(
    mut next: Demande,
    actor: &Agent,
    now: DateTime<Utc>,
    kind: &str,
    detail: serde_json::Value,
    outbox: Vec<passerelle_store::OutboxItem>,
    token: Option<TokenChange>,
) -> Result<(Demande, DemandeChange), ActError> {
    next.version += 1;
    next.updated_at = now;
    let event = passerelle_store::DemandeEvent {
        demande_id: next.id,
        seq: next.version,
        at: now,
        actor: actor.email.to_lowercase(),
        kind: kind.into(),
        body: detail.to_string(),
    };
    let change = DemandeChange {
        demande: next.record().map_err(|e| ActError::Invalid(e.to_string()))?,
        people: next.people(),
        event,
        outbox,
        token,
    };
    Ok((next, change))
}

/// The letters of a holder's rotation (`change` as `manage` made it) to the applicant
/// and the technical contact: a rotation neither expected is a warning.
pub fn rotation_letters(
    demande: &Demande,
    change: &DemandeChange,
    by: &Agent,
    site: &crate::workflow::Site,
    now: DateTime<Utc>,
) -> Vec<passerelle_store::OutboxItem> {
    let Some(TokenChange::Rotate { old_expires_at, .. }) = &change.token else {
        return Vec::new();
    };
    let name = by.name();
    let rotated = passerelle_mail::Lifecycle::TokenRotated {
        by: if name.is_empty() { by.email.clone() } else { name },
        old_ends_at: (*old_expires_at > now).then_some(*old_expires_at),
    };
    crate::workflow::letters(demande, &rotated, site, now)
}

/// A habilitation in force (also during an update) whose main token still answers.
fn in_force(demande: &Demande, main: &TokenRecord, now: DateTime<Utc>) -> bool {
    let standing = demande.standing;
    let approved = standing.state == State::Validated || standing.reopening;
    approved && demande.body.token == Some(main.jti) && standing_is_active(main, now)
}

fn standing_is_active(record: &TokenRecord, now: DateTime<Utc>) -> bool {
    standing(record, true, now) == Standing::Active
}

type Outcome = (Option<TokenChange>, serde_json::Value);

fn rotate(
    next: &mut Demande,
    main: &TokenRecord,
    overlap_days: u32,
    label: &str,
    now: DateTime<Utc>,
) -> Result<Outcome, ActError> {
    if overlap_days > MAX_OVERLAP_DAYS {
        return Err(ActError::Invalid(format!(
            "Le chevauchement dure au plus {MAX_OVERLAP_DAYS} jours."
        )));
    }
    let label = clean_label(label)?;
    // The new token ends when the habilitation does: a rotation adds no time.
    let new = TokenRecord {
        jti: Uuid::new_v4(),
        issued_at: now,
        revoked_at: None,
        ..main.clone()
    };
    let old_expires_at = main.expires_at.min(now + Duration::days(i64::from(overlap_days)));
    next.body.retired_tokens.push(main.jti);
    next.body.token = Some(new.jti);
    let label = label.unwrap_or_else(|| format!("Jeton du {}", now.format("%d/%m/%Y")));
    next.body.token_labels.insert(new.jti, label);
    let detail = json!({"action": "rotate", "new": new.jti, "old": main.jti, "old_ends_at": old_expires_at});
    let change = TokenChange::Rotate {
        new,
        old: main.jti,
        old_expires_at,
    };
    Ok((Some(change), detail))
}

fn retire(next: &Demande, held: &Held, jti: Uuid, now: DateTime<Utc>) -> Result<Outcome, ActError> {
    let Some(old) = held.retired.iter().find(|t| t.jti == jti) else {
        return Err(ActError::Invalid(
            "Seul un ancien jeton se retire ; le jeton principal se remplace.".into(),
        ));
    };
    if !next.body.retired_tokens.contains(&jti) || standing(old, false, now) != Standing::Overlapping {
        return Err(ActError::Invalid("Ce jeton ne répond déjà plus.".into()));
    }
    Ok((
        Some(TokenChange::Revoke {
            jti,
            at: now,
            also: Vec::new(),
        }),
        json!({"action": "retire", "token": jti}),
    ))
}

fn relabel(next: &mut Demande, jti: Uuid, label: &str) -> Result<Outcome, ActError> {
    let known = next.body.token == Some(jti) || next.body.retired_tokens.contains(&jti);
    if !known {
        return Err(ActError::Invalid(
            "Ce jeton n'est pas celui de cette habilitation.".into(),
        ));
    }
    let Some(label) = clean_label(label)? else {
        return Err(ActError::Invalid("Donnez un nom au jeton.".into()));
    };
    next.body.token_labels.insert(jti, label.clone());
    Ok((None, json!({"action": "label", "token": jti, "label": label})))
}

fn clean_label(label: &str) -> Result<Option<String>, ActError> {
    let label = label.trim();
    if label.chars().count() > MAX_LABEL {
        return Err(ActError::Invalid(format!(
            "Le nom d'un jeton compte au plus {MAX_LABEL} caractères."
        )));
    }
    Ok((!label.is_empty()).then(|| label.to_string()))
}

fn restrict(
    next: &mut Demande,
    main: &TokenRecord,
    allowed_ips: Vec<String>,
    per_minute: Option<u32>,
    ceiling_per_minute: u32,
) -> Result<Outcome, ActError> {
    // Approved before the allowance was kept: the token's own restrictions are the
    // ceiling, kept from now on (they never widen).
    let allowance = next
        .body
        .allowance
        .get_or_insert_with(|| crate::workflow::Allowance {
            rate_limit_per_minute: main.rate_limit_per_minute,
            allowed_ips: main.allowed_ips.clone(),
        })
        .clone();
    if allowed_ips.len() > MAX_RANGES {
        return Err(ActError::Invalid(format!("Au plus {MAX_RANGES} plages d'adresses.")));
    }
    if let Some(bad) = allowed_ips.iter().find(|r| !passerelle_tokens::ip_range_valid(r)) {
        return Err(ActError::Invalid(format!(
            "« {bad} » n'est ni une adresse IP ni une plage CIDR (exemple : 192.0.2.0/24)."
        )));
    }
    let outer = &allowance.allowed_ips;
    if !outer.is_empty() {
        if allowed_ips.is_empty() {
            return Err(ActError::Invalid(format!(
                "L'habilitation limite les adresses à {} : gardez au moins une plage.",
                outer.join(", ")
            )));
        }
        if let Some(bad) = allowed_ips.iter().find(|r| !passerelle_tokens::range_within(r, outer)) {
            return Err(ActError::Invalid(format!(
                "« {bad} » sort des adresses que l'habilitation permet ({}).",
                outer.join(", ")
            )));
        }
    }
    let ceiling = allowance.rate_limit_per_minute.unwrap_or(ceiling_per_minute);
    let per_minute = per_minute.or(allowance.rate_limit_per_minute);
    if per_minute.is_some_and(|n| n == 0 || n > ceiling) {
        return Err(ActError::Invalid(format!(
            "La limite par minute va de 1 à {ceiling} appels pour cette habilitation."
        )));
    }
    let detail = json!({"action": "restrict", "token": main.jti, "allowed_ips": allowed_ips, "rate_limit_per_minute": per_minute});
    Ok((
        Some(TokenChange::Restrict {
            jti: main.jti,
            allowed_ips,
            rate_limit_per_minute: per_minute,
        }),
        detail,
    ))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::form::Forms;
    use crate::workflow::tests::{agent, filled, site, submit, TOWN};
    use crate::workflow::{act, create, Action};

    /// RestauScol's demande approved with 120 calls a minute from 192.0.2.0/24, and
    /// its token.
    pub(crate) fn approved(now: DateTime<Utc>) -> (Demande, TokenRecord) {
        let forms = Forms::built_in(crate::known_scopes).unwrap();
        let form = forms.get("api-particulier-editeur-restauscol").unwrap();
        let camille = agent("camille@ville.example", TOWN);
        let nadia = agent("nadia@numerique.example", "13002526500013");
        let site = site();
        let (d, _) = create(form, &camille, None, now).unwrap();
        let (d, _) = act(&d, form, &camille, filled(form), &site, now).unwrap();
        let (d, _) = act(&d, form, &camille, submit(), &site, now).unwrap();
        let approve = Action::Approve {
            message: None,
            rate_limit_per_minute: Some(120),
            allowed_ips: vec!["192.0.2.0/24".into()],
        };
        let (d, change) = act(&d, form, &nadia, approve, &site, now).unwrap();
        let Some(TokenChange::Issue(token)) = change.token else {
            panic!("a token")
        };
        (d, token)
    }

    fn by(email: &str) -> Agent {
        agent(email, TOWN)
    }

    fn run(
        d: &Demande,
        held: &Held,
        who: &Agent,
        action: TokenAction,
        now: DateTime<Utc>,
    ) -> Result<(Demande, DemandeChange), ActError> {
        manage(d, held, who, &site().staff, action, 1200, now)
    }

    #[test]
    fn a_rotation_keeps_the_rights_and_end_and_lets_the_old_token_overlap() {
        let now = Utc::now();
        let (d, main) = approved(now);
        let later = now + Duration::days(30);
        let held = Held {
            main: &main,
            retired: &[],
        };
        let rotate = TokenAction::Rotate {
            overlap_days: 7,
            label: " Serveur de production ".into(),
        };
        let (next, change) = run(&d, &held, &by("camille@ville.example"), rotate, later).unwrap();
        let Some(TokenChange::Rotate {
            new,
            old,
            old_expires_at,
        }) = change.token
        else {
            panic!("a rotation")
        };
        assert_eq!(old, main.jti);
        assert_eq!(old_expires_at, later + Duration::days(7));
        assert_ne!(new.jti, main.jti);
        assert_eq!(
            (&new.scopes, new.expires_at, new.rate_limit_per_minute, &new.allowed_ips),
            (
                &main.scopes,
                main.expires_at,
                main.rate_limit_per_minute,
                &main.allowed_ips
            )
        );
        assert_eq!(next.body.token, Some(new.jti));
        assert_eq!(next.body.retired_tokens, [main.jti]);
        assert_eq!(next.body.token_labels[&new.jti], "Serveur de production");
        assert_eq!(
            (change.event.kind.as_str(), change.demande.version),
            (EVENT, d.version + 1)
        );

        // The technical contact may rotate too; the overlap never outlives the token.
        let near_end = main.expires_at - Duration::days(2);
        let rotate = TokenAction::Rotate {
            overlap_days: 30,
            label: String::new(),
        };
        let (_, change) = run(&d, &held, &by("karim@ville.example"), rotate, near_end).unwrap();
        assert!(
            matches!(change.token, Some(TokenChange::Rotate { old_expires_at, .. }) if old_expires_at == main.expires_at)
        );
    }

    #[test]
    fn only_the_applicant_and_technical_contact_manage_tokens_of_a_habilitation_in_force() {
        let now = Utc::now();
        let (d, main) = approved(now);
        let held = Held {
            main: &main,
            retired: &[],
        };
        let rotate = || TokenAction::Rotate {
            overlap_days: 1,
            label: String::new(),
        };
        for stranger in ["nadia@numerique.example", "someone@ville.example"] {
            let refused = manage(
                &d,
                &held,
                &agent(stranger, "13002526500013"),
                &site().staff,
                rotate(),
                1200,
                now,
            );
            assert!(matches!(refused, Err(ActError::Refused(_))), "{stranger}");
        }
        let too_long = TokenAction::Rotate {
            overlap_days: 31,
            label: String::new(),
        };
        assert!(matches!(
            run(&d, &held, &by("camille@ville.example"), too_long, now),
            Err(ActError::Invalid(_))
        ));
        let revoked = TokenRecord {
            revoked_at: Some(now),
            ..main.clone()
        };
        let held = Held {
            main: &revoked,
            retired: &[],
        };
        assert!(matches!(
            run(&d, &held, &by("camille@ville.example"), rotate(), now),
            Err(ActError::Invalid(_))
        ));
    }

    #[test]
    fn restrictions_stay_within_what_the_instructor_allowed() {
        let now = Utc::now();
        let (d, main) = approved(now);
        let held = Held {
            main: &main,
            retired: &[],
        };
        let camille = by("camille@ville.example");
        let restrict = |ips: &[&str], per_minute| TokenAction::Restrict {
            allowed_ips: ips.iter().map(|s| s.to_string()).collect(),
            rate_limit_per_minute: per_minute,
        };
        let (_, change) = run(&d, &held, &camille, restrict(&["192.0.2.128/25"], Some(60)), now).unwrap();
        assert!(matches!(
            change.token,
            Some(TokenChange::Restrict { rate_limit_per_minute: Some(60), ref allowed_ips, .. }) if allowed_ips == &["192.0.2.128/25"]
        ));
        // No limit of their own: the instructor's stays.
        let (_, change) = run(&d, &held, &camille, restrict(&["192.0.2.0/24"], None), now).unwrap();
        assert!(matches!(
            change.token,
            Some(TokenChange::Restrict {
                rate_limit_per_minute: Some(120),
                ..
            })
        ));
        for (ips, per_minute) in [
            (&["198.51.100.0/24"][..], Some(60)),
            (&["192.0.2.0/23"][..], Some(60)),
            (&[][..], Some(60)),
            (&["192.0.2.0/24"][..], Some(121)),
            (&["192.0.2.0/24"][..], Some(0)),
            (&["pas une adresse"][..], None),
        ] {
            let refused = run(&d, &held, &camille, restrict(ips, per_minute), now);
            assert!(matches!(refused, Err(ActError::Invalid(_))), "{ips:?} {per_minute:?}");
        }
    }

    #[test]
    fn an_old_token_is_retired_once_and_the_main_one_never() {
        let now = Utc::now();
        let (d, main) = approved(now);
        let camille = by("camille@ville.example");
        let held = Held {
            main: &main,
            retired: &[],
        };
        let rotate = TokenAction::Rotate {
            overlap_days: 7,
            label: String::new(),
        };
        let (d, change) = run(&d, &held, &camille, rotate, now).unwrap();
        let Some(TokenChange::Rotate {
            new, old_expires_at, ..
        }) = change.token
        else {
            panic!("a rotation")
        };
        let old = TokenRecord {
            expires_at: old_expires_at,
            ..main.clone()
        };
        let held = Held {
            main: &new,
            retired: std::slice::from_ref(&old),
        };
        let refused = run(&d, &held, &camille, TokenAction::Retire(new.jti), now);
        assert!(matches!(refused, Err(ActError::Invalid(_))));
        let (_, change) = run(&d, &held, &camille, TokenAction::Retire(old.jti), now).unwrap();
        assert!(matches!(change.token, Some(TokenChange::Revoke { jti, .. }) if jti == old.jti));
        let gone = TokenRecord {
            revoked_at: Some(now),
            ..old.clone()
        };
        let held = Held {
            main: &new,
            retired: std::slice::from_ref(&gone),
        };
        assert!(matches!(
            run(&d, &held, &camille, TokenAction::Retire(old.jti), now),
            Err(ActError::Invalid(_))
        ));
        let label = TokenAction::Label {
            jti: old.jti,
            label: "Ancien serveur".into(),
        };
        let (d, change) = run(&d, &held, &camille, label, now).unwrap();
        assert!(change.token.is_none());
        assert_eq!(d.body.token_labels[&old.jti], "Ancien serveur");
    }

    #[test]
    fn a_second_rotation_waits_for_the_first_overlap_to_end() {
        let now = Utc::now();
        let (d, main) = approved(now);
        let camille = by("camille@ville.example");
        let rotate = || TokenAction::Rotate {
            overlap_days: 7,
            label: String::new(),
        };
        let held = Held {
            main: &main,
            retired: &[],
        };
        let (d, change) = run(&d, &held, &camille, rotate(), now).unwrap();
        let Some(TokenChange::Rotate {
            new, old_expires_at, ..
        }) = change.token
        else {
            panic!("a rotation")
        };
        let old = TokenRecord {
            expires_at: old_expires_at,
            ..main.clone()
        };
        let held = Held {
            main: &new,
            retired: std::slice::from_ref(&old),
        };
        assert!(matches!(
            run(&d, &held, &camille, rotate(), now),
            Err(ActError::Invalid(_))
        ));
        let later = old_expires_at + Duration::seconds(1);
        assert!(
            run(&d, &held, &camille, rotate(), later).is_ok(),
            "once the old one ended"
        );
    }

    #[test]
    fn before_the_allowance_was_kept_the_tokens_own_restrictions_are_the_ceiling() {
        let now = Utc::now();
        let (mut d, main) = approved(now);
        d.body.allowance = None;
        let held = Held {
            main: &main,
            retired: &[],
        };
        let camille = by("camille@ville.example");
        let wider = TokenAction::Restrict {
            allowed_ips: Vec::new(),
            rate_limit_per_minute: Some(1000),
        };
        assert!(matches!(
            run(&d, &held, &camille, wider, now),
            Err(ActError::Invalid(_))
        ));
        let narrower = TokenAction::Restrict {
            allowed_ips: vec!["192.0.2.7".into()],
            rate_limit_per_minute: Some(10),
        };
        let (next, _) = run(&d, &held, &camille, narrower, now).unwrap();
        assert_eq!(
            next.body.allowance.map(|a| (a.allowed_ips, a.rate_limit_per_minute)),
            Some((vec!["192.0.2.0/24".to_string()], Some(120))),
            "kept from the token as it was"
        );
    }

    #[test]
    fn a_prolongation_adds_eighteen_months_to_the_end_within_ninety_days() {
        let now = Utc::now();
        let (d, main) = approved(now);
        let site = site();
        let camille = by("camille@ville.example");
        assert!(
            matches!(prolong(&d, &main, &camille, &site, now), Err(ActError::Invalid(_))),
            "too early"
        );
        let ending = TokenRecord {
            expires_at: now + Duration::days(40),
            ..main.clone()
        };
        let (_, change) = prolong(&d, &ending, &camille, &site, now).unwrap();
        let expected = ending.expires_at + Duration::days(crate::workflow::TOKEN_DAYS);
        assert!(matches!(change.token, Some(TokenChange::Update { expires_at, .. }) if expires_at == expected));
        let karim = by("karim@ville.example");
        assert!(matches!(
            prolong(&d, &ending, &karim, &site, now),
            Err(ActError::Refused(_))
        ));
        let expired = TokenRecord {
            expires_at: now - Duration::days(3),
            ..main.clone()
        };
        let (_, change) = prolong(&d, &expired, &camille, &site, now).unwrap();
        let from_now = now + Duration::days(crate::workflow::TOKEN_DAYS);
        assert!(matches!(change.token, Some(TokenChange::Update { expires_at, .. }) if expires_at == from_now));
        let revoked = TokenRecord {
            revoked_at: Some(now),
            ..ending
        };
        assert!(matches!(
            prolong(&d, &revoked, &camille, &site, now),
            Err(ActError::Invalid(_))
        ));
    }
}
