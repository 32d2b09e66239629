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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code<T: fmt::Debug>(result: Result<T, ApiError>) -> String {
        result.expect_err("should be refused").code
    }

    fn parameter<T: fmt::Debug>(result: Result<T, ApiError>) -> Option<String> {
        let error = result.expect_err("should be refused");
        error
            .source
            .map(|source| source["parameter"].as_str().unwrap_or_default().to_string())
    }

    fn day(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).unwrap()
    }

    /// The check digit computed from the definition (double every second digit from
    /// the right of the full number), independently of the code under test.
    fn with_check_digit(body: &str) -> String {
        let sum: u32 = body
            .bytes()
            .rev()
            .enumerate()
            .map(|(i, b)| {
                let d = u32::from(b - b'0');
                let weighted = if i % 2 == 0 { d * 2 } else { d };
                weighted / 10 + weighted % 10
            })
            .sum();
        format!("{body}{}", (10 - sum % 10) % 10)
    }

    #[test]
    fn check_digit_helper_matches_known_numbers() {
        assert_eq!(with_check_digit("13002526"), "130025265");
        assert_eq!(with_check_digit("1300252650001"), "13002526500013");
    }

    #[test]
    fn siren_examples() {
        assert_eq!(Siren::parse("130025265").unwrap().as_str(), "130025265");
        assert_eq!(Siren::parse("356000000").unwrap().to_string(), "356000000");
        // Cases of the official sandbox the real gateway refuses (contract §12).
        for raw in [
            "000000001",
            "844451564",
            "13002526",
            "1300252650",
            "13002526a",
            " 130025265",
            "",
            "١٣٠٠٢٥٢٦٥",
        ] {
            assert_eq!(code(Siren::parse(raw)), "00301", "{raw:?}");
        }
        assert_eq!(parameter(Siren::parse("000000001")).as_deref(), Some("siren"));
    }

    #[test]
    fn siret_in_a_path_examples() {
        assert_eq!(Siret::parse_path("13002526500013").unwrap().as_str(), "13002526500013");
        for la_poste in ["35600000000048", "35600000012345"] {
            assert!(Siret::parse_path(la_poste).is_ok(), "{la_poste}");
        }
        for raw in ["13002526500001", "55203253400001", "130025265", "1300252650001x"] {
            assert_eq!(code(Siret::parse_path(raw)), "00302", "{raw:?}");
        }
        assert_eq!(parameter(Siret::parse_path("55203253400001")).as_deref(), Some("siret"));
    }

    #[test]
    fn rna_forms() {
        for valid in ["W751234567", "W7A1234567", "W000000000", "0751001234"] {
            assert_eq!(Rna::parse(valid).map(|r| r.to_string()).as_deref(), Some(valid));
        }
        for invalid in [
            "WA51234567",
            "w751234567",
            "W7a1234567",
            "W75123456",
            "W7512345678",
            "0751011234",
            "1751001234",
            "075100123",
            "",
        ] {
            assert!(Rna::parse(invalid).is_none(), "{invalid:?}");
        }
    }

    #[test]
    fn siret_or_rna() {
        let siret = SiretOrRna::parse("13002526500013").unwrap();
        assert!(matches!(siret, SiretOrRna::Siret(_)));
        assert!(matches!(SiretOrRna::parse("W751234567").unwrap(), SiretOrRna::Rna(_)));
        for raw in ["130025265", "13002526500001", "W75123456"] {
            assert_eq!(code(SiretOrRna::parse(raw)), "00303", "{raw:?}");
        }
        assert_eq!(parameter(SiretOrRna::parse("x")).as_deref(), Some("id"));
    }

    #[test]
    fn siren_or_rna() {
        assert!(matches!(SirenOrRna::parse("130025265").unwrap(), SirenOrRna::Siren(_)));
        assert!(matches!(SirenOrRna::parse("0751001234").unwrap(), SirenOrRna::Rna(_)));
        for raw in ["13002526500013", "844451564", "W75123456"] {
            assert_eq!(code(SirenOrRna::parse(raw)), "00333", "{raw:?}");
        }
        assert_eq!(parameter(SirenOrRna::parse("x")).as_deref(), Some("id"));
    }

    #[test]
    fn siren_or_siret_or_rna() {
        use SirenOrSiretOrRna as Id;
        assert!(matches!(Id::parse("130025265").unwrap(), Id::Siren(_)));
        assert!(matches!(Id::parse("13002526500013").unwrap(), Id::Siret(_)));
        assert!(matches!(Id::parse("35600000012345").unwrap(), Id::Siret(_)));
        assert!(matches!(Id::parse("W751234567").unwrap(), Id::Rna(_)));
        for raw in ["000000001", "13002526500001", "W7512345678"] {
            assert_eq!(code(Id::parse(raw)), "00330", "{raw:?}");
        }
        assert_eq!(parameter(Id::parse("x")).as_deref(), Some("id"));
    }

    #[test]
    fn siret_or_eori() {
        use SiretOrEori as Id;
        assert!(matches!(Id::parse("13002526500013").unwrap(), Id::Siret(_)));
        assert!(matches!(Id::parse("FR13002526500013").unwrap(), Id::FrenchEori(_)));
        assert!(matches!(Id::parse("FR35600000012345").unwrap(), Id::FrenchEori(_)));
        assert_eq!(Id::parse("FR13002526500013").unwrap().to_string(), "FR13002526500013");
        for foreign in ["DE123456789012345", "ESA12345678", "XX"] {
            assert_eq!(Id::parse(foreign).unwrap(), Id::ForeignEori(foreign.to_string()));
        }
        for raw in [
            "FR13002526500001",
            "FR",
            "FR130025265",
            "fr13002526500013",
            "De123",
            "D",
            "",
            "13002526500001",
            "ÉS123",
        ] {
            assert_eq!(code(Id::parse(raw)), "00304", "{raw:?}");
        }
        assert_eq!(parameter(Id::parse("x")).as_deref(), Some("id"));
    }

    #[test]
    fn dgfip_year() {
        let today = day(2025, 6, 15);
        assert_eq!(Year::parse_dgfip("2024", today).unwrap().number(), 2024);
        assert_eq!(Year::parse_dgfip("2006", today).unwrap().to_string(), "2006");
        for out in ["2025", "2005", "0000", "9999"] {
            assert_eq!(code(Year::parse_dgfip(out, today)), "00315", "{out}");
        }
        for malformed in ["24", "20245", "2024 ", "+202", "２０２４", "", "abcd"] {
            assert_eq!(code(Year::parse_dgfip(malformed, today)), "00307", "{malformed:?}");
        }
        assert!(Year::parse_dgfip("2024", day(2025, 1, 1)).is_ok());
        assert_eq!(code(Year::parse_dgfip("2024", day(2024, 12, 31))), "00315");
        assert_eq!(parameter(Year::parse_dgfip("24", today)), None);
    }

    #[test]
    fn gip_mds_year() {
        let today = day(2025, 6, 15);
        for valid in ["1900", "2000", "2025"] {
            assert!(Year::parse_gip_mds(valid, today).is_ok(), "{valid}");
        }
        for invalid in ["1899", "2026", "0000", "25", "2025-"] {
            assert_eq!(code(Year::parse_gip_mds(invalid, today)), "00307", "{invalid:?}");
        }
    }

    #[test]
    fn month() {
        assert_eq!(Month::parse("01").unwrap().number(), 1);
        assert_eq!(Month::parse("12").unwrap().to_string(), "12");
        for invalid in ["1", "00", "13", "001", "+1", " 1", "1 ", "", "ab"] {
            assert_eq!(code(Month::parse(invalid)), "00305", "{invalid:?}");
        }
        assert_eq!(parameter(Month::parse("13")).as_deref(), Some("month"));
    }

    #[test]
    fn profondeur() {
        assert_eq!(Profondeur::parse(None).unwrap(), None);
        for (raw, months) in [("0", 0), ("13", 13), ("05", 5), (" 5 ", 5), ("+5", 5), ("-0", 0)] {
            assert_eq!(
                Profondeur::parse(Some(raw)).unwrap().map(Profondeur::months),
                Some(months),
                "{raw:?}"
            );
        }
        for invalid in ["", " ", "14", "-1", "5.0", "abc", "1_0", "99999999999999999999999"] {
            assert_eq!(code(Profondeur::parse(Some(invalid))), "00390", "{invalid:?}");
        }
    }

    #[test]
    fn nature_effectif() {
        assert_eq!(NatureEffectif::parse(None), NatureEffectif::Moyen);
        for nature in ["moyen", "boeth", "ecap", "assujettissement_oeth"] {
            assert_eq!(NatureEffectif::parse(Some(nature)).as_str(), nature);
        }
        for other in ["", "BOETH", "anything"] {
            assert_eq!(NatureEffectif::parse(Some(other)), NatureEffectif::Moyen, "{other:?}");
        }
    }

    #[test]
    fn ademe_limit() {
        assert_eq!(Limit::parse(None).unwrap().value(), 1000);
        assert_eq!(Limit::parse(Some("1")).unwrap().value(), 1);
        assert_eq!(Limit::parse(Some("1000")).unwrap().value(), 1000);
        for invalid in ["", "0", "1001", "+5", " 5", "12abc", "99999999"] {
            assert_eq!(code(Limit::parse(Some(invalid))), "00313", "{invalid:?}");
        }
        assert_eq!(parameter(Limit::parse(Some("0"))).as_deref(), Some("limit"));
    }

    fn traceability(pairs: &[(&str, &str)]) -> Result<Traceability, Vec<String>> {
        Traceability::parse(&Query::from_pairs(pairs)).map_err(|errors| errors.into_iter().map(|e| e.code).collect())
    }

    #[test]
    fn traceability_reports_every_missing_one_in_order() {
        assert_eq!(traceability(&[]).unwrap_err(), ["00201", "00203", "00202"]);
        let blank = traceability(&[("object", "  "), ("context", ""), ("recipient", "\t")]);
        assert_eq!(blank.unwrap_err(), ["00201", "00203", "00202"]);
        let only_object = traceability(&[("context", "aides"), ("recipient", "13002526500013")]);
        assert_eq!(only_object.unwrap_err(), ["00202"]);
    }

    #[test]
    fn traceability_checks_the_recipient_once_all_are_there() {
        let all = [
            ("context", "marchés publics"),
            ("recipient", "13002526500014"),
            ("object", "DOSSIER-1"),
        ];
        assert_eq!(traceability(&all).unwrap_err(), ["00210"]);
        let without_context = traceability(&all[1..]);
        assert_eq!(without_context.unwrap_err(), ["00201"]);
        let ok = traceability(&[("context", "aides"), ("recipient", "35600000012345"), ("object", "x")]).unwrap();
        assert_eq!(
            (ok.context.as_str(), ok.recipient.as_str(), ok.object.as_str()),
            ("aides", "35600000012345", "x")
        );
        let errors = Traceability::parse(&Query::from_pairs(&[])).unwrap_err();
        let parameters: Vec<_> = errors
            .iter()
            .map(|e| e.source.as_ref().unwrap()["parameter"].clone())
            .collect();
        assert_eq!(parameters, ["context", "recipient", "object"]);
        assert!(errors.iter().all(|e| e.status() == 422));
    }

    fn parse_all(raw: &str, today: NaiveDate) {
        let _ = Siren::parse(raw);
        let _ = Siret::parse_path(raw);
        let _ = Rna::parse(raw);
        let _ = SiretOrRna::parse(raw);
        let _ = SirenOrRna::parse(raw);
        let _ = SirenOrSiretOrRna::parse(raw);
        let _ = SiretOrEori::parse(raw);
        let _ = Year::parse_dgfip(raw, today);
        let _ = Year::parse_gip_mds(raw, today);
        let _ = Month::parse(raw);
        let _ = Profondeur::parse(Some(raw));
        let _ = NatureEffectif::parse(Some(raw));
        let _ = Limit::parse(Some(raw));
        let _ = Traceability::parse(&Query::from_pairs(&[
            ("context", raw),
            ("recipient", raw),
            ("object", raw),
        ]));
    }

    fn valid_siret() -> impl Strategy<Value = String> {
        "[0-9]{13}".prop_map(|body| with_check_digit(&body))
    }

    proptest! {
        #[test]
        fn no_parser_panics(raw in "\\PC*", long in "[0-9A-Z]{0,20}") {
            parse_all(&raw, day(2025, 6, 15));
            parse_all(&long, day(2025, 6, 15));
        }

        #[test]
        fn generated_sirens_parse_and_round_trip(body in "[0-9]{8}") {
            let siren = with_check_digit(&body);
            prop_assert_eq!(Siren::parse(&siren).unwrap().to_string(), siren.clone());
            prop_assert_eq!(SirenOrRna::parse(&siren).unwrap(), SirenOrRna::Siren(Siren(siren.clone())));
            prop_assert_eq!(SirenOrSiretOrRna::parse(&siren).unwrap().to_string(), siren.clone());
        }

        #[test]
        fn one_changed_digit_breaks_a_siren(body in "[0-9]{8}", pos in 0usize..9, delta in 1u8..10) {
            let mut changed = with_check_digit(&body).into_bytes();
            changed[pos] = b'0' + (changed[pos] - b'0' + delta) % 10;
            let changed = String::from_utf8(changed).unwrap();
            prop_assert_eq!(code(Siren::parse(&changed)), "00301");
            prop_assert_eq!(code(SirenOrRna::parse(&changed)), "00333");
        }

        #[test]
        fn generated_sirets_parse_and_round_trip(siret in valid_siret()) {
            prop_assert_eq!(Siret::parse_path(&siret).unwrap().to_string(), siret.clone());
            prop_assert_eq!(SiretOrRna::parse(&siret).unwrap().to_string(), siret.clone());
            prop_assert!(matches!(SirenOrSiretOrRna::parse(&siret), Ok(SirenOrSiretOrRna::Siret(_))));
            prop_assert!(matches!(SiretOrEori::parse(&siret), Ok(SiretOrEori::Siret(_))));
            let eori = format!("FR{siret}");
            let parsed = SiretOrEori::parse(&eori).unwrap();
            prop_assert!(matches!(parsed, SiretOrEori::FrenchEori(_)));
            prop_assert_eq!(parsed.to_string(), eori);
        }

        #[test]
        fn one_changed_digit_breaks_a_siret(siret in valid_siret(), pos in 0usize..14, delta in 1u8..10) {
            let mut changed = siret.into_bytes();
            changed[pos] = b'0' + (changed[pos] - b'0' + delta) % 10;
            let changed = String::from_utf8(changed).unwrap();
            prop_assume!(!changed.starts_with("356000000"));
            prop_assert_eq!(code(Siret::parse_path(&changed)), "00302");
            prop_assert_eq!(code(SiretOrEori::parse(&format!("FR{changed}"))), "00304");
        }

        #[test]
        fn rna_forms_parse_through_every_union(current in "W[0-9][0-9A-Z][0-9]{7}", old in "0[0-9]{3}00[0-9]{4}") {
            for rna in [current, old] {
                prop_assert_eq!(Rna::parse(&rna).unwrap().to_string(), rna.clone());
                prop_assert!(matches!(SiretOrRna::parse(&rna), Ok(SiretOrRna::Rna(_))));
                prop_assert!(matches!(SirenOrRna::parse(&rna), Ok(SirenOrRna::Rna(_))));
                prop_assert_eq!(SirenOrSiretOrRna::parse(&rna).unwrap().to_string(), rna.clone());
            }
        }

        #[test]
        fn rna_has_ten_characters(raw in "\\PC*") {
            prop_assume!(raw.chars().count() != 10);
            prop_assert!(Rna::parse(&raw).is_none());
        }

        #[test]
        fn foreign_eori_is_kept_whole(country in "[A-Z]{2}", rest in "\\PC*") {
            prop_assume!(country != "FR");
            let eori = format!("{country}{rest}");
            let parsed = SiretOrEori::parse(&eori).unwrap();
            prop_assert_eq!(parsed.to_string(), eori);
        }

        #[test]
        fn fr_needs_a_siret(rest in "\\PC*") {
            prop_assume!(Siret::parse(&rest).is_none());
            prop_assert_eq!(code(SiretOrEori::parse(&format!("FR{rest}"))), "00304");
        }

        #[test]
        fn year_bounds_follow_today(year in 2007i32..2100, ordinal in 1u32..366) {
            let today = NaiveDate::from_yo_opt(year, ordinal).unwrap();
            let text = |y: i32| format!("{y:04}");
            prop_assert!(Year::parse_dgfip(&text(year - 1), today).is_ok());
            prop_assert!(Year::parse_dgfip("2006", today).is_ok());
            prop_assert_eq!(code(Year::parse_dgfip(&text(year), today)), "00315");
            prop_assert_eq!(code(Year::parse_dgfip("2005", today)), "00315");
            prop_assert!(Year::parse_gip_mds(&text(year), today).is_ok());
            prop_assert!(Year::parse_gip_mds("1900", today).is_ok());
            prop_assert_eq!(code(Year::parse_gip_mds(&text(year + 1), today)), "00307");
            prop_assert_eq!(code(Year::parse_gip_mds("1899", today)), "00307");
        }

        #[test]
        fn month_is_01_to_12(n in prop_oneof![0u32..15, 0u32..200]) {
            prop_assert_eq!(Month::parse(&format!("{n:02}")).is_ok(), (1..=12).contains(&n));
        }

        #[test]
        fn profondeur_is_0_to_13(n in prop_oneof![-3i64..17, -50i64..5000]) {
            let parsed = Profondeur::parse(Some(&n.to_string()));
            prop_assert_eq!(parsed.is_ok(), (0..=13).contains(&n));
        }

        #[test]
        fn limit_is_1_to_1000(n in prop_oneof![0u32..3, 998u32..1003, 0u32..100_000]) {
            prop_assert_eq!(Limit::parse(Some(&n.to_string())).is_ok(), (1..=1000).contains(&n));
        }

        #[test]
        fn traceability_reports_exactly_the_blank_ones(present in proptest::array::uniform3(any::<bool>()), blank in "[ \t]{0,3}") {
            let values = ["aides", "13002526500013", "DOSSIER-42"];
            let names = ["context", "recipient", "object"];
            let pairs: Vec<(&str, &str)> = names.iter().zip(values).zip(present)
                .map(|((name, value), here)| (*name, if here { value } else { blank.as_str() }))
                .collect();
            let expected: Vec<&str> = ["00201", "00203", "00202"].into_iter().zip(present)
                .filter(|(_, here)| !here).map(|(code, _)| code).collect();
            match traceability(&pairs) {
                Ok(_) => prop_assert!(expected.is_empty()),
                Err(codes) => prop_assert_eq!(codes, expected),
            }
        }
    }
}
