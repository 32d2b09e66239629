//! Delegations to software editors (§d.3): the applicant and the business and
//! technical contacts of a habilitation in force delegate it to an editor declared in
//! the configuration, and revoke that delegation. The editor's users (agents whom
//! ProConnect vouches for in one of the editor's organisations) then act through the
//! delegation, never with the client's token: they take a **delegated token** of their
//! own — a new id and string, the habilitation's scopes and the main token's end —
//! which the habilitation's revocation reaches like the tokens a rotation replaced
//! (`Body::delegated_tokens`), and the delegation's revocation stops at once.
//!
//! Each grant, revocation and token taken is one `DemandeChange` (the demande at its
//! next version and its history event) with its `DelegationWrite`, committed together.

use chrono::{DateTime, Utc};
use passerelle_store::{
    DelegatedToken, Delegation, DelegationWrite, DemandeChange, OutboxItem, TokenChange, TokenRecord,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::content::ContactKind;
use crate::state::{Refusal, Role, State};
use crate::tokens::{standing, written, Standing};
use crate::workflow::{ActError, Agent, Demande, Site};

/// The history event of every delegation change.
pub const EVENT: &str = "delegation";

/// A software editor, as the configuration declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Editor {
    /// A short stable name (`[a-z0-9-]`), kept on delegations.
    pub id: String,
    pub name: String,
    /// The editor's organisations: an agent of one of them is a user of the editor.
    #[serde(default)]
    pub sirets: Vec<String>,
}

/// The declared editors, checked: distinct ids, each organisation in one editor only.
#[derive(Debug, Clone, Default)]
pub struct Editors(Vec<Editor>);

impl Editors {
    pub fn new(list: Vec<Editor>) -> anyhow::Result<Editors> {
        let mut sirets = std::collections::BTreeSet::new();
        for (i, editor) in list.iter().enumerate() {
            let id_ok = !editor.id.is_empty()
                && editor
                    .id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            anyhow::ensure!(id_ok, "editor `{}`: an id is made of a-z, 0-9 and -", editor.id);
            anyhow::ensure!(
                list[..i].iter().all(|e| e.id != editor.id),
                "editor `{}` is declared twice",
                editor.id
            );
            anyhow::ensure!(!editor.name.trim().is_empty(), "editor `{}` has no name", editor.id);
            anyhow::ensure!(!editor.sirets.is_empty(), "editor `{}` has no SIRET", editor.id);
            for siret in &editor.sirets {
                let digits = siret.len() == 14 && siret.bytes().all(|b| b.is_ascii_digit());
                anyhow::ensure!(digits, "editor `{}`: `{siret}` is not a SIRET (14 digits)", editor.id);
                anyhow::ensure!(sirets.insert(siret.clone()), "SIRET {siret} belongs to two editors");
            }
        }
        Ok(Editors(list))
    }

    pub fn all(&self) -> &[Editor] {
        &self.0
    }

    pub fn get(&self, id: &str) -> Option<&Editor> {
        self.0.iter().find(|e| e.id == id)
    }

    /// The editor `agent` works for, by the organisation ProConnect vouches for.
    pub fn of(&self, agent: &Agent) -> Option<&Editor> {
        self.0.iter().find(|e| e.sirets.contains(&agent.siret))
    }
}

/// Whether `agent` may grant and revoke the demande's delegations: its applicant, its
/// business and technical contacts.
pub fn may_delegate(demande: &Demande, agent: &Agent, staff: &crate::workflow::Staff) -> bool {
    let named = |kind| {
        demande
            .body
            .content
            .contact_email(kind)
            .is_some_and(|e| e.eq_ignore_ascii_case(&agent.email))
    };
    demande.roles(agent, staff).contains(&Role::Applicant)
        || named(ContactKind::ContactMetier)
        || named(ContactKind::ContactTechnique)
}

/// A habilitation in force (also during an update) whose main token still answers.
pub fn in_force(demande: &Demande, main: &TokenRecord, now: DateTime<Utc>) -> bool {
    let approved = demande.standing.state == State::Validated || demande.standing.reopening;
    approved && demande.body.token == Some(main.jti) && standing(main, true, now) == Standing::Active
}

