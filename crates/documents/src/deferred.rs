//! Deferred documents: files an upstream makes only when asked (INPI's actes, bilans
//! and extraits). An answer links each as `/proxy/{route}/download/{token}`; the token
//! seals the provider, the provider's target, the caller's token id and the expiry,
//! under a key of its own (a proxied file's token does not open here). Following it
//! makes the document, stores it, and answers a stored document's link.

use passerelle_bouquet::Fetched;
use serde_json::Value;

use crate::link::LinkError;
use crate::seal::Sealer;
use crate::DocumentError;

/// What a deferred link names, once opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeferredLink {
    pub provider: String,
    /// The id of the token whose call produced the link: the download acts as it.
    pub caller: String,
    pub target: String,
    pub expires: u64,
}

pub struct DeferredLinks(Sealer);

const KEY_PURPOSE: &[u8] = b"passerelle deferred documents v1";

impl DeferredLinks {
    pub fn new(secret: &[u8]) -> Result<DeferredLinks, DocumentError> {
        Ok(DeferredLinks(Sealer::new(secret, KEY_PURPOSE)?))
    }

    pub fn seal(&self, link: &DeferredLink) -> String {
        let DeferredLink {
            provider,
            caller,
            target,
            expires,
        } = link;
        self.0.seal(&format!("{expires}\n{provider}\n{caller}\n{target}"))
    }

    /// What a token names, if it is genuine (`Forged` otherwise) and not expired.
    pub fn open(&self, token: &str, now: u64) -> Result<DeferredLink, LinkError> {
        let plain = self.0.open(token).ok_or(LinkError::Forged)?;
        let mut parts = plain.splitn(4, '\n');
        let (Some(expires), Some(provider), Some(caller), Some(target)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(LinkError::Forged);
        };
        let expires: u64 = expires.parse().map_err(|_| LinkError::Forged)?;
        if expires <= now {
            return Err(LinkError::Expired);
        }
        Ok(DeferredLink {
            provider: provider.to_string(),
            caller: caller.to_string(),
            target: target.to_string(),
            expires,
        })
    }

    /// Writes a fresh link for each deferred document of the answer, made for `caller`.
    pub fn write(&self, fetched: &mut Fetched, provider: &str, route: &str, caller: &str, base: &str, now: u64) {
        for deferred in std::mem::take(&mut fetched.deferred) {
            let token = self.seal(&DeferredLink {
                provider: provider.to_string(),
                caller: caller.to_string(),
                target: deferred.target,
                expires: now + deferred.lifetime_secs,
            });
            let link = format!("{}/proxy/{route}/download/{token}", base.trim_end_matches('/'));
            if let Some(slot) = fetched.data.pointer_mut(&deferred.url_pointer) {
                *slot = Value::String(link);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use passerelle_bouquet::Deferred;
    use serde_json::json;

    use super::*;

    fn link(expires: u64) -> DeferredLink {
        DeferredLink {
            provider: "inpi_rne".into(),
            caller: "3f0a6c1e-2b1d-4c8e-9f5a-7d6e5c4b3a21".into(),
            target: "actes:0123456789abcdef01234567".into(),
            expires,
        }
    }

    #[test]
    fn a_link_opens_until_it_expires_and_hides_what_it_names() {
        let links = DeferredLinks::new(b"secret").unwrap();
        let token = links.seal(&link(1000));
        assert!(!token.contains("actes") && !token.contains("inpi"));
        assert_eq!(links.open(&token, 999), Ok(link(1000)));
        assert_eq!(links.open(&token, 1000), Err(LinkError::Expired));
        assert_ne!(token, links.seal(&link(1000)), "a fresh nonce per link");
    }

    #[test]
    fn other_secrets_other_purposes_and_garbage_are_forged() {
        let links = DeferredLinks::new(b"secret").unwrap();
        let token = links.seal(&link(1000));
        let other = DeferredLinks::new(b"other").unwrap();
        assert_eq!(other.open(&token, 0), Err(LinkError::Forged));
        let proxied = crate::ProxiedFiles::new(b"secret", &Default::default()).unwrap();
        let proxied_token = proxied.seal("inpi_rne", "actes:0123", 1000);
        assert_eq!(links.open(&proxied_token, 0), Err(LinkError::Forged));
        for garbage in ["", "AAAA", "not base64!", &token[1..]] {
            assert_eq!(links.open(garbage, 0), Err(LinkError::Forged), "{garbage}");
        }
    }

    #[test]
    fn write_puts_a_link_at_each_pointer_and_empties_the_list() {
        let links = DeferredLinks::new(b"secret").unwrap();
        let mut fetched = Fetched::from(json!({"actes": [{"url": null}, {"url": null}]}));
        fetched.deferred = (0..2)
            .map(|i| Deferred {
                url_pointer: format!("/actes/{i}/url"),
                target: format!("actes:{i}"),
                lifetime_secs: 3600,
            })
            .collect();
        links.write(&mut fetched, "inpi_rne", "inpi", "caller", "https://gw.example/", 100);
        assert!(fetched.deferred.is_empty());
        for i in 0..2 {
            let url = fetched.data["actes"][i]["url"].as_str().unwrap();
            let token = url.strip_prefix("https://gw.example/proxy/inpi/download/").unwrap();
            let opened = links.open(token, 3699).unwrap();
            assert_eq!((opened.target, opened.caller), (format!("actes:{i}"), "caller".into()));
            assert_eq!(links.open(token, 3700), Err(LinkError::Expired));
        }
    }
}
