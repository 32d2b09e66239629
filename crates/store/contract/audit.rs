// Contract tests of AuditStore.

pub use audit_contract::*;

mod audit_contract {
    use chrono::Duration;
    use passerelle_store::{CallerId, DemandeRecord};
    use uuid::Uuid;

    use super::{at, call, chained, change, demande, Backend, GENESIS};

    pub async fn audit_calls_are_those_of_the_given_tokens_only_newest_first(b: Backend) {
        let (main, replaced, foreign) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let start = at("2026-03-01T10:00:00Z");
        let callers = [Some(main), Some(replaced), Some(foreign), None, Some(main)];
        let rows = callers
            .iter()
            .enumerate()
            .map(|(i, jti)| call(i, start + Duration::minutes(i as i64), jti.map(CallerId::Token)))
            .collect();
        let rows = chained(Uuid::new_v4(), 1, GENESIS, rows);
        b.store.append_journal(&rows, None).await.unwrap();
        let asked: Vec<String> = ["req-0", "req-1", "req-2", "req-3", "req-4", "req-99"]
            .map(String::from)
            .to_vec();

        let found = b.store.calls_of_tokens(&asked, &[main, replaced]).await.unwrap();
        let ids: Vec<&str> = found.iter().map(|r| r.request_id.as_str()).collect();
        assert_eq!(ids, ["req-4", "req-1", "req-0"], "theirs, newest first");
        assert_eq!(found[2], rows[0].row);
        let only_main = b.store.calls_of_tokens(&asked, &[main]).await.unwrap();
        assert_eq!(only_main.len(), 2);
        assert!(b.store.calls_of_tokens(&asked, &[]).await.unwrap().is_empty());
        assert!(b.store.calls_of_tokens(&[], &[main]).await.unwrap().is_empty());
        let unknown = ["req-99".to_string()];
        assert!(b.store.calls_of_tokens(&unknown, &[main]).await.unwrap().is_empty());
    }

    pub async fn audit_events_of_a_kind_list_newest_first_across_demandes(b: Backend) {
        let start = at("2026-03-01T10:00:00Z");
        let mut last = Vec::new();
        for (i, siret) in ["21000000000019", "21000000000027"].iter().enumerate() {
            let created = demande(siret, 1, start + Duration::hours(i as i64));
            assert!(b.store.commit_demande(&change(&created, "create", &[])).await.unwrap());
            let stored = b.store.demande(created.id).await.unwrap().unwrap();
            let mut at_version = stored;
            for (step, kind) in ["audit", "message", "audit"].iter().enumerate() {
                at_version = DemandeRecord {
                    version: at_version.version + 1,
                    updated_at: start + Duration::hours(i as i64) + Duration::minutes(step as i64 + 1),
                    ..at_version
                };
                assert!(b.store.commit_demande(&change(&at_version, kind, &[])).await.unwrap());
            }
            last.push(at_version);
        }
        let audits = b.store.events_of_kind("audit", 10).await.unwrap();
        assert_eq!(audits.len(), 4);
        assert!(audits.iter().all(|e| e.kind == "audit"));
        assert_eq!(
            (audits[0].demande_id, audits[0].seq),
            (last[1].id, last[1].version),
            "the newest first"
        );
        assert!(audits.windows(2).all(|w| w[0].at >= w[1].at));
        assert_eq!(b.store.events_of_kind("audit", 1).await.unwrap().len(), 1);
        assert!(b.store.events_of_kind("nothing", 10).await.unwrap().is_empty());
    }
}
