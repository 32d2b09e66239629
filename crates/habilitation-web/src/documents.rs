//! The legal-basis documents: PDF only (known by their content, not their name), at
//! most 10 MB and six per demande, kept in the object store under
//! `habilitations/<demande>/<document>`, shown only to the demande's people, its
//! instructors and admins, and always sent as a download.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use passerelle_habilitation::content::{Document, MAX_DOCUMENTS, MAX_DOCUMENT_BYTES};
use passerelle_habilitation::workflow::Action;
use passerelle_habilitation::{is_pdf, Step};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::pages::{self, Fault};
use crate::{App, BASE};

/// The largest request body: one document and the form around it.
pub const MAX_UPLOAD: usize = MAX_DOCUMENT_BYTES + 64 * 1024;

/// The object store of the documents configuration (`[documents]`).
pub fn objects_in(backend: &passerelle_documents::Backend) -> anyhow::Result<Arc<dyn ObjectStore>> {
    Ok(passerelle_documents::objects(backend)?)
}

fn object_path(demande: Uuid, document: Uuid) -> ObjectPath {
    ObjectPath::from(format!("habilitations/{demande}/{document}.pdf"))
}

pub async fn upload(
    State(app): State<Arc<App>>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, Fault> {
    let session = pages::logged_in(&app, &headers).await?;
    let (csrf, file) = read_upload(multipart).await?;
    pages::check_csrf(&session, &csrf)?;
    let (demande, form) = pages::load(&app, id, &session).await?;
    let agent = session.agent.as_ref().expect("logged in");
    // Checked before anything is stored: no orphan bytes from a refused upload.
    if !demande.editable_by(agent, &app.site.staff) || form.locks(Step::Legal) {
        return Err(Fault::forbidden(
            "Seul le demandeur joint des documents, tant que la demande est modifiable.",
        ));
    }
    let Some((filename, bytes)) = file else {
        return Err(Fault::bad("Aucun fichier", "Choisissez un fichier PDF à joindre."));
    };
    if demande.body.content.documents.len() >= MAX_DOCUMENTS {
        return Err(Fault::bad(
            "Trop de documents",
            "Au plus six documents peuvent être joints.",
        ));
    }
    if !is_pdf(&bytes) {
        return Err(Fault::bad(
            "Ce fichier n'est pas un PDF",
            "Seuls les documents PDF sont acceptés ; ce fichier n'en est pas un, quel que soit son nom.",
        ));
    }
    let document = Document {
        id: Uuid::new_v4(),
        filename: clean_name(&filename),
        size: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(&bytes)),
    };
    let path = object_path(demande.id, document.id);
    app.objects
        .put(&path, bytes.into())
        .await
        .map_err(|e| Fault::internal(e.into()))?;
    if let Err(refused) = pages::commit(&app, &demande, &form, &session, Action::AttachDocument(document)).await {
        let _ = app.objects.delete(&path).await;
        return Err(refused);
    }
    Ok(Redirect::to(&format!("{BASE}/demandes/{id}?fait=document")).into_response())
}

/// The CSRF token and the file (name, bytes) of an upload form, with the size checked
/// while reading.
async fn read_upload(mut multipart: Multipart) -> Result<(String, Option<(String, Vec<u8>)>), Fault> {
    let (mut csrf, mut file) = (String::new(), None);
    let unreadable = |_| {
        Fault::bad(
            "Envoi illisible",
            "Le formulaire envoyé n'a pas pu être lu ; réessayez.",
        )
    };
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(unreadable)?,
            Some("document") => {
                let name = field.file_name().unwrap_or("document.pdf").to_string();
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    if bytes.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                        return Err(Fault::bad("Fichier trop lourd", "Un document pèse 10 Mo au plus."));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                if !bytes.is_empty() {
                    file = Some((name, bytes));
                }
            }
            _ => {}
        }
    }
    Ok((csrf, file))
}

/// A file name safe to show and to send back in a header.
fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let kept: String = base
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ' '))
        .take(120)
        .collect();
    match kept.trim() {
        "" => "document.pdf".into(),
        name if name.to_lowercase().ends_with(".pdf") => name.into(),
        name => format!("{name}.pdf"),
    }
}

pub async fn download(
    State(app): State<Arc<App>>,
    Path((id, doc)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
) -> Result<Response, Fault> {
    let session = pages::logged_in(&app, &headers).await?;
    let (demande, _) = pages::load(&app, id, &session).await?;
    let agent = session.agent.as_ref().expect("logged in");
    if demande.roles(agent, &app.site.staff).is_empty() {
        return Err(Fault::forbidden(
            "Seules les personnes de la demande et ses instructeurs voient ses documents.",
        ));
    }
    let Some(document) = demande.body.content.documents.iter().find(|d| d.id == doc) else {
        return Err(Fault::not_found());
    };
    let object = app
        .objects
        .get(&object_path(id, doc))
        .await
        .map_err(|e| Fault::internal(e.into()))?;
    let body = Body::from_stream(object.into_stream());
    let disposition = disposition(&document.filename);
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CONTENT_LENGTH, document.size.to_string()),
        ],
        body,
    )
        .into_response())
}

pub async fn remove(
    State(app): State<Arc<App>>,
    Path((id, doc)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<pages::CsrfOnly>,
) -> Result<Response, Fault> {
    let session = pages::logged_in(&app, &headers).await?;
    pages::check_csrf(&session, &form.csrf)?;
    let (demande, template) = pages::load(&app, id, &session).await?;
    pages::commit(&app, &demande, &template, &session, Action::RemoveDocument(doc)).await?;
    // The bytes stay: the history names them, and an auditor may need them.
    Ok(Redirect::to(&format!("{BASE}/demandes/{id}")).into_response())
}

/// `attachment` with an ASCII name for old clients and the UTF-8 name (RFC 6266).
fn disposition(filename: &str) -> String {
    let ascii: String = filename.chars().map(|c| if c.is_ascii() { c } else { '_' }).collect();
    let encoded: String = filename
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd.pdf");
        assert_eq!(clean_name("Délibération 2026.pdf"), "Délibération 2026.pdf");
        assert_eq!(clean_name("a\"b;c.PDF"), "abc.PDF");
        assert_eq!(clean_name(""), "document.pdf");
    }

    #[test]
    fn dispositions_carry_both_names() {
        assert_eq!(
            disposition("Délib 1.pdf"),
            "attachment; filename=\"D_lib 1.pdf\"; filename*=UTF-8''D%C3%A9lib%201.pdf"
        );
    }
}
