//! Checks every writer's hash chain, row by row, and every seal's signature.

use std::collections::HashMap;

use passerelle_store::{ChainedRow, JournalAudit, KeyStore, Seal, SealKind, SigningKey, WriterSpan, LEGACY_WRITER};
use uuid::Uuid;

use crate::chain::{self, GENESIS};
use crate::{Progress, PAGE};

/// What `verify` found.
#[derive(Debug, Default)]
pub struct Report {
    pub writers: usize,
    pub rows: u64,
    pub seals: usize,
    /// Rows after their writer's last checkpoint (not signed yet).
    pub unsealed: u64,
    pub legacy: i64,
    /// The first thing that does not hold, with the row it concerns.
    pub broken: Option<String>,
}

impl Report {
    pub fn summary(&self) -> String {
        let mut text = format!(
            "{} writers, {} rows chained, {} seals verified, {} rows after their writer's last checkpoint",
            self.writers, self.rows, self.seals, self.unsealed
        );
        if self.legacy > 0 {
            text.push_str(&format!(
                "; {} rows from before the chain cannot be verified",
                self.legacy
            ));
        }
        text.push_str(if self.broken.is_some() { ": BROKEN" } else { ": OK" });
        text
    }
}

/// Checks every chain, row by row, and every seal.
pub async fn verify<S>(store: &S, progress: &dyn Progress) -> anyhow::Result<Report>
where
    S: KeyStore + JournalAudit + ?Sized,
{
    let keys = store.signing_keys().await?;
    let spans = store.journal_writers().await?;
    let mut seals: HashMap<Uuid, Vec<Seal>> = HashMap::new();
    for seal in store.journal_seals().await? {
        seals.entry(seal.writer).or_default().push(seal);
    }
    let mut report = Report::default();
    progress.total(spans.iter().map(|s| s.rows.max(0) as u64).sum());
    for span in &spans {
        if span.writer == LEGACY_WRITER {
            report.legacy = span.rows;
            continue;
        }
        report.writers += 1;
        let writer_seals = seals.remove(&span.writer).unwrap_or_default();
        let check = Writer {
            span,
            seals: &writer_seals,
            keys: &keys,
        };
        if let Err(why) = check.verify(store, &mut report, progress).await? {
            report.broken = Some(why);
            return Ok(report);
        }
    }
    report.broken = lone_seals(seals, &keys, &mut report.seals).err();
    Ok(report)
}

fn bad_signature(writer: Uuid, seal: &Seal) -> String {
    format!(
        "writer {writer}: {} at seq {} has a bad signature",
        seal.kind.as_str(),
        seal.seq
    )
}

/// Seals of writers that have no row left: only anchors may stand alone.
fn lone_seals(seals: HashMap<Uuid, Vec<Seal>>, keys: &[SigningKey], counted: &mut usize) -> Result<(), String> {
    for (writer, rest) in seals {
        for seal in rest {
            if !chain::seal_is_signed(&seal, keys) {
                return Err(bad_signature(writer, &seal));
            }
            if seal.kind == SealKind::Checkpoint && writer != LEGACY_WRITER {
                return Err(format!(
                    "writer {writer} seq {}: signed by a checkpoint, but the writer's rows are gone",
                    seal.seq
                ));
            }
            *counted += 1;
        }
    }
    Ok(())
}

fn describe(row: &ChainedRow) -> String {
    format!(
        "writer {} seq {} (request {}, {})",
        row.writer,
        row.seq,
        row.row.request_id,
        chain::time_text(row.row.at)
    )
}

/// One writer's chain and seals, as the store holds them.
struct Writer<'a> {
    span: &'a WriterSpan,
    seals: &'a [Seal],
    keys: &'a [SigningKey],
}

/// Where the walk along a chain stands.
struct Walk<'a> {
    expected_seq: i64,
    prev: String,
    /// Checkpointed hashes by position.
    signed: HashMap<i64, &'a str>,
    last_signed: i64,
}

impl<'a> Writer<'a> {
    /// `Ok(Err(why))` when the chain is broken.
    async fn verify<S>(
        &self,
        store: &S,
        report: &mut Report,
        progress: &dyn Progress,
    ) -> anyhow::Result<Result<(), String>>
    where
        S: JournalAudit + ?Sized,
    {
        if let Err(why) = self.check_seals() {
            return Ok(Err(why));
        }
        let mut walk = self.start();
        let mut after = self.span.first_seq - 1;
        loop {
            let rows = store.writer_rows(self.span.writer, after, PAGE).await?;
            let Some(last) = rows.last() else { break };
            after = last.seq;
            for row in &rows {
                if let Err(why) = walk.step(row) {
                    return Ok(Err(why));
                }
            }
            report.rows += rows.len() as u64;
            progress.advance(rows.len() as u64);
        }
        report.seals += self.seals.len();
        report.unsealed += (self.span.last_seq - walk.last_signed).max(0) as u64;
        Ok(Ok(()))
    }

