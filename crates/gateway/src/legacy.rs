//! A bouquet's legacy routes (API Particulier v2). Each is served by today's pipeline:
//! the `translate` layer picks the endpoint that answers the call (a FranceConnect
//! token, an `ine`, or the identity), hands the inner layers the query under today's
//! names, and writes the answer back in the legacy shapes: the body from today's
//! `data`, errors as the legacy flat error with the legacy status. It sits inside the
//! record and the signature, so the journal and a signature see what the caller gets.
//! Retired routes answer 410 with a plain-text message.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use passerelle_bouquet::legacy::Answered;
use passerelle_bouquet::{Legacy, LegacyRoute};
use passerelle_core::{codes, ApiError, Query};
use serde_json::Value;
use tower::ServiceBuilder;

use crate::caller::Caller;
use crate::concern::{concern, Inner, Next};
use crate::error::{Errors, Rendered};
use crate::handlers::call::{AsRecorded, LegacyMembers};
use crate::record::{Matched, Record};
use crate::{concern, handlers, ip_guard, Served};

/// Today's answers are small; a body past this is not written back but refused.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// A call on a legacy route.
#[derive(Debug, Clone)]
pub struct LegacyCall {
    /// Its place in the bouquet's legacy table.
    pub route: usize,
    pub operation_id: &'static str,
    /// The query as the caller sent it, once `translate` has run.
    pub sent: Option<Query>,
}

impl LegacyCall {
    /// What a recorded source keys the call's cases by: the legacy operation id and the
    /// query as sent.
    pub fn recorded_as(&self) -> Option<(&str, &Query)> {
        Some((self.operation_id, self.sent.as_ref()?))
    }
}

/// The bouquet's legacy and retired routes, added to `router`.
pub fn routes(mut router: Router<Arc<Served>>, served: &Arc<Served>) -> Router<Arc<Served>> {
    let Some(legacy) = &served.bouquet.legacy else {
        return router;
    };
    for (index, route) in legacy.routes.iter().enumerate() {
        let Some(first) = route.target(&Query::new(Vec::new()), false) else {
            continue;
        };
        let matched = Matched {
            template: Arc::from(route.path),
            version: first.version,
            endpoint: first.endpoint,
            legacy: Some(Arc::new(LegacyCall {
                route: index,
                operation_id: route.operation_id,
                sent: None,
            })),
        };
        router = router.route(route.path, handlers::call_route(served, matched));
    }
    for retired in legacy.retired {
        let layers = ServiceBuilder::new()
            .layer(concern::layer(served, Record))
            .layer(concern::layer(served, ip_guard::Guard));
        let message = retired.message;
        let gone = move || async move { (StatusCode::GONE, [(CONTENT_TYPE, "text/plain; charset=utf-8")], message) };
        router = router.route(retired.path, any(gone).layer(layers));
    }
    router
}

concern!(
    /// A legacy call translated to its v3 endpoint, and its answer back.
    Translate = translate
);

async fn translate<S: Inner>(served: Arc<Served>, mut request: Request, next: Next<S>) -> Response {
    let matched = request.extensions().get::<Matched>().cloned();
    let (Some(legacy), Some(matched)) = (&served.bouquet.legacy, matched) else {
        return next.run(request).await;
    };
    let Some((call, route)) = matched
        .legacy
        .as_ref()
        .and_then(|call| Some((call, legacy.routes.get(call.route)?)))
    else {
        return next.run(request).await;
    };
    let sent = match serde_urlencoded::from_str::<Vec<(String, String)>>(request.uri().query().unwrap_or("")) {
        Ok(pairs) => Query::new(pairs),
        Err(_) => {
            let error = ApiError::gateway(codes::BAD_REQUEST)
                .with_detail("La chaîne de requête n'est pas correctement encodée.");
            let nothing = Query::new(Vec::new());
            return written_back(legacy, route, &nothing, Errors::from(error).into_response()).await;
        }
    };
    let Some(target) = route.target(&sent, presents_france_connect(request.headers())) else {
        let error = Errors::from(ApiError::gateway(codes::INTERNAL));
        return written_back(legacy, route, &sent, error.into_response()).await;
    };
    if let Err(response) = set_query(&mut request, &(route.parameters)(&sent)) {
        return written_back(legacy, route, &sent, response).await;
    }
    request.extensions_mut().insert(Matched {
        template: matched.template.clone(),
        version: target.version,
        endpoint: target.endpoint,
        legacy: Some(Arc::new(LegacyCall {
            sent: Some(sent.clone()),
            ..(**call).clone()
        })),
    });
    let response = next.run(request).await;
    written_back(legacy, route, &sent, response).await
}

