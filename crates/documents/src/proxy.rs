//! Proxied files (§25.3 pattern C): files a provider's upstream serves itself, handed
//! out as `/proxy/files/{token}` links of the gateway. Nothing is stored: the token is
//! the provider id, the target URL and the expiry, sealed with ChaCha20-Poly1305 under
//! a key derived from the link-signing secret. It cannot be forged or altered (the
//! tag fails) and does not show the target in clear. On download the gateway opens it,
//! asks the provider whether the target's host is still allowed, and streams the file
//! through a client of its own: explicit timeouts, no redirects, a size cap.

use std::time::Duration;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use passerelle_bouquet::{Fetched, Provider};
use serde_json::Value;

use crate::config::ProxySettings;
use crate::link::LinkError;
use crate::seal::Sealer;
use crate::DocumentError;

/// What a proxied link names, once opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub provider: String,
    pub target: String,
    pub expires: u64,
}

/// Why an upstream file is not served.
#[derive(Debug)]
pub enum FetchError {
    /// The host answered 404.
    NotFound,
    /// Any other non-2xx status (redirections included).
    Status(u16),
    /// The file announces more than the cap.
    TooLarge,
    /// No answer in time.
    Timeout,
    /// Refused, reset or unreachable.
    Unreachable,
}

/// An upstream file about to be streamed.
pub struct Remote {
    pub content_type: String,
    pub file_name: String,
    pub size: Option<u64>,
    pub body: BoxStream<'static, Result<Bytes, std::io::Error>>,
}

pub struct ProxiedFiles {
    sealer: Sealer,
    client: reqwest::Client,
    max_bytes: u64,
}

/// Separates this key from the link signer's, both derived from one secret.
const KEY_PURPOSE: &[u8] = b"passerelle proxied files v1";

impl ProxiedFiles {
    pub fn new(secret: &[u8], settings: &ProxySettings) -> Result<ProxiedFiles, DocumentError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_millis(settings.connect_timeout_ms))
            .read_timeout(Duration::from_millis(settings.read_timeout_ms))
            .build()
            .map_err(|e| DocumentError::Settings(format!("proxied files client: {e}")))?;
        Ok(ProxiedFiles {
            sealer: Sealer::new(secret, KEY_PURPOSE)?,
            client,
            max_bytes: settings.max_bytes,
        })
    }

    /// The token of a link to `target` for `provider`, valid until `expires`.
    pub fn seal(&self, provider: &str, target: &str, expires: u64) -> String {
        self.sealer.seal(&format!("{expires}\n{provider}\n{target}"))
    }

    /// What a token names, if it is genuine and not expired.
    pub fn open(&self, token: &str, now: u64) -> Result<Sealed, LinkError> {
        let plain = self.sealer.open(token).ok_or(LinkError::Forged)?;
        let mut parts = plain.splitn(3, '\n');
        let (Some(expires), Some(provider), Some(target)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(LinkError::Forged);
        };
        let expires: u64 = expires.parse().map_err(|_| LinkError::Forged)?;
        if expires <= now {
            return Err(LinkError::Expired);
        }
        Ok(Sealed {
            provider: provider.to_string(),
            target: target.to_string(),
            expires,
        })
    }

    /// Writes a fresh link (and its lifetime) for each file the answer marks. A target
    /// on a host the provider does not allow is left as the provider wrote it (the
    /// real gateway's fallback when it cannot make a link): the gateway never fetches it.
    pub fn write(&self, fetched: &mut Fetched, provider_id: &str, provider: &dyn Provider, base: &str, now: u64) {
        for proxied in std::mem::take(&mut fetched.proxied) {
            if !provider.may_proxy(&proxied.target) {
                tracing::warn!(
                    provider = provider_id,
                    "a proxied file's host is not allowed: link left as sent"
                );
                continue;
            }
            let token = self.seal(provider_id, &proxied.target, now + proxied.lifetime_secs);
            let link = format!("{}/proxy/files/{token}", base.trim_end_matches('/'));
            if let Some(slot) = fetched.data.pointer_mut(&proxied.url_pointer) {
                *slot = Value::String(link);
            }
            if let Some(slot) = proxied.expiry_pointer.and_then(|p| fetched.data.pointer_mut(&p)) {
                *slot = Value::from(proxied.lifetime_secs);
            }
        }
    }

    /// Asks the upstream for the file; a 2xx comes back as a capped stream.
    pub async fn fetch(&self, target: &str) -> Result<Remote, FetchError> {
        let response = self.client.get(target).send().await.map_err(|e| {
            if e.is_timeout() {
                FetchError::Timeout
            } else {
                FetchError::Unreachable
            }
        })?;
        let status = response.status();
        if status.as_u16() == 404 {
            return Err(FetchError::NotFound);
        }
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        let size = response.content_length();
        if size.is_some_and(|s| s > self.max_bytes) {
            return Err(FetchError::TooLarge);
        }
        let headers = response.headers();
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_string();
        let file_name = headers
            .get(reqwest::header::CONTENT_DISPOSITION)
            .and_then(|v| v.to_str().ok())
            .and_then(disposition_name)
            .unwrap_or_else(|| last_segment(target));
        Ok(Remote {
            content_type,
            file_name,
            size,
            body: capped(response, self.max_bytes),
        })
    }
}

