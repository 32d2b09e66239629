//! What each page shows, built from the domain (the templates only lay it out).

use askama::Template;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Europe::Paris;
use passerelle_habilitation::content::{ContactKind, CONTACT_PARTS};
use passerelle_habilitation::form::{step_of, Kind, Step, MODALITIES};
use passerelle_habilitation::workflow::{self, Agent, Demande, Staff};
use passerelle_habilitation::{possible, Event, Form, Role, State};
use passerelle_outbox::Status;
use passerelle_store::{DemandeEvent, DemandeRecord, OutboxItem, TokenRecord};

use crate::{App, BASE};

/// The logged-in agent, as the header shows them.
pub struct Who {
    pub name: String,
    pub csrf: String,
    pub instructor: bool,
    pub admin: bool,
    /// A user of a declared software editor: the editor's space is offered.
    pub editor: bool,
    /// The agent's e-mail while an admin sees the site as them (the banner).
    pub impersonated: Option<String>,
    /// One of a data provider's people (not an admin): their provider's pages are offered.
    pub provider: bool,
}

pub(crate) fn paris(at: DateTime<Utc>) -> String {
    at.with_timezone(&Paris).format("%d/%m/%Y %H:%M").to_string()
}

pub(crate) fn day(at: DateTime<Utc>) -> String {
    at.with_timezone(&Paris).format("%d/%m/%Y").to_string()
}

/// To the second: a journal's or a call's time.
pub(crate) fn paris_seconds(at: DateTime<Utc>) -> String {
    at.with_timezone(&Paris).format("%d/%m/%Y %H:%M:%S").to_string()
}

#[derive(Template)]
#[template(path = "problem.html")]
pub struct Problem<'a> {
    pub base: &'static str,
    pub who: Option<Who>,
    pub title: &'a str,
    pub detail: &'a str,
    pub back: &'a str,
}

#[derive(Clone)]
pub struct BouquetCard {
    pub label: &'static str,
    pub forms: usize,
    pub median: String,
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct Home {
    pub base: &'static str,
    pub who: Option<Who>,
    pub bouquets: Vec<BouquetCard>,
}

/// The median time from first submission to decision over the last three months,
/// in days; DataPass's "about 11 days" when nothing was decided.
pub fn median_delay(demandes: &[DemandeRecord], now: DateTime<Utc>) -> String {
    let since = now - Duration::days(91);
    let mut hours: Vec<i64> = demandes
        .iter()
        .filter_map(|d| Some((d.submitted_at?, d.decided_at?)))
        .filter(|(_, decided)| *decided >= since)
        .map(|(submitted, decided)| (decided - submitted).num_hours())
        .collect();
    if hours.is_empty() {
        return "environ 11 jours (pas encore de décision sur la période)".into();
    }
    hours.sort_unstable();
    let median = hours[hours.len() / 2];
    match median / 24 {
        0 => "moins d'un jour".into(),
        1 => "1 jour".into(),
        n => format!("{n} jours"),
    }
}

pub struct Row {
    pub id: String,
    pub number: i64,
    pub title: String,
    pub bouquet: &'static str,
    pub state: &'static str,
    pub updated: String,
}

impl Row {
    pub fn of(d: &Demande) -> Row {
        Row {
            id: d.id.to_string(),
            number: d.number,
            title: d.title().into(),
            bouquet: workflow::bouquet_label(&d.bouquet),
            state: d.standing.state.label(),
            updated: paris(d.updated_at),
        }
    }
}

#[derive(Template)]
#[template(path = "list.html")]
pub struct List<'a> {
    pub base: &'static str,
    pub who: Option<Who>,
    pub siret: &'a str,
    pub rows: Vec<Row>,
}

pub struct FormCard {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub kind: String,
}

impl FormCard {
    pub fn of(form: &Form) -> FormCard {
        let kind = match (&form.kind, &form.editor) {
            (Kind::Libre, _) => "Formulaire par défaut".to_string(),
            (Kind::UseCase, _) => "Cas d'usage".to_string(),
            (Kind::Editor, Some(editor)) => format!("Offre d'éditeur : {editor}"),
            (Kind::Editor, None) => "Offre d'éditeur".to_string(),
        };
        FormCard {
            id: form.id.clone(),
            title: form.title.clone(),
            summary: form.summary.clone(),
            kind,
        }
    }
}