/// A FranceConnect access token in `Authorization` (legacy clients send their own key
/// in `X-Api-Key`; our keys are JWTs, FranceConnect's tokens are not).
fn presents_france_connect(headers: &HeaderMap) -> bool {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .is_some_and(|token| !token.is_empty() && token.split('.').count() != 3)
}

fn set_query(request: &mut Request, query: &Query) -> Result<(), Response> {
    let refused = || Errors::from(ApiError::gateway(codes::BAD_REQUEST)).into_response();
    let encoded = serde_urlencoded::to_string(query.pairs()).map_err(|_| refused())?;
    let uri = format!("{}?{encoded}", request.uri().path());
    *request.uri_mut() = uri.parse().map_err(|_| refused())?;
    Ok(())
}

/// Today's answer in the legacy shapes. A recorded answer (the sandbox's) is already
/// in them.
async fn written_back(legacy: &Legacy, route: &LegacyRoute, sent: &Query, response: Response) -> Response {
    if response.extensions().get::<AsRecorded>().is_some() {
        let (mut parts, body) = response.into_parts();
        parts
            .headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        return Response::from_parts(parts, body);
    }
    if let Some(Rendered(errors)) = response.extensions().get::<Rendered>().cloned() {
        let (status, body) = (legacy.error)(response.status().as_u16(), &errors);
        return replaced(response, status, &body);
    }
    if !response.status().is_success() {
        return response;
    }
    let members = response
        .extensions()
        .get::<LegacyMembers>()
        .cloned()
        .unwrap_or_default();
    let (parts, body) = response.into_parts();
    let data = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => serde_json::from_slice::<Value>(&bytes).ok(),
        Err(_) => None,
    };
    let Some(data) = data else {
        let (status, body) = (legacy.error)(500, &[ApiError::gateway(codes::INTERNAL)]);
        return replaced(Response::from_parts(parts, Body::empty()), status, &body);
    };
    let status = parts.status.as_u16();
    let answered = Answered {
        data: &data["data"],
        legacy: &members.0,
        sent,
    };
    replaced(
        Response::from_parts(parts, Body::empty()),
        status,
        &(route.render)(&answered),
    )
}

/// `response` with another status and JSON body, its other headers kept (request id,
/// rate limits).
fn replaced(response: Response, status: u16, body: &Value) -> Response {
    let (mut parts, _) = response.into_parts();
    parts.status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    parts.headers.remove(CONTENT_LENGTH);
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    Response::from_parts(parts, Body::from(bytes))
}

/// `errors` as the legacy flat error, for the routes v2 clients share with today's
/// (`/api/introspect`) and for unknown legacy paths.
pub(crate) fn flat_error(legacy: &Legacy, errors: Errors) -> Response {
    let status = errors.status().as_u16();
    let (status, body) = (legacy.error)(status, &errors.0);
    replaced(StatusCode::OK.into_response(), status, &body)
}

/// Whether a call to a route shared by both versions is a legacy client's: its key in
/// `X-Api-Key` and no `Authorization`.
pub(crate) fn sent_by_legacy_client(headers: &HeaderMap) -> bool {
    headers.contains_key("x-api-key") && !headers.contains_key(AUTHORIZATION)
}

/// A legacy call that leaves its purpose parameter out gets the token's SIRET (v2's
/// `recipient` defaults to the habilitation's organisation).
pub(crate) fn default_recipient(served: &Served, matched: &Matched, caller: &Caller, query: Query) -> Query {
    let (Some(_), Some(legacy), Caller::Token(token)) = (&matched.legacy, &served.bouquet.legacy, caller) else {
        return query;
    };
    let Some(name) = legacy.default_purpose else {
        return query;
    };
    if query.get(name).is_some_and(|v| !v.trim().is_empty()) {
        return query;
    }
    let mut pairs: Vec<_> = query.pairs().iter().filter(|(k, _)| k != name).cloned().collect();
    pairs.push((name.to_string(), token.record.siret.clone()));
    Query::new(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_france_connect_token_is_told_from_a_key() {
        let mut headers = HeaderMap::new();
        assert!(!presents_france_connect(&headers));
        headers.insert("x-api-key", HeaderValue::from_static("a.b.c"));
        assert!(!presents_france_connect(&headers));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer a.b.c"));
        assert!(!presents_france_connect(&headers), "a JWT is a key");
        headers.insert(AUTHORIZATION, HeaderValue::from_static("bearer cnaf_qfv2"));
        assert!(presents_france_connect(&headers));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic cnaf_qfv2"));
        assert!(!presents_france_connect(&headers));
    }
}
