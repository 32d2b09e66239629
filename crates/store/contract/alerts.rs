// Contract tests of AlertStore.

pub use alerts_contract::*;

mod alerts_contract {
    use chrono::Duration;
    use passerelle_store::{AlertMark, AlertRecord, AlertSettings, OutboxItem, TokenAddress};
    use uuid::Uuid;

    use super::{at, Backend};

    fn seen(jti: Uuid, address: &str, first: &str, last: &str, calls: i64) -> TokenAddress {
        TokenAddress {
            jti,
            address: address.into(),
            first_seen: at(first),
            last_seen: at(last),
            calls,
        }
    }

    pub async fn token_addresses_keep_their_first_and_last_sight_and_add_calls(b: Backend) {
        let (jti, other) = (Uuid::new_v4(), Uuid::new_v4());
        let first = [
            seen(jti, "192.0.2.7", "2026-03-01T10:00:00Z", "2026-03-01T10:00:05Z", 3),
            seen(
                jti,
                "2001:db8:1:2::/64",
                "2026-03-02T08:00:00Z",
                "2026-03-02T08:00:00Z",
                1,
            ),
            seen(other, "192.0.2.7", "2026-03-03T00:00:00Z", "2026-03-03T00:00:00Z", 1),
        ];
        b.store.record_addresses(&first).await.unwrap();
        // Another replica saw the first pair earlier and later, with more calls.
        let again = [seen(
            jti,
            "192.0.2.7",
            "2026-03-01T09:59:00Z",
            "2026-03-04T12:00:00Z",
            2,
        )];
        b.store.record_addresses(&again).await.unwrap();
        b.store.record_addresses(&[]).await.unwrap();

        let kept = b.store.token_addresses(jti, 10).await.unwrap();
        assert_eq!(
            kept,
            [
                seen(jti, "192.0.2.7", "2026-03-01T09:59:00Z", "2026-03-04T12:00:00Z", 5),
                seen(
                    jti,
                    "2001:db8:1:2::/64",
                    "2026-03-02T08:00:00Z",
                    "2026-03-02T08:00:00Z",
                    1
                ),
            ]
        );
        assert_eq!(b.store.token_addresses(jti, 1).await.unwrap().len(), 1);

        let fresh = b.store.fresh_addresses(at("2026-03-02T00:00:00Z"), 10).await.unwrap();
        let found: Vec<(Uuid, &str, _)> = fresh
            .iter()
            .map(|f| (f.seen.jti, f.seen.address.as_str(), f.token_known_since))
            .collect();
        assert_eq!(
            found,
            [
                (jti, "2001:db8:1:2::/64", at("2026-03-01T09:59:00Z")),
                (other, "192.0.2.7", at("2026-03-03T00:00:00Z")),
            ]
        );
    }

    pub async fn fresh_addresses_skip_the_pairs_already_alerted(b: Backend) {
        let (demande, jti) = (Uuid::new_v4(), Uuid::new_v4());
        let pairs = [
            seen(jti, "192.0.2.7", "2026-03-02T10:00:00Z", "2026-03-02T10:00:00Z", 1),
            seen(jti, "192.0.2.8", "2026-03-02T11:00:00Z", "2026-03-02T11:00:00Z", 1),
        ];
        b.store.record_addresses(&pairs).await.unwrap();
        let fresh = |b: &Backend| {
            let store = b.store.clone();
            async move {
                let found = store.fresh_addresses(at("2026-03-01T00:00:00Z"), 10).await.unwrap();
                found.into_iter().map(|f| f.seen.address).collect::<Vec<_>>()
            }
        };
        assert_eq!(fresh(&b).await, ["192.0.2.7", "192.0.2.8"]);
        let mark = AlertMark {
            jti,
            kind: "new_address:192.0.2.7".into(),
            quiet_since: None,
        };
        let raised = alert(demande, jti, "new_address", "2026-03-02T12:00:00Z");
        assert!(b.store.raise_alert(&raised, &mark, &[]).await.unwrap());
        // Another token's mark, or another kind's, hides nothing.
        let elsewhere = AlertMark {
            jti: Uuid::new_v4(),
            kind: "new_address:192.0.2.8".into(),
            quiet_since: None,
        };
        let other = alert(demande, elsewhere.jti, "new_address", "2026-03-02T12:00:00Z");
        assert!(b.store.raise_alert(&other, &elsewhere, &[]).await.unwrap());
        assert_eq!(fresh(&b).await, ["192.0.2.8"], "the alerted pair is not read again");
    }

    fn alert(demande_id: Uuid, jti: Uuid, kind: &str, when: &str) -> AlertRecord {
        AlertRecord {
            id: Uuid::new_v4(),
            demande_id,
            jti,
            kind: kind.into(),
            at: at(when),
            detail: format!("{kind} at {when}"),
        }
    }

