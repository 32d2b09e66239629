//! The portal's alerts about a habilitation's tokens, for its applicant and technical
//! contact, by e-mail and by signed webhook, each kind and channel with an opt-out:
//!
//! - [`Kind::Spike`]: a spike of refused calls (401, 403, 429), read from the usage
//!   rollups, never from the journal ([`spike`]);
//! - [`Kind::NewAddress`]: the first call of a token from an address it never used,
//!   past its first day and the first day the gateway saw it call (the addresses come
//!   from the gateway's `token_addresses`, never from the journal);
//! - [`Kind::Unused`]: a token issued more than 60 days ago with no call in 60 days,
//!   once until it is used again.
//!
//! The job ([`spawn`], one per store, on every replica) raises each alert once: the
//! store takes a mark per token and kind in the transaction that records the alert and
//! enqueues its letters and webhook (`AlertStore::raise_alert`); a replica that finds
//! the mark taken writes nothing. The outbox's dispatcher sends them: letters over
//! SMTP, webhooks signed like every Passerelle webhook (`Passerelle-Signature`), with
//! the secret the habilitation's holders read on the settings page.

mod job;
pub mod spike;

pub use job::{run_once, spawn, AlertJob};

use passerelle_store::AlertSettings;

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Spike,
    NewAddress,
    Unused,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Spike, Kind::NewAddress, Kind::Unused];

    /// As stored, in opt-outs and in webhook events (`alert.spike`…).
    pub fn key(self) -> &'static str {
        match self {
            Kind::Spike => "spike",
            Kind::NewAddress => "new_address",
            Kind::Unused => "unused",
        }
    }

    pub fn parse(key: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.key() == key)
    }

    /// As the pages say it.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Spike => "Pic d'appels refusés (401, 403, 429)",
            Kind::NewAddress => "Appel depuis une nouvelle adresse",
            Kind::Unused => "Jeton inutilisé",
        }
    }
}

/// How an alert travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Mail,
    Webhook,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Mail, Channel::Webhook];

    pub fn key(self) -> &'static str {
        match self {
            Channel::Mail => "mail",
            Channel::Webhook => "webhook",
        }
    }
}

/// The opt-out of `kind` on `channel`, as `AlertSettings::opt_outs` holds it.
pub fn opt_out(channel: Channel, kind: Kind) -> String {
    format!("{}:{}", channel.key(), kind.key())
}

/// Whether `kind` goes out on `channel` (everything does until someone opts out).
pub fn wanted(settings: Option<&AlertSettings>, channel: Channel, kind: Kind) -> bool {
    let key = opt_out(channel, kind);
    !settings.is_some_and(|s| s.opt_outs.contains(&key))
}

/// The thresholds (`[habilitation.alerts]`; see `docs/portal.md`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    /// A spike needs at least this many refused calls in its window.
    pub spike_min_calls: u64,
    /// … and more than this many times the token's usual refusals an hour.
    pub spike_factor: f64,
    /// After a spike alert, none for the same token for this many hours.
    pub spike_quiet_hours: i64,
    /// A token unused this many days (and issued before) is reported.
    pub unused_days: i64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            spike_min_calls: 50,
            spike_factor: 10.0,
            spike_quiet_hours: 6,
            unused_days: 60,
        }
    }
}
