//! Where a call's answer comes from once it has passed every check: the data
//! providers (production: cache, in-flight lock, provider call, masks), or a book of
//! recorded answers (the sandbox). Each is one implementation of `Source`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::NaiveDate;
use passerelle_bouquet::{mask, Bouquet, Call, Endpoint, Extras, Fetched, Provider};
use passerelle_core::{codes, ApiError, Civility, Purpose, Query, Subcode};
use passerelle_documents::{unix_now, DocumentError, Documents, Linked};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::cache::ResponseCache;
use crate::caller::{Caller, CitizenCheck, Identity};
use crate::error::Errors;
use crate::france_connect;
use crate::inflight::InFlight;
use crate::record::Recorder;
use crate::telemetry;

/// A call that passed every check, with its parsed parameters.
pub struct Checked<'a> {
    pub endpoint: &'static Endpoint,
    pub version: u8,
    pub bouquet: &'a Bouquet,
    pub provider: &'a dyn Provider,
    pub caller: &'a Caller,
    pub civility: Option<Civility>,
    pub extras: Extras,
    pub purpose: Purpose,
    /// The query as sent.
    pub query: &'a Query,
    /// The call's identity for the cache: endpoint and parameters, never the caller.
    pub cache_key: String,
    pub no_cache: bool,
    /// What document links start with (`https://entreprise.example.fr`).
    pub public_base: String,
    pub request_id: &'a str,
    pub today: NaiveDate,
    /// On a legacy route: its operation id and the query as the caller sent it, which
    /// is what its recorded cases are keyed by.
    pub recorded_as: Option<(&'a str, &'a Query)>,
}

/// What a call is answered with: a provider's data, masked, for the gateway to wrap;
/// or a recorded answer served as is.
pub enum Answer {
    Fetched(Box<Fetched>),
    Recorded(Recording),
}

/// An answer served as recorded: its status and its whole body, unmasked.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    pub status: u16,
    pub body: Value,
}

#[async_trait]
pub trait Source: Send + Sync {
    /// What a FranceConnect token presented on `endpoint` stands for.
    async fn citizen(&self, endpoint: &Endpoint, token: &str) -> Result<CitizenCheck, Errors>;

    async fn answer(&self, call: &Checked<'_>, record: &Recorder) -> Result<Answer, Errors>;
}

/// Production: the providers, behind the response cache and the in-flight lock.
pub struct Providers {
    pub cache: ResponseCache,
    pub inflight: InFlight,
    pub france_connect: Arc<france_connect::Gate>,
    pub documents: Arc<Documents>,
    pub budget: Duration,
}

/// What the cache keeps: the answer, and the documents it links to with their absolute
/// expiry, so that each answer says the lifetime left.
#[derive(Deserialize)]
struct Cached {
    fetched: Fetched,
    #[serde(default)]
    documents: Vec<Linked>,
}

#[async_trait]
impl Source for Providers {
    async fn citizen(&self, endpoint: &Endpoint, token: &str) -> Result<CitizenCheck, Errors> {
        let checked = self.france_connect.check(endpoint.resource, token).await?;
        Ok(CitizenCheck {
            scopes: checked.scopes,
            identity: Identity::Checked(checked.civility),
        })
    }