/// `actor` delegates the habilitation to `editor`; `delegations` are the demande's.
pub fn grant(
    demande: &Demande,
    main: &TokenRecord,
    editor: &Editor,
    delegations: &[Delegation],
    actor: &Agent,
    site: &Site,
    now: DateTime<Utc>,
) -> Result<(DemandeChange, DelegationWrite), ActError> {
    if !may_delegate(demande, actor, &site.staff) {
        return Err(Refusal::WrongRole { event: EVENT }.into());
    }
    if !in_force(demande, main, now) {
        return Err(ActError::Invalid(
            "Seule une habilitation en vigueur, dont le jeton répond, se délègue.".into(),
        ));
    }
    if delegations
        .iter()
        .any(|d| d.editor == editor.id && d.revoked_at.is_none())
    {
        return Err(ActError::Invalid(format!(
            "L'habilitation est déjà déléguée à {}.",
            editor.name
        )));
    }
    let delegation = Delegation {
        id: Uuid::new_v4(),
        demande_id: demande.id,
        editor: editor.id.clone(),
        granted_by: actor.email.to_lowercase(),
        granted_at: now,
        revoked_by: None,
        revoked_at: None,
    };
    let letter = letter(
        demande,
        site,
        passerelle_mail::DelegationChange::Granted,
        editor,
        actor,
        now,
    )?;
    let detail = json!({
        "action": "grant",
        "delegation": delegation.id,
        "editor": editor.id,
        "message": format!("Délégation accordée à l'éditeur {}", editor.name),
    });
    let (_, change) = written(demande.clone(), actor, now, EVENT, detail, vec![letter], None)?;
    Ok((change, DelegationWrite::Grant(delegation)))
}

/// `actor` ends `delegation`; its delegated tokens (`taken`) stop answering at once.
pub fn revoke(
    demande: &Demande,
    delegation: &Delegation,
    editor: &Editor,
    taken: &[DelegatedToken],
    actor: &Agent,
    site: &Site,
    now: DateTime<Utc>,
) -> Result<(DemandeChange, DelegationWrite), ActError> {
    if !may_delegate(demande, actor, &site.staff) {
        return Err(Refusal::WrongRole { event: EVENT }.into());
    }
    if delegation.demande_id != demande.id || delegation.revoked_at.is_some() {
        return Err(ActError::Invalid("Cette délégation est déjà révoquée.".into()));
    }
    let mut next = demande.clone();
    let stopped = stop(&mut next, taken, now);
    let letter = letter(
        demande,
        site,
        passerelle_mail::DelegationChange::Revoked,
        editor,
        actor,
        now,
    )?;
    let detail = json!({
        "action": "revoke",
        "delegation": delegation.id,
        "editor": editor.id,
        "message": format!("Délégation à l'éditeur {} révoquée", editor.name),
    });
    let (_, change) = written(next, actor, now, EVENT, detail, vec![letter], stopped)?;
    let write = DelegationWrite::Revoke {
        id: delegation.id,
        by: actor.email.to_lowercase(),
        at: now,
    };
    Ok((change, write))
}

/// The name of an editor's delegated token.
pub fn token_label(editor: &Editor) -> String {
    format!("Jeton délégué à {}", editor.name)
}

/// A user of `editor` takes a delegated token through `delegation`: a token of the
/// editor's own with the habilitation's scopes, the main token's end and the limits the
/// instructor allowed. It replaces the delegation's earlier tokens (`taken`), which stop
/// at once: one delegated token answers per delegation.
pub fn take_token(
    demande: &Demande,
    main: &TokenRecord,
    delegation: &Delegation,
    editor: &Editor,
    taken: &[DelegatedToken],
    actor: &Agent,
    now: DateTime<Utc>,
) -> Result<(DemandeChange, DelegationWrite), ActError> {
    let users_editor = editor.sirets.contains(&actor.siret);
    let live = delegation.revoked_at.is_none() && delegation.demande_id == demande.id;
    if !users_editor || delegation.editor != editor.id || !live {
        return Err(Refusal::WrongRole { event: EVENT }.into());
    }
    if !in_force(demande, main, now) {
        return Err(ActError::Invalid(
            "L'habilitation n'a plus de jeton en vigueur : aucun jeton délégué ne peut naître.".into(),
        ));
    }
    // The instructor's allowance, not the client's own restrictions: the editor's
    // servers are not the client's.
    let allowance = demande
        .body
        .allowance
        .clone()
        .unwrap_or_else(|| crate::workflow::Allowance {
            rate_limit_per_minute: main.rate_limit_per_minute,
            allowed_ips: main.allowed_ips.clone(),
        });
    // A ban an operator set for later on the main token reaches this one too.
    let record = TokenRecord {
        jti: Uuid::new_v4(),
        issued_at: now,
        revoked_at: main.revoked_at,
        rate_limit_per_minute: allowance.rate_limit_per_minute,
        allowed_ips: allowance.allowed_ips,
        ..main.clone()
    };
    let mut next = demande.clone();
    let stopped = stop(&mut next, taken, now);
    next.body.delegated_tokens.push(record.jti);
    let token = DelegatedToken {
        jti: record.jti,
        delegation_id: delegation.id,
        label: token_label(editor),
        taken_by: actor.email.to_lowercase(),
        taken_at: now,
    };
    let detail = json!({
        "action": "take_token",
        "delegation": delegation.id,
        "editor": editor.id,
        "token": record.jti,
        "message": format!("Jeton délégué pris par l'éditeur {}", editor.name),
    });
    let (_, change) = written(next, actor, now, EVENT, detail, Vec::new(), stopped)?;
    Ok((change, DelegationWrite::Take { token, record }))
}