#[derive(Template)]
#[template(path = "choose.html")]
pub struct Choose<'a> {
    pub base: &'static str,
    pub who: Option<Who>,
    pub label: &'static str,
    pub csrf: &'a str,
    pub forms: Vec<FormCard>,
}

// Editing.

pub struct Field {
    pub key: String,
    pub label: String,
    pub kind: &'static str,
    pub value: String,
    pub problem: Option<String>,
}

pub struct Check {
    pub value: String,
    pub label: String,
    pub checked: bool,
    pub locked: bool,
}

pub struct CheckGroup {
    pub legend: String,
    pub name: &'static str,
    pub items: Vec<Check>,
}

pub struct Section {
    pub title: &'static str,
    pub locked: bool,
    pub fields: Vec<Field>,
    pub checks: Vec<CheckGroup>,
}

#[derive(Template)]
#[template(path = "edit.html")]
pub struct Edit<'a> {
    pub base: &'static str,
    pub who: Option<Who>,
    pub id: String,
    pub number: i64,
    pub version: i64,
    pub form_title: String,
    pub csrf: &'a str,
    pub sections: Vec<Section>,
}

/// How each field of `form::FIELDS` reads and is typed on the page.
const FIELD_LABELS: &[(&str, &str, &str)] = &[
    ("intitule", "Nom du projet (public)", "text"),
    (
        "description",
        "Description : à quoi serviront les données, pour qui",
        "textarea",
    ),
    (
        "date_prevue_mise_en_production",
        "Date prévue de mise en service (facultatif)",
        "date",
    ),
    (
        "volumetrie_approximative",
        "Nombre de dossiers par an (facultatif)",
        "number",
    ),
    (
        "cadre_juridique_nature",
        "Nature et références du texte (délibération, décret, arrêté…)",
        "textarea",
    ),
    (
        "cadre_juridique_url",
        "Adresse du texte (ou joignez-le en PDF depuis le résumé)",
        "url",
    ),
    (
        "destinataire_donnees_caractere_personnel",
        "Destinataires des données",
        "textarea",
    ),
    (
        "duree_conservation_donnees_caractere_personnel",
        "Durée de conservation, en mois",
        "number",
    ),
    (
        "duree_conservation_donnees_caractere_personnel_justification",
        "Justification de la durée (obligatoire au-delà de 36 mois)",
        "textarea",
    ),
];

impl<'a> Edit<'a> {
    pub fn of(d: &Demande, form: &Form, csrf: &'a str, who: Option<Who>) -> Edit<'a> {
        let problems = d
            .body
            .content
            .problems(form, &passerelle_habilitation::known_scopes(&d.bouquet));
        // Only what was written wrong is flagged here; what is still empty is listed on
        // the demande's page, not shouted at an agent who has only begun.
        let written = |key: &str| !d.body.content.field(key).trim().is_empty();
        let problem = |key: &str| {
            let found = problems.iter().find(|p| p.field == key && written(key));
            found.map(|p| p.message.clone())
        };
        let sections = form
            .steps
            .iter()
            .map(|step| section(d, form, *step, &problem))
            .collect();
        Edit {
            base: BASE,
            who,
            id: d.id.to_string(),
            number: d.number,
            version: d.version,
            form_title: form.title.clone(),
            csrf,
            sections,
        }
    }
}

fn section(d: &Demande, form: &Form, step: Step, problem: &dyn Fn(&str) -> Option<String>) -> Section {
    let content = &d.body.content;
    let field = |key: &str, label: &str, kind: &'static str| Field {
        key: key.into(),
        label: label.into(),
        kind,
        value: content.field(key).into(),
        problem: problem(key),
    };
    let mut fields: Vec<Field> = FIELD_LABELS
        .iter()
        .filter(|(key, ..)| step_of(key) == Some(step))
        .map(|(key, label, kind)| field(key, label, kind))
        .collect();
    let mut checks = Vec::new();
    match step {
        Step::Contacts => {
            for kind in ContactKind::of(&d.bouquet) {
                for (part, label) in CONTACT_PARTS {
                    let input = match *part {
                        "email" => "email",
                        "phone_number" => "tel",
                        _ => "text",
                    };
                    fields.push(field(
                        &format!("{}_{part}", kind.key()),
                        &format!("{} — {label}", kind.label()),
                        input,
                    ));
                }
            }
        }
        Step::Scopes => checks = scope_groups(d, form),
        Step::Modalities => checks.push(CheckGroup {
            legend: "Comment les données seront demandées".into(),
            name: "modalities",
            items: MODALITIES
                .iter()
                .map(|(key, label)| Check {
                    value: key.to_string(),
                    label: label.to_string(),
                    checked: content.modalities.contains(*key),
                    locked: false,
                })
                .collect(),
        }),
        _ => {}
    }
    Section {
        title: step.title(),
        locked: form.locks(step),
        fields,
        checks,
    }
}

