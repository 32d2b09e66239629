//! `passerelle status …`: the incident and maintenance notices of the status pages
//! (`/statut` and its Atom feed), straight on the store. Every replica shows a change
//! at its next page view.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use clap::Subcommand;
use passerelle_store::{NewNotice, Notice, NoticeKind, NoticeNote, Store, PARTICULIER};

use crate::run::open_store;
use crate::StoreArgs;

const MAX_TITLE: usize = 200;
const MAX_NOTE: usize = 5000;

#[derive(Subcommand)]
pub enum StatusCommand {
    /// Opens a notice (an incident, or a maintenance announced ahead) with its first note.
    Open {
        /// `particulier` or `entreprise`.
        #[arg(long)]
        bouquet: String,
        /// The provider concerned (`dss`); the whole bouquet without it.
        #[arg(long)]
        provider: Option<String>,
        #[arg(long, value_parser = ["incident", "maintenance"])]
        kind: String,
        #[arg(long)]
        title: String,
        /// When it began or will begin (RFC 3339); now by default.
        #[arg(long, value_parser = rfc3339)]
        starts_at: Option<DateTime<Utc>>,
        /// When it is planned to end (RFC 3339); open until `close` otherwise.
        #[arg(long, value_parser = rfc3339)]
        ends_at: Option<DateTime<Utc>>,
        /// The first note, shown on the page and in the feed.
        #[arg(long)]
        note: String,
    },
    /// Adds a note to a notice, open or closed.
    Note { id: i64, text: String },
    /// Ends a notice now, with a last note if given.
    Close {
        id: i64,
        #[arg(long)]
        note: Option<String>,
    },
    /// The notices open, and those over within the last `--days` days.
    List {
        #[arg(long)]
        bouquet: Option<String>,
        #[arg(long, default_value_t = 90)]
        days: u16,
    },
}

pub async fn run(command: StatusCommand, store_args: &StoreArgs) -> anyhow::Result<()> {
    let store = open_store(store_args).await?;
    let now = Utc::now();
    match command {
        StatusCommand::Open {
            bouquet,
            provider,
            kind,
            title,
            starts_at,
            ends_at,
            note,
        } => {
            let notice = NewNotice {
                provider: checked_provider(&bouquet, provider)?,
                bouquet,
                kind: NoticeKind::parse(&kind)?,
                title: checked_text("title", &title, MAX_TITLE)?,
                starts_at: starts_at.unwrap_or(now),
                ends_at,
                note: NoticeNote {
                    at: now,
                    text: checked_text("note", &note, MAX_NOTE)?,
                },
            };
            if notice.ends_at.is_some_and(|end| end <= notice.starts_at) {
                anyhow::bail!("--ends-at must come after the start");
            }
            let opened = store.open_notice(&notice).await?;
            println!("notice {} opened", opened.number);
            print(&opened, now);
        }
        StatusCommand::Note { id, text } => {
            let note = NoticeNote {
                at: now,
                text: checked_text("note", &text, MAX_NOTE)?,
            };
            if !store.add_note(id, &note).await? {
                anyhow::bail!("no notice {id}");
            }
            println!("note added to notice {id}");
        }
        StatusCommand::Close { id, note } => close(store.as_ref(), id, note, now).await?,
        StatusCommand::List { bouquet, days } => {
            let since = now - Duration::days(days.into());
            let notices = store.recent_notices(bouquet.as_deref(), since).await?;
            if notices.is_empty() {
                println!("no notice");
            }
            for notice in &notices {
                print(notice, now);
            }
        }
    }
    Ok(())
}

async fn close(store: &dyn Store, id: i64, note: Option<String>, now: DateTime<Utc>) -> anyhow::Result<()> {
    let note = note.map(|n| checked_text("note", &n, MAX_NOTE)).transpose()?;
    if store.close_notice(id, now, note.as_deref()).await? {
        println!("notice {id} closed");
        return Ok(());
    }
    match store.notice(id).await? {
        None => anyhow::bail!("no notice {id}"),
        Some(_) => anyhow::bail!("notice {id} is over already"),
    }
}

/// The provider, if it is one of `bouquet`'s.
fn checked_provider(bouquet: &str, provider: Option<String>) -> anyhow::Result<Option<String>> {
    let known: Vec<&str> = match bouquet {
        PARTICULIER => passerelle_catalogue::all()
            .iter()
            .map(|e| e.provider.as_str())
            .collect(),
        passerelle_entreprise::NAME => passerelle_entreprise::OPERATIONS
            .iter()
            .map(|o| o.endpoint.provider.as_str())
            .collect(),
        other => anyhow::bail!("unknown bouquet `{other}` (particulier or entreprise)"),
    };
    match provider {
        Some(p) if !known.contains(&p.as_str()) => anyhow::bail!("`{p}` is no provider of {bouquet}"),
        provider => Ok(provider),
    }
}

fn checked_text(what: &str, text: &str, max: usize) -> anyhow::Result<String> {
    let text = text.trim();
    if text.is_empty() {
        anyhow::bail!("the {what} is empty");
    }
    if text.chars().count() > max {
        anyhow::bail!("the {what} is longer than {max} characters");
    }
    Ok(text.to_string())
}

fn rfc3339(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("not an RFC 3339 time (2026-05-04T08:30:00+02:00): {e}"))
}

fn print(n: &Notice, now: DateTime<Utc>) {
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let scope = match &n.provider {
        Some(p) => format!("{}/{p}", n.bouquet),
        None => n.bouquet.clone(),
    };
    let state = match n.ends_at {
        Some(end) if end <= now => format!("over {}", time(end)),
        Some(end) => format!("until {}", time(end)),
        None => "open".to_string(),
    };
    println!(
        "#{}  {}  {scope}  from {}  {state}  {}",
        n.number,
        n.kind.as_str(),
        time(n.starts_at),
        n.title
    );
    for note in &n.notes {
        println!("    {}  {}", time(note.at), note.text);
    }
}
