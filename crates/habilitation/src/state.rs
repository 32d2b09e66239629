//! The demande's state machine (DataPass v2's, §b.1 of the reference): which event
//! moves a demande from which state, and who may fire it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Draft,
    Submitted,
    ChangesRequested,
    Validated,
    Refused,
    Revoked,
    Archived,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Submitted => "submitted",
            State::ChangesRequested => "changes_requested",
            State::Validated => "validated",
            State::Refused => "refused",
            State::Revoked => "revoked",
            State::Archived => "archived",
        }
    }

    pub fn parse(text: &str) -> Option<State> {
        [
            State::Draft,
            State::Submitted,
            State::ChangesRequested,
            State::Validated,
            State::Refused,
            State::Revoked,
            State::Archived,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// The badge an agent reads.
    pub fn label(self) -> &'static str {
        match self {
            State::Draft => "Brouillon",
            State::Submitted => "En instruction",
            State::ChangesRequested => "Modifications demandées",
            State::Validated => "Validée",
            State::Refused => "Refusée",
            State::Revoked => "Révoquée",
            State::Archived => "Archivée",
        }
    }

    /// Whether the applicant may edit the fields.
    pub fn editable(self) -> bool {
        matches!(self, State::Draft | State::ChangesRequested)
    }
}

/// What happens to a demande; the names are DataPass's webhook events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Create,
    Update,
    Submit,
    RequestChanges,
    Approve,
    Refuse,
    Revoke,
    Archive,
    Reopen,
    CancelReopening,
    Transfer,
    Message,
}

impl Event {
    pub const ALL: [Event; 12] = [
        Event::Create,
        Event::Update,
        Event::Submit,
        Event::RequestChanges,
        Event::Approve,
        Event::Refuse,
        Event::Revoke,
        Event::Archive,
        Event::Reopen,
        Event::CancelReopening,
        Event::Transfer,
        Event::Message,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Event::Create => "create",
            Event::Update => "update",
            Event::Submit => "submit",
            Event::RequestChanges => "request_changes",
            Event::Approve => "approve",
            Event::Refuse => "refuse",
            Event::Revoke => "revoke",
            Event::Archive => "archive",
            Event::Reopen => "reopen",
            Event::CancelReopening => "cancel_reopening",
            Event::Transfer => "transfer",
            Event::Message => "message",
        }
    }

    pub fn parse(text: &str) -> Option<Event> {
        Event::ALL.into_iter().find(|e| e.as_str() == text)
    }

    /// Whether the event is refused without a reason (DataPass asks for one on a
    /// revocation without enforcing it; we do).
    pub fn needs_reason(self) -> bool {
        matches!(
            self,
            Event::RequestChanges | Event::Refuse | Event::Revoke | Event::Message
        )
    }

    /// The history's wording.
    pub fn label(self) -> &'static str {
        match self {
            Event::Create => "Demande créée",
            Event::Update => "Demande modifiée",
            Event::Submit => "Demande déposée",
            Event::RequestChanges => "Modifications demandées",
            Event::Approve => "Demande validée",
            Event::Refuse => "Demande refusée",
            Event::Revoke => "Habilitation révoquée",
            Event::Archive => "Demande archivée",
            Event::Reopen => "Mise à jour ouverte",
            Event::CancelReopening => "Mise à jour abandonnée",
            Event::Transfer => "Demande transférée",
            Event::Message => "Message",
        }
    }
}

/// The part a person plays on one demande.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The demandeur: files, edits, submits, reopens, transfers.
    Applicant,
    /// A contact named in the form (technique, métier, DPO, responsable de
    /// traitement): reads the demande and writes in its thread.
    Contact,
    /// An instructor of the demande's bouquet.
    Instructor,
    Admin,
}

/// Where a demande stands: its state and whether it is a reopening of a validated
/// one (whose habilitation stays in force meanwhile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    pub state: State,
    pub reopening: bool,
}

/// Why an event cannot happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("« {event} » n'est pas possible pour une demande « {state} »")]
    WrongState { event: &'static str, state: &'static str },
    #[error("« {event} » n'est pas permis à votre rôle sur cette demande")]
    WrongRole { event: &'static str },
    #[error("un motif est obligatoire")]
    ReasonMissing,
}

