//! The token expiry notices, queued by a daily job.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Europe::Paris;
use passerelle_habilitation::workflow::{bouquet_label, Demande, Site};
use passerelle_habilitation::{ContactKind, Content, State};
use passerelle_mail::{due_notice, letters, Address, Bouquet, Context, Letter, Lifecycle, Parties};
use passerelle_store::{OutboxItem, Store, TokenRecord};

const BOUQUETS: [&str; 2] = ["particulier", "entreprise"];

/// Queues the expiry notice due at `now` for the token of every habilitation in
/// force; returns how many letters were queued.
///
/// A token expiring in `days_left` days (Paris calendar days) gets the notice of
/// the nearest threshold of `EXPIRY_NOTICE_DAYS` at or above it, if any, written to
/// the applicant with the technical contact. Each letter is keyed on the token, its
/// expiry date, the threshold and the recipients, so that a notice is never queued
/// twice, a prolongation starts the schedule again, and a job that was down queues
/// only the nearest notice, never the ones it missed. Revoked tokens, and tokens
/// expired for more than a day, get nothing.
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
    letters(&notice, &parties(demande), &context(demande, site, expires_on))
        .iter()
        .map(|letter| item(letter, &key, now))
        .collect()
}

fn item(letter: &Letter, key: &str, now: DateTime<Utc>) -> anyhow::Result<OutboxItem> {
    let mut recipients: Vec<String> = letter.recipients().map(Address::key).collect();
    recipients.sort();
    let mut item = OutboxItem::new("mail", serde_json::to_string(letter)?, now);
    item.dedup = Some(format!("{key}:{}", recipients.join(",")));
    Ok(item)
}

fn paris_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Paris).date_naive()
}

/// The notice goes to the applicant and the technical contact only.
fn parties(demande: &Demande) -> Parties {
    let applicant = &demande.body.applicant;
    Parties {
        demandeur: Address::new(applicant.name(), applicant.email.clone()),
        technique: contact(&demande.body.content, ContactKind::ContactTechnique),
        metier: None,
        dpo: None,
        responsable_traitement: None,
        instructors: Vec::new(),
        reporters: Vec::new(),
    }
}

fn contact(content: &Content, kind: ContactKind) -> Option<Address> {
    let email = content.contact_email(kind)?;
    let part = |name: &str| content.field(&format!("{}_{name}", kind.key())).trim().to_owned();
    let name = format!("{} {}", part("given_name"), part("family_name"));
    Some(Address::new(name.trim(), email))
}

fn context(demande: &Demande, site: &Site, expires_on: NaiveDate) -> Context {
    let demande_url = format!("{}/demandes/{}", site.base_url, demande.id);
    Context {
        bouquet_label: bouquet_label(&demande.bouquet).into(),
        bouquet: match demande.bouquet.as_str() {
            "entreprise" => Bouquet::Entreprise,
            _ => Bouquet::Particulier,
        },
        demande_title: demande.title().into(),
        demande_number: u64::try_from(demande.number).unwrap_or(0),
        token_url: format!("{demande_url}/jeton"),
        demande_url,
        portal_url: site.base_url.clone(),
        expires_on: Some(expires_on),
    }
}
