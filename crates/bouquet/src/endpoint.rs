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
}

impl Mode {
    pub fn segment(self) -> &'static str {
        match self {
            Mode::Identite => "identite",
            Mode::FranceConnect => "france_connect",
            Mode::Ine => "ine",
            Mode::Identifiant => "identifiant",
        }
    }

    /// The suffix of operation ids (`…_with_civility`).
    pub fn operation_suffix(self) -> &'static str {
        match self {
            Mode::Identite => "with_civility",
            Mode::FranceConnect => "with_france_connect",
            Mode::Ine => "with_ine",
            Mode::Identifiant => "with_identifiant",
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
    /// Public path without version and mode: `dss/quotient_familial`.
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
    pub cache_ttl_secs: u64,
}

impl Endpoint {
    /// The route of this endpoint in `version`: `/v3/dss/quotient_familial/identite`.
    pub fn public_path(&self, version: u8) -> String {
        format!("/v{version}/{}/{}", self.path, self.mode.segment())
    }

    pub fn supports(&self, version: u8) -> bool {
        self.versions.contains(&version)
    }

    /// The part of the operation id after the bouquet's prefix and the version.
    pub fn operation_stem(&self) -> String {
        format!("{}_{}", self.operation, self.mode.operation_suffix())
    }
}