/// The offered scopes, grouped by the provider their name starts with.
fn scope_groups(d: &Demande, form: &Form) -> Vec<CheckGroup> {
    let known = passerelle_habilitation::known_scopes(&d.bouquet);
    let mut groups: Vec<CheckGroup> = Vec::new();
    for scope in form.offered(&known) {
        let prefix = scope.split('_').next().unwrap_or(scope).to_uppercase();
        let check = Check {
            value: scope.to_string(),
            label: scope.replace('_', " "),
            checked: d.body.content.scopes.contains(scope),
            locked: form.locked_scopes.iter().any(|s| s == scope),
        };
        match groups.iter_mut().find(|g| g.legend == prefix) {
            Some(group) => group.items.push(check),
            None => groups.push(CheckGroup {
                legend: prefix,
                name: "scopes",
                items: vec![check],
            }),
        }
    }
    groups
}

// The demande's page.

pub struct DemandeView {
    pub id: String,
    pub number: i64,
    pub version: i64,
    pub reopening: bool,
    pub title: String,
    pub state: String,
    pub bouquet: &'static str,
    pub form_title: String,
    pub organisation: String,
    pub address: String,
    pub siret: String,
    pub applicant: String,
}

pub struct ActionView {
    pub event: &'static str,
    pub label: &'static str,
    pub button: &'static str,
    pub reason: bool,
    pub reason_label: &'static str,
    pub secondary: bool,
    pub templates: Vec<(&'static str, &'static str)>,
}

pub struct HistoryLine {
    pub label: &'static str,
    pub at: String,
    pub actor: String,
    pub text: Option<String>,
}

pub struct DocumentLine {
    pub id: String,
    pub filename: String,
    pub size: String,
}

#[derive(Template)]
#[template(path = "demande.html")]
pub struct ShowPage<'a> {
    pub base: &'static str,
    pub who: Option<Who>,
    pub d: DemandeView,
    pub csrf: &'a str,
    pub notice: Option<&'static str>,
    pub problems: Vec<String>,
    pub has_token: bool,
    pub summary: Vec<(String, String)>,
    pub documents: Vec<DocumentLine>,
    pub editable: bool,
    pub editable_by_me: bool,
    pub actions: Vec<ActionView>,
    pub history: Vec<HistoryLine>,
}

pub struct Show;

