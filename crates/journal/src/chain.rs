//! The journal's hash chain and its signed seals, independent of any backend.
//!
//! Each writer (one gateway process) keeps its own chain: row `seq` carries the hash
//! of row `seq - 1` and its own SHA-256 over a canonical encoding of its fields and
//! that previous hash. Seals sign a chain position with the gateway's Ed25519 key:
//! checkpoints cover the head, anchors stand in for the rows a purge removed.
//!
//! A row's format says which encoding its hash covers: format 1 (rows written before
//! bouquets) has `jti` and `recipient` only; format 2 adds the bouquet, the caller's
//! kind and every purpose parameter; format 3 adds the SHA-256 of a signed answer's
//! body; format 4 adds the lookup key of the person the call is about (the citizen
//! record). New rows are always format 4.

use chrono::{DateTime, SecondsFormat, Utc};
use passerelle_store::{
    CallerId, ChainedRow, JournalRow, KeyStore, RowFormat, Seal, SealKind, SigningKey, KEYS_FOR_TOKENS, PARTICULIER,
};
use ring::signature::{Ed25519KeyPair, UnparsedPublicKey, ED25519};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The `prev_hash` of a writer's first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Both backends keep microseconds; hashing at that precision lets a row read back
/// hash to the same value.
pub fn to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    let micros = at.timestamp_micros();
    DateTime::from_timestamp_micros(micros).unwrap_or(at)
}

pub fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Length-prefixed fields, so that no two different rows encode alike.
struct Canonical(Vec<u8>);

impl Canonical {
    fn new(tag: &str) -> Self {
        let mut c = Canonical(Vec::with_capacity(256));
        c.field(Some(tag));
        c
    }

    fn field(&mut self, value: Option<&str>) {
        match value {
            Some(v) => {
                self.0.extend_from_slice(&(v.len() as u32).to_be_bytes());
                self.0.extend_from_slice(v.as_bytes());
            }
            None => self.0.extend_from_slice(&u32::MAX.to_be_bytes()),
        }
    }

    fn text(&mut self, value: impl ToString) {
        self.field(Some(&value.to_string()));
    }

    fn sha256(&self) -> String {
        passerelle_core::hex_lower(&Sha256::digest(&self.0))
    }
}

/// The hash a row of `format` must carry, given its writer, position and predecessor;
/// `None` when the row holds what that format cannot encode (a format 1 row with a
/// citizen, another bouquet or another purpose parameter, or an older row with a body
/// hash, has been altered).
pub fn row_hash(format: RowFormat, writer: Uuid, seq: i64, prev_hash: &str, row: &JournalRow) -> Option<String> {
    let tag = match format {
        RowFormat::V1 => "passerelle-journal-row-v1",
        RowFormat::V2 => "passerelle-journal-row-v2",
        RowFormat::V3 => "passerelle-journal-row-v3",
        RowFormat::V4 => "passerelle-journal-row-v4",
    };
    let too_old = |since: RowFormat| format.number() < since.number();
    if (too_old(RowFormat::V3) && row.body_sha256.is_some()) || (too_old(RowFormat::V4) && row.subject.is_some()) {
        return None;
    }
    let mut c = Canonical::new(tag);
    c.text(writer);
    c.text(seq);
    c.field(Some(prev_hash));
    c.field(Some(&row.request_id));
    c.text(time_text(row.at));
    match format {
        RowFormat::V1 => v1_who(&mut c, row)?,
        RowFormat::V2 | RowFormat::V3 | RowFormat::V4 => v2_who(&mut c, row),
    }
    c.field(Some(&row.endpoint));
    c.text(row.status);
    // `{:?}` is the shortest text that reads back to the same f64.
    c.text(format!("{:?}", row.duration_ms));
    c.field(row.params_hash.as_deref());
    c.text(row.cached);
    if !too_old(RowFormat::V3) {
        c.field(row.body_sha256.as_deref());
    }
    if !too_old(RowFormat::V4) {
        c.field(row.subject.as_deref());
    }
    Some(c.sha256())
}