/// Who may fire `event`.
fn allowed(event: Event, roles: &[Role]) -> bool {
    let has = |r: Role| roles.contains(&r);
    let instructs = has(Role::Instructor) || has(Role::Admin);
    // No one decides a demande they are party to.
    let party = has(Role::Applicant) || has(Role::Contact);
    match event {
        Event::Create | Event::Update | Event::Submit | Event::Reopen => has(Role::Applicant),
        Event::RequestChanges | Event::Approve | Event::Refuse | Event::Revoke => instructs && !party,
        Event::Archive | Event::CancelReopening | Event::Transfer => has(Role::Applicant) || instructs,
        Event::Message => !roles.is_empty(),
    }
}

/// Where `event` leads from `from`, or `None` when it cannot happen there.
fn target(event: Event, from: Standing) -> Option<Standing> {
    use State::*;
    let stay = Some(from);
    let to = |state, reopening| Some(Standing { state, reopening });
    match (event, from.state) {
        (Event::Create, _) => None,
        (Event::Update, Draft | ChangesRequested) => stay,
        (Event::Submit, Draft | ChangesRequested) => to(Submitted, from.reopening),
        (Event::RequestChanges, Submitted) => to(ChangesRequested, from.reopening),
        // Only what was submitted (and so passed every check) is approved.
        (Event::Approve, Submitted) => to(Validated, false),
        // A refused update leaves the habilitation in force.
        (Event::Refuse, Submitted | ChangesRequested) if from.reopening => to(Validated, false),
        (Event::Refuse, Submitted | ChangesRequested) => to(Refused, false),
        (Event::Revoke, Validated) => to(Revoked, false),
        // A token in force during an update can be revoked at once.
        (Event::Revoke, Draft | Submitted | ChangesRequested) if from.reopening => to(Revoked, false),
        (Event::Archive, Draft) if !from.reopening => to(Archived, false),
        (Event::Archive, Refused | Revoked) => to(Archived, false),
        (Event::Reopen, Validated) => to(Draft, true),
        (Event::CancelReopening, Draft | ChangesRequested | Submitted) if from.reopening => to(Validated, false),
        (Event::Transfer, Archived) => None,
        (Event::Transfer | Event::Message, _) => stay,
        _ => None,
    }
}

/// Where `event`, fired by someone holding `roles` with `reason`, leads from `from`.
pub fn decide(event: Event, from: Standing, roles: &[Role], reason: Option<&str>) -> Result<Standing, Refusal> {
    let Some(to) = target(event, from) else {
        return Err(Refusal::WrongState {
            event: event.as_str(),
            state: from.state.as_str(),
        });
    };
    if !allowed(event, roles) {
        return Err(Refusal::WrongRole { event: event.as_str() });
    }
    if event.needs_reason() && matches!(reason.map(str::trim), None | Some("")) {
        return Err(Refusal::ReasonMissing);
    }
    Ok(to)
}