    async fn answer(&self, call: &Checked<'_>, record: &Recorder) -> Result<Answer, Errors> {
        let cached = if call.no_cache {
            None
        } else {
            self.cache.get(&call.cache_key).await
        };
        let cached = cached.and_then(|(value, left)| Some((serde_json::from_value::<Cached>(value).ok()?, left)));
        let (mut fetched, documents) = match cached {
            Some((cached, left)) => {
                record.update(|r| r.cache_left = Some(left));
                (cached.fetched, cached.documents)
            }
            None => self.fetch_once(call, record).await?,
        };
        let now = unix_now();
        for document in &documents {
            document.write(&mut fetched.data, &call.public_base, now);
        }
        self.documents.proxied.write(
            &mut fetched,
            call.endpoint.provider.as_str(),
            call.provider,
            &call.public_base,
            now,
        );
        if let Some(route) = call.provider.download_route() {
            let provider = call.endpoint.provider.as_str();
            let caller = call.caller.upstream_id();
            (self.documents.deferred).write(&mut fetched, provider, route, &caller, &call.public_base, now);
        }
        mask::apply(&mut fetched.data, call.endpoint.masks, |s| call.caller.holds(s));
        Ok(Answer::Fetched(Box::new(fetched)))
    }
}

impl Providers {
    /// Calls the provider, unless the same caller already runs the same call (`00015`),
    /// stores the documents it fetched, and caches the answer (no longer than its
    /// documents live: a cached link never outlives its file).
    async fn fetch_once(&self, call: &Checked<'_>, record: &Recorder) -> Result<(Fetched, Vec<Linked>), ApiError> {
        let _running = self
            .inflight
            .try_acquire(format!("{}|{}", call.caller.lock_key(), call.cache_key))
            .await
            .ok_or_else(|| ApiError::gateway(codes::DUPLICATE_IN_FLIGHT))?;
        let caller = call.caller.upstream_id();
        let provider_call = Call {
            endpoint: call.endpoint,
            version: call.version,
            caller: &caller,
            civility: call.civility.as_ref(),
            extras: &call.extras,
            purpose: &call.purpose,
            request_id: call.request_id,
            today: call.today,
        };
        let asked = Instant::now();
        let fetched = self.fetch(call.provider, &provider_call).await;
        record.update(|r| r.upstream = asked.elapsed());
        let mut fetched = fetched?;
        let documents = self.store_documents(call.provider, &mut fetched).await?;
        let ttl = call
            .endpoint
            .cache
            .ttl_at(chrono::Utc::now().with_timezone(&chrono_tz::Europe::Paris))
            .map(|secs| lifetime_left(secs, &documents, unix_now()));
        if let (false, Some(secs @ 1..)) = (call.no_cache, ttl) {
            let value = json!({"fetched": &fetched, "documents": &documents});
            self.cache
                .put(call.cache_key.clone(), value, Duration::from_secs(secs))
                .await;
        }
        Ok((fetched, documents))
    }

    /// Checks and stores the documents the provider fetched; their links are written
    /// into `data` at each answer.
    async fn store_documents(&self, provider: &dyn Provider, fetched: &mut Fetched) -> Result<Vec<Linked>, ApiError> {
        let attachments = std::mem::take(&mut fetched.attachments);
        self.documents
            .attach(attachments, unix_now())
            .await
            .map_err(|e| document_error(e, provider))
    }

    async fn fetch(&self, provider: &dyn Provider, call: &Call<'_>) -> Result<Fetched, ApiError> {
        let asked = Instant::now();
        let (result, outcome) = match tokio::time::timeout(self.budget, provider.fetch(call)).await {
            Ok(Ok(fetched)) => (Ok(fetched), "ok"),
            Ok(Err(e)) => (Err(e), "error"),
            Err(_) => (Err(provider.info().error(Subcode::Timeout)), "timeout"),
        };
        telemetry::upstream(call.endpoint.provider.as_str(), outcome, asked.elapsed());
        result
    }
}

/// The endpoint's cache lifetime, cut to the shortest-lived document's.
fn lifetime_left(endpoint_secs: u64, documents: &[Linked], now: u64) -> u64 {
    documents
        .iter()
        .map(|d| d.expires_at.saturating_sub(now))
        .fold(endpoint_secs, u64::min)
}

/// A bad document is the provider's fault (`XX055`, `XX056`); a store that fails is
/// the gateway's (`00502`).
pub(crate) fn document_error(error: DocumentError, provider: &dyn Provider) -> ApiError {
    match error {
        DocumentError::Empty => provider.info().error(Subcode::EmptyFile),
        DocumentError::WrongType(_) => provider.info().error(Subcode::WrongFileType),
        DocumentError::Storage(_) | DocumentError::Settings(_) => {
            tracing::error!(error = %error, "document store unreachable");
            ApiError::gateway(codes::STORAGE_UNREACHABLE)
        }
    }
}

/// A book of recorded answers, as the sandbox keeps them.
pub trait Recorded: Send + Sync {
    /// The recorded answer to a valid call of `operation_id`; `query` is the path's
    /// parameters and the query string as sent (`recipient` included), plus a
    /// FranceConnect caller's identity. A book may check parameters itself (every
    /// error at once) when no record matches.
    fn answer(&self, endpoint: &Endpoint, operation_id: &str, query: &Query) -> Result<Recording, Errors>;