impl Show {
    pub fn of<'a>(
        app: &App,
        d: &Demande,
        form: &Form,
        agent: &Agent,
        csrf: &'a str,
        events: &[DemandeEvent],
        done: Option<&str>,
    ) -> ShowPage<'a> {
        let roles = d.roles(agent, &app.site.staff);
        let editable = d.editable_by(agent, &app.site.staff);
        let problems = if editable {
            let known = passerelle_habilitation::known_scopes(&d.bouquet);
            d.body
                .content
                .problems(form, &known)
                .into_iter()
                .map(|p| p.message)
                .collect()
        } else {
            Vec::new()
        };
        let may_read_documents = !roles.is_empty();
        ShowPage {
            base: BASE,
            who: None,
            d: DemandeView {
                id: d.id.to_string(),
                number: d.number,
                version: d.version,
                reopening: d.standing.reopening,
                title: d.title().into(),
                state: state_label(d),
                bouquet: workflow::bouquet_label(&d.bouquet),
                form_title: form.title.clone(),
                organisation: d.body.organisation.clone().unwrap_or_else(|| "Organisation".into()),
                address: d.body.address.clone().unwrap_or_default(),
                siret: d.siret.clone(),
                applicant: d.body.applicant.email.clone(),
            },
            csrf,
            notice: done.and_then(notice),
            problems,
            has_token: d.body.token.is_some() && d.may_see_token(agent, &app.site.staff),
            summary: summary(d, form),
            documents: if may_read_documents { documents(d) } else { Vec::new() },
            editable,
            editable_by_me: editable,
            // DataPass's demandes change in DataPass.
            actions: if d.managed_by_datapass() {
                Vec::new()
            } else {
                actions(d, &roles)
            },
            history: events
                .iter()
                .map(|e| history_line(e, &app.site.staff, &d.bouquet))
                .collect(),
        }
    }
}

fn state_label(d: &Demande) -> String {
    let label = d.standing.state.label();
    if d.standing.reopening {
        format!("{label} (mise à jour d'une habilitation en vigueur)")
    } else {
        label.into()
    }
}

fn notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "enregistree" => "Vos modifications sont enregistrées.",
        "document" => "Le document est joint à la demande.",
        "submit" => "Votre demande est déposée : un instructeur va l'examiner. Un accusé de réception vous est envoyé.",
        "request_changes" => "La demande de modifications est envoyée au demandeur.",
        "approve" => "La demande est validée : le jeton est créé.",
        "refuse" => "Le refus est notifié au demandeur.",
        "revoke" => "L'habilitation est révoquée : le jeton est refusé dès maintenant.",
        "message" => "Votre message est envoyé.",
        "reopen" => "La demande est rouverte : l'habilitation reste en vigueur pendant la mise à jour.",
        "archive" => "La demande est archivée.",
        "transfer" => "La demande est transférée.",
        "cancel_reopening" => "La mise à jour est abandonnée.",
        _ => return None,
    })
}

fn summary(d: &Demande, form: &Form) -> Vec<(String, String)> {
    let content = &d.body.content;
    let mut lines: Vec<(String, String)> = FIELD_LABELS
        .iter()
        .filter(|(key, ..)| step_of(key).is_some_and(|step| form.steps.contains(&step)))
        .map(|(key, label, _)| (label.to_string(), content.field(key).to_string()))
        .filter(|(_, value)| !value.is_empty())
        .collect();
    let scopes: Vec<&str> = content.scopes.iter().map(String::as_str).collect();
    lines.push(("Données demandées".into(), scopes.join(", ")));
    if form.steps.contains(&Step::Modalities) {
        let modalities: Vec<&str> = content.modalities.iter().map(String::as_str).collect();
        lines.push(("Modalités".into(), modalities.join(", ")));
    }
    for kind in ContactKind::of(&d.bouquet) {
        let part = |p: &str| content.field(&format!("{}_{p}", kind.key())).to_string();
        let person = format!(
            "{} {} — {} — {}",
            part("given_name"),
            part("family_name"),
            part("email"),
            part("job_title")
        );
        lines.push((kind.label().into(), person));
    }
    lines
}

fn documents(d: &Demande) -> Vec<DocumentLine> {
    d.body
        .content
        .documents
        .iter()
        .map(|doc| DocumentLine {
            id: doc.id.to_string(),
            filename: doc.filename.clone(),
            size: format!("{} Ko", doc.size.div_ceil(1024)),
        })
        .collect()
}

fn actions(d: &Demande, roles: &[Role]) -> Vec<ActionView> {
    possible(d.standing, roles)
        .into_iter()
        .filter_map(action_view)
        .collect()
}

