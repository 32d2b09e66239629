//! What `/statut` shows, made from what the store and the configuration hold: each
//! provider's state now and its 90 days, the bouquet's overall state, the notices and
//! the maintenance windows. No I/O here.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Europe::Paris;
use passerelle_bouquet::MaintenanceWindow;
use passerelle_store::{CheckDay, CheckStatus, Notice, NoticeKind};

use crate::french;

/// The days the bar shows, today included.
pub const DAYS: i64 = 90;

/// What the page is made from.
pub struct Inputs {
    pub now: DateTime<Utc>,
    /// `API Particulier`.
    pub title: &'static str,
    /// Each provider's id and name, in the order shown.
    pub providers: Vec<(String, String)>,
    pub days: Vec<CheckDay>,
    pub notices: Vec<Notice>,
    /// Every window of this bouquet's providers: the operator's and their own.
    pub windows: Vec<MaintenanceWindow>,
    /// A last check older than this says nothing about now.
    pub stale_after: Duration,
}

pub struct View {
    pub overall: Overall,
    pub providers: Vec<ProviderView>,
    /// Notices not over: under way or announced.
    pub current: Vec<NoticeView>,
    pub past: Vec<NoticeView>,
    pub windows: Vec<WindowView>,
    pub first_day: String,
    pub last_day: String,
}

/// The bouquet's state now, as a DSFR alert.
pub struct Overall {
    /// `tout-va-bien`, `degrade`, `panne`, `maintenance`, `inconnu`.
    pub code: &'static str,
    /// `success`, `warning`, `error`, `info`.
    pub alert: &'static str,
    pub title: String,
    pub detail: String,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum State {
    Up,
    Down,
    Maintenance,
    /// The provider has no check of its own.
    Unknown,
    /// No check recorded lately.
    Unmeasured,
}

impl State {
    pub fn code(&self) -> &'static str {
        match self {
            State::Up => "ok",
            State::Down => "panne",
            State::Maintenance => "maintenance",
            State::Unknown => "inconnu",
            State::Unmeasured => "sans-mesure",
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            State::Up => "Opérationnel",
            State::Down => "En panne",
            State::Maintenance => "En maintenance",
            State::Unknown => "Non vérifiable",
            State::Unmeasured => "Pas de mesure récente",
        }
    }

    /// The DSFR badge's modifier.
    pub fn badge(&self) -> &'static str {
        match self {
            State::Up => "fr-badge--success",
            State::Down => "fr-badge--error",
            State::Maintenance => "fr-badge--info",
            State::Unknown | State::Unmeasured => "fr-badge--new",
        }
    }
}

pub struct ProviderView {
    pub id: String,
    pub name: String,
    pub state: State,
    pub last_check: Option<Moment>,
    /// Over the 90 days, or `pas de mesure`.
    pub availability: String,
    pub cells: Vec<Cell>,
}

/// One day of the bar.
pub struct Cell {
    /// The CSS modifier of `statut-jour--…`.
    pub class: &'static str,
    /// What the cell says without its colour: `12 mars 2026 : 99,5 % de disponibilité`.
    pub label: String,
}

pub struct Moment {
    pub text: String,
    pub iso: String,
}

impl Moment {
    fn of(at: DateTime<Utc>) -> Moment {
        Moment {
            text: french::moment(at),
            iso: french::iso(at),
        }
    }

    /// To the second, for checks that may run every few seconds.
    fn precise(at: DateTime<Utc>) -> Moment {
        Moment {
            text: french::moment_seconds(at),
            iso: french::iso(at),
        }
    }
}

pub struct NoticeView {
    pub number: i64,
    pub kind: &'static str,
    pub badge: &'static str,
    pub title: String,
    /// The provider it concerns, or the whole bouquet.
    pub scope: String,
    /// `En cours`, `À venir`, `Terminé`, `Annulé`.
    pub status: &'static str,
    pub period: String,
    /// Newest first.
    pub notes: Vec<NoteView>,
}

