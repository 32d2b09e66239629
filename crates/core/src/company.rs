//! API Entreprise's subjects (companies, establishments, associations) and the other
//! parameters of its routes, each checked once into a type; a refusal carries the
//! contract's code, and its `source.parameter` as the real error catalogue gives it.
//!
//! Where the rules come from (API Entreprise's public contract and the validators of
//! the real gateway):
//! - SIREN: 9 digits and a Luhn checksum (`00301`). SIRET: see [`Siret`]; in a path,
//!   `00302`.
//! - RNA (associations): `W`, a digit, a capital letter or a digit, 7 digits; or the
//!   old form `0ddd00dddd`. No route takes an RNA alone, so it has no code.
//! - The unions take the first form that fits (the forms differ in length, so at most
//!   one does) and name `id` as the parameter: `00303`, `00333`, `00330`.
//! - `siret_or_eori` (DGDDI): a SIRET, `FR` and a SIRET, or two capital letters other
//!   than `FR` followed by anything, which the customs service judges (`00304`).
//! - `year`: DGFIP 2006 to last year (`00307` badly formed, `00315` out of range);
//!   GIP-MDS 1900 to this year (`00307`). `month`: `01` to `12` (`00305`).
//! - GIP-MDS `profondeur` 0 to 13 (`00390`; the OpenAPI says 12, the gateway takes 13),
//!   `nature_effectif` never refused; ADEME `limit` 1 to 1000, default 1000 (`00313`).
//! - `context`, `recipient`, `object`: required on every data route (`00201`, `00203`,
//!   `00202`), `recipient` a SIRET (`00210`).

use std::fmt;

use chrono::{Datelike, NaiveDate};

use crate::error::{codes, ApiError, Code};
use crate::query::Query;
use crate::siret::{luhn_valid, Siret};

fn refused(code: Code) -> ApiError {
    ApiError::gateway(code)
}

fn is_digits(raw: &str, len: usize) -> bool {
    raw.len() == len && raw.bytes().all(|b| b.is_ascii_digit())
}

/// A company's number in the Sirene register.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Siren(String);

impl Siren {
    pub fn parse(raw: &str) -> Result<Siren, ApiError> {
        Siren::check(raw).ok_or_else(|| refused(codes::SIREN_INVALID))
    }