fn action_view(event: Event) -> Option<ActionView> {
    let plain = |label, button, secondary| ActionView {
        event: event.as_str(),
        label,
        button,
        reason: false,
        reason_label: "",
        secondary,
        templates: Vec::new(),
    };
    let with_reason = |label, button, reason_label, templates: Vec<(&'static str, &'static str)>| ActionView {
        reason: true,
        reason_label,
        templates,
        ..plain(label, button, false)
    };
    Some(match event {
        Event::Submit => plain("Déposer la demande", "Déposer la demande", false),
        Event::RequestChanges => with_reason(
            "Demander des modifications",
            "Demander des modifications",
            "Ce qu'il faut modifier (obligatoire)",
            templates_of(event),
        ),
        Event::Approve => with_reason(
            "Valider la demande",
            "Valider et créer le jeton",
            "Message au demandeur (facultatif)",
            templates_of(event),
        ),
        Event::Refuse => with_reason(
            "Refuser la demande",
            "Refuser",
            "Motif du refus (obligatoire)",
            templates_of(event),
        ),
        Event::Revoke => with_reason(
            "Révoquer l'habilitation",
            "Révoquer",
            "Motif de la révocation (obligatoire)",
            Vec::new(),
        ),
        Event::Message => with_reason("Écrire un message", "Envoyer le message", "Votre message", Vec::new()),
        Event::Archive => plain("Archiver la demande", "Archiver", true),
        Event::Reopen => plain(
            "Mettre à jour l'habilitation (données, contacts, cadre juridique)",
            "Rouvrir pour mise à jour",
            true,
        ),
        Event::CancelReopening => plain("Abandonner la mise à jour", "Abandonner la mise à jour", true),
        Event::Transfer => plain("Transférer la demande à un autre agent", "Transférer", true),
        Event::Create | Event::Update => return None,
    })
}

/// The instructors' message templates (at most three per event, as DataPass).
const TEMPLATES: &[(Event, &str, &str, &str)] = &[
    (
        Event::RequestChanges,
        "deliberation",
        "Délibération manquante",
        "Merci de joindre la délibération de votre assemblée qui fixe l'usage des données (tarifs, aide) : la seule citation de l'article L114-8 du CRPA ne suffit pas.",
    ),
    (
        Event::RequestChanges,
        "donnees",
        "Données trop larges",
        "Certaines données demandées ne sont pas nécessaires à la démarche décrite. Merci de ne garder que celles qu'elle exige et de justifier les autres.",
    ),
    (
        Event::RequestChanges,
        "contacts",
        "Contacts incomplets",
        "Merci de compléter les contacts : le contact technique et le délégué à la protection des données doivent être des personnes joignables.",
    ),
    (
        Event::Refuse,
        "eligibilite",
        "Organisation non éligible",
        "Seules les administrations et les organismes chargés d'une mission de service public peuvent accéder à ces données.",
    ),
    (
        Event::Refuse,
        "cadre",
        "Cadre juridique absent",
        "Aucun texte ne fonde l'accès aux données demandées pour cette démarche.",
    ),
    (
        Event::Approve,
        "bienvenue",
        "Validation standard",
        "Votre demande est validée. Le jeton est disponible sur la page de la demande pour le demandeur et le contact technique.",
    ),
];

fn templates_of(event: Event) -> Vec<(&'static str, &'static str)> {
    TEMPLATES.iter().filter(|t| t.0 == event).map(|t| (t.1, t.2)).collect()
}

/// The reason an instructor sends: their text, or the chosen template's.
pub fn reason(d: &Demande, event: Event, template: &str, written: &str) -> String {
    if !written.trim().is_empty() || template.is_empty() {
        return written.trim().to_string();
    }
    TEMPLATES
        .iter()
        .find(|t| t.0 == event && t.1 == template)
        .map(|t| format!("Demande n° {} « {} » : {}", d.number, d.title(), t.3))
        .unwrap_or_default()
}

