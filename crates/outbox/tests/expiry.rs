//! The expiry notices of tokens of demandes validated through the workflow.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use common::places;
use passerelle_habilitation::workflow::{act, create, Action, Agent, Demande, Site, Staff};
use passerelle_habilitation::{known_scopes, ContactKind, Form, Forms};
use passerelle_mail::{Address, Letter};
use passerelle_outbox::queue_expiry_notices;
use passerelle_store::{DemandeChange, Store};
use uuid::Uuid;

const TOWN: &str = "21349910600010";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

fn days(n: i64) -> TimeDelta {
    TimeDelta::days(n)
}

fn agent(email: &str, siret: &str) -> Agent {
    Agent {
        uid: email.into(),
        email: email.into(),
        given_name: "Camille".into(),
        family_name: "Martin".into(),
        siret: siret.into(),
        phone: None,
        job_title: None,
    }
}

fn site() -> Site {
    Site {
        base_url: "https://habilitation.example".into(),
        staff: Staff {
            sirets: Vec::new(),
            instructors: BTreeMap::from([("particulier".into(), vec!["nadia@numerique.example".into()])]),
            admins: Vec::new(),
            providers: BTreeMap::new(),
        },
        webhooks: Vec::new(),
    }
}

/// Every contact is Karim, but the technical one is Théo.
fn filled(form: &Form) -> Action {
    let mut fields = BTreeMap::from([
        ("intitule".to_string(), "Cantine".to_string()),
        (
            "cadre_juridique_url".into(),
            "https://ville.example/deliberation.pdf".into(),
        ),
    ]);
    for kind in ContactKind::of(&form.bouquet) {
        let (given, email) = match kind {
            ContactKind::ContactTechnique => ("Théo", "Theo@Ville.example"),
            _ => ("Karim", "karim@ville.example"),
        };
        for (part, value) in [
            ("given_name", given),
            ("family_name", "Benali"),
            ("email", email),
            ("phone_number", "0123456789"),
            ("job_title", "DSI"),
        ] {
            fields.insert(format!("{}_{part}", kind.key()), value.into());
        }
    }
    Action::Update {
        fields,
        scopes: BTreeSet::new(),
        modalities: BTreeSet::from(["params".to_string()]),
    }
}

async fn commit(store: &dyn Store, (demande, change): (Demande, DemandeChange)) -> Demande {
    assert!(store.commit_demande(&change).await.unwrap());
    demande
}

/// A demande filed, submitted and approved at `now()`; it and its token's id.
async fn validated(store: &dyn Store) -> (Demande, Uuid) {
    let forms = Forms::built_in(known_scopes).unwrap();
    let form = forms.get("api-particulier-editeur-restauscol").unwrap();
    let (site, camille) = (site(), agent("camille@ville.example", TOWN));
    let nadia = agent("nadia@numerique.example", "13002526500013");
    let submit = Action::Submit {
        terms_accepted: true,
        dpo_informed: true,
    };
    let approve = Action::Approve {
        message: None,
        rate_limit_per_minute: None,
        allowed_ips: Vec::new(),
    };
    let d = commit(store, create(form, &camille, None, now()).unwrap()).await;
    let d = commit(store, act(&d, form, &camille, filled(form), &site, now()).unwrap()).await;
    let d = commit(store, act(&d, form, &camille, submit, &site, now()).unwrap()).await;
    let d = commit(store, act(&d, form, &nadia, approve, &site, now()).unwrap()).await;
    let jti = d.body.token.unwrap();
    (d, jti)
}