    pub async fn alerts_are_raised_once_per_mark_and_again_after_their_quiet_time(b: Backend) {
        let (demande, jti) = (Uuid::new_v4(), Uuid::new_v4());
        let mark = |quiet: Option<&str>| AlertMark {
            jti,
            kind: "spike".into(),
            quiet_since: quiet.map(at),
        };
        let letter = |key: &str, when: &str| {
            let mut item = OutboxItem::new("mail", "{}".into(), at(when));
            item.dedup = Some(key.into());
            item
        };
        let first = alert(demande, jti, "spike", "2026-03-01T10:00:00Z");
        let items = [letter("alert:1:a", "2026-03-01T10:00:00Z")];
        assert!(b
            .store
            .raise_alert(&first, &mark(Some("2026-02-28T10:00:00Z")), &items)
            .await
            .unwrap());
        assert_eq!(b.store.alert_mark(jti, "spike").await.unwrap(), Some(first.at));

        // Within the quiet time: nothing written, the letter neither.
        let soon = alert(demande, jti, "spike", "2026-03-01T11:00:00Z");
        let more = [letter("alert:1:b", "2026-03-01T11:00:00Z")];
        assert!(!b
            .store
            .raise_alert(&soon, &mark(Some("2026-02-28T11:00:00Z")), &more)
            .await
            .unwrap());
        assert_eq!(b.store.outbox("mail", 10).await.unwrap().len(), 1);

        // After it: raised again, the mark moved.
        let later = alert(demande, jti, "spike", "2026-03-02T11:00:00Z");
        assert!(b
            .store
            .raise_alert(&later, &mark(Some("2026-03-01T10:30:00Z")), &more)
            .await
            .unwrap());
        assert_eq!(b.store.alert_mark(jti, "spike").await.unwrap(), Some(later.at));

        // Without a quiet time, once ever; and with no letter at all (every channel off).
        let once = AlertMark {
            jti,
            kind: "new_address:192.0.2.7".into(),
            quiet_since: None,
        };
        let address = alert(demande, jti, "new_address", "2026-03-03T00:00:00Z");
        assert!(b.store.raise_alert(&address, &once, &[]).await.unwrap());
        let twice = alert(demande, jti, "new_address", "2026-03-04T00:00:00Z");
        assert!(!b.store.raise_alert(&twice, &once, &[]).await.unwrap());
        assert_eq!(b.store.alert_mark(Uuid::new_v4(), "spike").await.unwrap(), None);

        let listed = b.store.alerts_of(demande, 10).await.unwrap();
        assert_eq!(listed, [address, later, first]);
        assert_eq!(b.store.alerts_of(demande, 1).await.unwrap().len(), 1);
        assert!(b.store.alerts_of(Uuid::new_v4(), 10).await.unwrap().is_empty());
        assert_eq!(b.store.outbox("mail", 10).await.unwrap().len(), 2);
    }

    pub async fn concurrent_replicas_raise_an_alert_once(b: Backend) {
        let (demande, jti) = (Uuid::new_v4(), Uuid::new_v4());
        let second = (b.reopen)(b.url.clone()).await;
        let now = super::now();
        let raise = |store: std::sync::Arc<dyn passerelle_store::Store>| async move {
            let alert = AlertRecord {
                id: Uuid::new_v4(),
                demande_id: demande,
                jti,
                kind: "unused".into(),
                at: now,
                detail: "inutilisé".into(),
            };
            let mark = AlertMark {
                jti,
                kind: "unused".into(),
                quiet_since: Some(now - Duration::days(60)),
            };
            let mut item = OutboxItem::new("mail", "{}".into(), now);
            item.dedup = Some(format!("alert:{jti}:unused"));
            store.raise_alert(&alert, &mark, &[item]).await.unwrap()
        };
        let runs = (0..6).map(|i| {
            let store = if i % 2 == 0 { b.store.clone() } else { second.clone() };
            tokio::spawn(raise(store))
        });
        let mut raised = 0;
        for run in runs.collect::<Vec<_>>() {
            raised += u32::from(run.await.unwrap());
        }
        assert_eq!(raised, 1);
        assert_eq!(b.store.alerts_of(demande, 10).await.unwrap().len(), 1);
        assert_eq!(b.store.outbox("mail", 10).await.unwrap().len(), 1);
    }

    pub async fn alert_settings_round_trip_and_replace(b: Backend) {
        let demande = Uuid::new_v4();
        assert_eq!(b.store.alert_settings(demande).await.unwrap(), None);
        let mut settings = AlertSettings {
            demande_id: demande,
            opt_outs: vec!["mail:spike".into(), "webhook:unused".into()],
            webhook_url: Some("https://hooks.example/alertes".into()),
            webhook_secret: Some("s3cr3t".into()),
            updated_at: at("2026-03-01T10:00:00Z"),
            updated_by: "camille@mairie.example".into(),
        };
        b.store.put_alert_settings(&settings).await.unwrap();
        assert_eq!(b.store.alert_settings(demande).await.unwrap().as_ref(), Some(&settings));
        settings.opt_outs.clear();
        settings.webhook_url = None;
        settings.webhook_secret = None;
        settings.updated_by = "karim@mairie.example".into();
        b.store.put_alert_settings(&settings).await.unwrap();
        assert_eq!(b.store.alert_settings(demande).await.unwrap().as_ref(), Some(&settings));

        // All of them at once, for the alerts job.
        let mut another = settings.clone();
        another.demande_id = Uuid::new_v4();
        b.store.put_alert_settings(&another).await.unwrap();
        let every = b.store.every_alert_settings().await.unwrap();
        let mine: Vec<&AlertSettings> = every
            .iter()
            .filter(|s| [demande, another.demande_id].contains(&s.demande_id))
            .collect();
        assert_eq!(mine.len(), 2, "{every:?}");
        assert!(mine.contains(&&settings) && mine.contains(&&another));
    }
}