/// Format 1: `jti`, then `recipient`.
fn v1_who(c: &mut Canonical, row: &JournalRow) -> Option<()> {
    let jti = match &row.caller {
        Some(CallerId::Token(jti)) => Some(jti.to_string()),
        Some(CallerId::Citizen(_)) => return None,
        None => None,
    };
    let recipient = row.purpose.get("recipient");
    let only_recipient = row.purpose.len() == usize::from(recipient.is_some());
    if row.bouquet != PARTICULIER || !only_recipient {
        return None;
    }
    c.field(jti.as_deref());
    c.field(recipient.map(String::as_str));
    Some(())
}

/// Format 2: bouquet, caller kind and value, then the purpose's count and its pairs
/// (keys sorted: a `BTreeMap` iterates in order).
fn v2_who(c: &mut Canonical, row: &JournalRow) {
    c.field(Some(&row.bouquet));
    match &row.caller {
        Some(CallerId::Token(jti)) => {
            c.field(Some("token"));
            c.text(jti);
        }
        Some(CallerId::Citizen(hash)) => {
            c.field(Some("citizen"));
            c.field(Some(hash));
        }
        None => {
            c.field(None);
            c.field(None);
        }
    }
    c.text(row.purpose.len());
    for (key, value) in &row.purpose {
        c.field(Some(key));
        c.field(Some(value));
    }
}

/// Chains `row` after `(seq - 1, prev_hash)`, in the current format.
pub fn link(writer: Uuid, seq: i64, prev_hash: &str, mut row: JournalRow) -> ChainedRow {
    row.at = to_micros(row.at);
    let hash = row_hash(RowFormat::V4, writer, seq, prev_hash, &row).expect("format 4 encodes every row");
    ChainedRow {
        row,
        format: RowFormat::V4,
        writer,
        seq,
        prev_hash: prev_hash.to_string(),
        hash,
    }
}

/// Whether `row`'s hash is the one its fields, format and position make.
pub fn holds(row: &ChainedRow) -> bool {
    row_hash(row.format, row.writer, row.seq, &row.prev_hash, &row.row).is_some_and(|h| h == row.hash)
}

fn seal_message(kind: SealKind, writer: Uuid, seq: i64, hash: &str, at: DateTime<Utc>) -> Vec<u8> {
    let mut c = Canonical::new("passerelle-journal-seal-v1");
    c.text(kind.as_str());
    c.text(writer);
    c.text(seq);
    c.field(Some(hash));
    c.text(time_text(at));
    c.0
}

/// A seal over `(writer, seq, hash)` signed with `key` (an Ed25519 PKCS#8 key).
pub fn seal(kind: SealKind, writer: Uuid, seq: i64, hash: &str, key: &SigningKey) -> anyhow::Result<Seal> {
    let pair = Ed25519KeyPair::from_pkcs8(&key.private_der).map_err(|_| anyhow::anyhow!("signing key is invalid"))?;
    let at = to_micros(Utc::now());
    let signature = pair.sign(&seal_message(kind, writer, seq, hash, at));
    Ok(Seal {
        kind,
        writer,
        seq,
        hash: hash.to_string(),
        at,
        kid: key.kid.clone(),
        signature: hex::encode(signature.as_ref()),
    })
}

/// The store's newest Ed25519 key: the one that signs seals.
pub async fn sealing_key<S: KeyStore + ?Sized>(store: &S) -> anyhow::Result<SigningKey> {
    let keys = store.signing_keys().await?;
    keys.into_iter()
        .rfind(|k| k.signs(KEYS_FOR_TOKENS))
        .ok_or_else(|| anyhow::anyhow!("the store holds no Ed25519 key to sign journal seals"))
}

