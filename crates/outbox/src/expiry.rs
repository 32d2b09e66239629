//! The token expiry notices, queued by a daily job.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Europe::Paris;
use passerelle_habilitation::workflow::{self, mail_context, Demande, Site};
use passerelle_habilitation::State;
use passerelle_mail::{due_notice, letters, Address, Letter, Lifecycle, Parties};
use passerelle_store::{OutboxItem, Store, TokenRecord};

const BOUQUETS: [&str; 2] = ["particulier", "entreprise"];

/// Queues the expiry notice due at `now` for the token of every habilitation in
/// force; returns how many letters were queued.
///
/// A token expiring in `days_left` days (Paris calendar days) gets the notice of
/// the nearest threshold of `EXPIRY_NOTICE_DAYS` at or above it, if any: one letter
/// to the applicant, one to the technical contact (one only when they are the same
/// person). Each letter is keyed on the token, its expiry date, the threshold and its
/// recipient, so that a notice is recorded per recipient and never queued twice, a
/// prolongation starts the schedule again, and a job that was down queues only the
/// nearest notice, never the ones it missed. Revoked tokens, and tokens expired for
/// more than a day, get nothing.
pub async fn queue_expiry_notices(store: &dyn Store, site: &Site, now: DateTime<Utc>) -> anyhow::Result<u64> {
    let mut queued = 0;
    for bouquet in BOUQUETS {
        for record in store.demandes_in(bouquet).await? {
            let id = record.id;
            let demande = match Demande::read(record) {
                Ok(demande) => demande,
                Err(e) => {
                    // One broken demande must not stop the notices of the others.
                    tracing::warn!(demande = %id, error = %e, "demande unreadable, no expiry notice");
                    continue;
                }
            };
            let Some(jti) = demande.body.token.filter(|_| in_force(&demande)) else {
                continue;
            };
            let Some(token) = store.token(jti).await? else {
                continue;
            };
            let items = notices(&demande, &token, site, now)?;
            if !items.is_empty() {
                queued += store.enqueue(&items).await?;
            }
        }
    }
    Ok(queued)
}

/// Validated, or being reopened: a reopening keeps the token until its approval
/// prolongs it, and it may never come.
fn in_force(demande: &Demande) -> bool {
    demande.standing.state == State::Validated || demande.standing.reopening
}

fn notices(demande: &Demande, token: &TokenRecord, site: &Site, now: DateTime<Utc>) -> anyhow::Result<Vec<OutboxItem>> {
    if token.revoked_at.is_some() || now > token.expires_at + TimeDelta::days(1) {
        return Ok(Vec::new());
    }
    let expires_on = paris_date(token.expires_at);
    let days_left = (expires_on - paris_date(now)).num_days();
    // Nothing sent assumed: the keys below drop what was.
    let Some(threshold) = due_notice(days_left, &[]) else {
        return Ok(Vec::new());
    };
    let key = format!("expiry:{}:{expires_on}:{threshold}", token.jti);
    let notice = Lifecycle::ExpiryNotice { days_left };
    let ctx = mail_context(demande, site, Some(expires_on));
    letters(&notice, &parties(demande, site), &ctx)
        .iter()
        .flat_map(Letter::each_recipient)
        .map(|letter| item(&letter, &key, now))
        .collect()
}

fn item(letter: &Letter, key: &str, now: DateTime<Utc>) -> anyhow::Result<OutboxItem> {
    let recipient = letter.to.first().map(Address::key).unwrap_or_default();
    let mut item = OutboxItem::new("mail", serde_json::to_string(letter)?, now);
    item.dedup = Some(format!("{key}:{recipient}"));
    Ok(item)
}

fn paris_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Paris).date_naive()
}

/// The notice goes to the applicant and the technical contact only.
fn parties(demande: &Demande, site: &Site) -> Parties {
    Parties {
        metier: None,
        dpo: None,
        responsable_traitement: None,
        instructors: Vec::new(),
        reporters: Vec::new(),
        ..workflow::parties(demande, site)
    }
}
