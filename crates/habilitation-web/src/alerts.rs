//! The alerts of a habilitation's tokens (`/habilitation/demandes/{id}/alertes`): which
//! kinds go out by e-mail and by webhook (each may be turned off), the webhook's URL
//! and signing secret, and the recent alerts. The applicant and the technical contact
//! change them and read the URL and the secret; everyone else who sees the demande
//! reads the choices only (an admin seeing the site as one of them included).
//! Also the addresses each token calls from, for the tokens page.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use passerelle_alerts::{opt_out, wanted, Channel, Kind};
use passerelle_habilitation::workflow::Demande;
use passerelle_store::{AlertSettings, TokenRecord};
use uuid::Uuid;

use crate::pages::{html, load, logged_in, posted, who, Fault, Shown};
use crate::views::{paris, Who};
use crate::{App, BASE};

/// Alerts listed on the page.
const RECENT: u32 = 50;
/// Addresses listed per token.
const ADDRESSES: u32 = 50;
/// The longest webhook URL taken.
const MAX_URL: usize = 500;

#[derive(Template)]
#[template(path = "alertes.html")]
pub struct AlertsPage {
    base: &'static str,
    who: Option<Who>,
    id: Uuid,
    number: i64,
    title: String,
    /// The applicant or the technical contact: the form is theirs.
    manages: bool,
    kinds: Vec<KindRow>,
    /// Shown to those who manage only, never while impersonated (a URL often holds
    /// a secret of its own); others read whether there is one.
    webhook_url: Option<String>,
    webhook_set: bool,
    /// The same.
    secret: Option<String>,
    recent: Vec<AlertRow>,
    done: Option<&'static str>,
}

pub struct KindRow {
    key: &'static str,
    label: &'static str,
    mail: bool,
    webhook: bool,
}

pub struct AlertRow {
    at: String,
    kind: &'static str,
    token: String,
    detail: String,
}

/// One address a token called from, for the tokens page.
pub struct AddressRow {
    pub token: String,
    pub address: String,
    pub first_seen: String,
    pub last_seen: String,
    pub calls: i64,
}

/// `GET …/alertes`.
pub async fn alerts_page(
    State(app): State<Arc<App>>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Query(done): Query<Shown>,
) -> Result<Response, Fault> {
    let session = logged_in(&app, &headers).await?;
    let (demande, _) = load(&app, id, &session).await?;
    with_token(&demande)?;
    let agent = session.agent.as_ref().expect("logged in");
    let manages = demande.may_see_token(agent, &app.site.staff);
    // An admin seeing the site as one of them reads no secret, as no token.
    let reads_secrets = manages && session.impersonator().is_none();
    let settings = app.store.alert_settings(id).await.map_err(Fault::internal)?;
    let recent = app
        .store
        .alerts_of(id, RECENT)
        .await
        .map_err(Fault::internal)?
        .into_iter()
        .map(|a| AlertRow {
            at: paris(a.at),
            kind: Kind::parse(&a.kind).map(Kind::label).unwrap_or("Alerte"),
            token: demande.token_label(a.jti),
            detail: a.detail,
        })
        .collect();
    let kinds = Kind::ALL
        .into_iter()
        .map(|kind| KindRow {
            key: kind.key(),
            label: kind.label(),
            mail: wanted(settings.as_ref(), Channel::Mail, kind),
            webhook: wanted(settings.as_ref(), Channel::Webhook, kind),
        })
        .collect();
    let page = AlertsPage {
        base: BASE,
        who: who(&app, Some(&session)),
        id,
        number: demande.number,
        title: demande.title().to_string(),
        manages,
        kinds,
        webhook_url: settings
            .as_ref()
            .and_then(|s| s.webhook_url.clone())
            .filter(|_| reads_secrets),
        webhook_set: settings.as_ref().is_some_and(|s| s.webhook_url.is_some()),
        secret: settings.and_then(|s| s.webhook_secret).filter(|_| reads_secrets),
        recent,
        done: done.fait.as_deref().and_then(done_message),
    };
    Ok(html(StatusCode::OK, page))
}

fn done_message(what: &str) -> Option<&'static str> {
    Some(match what {
        "enregistre" => "Vos choix d'alertes sont enregistrés.",
        "secret" => "Un nouveau secret signe désormais les webhooks : mettez à jour votre récepteur.",
        _ => return None,
    })
}

