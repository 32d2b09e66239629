//! ProConnect, the State's OpenID Connect federation for public agents (formerly
//! AgentConnect), simulated as an identity provider: the authorization code flow with
//! `client_secret_post` or `client_secret_basic`, PKCE S256 when the client sends it,
//! an ID token and a userinfo answer signed ES256 by the simulator's key (published at
//! `/api/v2/jwks`). It lets Passerelle's habilitation pages log an agent in with a
//! standard OIDC client and no ProConnect account: the login page lists the agents of
//! `agents.json` and one click picks one.
//!
//! A relying party asks for a second factor with
//! `acr_values=https://proconnect.gouv.fr/assurance/consistency-checked-2fa` (or a
//! `claims` request on `acr`): an agent whose account has one gets `amr: ["pwd","mfa"]`
//! at once; one without gets a one-time code page first (the code is [`DEMO_OTP`]).
//!
//! The agents' organisations exist in the INSEE Sirene simulator (two fictitious
//! communes, the Communauté d'agglomération Hérault Méditerranée, DINUM).

pub mod simulator;

use serde::Deserialize;

/// The one login client: Passerelle's habilitation pages.
pub const LOGIN_CLIENT_ID: &str = "passerelle-demo-habilitation";
pub const LOGIN_CLIENT_SECRET: &str = "demo-secret-pc-habilitation";

/// Where [`crate::simulators_for`] nests the simulator.
pub const PREFIX: &str = "/pro_connect";

// The same paths as FranceConnect's simulated login.
pub use crate::oidc_simulator::{
    AUTHORIZE_PATH, DISCOVERY_PATH, END_SESSION_PATH, ISSUER_PATH, JWKS_PATH, TOKEN_PATH, USERINFO_PATH,
};
pub const SECOND_FACTOR_PATH: &str = "/api/v2/authorize/second-factor";

/// The level of a password login.
pub const ACR_EIDAS1: &str = "eidas1";
/// The level of a login with a second factor, checked for consistency by ProConnect.
pub const ACR_2FA: &str = "https://proconnect.gouv.fr/assurance/consistency-checked-2fa";

/// The one-time code the second-factor page accepts (and states).
pub const DEMO_OTP: &str = "123456";

/// The simulated identity provider that every agent's account belongs to.
pub const IDP_ID: &str = "simulateur-proconnect-identite";

/// The issuer a relying party sees when the simulators listen at `simulators_base_url`
/// (`http://host:port`).
pub fn issuer(simulators_base_url: &str) -> String {
    format!("{}{PREFIX}{ISSUER_PATH}", simulators_base_url.trim_end_matches('/'))
}

/// A public agent one can log in as.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Agent {
    /// The identity provider's stable id of the account.
    pub uid: String,
    pub email: String,
    pub given_name: String,
    pub usual_name: String,
    /// The SIRET of the agent's établissement (in the INSEE Sirene simulator).
    pub siret: String,
    /// The organisation's name, as Sirene spells it.
    pub organisation: String,
    pub job_title: String,
    pub phone: String,
    #[serde(default)]
    pub organizational_unit: Option<String>,
    /// Whether the account has a second factor configured.
    pub mfa: bool,
    /// What the agent is for in the demo ("demandeur", "instructeur particulier"…).
    pub role_hint: String,
}

impl Agent {
    pub fn name(&self) -> String {
        format!("{} {}", self.given_name, self.usual_name)
    }
}

#[derive(Deserialize)]
struct AgentsFile {
    agents: Vec<Agent>,
}

/// The simulator's agents, in the order of the login page.
pub fn agents() -> Vec<Agent> {
    let file: AgentsFile =
        serde_json::from_str(include_str!("agents.json")).expect("the simulator's agents file is valid JSON");
    file.agents
}

#[cfg(test)]
mod tests;
