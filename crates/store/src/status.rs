//! The status page's records: each provider's checks, rolled up by day, and the
//! operators' incident and maintenance notices.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

/// What one check of a provider found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    Ok,
    Down,
    /// Inside a maintenance window or an announced maintenance: not held against it.
    Maintenance,
    /// The provider has no way to tell (no canned call).
    Unknown,
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Ok => "ok",
            CheckStatus::Down => "down",
            CheckStatus::Maintenance => "maintenance",
            CheckStatus::Unknown => "unknown",
        }
    }

    pub fn parse(text: &str) -> anyhow::Result<CheckStatus> {
        match text {
            "ok" => Ok(CheckStatus::Ok),
            "down" => Ok(CheckStatus::Down),
            "maintenance" => Ok(CheckStatus::Maintenance),
            "unknown" => Ok(CheckStatus::Unknown),
            other => anyhow::bail!("unknown check status `{other}`"),
        }
    }
}

/// One check of a provider, as the prober recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub bouquet: String,
    pub provider: String,
    /// The day it counts in (the public site uses Paris days).
    pub day: NaiveDate,
    pub at: DateTime<Utc>,
    pub status: CheckStatus,
}

/// A provider's checks of one day, with the newest one (what "now" reads, the same on
/// every replica).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckDay {
    pub bouquet: String,
    pub provider: String,
    pub day: NaiveDate,
    pub checks: i64,
    pub ok: i64,
    pub down: i64,
    pub maintenance: i64,
    pub last_status: CheckStatus,
    pub last_at: DateTime<Utc>,
}

impl CheckDay {
    /// The share of checks that found it up, maintenance and unknown aside; `None`
    /// when no check could tell.
    pub fn availability(&self) -> Option<f64> {
        ratio(self.ok, self.down)
    }
}

/// `ok / (ok + down)`, `None` when both are zero.
pub fn ratio(ok: i64, down: i64) -> Option<f64> {
    let measured = ok.checked_add(down)?;
    (measured > 0).then(|| ok as f64 / measured as f64)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    Incident,
    Maintenance,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Incident => "incident",
            NoticeKind::Maintenance => "maintenance",
        }
    }

    pub fn parse(text: &str) -> anyhow::Result<NoticeKind> {
        match text {
            "incident" => Ok(NoticeKind::Incident),
            "maintenance" => Ok(NoticeKind::Maintenance),
            other => anyhow::bail!("unknown notice kind `{other}` (incident or maintenance)"),
        }
    }
}

/// An operator's note on a notice, timestamped; notes are only ever added.
#[derive(Debug, Clone, PartialEq)]
pub struct NoticeNote {
    pub at: DateTime<Utc>,
    pub text: String,
}

/// A notice to open, with its first note.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotice {
    pub bouquet: String,
    /// `None`: the whole bouquet.
    pub provider: Option<String>,
    pub kind: NoticeKind,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    /// `None` until it is closed (a maintenance usually says when it ends).
    pub ends_at: Option<DateTime<Utc>>,
    pub note: NoticeNote,
}

/// An incident or a maintenance announcement, and its notes in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// Stable and unique (the Atom entry's id).
    pub id: Uuid,
    /// What operators and readers quote ("incident n° 3").
    pub number: i64,
    pub bouquet: String,
    pub provider: Option<String>,
    pub kind: NoticeKind,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub notes: Vec<NoticeNote>,
}

impl Notice {
    /// Not over at `now` (it may not have begun yet).
    pub fn open_at(&self, now: DateTime<Utc>) -> bool {
        self.ends_at.is_none_or(|end| end > now)
    }

    /// Begun and not over at `now`.
    pub fn active_at(&self, now: DateTime<Utc>) -> bool {
        self.starts_at <= now && self.open_at(now)
    }

    /// When it last changed: its newest note, or its creation.
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.notes.iter().map(|n| n.at).max().unwrap_or(self.created_at)
    }
}

/// Which notices to read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NoticeFilter<'a> {
    Id(Uuid),
    Number(i64),
    /// Those of `bouquet` (every bouquet's when `None`) still open or ended since `since`.
    Recent {
        bouquet: Option<&'a str>,
        since: DateTime<Utc>,
    },
}

#[async_trait]
pub trait StatusStore: Send + Sync {
    /// Counts `check` in its provider's day; the day's last status moves only to a
    /// newer check.
    async fn record_check(&self, check: &Check) -> anyhow::Result<()>;
    /// The days of `bouquet` from `since` on, by provider then day.
    async fn check_days(&self, bouquet: &str, since: NaiveDate) -> anyhow::Result<Vec<CheckDay>>;
    /// Stores a new notice numbered after the highest so far, with its first note.
    async fn open_notice(&self, notice: &NewNotice) -> anyhow::Result<Notice>;
    /// Adds a note to notice `number`, open or closed; false when there is none.
    async fn add_note(&self, number: i64, note: &NoticeNote) -> anyhow::Result<bool>;
    /// Ends notice `number` at `at`, with a last note if given; false when there is
    /// no such notice or it was over already.
    async fn close_notice(&self, number: i64, at: DateTime<Utc>, note: Option<&str>) -> anyhow::Result<bool>;
    /// The notices `filter` selects, latest start first, each with its notes.
    async fn find_notices(&self, filter: &NoticeFilter<'_>) -> anyhow::Result<Vec<Notice>>;

    async fn notice(&self, number: i64) -> anyhow::Result<Option<Notice>> {
        Ok(self.find_notices(&NoticeFilter::Number(number)).await?.pop())
    }

    /// The notices of `bouquet` (`None`: all) still open or ended since `since`.
    async fn recent_notices(&self, bouquet: Option<&str>, since: DateTime<Utc>) -> anyhow::Result<Vec<Notice>> {
        self.find_notices(&NoticeFilter::Recent { bouquet, since }).await
    }
}
