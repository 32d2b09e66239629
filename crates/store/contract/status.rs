// Contract tests of StatusStore.

pub use status_contract::*;

mod status_contract {
    use chrono::{DateTime, Duration, NaiveDate, Utc};
    use passerelle_store::{Check, CheckStatus, NewNotice, NoticeKind, NoticeNote};

    use super::{at, Backend};

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn check(provider: &str, when: &str, status: CheckStatus) -> Check {
        let at = at(when);
        Check {
            bouquet: "particulier".into(),
            provider: provider.into(),
            day: at.date_naive(),
            at,
            status,
        }
    }

    fn notice(kind: NoticeKind, provider: Option<&str>, starts_at: DateTime<Utc>) -> NewNotice {
        NewNotice {
            bouquet: "particulier".into(),
            provider: provider.map(str::to_string),
            kind,
            title: "Lenteurs <du> fournisseur & co".into(),
            starts_at,
            ends_at: None,
            note: NoticeNote {
                at: starts_at,
                text: "Nous enquêtons.".into(),
            },
        }
    }

    pub async fn status_checks_roll_up_by_day_and_keep_the_newest(b: Backend) {
        let store = &b.store;
        for (when, status) in [
            ("2026-03-01T08:00:00.000001Z", CheckStatus::Ok),
            ("2026-03-01T09:00:00Z", CheckStatus::Down),
            ("2026-03-01T11:00:00Z", CheckStatus::Maintenance),
            ("2026-03-01T12:00:00Z", CheckStatus::Unknown),
            ("2026-03-01T13:00:00.123456Z", CheckStatus::Ok),
            // A replica late to record: counted, but the day still reads the newest.
            ("2026-03-01T10:00:00Z", CheckStatus::Down),
            ("2026-03-02T00:10:00Z", CheckStatus::Down),
        ] {
            store.record_check(&check("dss", when, status)).await.unwrap();
        }
        store
            .record_check(&check("ants", "2026-03-02T00:00:00Z", CheckStatus::Ok))
            .await
            .unwrap();
        let mut other = check("dss", "2026-03-01T08:00:00Z", CheckStatus::Down);
        other.bouquet = "entreprise".into();
        store.record_check(&other).await.unwrap();

        let days = store.check_days("particulier", day("2026-03-01")).await.unwrap();
        let keys: Vec<_> = days.iter().map(|d| (d.provider.as_str(), d.day)).collect();
        assert_eq!(
            keys,
            [
                ("ants", day("2026-03-02")),
                ("dss", day("2026-03-01")),
                ("dss", day("2026-03-02"))
            ],
            "by provider then day, this bouquet only"
        );
        let first = &days[1];
        assert_eq!((first.checks, first.ok, first.down, first.maintenance), (6, 2, 2, 1));
        assert_eq!(
            (first.last_status, first.last_at),
            (CheckStatus::Ok, at("2026-03-01T13:00:00.123456Z"))
        );
        assert_eq!(first.availability(), Some(0.5));
        assert_eq!(days[2].availability(), Some(0.0));

        let since = store.check_days("particulier", day("2026-03-02")).await.unwrap();
        assert_eq!(since.len(), 2, "days before `since` are left out");
        assert!(store.check_days("nowhere", day("2026-01-01")).await.unwrap().is_empty());
        let entreprise = store.check_days("entreprise", day("2026-01-01")).await.unwrap();
        assert_eq!(
            (
                entreprise.len(),
                entreprise[0].last_status,
                entreprise[0].availability()
            ),
            (1, CheckStatus::Down, Some(0.0))
        );
    }

    pub async fn status_checks_from_many_replicas_all_count(b: Backend) {
        let racers = (0..24).map(|i| {
            let store = b.store.clone();
            let status = if i % 3 == 0 { CheckStatus::Down } else { CheckStatus::Ok };
            let when = format!("2026-04-01T10:00:{:02}Z", i);
            tokio::spawn(async move { store.record_check(&check("cnous", &when, status)).await.unwrap() })
        });
        for racer in racers {
            racer.await.unwrap();
        }
        let days = b.store.check_days("particulier", day("2026-04-01")).await.unwrap();
        assert_eq!((days[0].checks, days[0].ok, days[0].down), (24, 16, 8));
        assert_eq!(days[0].last_at, at("2026-04-01T10:00:23Z"));
        assert_eq!(days[0].last_status, CheckStatus::Ok);
    }

