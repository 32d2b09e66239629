//! What became of an item, for the admin page.

use passerelle_store::OutboxItem;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Waiting for its first attempt (`next_at`).
    Pending,
    /// Failed `attempts` times (`last_error` says why), tried again at `next_at`.
    Retrying,
    /// Delivered at `done_at`, at attempt number `attempts`.
    Sent,
    /// Done at `done_at` without being sent: no mail server is configured
    /// ([`MailRoute::Kept`](crate::MailRoute::Kept)). The body is the letter as it
    /// would have gone.
    Kept,
    /// Done at `done_at` without being sent: there was nowhere to send it any more
    /// (`last_error` says why; a habilitation's webhook removed).
    Dropped,
    /// Given up at `dead_at` (`last_error` says why); an admin may
    /// [`replay`](crate::replay) it.
    Dead,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Retrying => "retrying",
            Status::Sent => "sent",
            Status::Kept => "kept",
            Status::Dropped => "dropped",
            Status::Dead => "dead",
        }
    }
}

/// The item's status. A kept letter is one done after no attempt, since keeping is
/// not an attempt; a dropped item is done with a note (a sent one has none). (A dead letter replayed while mail is kept has attempts, and
/// reads as sent: the store has no column to say otherwise.)
pub fn status(item: &OutboxItem) -> Status {
    match (item.done_at, item.dead_at) {
        (_, Some(_)) => Status::Dead,
        (Some(_), None) if item.last_error.is_some() => Status::Dropped,
        (Some(_), None) if item.attempts == 0 => Status::Kept,
        (Some(_), None) => Status::Sent,
        (None, None) if item.attempts == 0 => Status::Pending,
        (None, None) => Status::Retrying,
    }
}
