// Contract tests of DelegationStore.

pub use delegations_contract::*;

mod delegations_contract {
    use chrono::Duration;
    use passerelle_store::{DelegatedToken, Delegation, DelegationWrite, DemandeRecord, TokenChange, TokenRecord};
    use uuid::Uuid;

    use super::{at, change, demande, token, Backend};

    const APPLICANT: [(&str, &str); 1] = [("camille@ville.example", "applicant")];

    fn at_version(d: &DemandeRecord, version: i64) -> DemandeRecord {
        DemandeRecord { version, ..d.clone() }
    }

    fn granted(d: &DemandeRecord, editor: &str, minutes: i64) -> Delegation {
        Delegation {
            id: Uuid::new_v4(),
            demande_id: d.id,
            editor: editor.into(),
            granted_by: "camille@ville.example".into(),
            granted_at: d.updated_at + Duration::minutes(minutes),
            revoked_by: None,
            revoked_at: None,
        }
    }

    /// A demande approved with its token; the demande at version 1.
    async fn approved(b: &Backend) -> (DemandeRecord, TokenRecord) {
        let d = demande("21000000000019", 1, at("2026-12-06T08:00:00Z"));
        let mut approval = change(&d, "approve", &APPLICANT);
        let main = token();
        approval.token = Some(TokenChange::Issue(main.clone()));
        assert!(b.store.commit_demande(&approval).await.unwrap());
        (d, main)
    }

    pub async fn delegations_are_granted_listed_and_revoked_with_their_demande(b: Backend) {
        let (d, _) = approved(&b).await;
        let first = granted(&d, "restauscol", 1);
        let grant = DelegationWrite::Grant(first.clone());
        let stale = change(&at_version(&d, 3), "delegation", &APPLICANT);
        assert!(
            !b.store.commit_delegation(&stale, &grant).await.unwrap(),
            "a stale page writes nothing"
        );
        assert!(b.store.delegations_of(d.id).await.unwrap().is_empty());

        let v2 = change(&at_version(&d, 2), "delegation", &APPLICANT);
        assert!(b.store.commit_delegation(&v2, &grant).await.unwrap());
        let other = granted(&d, "famille-plus", 2);
        let v3 = change(&at_version(&d, 3), "delegation", &APPLICANT);
        assert!(b
            .store
            .commit_delegation(&v3, &DelegationWrite::Grant(other.clone()))
            .await
            .unwrap());
        assert_eq!(
            b.store.delegations_of(d.id).await.unwrap(),
            [other.clone(), first.clone()]
        );
        assert_eq!(
            b.store.delegations_to("restauscol").await.unwrap(),
            std::slice::from_ref(&first)
        );
        assert!(b.store.delegations_to("nobody").await.unwrap().is_empty());
        let events: Vec<String> = b
            .store
            .demande_events(d.id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(events, ["approve", "delegation", "delegation"]);

        let revoked_at = first.granted_at + Duration::hours(1);
        let revoke = DelegationWrite::Revoke {
            id: first.id,
            by: "karim@ville.example".into(),
            at: revoked_at,
        };
        let v4 = change(&at_version(&d, 4), "delegation", &APPLICANT);
        assert!(b.store.commit_delegation(&v4, &revoke).await.unwrap());
        assert!(b.store.delegations_to("restauscol").await.unwrap().is_empty());
        let kept = b.store.delegations_of(d.id).await.unwrap();
        let ended = kept.iter().find(|x| x.id == first.id).unwrap();
        assert_eq!(
            (ended.revoked_by.as_deref(), ended.revoked_at),
            (Some("karim@ville.example"), Some(revoked_at))
        );
        // Granted again once revoked: a new delegation, the old one kept.
        let again = granted(&d, "restauscol", 90);
        let v5 = change(&at_version(&d, 5), "delegation", &APPLICANT);
        assert!(b
            .store
            .commit_delegation(&v5, &DelegationWrite::Grant(again.clone()))
            .await
            .unwrap());
        assert_eq!(b.store.delegations_to("restauscol").await.unwrap(), [again]);
        assert_eq!(b.store.delegations_of(d.id).await.unwrap().len(), 3);
    }

    pub async fn delegated_tokens_are_issued_and_revoked_with_their_demande(b: Backend) {
        let (d, main) = approved(&b).await;
        let delegation = granted(&d, "restauscol", 1);
        let v2 = change(&at_version(&d, 2), "delegation", &APPLICANT);
        assert!(b
            .store
            .commit_delegation(&v2, &DelegationWrite::Grant(delegation.clone()))
            .await
            .unwrap());

        let record = TokenRecord {
            jti: Uuid::new_v4(),
            ..main.clone()
        };
        let taken = DelegatedToken {
            jti: record.jti,
            delegation_id: delegation.id,
            label: "Jeton délégué à RestauScol".into(),
            taken_by: "lea@restauscol.example".into(),
            taken_at: delegation.granted_at + Duration::minutes(5),
        };
        let take = DelegationWrite::Take {
            token: taken.clone(),
            record: record.clone(),
        };
        let stale = change(&at_version(&d, 2), "delegation", &APPLICANT);
        assert!(!b.store.commit_delegation(&stale, &take).await.unwrap());
        assert!(b.store.token(record.jti).await.unwrap().is_none(), "nothing written");

        let v3 = change(&at_version(&d, 3), "delegation", &APPLICANT);
        assert!(b.store.commit_delegation(&v3, &take).await.unwrap());
        assert_eq!(b.store.token(record.jti).await.unwrap().unwrap(), record);
        assert_eq!(
            b.store.delegated_tokens(delegation.id).await.unwrap(),
            std::slice::from_ref(&taken)
        );

        // A second token replaces the first, which is revoked in the same transaction.
        let second = TokenRecord {
            jti: Uuid::new_v4(),
            ..main.clone()
        };
        let replacing = DelegatedToken {
            jti: second.jti,
            taken_at: taken.taken_at + Duration::minutes(5),
            ..taken.clone()
        };
        let mut v4 = change(&at_version(&d, 4), "delegation", &APPLICANT);
        let stop = replacing.taken_at;
        v4.token = Some(TokenChange::Revoke {
            jti: record.jti,
            at: stop,
            also: Vec::new(),
        });
        let take = DelegationWrite::Take {
            token: replacing.clone(),
            record: second.clone(),
        };
        assert!(b.store.commit_delegation(&v4, &take).await.unwrap());
        assert_eq!(b.store.token(record.jti).await.unwrap().unwrap().revoked_at, Some(stop));
        assert_eq!(b.store.token(second.jti).await.unwrap().unwrap().revoked_at, None);
        assert_eq!(
            b.store.delegated_tokens(delegation.id).await.unwrap(),
            [replacing, taken]
        );
    }
}