/// The dedup keys of the expiry notices queued so far, sorted.
async fn notices(store: &dyn Store) -> Vec<String> {
    let items = store.outbox("mail", 1000).await.unwrap();
    let mut keys: Vec<String> = items.into_iter().filter_map(|i| i.dedup).collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn notices_follow_the_schedule_once_each() {
    for place in places().await {
        eprintln!("on {}", place.backend);
        let (store, site) = (&*place.store, site());
        let (_, jti) = validated(store).await;
        store.set_token_expiry(jti, now() + days(15)).await.unwrap();

        assert_eq!(queue_expiry_notices(store, &site, now()).await.unwrap(), 2);
        let key = |at: &str, to: &str| format!("expiry:{jti}:{at}:{to}@ville.example");
        let j15 = [key("2026-03-17:15", "camille"), key("2026-03-17:15", "theo")];
        assert_eq!(notices(store).await, j15);
        let items = store.outbox("mail", 1000).await.unwrap();
        let people = |a: &[Address]| {
            a.iter()
                .map(|a| format!("{} <{}>", a.name, a.email))
                .collect::<Vec<_>>()
        };
        for (dedup, to) in j15.iter().zip([
            "Camille Martin <camille@ville.example>",
            "Théo Benali <theo@ville.example>",
        ]) {
            let notice = items.iter().find(|i| i.dedup.as_ref() == Some(dedup)).unwrap();
            let letter: Letter = serde_json::from_str(&notice.body).unwrap();
            assert_eq!((people(&letter.to), people(&letter.cc)), (vec![to.to_string()], vec![]));
            assert!(letter.subject.contains("15 jours"), "{}", letter.subject);
        }

        for later in [0, 1, 7] {
            let queued = queue_expiry_notices(store, &site, now() + days(later)).await.unwrap();
            assert_eq!(queued, 0, "J-15 again, {later} days on");
        }
        assert_eq!(queue_expiry_notices(store, &site, now() + days(8)).await.unwrap(), 2);
        let j7 = [key("2026-03-17:7", "camille"), key("2026-03-17:7", "theo")];
        assert_eq!(notices(store).await, [j15.clone(), j7.clone()].concat());

        // Prolonged: the new date's schedule starts.
        store.set_token_expiry(jti, now() + days(68)).await.unwrap();
        assert_eq!(queue_expiry_notices(store, &site, now() + days(8)).await.unwrap(), 2);
        let j60 = [key("2026-05-09:60", "camille"), key("2026-05-09:60", "theo")];
        assert_eq!(notices(store).await, [j15, j7, j60].concat());
    }
}

#[tokio::test]
async fn a_revoked_token_gets_nothing() {
    for place in places().await {
        eprintln!("on {}", place.backend);
        let store = &*place.store;
        let (_, jti) = validated(store).await;
        store.set_token_expiry(jti, now() + days(15)).await.unwrap();
        store.revoke_token(jti, now()).await.unwrap();
        assert_eq!(queue_expiry_notices(store, &site(), now()).await.unwrap(), 0);
        assert!(notices(store).await.is_empty());
    }
}

#[tokio::test]
async fn a_late_job_sends_the_nearest_notice_only() {
    for place in places().await {
        eprintln!("on {}", place.backend);
        let store = &*place.store;
        let (_, jti) = validated(store).await;
        store.set_token_expiry(jti, now() + days(20)).await.unwrap();
        assert_eq!(queue_expiry_notices(store, &site(), now()).await.unwrap(), 2);
        let keys = notices(store).await;
        assert_eq!(keys.len(), 2, "J-30 to each, not J-60 and J-90 too");
        for key in keys {
            assert!(key.starts_with(&format!("expiry:{jti}:2026-03-22:30:")), "{key}");
        }
    }
}

#[tokio::test]
async fn far_or_long_expired_tokens_get_nothing() {
    for place in places().await {
        eprintln!("on {}", place.backend);
        let store = &*place.store;
        let (_, jti) = validated(store).await;
        // 18 months out, as approved.
        assert_eq!(queue_expiry_notices(store, &site(), now()).await.unwrap(), 0);
        store.set_token_expiry(jti, now() - days(2)).await.unwrap();
        assert_eq!(queue_expiry_notices(store, &site(), now()).await.unwrap(), 0);
        // Expired yesterday evening: the J-0 notice still goes, once.
        store.set_token_expiry(jti, now() - TimeDelta::hours(12)).await.unwrap();
        assert_eq!(queue_expiry_notices(store, &site(), now()).await.unwrap(), 2);
        assert!(notices(store).await[0].contains(":2026-03-01:0:"));
    }
}

#[tokio::test]
async fn a_demande_being_reopened_keeps_its_notices() {
    for place in places().await {
        eprintln!("on {}", place.backend);
        let store = &*place.store;
        let (d, jti) = validated(store).await;
        let forms = Forms::built_in(known_scopes).unwrap();
        let form = forms.get(&d.form_id).unwrap();
        let camille = agent("camille@ville.example", TOWN);
        commit(store, act(&d, form, &camille, Action::Reopen, &site(), now()).unwrap()).await;
        store.set_token_expiry(jti, now() + days(7)).await.unwrap();
        assert_eq!(queue_expiry_notices(store, &site(), now()).await.unwrap(), 2);
    }
}