    fn check_seals(&self) -> Result<(), String> {
        let writer = self.span.writer;
        for seal in self.seals {
            if !chain::seal_is_signed(seal, self.keys) {
                return Err(bad_signature(writer, seal));
            }
            if seal.seq > self.span.last_seq {
                return Err(format!(
                    "writer {writer}: rows after seq {} are missing (a checkpoint signed seq {})",
                    self.span.last_seq, seal.seq
                ));
            }
        }
        Ok(())
    }

    /// The kept chain starts at its genesis, or after the purge's anchor.
    fn start(&self) -> Walk<'a> {
        let anchor = self
            .seals
            .iter()
            .find(|s| s.kind == SealKind::Anchor && s.seq == self.span.first_seq - 1);
        let (expected_seq, prev) = match anchor {
            Some(a) => (a.seq + 1, a.hash.clone()),
            None => (1, GENESIS.to_string()),
        };
        let signed = self
            .seals
            .iter()
            .filter(|s| s.kind == SealKind::Checkpoint && s.seq >= self.span.first_seq)
            .map(|s| (s.seq, s.hash.as_str()))
            .collect();
        Walk {
            expected_seq,
            prev,
            signed,
            last_signed: anchor.map_or(0, |a| a.seq),
        }
    }
}

impl Walk<'_> {
    fn step(&mut self, row: &ChainedRow) -> Result<(), String> {
        if row.seq != self.expected_seq {
            return Err(format!(
                "writer {}: seq {} is missing (next row is {})",
                row.writer,
                self.expected_seq,
                describe(row)
            ));
        }
        if row.prev_hash != self.prev {
            return Err(format!(
                "{}: its previous hash does not match the row before it",
                describe(row)
            ));
        }
        if !chain::holds(row) {
            return Err(format!(
                "{}: its content does not match its hash (row altered)",
                describe(row)
            ));
        }
        if let Some(hash) = self.signed.get(&row.seq) {
            if *hash != row.hash {
                return Err(format!("{}: differs from the checkpoint signed for it", describe(row)));
            }
            self.last_signed = row.seq;
        }
        self.prev = row.hash.clone();
        self.expected_seq += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use passerelle_store::{CallerId, JournalRow, RowFormat, PARTICULIER};

    use super::*;
    use crate::testing::{call, sql, Place, TestStore};

    async fn broken(t: &TestStore) -> String {
        let report = verify(t.store.as_ref(), &()).await.unwrap();
        let summary = report.summary();
        report.broken.unwrap_or_else(|| panic!("verifies: {summary}"))
    }

    #[tokio::test]
    async fn a_written_journal_verifies() {
        let t = TestStore::sqlite().await;
        t.write(7).await;
        let report = verify(t.store.as_ref(), &()).await.unwrap();
        // Checkpoints after rows 3 and 6, and at the end.
        assert_eq!(
            (report.writers, report.rows, report.seals, report.unsealed),
            (1, 7, 3, 0),
            "{}",
            report.summary()
        );
        assert!(report.summary().ends_with(": OK"));
    }

    /// Asserts that after `calls` rows were written and `change` made, `verify` says
    /// what `says` holds.
    async fn broken_after(calls: usize, change: &str, says: &[&str]) {
        let t = TestStore::sqlite().await;
        t.write(calls).await;
        t.sql(change).await;
        let why = broken(&t).await;
        assert!(says.iter().all(|s| why.contains(s)), "{change}: {why}");
    }

    #[tokio::test]
    async fn a_changed_row_is_named() {
        let change = "UPDATE journal SET status = 500 WHERE request_id = 'req-4'";
        broken_after(7, change, &["seq 5 (request req-4", "altered"]).await;
    }

    #[tokio::test]
    async fn a_changed_caller_or_purpose_is_named() {
        let changes = [
            "jti = NULL, citizen = 'ab'",
            "bouquet = 'entreprise'",
            r#"purpose = '{"recipient":"99999999999999"}'"#,
        ];
        for change in changes {
            let change = format!("UPDATE journal SET {change} WHERE request_id = 'req-1'");
            broken_after(3, &change, &["seq 2 (request req-1", "altered"]).await;
        }
    }

    #[tokio::test]
    async fn a_removed_middle_row_is_named() {
        let change = "DELETE FROM journal WHERE request_id = 'req-1'";
        broken_after(5, change, &["seq 2 is missing", "req-2"]).await;
    }

    #[tokio::test]
    async fn a_chain_cut_up_to_its_checkpoint_is_seen() {
        let change = "DELETE FROM journal WHERE request_id IN ('req-2', 'req-3')";
        broken_after(4, change, &["rows after seq 2 are missing"]).await;
    }

    #[tokio::test]
    async fn a_body_hash_added_to_an_unsigned_answer_is_named() {
        let change = "UPDATE journal SET body_sha256 = 'ab' WHERE request_id = 'req-1'";
        broken_after(4, change, &["seq 2 (request req-1", "altered"]).await;
    }

    #[tokio::test]
    async fn a_bad_seal_is_named() {
        // The seal signed position 3; moved to 2, its signature no longer holds.
        let change = "UPDATE journal_seals SET seq = 2 WHERE seq = 3";
        broken_after(4, change, &["checkpoint at seq 2 has a bad signature"]).await;
    }

    /// Rows as the code before format 2 chained them: `jti` and `recipient` only.
    fn format_1_rows(writer: Uuid) -> Vec<ChainedRow> {
        let mut prev = GENESIS.to_string();
        (0..3)
            .map(|i| {
                let mut row = JournalRow {
                    request_id: format!("old-{i}"),
                    at: chain::to_micros(chrono::Utc::now()),
                    ..call(i)
                };
                if i == 2 {
                    (row.caller, row.purpose) = (None, Default::default());
                }
                let seq = i as i64 + 1;
                let hash = chain::row_hash(RowFormat::V1, writer, seq, &prev, &row).unwrap();
                ChainedRow {
                    row,
                    format: RowFormat::V1,
                    writer,
                    seq,
                    prev_hash: std::mem::replace(&mut prev, hash.clone()),
                    hash,
                }
            })
            .collect()
    }

    /// The `INSERT` the code before format 2 made (SQLite kept the chain position in `wseq`).
    fn format_1_insert(c: &ChainedRow, sqlite: bool) -> String {
        let text = |v: Option<String>| v.map_or("NULL".into(), |v| format!("'{v}'"));
        let jti = match &c.row.caller {
            Some(CallerId::Token(jti)) => Some(jti.to_string()),
            _ => None,
        };
        format!(
            "INSERT INTO journal (request_id, at, jti, recipient, endpoint, status, duration_ms, params_hash, cached, \
             writer, {}, prev_hash, hash) VALUES ('{}', '{}', {}, {}, '{}', {}, {:?}, {}, FALSE, '{}', {}, '{}', '{}')",
            if sqlite { "wseq" } else { "seq" },
            c.row.request_id,
            chain::time_text(c.row.at),
            text(jti),
            text(c.row.purpose.get("recipient").cloned()),
            c.row.endpoint,
            c.row.status,
            c.row.duration_ms,
            text(c.row.params_hash.clone()),
            c.writer,
            c.seq,
            c.prev_hash,
            c.hash
        )
    }

    #[tokio::test]
    async fn rows_from_before_format_2_still_verify_and_their_changes_show() {
        for place in Place::both().await {
            place.migrate_to(if place.is_sqlite() { 2 } else { 1 }).await;
            let writer = Uuid::new_v4();
            let old = format_1_rows(writer);
            for row in &old {
                sql(&place.url, &format_1_insert(row, place.is_sqlite())).await;
            }
            let t = place.open().await;
            // The writer's chain goes on in format 2, signed at its end.
            let fourth = chain::link(writer, 4, &old[2].hash, call(3));
            let new = vec![fourth.clone(), chain::link(writer, 5, &fourth.hash, call(4))];
            let key = chain::sealing_key(t.store.as_ref()).await.unwrap();
            let seal = chain::seal(SealKind::Checkpoint, writer, 5, &new[1].hash, &key).unwrap();
            t.store.append_journal(&new, Some(&seal)).await.unwrap();

            let back = t.store.writer_rows(writer, 0, 10).await.unwrap();
            assert_eq!(back, [old, new].concat(), "{}", t.url);
            assert_eq!(back[0].row.bouquet, PARTICULIER);
            let report = verify(t.store.as_ref(), &()).await.unwrap();
            assert_eq!((report.rows, report.broken), (5, None), "{}", t.url);

            let changes = [
                (
                    "recipient = '99999999999999' WHERE request_id = 'old-1'",
                    "recipient = '13002526500013'",
                    2,
                ),
                (
                    r#"purpose = '{"object":"x","recipient":"13002526500013"}' WHERE request_id = 'old-0'"#,
                    "purpose = NULL",
                    1,
                ),
                (
                    r#"purpose = '{"recipient":"99999999999999"}' WHERE request_id = 'req-3'"#,
                    r#"purpose = '{"recipient":"13002526500013"}'"#,
                    4,
                ),
            ];
            for (change, undo, seq) in changes {
                t.sql(&format!("UPDATE journal SET {change}")).await;
                let why = broken(&t).await;
                assert!(
                    why.contains(&format!("seq {seq} (")) && why.contains("altered"),
                    "{change}: {why}"
                );
                let (_, filter) = change.split_once(" WHERE ").unwrap();
                t.sql(&format!("UPDATE journal SET {undo} WHERE {filter}")).await;
                assert!(verify(t.store.as_ref(), &()).await.unwrap().broken.is_none(), "{undo}");
            }
        }
    }
}
