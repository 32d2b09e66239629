// Contract tests of OperatorStore.

pub use operator_contract::*;

mod operator_contract {
    use chrono::{DateTime, Duration, Utc};
    use passerelle_store::{DemandeRecord, OperatorAction, TokenChange, TokenRecord};
    use uuid::Uuid;

    use super::{change, demande, now, token, Backend};

    fn action(kind: &str, at: DateTime<Utc>, demande_id: Option<Uuid>, jti: Option<Uuid>) -> OperatorAction {
        OperatorAction {
            id: Uuid::new_v4(),
            at,
            admin: "elise@numerique.example".into(),
            action: kind.into(),
            agent: demande_id.map(|_| "camille@ville.example".into()),
            demande_id,
            jti,
            path: "/habilitation/admin/organisations/21000000000019".into(),
        }
    }

    pub async fn operator_actions_are_kept_and_read_newest_first(b: Backend) {
        let start = now();
        let first = action("impersonation_start", start, Some(Uuid::new_v4()), None);
        let second = action("impersonation_view", start + Duration::seconds(1), None, None);
        let third = action(
            "token_ban",
            start + Duration::seconds(2),
            Some(Uuid::new_v4()),
            Some(Uuid::new_v4()),
        );
        // Two at the same instant keep their writing order.
        let fourth = action("impersonation_stop", start + Duration::seconds(2), None, None);
        for a in [&first, &second, &third, &fourth] {
            b.store.record_operator_action(a).await.unwrap();
        }
        let newest = b.store.operator_actions(3).await.unwrap();
        assert_eq!(newest, [fourth, third, second.clone()]);
        let all = b.store.operator_actions(10).await.unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(all[3], first);
    }

    pub async fn operator_commits_write_the_demande_its_replacement_and_the_action_or_nothing(b: Backend) {
        let start = now();
        let applicant = [("camille@ville.example", "applicant")];
        let d = demande("21000000000019", 1, start);
        let mut approval = change(&d, "approve", &applicant);
        let old = token();
        approval.token = Some(TokenChange::Issue(old.clone()));
        assert!(b.store.commit_demande(&approval).await.unwrap());

        // A ban in a week with a replacement: the old token keeps its date, the new one none.
        let ban_at = start + Duration::days(7);
        let replacement = TokenRecord {
            jti: Uuid::new_v4(),
            issued_at: start,
            ..old.clone()
        };
        let banned = DemandeRecord {
            version: 2,
            ..d.clone()
        };
        let mut ban = change(&banned, "token", &applicant);
        ban.token = Some(TokenChange::Revoke {
            jti: old.jti,
            at: ban_at,
            also: Vec::new(),
        });
        let done = action("token_ban", start, Some(d.id), Some(old.jti));
        assert!(b.store.commit_operator(&ban, Some(&replacement), &done).await.unwrap());
        assert_eq!(b.store.token(old.jti).await.unwrap().unwrap().revoked_at, Some(ban_at));
        assert_eq!(b.store.token(replacement.jti).await.unwrap().unwrap(), replacement);
        assert_eq!(b.store.demande(d.id).await.unwrap().unwrap().version, 2);
        assert_eq!(b.store.operator_actions(10).await.unwrap(), [done]);

        // A page older than the demande writes nothing: no token, no action.
        let late = TokenRecord {
            jti: Uuid::new_v4(),
            ..old.clone()
        };
        let mut stale = change(&banned, "token", &applicant);
        stale.token = Some(TokenChange::Issue(late.clone()));
        let refused = action("token_create", start, Some(d.id), Some(late.jti));
        assert!(!b.store.commit_operator(&stale, None, &refused).await.unwrap());
        assert!(b.store.token(late.jti).await.unwrap().is_none());
        assert_eq!(b.store.operator_actions(10).await.unwrap().len(), 1);
        let events = b.store.demande_events(d.id).await.unwrap();
        assert_eq!(events.len(), 2);
    }

    pub async fn every_demande_and_an_organisations_own_are_listed(b: Backend) {
        let start = now();
        let people = [("camille@ville.example", "applicant")];
        let mut ids = Vec::new();
        for (siret, minutes) in [("21000000000019", 0), ("21000000000019", 2), ("13002526500013", 1)] {
            let d = demande(siret, 1, start + Duration::minutes(minutes));
            assert!(b.store.commit_demande(&change(&d, "create", &people)).await.unwrap());
            ids.push(d.id);
        }
        let all: Vec<Uuid> = b
            .store
            .all_demandes()
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(all, [ids[1], ids[2], ids[0]], "most recently changed first");
        let town: Vec<Uuid> = b
            .store
            .organisation_demandes("21000000000019")
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(town, [ids[1], ids[0]]);
        assert!(b
            .store
            .organisation_demandes("00000000000000")
            .await
            .unwrap()
            .is_empty());
    }

    pub async fn a_demande_is_read_by_number_and_tokens_by_their_ids(b: Backend) {
        let start = now();
        let people = [("camille@ville.example", "applicant")];
        let mut numbers = Vec::new();
        for minutes in [0, 1] {
            let d = demande("21000000000019", 1, start + Duration::minutes(minutes));
            assert!(b.store.commit_demande(&change(&d, "create", &people)).await.unwrap());
            numbers.push((d.id, b.store.demande(d.id).await.unwrap().unwrap().number));
        }
        for (id, number) in &numbers {
            let found = b.store.demande_numbered(*number).await.unwrap().unwrap();
            assert_eq!(found.id, *id);
        }
        assert!(b.store.demande_numbered(9_999).await.unwrap().is_none());

        let (first, second, third) = (token(), token(), token());
        for t in [&first, &second, &third] {
            b.store.insert_token(t).await.unwrap();
        }
        let mut found: Vec<Uuid> = b
            .store
            .tokens_in(&[third.jti, first.jti, Uuid::new_v4()])
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.jti)
            .collect();
        found.sort();
        let mut wanted = vec![first.jti, third.jti];
        wanted.sort();
        assert_eq!(found, wanted, "only those asked, unknown ids skipped");
        assert!(b.store.tokens_in(&[]).await.unwrap().is_empty());
    }
}
