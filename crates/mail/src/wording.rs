//! Subjects and bodies of the lifecycle letters; bodies are askama templates
//! under `templates/`.

use askama::Template;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Europe::Paris;

use crate::expiry::next_notice;
use crate::lifecycle::{Context, Draft, Parties, Person, Roles};

#[derive(Template)]
#[template(path = "receipt.txt")]
struct Receipt<'a> {
    ctx: &'a Context,
    resubmission: bool,
    reopening: bool,
}

#[derive(Template)]
#[template(path = "to_instruct.txt")]
struct ToInstruct<'a> {
    ctx: &'a Context,
    demandeur: &'a str,
    resubmission: bool,
    reopening: bool,
}

#[derive(Template)]
#[template(path = "changes_requested.txt")]
struct ChangesRequested<'a> {
    ctx: &'a Context,
    reason: &'a str,
    reopening: bool,
}

#[derive(Template)]
#[template(path = "refused.txt")]
struct Refused<'a> {
    ctx: &'a Context,
    reason: &'a str,
    reopening: bool,
}

#[derive(Template)]
#[template(path = "approved.txt")]
struct Approved<'a> {
    ctx: &'a Context,
    roles: Roles,
    /// The technical contact, when someone else than the reader.
    technique: Option<&'a str>,
    gdpr_roles: String,
    message: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "designated.txt")]
struct Designated<'a> {
    ctx: &'a Context,
    gdpr_roles: String,
}

#[derive(Template)]
#[template(path = "reporter.txt")]
struct Reporter<'a> {
    ctx: &'a Context,
    validated: bool,
}

#[derive(Template)]
#[template(path = "update_approved.txt")]
struct UpdateApproved<'a> {
    ctx: &'a Context,
    message: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "revoked.txt")]
struct Revoked<'a> {
    ctx: &'a Context,
    reason: &'a str,
}

#[derive(Template)]
#[template(path = "transferred.txt")]
struct Transferred<'a> {
    ctx: &'a Context,
    /// True in the letter to the person who hands the demande over.
    outgoing: bool,
    other: &'a str,
}

#[derive(Template)]
#[template(path = "message_posted.txt")]
struct MessagePosted<'a> {
    ctx: &'a Context,
    by_instructor: bool,
    excerpt: &'a str,
}

#[derive(Template)]
#[template(path = "expiry_notice.txt")]
struct ExpiryNotice<'a> {
    ctx: &'a Context,
    days_left: i64,
    /// "15 jours".
    remaining: String,
    expires_on: Option<String>,
    /// When the following notice would come, e.g. "7 jours avant l'expiration".
    next_notice: Option<String>,
}

#[derive(Template)]
#[template(path = "token_banned.txt")]
struct TokenBanned<'a> {
    ctx: &'a Context,
    reason: &'a str,
    at: String,
    scheduled: bool,
    replaced: bool,
}

#[derive(Template)]
#[template(path = "token_rotated.txt")]
struct TokenRotated<'a> {
    ctx: &'a Context,
    by: &'a str,
    old_ends_at: Option<String>,
}

pub(crate) fn receipt(ctx: &Context, resubmission: bool, reopening: bool) -> Draft {
    let subject = format!("{} n° {} reçue", demande(reopening), ctx.demande_number);
    let body = Receipt {
        ctx,
        resubmission,
        reopening,
    };
    draft(ctx, subject, &body)
}

pub(crate) fn to_instruct(ctx: &Context, demandeur: &Person, resubmission: bool, reopening: bool) -> Draft {
    let n = ctx.demande_number;
    let subject = if reopening {
        format!("Demande de mise à jour n° {n} à instruire")
    } else if resubmission {
        format!("Demande n° {n} modifiée, à instruire de nouveau")
    } else {
        format!("Nouvelle demande n° {n} à instruire")
    };
    let body = ToInstruct {
        ctx,
        demandeur: &demandeur.name,
        resubmission,
        reopening,
    };
    draft(ctx, subject, &body)
}

