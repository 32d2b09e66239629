//! Rows as JSON lines: everything needed to recompute their hashes without the store.

use std::io::Write;

use passerelle_store::{ChainedRow, JournalAudit, TimeRange};
use serde_json::json;

use crate::chain;
use crate::{Progress, PAGE};

/// One row as an export line.
pub fn export_line(row: &ChainedRow) -> serde_json::Value {
    let r = &row.row;
    json!({
        "request_id": r.request_id,
        "at": chain::time_text(r.at),
        "format": row.format.number(),
        "bouquet": r.bouquet,
        "caller": r.caller,
        "purpose": r.purpose,
        "endpoint": r.endpoint,
        "status": r.status,
        "duration_ms": r.duration_ms,
        "params_hash": r.params_hash,
        "cached": r.cached,
        "body_sha256": r.body_sha256,
        "subject": r.subject,
        "writer": row.writer,
        "seq": row.seq,
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    })
}

/// Writes the rows of `range` as JSON lines, oldest first; returns how many.
pub async fn export<S>(store: &S, range: TimeRange, mut out: impl Write, progress: &dyn Progress) -> anyhow::Result<u64>
where
    S: JournalAudit + ?Sized,
{
    progress.total(store.journal_count(range).await?.max(0) as u64);
    let (mut after, mut written) = (0, 0u64);
    loop {
        let page = store.journal_page(range, after, PAGE).await?;
        let Some((last, _)) = page.last() else { break };
        after = *last;
        for (_, row) in &page {
            serde_json::to_writer(&mut out, &export_line(row))?;
            out.write_all(b"\n")?;
        }
        written += page.len() as u64;
        progress.advance(page.len() as u64);
    }
    out.flush()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};
    use passerelle_store::CallerId;
    use uuid::Uuid;

    use super::*;
    use crate::chain::{link, GENESIS};
    use crate::testing::{call, TestStore};

    async fn lines(t: &TestStore, range: TimeRange) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        let n = export(t.store.as_ref(), range, &mut out, &()).await.unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(n, lines.len() as u64);
        lines
    }

    #[tokio::test]
    async fn lines_show_caller_and_purpose_oldest_first() {
        let t = TestStore::sqlite().await;
        let ids = t.write(3).await;
        let mut citizen = call(3);
        citizen.caller = Some(CallerId::Citizen("c0ffee".into()));
        citizen.purpose.insert("object".into(), "Dossier 12".into());
        let row = link(Uuid::new_v4(), 1, GENESIS, citizen);
        t.store.append_journal(&[row], None).await.unwrap();

        let lines = lines(&t, TimeRange::default()).await;
        let seen: Vec<&str> = lines.iter().map(|l| l["request_id"].as_str().unwrap()).collect();
        assert_eq!(seen, [&ids[..], &["req-3".to_string()]].concat());
        let first = &lines[0];
        assert!(first["caller"]["token"].is_string(), "{first}");
        assert_eq!(first["purpose"], serde_json::json!({"recipient": "13002526500013"}));
        assert_eq!(
            (first["format"].as_i64(), first["bouquet"].as_str()),
            (Some(4), Some("particulier"))
        );
        assert_eq!(lines[1]["prev_hash"], first["hash"]);
        let last = &lines[3];
        assert_eq!(last["caller"], serde_json::json!({"citizen": "c0ffee"}));
        assert_eq!(last["purpose"]["object"], "Dossier 12");
    }

    #[tokio::test]
    async fn a_range_keeps_its_rows_only() {
        let t = TestStore::sqlite().await;
        t.write(2).await;
        let later = TimeRange {
            since: Some(Utc::now() + Duration::days(1)),
            until: None,
        };
        assert!(lines(&t, later).await.is_empty());
        let earlier = TimeRange {
            since: None,
            until: Some(Utc::now() - Duration::days(1)),
        };
        assert!(lines(&t, earlier).await.is_empty());
    }
}
