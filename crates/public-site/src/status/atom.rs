//! `/statut/flux.atom`: the notices as an Atom feed (RFC 4287), each entry updated by
//! its newest note. Written by hand: every text goes through `escape`.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use passerelle_store::{Notice, NoticeKind};

use crate::french;

/// The feed of `notices` (any order) of the bouquet `name` titled `title`; `scope`
/// names what a notice concerns.
pub fn feed(
    name: &str,
    title: &str,
    notices: &[Notice],
    scope: impl Fn(&Notice) -> String,
    now: DateTime<Utc>,
) -> String {
    let mut sorted: Vec<&Notice> = notices.iter().collect();
    sorted.sort_by_key(|n| std::cmp::Reverse((n.updated_at(), n.number)));
    let updated = sorted.first().map_or(now, |n| n.updated_at());
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    xml.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"fr\">\n");
    let _ = writeln!(xml, "  <id>urn:uuid:{}</id>", feed_id(name));
    let _ = writeln!(xml, "  <title>{} : incidents et maintenances</title>", escape(title));
    let _ = writeln!(xml, "  <updated>{}</updated>", french::iso(updated));
    let _ = writeln!(xml, "  <author><name>{}</name></author>", escape(title));
    xml.push_str("  <link rel=\"self\" type=\"application/atom+xml\" href=\"/statut/flux.atom\"/>\n");
    xml.push_str("  <link rel=\"alternate\" type=\"text/html\" href=\"/statut\"/>\n");
    xml.push_str("  <generator>Passerelle</generator>\n");
    for notice in sorted {
        entry(&mut xml, notice, &scope(notice), now);
    }
    xml.push_str("</feed>\n");
    xml
}

fn entry(xml: &mut String, n: &Notice, scope: &str, now: DateTime<Utc>) {
    let kind = match n.kind {
        NoticeKind::Incident => "Incident",
        NoticeKind::Maintenance => "Maintenance",
    };
    let start = french::moment(n.starts_at);
    let state = match n.ends_at {
        Some(end) if end <= now => format!("du {start} au {}", french::moment(end)),
        _ if n.starts_at > now => format!("prévu le {start}"),
        _ => format!("en cours depuis le {start}"),
    };
    let summary = format!("{scope} — {state}");
    let mut content = String::new();
    for note in n.notes.iter().rev() {
        let _ = write!(content, "{} : {}\n\n", french::moment(note.at), note.text);
    }
    xml.push_str("  <entry>\n");
    let _ = writeln!(xml, "    <id>urn:uuid:{}</id>", n.id);
    let _ = writeln!(xml, "    <title>{kind} n° {} : {}</title>", n.number, escape(&n.title));
    let _ = writeln!(xml, "    <updated>{}</updated>", french::iso(n.updated_at()));
    let _ = writeln!(xml, "    <published>{}</published>", french::iso(n.created_at));
    let _ = writeln!(
        xml,
        "    <link rel=\"alternate\" type=\"text/html\" href=\"/statut#avis-{}\"/>",
        n.number
    );
    let _ = writeln!(xml, "    <category term=\"{}\" label=\"{kind}\"/>", n.kind.as_str());
    let _ = writeln!(xml, "    <summary type=\"text\">{}</summary>", escape(&summary));
    let _ = writeln!(
        xml,
        "    <content type=\"text\">{}</content>",
        escape(content.trim_end())
    );
    xml.push_str("  </entry>\n");
}

/// `text` as XML character data or attribute value: markup escaped, and the
/// characters XML 1.0 forbids (most control characters) replaced.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // A raw CR would be read back as LF.
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}' => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

/// A stable UUID for the bouquet's feed (version 8, RFC 9562, from two FNV-1a hashes
/// of its name): the same on every replica and across restarts.
fn feed_id(name: &str) -> String {
    let fnv = |seed: u64| {
        format!("statut:{name}")
            .bytes()
            .fold(seed, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
    };
    let high = (fnv(0xcbf2_9ce4_8422_2325) & !0xf000) | 0x8000;
    let low = (fnv(0x8422_2325_cbf2_9ce4) & !(0b11 << 62)) | (0b10 << 62);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xffff,
        low >> 48,
        low & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_leaves_no_markup_and_no_forbidden_character() {
        assert_eq!(
            escape("<a href=\"x\">&'é</a>\u{0}\u{1b}\r\n\t"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;é&lt;/a&gt;\u{FFFD}\u{FFFD}&#13;\n\t"
        );
    }

    #[test]
    fn the_feed_id_is_a_stable_version_8_uuid_per_bouquet() {
        let id = feed_id("particulier");
        assert_eq!(id, feed_id("particulier"));
        assert_ne!(id, feed_id("entreprise"));
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "8");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
    }
}
