//! The habilitations' side of the public figures: habilitations in force per use
//! case, and how long instructors take, from each demande's history.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{DateTime, Duration, Utc};
use passerelle_habilitation::form::{Forms, Kind};
use passerelle_habilitation::workflow::Demande;
use passerelle_habilitation::Event;
use passerelle_store::{DemandeEvent, DemandeRecord, HabilitationStore};

use crate::percentile;

/// The habilitations in force of one use case (a form).
#[derive(Debug, Clone, PartialEq)]
pub struct UseCase {
    /// The form's id (DataPass's `form_uid`).
    pub form_id: String,
    /// The form's title, or its id when this build does not know it.
    pub title: String,
    /// `libre`, `cas d'usage`, `éditeur`, or `DataPass` for a demande DataPass instructs.
    pub kind: &'static str,
    pub active: u64,
}

/// Percentiles of a duration, in days.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Quantiles {
    pub p50_days: Option<f64>,
    pub p80_days: Option<f64>,
}

impl Quantiles {
    fn of(mut days: Vec<f64>) -> Quantiles {
        Quantiles {
            p50_days: percentile::exact(&mut days, 0.5),
            p80_days: percentile::exact(&mut days, 0.8),
        }
    }
}

/// How long instruction took over the cycles decided in a period.
#[derive(Debug, Clone, PartialEq)]
pub struct InstructionTimes {
    pub since: DateTime<Utc>,
    /// Instruction cycles (a submission and its decision) decided since then.
    pub decided: usize,
    /// From the submission to the instructors' first answer (changes asked, approval
    /// or refusal).
    pub first_response: Quantiles,
    /// From the submission to the approval or refusal, changes asked included.
    pub decision: Quantiles,
}

/// One submission and what the instructors did with it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cycle {
    pub decided_at: DateTime<Utc>,
    pub first_response: Duration,
    pub decision: Duration,
}

/// The instruction cycles of one demande's history (events in order). A cycle opens
/// at a submission (the first one after a decision, a reopening or a cancelled one)
/// and closes at an approval or a refusal; changes asked in between keep it open.
pub fn cycles(events: &[DemandeEvent]) -> Vec<Cycle> {
    let mut found = Vec::new();
    let mut open: Option<(DateTime<Utc>, Option<DateTime<Utc>>)> = None;
    for e in events {
        match Event::parse(&e.kind) {
            Some(Event::Submit) if open.is_none() => open = Some((e.at, None)),
            Some(Event::RequestChanges) => {
                if let Some((_, first @ None)) = &mut open {
                    *first = Some(e.at);
                }
            }
            Some(Event::Approve | Event::Refuse) => {
                if let Some((submitted, first)) = open.take() {
                    found.push(Cycle {
                        decided_at: e.at,
                        first_response: first.unwrap_or(e.at) - submitted,
                        decision: e.at - submitted,
                    });
                }
            }
            Some(Event::Revoke | Event::Archive | Event::CancelReopening) => open = None,
            _ => {}
        }
    }
    found
}

fn days(d: Duration) -> f64 {
    d.num_seconds().max(0) as f64 / 86_400.0
}

/// Instruction times over the cycles of `histories` decided since `since`.
pub fn times(histories: &[Vec<DemandeEvent>], since: DateTime<Utc>) -> InstructionTimes {
    let decided: Vec<Cycle> = histories
        .iter()
        .flat_map(|h| cycles(h))
        .filter(|c| c.decided_at >= since)
        .collect();
    InstructionTimes {
        since,
        decided: decided.len(),
        first_response: Quantiles::of(decided.iter().map(|c| days(c.first_response)).collect()),
        decision: Quantiles::of(decided.iter().map(|c| days(c.decision)).collect()),
    }
}

/// Instruction times of `bouquet` over the cycles decided in the `window` before
/// `now`: the histories of the demandes decided since then only.
pub async fn instruction_times(
    store: &dyn HabilitationStore,
    demandes: &[DemandeRecord],
    now: DateTime<Utc>,
    window: Duration,
) -> anyhow::Result<InstructionTimes> {
    let since = now - window;
    let mut histories = Vec::new();
    for d in demandes.iter().filter(|d| d.decided_at.is_some_and(|at| at >= since)) {
        histories.push(store.demande_events(d.id).await?);
    }
    Ok(times(&histories, since))
}

/// The forms this build knows, read once.
fn forms() -> Option<&'static Forms> {
    static FORMS: OnceLock<Option<Forms>> = OnceLock::new();
    FORMS
        .get_or_init(|| match Forms::built_in(passerelle_habilitation::known_scopes) {
            Ok(forms) => Some(forms),
            Err(e) => {
                tracing::error!(error = %e, "the built-in forms do not load: use cases are shown by id");
                None
            }
        })
        .as_ref()
}

fn kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Libre => "libre",
        Kind::UseCase => "cas d'usage",
        Kind::Editor => "éditeur",
    }
}