    fn check(raw: &str) -> Option<Siren> {
        (is_digits(raw, 9) && luhn_valid(raw)).then(|| Siren(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Siret {
    /// A `{siret}` path parameter: `00302` when it is not a SIRET.
    pub fn parse_path(raw: &str) -> Result<Siret, ApiError> {
        Siret::parse(raw).ok_or_else(|| refused(codes::SIRET_INVALID))
    }
}

/// An association's number in the RNA register.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rna(String);

impl Rna {
    pub fn parse(raw: &str) -> Option<Rna> {
        (is_current_rna(raw) || is_old_rna(raw)).then(|| Rna(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_current_rna(raw: &str) -> bool {
    match raw.as_bytes() {
        [b'W', digit, third, rest @ ..] => {
            digit.is_ascii_digit()
                && (third.is_ascii_digit() || third.is_ascii_uppercase())
                && rest.len() == 7
                && rest.iter().all(u8::is_ascii_digit)
        }
        _ => false,
    }
}

fn is_old_rna(raw: &str) -> bool {
    is_digits(raw, 10) && raw.starts_with('0') && &raw[4..6] == "00"
}

/// `{siret_or_rna}`: an establishment or an association.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SiretOrRna {
    Siret(Siret),
    Rna(Rna),
}

impl SiretOrRna {
    pub fn parse(raw: &str) -> Result<SiretOrRna, ApiError> {
        Siret::parse(raw)
            .map(SiretOrRna::Siret)
            .or_else(|| Rna::parse(raw).map(SiretOrRna::Rna))
            .ok_or_else(|| refused(codes::SIRET_OR_RNA_INVALID))
    }

    pub fn as_str(&self) -> &str {
        match self {
            SiretOrRna::Siret(siret) => siret.as_str(),
            SiretOrRna::Rna(rna) => rna.as_str(),
        }
    }
}

/// `{siren_or_rna}`: a company or an association.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SirenOrRna {
    Siren(Siren),
    Rna(Rna),
}

impl SirenOrRna {
    pub fn parse(raw: &str) -> Result<SirenOrRna, ApiError> {
        Siren::check(raw)
            .map(SirenOrRna::Siren)
            .or_else(|| Rna::parse(raw).map(SirenOrRna::Rna))
            .ok_or_else(|| refused(codes::SIREN_OR_RNA_INVALID))
    }

    pub fn as_str(&self) -> &str {
        match self {
            SirenOrRna::Siren(siren) => siren.as_str(),
            SirenOrRna::Rna(rna) => rna.as_str(),
        }
    }
}

/// `{siren_or_siret_or_rna}`: a company, an establishment or an association.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SirenOrSiretOrRna {
    Siren(Siren),
    Siret(Siret),
    Rna(Rna),
}

impl SirenOrSiretOrRna {
    pub fn parse(raw: &str) -> Result<SirenOrSiretOrRna, ApiError> {
        Siren::check(raw)
            .map(SirenOrSiretOrRna::Siren)
            .or_else(|| Siret::parse(raw).map(SirenOrSiretOrRna::Siret))
            .or_else(|| Rna::parse(raw).map(SirenOrSiretOrRna::Rna))
            .ok_or_else(|| refused(codes::SIREN_OR_SIRET_OR_RNA_INVALID))
    }

    pub fn as_str(&self) -> &str {
        match self {
            SirenOrSiretOrRna::Siren(siren) => siren.as_str(),
            SirenOrSiretOrRna::Siret(siret) => siret.as_str(),
            SirenOrSiretOrRna::Rna(rna) => rna.as_str(),
        }
    }
}

/// `{siret_or_eori}`: an establishment by its SIRET or its customs (EORI) number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SiretOrEori {
    Siret(Siret),
    /// A French EORI: `FR` followed by the establishment's SIRET.
    FrenchEori(Siret),
    /// Another country's EORI, kept whole: only its country prefix is checked here.
    ForeignEori(String),
}

impl SiretOrEori {
    pub fn parse(raw: &str) -> Result<SiretOrEori, ApiError> {
        if let Some(siret) = Siret::parse(raw) {
            return Ok(SiretOrEori::Siret(siret));
        }
        let parsed = match raw.strip_prefix("FR") {
            Some(rest) => Siret::parse(rest).map(SiretOrEori::FrenchEori),
            None => starts_with_country(raw).then(|| SiretOrEori::ForeignEori(raw.to_string())),
        };
        parsed.ok_or_else(|| refused(codes::SIRET_OR_EORI_INVALID))
    }
}

fn starts_with_country(raw: &str) -> bool {
    raw.len() >= 2 && raw.as_bytes()[..2].iter().all(u8::is_ascii_uppercase)
}

impl fmt::Display for SiretOrEori {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SiretOrEori::Siret(siret) => write!(f, "{siret}"),
            SiretOrEori::FrenchEori(siret) => write!(f, "FR{siret}"),
            SiretOrEori::ForeignEori(eori) => f.write_str(eori),
        }
    }
}

/// A `{year}` path parameter. The range depends on the provider, and on `today`,
/// which the caller passes so that the rule is testable at its edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Year(u16);

/// DGFIP keeps liasses fiscales from 2006 on.
const DGFIP_FIRST_YEAR: i32 = 2006;
const GIP_MDS_FIRST_YEAR: i32 = 1900;

impl Year {
    /// DGFIP liasses fiscales and liens capitalistiques: a closed fiscal year.
    pub fn parse_dgfip(raw: &str, today: NaiveDate) -> Result<Year, ApiError> {
        let year = four_digits(raw).ok_or_else(|| refused(codes::YEAR_MALFORMED))?;
        if (DGFIP_FIRST_YEAR..today.year()).contains(&i32::from(year)) {
            Ok(Year(year))
        } else {
            Err(refused(codes::YEAR_OUT_OF_RANGE))
        }
    }

    /// GIP-MDS headcounts: any year up to the current one.
    pub fn parse_gip_mds(raw: &str, today: NaiveDate) -> Result<Year, ApiError> {
        four_digits(raw)
            .filter(|year| (GIP_MDS_FIRST_YEAR..=today.year()).contains(&i32::from(*year)))
            .map(Year)
            .ok_or_else(|| refused(codes::YEAR_MALFORMED))
    }

    pub fn number(self) -> u16 {
        self.0
    }
}

fn four_digits(raw: &str) -> Option<u16> {
    is_digits(raw, 4).then(|| raw.parse().ok()).flatten()
}

impl fmt::Display for Year {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.0)
    }
}

/// A `{month}` path parameter (GIP-MDS): exactly two digits, `01` to `12`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(u8);

impl Month {
    pub fn parse(raw: &str) -> Result<Month, ApiError> {
        is_digits(raw, 2)
            .then(|| raw.parse::<u8>().ok())
            .flatten()
            .filter(|month| (1..=12).contains(month))
            .map(Month)
            .ok_or_else(|| refused(codes::MONTH_INVALID))
    }

    pub fn number(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.0)
    }
}

/// GIP-MDS `profondeur`: how many months of history before the one asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Profondeur(u8);