/// Stops the delegation's tokens that may still answer: they leave the demande's list,
/// and the change revokes them.
fn stop(next: &mut Demande, taken: &[DelegatedToken], now: DateTime<Utc>) -> Option<TokenChange> {
    let live: Vec<Uuid> = taken
        .iter()
        .map(|t| t.jti)
        .filter(|jti| next.body.delegated_tokens.contains(jti))
        .collect();
    next.body.delegated_tokens.retain(|jti| !live.contains(jti));
    let (first, rest) = live.split_first()?;
    Some(TokenChange::Revoke {
        jti: *first,
        at: now,
        also: rest.to_vec(),
    })
}

/// The letter that tells the applicant.
fn letter(
    demande: &Demande,
    site: &Site,
    change: passerelle_mail::DelegationChange,
    editor: &Editor,
    actor: &Agent,
    now: DateTime<Utc>,
) -> Result<OutboxItem, ActError> {
    let ctx = crate::workflow::mail_context(demande, site, None);
    let demandeur = crate::workflow::parties(demande, site).demandeur;
    let url = format!("{}/demandes/{}/delegations", site.base_url, demande.id);
    let letter = passerelle_mail::delegation_letter(&ctx, &demandeur, change, &editor.name, &actor.email, &url);
    let body = serde_json::to_string(&letter).map_err(|e| ActError::Invalid(e.to_string()))?;
    Ok(OutboxItem::new("mail", body, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::Forms;
    use crate::tokens::tests::approved;
    use crate::workflow::tests::{agent, site, TOWN};
    use crate::workflow::{act, Action};
    use chrono::Duration;

    const EDITOR_SIRET: &str = "90000000000011";

    fn editor() -> Editor {
        Editor {
            id: "restauscol".into(),
            name: "RestauScol".into(),
            sirets: vec![EDITOR_SIRET.into()],
        }
    }

    fn after(d: &Demande, change: &DemandeChange) -> Demande {
        let next = Demande::read(change.demande.clone()).unwrap();
        assert_eq!(next.version, d.version + 1);
        next
    }

    #[test]
    fn editors_are_checked_at_start() {
        assert!(Editors::new(vec![editor()]).is_ok());
        let bad_id = Editor {
            id: "Restau Scol".into(),
            ..editor()
        };
        let bad_siret = Editor {
            sirets: vec!["123".into()],
            ..editor()
        };
        let twin = Editor {
            id: "autre".into(),
            ..editor()
        };
        for list in [
            vec![bad_id],
            vec![bad_siret],
            vec![editor(), editor()],
            vec![editor(), twin],
        ] {
            assert!(Editors::new(list).is_err());
        }
        let editors = Editors::new(vec![editor()]).unwrap();
        assert_eq!(
            editors.of(&agent("lea@restauscol.example", EDITOR_SIRET)),
            Some(&editor())
        );
        assert_eq!(editors.of(&agent("camille@ville.example", TOWN)), None);
    }

    #[test]
    fn the_applicant_and_contacts_grant_once_and_others_never() {
        let now = Utc::now();
        let (d, main) = approved(now);
        let site = site();
        let (change, write) = grant(
            &d,
            &main,
            &editor(),
            &[],
            &agent("karim@ville.example", TOWN),
            &site,
            now,
        )
        .unwrap();
        let DelegationWrite::Grant(delegation) = write else {
            panic!("a grant")
        };
        assert_eq!(
            (delegation.editor.as_str(), delegation.granted_by.as_str()),
            ("restauscol", "karim@ville.example")
        );
        assert_eq!((change.event.kind.as_str(), change.token.clone()), (EVENT, None));
        let letter: passerelle_mail::Letter = serde_json::from_str(&change.outbox[0].body).unwrap();
        assert_eq!(letter.to[0].email, "camille@ville.example", "the applicant is told");

        let again = grant(
            &d,
            &main,
            &editor(),
            &[delegation],
            &agent("camille@ville.example", TOWN),
            &site,
            now,
        );
        assert!(matches!(again, Err(ActError::Invalid(_))));
        for stranger in [
            agent("someone@ville.example", TOWN),
            agent("nadia@numerique.example", "13002526500013"),
            agent("lea@restauscol.example", EDITOR_SIRET),
        ] {
            let refused = grant(&d, &main, &editor(), &[], &stranger, &site, now);
            assert!(matches!(refused, Err(ActError::Refused(_))), "{}", stranger.email);
        }
        let revoked = TokenRecord {
            revoked_at: Some(now),
            ..main.clone()
        };
        let camille = agent("camille@ville.example", TOWN);
        assert!(matches!(
            grant(&d, &revoked, &editor(), &[], &camille, &site, now),
            Err(ActError::Invalid(_))
        ));
    }

    #[test]
    fn a_delegated_token_taken_after_a_scheduled_ban_carries_it() {
        let now = Utc::now();
        let (d, main) = approved(now);
        let site = site();
        let camille = agent("camille@ville.example", TOWN);
        let lea = agent("lea@restauscol.example", EDITOR_SIRET);
        let (_, write) = grant(&d, &main, &editor(), &[], &camille, &site, now).unwrap();
        let DelegationWrite::Grant(delegation) = write else {
            panic!("a grant")
        };
        let at = now + Duration::days(3);
        let banned = TokenRecord {
            revoked_at: Some(at),
            ..main
        };
        let (_, write) = take_token(&d, &banned, &delegation, &editor(), &[], &lea, now).unwrap();
        let DelegationWrite::Take { record, .. } = write else {
            panic!("a token")
        };
        assert_eq!(record.revoked_at, Some(at), "it stops with the main token");
    }

    #[test]
    fn a_delegated_token_copies_the_rights_and_end_and_follows_the_habilitation() {
        let now = Utc::now();
        let (d, main) = approved(now);
        let site = site();
        let camille = agent("camille@ville.example", TOWN);
        let lea = agent("lea@restauscol.example", EDITOR_SIRET);
        let (_, write) = grant(&d, &main, &editor(), &[], &camille, &site, now).unwrap();
        let DelegationWrite::Grant(delegation) = write else {
            panic!("a grant")
        };
        let refused = take_token(&d, &main, &delegation, &editor(), &[], &camille, now);
        assert!(matches!(refused, Err(ActError::Refused(_))), "only the editor's users");

        let (change, write) = take_token(&d, &main, &delegation, &editor(), &[], &lea, now).unwrap();
        let DelegationWrite::Take { token, record } = write else {
            panic!("a token")
        };
        assert_ne!(record.jti, main.jti);
        assert_eq!(
            (&record.scopes, &record.bouquet, record.expires_at),
            (&main.scopes, &main.bouquet, main.expires_at)
        );
        assert_eq!(token.label, "Jeton délégué à RestauScol");
        assert!(change.token.is_none());
        let d = after(&d, &change);
        assert_eq!(d.body.delegated_tokens, [record.jti]);

        // A second one replaces the first at once.
        let (change, write) = take_token(
            &d,
            &main,
            &delegation,
            &editor(),
            std::slice::from_ref(&token),
            &lea,
            now,
        )
        .unwrap();
        assert!(
            matches!(change.token, Some(TokenChange::Revoke { jti, ref also, .. }) if jti == record.jti && also.is_empty())
        );
        let DelegationWrite::Take { token: second, .. } = write else {
            panic!("a token")
        };
        let d = after(&d, &change);
        assert_eq!(d.body.delegated_tokens, [second.jti]);

        // The habilitation's revocation reaches it.
        let forms = Forms::built_in(crate::known_scopes).unwrap();
        let form = forms.get("api-particulier-editeur-restauscol").unwrap();
        let nadia = agent("nadia@numerique.example", "13002526500013");
        let (_, revocation) = act(&d, form, &nadia, Action::Revoke("Fin".into()), &site, now).unwrap();
        assert!(matches!(revocation.token, Some(TokenChange::Revoke { ref also, .. }) if also.contains(&second.jti)));

        // So does the delegation's, and the token leaves the demande.
        let (change, write) = revoke(
            &d,
            &delegation,
            &editor(),
            &[second.clone(), token],
            &camille,
            &site,
            now,
        )
        .unwrap();
        assert!(
            matches!(change.token, Some(TokenChange::Revoke { jti, ref also, .. }) if jti == second.jti && also.is_empty())
        );
        assert!(matches!(write, DelegationWrite::Revoke { id, .. } if id == delegation.id));
        assert!(after(&d, &change).body.delegated_tokens.is_empty());
        let later = now + Duration::minutes(1);
        let ended = Delegation {
            revoked_at: Some(later),
            ..delegation
        };
        assert!(matches!(
            take_token(&d, &main, &ended, &editor(), &[], &lea, later),
            Err(ActError::Refused(_))
        ));
    }
}
