//! An operator's audit notice: calls made with a habilitation's tokens that do not fit
//! its purpose. An admin names them by request id (the server has checked each is a
//! call of this habilitation's tokens); the letters to its applicant and contacts and
//! the history event are written with the demande, in one commit.

use chrono::{DateTime, Utc};
use passerelle_mail::{audit_notice_letters, AuditNotice, AuditedCall};
use passerelle_store::{DemandeChange, OutboxItem};
use serde_json::json;

use crate::state::Refusal;
use crate::tokens::written;
use crate::workflow::{mail_context, parties, ActError, Agent, Demande, Site, MAX_TEXT};

/// The history event of a notice.
pub const EVENT: &str = "audit";
/// The most request ids one notice names.
pub const MAX_REQUEST_IDS: usize = 500;
/// The longest estimated volume, in characters.
pub const MAX_VOLUME: usize = 200;

/// What the admin sends: why, how much, and the calls found (each a call of one of the
/// habilitation's tokens).
pub struct Notice<'a> {
    pub reason: &'a str,
    pub volume: &'a str,
    pub calls: &'a [AuditedCall],
}

/// The notice `actor` sends about `demande`: refused, or what it writes.
pub fn notify(
    demande: &Demande,
    actor: &Agent,
    notice: &Notice,
    site: &Site,
    now: DateTime<Utc>,
) -> Result<(Demande, DemandeChange), ActError> {
    if !site.staff.is_admin(actor) {
        return Err(Refusal::WrongRole { event: EVENT }.into());
    }
    if demande.body.token.is_none() {
        return Err(ActError::Invalid(
            "Cette demande n'a jamais eu de jeton : aucun appel à signaler.".into(),
        ));
    }
    let (reason, volume) = (notice.reason.trim(), notice.volume.trim());
    if reason.is_empty() || reason.chars().count() > MAX_TEXT {
        return Err(ActError::Invalid(format!(
            "Le motif est obligatoire et compte au plus {MAX_TEXT} caractères."
        )));
    }
    if volume.is_empty() || volume.chars().count() > MAX_VOLUME {
        return Err(ActError::Invalid(format!(
            "Le volume estimé est obligatoire et compte au plus {MAX_VOLUME} caractères."
        )));
    }
    if notice.calls.is_empty() || notice.calls.len() > MAX_REQUEST_IDS {
        return Err(ActError::Invalid(format!(
            "Un avis nomme de 1 à {MAX_REQUEST_IDS} appels."
        )));
    }
    let letters = audit_notice_letters(
        &mail_context(demande, site, None),
        &parties(demande, site),
        &AuditNotice {
            reason,
            volume,
            calls: notice.calls,
        },
    );
    let outbox = letters
        .iter()
        .map(|letter| {
            let body = serde_json::to_string(letter).map_err(|e| ActError::Invalid(e.to_string()))?;
            Ok(OutboxItem::new("mail", body, now))
        })
        .collect::<Result<Vec<_>, ActError>>()?;
    let request_ids: Vec<&str> = notice.calls.iter().map(|c| c.request_id.as_str()).collect();
    let detail = json!({
        "reason": reason,
        "volume": volume,
        "request_ids": request_ids,
        "recipients": letters.iter().flat_map(|l| l.to.iter().map(|a| a.email.to_lowercase())).collect::<Vec<_>>(),
    });
    written(demande.clone(), actor, now, EVENT, detail, outbox, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::tests::approved;
    use crate::workflow::tests::{agent, site};

    fn calls(now: DateTime<Utc>) -> Vec<AuditedCall> {
        vec![AuditedCall {
            request_id: "req-1".into(),
            endpoint: "/v3/dss/quotient_familial/identite".into(),
            at: now,
        }]
    }

    #[test]
    fn an_admin_sends_it_with_its_letters_and_event_in_one_change() {
        let now = Utc::now();
        let (d, _) = approved(now);
        let elise = agent("elise@numerique.example", "13002526500013");
        let calls = calls(now);
        let notice = Notice {
            reason: "Hors cantine",
            volume: "300 par jour",
            calls: &calls,
        };
        let (next, change) = notify(&d, &elise, &notice, &site(), now).unwrap();
        assert_eq!(next.version, d.version + 1);
        assert_eq!(change.event.kind, EVENT);
        assert!(change.event.body.contains("req-1"));
        // Camille, and Karim who is every contact of the test's demande: one letter each.
        assert_eq!(change.outbox.len(), 2);
        assert!(change.token.is_none());
    }

    #[test]
    fn no_one_but_an_admin_and_never_without_reason_volume_or_calls() {
        let now = Utc::now();
        let (d, _) = approved(now);
        let calls = calls(now);
        let notice = |reason, volume, calls| Notice { reason, volume, calls };
        let nadia = agent("nadia@numerique.example", "13002526500013");
        let refused = notify(&d, &nadia, &notice("Hors cantine", "300", &calls), &site(), now);
        assert!(
            matches!(refused, Err(ActError::Refused(_))),
            "an instructor is no admin"
        );
        let elise = agent("elise@numerique.example", "13002526500013");
        for bad in [
            notice(" ", "300", &calls),
            notice("Motif", "", &calls),
            notice("Motif", "300", &[]),
        ] {
            assert!(matches!(
                notify(&d, &elise, &bad, &site(), now),
                Err(ActError::Invalid(_))
            ));
        }
    }
}
