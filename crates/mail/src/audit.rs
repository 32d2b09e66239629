//! The audit notice: an operator found calls that do not fit the habilitation's
//! purpose and tells its people, naming the calls by request id, endpoint and time
//! only (never their parameters: they are personal data).

use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Europe::Paris;

use crate::letter::{Address, Letter};
use crate::lifecycle::{Context, Parties};

/// At most this many calls are named in the letter: the most recent ones.
pub const AUDIT_CALLS_SHOWN: usize = 10;

/// One call named in an audit notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditedCall {
    /// The call's `X-Request-ID`.
    pub request_id: String,
    /// The route template, as the journal keeps it.
    pub endpoint: String,
    pub at: DateTime<Utc>,
}

/// What the letter says of the notice.
#[derive(Debug, Clone)]
pub struct AuditNotice<'a> {
    pub reason: &'a str,
    /// The volume the operator estimated ("environ 300 appels par jour").
    pub volume: &'a str,
    /// The offending calls, in any order: the letter names the most recent ones.
    pub calls: &'a [AuditedCall],
}

struct Shown {
    at: String,
    endpoint: String,
    request_id: String,
}

#[derive(Template)]
#[template(path = "audit_notice.txt")]
struct Body<'a> {
    ctx: &'a Context,
    reason: &'a str,
    volume: &'a str,
    calls: Vec<Shown>,
}

/// The notice's letters: one to each of the applicant, the technical contact and the
/// business contact (a person holding several of these roles gets one).
pub fn audit_notice_letters(ctx: &Context, parties: &Parties, notice: &AuditNotice) -> Vec<Letter> {
    let mut calls: Vec<&AuditedCall> = notice.calls.iter().collect();
    calls.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.request_id.cmp(&b.request_id)));
    let body = Body {
        ctx,
        reason: notice.reason,
        volume: notice.volume,
        calls: calls
            .into_iter()
            .take(AUDIT_CALLS_SHOWN)
            .map(|c| Shown {
                at: c.at.with_timezone(&Paris).format("%d/%m/%Y %H:%M:%S").to_string(),
                endpoint: c.endpoint.clone(),
                request_id: c.request_id.clone(),
            })
            .collect(),
    };
    // The template calls no fallible filter: rendering only writes to a String.
    let text = body.render().expect("rendering a text template");
    let subject = format!(
        "[{}] Habilitation n° {} : appels non conformes détectés",
        ctx.bouquet_label, ctx.demande_number
    );
    let mut reached: Vec<&Address> = Vec::new();
    for person in [
        Some(&parties.demandeur),
        parties.technique.as_ref(),
        parties.metier.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        if !reached.iter().any(|r| r.same_as(person)) {
            reached.push(person);
        }
    }
    reached
        .into_iter()
        .map(|person| Letter {
            to: vec![person.clone()],
            cc: Vec::new(),
            subject: subject.clone(),
            text: format!("{}\n\n{text}", person.greeting()),
            html: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::Bouquet;
    use chrono::{Duration, TimeZone};

    fn ctx() -> Context {
        Context {
            bouquet_label: "API Particulier".into(),
            bouquet: Bouquet::Particulier,
            demande_title: "Cantine".into(),
            demande_number: 12,
            demande_url: "https://habilitation.example/demandes/1".into(),
            token_url: "https://habilitation.example/demandes/1/jeton".into(),
            portal_url: "https://habilitation.example".into(),
            expires_on: None,
        }
    }

    fn parties() -> Parties {
        Parties {
            demandeur: Address::new("Camille Martin", "camille@ville.example"),
            technique: Some(Address::new("Karim Benali", "karim@ville.example")),
            metier: Some(Address::new("Camille", "CAMILLE@ville.example")),
            dpo: Some(Address::new("Paul", "dpd@ville.example")),
            responsable_traitement: None,
            instructors: vec![Address::new("", "nadia@numerique.example")],
            reporters: Vec::new(),
        }
    }

    #[test]
    fn each_contact_once_with_the_ten_most_recent_calls_in_paris_time() {
        let start = Utc.with_ymd_and_hms(2026, 7, 1, 8, 0, 0).unwrap();
        let calls: Vec<AuditedCall> = (0..12)
            .map(|i| AuditedCall {
                request_id: format!("req-{i:02}"),
                endpoint: "/v3/dss/quotient_familial/identite".into(),
                at: start + Duration::minutes(i),
            })
            .collect();
        let notice = AuditNotice {
            reason: "Appels sans lien avec la cantine",
            volume: "environ 300 par jour",
            calls: &calls,
        };
        let letters = audit_notice_letters(&ctx(), &parties(), &notice);
        let to: Vec<&str> = letters.iter().map(|l| l.to[0].email.as_str()).collect();
        assert_eq!(
            to,
            ["camille@ville.example", "karim@ville.example"],
            "no DPO, no one twice"
        );
        let text = &letters[1].text;
        assert!(text.starts_with("Bonjour Karim Benali,"), "{text}");
        assert!(letters[0].subject.contains("appels non conformes détectés"));
        assert!(text.contains("Appels sans lien avec la cantine") && text.contains("environ 300 par jour"));
        assert!(
            text.contains("req-11") && text.contains("req-02") && !text.contains("req-01"),
            "{text}"
        );
        assert!(text.contains("01/07/2026 10:11:00"), "Paris summer time: {text}");
        assert!(text.find("req-11") < text.find("req-10"), "newest first");
    }
}