/// `POST …/alertes`: `quoi=enregistrer` (a `mail_<kind>` and `webhook_<kind>` box
/// per kind, checked to receive it, and `webhook`), or `quoi=secret` (a new secret).
pub async fn save_alerts(
    State(app): State<Arc<App>>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Fault> {
    let (session, sent, demande, _) = posted(&app, id, &headers, &body).await?;
    with_token(&demande)?;
    let agent = session.agent.as_ref().expect("logged in");
    if !demande.may_see_token(agent, &app.site.staff) {
        return Err(Fault::forbidden(
            "Seuls le demandeur et le contact technique choisissent les alertes ; demandez-le-leur.",
        ));
    }
    let kept = app.store.alert_settings(id).await.map_err(Fault::internal)?;
    let what = sent.one("quoi");
    let settings = match what.as_str() {
        "enregistrer" => {
            let mut opt_outs = Vec::new();
            for kind in Kind::ALL {
                for channel in Channel::ALL {
                    if sent.one(&format!("{}_{}", channel.key(), kind.key())) != "oui" {
                        opt_outs.push(opt_out(channel, kind));
                    }
                }
            }
            let webhook_url = webhook_url(&sent.one("webhook"), app.allow_loopback_webhooks)?;
            // A receiver gets its secret with its first URL, and keeps it.
            let secret = kept.as_ref().and_then(|s| s.webhook_secret.clone());
            let webhook_secret = webhook_url.as_ref().map(|_| secret.unwrap_or_else(new_secret));
            AlertSettings {
                demande_id: id,
                opt_outs,
                webhook_url,
                webhook_secret,
                updated_at: Utc::now(),
                updated_by: agent.email.clone(),
            }
        }
        "secret" => {
            let Some(mut settings) = kept.filter(|s| s.webhook_url.is_some()) else {
                return Err(Fault::bad(
                    "Pas de webhook",
                    "Enregistrez d'abord l'adresse du webhook : son secret naît avec elle.",
                ));
            };
            settings.webhook_secret = Some(new_secret());
            settings.updated_at = Utc::now();
            settings.updated_by = agent.email.clone();
            settings
        }
        _ => return Err(Fault::bad("Action inconnue", "Cette action n'existe pas.")),
    };
    app.store.put_alert_settings(&settings).await.map_err(Fault::internal)?;
    tracing::info!(demande = %id, action = %what, "a habilitation's alert settings changed");
    let done = if what == "secret" { "secret" } else { "enregistre" };
    Ok(Redirect::to(&format!("{BASE}/demandes/{id}/alertes?fait={done}")).into_response())
}

/// The webhook's URL: empty (none), `https://…` to a server that is not on a
/// private, loopback or link-local address, or, where the configuration allows it
/// (tests and the demo, on the same machine), `http://127.0.0.1…`. The outbox checks
/// the address again at delivery, after resolving the name.
fn webhook_url(text: &str, loopback: bool) -> Result<Option<String>, Fault> {
    if text.is_empty() {
        return Ok(None);
    }
    let refused = |why: &str| Fault::bad("Adresse du webhook invalide", why);
    if text.len() > MAX_URL {
        return Err(refused("L'adresse du webhook tient en 500 caractères au plus."));
    }
    let url = reqwest::Url::parse(text).map_err(|_| refused("L'adresse du webhook n'est pas une URL."))?;
    let local = loopback && url.scheme() == "http" && url.host_str() == Some("127.0.0.1");
    if url.scheme() != "https" && !local {
        return Err(refused(
            "L'adresse du webhook commence par https:// : les alertes ne circulent que chiffrées.",
        ));
    }
    if url.host_str().is_none_or(str::is_empty) || !url.username().is_empty() || url.password().is_some() {
        return Err(refused(
            "L'adresse du webhook nomme un serveur, sans identifiant ni mot de passe.",
        ));
    }
    if inside(&url, loopback) {
        return Err(refused(
            "L'adresse du webhook désigne un réseau privé ou local : les alertes ne partent que vers un serveur public.",
        ));
    }
    Ok(Some(url.to_string()))
}

/// Whether `url` names this machine or a private or link-local network, as an
/// address or as `localhost`.
fn inside(url: &reqwest::Url, loopback: bool) -> bool {
    let host = url.host_str().unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse() {
        Ok(ip) => passerelle_outbox::forbidden(ip, loopback),
        Err(_) => {
            let host = bare.trim_end_matches('.').to_ascii_lowercase();
            host == "localhost" || host.ends_with(".localhost")
        }
    }
}

fn new_secret() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// Alerts are about tokens: a demande without one has none.
fn with_token(demande: &Demande) -> Result<(), Fault> {
    match demande.body.token {
        Some(_) => Ok(()),
        None => Err(Fault::bad(
            "Pas de jeton",
            "Cette demande n'a pas encore de jeton : ses alertes naissent avec lui, à la validation.",
        )),
    }
}

/// The addresses `tokens` called from, each token's most recent first.
pub(crate) async fn addresses_of(
    app: &App,
    demande: &Demande,
    tokens: &[&TokenRecord],
) -> Result<Vec<AddressRow>, Fault> {
    let mut rows = Vec::new();
    for token in tokens {
        let seen = app
            .store
            .token_addresses(token.jti, ADDRESSES)
            .await
            .map_err(Fault::internal)?;
        rows.extend(seen.into_iter().map(|a| AddressRow {
            token: demande.token_label(token.jti),
            address: a.address,
            first_seen: paris(a.first_seen),
            last_seen: paris(a.last_seen),
            calls: a.calls,
        }));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhooks_go_over_https_to_public_servers_or_to_this_machine_where_allowed() {
        let ok = |u: &str, loopback| webhook_url(u, loopback).ok().flatten();
        assert_eq!(
            ok("https://hooks.example/alertes", false).as_deref(),
            Some("https://hooks.example/alertes")
        );
        assert_eq!(
            ok("http://127.0.0.1:8099/hook", true).as_deref(),
            Some("http://127.0.0.1:8099/hook")
        );
        assert_eq!(webhook_url("", false).ok(), Some(None));
        for refused in [
            "http://hooks.example/alertes",
            "http://127.0.0.2/hook",
            "ftp://hooks.example/",
            "https://user:pw@hooks.example/",
            "pas une adresse",
            "javascript:alert(1)",
            "https://10.0.0.1/hook",
            "https://169.254.169.254/latest",
            "https://[fd00::1]/hook",
            "https://localhost/hook",
        ] {
            assert!(webhook_url(refused, true).is_err(), "{refused}");
        }
        // In production, not even this machine.
        for refused in [
            "http://127.0.0.1:8099/hook",
            "https://127.0.0.1/hook",
            "https://2130706433/hook",
            "https://[::1]/hook",
        ] {
            assert!(webhook_url(refused, false).is_err(), "{refused}");
        }
        assert!(webhook_url(&format!("https://hooks.example/{}", "a".repeat(500)), false).is_err());
    }
}
