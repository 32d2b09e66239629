//! A bouquet's call, once the outer layers have recorded, identified and throttled it:
//! scopes, purpose parameters, the endpoint's parameters, maintenance, then the source.

use std::borrow::Cow;
use std::sync::Arc;

use axum::extract::{Extension, FromRequestParts, RawPathParams, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{NaiveDate, Utc};
use chrono_tz::Europe::Paris;
use passerelle_bouquet::{Endpoint, Extras, Provider};
use passerelle_core::{codes, ApiError, Civility, KeyedIdentity, PersonKey, Query};
use serde_json::json;
use sha2::{Digest, Sha512};

use super::request_id::RequestId;
use crate::caller::{Caller, Identity};
use crate::error::{Errors, JSON_API};
use crate::maintenance;
use crate::record::{Matched, Recorder};
use crate::source::{Answer, Checked, Recording};
use crate::Served;

pub async fn call(
    State(served): State<Arc<Served>>,
    Extension(matched): Extension<Matched>,
    Extension(recorder): Extension<Recorder>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    caller: Result<Caller, Errors>,
    CallQuery(query): CallQuery,
    headers: CallHeaders,
) -> Response {
    let answer = match (caller, query) {
        (Ok(caller), Ok(query)) => {
            let query = crate::legacy::default_recipient(&served, &matched, &caller, query);
            answer(&served, &matched, &recorder, &caller, &query, headers, &request_id).await
        }
        (Err(errors), _) | (_, Err(errors)) => Err(errors),
    };
    match answer {
        Ok(Answer::Fetched(fetched)) => {
            let fetched = *fetched;
            if let Some(secret) = &served.app.citizen_secret {
                subject_from_answer(&recorder, secret, &fetched.data);
            }
            let mut response =
                Json(json!({"data": fetched.data, "links": fetched.links, "meta": fetched.meta})).into_response();
            if !fetched.legacy.is_empty() {
                response.extensions_mut().insert(LegacyMembers(fetched.legacy));
            }
            response
        }
        Ok(Answer::Recorded(recording)) => recorded_response(recording),
        Err(errors) => errors.into_response(),
    }
}

async fn answer(
    served: &Served,
    matched: &Matched,
    recorder: &Recorder,
    caller: &Caller,
    query: &Query,
    headers: CallHeaders,
    request_id: &str,
) -> Result<Answer, Errors> {
    let (bouquet, endpoint) = (&served.bouquet, matched.endpoint);
    // An endpoint without scopes (API Entreprise's VIES) is open to any valid token.
    let open = endpoint.access_scopes.is_empty();
    if !open && !endpoint.access_scopes.iter().any(|s| caller.holds(s)) {
        return Err(ApiError::gateway(codes::SCOPE_MISSING).into());
    }
    let purpose = bouquet.parse_purpose(query).map_err(Errors)?;
    recorder.update(|r| r.purpose = purpose.clone());
    let provider = bouquet
        .provider(endpoint)
        .ok_or_else(|| ApiError::gateway(codes::INTERNAL))?;
    let now = Utc::now().with_timezone(&Paris);
    // FranceConnect gives the identity; a recorded source matches it on its own.
    let given = match caller {
        Caller::Citizen(citizen) => match &citizen.identity {
            Identity::Checked(civility) => Some(civility.clone()),
            Identity::Recorded(_) => None,
        },
        Caller::Token(_) => None,
    };
    let (civility, extras) = parse_params(endpoint, provider.as_ref(), query, given, now.date_naive())?;
    if let (Some(secret), Some(civility)) = (&served.app.citizen_secret, &civility) {
        let key = KeyedIdentity::of(civility).key(secret);
        recorder.update(|r| r.subject = key.map(PersonKey::into_string));
    }
    let cache_key = cache_key(endpoint, matched.version, civility.as_ref(), &extras);
    recorder.update(|r| r.params_hash = Some(params_hash(&served.app.salt, &cache_key)));
    maintenance::check(&served.app.config.maintenance, endpoint, provider.as_ref(), now)?;
    let checked = Checked {
        endpoint,
        version: matched.version,
        bouquet,
        provider: provider.as_ref(),
        caller,
        civility,
        extras,
        purpose,
        query,
        cache_key,
        no_cache: headers.no_cache,
        public_base: headers.public_base,
        request_id,
        today: now.date_naive(),
        recorded_as: matched.legacy.as_ref().and_then(|l| l.recorded_as()),
    };
    served.app.source.answer(&checked, recorder).await
}

/// A call made with an INE or a provider's identifier names nobody by identity; when
/// the answer gives one back (`identite`: MESRI's and SDH's `nom_naissance`, CNOUS's
/// `nom`; a given name; the birth date), the
/// call is kept under that person's key.
fn subject_from_answer(recorder: &Recorder, secret: &[u8], data: &serde_json::Value) {
    let mut known = false;
    recorder.update(|r| known = r.subject.is_some());
    let identite = &data["identite"];
    let name = identite["nom_naissance"].as_str().or_else(|| identite["nom"].as_str());
    let given = identite["prenom"]
        .as_str()
        .or_else(|| identite["prenoms"].as_str())
        .or_else(|| identite["prenoms"][0].as_str());
    let date = identite["date_naissance"]
        .as_str()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let (false, Some(name), Some(given), Some(date)) = (known, name, given, date) else {
        return;
    };
    let given = [given.to_string()];
    let key = KeyedIdentity {
        birth_name: name,
        given_names: &given,
        birth_date: passerelle_core::BirthDate::of(date),
    }
    .key(secret);
    recorder.update(|r| r.subject = key.map(PersonKey::into_string));
}

/// What the call reads of the request's headers, without cloning them all.
pub struct CallHeaders {
    no_cache: bool,
    public_base: String,
}

impl FromRequestParts<Arc<Served>> for CallHeaders {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, served: &Arc<Served>) -> Result<Self, Self::Rejection> {
        let headers = &parts.headers;
        Ok(CallHeaders {
            no_cache: headers.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()) == Some("no-cache"),
            public_base: super::documents::public_base(served, headers),
        })
    }
}