/// The body, chunk by chunk, cut with an error (the connection is dropped) once it
/// passes `max_bytes`, whatever the upstream announced.
fn capped(response: reqwest::Response, max_bytes: u64) -> BoxStream<'static, Result<Bytes, std::io::Error>> {
    stream::unfold(Some((response, 0u64)), move |state| async move {
        let (mut response, seen) = state?;
        match response.chunk().await {
            Ok(Some(chunk)) if seen + chunk.len() as u64 > max_bytes => {
                tracing::warn!(max_bytes, "proxied file over the cap, cut");
                Some((Err(std::io::Error::other("file over the cap")), None))
            }
            Ok(Some(chunk)) => {
                let seen = seen + chunk.len() as u64;
                Some((Ok(chunk), Some((response, seen))))
            }
            Ok(None) => None,
            Err(e) => Some((Err(std::io::Error::other(e)), None)),
        }
    })
    .boxed()
}

/// `filename="…"` (or unquoted) of a `Content-Disposition` header.
fn disposition_name(header: &str) -> Option<String> {
    let start = header.find("filename=")? + "filename=".len();
    let rest = &header[start..];
    let name = match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next()?,
        None => rest.split(';').next()?.trim(),
    };
    (!name.is_empty()).then(|| name.to_string())
}

/// The URL's last path segment, else a neutral name.
fn last_segment(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let after_host = path.splitn(4, '/').nth(3).unwrap_or_default();
    match after_host.rsplit('/').next() {
        Some(segment) if !segment.is_empty() => segment.to_string(),
        _ => "document".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use ring::aead::NONCE_LEN;

    use super::*;

    fn files(secret: &[u8]) -> ProxiedFiles {
        ProxiedFiles::new(secret, &ProxySettings::default()).unwrap()
    }

    #[test]
    fn a_sealed_link_opens_until_it_expires_and_hides_its_target() {
        let files = files(b"secret");
        let token = files.seal("mi", "https://asso.example/documents/1", 1000);
        assert!(!token.contains("asso"));
        let decoded = URL_SAFE_NO_PAD.decode(&token).unwrap();
        assert!(!String::from_utf8_lossy(&decoded).contains("asso.example"));
        assert_eq!(
            files.open(&token, 999),
            Ok(Sealed {
                provider: "mi".into(),
                target: "https://asso.example/documents/1".into(),
                expires: 1000
            })
        );
        assert_eq!(files.open(&token, 1000), Err(LinkError::Expired));
        // Two links to one file differ (fresh nonce).
        assert_ne!(token, files.seal("mi", "https://asso.example/documents/1", 1000));
    }

    #[test]
    fn any_change_or_another_key_is_forged() {
        let files = files(b"secret");
        let token = files.seal("mi", "https://asso.example/documents/1", 1000);
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        for index in [0, NONCE_LEN, bytes.len() - 1] {
            bytes[index] ^= 1;
            assert_eq!(files.open(&URL_SAFE_NO_PAD.encode(&bytes), 0), Err(LinkError::Forged));
            bytes[index] ^= 1;
        }
        assert_eq!(super::tests::files(b"other").open(&token, 0), Err(LinkError::Forged));
        for junk in ["", "abc", "%%%", &token[..20]] {
            assert_eq!(files.open(junk, 0), Err(LinkError::Forged), "{junk}");
        }
    }

    struct Allowing(&'static str);

    #[async_trait::async_trait]
    impl Provider for Allowing {
        fn info(&self) -> passerelle_core::ProviderInfo {
            passerelle_core::ProviderInfo {
                name: "Test",
                prefix: "99",
            }
        }

        async fn fetch(&self, _: &passerelle_bouquet::Call<'_>) -> Result<Fetched, passerelle_core::ApiError> {
            unreachable!("never called")
        }

        fn may_proxy(&self, url: &str) -> bool {
            url.starts_with(self.0)
        }
    }

    #[test]
    fn links_are_written_where_marked_for_allowed_hosts_only() {
        let files = files(b"secret");
        let mut fetched = Fetched::from(
            serde_json::json!({"a": [{"url": "https://ok/1", "expires_in": null}], "b": "https://other/2"}),
        );
        for (pointer, expiry, target) in [
            ("/a/0/url", Some("/a/0/expires_in"), "https://ok/1"),
            ("/b", None, "https://other/2"),
        ] {
            fetched.proxied.push(passerelle_bouquet::Proxied {
                url_pointer: pointer.into(),
                expiry_pointer: expiry.map(String::from),
                target: target.into(),
                lifetime_secs: 600,
            });
        }
        files.write(&mut fetched, "test", &Allowing("https://ok/"), "http://gw/", 1000);
        assert!(fetched.proxied.is_empty());
        let link = fetched.data["a"][0]["url"].as_str().unwrap();
        let token = link.strip_prefix("http://gw/proxy/files/").unwrap();
        assert_eq!(
            files.open(token, 1599),
            Ok(Sealed {
                provider: "test".into(),
                target: "https://ok/1".into(),
                expires: 1600
            })
        );
        assert_eq!(fetched.data["a"][0]["expires_in"], 600);
        assert_eq!(fetched.data["b"], "https://other/2");
    }

    #[test]
    fn file_names_come_from_the_header_or_the_url() {
        assert_eq!(
            disposition_name("attachment; filename=\"a b.pdf\""),
            Some("a b.pdf".into())
        );
        assert_eq!(
            disposition_name("attachment; filename=c.pdf; size=3"),
            Some("c.pdf".into())
        );
        assert_eq!(disposition_name("inline"), None);
        assert_eq!(last_segment("https://h/api/documents/x.pdf?t=1"), "x.pdf");
        assert_eq!(last_segment("https://h/"), "document");
        assert_eq!(last_segment("https://h"), "document");
    }
}