pub struct NoteView {
    pub at: Moment,
    pub text: String,
}

pub struct WindowView {
    pub provider: String,
    pub when: String,
    pub resources: String,
    pub active: bool,
}

pub fn build(inputs: Inputs) -> View {
    let today = french::paris_day(inputs.now);
    let first = today - Duration::days(DAYS - 1);
    let names: HashMap<String, String> = inputs.providers.iter().cloned().collect();
    let mut days: HashMap<&str, Vec<&CheckDay>> = HashMap::new();
    for d in &inputs.days {
        days.entry(d.provider.as_str()).or_default().push(d);
    }
    let providers: Vec<ProviderView> = inputs
        .providers
        .iter()
        .map(|(id, name)| {
            let own = days.get(id.as_str()).map(Vec::as_slice).unwrap_or_default();
            provider(id, name, own, first, today, &inputs)
        })
        .collect();
    let scope_of = |n: &Notice| scope(n, &names, inputs.title);
    let (current, past): (Vec<&Notice>, Vec<&Notice>) = inputs.notices.iter().partition(|n| n.open_at(inputs.now));
    View {
        overall: overall(&providers, &inputs.notices, inputs.now),
        providers,
        current: current
            .into_iter()
            .map(|n| notice(n, scope_of(n), inputs.now))
            .collect(),
        past: past.into_iter().map(|n| notice(n, scope_of(n), inputs.now)).collect(),
        windows: windows(&inputs.windows, &names, inputs.now),
        first_day: french::day(first),
        last_day: french::day(today),
    }
}

/// What a notice concerns: its provider's name, or the whole bouquet.
pub fn scope(n: &Notice, names: &HashMap<String, String>, title: &str) -> String {
    match &n.provider {
        Some(id) => names.get(id).cloned().unwrap_or_else(|| id.clone()),
        None => format!("{title} : tous les fournisseurs"),
    }
}

fn provider(
    id: &str,
    name: &str,
    days: &[&CheckDay],
    first: NaiveDate,
    today: NaiveDate,
    inputs: &Inputs,
) -> ProviderView {
    let last = days.iter().max_by_key(|d| d.last_at);
    let state = match last {
        Some(d) if inputs.now - d.last_at <= inputs.stale_after => match d.last_status {
            CheckStatus::Ok => State::Up,
            CheckStatus::Down => State::Down,
            CheckStatus::Maintenance => State::Maintenance,
            CheckStatus::Unknown => State::Unknown,
        },
        _ => State::Unmeasured,
    };
    let shown: Vec<&&CheckDay> = days.iter().filter(|d| d.day >= first && d.day <= today).collect();
    let (ok, down) = shown.iter().fold((0i64, 0i64), |(ok, down), d| {
        (ok.saturating_add(d.ok), down.saturating_add(d.down))
    });
    let by_day: HashMap<NaiveDate, &CheckDay> = shown.iter().map(|d| (d.day, **d)).collect();
    let cells = first
        .iter_days()
        .take_while(|d| *d <= today)
        .map(|d| cell(d, by_day.get(&d).copied()))
        .collect();
    ProviderView {
        id: id.to_string(),
        name: name.to_string(),
        state,
        last_check: last.map(|d| Moment::precise(d.last_at)),
        availability: french::percent(ok, down).unwrap_or_else(|| "pas de mesure".into()),
        cells,
    }
}

fn cell(day: NaiveDate, checks: Option<&CheckDay>) -> Cell {
    let date = french::day(day);
    let Some(c) = checks else {
        return Cell {
            class: "aucune",
            label: format!("{date} : pas de mesure"),
        };
    };
    let maintenance = if c.maintenance > 0 { ", maintenance" } else { "" };
    match french::percent(c.ok, c.down) {
        None if c.maintenance > 0 => Cell {
            class: "maintenance",
            label: format!("{date} : maintenance"),
        },
        None => Cell {
            class: "aucune",
            label: format!("{date} : pas de mesure"),
        },
        Some(share) => Cell {
            class: grade(c.ok, c.down),
            label: format!("{date} : {share} de disponibilité{maintenance}"),
        },
    }
}

