//! `GET /proxy/{route}/download/{token}`: a document the provider makes only when
//! asked (INPI's actes, bilans, extraits), linked from an earlier answer. No bearer:
//! the sealed link is the capability, but it acts as the token whose call made it,
//! which must still be good (revoked, expired or unknown: refused). Limited per
//! client IP and journaled under that token.
//!
//! Answers `{"data": {"document_url", "expires_in"}}`, the link of the stored
//! document; a link that does not open 422 `00314`, an expired one 410 `00403` (it
//! lives one hour), the provider's errors as on its routes.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Extension, MatchedPath, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use chrono_tz::Europe::Paris;
use passerelle_bouquet::{Fetched, Provider};
use passerelle_core::{codes, ApiError, Subcode};
use passerelle_documents::{unix_now, LinkError};
use passerelle_store::CallerId;
use passerelle_tokens::Rejection;
use serde_json::json;

use super::documents::{limited, public_base};
use super::request_id::RequestId;
use crate::caller::client_ip;
use crate::error::Errors;
use crate::source::document_error;
use crate::{auth, Served};

pub async fn download(
    State(served): State<Arc<Served>>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    matched: MatchedPath,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let template = matched.as_str().to_string();
    let ip = client_ip(&served.app.config, &headers, peer);
    let route = template.split('/').nth(2).unwrap_or_default().to_string();
    let answer = async {
        match make(&served, &route, &token, ip, &public_base(&served, &headers)).await {
            Ok((fetched, caller)) => (answer(fetched), Some(caller)),
            Err((error, caller)) => (Errors::from(error).into_response(), caller),
        }
    };
    limited(&served, request_id, ip, "deferred", template, answer).await
}

type Failed = (ApiError, Option<CallerId>);

/// Opens the link, checks its token, makes and stores the document: the answer and who
/// it was made for.
async fn make(
    served: &Served,
    route: &str,
    token: &str,
    ip: IpAddr,
    base: &str,
) -> Result<(Fetched, CallerId), Failed> {
    let link = match served.app.documents.deferred.open(token, unix_now()) {
        Ok(link) => link,
        Err(LinkError::Expired) => return Err((ApiError::gateway(codes::DOWNLOAD_LINK_EXPIRED), None)),
        Err(_) => return Err((ApiError::gateway(codes::DOWNLOAD_LINK_INVALID), None)),
    };
    let provider = served
        .bouquet
        .providers
        .iter()
        .find(|(id, p)| id.as_str() == link.provider && p.download_route() == Some(route))
        .map(|(_, p)| p.clone())
        .ok_or((ApiError::gateway(codes::DOWNLOAD_LINK_INVALID), None))?;
    let record = served
        .app
        .tokens
        .holder(&link.caller, ip)
        .await
        .map_err(|r| (refusal(r), None))?;
    let caller = CallerId::Token(record.jti);
    if record.bouquet != served.bouquet.name {
        return Err((ApiError::gateway(codes::TOKEN_NOT_FOUND), Some(caller)));
    }
    let mut fetched = ask(served, provider.as_ref(), &link.target)
        .await
        .map_err(|e| (e, Some(caller.clone())))?;
    let stored = served
        .app
        .documents
        .attach(std::mem::take(&mut fetched.attachments), unix_now())
        .await
        .map_err(|e| (document_error(e, provider.as_ref()), Some(caller.clone())))?;
    let now = unix_now();
    for document in &stored {
        document.write(&mut fetched.data, base, now);
    }
    Ok((fetched, caller))
}

/// The provider's download, within the budget of a provider call.
async fn ask(served: &Served, provider: &dyn Provider, target: &str) -> Result<Fetched, ApiError> {
    let today = Utc::now().with_timezone(&Paris).date_naive();
    let budget = Duration::from_secs(served.app.config.limits.provider_timeout_secs);
    match tokio::time::timeout(budget, provider.download(target, today)).await {
        Ok(result) => result,
        Err(_) => Err(provider.info().error(Subcode::Timeout)),
    }
}

/// A token the link names but the store does not know is "not found" (`00106`), as the
/// contract says; the other refusals are those of a bearer.
fn refusal(rejection: Rejection) -> ApiError {
    match rejection {
        Rejection::Invalid => ApiError::gateway(codes::TOKEN_NOT_FOUND),
        other => auth::refusal(other),
    }
}

fn answer(fetched: Fetched) -> Response {
    Json(json!({"data": fetched.data, "links": {}, "meta": {}})).into_response()
}