fn history_line(e: &DemandeEvent, staff: &Staff, bouquet: &str) -> HistoryLine {
    let body: serde_json::Value = serde_json::from_str(&e.body).unwrap_or_default();
    let text = ["reason", "message"]
        .iter()
        .find_map(|k| body[k].as_str().map(str::to_string))
        .or_else(|| body["document"].as_str().map(|name| format!("Document joint : {name}")))
        .or_else(|| body.get("document_removed").map(|_| "Document retiré".to_string()))
        .or_else(|| {
            body["changes"]
                .as_array()
                .filter(|c| !c.is_empty())
                .map(|c| changed_fields(c))
        });
    let who = if staff.listed_instructor(&e.actor, bouquet) || staff.listed_admin(&e.actor) {
        format!("{} (instruction)", e.actor)
    } else {
        e.actor.clone()
    };
    HistoryLine {
        label: Event::parse(&e.kind)
            .map(Event::label)
            .unwrap_or(match e.kind.as_str() {
                passerelle_habilitation::tokens::EVENT => "Jetons gérés",
                passerelle_habilitation::delegations::EVENT => "Délégation à un éditeur",
                passerelle_habilitation::audit::EVENT => "Appels non conformes signalés",
                _ => "Événement",
            }),
        at: paris(e.at),
        actor: who,
        text,
    }
}

fn changed_fields(changes: &[serde_json::Value]) -> String {
    let names: Vec<&str> = changes.iter().filter_map(|c| c["field"].as_str()).collect();
    format!("Champs modifiés : {}", names.join(", "))
}

// The token.

#[derive(Template)]
#[template(path = "token.html")]
pub struct TokenPage {
    pub base: &'static str,
    pub who: Option<Who>,
    pub id: String,
    pub number: i64,
    pub state: &'static str,
    pub expires: String,
    pub scopes: String,
    pub jwt: String,
}

impl TokenPage {
    pub fn of(d: &Demande, record: &TokenRecord, jwt: String, who: Option<Who>) -> TokenPage {
        let now = Utc::now();
        let state = match (record.revoked_at, record.expires_at < now) {
            (Some(at), _) if at <= now => "révoqué",
            (_, true) => "expiré",
            (Some(_), false) => "banni à une date prochaine, répond jusque-là",
            (None, false) => "actif",
        };
        TokenPage {
            base: BASE,
            who,
            id: d.id.to_string(),
            number: d.number,
            state,
            expires: day(record.expires_at),
            scopes: record.scopes.join(", "),
            jwt,
        }
    }
}

// Instruction.

pub struct QueueRow {
    pub id: String,
    pub number: i64,
    pub title: String,
    pub organisation: String,
    pub bouquet: &'static str,
    pub state: &'static str,
    pub submitted: String,
    pub submitted_at: Option<DateTime<Utc>>,
    pub unread: bool,
}

impl QueueRow {
    pub fn of(d: &Demande) -> QueueRow {
        QueueRow {
            id: d.id.to_string(),
            number: d.number,
            title: d.title().into(),
            organisation: d.body.organisation.clone().unwrap_or_else(|| d.siret.clone()),
            bouquet: workflow::bouquet_label(&d.bouquet),
            state: d.standing.state.label(),
            submitted: d.submitted_at.map(day).unwrap_or_default(),
            submitted_at: d.submitted_at,
            unread: d.body.unanswered,
        }
    }
}

#[derive(Template)]
#[template(path = "instruct.html")]
pub struct Instruct<'a> {
    pub base: &'static str,
    pub who: Option<Who>,
    pub states: Vec<(&'static str, &'static str, bool)>,
    pub q: &'a str,
    pub rows: Vec<QueueRow>,
}

const FILTERS: &[(&str, &str)] = &[
    ("a_instruire", "À instruire (déposées)"),
    ("changes_requested", "Modifications demandées"),
    ("validated", "Validées"),
    ("refused", "Refusées"),
    ("revoked", "Révoquées"),
    ("toutes", "Toutes"),
];

pub fn state_filter(chosen: &str) -> Vec<(&'static str, &'static str, bool)> {
    FILTERS.iter().map(|(v, l)| (*v, *l, *v == chosen)).collect()
}