const MAX_PROFONDEUR: i64 = 13;

impl Profondeur {
    /// `raw` is the value as sent (see [`Query::raw`]): absent is fine, empty is not.
    /// Read as the real gateway reads it (Ruby's `Integer(s, 10)`): spaces around
    /// and a sign are allowed.
    pub fn parse(raw: Option<&str>) -> Result<Option<Profondeur>, ApiError> {
        raw.map(Profondeur::parse_present).transpose()
    }

    fn parse_present(raw: &str) -> Result<Profondeur, ApiError> {
        decimal_integer(raw)
            .filter(|n| (0..=MAX_PROFONDEUR).contains(n))
            .and_then(|n| u8::try_from(n).ok())
            .map(Profondeur)
            .ok_or_else(|| refused(codes::PROFONDEUR_INVALID))
    }

    pub fn months(self) -> u8 {
        self.0
    }
}

/// An optionally signed decimal integer with spaces around; `None` beyond `i64`.
fn decimal_integer(raw: &str) -> Option<i64> {
    let trimmed = raw.trim_matches(|c: char| c.is_ascii_whitespace());
    let (sign, digits) = match trimmed.strip_prefix('-') {
        Some(digits) => (-1, digits),
        None => (1, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<i64>().ok().map(|n| sign * n)
}

/// GIP-MDS `nature_effectif`: which headcount is asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum NatureEffectif {
    #[default]
    Moyen,
    Boeth,
    Ecap,
    AssujettissementOeth,
}

impl NatureEffectif {
    /// Never refuses: the real gateway reads any other value, or none, as `moyen`.
    pub fn parse(raw: Option<&str>) -> NatureEffectif {
        match raw {
            Some("boeth") => NatureEffectif::Boeth,
            Some("ecap") => NatureEffectif::Ecap,
            Some("assujettissement_oeth") => NatureEffectif::AssujettissementOeth,
            _ => NatureEffectif::Moyen,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NatureEffectif::Moyen => "moyen",
            NatureEffectif::Boeth => "boeth",
            NatureEffectif::Ecap => "ecap",
            NatureEffectif::AssujettissementOeth => "assujettissement_oeth",
        }
    }
}

/// ADEME `limit`: how many RGE certificates at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limit(u16);

impl Limit {
    pub const DEFAULT: Limit = Limit(1000);

    /// `raw` is the value as sent (see [`Query::raw`]): absent means 1000, anything
    /// present must be 1 to 1000 in plain digits. The real gateway reads it more
    /// loosely (Ruby's `to_i`: `12abc` is 12); a typo is better refused than guessed.
    pub fn parse(raw: Option<&str>) -> Result<Limit, ApiError> {
        let Some(raw) = raw else {
            return Ok(Limit::DEFAULT);
        };
        let digits_only = !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit());
        digits_only
            .then(|| raw.parse::<u16>().ok())
            .flatten()
            .filter(|n| (1..=Limit::DEFAULT.0).contains(n))
            .map(Limit)
            .ok_or_else(|| refused(codes::LIMIT_INVALID))
    }

    pub fn value(self) -> u16 {
        self.0
    }
}

/// The three traceability parameters every API Entreprise data route requires: the
/// frame of the call, the public body the data is for, and the reason or file number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traceability {
    pub context: String,
    pub recipient: Siret,
    pub object: String,
}

impl Traceability {
    /// Blank (empty or spaces) counts as missing. Every missing one is reported, in
    /// the order context, recipient, object; `recipient` is checked as a SIRET
    /// (`00210`) only once all three are there, as the real gateway does.
    pub fn parse(query: &Query) -> Result<Traceability, Vec<ApiError>> {
        let context = query.get("context");
        let recipient = query.get("recipient");
        let object = query.get("object");
        let (Some(context), Some(recipient), Some(object)) = (context, recipient, object) else {
            return Err(missing(&[
                (context, codes::CONTEXT_MISSING),
                (recipient, codes::RECIPIENT_MISSING),
                (object, codes::OBJECT_MISSING),
            ]));
        };
        let recipient = Siret::parse(recipient).ok_or_else(|| vec![refused(codes::RECIPIENT_INVALID)])?;
        Ok(Traceability {
            context: context.to_string(),
            recipient,
            object: object.to_string(),
        })
    }
}

fn missing(values: &[(Option<&str>, Code)]) -> Vec<ApiError> {
    values
        .iter()
        .filter(|(value, _)| value.is_none())
        .map(|(_, code)| refused(*code))
        .collect()
}

macro_rules! display_as_str {
    ($($name:ident),*) => {
        $(impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        })*
    };
}

display_as_str!(Siren, Rna, SiretOrRna, SirenOrRna, SirenOrSiretOrRna);
