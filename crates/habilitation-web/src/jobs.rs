//! The site's background work: the outbox dispatcher (e-mails over SMTP, or kept for
//! the admins' page when no server is configured; integrators' webhooks) and the
//! hourly job that queues tokens' expiry notices and drops expired sessions.

use std::sync::Arc;
use std::time::Duration;

use passerelle_gateway::config::{HabilitationConfig, SmtpConfig};
use passerelle_habilitation::workflow::Site;
use passerelle_mail::{Address, SmtpMailer, SmtpSettings, TlsMode};
use passerelle_outbox::{Dispatcher, MailRoute, WebhookRoute};
use passerelle_store::Store;
use passerelle_webhooks::outgoing::Deliverer;

const EXPIRY_EVERY: Duration = Duration::from_secs(3600);

/// Starts the dispatcher and the expiry job; they run as long as the process.
pub fn spawn(config: &HabilitationConfig, store: Arc<dyn Store>, site: Site) -> anyhow::Result<()> {
    let dispatcher = Dispatcher::new(store.clone(), mail_route(config)?, webhook_route(config)?);
    let every = Duration::from_millis(config.dispatch_every_ms.max(10));
    tokio::spawn(dispatcher.run(every, std::future::pending()));
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(EXPIRY_EVERY);
        loop {
            ticks.tick().await;
            let now = chrono::Utc::now();
            match passerelle_outbox::queue_expiry_notices(store.as_ref(), &site, now).await {
                Ok(0) => {}
                Ok(queued) => tracing::info!(queued, "expiry notices queued"),
                Err(e) => tracing::warn!(error = format!("{e:#}"), "the expiry job failed; the next run retries"),
            }
            // Every login start leaves a session; the expired ones go.
            if let Err(e) = store.purge_sessions(now).await {
                tracing::warn!(
                    error = format!("{e:#}"),
                    "expired sessions were not purged; the next run retries"
                );
            }
        }
    });
    Ok(())
}

fn mail_route(config: &HabilitationConfig) -> anyhow::Result<MailRoute> {
    let Some(smtp) = &config.smtp else {
        return Ok(MailRoute::Kept);
    };
    Ok(MailRoute::Smtp(Arc::new(SmtpMailer::new(smtp_settings(smtp)?)?)))
}

fn smtp_settings(smtp: &SmtpConfig) -> anyhow::Result<SmtpSettings> {
    let tls = match smtp.tls.as_str() {
        "none" => TlsMode::None,
        "starttls" => TlsMode::StartTls,
        "tls" => TlsMode::Tls,
        other => anyhow::bail!("habilitation.smtp.tls must be none, starttls or tls, not {other:?}"),
    };
    Ok(SmtpSettings {
        host: smtp.host.clone(),
        port: smtp.port,
        tls,
        username: smtp.username.clone(),
        password: smtp.password.clone(),
        from: Address::new(smtp.from_name.clone(), smtp.from_email.clone()),
        timeout: Duration::from_secs(smtp.timeout_secs.max(1)),
    })
}

fn webhook_route(config: &HabilitationConfig) -> anyhow::Result<WebhookRoute> {
    let mut route = WebhookRoute::new(Deliverer::new()?).with_loopback(config.alerts.allow_loopback_webhooks);
    for hook in &config.webhooks {
        let secrets = hook.secrets.iter().map(|s| s.as_bytes().to_vec()).collect();
        route = route.with_target(&hook.name, &hook.url, secrets)?;
    }
    Ok(route)
}