pub(crate) fn changes_requested(ctx: &Context, reason: &str, reopening: bool) -> Draft {
    let subject = format!("{} n° {} à compléter", demande(reopening), ctx.demande_number);
    let body = ChangesRequested { ctx, reason, reopening };
    draft(ctx, subject, &body)
}

pub(crate) fn refused(ctx: &Context, reason: &str, reopening: bool) -> Draft {
    let subject = format!("{} n° {} refusée", demande(reopening), ctx.demande_number);
    let body = Refused { ctx, reason, reopening };
    draft(ctx, subject, &body)
}

pub(crate) fn approved(ctx: &Context, roles: Roles, parties: &Parties, message: Option<&str>) -> Draft {
    let n = ctx.demande_number;
    let subject = if roles.demandeur && roles.technique {
        format!("Habilitation n° {n} validée : récupérez votre jeton")
    } else if roles.demandeur {
        format!("Habilitation n° {n} validée")
    } else if roles.technique {
        format!("Habilitation n° {n} validée : vous êtes contact technique")
    } else {
        format!("Habilitation n° {n} validée : vous êtes contact métier")
    };
    let technique = parties
        .technique
        .as_ref()
        .filter(|_| !roles.technique)
        .map(|person| person.name.as_str());
    let body = Approved {
        ctx,
        roles,
        technique,
        gdpr_roles: gdpr_roles(roles),
        message,
    };
    draft(ctx, subject, &body)
}

pub(crate) fn designated(ctx: &Context, roles: Roles) -> Draft {
    let subject = format!(
        "Habilitation n° {} : information sur votre désignation",
        ctx.demande_number
    );
    let body = Designated {
        ctx,
        gdpr_roles: gdpr_roles(roles),
    };
    draft(ctx, subject, &body)
}

pub(crate) fn reporter(ctx: &Context, validated: bool) -> Draft {
    let n = ctx.demande_number;
    let subject = if validated {
        format!("Nouvelle habilitation validée (n° {n})")
    } else {
        format!("Nouvelle demande d'habilitation déposée (n° {n})")
    };
    draft(ctx, subject, &Reporter { ctx, validated })
}

pub(crate) fn update_approved(ctx: &Context, message: Option<&str>) -> Draft {
    let subject = format!("Mise à jour de l'habilitation n° {} validée", ctx.demande_number);
    draft(ctx, subject, &UpdateApproved { ctx, message })
}

pub(crate) fn revoked(ctx: &Context, reason: &str) -> Draft {
    let subject = format!("Habilitation n° {} révoquée", ctx.demande_number);
    draft(ctx, subject, &Revoked { ctx, reason })
}

pub(crate) fn transferred_away(ctx: &Context, to: &Person) -> Draft {
    let subject = format!("Habilitation n° {} transférée", ctx.demande_number);
    let body = Transferred {
        ctx,
        outgoing: true,
        other: &to.name,
    };
    draft(ctx, subject, &body)
}

pub(crate) fn transferred_to(ctx: &Context, from: &Person) -> Draft {
    let subject = format!("L'habilitation n° {} vous a été transférée", ctx.demande_number);
    let body = Transferred {
        ctx,
        outgoing: false,
        other: &from.name,
    };
    draft(ctx, subject, &body)
}

pub(crate) fn message(ctx: &Context, by_instructor: bool, excerpt: &str) -> Draft {
    let subject = format!("Nouveau message sur la demande n° {}", ctx.demande_number);
    let body = MessagePosted {
        ctx,
        by_instructor,
        excerpt,
    };
    draft(ctx, subject, &body)
}

pub(crate) fn expiry_notice(ctx: &Context, days_left: i64) -> Draft {
    let n = ctx.demande_number;
    let subject = match days_left {
        1.. => format!("Votre jeton expire dans {} (habilitation n° {n})", days(days_left)),
        0 => format!("Votre jeton expire aujourd'hui (habilitation n° {n})"),
        _ => format!("Votre jeton a expiré (habilitation n° {n})"),
    };
    let body = ExpiryNotice {
        ctx,
        days_left,
        remaining: days(days_left),
        expires_on: ctx.expires_on.map(french_date),
        next_notice: next_notice(days_left).map(|next| match next {
            0 => "le jour de l'expiration".to_owned(),
            _ => format!("{} avant l'expiration", days(next)),
        }),
    };
    draft(ctx, subject, &body)
}

