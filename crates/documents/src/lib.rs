//! Documents a provider fetched (PDF attestations): checked, kept in an object store
//! (a local folder, or an S3-compatible bucket in production) for their lifetime, and
//! handed out as signed, expiring links that the gateway's download route verifies.
//!
//! Files an upstream serves itself are not stored: they go out as sealed links to
//! the gateway's proxy route (`proxy`).
//!
//! Object names are random (128 bits) and never derived from the company; a link is
//! only a capability while its HMAC-SHA256 signature over the id and the expiry holds.

mod config;
mod deferred;
mod link;
mod proxy;
mod seal;
mod store;

use std::time::{SystemTime, UNIX_EPOCH};

use passerelle_bouquet::Attachment;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use config::{Backend, DocumentsConfig, ProxySettings, S3Settings};
pub use deferred::{DeferredLink, DeferredLinks};
pub use link::{Handle, LinkError, Signer};
pub use proxy::{FetchError, ProxiedFiles, Remote, Sealed};
pub use store::objects;
pub use store::{DocumentStore, Download};

/// Why a document could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("the provider's document is empty")]
    Empty,
    #[error("the provider's document is not the {0} it claims to be")]
    WrongType(String),
    #[error("object store: {0}")]
    Storage(#[from] object_store::Error),
    #[error("document store settings: {0}")]
    Settings(String),
}

/// The store and the link signer together, and the proxied files: what the gateway
/// holds.
pub struct Documents {
    pub store: DocumentStore,
    pub signer: Signer,
    pub proxied: ProxiedFiles,
    pub deferred: DeferredLinks,
}

/// A stored document as an answer refers to it: where its link and lifetime go in
/// `data`, the link without its base, and when it dies. Kept beside a cached answer so
/// that a later caller gets the lifetime left, not the original one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Linked {
    pub url_member: String,
    pub expiry_member: String,
    /// `/documents/<id>?expires=<unix>&sig=<hex>`.
    pub path: String,
    /// Unix seconds.
    pub expires_at: u64,
}

impl Documents {
    /// Checks and stores each attachment; all or nothing for the caller (an object
    /// stored before a later failure is left to the sweep). Taken by value: the bytes
    /// go to the store as they are, not copied.
    pub async fn attach(&self, attachments: Vec<Attachment>, now: u64) -> Result<Vec<Linked>, DocumentError> {
        let mut linked = Vec::with_capacity(attachments.len());
        for attachment in attachments {
            inspect(&attachment.bytes, attachment.content_type)?;
            let (url_member, expiry_member) = (attachment.url_member, attachment.expiry_member);
            let handle = self.store.put(attachment, now).await?;
            linked.push(Linked {
                url_member: url_member.to_string(),
                expiry_member: expiry_member.to_string(),
                path: self.signer.link_path(&handle),
                expires_at: handle.expires,
            });
        }
        Ok(linked)
    }
}

impl Linked {
    /// Writes the absolute link and the seconds it has left into `data`.
    pub fn write(&self, data: &mut Value, base: &str, now: u64) {
        if let Value::Object(members) = data {
            let url = format!("{}{}", base.trim_end_matches('/'), self.path);
            members.insert(self.url_member.clone(), Value::String(url));
            members.insert(
                self.expiry_member.clone(),
                Value::from(self.expires_at.saturating_sub(now)),
            );
        }
    }
}

/// An empty file, or bytes that are not what the content type says (PDF, ZIP), are
/// the provider's fault and never stored.
pub fn inspect(bytes: &[u8], content_type: &str) -> Result<(), DocumentError> {
    if bytes.is_empty() {
        return Err(DocumentError::Empty);
    }
    let magic: &[&[u8]] = match content_type {
        "application/pdf" => &[b"%PDF-"],
        "application/zip" => &[b"PK\x03\x04", b"PK\x05\x06"],
        _ => &[],
    };
    if magic.is_empty() || magic.iter().any(|m| bytes.starts_with(m)) {
        Ok(())
    } else {
        Err(DocumentError::WrongType(content_type.to_string()))
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inspect_checks_the_magic_of_what_it_knows() {
        assert!(inspect(b"%PDF-1.7\n", "application/pdf").is_ok());
        assert!(matches!(
            inspect(b"<html>", "application/pdf"),
            Err(DocumentError::WrongType(_))
        ));
        assert!(matches!(inspect(b"", "application/pdf"), Err(DocumentError::Empty)));
        assert!(inspect(b"PK\x03\x04rest", "application/zip").is_ok());
        assert!(inspect(b"%PDF-", "application/zip").is_err());
        assert!(inspect(b"anything", "text/plain").is_ok());
    }

    #[test]
    fn write_puts_the_link_and_the_seconds_left() {
        let linked = Linked {
            url_member: "document_url".into(),
            expiry_member: "expires_in".into(),
            path: "/documents/ab?expires=1000&sig=cd".into(),
            expires_at: 1000,
        };
        let mut data = serde_json::json!({"other": 1});
        linked.write(&mut data, "http://host:8081/", 400);
        assert_eq!(
            data,
            serde_json::json!({"other": 1, "document_url": "http://host:8081/documents/ab?expires=1000&sig=cd", "expires_in": 600})
        );
        linked.write(&mut data, "http://host", 2000);
        assert_eq!(data["expires_in"], 0);
    }
}