/// The call's parameters: the path's (`siren`), then the query string's.
pub struct CallQuery(Result<Query, Errors>);

impl<S: Send + Sync> FromRequestParts<S> for CallQuery {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let path = RawPathParams::from_request_parts(parts, state).await;
        let raw = parts.uri.query().unwrap_or("");
        Ok(CallQuery(match path {
            Ok(path) => Ok(parse_query(&path, raw)),
            Err(_) => Err(ApiError::gateway(codes::BAD_REQUEST).into()),
        }))
    }
}

/// A query parameter named like a path parameter is dropped, so that the path alone
/// names the subject.
fn parse_query(path: &RawPathParams, raw: &str) -> Query {
    let mut pairs: Vec<(String, String)> = path.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let in_path = pairs.len();
    for (name, value) in query_pairs(raw) {
        if !pairs[..in_path].iter().any(|(k, _)| *k == name) {
            pairs.push((name.into_owned(), value.into_owned()));
        }
    }
    Query::new(pairs)
}

/// The query's pairs decoded as serde_urlencoded decodes them (`form_urlencoded` is its
/// parser): malformed escapes stay as sent, invalid UTF-8 becomes U+FFFD. A pair with
/// neither `+` nor `%`, as most are, is taken as sent: the parser's four passes over
/// its bytes were a call's biggest piece of parsing.
fn query_pairs(raw: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    raw.split('&').filter(|pair| !pair.is_empty()).map(|pair| {
        if pair.bytes().any(|b| b == b'+' || b == b'%') {
            form_urlencoded::parse(pair.as_bytes()).next().unwrap_or_default()
        } else {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (Cow::Borrowed(name), Cow::Borrowed(value))
        }
    })
}

/// The identity (from the query, or `given` by FranceConnect) and the endpoint's own
/// parameters, every error gathered.
fn parse_params(
    endpoint: &Endpoint,
    provider: &dyn Provider,
    query: &Query,
    given: Option<Civility>,
    today: NaiveDate,
) -> Result<(Option<Civility>, Extras), Errors> {
    let civility = match given {
        Some(civility) => Ok(Some(civility)),
        None => endpoint
            .civility
            .map(|rules| Civility::parse(query, &rules, today))
            .transpose(),
    };
    let extras = provider.parse_extras(endpoint, query, today);
    match (civility, extras) {
        (Ok(c), Ok(e)) => Ok((c, e)),
        (c, e) => Err(Errors(c.err().into_iter().chain(e.err()).flatten().collect())),
    }
}

/// The call's identity: endpoint and every parameter, never the caller nor the purpose.
fn cache_key(endpoint: &Endpoint, version: u8, civility: Option<&Civility>, extras: &Extras) -> String {
    let mut key = endpoint.public_path(version);
    key.push('?');
    if let Some(civility) = civility {
        key.push_str(&civility.canonical());
    }
    for (k, v) in extras {
        key.push('&');
        key.push_str(k);
        key.push('=');
        key.push_str(v);
    }
    key
}

/// Salted SHA-512, so the journal can prove which call was made without holding the
/// identity in clear.
fn params_hash(salt: &[u8], canonical: &str) -> String {
    let mut hasher = Sha512::new();
    hasher.update(salt);
    hasher.update(b":");
    hasher.update(canonical.as_bytes());
    passerelle_core::hex_lower(&hasher.finalize())
}

/// The upstream's members that only a legacy contract shows (`Fetched::legacy`), kept
/// on the response for the legacy layer.
#[derive(Debug, Clone, Default)]
pub struct LegacyMembers(pub serde_json::Map<String, serde_json::Value>);

/// Marks an answer served as recorded: its body is already in the route's own shape.
#[derive(Debug, Clone, Copy)]
pub struct AsRecorded;

/// A recorded answer: its status and body as recorded; error bodies keep the
/// contract's JSON:API content type.
fn recorded_response(recording: Recording) -> Response {
    let status = StatusCode::from_u16(recording.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(recording.body)).into_response();
    response.extensions_mut().insert(AsRecorded);
    if status.is_client_error() || status.is_server_error() {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_API));
    }
    response
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::query_pairs;

    fn parsed(raw: &str) -> Vec<(String, String)> {
        query_pairs(raw)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    fn reference(raw: &str) -> Vec<(String, String)> {
        form_urlencoded::parse(raw.as_bytes()).into_owned().collect()
    }

    #[test]
    fn pairs_are_decoded_as_serde_urlencoded_decodes_them() {
        let raw = "nomNaissance=DUPONT&prenoms%5B%5D=Jean+Pierre&&flag&x==y&bad=%ZZ&bad2=%C3&e=%C3%A9";
        assert_eq!(parsed(raw), reference(raw));
        assert_eq!(parsed(raw)[1], ("prenoms[]".to_string(), "Jean Pierre".to_string()));
        assert_eq!(parsed(raw)[2], ("flag".to_string(), String::new()));
    }

    proptest! {
        #[test]
        fn any_query_reads_as_form_urlencoded_reads_it(raw in "([a-zA-Z0-9=&+%éÿ;_.-]|%[0-9a-fA-F]{2}){0,40}") {
            prop_assert_eq!(parsed(&raw), reference(&raw));
        }
    }
}