/// How a day's share looks: every check up, nearly, partly, mostly down.
fn grade(ok: i64, down: i64) -> &'static str {
    let measured = i128::from(ok) + i128::from(down);
    let per_thousand = i128::from(ok) * 1000 / measured.max(1);
    match per_thousand {
        1000.. => "ok",
        990.. => "presque",
        900.. => "degrade",
        _ => "panne",
    }
}

fn overall(providers: &[ProviderView], notices: &[Notice], now: DateTime<Utc>) -> Overall {
    let count = |state: State| providers.iter().filter(|p| p.state == state).count();
    let (up, down, maintenance) = (count(State::Up), count(State::Down), count(State::Maintenance));
    let active = |kind: NoticeKind| notices.iter().any(|n| n.kind == kind && n.active_at(now));
    let names = |state: State| {
        let list: Vec<&str> = providers
            .iter()
            .filter(|p| p.state == state)
            .map(|p| p.name.as_str())
            .collect();
        list.join(", ")
    };
    let (code, alert, title, detail) = if down > 0 && up == 0 {
        let title = "Panne : aucun fournisseur vérifié ne répond".to_string();
        ("panne", "error", title, format!("En panne : {}.", names(State::Down)))
    } else if down > 0 {
        let title = format!("Service dégradé : {down} fournisseur{} en panne", plural(down));
        (
            "degrade",
            "warning",
            title,
            format!("En panne : {}.", names(State::Down)),
        )
    } else if active(NoticeKind::Incident) {
        let detail = "Un incident est en cours : voir ci-dessous.".to_string();
        (
            "degrade",
            "warning",
            "Service dégradé : incident en cours".to_string(),
            detail,
        )
    } else if maintenance > 0 || active(NoticeKind::Maintenance) {
        let detail = match maintenance {
            0 => "Une maintenance est en cours : voir ci-dessous.".to_string(),
            _ => format!("En maintenance : {}.", names(State::Maintenance)),
        };
        ("maintenance", "info", "Maintenance en cours".to_string(), detail)
    } else if up > 0 {
        let detail = format!("Les {up} fournisseurs vérifiés répondent.");
        (
            "tout-va-bien",
            "success",
            "Tous les fournisseurs fonctionnent".to_string(),
            detail,
        )
    } else {
        let detail = "Aucune vérification récente n'est enregistrée.".to_string();
        ("inconnu", "info", "État inconnu".to_string(), detail)
    };
    Overall {
        code,
        alert,
        title,
        detail,
    }
}

fn plural(n: usize) -> &'static str {
    if n > 1 {
        "s"
    } else {
        ""
    }
}

fn notice(n: &Notice, scope: String, now: DateTime<Utc>) -> NoticeView {
    let (kind, badge) = match n.kind {
        NoticeKind::Incident => ("Incident", "fr-badge--error"),
        NoticeKind::Maintenance => ("Maintenance", "fr-badge--info"),
    };
    let start = french::moment(n.starts_at);
    let (status, period) = match n.ends_at {
        Some(end) if end <= now && end <= n.starts_at => ("Annulé", format!("Prévu le {start}")),
        Some(end) if end <= now => ("Terminé", format!("Du {start} au {}", french::moment(end))),
        _ if n.starts_at > now => ("À venir", upcoming(&start, n.ends_at)),
        Some(end) => (
            "En cours",
            format!("Depuis le {start}, fin prévue le {}", french::moment(end)),
        ),
        None => ("En cours", format!("Depuis le {start}")),
    };
    NoticeView {
        number: n.number,
        kind,
        badge: if status == "En cours" || status == "À venir" {
            badge
        } else {
            "fr-badge--new"
        },
        title: n.title.clone(),
        scope,
        status,
        period,
        notes: n
            .notes
            .iter()
            .rev()
            .map(|note| NoteView {
                at: Moment::of(note.at),
                text: note.text.clone(),
            })
            .collect(),
    }
}

