//! The object store behind the documents: one object for the bytes and one small JSON
//! object for what the download needs (type, name, size). Both are named
//! `documents/<expires>-<id>`, so that the sweep finds the dead ones from a listing.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStore, RetryConfig};
use passerelle_bouquet::Attachment;
use serde::{Deserialize, Serialize};

use crate::config::{Backend, S3Settings};
use crate::link::Handle;
use crate::DocumentError;

const PREFIX: &str = "documents";

pub struct DocumentStore {
    objects: Arc<dyn ObjectStore>,
}

/// What a download sends: the stored type, name and size, and the bytes as a stream.
pub struct Download {
    pub content_type: String,
    pub file_name: String,
    pub size: u64,
    pub body: BoxStream<'static, Result<Bytes, object_store::Error>>,
}

#[derive(Serialize, Deserialize)]
struct About {
    content_type: String,
    file_name: String,
}

impl DocumentStore {
    pub fn open(backend: &Backend) -> Result<DocumentStore, DocumentError> {
        Ok(DocumentStore {
            objects: objects(backend)?,
        })
    }

    /// Stores the bytes, then their description: a document is served only once both
    /// are there.
    pub async fn put(&self, attachment: Attachment, now: u64) -> Result<Handle, DocumentError> {
        let handle = Handle::new(now.saturating_add(attachment.lifetime_secs));
        let about = About {
            content_type: attachment.content_type.to_string(),
            file_name: attachment.file_name.to_string(),
        };
        let about = serde_json::to_vec(&about).unwrap_or_default();
        self.objects
            .put(&file_path(&handle), Bytes::from(attachment.bytes).into())
            .await?;
        self.objects.put(&about_path(&handle), about.into()).await?;
        Ok(handle)
    }

    /// The document, as a stream; none when it is not (or no longer) stored.
    pub async fn get(&self, handle: &Handle) -> Result<Option<Download>, DocumentError> {
        let about = match self.objects.get(&about_path(handle)).await {
            Ok(found) => found.bytes().await?,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let Ok(about) = serde_json::from_slice::<About>(&about) else {
            return Ok(None);
        };
        let file = match self.objects.get(&file_path(handle)).await {
            Ok(file) => file,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(Some(Download {
            content_type: about.content_type,
            file_name: about.file_name,
            size: file.meta.size,
            body: file.into_stream(),
        }))
    }

    /// Deletes every object whose expiry is past; returns how many documents went.
    pub async fn sweep(&self, now: u64) -> Result<usize, DocumentError> {
        let mut listing = self.objects.list(Some(&Path::from(PREFIX)));
        let mut gone = 0;
        while let Some(object) = listing.next().await {
            let object = object?;
            let Some((expires, is_file)) = object.location.filename().and_then(parse_name) else {
                continue;
            };
            if expires > now {
                continue;
            }
            match self.objects.delete(&object.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => gone += usize::from(is_file),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(gone)
    }
}

/// The object store a configuration names (the habilitation site keeps its legal-basis
/// documents there too, under a prefix of its own).
pub fn objects(backend: &Backend) -> Result<Arc<dyn ObjectStore>, DocumentError> {
    Ok(match backend {
        Backend::Folder(folder) => {
            std::fs::create_dir_all(folder)
                .map_err(|e| DocumentError::Settings(format!("{}: {e}", folder.display())))?;
            Arc::new(LocalFileSystem::new_with_prefix(folder)?)
        }
        Backend::S3 { bucket, settings } => Arc::new(s3(bucket, settings)?),
    })
}

fn s3(bucket: &str, settings: &S3Settings) -> Result<object_store::aws::AmazonS3, DocumentError> {
    let timeout = Duration::from_secs(settings.timeout_secs.max(1));
    // An unreachable store must fail the call within its budget, not after minutes of retries.
    let retry = RetryConfig {
        max_retries: 2,
        retry_timeout: timeout,
        ..RetryConfig::default()
    };
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_region(&settings.region)
        .with_allow_http(settings.allow_http)
        .with_retry(retry)
        .with_client_options(
            ClientOptions::new()
                .with_timeout(timeout)
                .with_connect_timeout(timeout)
                .with_allow_http(settings.allow_http),
        );
    if let Some(endpoint) = &settings.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    if let Some(key) = &settings.access_key_id {
        builder = builder.with_access_key_id(key);
    }
    if let Some(secret) = &settings.secret_access_key {
        builder = builder.with_secret_access_key(secret);
    }
    Ok(builder.build()?)
}

fn file_path(handle: &Handle) -> Path {
    Path::from(format!("{PREFIX}/{}-{}", handle.expires, handle.id))
}

fn about_path(handle: &Handle) -> Path {
    Path::from(format!("{PREFIX}/{}-{}.json", handle.expires, handle.id))
}

/// `<expires>-<id>` (the bytes) or `<expires>-<id>.json`; anything else (a file being
/// written…) is not ours to delete.
fn parse_name(name: &str) -> Option<(u64, bool)> {
    let (stem, is_file) = match name.strip_suffix(".json") {
        Some(stem) => (stem, false),
        None => (name, true),
    };
    let (expires, id) = stem.split_once('-')?;
    Handle::is_id(id).then_some(())?;
    Some((expires.parse().ok()?, is_file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        let handle = Handle::new(1234);
        let file = file_path(&handle);
        let about = about_path(&handle);
        assert_eq!(parse_name(file.filename().unwrap()), Some((1234, true)));
        assert_eq!(parse_name(about.filename().unwrap()), Some((1234, false)));
        assert_eq!(parse_name("1234-notanid"), None);
        assert_eq!(parse_name(&format!("{}#1", file.filename().unwrap())), None);
    }
}