/// The events `roles` may fire from `from` (the buttons a page offers).
pub fn possible(from: Standing, roles: &[Role]) -> Vec<Event> {
    Event::ALL
        .into_iter()
        .filter(|&e| target(e, from).is_some() && allowed(e, roles))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(state: State) -> Standing {
        Standing {
            state,
            reopening: false,
        }
    }

    fn reopened(state: State) -> Standing {
        Standing { state, reopening: true }
    }

    #[test]
    fn the_applicant_submits_and_the_instructor_decides() {
        let submitted = decide(Event::Submit, at(State::Draft), &[Role::Applicant], None).unwrap();
        assert_eq!(submitted, at(State::Submitted));
        let changes = decide(
            Event::RequestChanges,
            submitted,
            &[Role::Instructor],
            Some("la délibération"),
        )
        .unwrap();
        assert_eq!(changes, at(State::ChangesRequested));
        let again = decide(Event::Submit, changes, &[Role::Applicant], None).unwrap();
        assert_eq!(
            decide(Event::Approve, again, &[Role::Instructor], None).unwrap(),
            at(State::Validated)
        );
    }

    #[test]
    fn each_event_belongs_to_its_roles() {
        let submitted = at(State::Submitted);
        for event in [Event::Approve, Event::Refuse, Event::RequestChanges] {
            let refused = decide(event, submitted, &[Role::Applicant, Role::Contact], Some("x"));
            assert_eq!(refused, Err(Refusal::WrongRole { event: event.as_str() }));
        }
        let draft = at(State::Draft);
        assert!(matches!(
            decide(Event::Submit, draft, &[Role::Instructor], None),
            Err(Refusal::WrongRole { .. })
        ));
        assert!(matches!(
            decide(Event::Submit, draft, &[Role::Contact], None),
            Err(Refusal::WrongRole { .. })
        ));
        assert!(decide(Event::Message, draft, &[Role::Contact], Some("bonjour")).is_ok());
        assert!(decide(Event::Message, draft, &[], Some("bonjour")).is_err());
    }

    #[test]
    fn no_one_decides_their_own_demande() {
        let submitted = at(State::Submitted);
        for party in [Role::Applicant, Role::Contact] {
            for event in [Event::Approve, Event::Refuse, Event::RequestChanges] {
                let refused = decide(event, submitted, &[party, Role::Instructor, Role::Admin], Some("x"));
                assert_eq!(refused, Err(Refusal::WrongRole { event: event.as_str() }));
            }
        }
    }

    #[test]
    fn a_token_in_force_during_an_update_can_be_revoked() {
        for state in [State::Draft, State::Submitted, State::ChangesRequested] {
            let revoked = decide(Event::Revoke, reopened(state), &[Role::Instructor], Some("fraude"));
            assert_eq!(revoked, Ok(at(State::Revoked)));
            assert!(decide(Event::Revoke, at(state), &[Role::Instructor], Some("x")).is_err());
        }
    }

    #[test]
    fn reasons_are_mandatory_where_a_person_reads_them() {
        let submitted = at(State::Submitted);
        for event in [Event::RequestChanges, Event::Refuse] {
            assert_eq!(
                decide(event, submitted, &[Role::Instructor], Some("  ")),
                Err(Refusal::ReasonMissing)
            );
        }
        let validated = at(State::Validated);
        assert_eq!(
            decide(Event::Revoke, validated, &[Role::Admin], None),
            Err(Refusal::ReasonMissing)
        );
        assert!(decide(Event::Approve, submitted, &[Role::Instructor], None).is_ok());
    }

    #[test]
    fn a_reopening_keeps_the_habilitation_until_decided() {
        let validated = at(State::Validated);
        let draft = decide(Event::Reopen, validated, &[Role::Applicant], None).unwrap();
        assert_eq!(draft, reopened(State::Draft));
        // Nothing in force may be archived away.
        assert!(decide(Event::Archive, draft, &[Role::Applicant], None).is_err());
        let submitted = decide(Event::Submit, draft, &[Role::Applicant], None).unwrap();
        assert_eq!(submitted, reopened(State::Submitted));
        assert_eq!(
            decide(Event::Refuse, submitted, &[Role::Instructor], Some("non")).unwrap(),
            validated
        );
        assert_eq!(
            decide(Event::CancelReopening, submitted, &[Role::Applicant], None).unwrap(),
            validated
        );
        assert_eq!(
            decide(Event::Approve, submitted, &[Role::Instructor], None).unwrap(),
            validated
        );
    }

    #[test]
    fn dead_ends_stay_dead() {
        for state in [State::Refused, State::Revoked, State::Archived] {
            for event in [Event::Submit, Event::Approve, Event::Reopen, Event::Update] {
                let refused = decide(event, at(state), &[Role::Applicant, Role::Admin], Some("x"));
                assert!(
                    matches!(refused, Err(Refusal::WrongState { .. })),
                    "{event:?} from {state:?}"
                );
            }
        }
        assert!(decide(Event::Archive, at(State::Refused), &[Role::Applicant], None).is_ok());
        assert!(decide(Event::Archive, at(State::Validated), &[Role::Admin], None).is_err());
        assert!(decide(Event::Create, at(State::Draft), &[Role::Applicant], None).is_err());
    }

    #[test]
    fn possible_lists_the_buttons() {
        let buttons = possible(at(State::Submitted), &[Role::Instructor]);
        assert_eq!(
            buttons,
            [
                Event::RequestChanges,
                Event::Approve,
                Event::Refuse,
                Event::Transfer,
                Event::Message
            ]
        );
        assert_eq!(
            possible(at(State::Validated), &[Role::Applicant]),
            [Event::Reopen, Event::Transfer, Event::Message]
        );
    }

    #[test]
    fn names_round_trip() {
        for event in Event::ALL {
            assert_eq!(Event::parse(event.as_str()), Some(event));
        }
        assert_eq!(State::parse("changes_requested"), Some(State::ChangesRequested));
        assert_eq!(State::parse("unknown"), None);
    }
}