#[derive(Template)]
#[template(path = "token_link.txt")]
struct TokenLink<'a> {
    ctx: &'a Context,
    sender: &'a str,
    link: &'a str,
    until: String,
}

pub(crate) fn token_link(ctx: &Context, sender: &str, link: &str, until: DateTime<Utc>) -> Draft {
    let subject = format!(
        "Jeton de l'habilitation n° {} : lien à usage unique",
        ctx.demande_number
    );
    let body = TokenLink {
        ctx,
        sender,
        link,
        until: french_date_time(until),
    };
    draft(ctx, subject, &body)
}

pub(crate) fn token_banned(ctx: &Context, reason: &str, at: DateTime<Utc>, scheduled: bool, replaced: bool) -> Draft {
    let n = ctx.demande_number;
    let subject = if scheduled {
        format!("Jeton de l'habilitation n° {n} banni le {}", french_date_time(at))
    } else {
        format!("Jeton de l'habilitation n° {n} désactivé")
    };
    let body = TokenBanned {
        ctx,
        reason,
        at: french_date_time(at),
        scheduled,
        replaced,
    };
    draft(ctx, subject, &body)
}

pub(crate) fn token_rotated(ctx: &Context, by: &str, old_ends_at: Option<DateTime<Utc>>) -> Draft {
    let subject = format!("Jeton de l'habilitation n° {} renouvelé", ctx.demande_number);
    let body = TokenRotated {
        ctx,
        by,
        old_ends_at: old_ends_at.map(french_date_time),
    };
    draft(ctx, subject, &body)
}

fn draft(ctx: &Context, subject: String, body: &impl Template) -> Draft {
    Draft {
        subject: format!("[{}] {subject}", ctx.bouquet_label),
        // The templates call no fallible filter: rendering only writes to a String.
        body: body.render().expect("rendering a text template"),
    }
}

fn demande(reopening: bool) -> &'static str {
    if reopening {
        "Demande de mise à jour"
    } else {
        "Demande"
    }
}

/// "délégué à la protection des données et responsable de traitement", or empty.
fn gdpr_roles(roles: Roles) -> String {
    let held = [
        (roles.dpo, "délégué à la protection des données"),
        (roles.responsable, "responsable de traitement"),
    ];
    let labels: Vec<&str> = held
        .iter()
        .filter(|(holds, _)| *holds)
        .map(|(_, label)| *label)
        .collect();
    labels.join(" et ")
}

/// "1 jour", "15 jours".
fn days(n: i64) -> String {
    if n.abs() > 1 {
        format!("{n} jours")
    } else {
        format!("{n} jour")
    }
}

/// "1er mars 2027", "15 juin 2027".
fn french_date(date: NaiveDate) -> String {
    const MONTHS: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    let day = match date.day() {
        1 => "1er".to_owned(),
        d => d.to_string(),
    };
    format!("{day} {} {}", MONTHS[date.month0() as usize], date.year())
}

/// "5 mars 2027 à 14 h 05", in metropolitan French time.
fn french_date_time(at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&Paris);
    format!(
        "{} à {} h {}",
        french_date(local.date_naive()),
        local.format("%H"),
        local.format("%M")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn dates_read_in_french() {
        let date = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
        assert_eq!(french_date(date), "1er mars 2027");
        let at = Utc.with_ymd_and_hms(2026, 8, 15, 12, 5, 0).unwrap();
        assert_eq!(french_date_time(at), "15 août 2026 à 14 h 05");
    }

    #[test]
    fn day_counts_agree() {
        assert_eq!(days(1), "1 jour");
        assert_eq!(days(15), "15 jours");
    }
}
