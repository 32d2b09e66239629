//! The one error type at the HTTP boundary: renders the contract's JSON error body.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use passerelle_core::error::status_of;
use passerelle_core::ApiError;
use serde::Serialize;

pub const JSON_API: &str = "application/vnd.api+json";

#[derive(Debug)]
pub struct Errors(pub Vec<ApiError>);

impl From<ApiError> for Errors {
    fn from(e: ApiError) -> Self {
        Errors(vec![e])
    }
}

impl Errors {
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(status_of(&self.0)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// The contract's error body.
#[derive(Serialize)]
struct Body<'a> {
    errors: &'a [ApiError],
}

/// The errors an answer was made of, kept on the response for the layers that write
/// them in another shape (the legacy routes' flat error).
#[derive(Debug, Clone)]
pub struct Rendered(pub Vec<ApiError>);

impl IntoResponse for Errors {
    fn into_response(self) -> Response {
        let status = self.status();
        // Serialized as it is, not through a `serde_json::Value` first.
        let mut response = (status, axum::Json(Body { errors: &self.0 })).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_API));
        response.extensions_mut().insert(Rendered(self.0));
        response
    }
}
