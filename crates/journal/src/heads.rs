//! Signed heads kept out of the database: each checkpoint the writer signs is also
//! sent to a sink (a file, a webhook). `check` proves against such a file that no
//! writer's chain lost its tail: a cut that `verify` alone cannot see once the last
//! checkpoint went with the rows it covered.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use passerelle_store::{JournalAudit, KeyStore, Seal, SealKind, WriterSpan};
use serde::{Deserialize, Serialize, Serializer};
use uuid::Uuid;

use crate::chain;

/// A checkpoint as it leaves the database: one JSON line of a heads file, or one
/// webhook body. Its signature covers the checkpoint's seal message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Head {
    pub writer: Uuid,
    pub seq: i64,
    pub hash: String,
    /// The signed text is RFC 3339 with 6 decimals: the file holds that very text.
    #[serde(serialize_with = "signed_time")]
    pub at: DateTime<Utc>,
    pub kid: String,
    pub signature: String,
}

fn signed_time<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&chain::time_text(*at))
}

impl Head {
    pub fn of(seal: &Seal) -> Head {
        Head {
            writer: seal.writer,
            seq: seal.seq,
            hash: seal.hash.clone(),
            at: seal.at,
            kid: seal.kid.clone(),
            signature: seal.signature.clone(),
        }
    }

    fn seal(&self) -> Seal {
        Seal {
            kind: SealKind::Checkpoint,
            writer: self.writer,
            seq: self.seq,
            hash: self.hash.clone(),
            at: self.at,
            kid: self.kid.clone(),
            signature: self.signature.clone(),
        }
    }
}

/// A heads file's lines, each numbered from 1 (blank lines skipped).
pub fn parse(text: &str) -> Result<Vec<(usize, Head)>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line)
                .map(|head| (i + 1, head))
                .map_err(|e| format!("heads file line {}: not a signed head ({e})", i + 1))
        })
        .collect()
}

/// What `check` found.
#[derive(Debug, Default)]
pub struct HeadsReport {
    pub heads: usize,
    pub writers: usize,
    /// Each thing that does not hold: a forged head, a writer whose tail was cut.
    pub problems: Vec<String>,
}

impl HeadsReport {
    pub fn summary(&self) -> String {
        let verdict = if self.problems.is_empty() { "OK" } else { "TAIL CUT" };
        format!(
            "{} signed heads of {} writers checked against the database: {verdict}",
            self.heads, self.writers
        )
    }
}

/// Checks that the store still holds, for each writer of `heads`, a chain reaching its
/// newest head (or a purge anchor covering it). Run after `verify`: it proves the
/// chain that leads there.
pub async fn check<S>(store: &S, heads: &[(usize, Head)]) -> anyhow::Result<HeadsReport>
where
    S: KeyStore + JournalAudit + ?Sized,
{
    let keys = store.signing_keys().await?;
    let mut report = HeadsReport {
        heads: heads.len(),
        ..HeadsReport::default()
    };
    let mut newest: BTreeMap<Uuid, &Head> = BTreeMap::new();
    for (line, head) in heads {
        if !chain::seal_is_signed(&head.seal(), &keys) {
            report.problems.push(format!(
                "heads file line {line}: writer {} seq {}: bad signature (forged or altered)",
                head.writer, head.seq
            ));
            continue;
        }
        let kept = newest.entry(head.writer).or_insert(head);
        if head.seq > kept.seq {
            *kept = head;
        }
    }
    report.writers = newest.len();
    let spans: HashMap<Uuid, WriterSpan> = store
        .journal_writers()
        .await?
        .into_iter()
        .map(|s| (s.writer, s))
        .collect();
    let anchors = anchors(store.journal_seals().await?);
    for head in newest.values() {
        let found = Found {
            span: spans.get(&head.writer),
            anchor: anchors.get(&head.writer),
        };
        if let Some(problem) = found.reaches(store, head).await? {
            report.problems.push(problem);
        }
    }
    Ok(report)
}