/// Demandes whose habilitation is in force (validated, or being updated while the
/// last approval still holds), counted per use case, most first. A record that does
/// not read is skipped with a warning.
pub fn active_use_cases(demandes: &[DemandeRecord]) -> Vec<UseCase> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for record in demandes {
        match Demande::read(record.clone()) {
            Ok(d) if d.body.habilitations.iter().any(|h| h.state == "active") => {
                *counts.entry(d.form_id).or_default() += 1;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(demande = %record.id, error = %e, "demande unreadable: left out of the stats"),
        }
    }
    let mut cases: Vec<UseCase> = counts.into_iter().map(|(id, active)| use_case(id, active)).collect();
    cases.sort_by(|a, b| b.active.cmp(&a.active).then_with(|| a.title.cmp(&b.title)));
    cases
}

fn use_case(form_id: String, active: u64) -> UseCase {
    if let Some(uid) = form_id.strip_prefix(passerelle_habilitation::datapass::FORM_PREFIX) {
        return UseCase {
            title: uid.to_string(),
            form_id,
            kind: "DataPass",
            active,
        };
    }
    let form = forms().and_then(|f| f.get(&form_id));
    UseCase {
        title: form.map_or_else(|| form_id.clone(), |f| f.title.clone()),
        kind: form.map_or("inconnu", |f| kind_label(f.kind)),
        form_id,
        active,
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn event(seq: i64, day: i64, kind: &str) -> DemandeEvent {
        DemandeEvent {
            demande_id: Uuid::nil(),
            seq,
            at: DateTime::from_timestamp(1_767_225_600 + day * 86_400, 0).unwrap(),
            actor: "someone@example.gouv.fr".into(),
            kind: kind.into(),
            body: "{}".into(),
        }
    }

    fn history(steps: &[(i64, &str)]) -> Vec<DemandeEvent> {
        steps
            .iter()
            .enumerate()
            .map(|(i, (day, kind))| event(i as i64 + 1, *day, kind))
            .collect()
    }

    #[test]
    fn a_cycle_runs_from_submission_to_decision_changes_included() {
        let h = history(&[
            (0, "create"),
            (1, "submit"),
            (3, "request_changes"),
            (5, "submit"),
            (9, "approve"),
        ]);
        let found = cycles(&h);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].first_response, Duration::days(2));
        assert_eq!(found[0].decision, Duration::days(8));
    }

    #[test]
    fn a_reopening_is_a_cycle_of_its_own() {
        let h = history(&[
            (0, "submit"),
            (4, "approve"),
            (100, "reopen"),
            (101, "submit"),
            (102, "refuse"),
            (200, "reopen"),
            (201, "submit"),
            (202, "cancel_reopening"),
            (300, "message"),
        ]);
        let found = cycles(&h);
        let decisions: Vec<_> = found.iter().map(|c| c.decision.num_days()).collect();
        assert_eq!(decisions, [4, 1], "the abandoned update is no cycle");
        let times = times(&[h], found[1].decided_at);
        assert_eq!(times.decided, 1);
        assert_eq!(times.decision.p50_days, Some(1.0));
        assert_eq!(times.first_response.p80_days, Some(1.0));
    }

    /// A demande of `form`, in force or not.
    fn demande(form: &str, in_force: bool) -> DemandeRecord {
        let agent = passerelle_habilitation::workflow::Agent {
            uid: "u".into(),
            email: "camille@ville.example".into(),
            given_name: "Camille".into(),
            family_name: "Martin".into(),
            siret: "21000000000019".into(),
            phone: None,
            job_title: None,
        };
        let form = forms().and_then(|f| f.get(form)).unwrap();
        let (_, change) = passerelle_habilitation::workflow::create(form, &agent, None, Utc::now()).unwrap();
        let mut record = change.demande;
        let mut body: serde_json::Value = serde_json::from_str(&record.body).unwrap();
        let state = if in_force { "active" } else { "obsolete" };
        body["habilitations"] = serde_json::json!([{
            "id": Uuid::new_v4(), "created_at": Utc::now(), "state": state, "scopes": []
        }]);
        record.body = body.to_string();
        record
    }

    #[test]
    fn habilitations_in_force_count_per_use_case() {
        let mut unreadable = demande("api-particulier-ccas", true);
        unreadable.state = "lost".into();
        let mut datapass = demande("api-particulier-libre", true);
        datapass.form_id = "datapass:api-particulier-restauration".into();
        let demandes = [
            demande("api-particulier-ccas", true),
            demande("api-particulier-ccas", true),
            demande("api-particulier-ccas", false),
            demande("api-particulier-editeur-restauscol", true),
            unreadable,
            datapass,
        ];
        let cases = active_use_cases(&demandes);
        let seen: Vec<_> = cases.iter().map(|u| (u.title.as_str(), u.kind, u.active)).collect();
        assert_eq!(
            seen,
            [
                ("Aides sociales facultatives d'un CCAS", "cas d'usage", 2),
                ("RestauScol — restauration scolaire", "éditeur", 1),
                ("api-particulier-restauration", "DataPass", 1),
            ]
        );
    }

    #[test]
    fn percentiles_over_cycles() {
        let histories: Vec<_> = (1..=10).map(|d| history(&[(0, "submit"), (d, "approve")])).collect();
        let t = times(&histories, DateTime::<Utc>::MIN_UTC);
        assert_eq!(t.decided, 10);
        assert_eq!(t.decision.p50_days, Some(5.0));
        assert_eq!(t.decision.p80_days, Some(8.0));
        let none = times(&[], DateTime::<Utc>::MIN_UTC);
        assert_eq!((none.decided, none.decision), (0, Quantiles::default()));
    }
}
