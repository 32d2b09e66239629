//! Where documents live (`[documents]`, `PASSERELLE_DOCUMENTS__…`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::DocumentError;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct DocumentsConfig {
    /// `file:///a/folder` or `s3://bucket`; none: the folder `<data_dir>/documents`.
    pub store: Option<String>,
    /// The bucket's endpoint, region and keys when `store` is `s3://…`.
    pub s3: S3Settings,
    /// Per bouquet name (`entreprise`), the public base URL its links start with;
    /// a bouquet not listed gets `http://<the request's Host>`.
    pub public_base_urls: BTreeMap<String, String>,
    /// How often expired documents are deleted, in seconds.
    pub sweep_secs: u64,
    /// Downloads per minute per client IP address.
    pub downloads_per_minute: u32,
    /// How `GET /proxy/files/{token}` fetches a provider's own files.
    pub proxy: ProxySettings,
}

/// The client that fetches the upstream files behind proxied links.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct ProxySettings {
    pub connect_timeout_ms: u64,
    /// Per read: a file that stalls longer is cut.
    pub read_timeout_ms: u64,
    /// Larger files are refused (announced) or cut (streamed).
    pub max_bytes: u64,
}

impl Default for ProxySettings {
    fn default() -> Self {
        ProxySettings {
            connect_timeout_ms: 5_000,
            read_timeout_ms: 15_000,
            max_bytes: 20 * 1024 * 1024,
        }
    }
}

impl Default for DocumentsConfig {
    fn default() -> Self {
        DocumentsConfig {
            store: None,
            s3: S3Settings::default(),
            public_base_urls: BTreeMap::new(),
            sweep_secs: 300,
            downloads_per_minute: 60,
            proxy: ProxySettings::default(),
        }
    }
}

/// An S3-compatible bucket. Keys left out are read from the usual `AWS_*` variables.
#[derive(Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct S3Settings {
    /// None: AWS itself; set it for any other S3-compatible server.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    #[serde(skip_serializing)]
    pub secret_access_key: Option<String>,
    /// Plain HTTP to the endpoint (a server on loopback).
    pub allow_http: bool,
    /// Budget of one request to the bucket, in seconds.
    pub timeout_secs: u64,
}

impl Default for S3Settings {
    fn default() -> Self {
        S3Settings {
            endpoint: None,
            region: "us-east-1".into(),
            access_key_id: None,
            secret_access_key: None,
            allow_http: false,
            timeout_secs: 10,
        }
    }
}

// By hand, so that the secret key never reaches a log.
impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<hidden>"),
            )
            .field("allow_http", &self.allow_http)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

/// The store a configuration names.
#[derive(Debug, Clone)]
pub enum Backend {
    Folder(PathBuf),
    S3 { bucket: String, settings: S3Settings },
}

impl DocumentsConfig {
    pub fn backend(&self, data_dir: &Path) -> Result<Backend, DocumentError> {
        let Some(store) = self.store.as_deref() else {
            return Ok(Backend::Folder(data_dir.join("documents")));
        };
        if let Some(folder) = store.strip_prefix("file://") {
            return Ok(Backend::Folder(PathBuf::from(folder)));
        }
        match store.strip_prefix("s3://") {
            Some(bucket) if !bucket.is_empty() && !bucket.contains('/') => Ok(Backend::S3 {
                bucket: bucket.to_string(),
                settings: self.s3.clone(),
            }),
            _ => Err(DocumentError::Settings(format!(
                "documents.store must be file://<folder> or s3://<bucket>, not {store:?}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_from_settings() {
        let mut config = DocumentsConfig::default();
        assert!(matches!(config.backend(Path::new("/d")), Ok(Backend::Folder(p)) if p == Path::new("/d/documents")));
        config.store = Some("file:///var/docs".into());
        assert!(matches!(config.backend(Path::new("/d")), Ok(Backend::Folder(p)) if p == Path::new("/var/docs")));
        config.store = Some("s3://attestations".into());
        assert!(matches!(config.backend(Path::new("/d")), Ok(Backend::S3 { bucket, .. }) if bucket == "attestations"));
        for wrong in ["s3://", "s3://a/b", "ftp://x", "/plain"] {
            config.store = Some(wrong.into());
            assert!(config.backend(Path::new("/d")).is_err(), "{wrong}");
        }
    }

    #[test]
    fn the_secret_key_is_not_printed() {
        let settings = S3Settings {
            secret_access_key: Some("very-secret".into()),
            ..S3Settings::default()
        };
        assert!(!format!("{settings:?}").contains("very-secret"));
    }
}
