//! Shared upstream HTTP plumbing: one client per provider with explicit timeouts and
//! no redirects, and the transport-level error mapping every provider shares.

use std::time::Duration;

use passerelle_core::{ApiError, ProviderInfo};
use reqwest::StatusCode;

/// A client for one provider. Redirects are errors (the contract maps them to `XX000`).
pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout)
        .timeout(timeout)
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .expect("static client settings are valid")
}

/// Transport failures: timeouts are `XX002` (504), refused or reset connections `XX001`.
pub fn transport_error(info: ProviderInfo, error: &reqwest::Error) -> ApiError {
    // The URL holds the person's identity in its query string: never log it.
    let cause = std::error::Error::source(error)
        .map(ToString::to_string)
        .unwrap_or_default();
    tracing::warn!(
        provider = info.name,
        timeout = error.is_timeout(),
        connect = error.is_connect(),
        cause,
        "upstream transport error"
    );
    if error.is_timeout() {
        info.error("002")
    } else if error.is_connect() || error.is_request() {
        info.error("001")
    } else {
        info.error("999")
    }
}

/// Statuses every provider treats alike, before its own response checks.
pub fn soft_status_error(info: ProviderInfo, status: StatusCode) -> Option<ApiError> {
    match status.as_u16() {
        502 | 503 => Some(info.error("001")),
        504 => Some(info.error("002")),
        300..=399 => Some(
            info.error("000")
                .with_detail("Le fournisseur de données a répondu par une redirection inattendue."),
        ),
        _ => None,
    }
}