/// Each writer's newest purge anchor.
fn anchors(seals: Vec<Seal>) -> HashMap<Uuid, Seal> {
    let mut anchors: HashMap<Uuid, Seal> = HashMap::new();
    for seal in seals.into_iter().filter(|s| s.kind == SealKind::Anchor) {
        if anchors.get(&seal.writer).is_none_or(|a| a.seq < seal.seq) {
            anchors.insert(seal.writer, seal);
        }
    }
    anchors
}

/// What the store holds of one writer.
struct Found<'a> {
    span: Option<&'a WriterSpan>,
    anchor: Option<&'a Seal>,
}

impl Found<'_> {
    /// `Some(why)` when the store's chain does not reach `head`.
    async fn reaches<S>(&self, store: &S, head: &Head) -> anyhow::Result<Option<String>>
    where
        S: JournalAudit + ?Sized,
    {
        let writer = head.writer;
        if let Some(anchor) = self.anchor.filter(|a| a.seq >= head.seq) {
            // Purged rows: the anchor is signed too and must agree at the same position.
            let agrees = anchor.seq > head.seq || anchor.hash == head.hash;
            return Ok((!agrees).then(|| {
                format!(
                    "writer {writer}: the purge anchor at seq {} differs from the signed head",
                    head.seq
                )
            }));
        }
        let row = store.writer_rows(writer, head.seq - 1, 1).await?;
        match row.first().filter(|r| r.seq == head.seq) {
            Some(r) if r.hash == head.hash => Ok(None),
            Some(_) => Ok(Some(format!(
                "writer {writer}: row seq {} differs from the head signed for it",
                head.seq
            ))),
            None => Ok(Some(self.cut(head))),
        }
    }

    fn cut(&self, head: &Head) -> String {
        let kept = match (self.span, self.anchor) {
            (Some(span), _) => format!("the database's chain ends at seq {}", span.last_seq),
            (None, Some(anchor)) => format!(
                "the database holds none of its rows after the purge at seq {}",
                anchor.seq
            ),
            (None, None) => "the database holds none of its rows".to_string(),
        };
        format!(
            "writer {}: tail cut: the heads file reaches seq {}, {kept}",
            head.writer, head.seq
        )
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::testing::{Place, TestStore};
    use crate::{purge, verify, JournalSettings};

    /// `calls` rows written with a heads file (checkpoints at every 3rd row and the end);
    /// the file's heads.
    async fn written(t: &TestStore, calls: usize, file: &Path) -> Vec<(usize, Head)> {
        let settings = JournalSettings {
            heads_file: Some(file.to_path_buf()),
            ..JournalSettings::default()
        };
        t.write_with(calls, settings).await;
        parse(&std::fs::read_to_string(file).unwrap()).unwrap()
    }

    fn heads_file() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("heads.jsonl");
        (dir, file)
    }

    async fn problems(t: &TestStore, heads: &[(usize, Head)]) -> Vec<String> {
        check(t.store.as_ref(), heads).await.unwrap().problems
    }

    #[tokio::test]
    async fn every_checkpoint_leaves_as_a_head_and_an_untouched_journal_reaches_them() {
        let t = TestStore::sqlite().await;
        let (_dir, file) = heads_file();
        let heads = written(&t, 7, &file).await;
        let sealed: Vec<Head> = t.store.journal_seals().await.unwrap().iter().map(Head::of).collect();
        let sent: Vec<Head> = heads.iter().map(|(_, h)| h.clone()).collect();
        assert_eq!(sent, sealed);
        assert_eq!(sent.iter().map(|h| h.seq).collect::<Vec<_>>(), [3, 6, 7]);
        let report = check(t.store.as_ref(), &heads).await.unwrap();
        assert_eq!((report.heads, report.writers), (3, 1));
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    }

    #[tokio::test]
    async fn a_tail_cut_with_its_checkpoints_is_named_by_writer() {
        for place in Place::both().await {
            let t = place.open().await;
            let (_dir, file) = heads_file();
            let heads = written(&t, 7, &file).await;
            t.sql("DELETE FROM journal_seals WHERE seq > 3; DELETE FROM journal WHERE seq > 3")
                .await;
            let alone = verify(t.store.as_ref(), &()).await.unwrap();
            assert!(
                alone.broken.is_none(),
                "verify alone cannot see it: {}",
                alone.summary()
            );

            let writer = heads[0].1.writer;
            let found = problems(&t, &heads).await;
            let expected =
                format!("writer {writer}: tail cut: the heads file reaches seq 7, the database's chain ends at seq 3");
            assert_eq!(found, [expected], "{}", t.url);
        }
    }

    #[tokio::test]
    async fn a_writer_removed_whole_is_named() {
        let t = TestStore::sqlite().await;
        let (_dir, file) = heads_file();
        let heads = written(&t, 4, &file).await;
        t.sql("DELETE FROM journal_seals; DELETE FROM journal").await;
        let found = problems(&t, &heads).await;
        assert!(
            found.len() == 1 && found[0].ends_with("reaches seq 4, the database holds none of its rows"),
            "{found:?}"
        );
    }

    #[tokio::test]
    async fn a_row_changed_under_its_head_is_named() {
        let t = TestStore::sqlite().await;
        let (_dir, file) = heads_file();
        let heads = written(&t, 3, &file).await;
        t.sql("UPDATE journal SET hash = prev_hash WHERE seq = 3").await;
        let found = problems(&t, &heads).await;
        assert!(
            found.len() == 1 && found[0].ends_with("row seq 3 differs from the head signed for it"),
            "{found:?}"
        );
    }

    #[tokio::test]
    async fn a_forged_head_is_reported_by_line() {
        let t = TestStore::sqlite().await;
        let (_dir, file) = heads_file();
        let mut heads = written(&t, 4, &file).await;
        // A head claiming more rows than were signed.
        let mut forged = heads[1].1.clone();
        forged.seq = 9;
        heads.push((3, forged));
        let found = problems(&t, &heads).await;
        assert!(
            found.len() == 1
                && found[0].starts_with("heads file line 3: ")
                && found[0].contains("seq 9: bad signature"),
            "{found:?}"
        );
    }

    #[tokio::test]
    async fn heads_under_a_purge_anchor_are_not_cut() {
        let t = TestStore::sqlite().await;
        let (_dir, file) = heads_file();
        let heads = written(&t, 5, &file).await;
        t.sql("UPDATE journal SET at = '2000-01-01T00:00:00.000000Z' WHERE seq <= 2")
            .await;
        purge(t.store.as_ref(), Utc::now() - chrono::Duration::days(1))
            .await
            .unwrap();
        assert!(
            problems(&t, &heads).await.is_empty(),
            "the newest head is still in the chain"
        );

        purge(t.store.as_ref(), Utc::now()).await.unwrap();
        assert_eq!(t.store.journal_writers().await.unwrap(), [], "every row purged");
        assert!(
            problems(&t, &heads).await.is_empty(),
            "the anchor covers the newest head"
        );
        t.sql("UPDATE journal_seals SET hash = '00' WHERE kind = 'anchor'")
            .await;
        let found = problems(&t, &heads).await;
        assert_eq!(found.len(), 1, "{found:?}");
    }

    #[test]
    fn a_line_that_is_not_a_head_is_named() {
        let head = r#"{"writer":"6d1f5e52-3b43-4c8a-9e2e-7c8b8a1c5f00","seq":3,"hash":"ab","at":"2026-11-26T10:00:00.000000Z","kid":"k","signature":"00"}"#;
        assert_eq!(parse(&format!("{head}\n\n{head}\n")).unwrap().len(), 2);
        let err = parse(&format!("{head}\nnot json\n")).unwrap_err();
        assert!(err.starts_with("heads file line 2: not a signed head"), "{err}");
    }
}