    pub async fn status_notices_open_take_notes_and_close_once(b: Backend) {
        let store = &b.store;
        let start = at("2026-05-04T08:30:00.250000Z");
        let first = store
            .open_notice(&notice(NoticeKind::Incident, Some("dss"), start))
            .await
            .unwrap();
        let whole = store
            .open_notice(&notice(NoticeKind::Incident, None, start))
            .await
            .unwrap();
        assert_eq!((first.number, whole.number), (1, 2));
        assert_ne!(first.id, whole.id);
        assert_eq!(
            (first.provider.as_deref(), whole.provider.as_deref()),
            (Some("dss"), None)
        );
        assert_eq!(first.title, "Lenteurs <du> fournisseur & co");
        assert_eq!((first.starts_at, first.ends_at, first.created_at), (start, None, start));
        assert_eq!(first.notes.len(), 1);

        let later = NoticeNote {
            at: start + Duration::minutes(20),
            text: "Le fournisseur a redémarré un serveur.\nÀ suivre.".into(),
        };
        assert!(store.add_note(1, &later).await.unwrap());
        assert!(!store.add_note(99, &later).await.unwrap(), "no notice 99");
        let end = start + Duration::hours(1);
        assert!(store.close_notice(1, end, Some("Rétabli.")).await.unwrap());
        assert!(
            !store
                .close_notice(1, end + Duration::hours(1), Some("encore"))
                .await
                .unwrap(),
            "closed once"
        );
        assert!(!store.close_notice(99, end, None).await.unwrap());

        let closed = store.notice(1).await.unwrap().unwrap();
        assert_eq!(closed.ends_at, Some(end));
        let notes: Vec<_> = closed.notes.iter().map(|n| (n.at, n.text.as_str())).collect();
        assert_eq!(
            notes,
            [
                (start, "Nous enquêtons."),
                (later.at, later.text.as_str()),
                (end, "Rétabli.")
            ],
            "in order, the refused close's note not kept"
        );
        assert_eq!(closed.updated_at(), end);
        assert!(!closed.open_at(end) && closed.open_at(end - Duration::seconds(1)));
        // A closed notice still takes notes (a post-mortem).
        let after = NoticeNote {
            at: end + Duration::days(1),
            text: "Cause : certificat expiré.".into(),
        };
        assert!(store.add_note(1, &after).await.unwrap());
        assert_eq!(store.notice(1).await.unwrap().unwrap().notes.len(), 4);
        assert_eq!(store.notice(2).await.unwrap().unwrap().notes.len(), 1);
        assert!(store.notice(3).await.unwrap().is_none());

        // A maintenance announced with its end closes early, once.
        let mut planned = notice(NoticeKind::Maintenance, Some("cnous"), start + Duration::days(1));
        planned.ends_at = Some(start + Duration::days(1) + Duration::hours(2));
        let planned = store.open_notice(&planned).await.unwrap();
        assert_eq!(
            (planned.number, planned.kind, planned.ends_at),
            (
                3,
                NoticeKind::Maintenance,
                Some(start + Duration::days(1) + Duration::hours(2))
            )
        );
        assert!(!planned.active_at(start) && planned.open_at(start));
        let early = start + Duration::days(1) + Duration::hours(1);
        assert!(store.close_notice(3, early, None).await.unwrap());
        assert_eq!(store.notice(3).await.unwrap().unwrap().ends_at, Some(early));
    }

    pub async fn status_recent_notices_are_the_open_ones_and_those_ended_since(b: Backend) {
        let store = &b.store;
        let now = at("2026-06-01T12:00:00Z");
        let since = now - Duration::days(90);
        let mut old_open = notice(NoticeKind::Incident, None, now - Duration::days(200));
        old_open.title = "ouvert depuis longtemps".into();
        let mut old_closed = notice(NoticeKind::Incident, Some("dss"), now - Duration::days(120));
        old_closed.ends_at = Some(now - Duration::days(100));
        let mut recent_closed = notice(NoticeKind::Maintenance, Some("dss"), now - Duration::days(95));
        recent_closed.ends_at = Some(now - Duration::days(80));
        let mut upcoming = notice(NoticeKind::Maintenance, None, now + Duration::days(3));
        upcoming.ends_at = Some(now + Duration::days(3) + Duration::hours(4));
        let mut elsewhere = notice(NoticeKind::Incident, None, now - Duration::days(1));
        elsewhere.bouquet = "entreprise".into();
        for n in [&old_open, &old_closed, &recent_closed, &upcoming, &elsewhere] {
            store.open_notice(n).await.unwrap();
        }
        let recent = store.recent_notices(Some("particulier"), since).await.unwrap();
        let numbers: Vec<_> = recent.iter().map(|n| n.number).collect();
        assert_eq!(numbers, [4, 3, 1], "latest start first, the long-closed one left out");
        assert!(recent.iter().all(|n| n.notes.len() == 1));
        let all = store.recent_notices(None, since).await.unwrap();
        assert_eq!(all.iter().map(|n| n.number).collect::<Vec<_>>(), [4, 5, 3, 1]);
        assert_eq!(all[1].bouquet, "entreprise");
    }
}
