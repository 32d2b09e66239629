//! The journal's hash chain and its signed seals, independent of any backend.
//!
//! Each writer (one gateway process) keeps its own chain: row `seq` carries the hash
//! of row `seq - 1` and its own SHA-256 over a canonical encoding of its fields and
//! that previous hash. Seals sign a chain position with the gateway's Ed25519 key:
//! checkpoints cover the head, anchors stand in for the rows a purge removed.

use chrono::{DateTime, SecondsFormat, Utc};
use ring::signature::{Ed25519KeyPair, UnparsedPublicKey, ED25519};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{ChainedRow, JournalRow, Seal, SealKind, SigningKey};

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
}

/// The hash a row must carry, given its writer, position and predecessor.
pub fn row_hash(writer: Uuid, seq: i64, prev_hash: &str, row: &JournalRow) -> String {
    let mut c = Canonical::new("passerelle-journal-row-v1");
    c.text(writer);
    c.text(seq);
    c.field(Some(prev_hash));
    c.field(Some(&row.request_id));
    c.text(time_text(row.at));
    c.field(row.jti.map(|j| j.to_string()).as_deref());
    c.field(row.recipient.as_deref());
    c.field(Some(&row.endpoint));
    c.text(row.status);
    // `{:?}` is the shortest text that reads back to the same f64.
    c.text(format!("{:?}", row.duration_ms));
    c.field(row.params_hash.as_deref());
    c.text(row.cached);
    hex::encode(Sha256::digest(&c.0))
}

/// Chains `row` after `(seq - 1, prev_hash)`.
pub fn link(writer: Uuid, seq: i64, prev_hash: &str, mut row: JournalRow) -> ChainedRow {
    row.at = to_micros(row.at);
    let hash = row_hash(writer, seq, prev_hash, &row);
    ChainedRow {
        row,
        writer,
        seq,
        prev_hash: prev_hash.to_string(),
        hash,
    }
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

    fn row() -> JournalRow {
        JournalRow {
            request_id: "r".into(),
            at: Utc::now(),
            jti: Some(Uuid::new_v4()),
            recipient: Some("13002526500013".into()),
            endpoint: "/v3/dss/quotient_familial/identite".into(),
            status: 200,
            duration_ms: 12.25,
            params_hash: None,
            cached: false,
        }
    }

    #[test]
    fn every_field_counts_in_the_hash() {
        let writer = Uuid::new_v4();
        let first = link(writer, 1, GENESIS, row());
        assert_eq!(row_hash(writer, 1, GENESIS, &first.row), first.hash);
        let mut changed = first.row.clone();
        changed.status = 404;
        assert_ne!(row_hash(writer, 1, GENESIS, &changed), first.hash);
        let mut changed = first.row.clone();
        changed.recipient = None;
        assert_ne!(row_hash(writer, 1, GENESIS, &changed), first.hash);
        assert_ne!(row_hash(writer, 2, GENESIS, &first.row), first.hash);
        assert_ne!(row_hash(Uuid::new_v4(), 1, GENESIS, &first.row), first.hash);
        assert_ne!(row_hash(writer, 1, &first.hash, &first.row), first.hash);
    }

    #[test]
    fn absent_and_empty_fields_differ() {
        let mut a = row();
        a.params_hash = None;
        let mut b = a.clone();
        b.params_hash = Some(String::new());
        let w = Uuid::new_v4();
        assert_ne!(row_hash(w, 1, GENESIS, &a), row_hash(w, 1, GENESIS, &b));
    }
}
