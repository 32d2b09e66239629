//! An endpoint described as data: the pipeline reads it, a provider answers it.

use passerelle_core::CivilityRules;

/// A data provider's id in its bouquet's registry. Each is a constant of the bouquet's
/// catalogue (`passerelle_catalogue::dss::PROVIDER`), so a mistyped id does not compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProviderId(&'static str);

impl ProviderId {
    pub const fn new(id: &'static str) -> ProviderId {
        ProviderId(id)
    }

    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl std::fmt::Display for ProviderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// How the caller identifies the subject of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Identite,
    /// The bearer is a citizen's FranceConnect token, which gives the identity.
    FranceConnect,
    Ine,
    Identifiant,
    /// The subject (a company, an establishment, an association) is named in the path.
    Subject,
}

impl Mode {
    pub fn segment(self) -> &'static str {
        match self {
            Mode::Identite => "identite",
            Mode::FranceConnect => "france_connect",
            Mode::Ine => "ine",
            Mode::Identifiant => "identifiant",
            Mode::Subject => "",
        }
    }

    /// The suffix of operation ids (`…_with_civility`).
    pub fn operation_suffix(self) -> &'static str {
        match self {
            Mode::Identite => "with_civility",
            Mode::FranceConnect => "with_france_connect",
            Mode::Ine => "with_ine",
            Mode::Identifiant => "with_identifiant",
            Mode::Subject => "",
        }
    }
}

/// A response field kept only when the token holds one of `scopes`.
/// `path` is a dotted path; `[]` walks into every item of an array (`enfants[].nom`).
#[derive(Debug, Clone, Copy)]
pub struct FieldMask {
    pub path: &'static str,
    pub scopes: &'static [&'static str],
}

/// A parameter specific to one endpoint (beyond identity), for the published OpenAPI.
#[derive(Debug, Clone, Copy)]
pub struct ExtraParam {
    pub name: &'static str,
    /// A call without it is refused (422): the OpenAPI document says so.
    pub required: bool,
    pub kind: &'static str,
    pub description: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    pub provider: ProviderId,
    /// The resource as the provider knows it (`quotient_familial`).
    pub resource: &'static str,
    /// Public path without version and mode: `dss/quotient_familial`; path parameters
    /// in braces: `insee/sirene/unites_legales/{siren}`.
    pub path: &'static str,
    pub mode: Mode,
    pub versions: &'static [u8],
    /// Operation id stem: `cnav_quotient_familial`.
    pub operation: &'static str,
    pub title: &'static str,
    pub civility: Option<CivilityRules>,
    pub extra_params: &'static [ExtraParam],
    /// Any one of these opens the endpoint.
    pub access_scopes: &'static [&'static str],
    /// Top-level fields of `data`, in the contract's order (for the OpenAPI document).
    pub fields: &'static [&'static str],
    pub masks: &'static [FieldMask],
    pub cache: Cache,
}

impl Endpoint {
    /// The route of this endpoint in `version`: `/v3/dss/quotient_familial/identite`.
    pub fn public_path(&self, version: u8) -> String {
        // Every call's cache key starts with it: pushed, not formatted.
        let mut path = String::with_capacity(self.path.len() + 24);
        path.push_str("/v");
        passerelle_core::identity::push_padded(&mut path, version.into(), 1);
        path.push('/');
        path.push_str(self.path);
        if self.mode != Mode::Subject {
            path.push('/');
            path.push_str(self.mode.segment());
        }
        path
    }

    /// Whether `path` (as sent, after the version) is this endpoint's, whatever
    /// values its path parameters hold.
    pub fn matches(&self, version: u8, path: &str) -> bool {
        let template = self.public_path(version);
        let (mut wanted, mut given) = (template.split('/'), path.split('/'));
        loop {
            match (wanted.next(), given.next()) {
                (None, None) => return true,
                (Some(w), Some(g)) if w == g || (w.starts_with('{') && !g.is_empty()) => {}
                _ => return false,
            }
        }
    }

    /// The names of the path parameters, in order: `["siren", "year"]`.
    pub fn path_params(&self) -> impl Iterator<Item = &'static str> {
        self.path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
    }

    pub fn supports(&self, version: u8) -> bool {
        self.versions.contains(&version)
    }

    /// The part of the operation id after the bouquet's prefix and the version.
    pub fn operation_stem(&self) -> String {
        match self.mode.operation_suffix() {
            "" => self.operation.to_string(),
            suffix => format!("{}_{suffix}", self.operation),
        }
    }
}

/// How long an answer may be served from the cache. Times of day are Paris time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cache {
    Never,
    For {
        secs: u64,
    },
    /// Until the next `hour`:00 after the end of today (08:00 tomorrow for 8).
    UntilTomorrowAt {
        hour: u32,
    },
    /// Until the coming midnight.
    UntilMidnight,
    /// Until the first day of next month, 00:00.
    UntilEndOfMonth,
}

impl Cache {
    /// Seconds an answer fetched at `now` stays valid; `None` when it is not cached.
    pub fn ttl_at(self, now: chrono::DateTime<chrono_tz::Tz>) -> Option<u64> {
        use chrono::{Datelike, Duration, NaiveTime, TimeZone};
        let tz = now.timezone();
        let at = |day: chrono::NaiveDate, hour: u32| {
            let naive = day.and_time(NaiveTime::from_hms_opt(hour, 0, 0)?);
            tz.from_local_datetime(&naive).earliest()
        };
        let until = match self {
            Cache::Never => return None,
            Cache::For { secs } => return Some(secs),
            Cache::UntilTomorrowAt { hour } => at(now.date_naive() + Duration::days(1), hour)?,
            Cache::UntilMidnight => at(now.date_naive() + Duration::days(1), 0)?,
            Cache::UntilEndOfMonth => {
                let (year, month) = match now.month() {
                    12 => (now.year() + 1, 1),
                    m => (now.year(), m + 1),
                };
                at(chrono::NaiveDate::from_ymd_opt(year, month, 1)?, 0)?
            }
        };
        let secs = (until - now).num_seconds();
        (secs > 0).then_some(secs as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::Europe::Paris;

    fn paris(y: i32, m: u32, d: u32, h: u32, min: u32) -> chrono::DateTime<chrono_tz::Tz> {
        Paris.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    #[test]
    fn lifetimes_until_a_time_of_day() {
        let now = paris(2026, 11, 26, 23, 30);
        assert_eq!(Cache::UntilTomorrowAt { hour: 8 }.ttl_at(now), Some(8 * 3600 + 30 * 60));
        assert_eq!(
            Cache::UntilTomorrowAt { hour: 3 }.ttl_at(paris(2026, 11, 26, 0, 0)),
            Some(27 * 3600)
        );
        assert_eq!(Cache::UntilMidnight.ttl_at(now), Some(30 * 60));
        assert_eq!(Cache::UntilEndOfMonth.ttl_at(paris(2026, 12, 31, 23, 0)), Some(3600));
        assert_eq!(Cache::For { secs: 3600 }.ttl_at(now), Some(3600));
        assert_eq!(Cache::Never.ttl_at(now), None);
    }

    #[test]
    fn lifetimes_across_a_clock_change() {
        // Paris goes from UTC+2 to UTC+1 on 2026-10-25: that night lasts 25 hours.
        let now = paris(2026, 10, 24, 8, 0);
        assert_eq!(Cache::UntilTomorrowAt { hour: 8 }.ttl_at(now), Some(25 * 3600));
    }
}