    /// The person behind a FranceConnect access token (`50002` when unknown).
    fn france_connect(&self, token: &str) -> Result<FranceConnectUser, ApiError>;
}

/// A FranceConnect access token as a recorded source knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FranceConnectUser {
    /// The identity as v3 query parameters (`nomNaissance`, `prenoms`, …).
    pub identity: Vec<(String, String)>,
    pub scopes: Vec<String>,
}

/// The sandbox: every check runs, then the recorded answer is served.
pub struct RecordedSource {
    pub book: Arc<dyn Recorded>,
    /// Asked about the FranceConnect tokens the book does not hold, when set: the
    /// official cases' identities that no mock has are reached through FranceConnect's
    /// test accounts (here, the simulator's citizens).
    pub france_connect: Option<Arc<france_connect::Gate>>,
}

#[async_trait]
impl Source for RecordedSource {
    async fn citizen(&self, endpoint: &Endpoint, token: &str) -> Result<CitizenCheck, Errors> {
        let user = match (self.book.france_connect(token), &self.france_connect) {
            (Err(unknown), Some(gate)) if unknown.code == codes::FC_TOKEN_UNKNOWN.code => {
                let checked = gate.check(endpoint.resource, token).await?;
                FranceConnectUser {
                    identity: recorded_identity(&checked.civility),
                    scopes: checked.scopes.into_iter().collect(),
                }
            }
            (user, _) => user?,
        };
        Ok(CitizenCheck {
            scopes: user.scopes.into_iter().collect(),
            identity: Identity::Recorded(user.identity),
        })
    }

    async fn answer(&self, call: &Checked<'_>, _record: &Recorder) -> Result<Answer, Errors> {
        let (operation_id, sent) = match call.recorded_as {
            Some((operation_id, sent)) => (operation_id.to_string(), sent),
            None => (call.bouquet.operation_id(call.endpoint, call.version), call.query),
        };
        let mut pairs = sent.pairs().to_vec();
        if let Caller::Citizen(citizen) = call.caller {
            if let Identity::Recorded(identity) = &citizen.identity {
                pairs.extend(identity.iter().cloned());
            }
        }
        let recording = self.book.answer(call.endpoint, &operation_id, &Query::new(pairs))?;
        Ok(Answer::Recorded(recording))
    }
}

/// A checked identity as the v3 identity parameters the case folders record.
fn recorded_identity(civility: &Civility) -> Vec<(String, String)> {
    let date = &civility.naissance;
    let pairs = [
        ("nomNaissance", Some(civility.nom_naissance.clone())),
        ("prenoms", Some(civility.prenoms.join(" "))),
        ("anneeDateNaissance", date.annee.map(|v| v.to_string())),
        ("moisDateNaissance", date.mois.map(|v| v.to_string())),
        ("jourDateNaissance", date.jour.map(|v| v.to_string())),
        ("sexeEtatCivil", civility.sexe.map(|s| s.as_str().to_string())),
        ("codeCogInseeCommuneNaissance", civility.code_commune_naissance.clone()),
        ("codeCogInseePaysNaissance", Some(civility.code_pays_naissance.clone())),
    ];
    pairs
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_string(), v?)))
        .collect()
}