/// Whether `seal` was signed by one of `keys` (matched by `kid`).
pub fn seal_is_signed(seal: &Seal, keys: &[SigningKey]) -> bool {
    let Some(key) = keys.iter().find(|k| k.kid == seal.kid) else {
        return false;
    };
    let Ok(signature) = hex::decode(&seal.signature) else {
        return false;
    };
    let message = seal_message(seal.kind, seal.writer, seal.seq, &seal.hash, seal.at);
    UnparsedPublicKey::new(&ED25519, &key.public_der)
        .verify(&message, &signature)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{call, signing_key};

    #[test]
    fn every_field_counts_in_the_hash() {
        let writer = Uuid::new_v4();
        let first = link(writer, 1, GENESIS, call(0));
        assert!(holds(&first));
        let changes: [fn(&mut JournalRow); 7] = [
            |r| r.subject = Some("ab".repeat(32)),
            |r| r.status = 404,
            |r| r.bouquet = "entreprise".into(),
            |r| r.caller = Some(CallerId::Citizen("ab".into())),
            |r| r.purpose.clear(),
            |r| r.body_sha256 = Some("00".repeat(32)),
            |r| {
                r.purpose.insert("object".into(), "x".into());
            },
        ];
        for change in changes {
            let mut changed = first.clone();
            change(&mut changed.row);
            assert!(!holds(&changed), "{:?}", changed.row);
        }
        let hash = |w, seq, prev: &str| row_hash(RowFormat::V4, w, seq, prev, &first.row).unwrap();
        assert_ne!(hash(writer, 2, GENESIS), first.hash);
        assert_ne!(hash(Uuid::new_v4(), 1, GENESIS), first.hash);
        assert_ne!(hash(writer, 1, &first.hash), first.hash);
    }

    #[test]
    fn a_subject_needs_format_4_and_moving_it_breaks_the_row() {
        let mut row = call(0);
        row.subject = Some("ab".repeat(32));
        let w = Uuid::new_v4();
        assert_eq!(row_hash(RowFormat::V3, w, 1, GENESIS, &row), None);
        let linked = link(w, 1, GENESIS, row);
        assert_eq!(linked.format, RowFormat::V4);
        let mut moved = linked.clone();
        moved.row.subject = Some("cd".repeat(32));
        assert!(holds(&linked) && !holds(&moved));
    }

    #[test]
    fn purpose_pairs_do_not_run_into_each_other() {
        let mut a = call(0);
        a.purpose = [("ab".to_string(), "c".to_string())].into();
        let mut b = call(0);
        b.purpose = [("a".to_string(), "bc".to_string())].into();
        let w = Uuid::new_v4();
        assert_ne!(link(w, 1, GENESIS, a).hash, link(w, 1, GENESIS, b).hash);
    }

    #[test]
    fn absent_and_empty_fields_differ() {
        let mut a = call(0);
        a.params_hash = None;
        let mut b = a.clone();
        b.params_hash = Some(String::new());
        let w = Uuid::new_v4();
        assert_ne!(link(w, 1, GENESIS, a).hash, link(w, 1, GENESIS, b).hash);
    }

    #[test]
    fn format_1_is_the_encoding_rows_were_written_with() {
        // The hash the code before format 2 gave this row (commit 124f834).
        let row = JournalRow {
            request_id: "r".into(),
            at: DateTime::parse_from_rfc3339("2026-03-01T12:00:00.123456Z")
                .unwrap()
                .into(),
            bouquet: PARTICULIER.into(),
            caller: Some(CallerId::Token(Uuid::from_u128(7))),
            purpose: [("recipient".to_string(), "13002526500013".to_string())].into(),
            endpoint: "/v3/dss/quotient_familial/identite".into(),
            status: 200,
            duration_ms: 12.25,
            params_hash: None,
            cached: false,
            body_sha256: None,
            subject: None,
        };
        let hash = row_hash(RowFormat::V1, Uuid::from_u128(1), 1, GENESIS, &row).unwrap();
        assert_eq!(hash, "ab244843bd2e7ecf857068269abed7a7b933b6e0a25ff9b06a2d91120f25d406");
        let mut citizen = row.clone();
        citizen.caller = Some(CallerId::Citizen("ab".into()));
        assert_eq!(row_hash(RowFormat::V1, Uuid::from_u128(1), 1, GENESIS, &citizen), None);
    }

    #[test]
    fn seals_verify_with_their_key_only() {
        let (key, other) = (signing_key(), signing_key());
        let writer = Uuid::new_v4();
        let s = seal(SealKind::Checkpoint, writer, 3, GENESIS, &key).unwrap();
        assert!(seal_is_signed(&s, std::slice::from_ref(&key)));
        assert!(!seal_is_signed(&s, &[other]));
        let mut forged = s.clone();
        forged.seq = 2;
        assert!(!seal_is_signed(&forged, &[key]));
    }
}