fn upcoming(start: &str, end: Option<DateTime<Utc>>) -> String {
    match end {
        Some(end) => format!("Prévu du {start} au {}", french::moment(end)),
        None => format!("Prévu à partir du {start}"),
    }
}

fn windows(windows: &[MaintenanceWindow], names: &HashMap<String, String>, now: DateTime<Utc>) -> Vec<WindowView> {
    let paris = now.with_timezone(&Paris);
    windows
        .iter()
        .filter_map(|w| {
            let name = names.get(w.provider.as_str())?;
            let days = window_days(w, paris.date_naive())?;
            let resource = w.resources.first().map_or("", String::as_str);
            Some(WindowView {
                provider: name.to_string(),
                when: format!("{days}, de {} à {} (heure de Paris)", w.start, w.end),
                resources: match w.resources.is_empty() {
                    true => "tous ses points d'accès".into(),
                    false => w.resources.join(", "),
                },
                active: w.active_at(&w.provider, resource, paris).is_some(),
            })
        })
        .collect()
}

/// The days a window applies to from `today` on; `None` when it never will again.
fn window_days(w: &MaintenanceWindow, today: NaiveDate) -> Option<String> {
    let dates: Vec<String> = w
        .dates
        .iter()
        .filter(|d| **d >= today)
        .map(|d| format!("le {}", french::day(*d)))
        .collect();
    let weekly = match &w.weekday {
        Some(code) => french::weekday(code).map(|d| format!("chaque {d}")),
        None if w.dates.is_empty() => Some("tous les jours".to_string()),
        None => None,
    };
    let parts: Vec<String> = weekly.into_iter().chain(dates).collect();
    (!parts.is_empty()).then(|| capitalised(&parts.join(", ")))
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use passerelle_store::NoticeNote;

    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn checked(provider: &str, day: &str, ok: i64, down: i64, last: CheckStatus, at: &str) -> CheckDay {
        CheckDay {
            bouquet: "particulier".into(),
            provider: provider.into(),
            day: NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap(),
            checks: ok + down,
            ok,
            down,
            maintenance: 0,
            last_status: last,
            last_at: utc(at),
        }
    }

    fn inputs(days: Vec<CheckDay>, notices: Vec<Notice>) -> Inputs {
        Inputs {
            now: utc("2026-06-10T10:00:00Z"),
            title: "API Particulier",
            providers: vec![("ants".into(), "ANTS".into()), ("dss".into(), "CNAF & MSA".into())],
            days,
            notices,
            windows: Vec::new(),
            stale_after: Duration::minutes(4),
        }
    }

    fn incident(start: &str, end: Option<&str>) -> Notice {
        Notice {
            id: "00000000-0000-0000-0000-000000000000".parse().unwrap(),
            number: 7,
            bouquet: "particulier".into(),
            provider: Some("dss".into()),
            kind: NoticeKind::Incident,
            title: "Lenteurs".into(),
            starts_at: utc(start),
            ends_at: end.map(utc),
            created_at: utc(start),
            notes: vec![
                NoticeNote {
                    at: utc(start),
                    text: "premier".into(),
                },
                NoticeNote {
                    at: utc(start) + Duration::minutes(5),
                    text: "second".into(),
                },
            ],
        }
    }

    #[test]
    fn states_now_come_from_the_newest_check_unless_it_is_stale() {
        let view = build(inputs(
            vec![
                checked("ants", "2026-06-09", 10, 0, CheckStatus::Ok, "2026-06-09T10:00:00Z"),
                checked("ants", "2026-06-10", 3, 1, CheckStatus::Down, "2026-06-10T09:58:00Z"),
                checked("dss", "2026-06-10", 1, 0, CheckStatus::Ok, "2026-06-10T09:00:00Z"),
            ],
            Vec::new(),
        ));
        assert_eq!(view.providers[0].state, State::Down);
        assert_eq!(view.providers[1].state, State::Unmeasured, "an hour old");
        assert_eq!(view.providers[0].availability, "92,85\u{a0}%");
        assert_eq!(view.overall.code, "panne", "the only provider measured is down");
        assert_eq!(view.providers[0].cells.len(), DAYS as usize);
        let last = &view.providers[0].cells[89];
        assert_eq!(
            (last.class, last.label.as_str()),
            ("panne", "10 juin 2026 : 75\u{a0}% de disponibilité")
        );
        let before = &view.providers[0].cells[88];
        assert_eq!(
            (before.class, before.label.as_str()),
            ("ok", "9 juin 2026 : 100\u{a0}% de disponibilité")
        );
        assert_eq!(view.providers[0].cells[0].label, "13 mars 2026 : pas de mesure");
        assert_eq!(
            view.providers[1].last_check.as_ref().unwrap().text,
            "10 juin 2026 à 11:00:00"
        );
    }

    #[test]
    fn the_overall_state_is_degraded_by_one_provider_down_or_an_open_incident() {
        let up = |provider| checked(provider, "2026-06-10", 1, 0, CheckStatus::Ok, "2026-06-10T09:59:00Z");
        let mut days = vec![up("ants"), up("dss")];
        assert_eq!(build(inputs(days.clone(), Vec::new())).overall.code, "tout-va-bien");
        let view = build(inputs(days.clone(), vec![incident("2026-06-10T08:00:00Z", None)]));
        assert_eq!((view.overall.code, view.current.len()), ("degrade", 1));
        assert_eq!(view.current[0].scope, "CNAF & MSA");
        assert_eq!(view.current[0].notes[0].text, "second", "newest note first");
        days[1].last_status = CheckStatus::Down;
        let view = build(inputs(
            days.clone(),
            vec![incident("2026-06-01T08:00:00Z", Some("2026-06-02T08:00:00Z"))],
        ));
        assert_eq!(
            (view.overall.code, view.overall.detail.as_str()),
            ("degrade", "En panne : CNAF & MSA.")
        );
        assert_eq!((view.past.len(), view.past[0].status), (1, "Terminé"));
        days[1].last_status = CheckStatus::Maintenance;
        assert_eq!(build(inputs(days, Vec::new())).overall.code, "maintenance");
        assert_eq!(build(inputs(Vec::new(), Vec::new())).overall.code, "inconnu");
    }

    #[test]
    fn windows_say_when_they_apply_in_french() {
        let mut sunday = MaintenanceWindow::daily(passerelle_bouquet::ProviderId::new("dss"), "23:00", "23:45");
        sunday.weekday = Some("sun".into());
        let mut past = sunday.clone();
        past.weekday = None;
        past.dates = vec![NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()];
        let mut elsewhere = sunday.clone();
        elsewhere.provider = "insee".into();
        let mut now = inputs(Vec::new(), Vec::new());
        now.windows = vec![
            sunday,
            past,
            elsewhere,
            MaintenanceWindow::daily(passerelle_bouquet::ProviderId::new("ants"), "11:30", "12:30"),
        ];
        let view = build(now);
        let shown: Vec<_> = view
            .windows
            .iter()
            .map(|w| (w.provider.as_str(), w.when.as_str(), w.active))
            .collect();
        assert_eq!(
            shown,
            [
                (
                    "CNAF & MSA",
                    "Chaque dimanche, de 23:00 à 23:45 (heure de Paris)",
                    false
                ),
                ("ANTS", "Tous les jours, de 11:30 à 12:30 (heure de Paris)", true),
            ]
        );
    }
}