/// Whether the demande passes the dashboard's filters.
pub fn matches(d: &Demande, state: &str, q: &str) -> bool {
    let state_ok = match state {
        "a_instruire" => d.standing.state == State::Submitted,
        "toutes" => d.standing.state != State::Archived,
        other => d.standing.state.as_str() == other,
    };
    let q = q.trim().to_lowercase();
    let text_ok = q.is_empty()
        || [
            d.title().to_lowercase(),
            d.siret.clone(),
            d.number.to_string(),
            d.body.applicant.email.to_lowercase(),
            d.body.organisation.clone().unwrap_or_default().to_lowercase(),
        ]
        .iter()
        .any(|t| t.contains(&q));
    state_ok && text_ok
}

/// An IPv4 or IPv6 address, or a CIDR block of one.
pub fn ip_range(text: &str) -> bool {
    let (ip, bits) = text.split_once('/').unwrap_or((text, ""));
    let Ok(ip) = ip.parse::<std::net::IpAddr>() else {
        return false;
    };
    let most = if ip.is_ipv4() { 32 } else { 128 };
    bits.is_empty() || bits.parse::<u8>().is_ok_and(|b| b <= most)
}

// The admin's outbox.

pub struct OutboxRow {
    pub id: String,
    pub dead: bool,
    pub at: String,
    pub channel: &'static str,
    pub to: String,
    pub subject: String,
    pub state: String,
    pub attempts: i32,
}

#[derive(Template)]
#[template(path = "outbox.html")]
pub struct Outbox {
    pub base: &'static str,
    pub who: Option<Who>,
    pub csrf: String,
    pub mode: &'static str,
    pub rows: Vec<OutboxRow>,
}

impl Outbox {
    pub fn of(items: &[OutboxItem], who: Option<Who>) -> Outbox {
        Outbox {
            base: BASE,
            csrf: who.as_ref().map(|w| w.csrf.clone()).unwrap_or_default(),
            who,
            mode: "Chaque événement d'une demande écrit ses courriels et ses webhooks dans la même transaction ; ils partent ensuite, avec de nouvelles tentatives en cas d'échec.",
            rows: items.iter().map(outbox_row).collect(),
        }
    }
}

fn outbox_row(item: &OutboxItem) -> OutboxRow {
    let body: serde_json::Value = serde_json::from_str(&item.body).unwrap_or_default();
    let (channel, to, subject) = if item.channel == "mail" {
        let emails = |list: &serde_json::Value| {
            list.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|p| p["email"].as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default()
        };
        let cc = emails(&body["cc"]);
        let to = if cc.is_empty() {
            emails(&body["to"])
        } else {
            format!("{} (copie : {cc})", emails(&body["to"]))
        };
        ("courriel", to, body["subject"].as_str().unwrap_or_default().to_string())
    } else {
        let target = body["target"].as_str().unwrap_or_default().to_string();
        (
            "webhook",
            target,
            body["envelope"]["event"].as_str().unwrap_or_default().to_string(),
        )
    };
    let state = match passerelle_outbox::status(item) {
        Status::Pending => "en attente".to_string(),
        Status::Retrying => format!(
            "nouvel essai le {} ({})",
            paris(item.next_at),
            item.last_error.clone().unwrap_or_default()
        ),
        Status::Sent => format!("parti le {}", item.done_at.map(paris).unwrap_or_default()),
        Status::Kept => format!(
            "conservé, non envoyé (pas de serveur de courriel configuré) le {}",
            item.done_at.map(paris).unwrap_or_default()
        ),
        Status::Dropped => format!(
            "non envoyé, plus de destinataire, le {} ({})",
            item.done_at.map(paris).unwrap_or_default(),
            item.last_error.clone().unwrap_or_default()
        ),
        Status::Dead => format!(
            "abandonné le {} : {}",
            item.dead_at.map(paris).unwrap_or_default(),
            item.last_error.clone().unwrap_or_default()
        ),
    };
    OutboxRow {
        id: item.id.to_string(),
        dead: item.dead_at.is_some(),
        at: paris(item.created_at),
        channel,
        to,
        subject,
        state,
        attempts: item.attempts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_ranges() {
        assert!(ip_range("192.0.2.0/24"));
        assert!(ip_range("2001:db8::/32"));
        assert!(ip_range("198.51.100.7"));
        assert!(!ip_range("192.0.2.0/33"));
        assert!(!ip_range("exemple.fr"));
    }
}
