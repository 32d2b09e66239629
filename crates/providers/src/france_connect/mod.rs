//! FranceConnect as an upstream: on `*/france_connect` endpoints the caller's bearer
//! is a citizen's FranceConnect access token. The gateway posts it to FranceConnect's
//! check-token endpoint with the client id and secret of the API called; the answer is
//! a JWE encrypted to the gateway's RSA key, wrapping a JWS signed by FranceConnect
//! whose `token_introspection` gives the scopes granted and the identity pivot.

pub mod jose;
pub mod login;
pub mod simulator;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use passerelle_core::identity::{is_commune_code, is_name, FRANCE};
use passerelle_core::{codes, ApiError, BirthDate, Civility, Code, ProviderInfo, Sexe, Subcode};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::http::{self, TlsSettings};
use crate::upstream::Upstream;
use jose::{EncryptionKey, JoseError, VerifyingKey};

pub const FRANCE_CONNECT: ProviderInfo = ProviderInfo {
    name: "FranceConnect",
    prefix: "51",
};

/// The caller id of every FranceConnect call (the reference gateway's fixed user id).
pub const USER_ID: &str = "11111111-1111-1111-1111-111111111111";

/// The APIs that are each a separate FranceConnect client (the reference's `api_name`,
/// which is the catalogue's resource).
pub const API_NAMES: &[&str] = &[
    "quotient_familial",
    "complementaire_sante_solidaire",
    "revenu_solidarite_active",
    "prime_activite",
    "allocation_adulte_handicape",
    "allocation_enfant_handicape",
    "allocation_soutien_familial",
    "participation_familiale_eaje",
    "etudiant_boursier",
    "statut_etudiant",
    "service_national",
    "service_civique",
    "extrait_immatriculation_vehicule",
];

/// How long FranceConnect's signature keys are trusted before they are fetched again
/// (a JWS naming an unknown key triggers a fetch at once).
const JWKS_TTL: Duration = Duration::from_secs(300);

/// The identity pivot claims a token must give access to (`profile` and `birth`).
const PROFILE: &[&str] = &["given_name", "family_name", "birthdate", "gender"];
const BIRTH: &[&str] = &["birthplace", "birthcountry"];

#[derive(Debug, Clone, Deserialize)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct FranceConnectConfig {
    /// FranceConnect's check-token endpoint (form POST).
    pub check_token_url: String,
    /// FranceConnect's signature keys (JWKS).
    pub jwks_url: String,
    pub timeout_secs: u64,
    /// Cap on one upstream body (`http::DEFAULT_MAX_BODY_BYTES` by default).
    pub max_body_bytes: usize,
    /// Client id and secret of each API (`quotient_familial`, `etudiant_boursier`, …).
    pub clients: BTreeMap<String, ClientCredentials>,
    pub tls: TlsSettings,
}

impl Default for FranceConnectConfig {
    fn default() -> Self {
        FranceConnectConfig::simulated("http://127.0.0.1:8090/france_connect")
    }
}

impl FranceConnectConfig {
    pub fn simulated(base_url: &str) -> Self {
        let base = base_url.trim_end_matches('/');
        let clients = API_NAMES
            .iter()
            .map(|api| {
                let credentials = ClientCredentials {
                    client_id: simulator::client_id(api),
                    client_secret: simulator::client_secret(api),
                };
                (api.to_string(), credentials)
            })
            .collect();
        FranceConnectConfig {
            check_token_url: format!("{base}{}", simulator::CHECK_TOKEN_PATH),
            jwks_url: format!("{base}{}", simulator::JWKS_PATH),
            timeout_secs: 10,
            max_body_bytes: http::DEFAULT_MAX_BODY_BYTES,
            clients,
            tls: TlsSettings::default(),
        }
    }
}

/// What a valid FranceConnect token gives: the scopes the call runs with and the
/// person's identity.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub scopes: HashSet<String>,
    pub civility: Civility,
}

pub struct FranceConnect {
    client: Upstream,
    check_token_url: reqwest::Url,
    jwks_url: reqwest::Url,
    config: FranceConnectConfig,
    keys: Mutex<Option<(Vec<VerifyingKey>, Instant)>>,
}

impl FranceConnect {
    pub fn new(config: FranceConnectConfig) -> anyhow::Result<Self> {
        Ok(FranceConnect {
            client: http::client(Duration::from_secs(config.timeout_secs), &config.tls)?,
            check_token_url: http::parse_url(FRANCE_CONNECT.name, &config.check_token_url)?,
            jwks_url: http::parse_url(FRANCE_CONNECT.name, &config.jwks_url)?,
            config,
            keys: Mutex::new(None),
        })
    }

    /// Asks FranceConnect about `token` as the client of `api`, and opens the answer
    /// with the gateway's `key`.
    pub async fn check(&self, key: &EncryptionKey, api: &str, token: &str) -> Result<Checked, Vec<ApiError>> {
        let jwe = self.check_token(api, token).await?;
        let jws = key.decrypt(&jwe).map_err(|e| unreadable("JWE", &e))?;
        let jws = String::from_utf8(jws).map_err(|_| vec![FRANCE_CONNECT.error(Subcode::Unknown)])?;
        let claims = self.verify(&jws).await?;
        introspection(&claims)
    }

    async fn check_token(&self, api: &str, token: &str) -> Result<String, Vec<ApiError>> {
        let Some(credentials) = self.config.clients.get(api) else {
            tracing::error!(api, "no FranceConnect client configured for this API");
            return Err(vec![FRANCE_CONNECT.error(Subcode::Unknown)]);
        };
        let form = [
            ("client_id", credentials.client_id.as_str()),
            ("client_secret", credentials.client_secret.as_str()),
            ("token", token),
        ];
        let request = self.client.post(self.check_token_url.clone()).form(&form);
        let response = self.client.send(FRANCE_CONNECT, request).await.map_err(|e| vec![e])?;
        let (status, body) = http::read(FRANCE_CONNECT, response, self.config.max_body_bytes)
            .await
            .map_err(|e| vec![e])?;
        let body = String::from_utf8_lossy(&body).into_owned();
        if status == StatusCode::OK {
            return Ok(body);
        }
        if let Some(error) = http::soft_status_error(FRANCE_CONNECT, status) {
            return Err(vec![error]);
        }
        Err(vec![refusal(status, &body)])
    }

    /// Verifies the JWS with FranceConnect's keys, fetching them again when the JWS
    /// names a key we do not have.
    async fn verify(&self, jws: &str) -> Result<Value, Vec<ApiError>> {
        let kid = jose::jws_kid(jws).map_err(|e| unreadable("JWS", &e))?;
        let mut keys = self.keys.lock().await;
        let fresh = keys
            .as_ref()
            .is_some_and(|(list, at)| at.elapsed() < JWKS_TTL && (kid.is_none() || list.iter().any(|k| k.kid == kid)));
        if !fresh {
            *keys = Some((self.fetch_keys().await?, Instant::now()));
        }
        let list = keys.as_ref().map(|(list, _)| list.as_slice()).unwrap_or_default();
        jose::verify(jws, list).map_err(|e| unreadable("JWS", &e))
    }

    async fn fetch_keys(&self) -> Result<Vec<VerifyingKey>, Vec<ApiError>> {
        let request = self.client.get(self.jwks_url.clone());
        let response = self.client.send(FRANCE_CONNECT, request).await.map_err(|e| vec![e])?;
        let (status, body) = http::read(FRANCE_CONNECT, response, self.config.max_body_bytes)
            .await
            .map_err(|e| vec![e])?;
        if status != StatusCode::OK {
            tracing::warn!(%status, "FranceConnect JWKS not available");
            return Err(vec![FRANCE_CONNECT.error(Subcode::Unknown)]);
        }
        let jwks: Value = serde_json::from_slice(&body).map_err(|_| vec![FRANCE_CONNECT.error(Subcode::Unknown)])?;
        let keys = VerifyingKey::from_jwks(&jwks);
        if keys.is_empty() {
            tracing::warn!("FranceConnect JWKS holds no P-256 signature key");
            return Err(vec![FRANCE_CONNECT.error(Subcode::Unknown)]);
        }
        Ok(keys)
    }
}

fn unreadable(layer: &str, error: &JoseError) -> Vec<ApiError> {
    tracing::warn!(layer, error = %error, "FranceConnect answer refused");
    vec![FRANCE_CONNECT.error(Subcode::Unknown)]
}

/// FranceConnect's refusals (`{"error": …}` on 400 or 401); anything else is unknown.
fn refusal(status: StatusCode, body: &str) -> ApiError {
    let error = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_string));
    match (status.as_u16(), error.as_deref()) {
        (400 | 401, Some("invalid_request")) => ApiError::gateway(codes::FC_TOKEN_MALFORMED),
        (400 | 401, Some("invalid_client")) => ApiError::gateway(codes::FC_TOKEN_UNKNOWN),
        _ => {
            tracing::warn!(status = status.as_u16(), error, "FranceConnect check-token failed");
            FRANCE_CONNECT.error(Subcode::Unknown)
        }
    }
}

/// The verified claims' `token_introspection`: active, with the identity pivot.
fn introspection(claims: &Value) -> Result<Checked, Vec<ApiError>> {
    let Some(ti) = claims.get("token_introspection").filter(|v| v.is_object()) else {
        return Err(vec![FRANCE_CONNECT.error(Subcode::Unknown)]);
    };
    if ti["active"] != Value::Bool(true) {
        return Err(vec![ApiError::gateway(codes::FC_TOKEN_UNKNOWN)]);
    }
    let scope = ti["scope"].as_str().unwrap_or_default();
    if !grants_pivot(scope)
        || PROFILE
            .iter()
            .chain(BIRTH)
            .any(|claim| ti.get(*claim).is_none_or(Value::is_null))
    {
        let shown = if scope.is_empty() { "aucun" } else { scope };
        return Err(vec![ApiError::gateway(codes::FC_NO_PIVOT).with_detail(format!(
            "{} Scopes du jeton : {shown}.",
            ApiError::gateway(codes::FC_NO_PIVOT).detail
        ))]);
    }
    Ok(Checked {
        scopes: granted_scopes(scope),
        civility: civility(ti)?,
    })
}

/// The scopes a FranceConnect call runs with: the token's, without any `*_identite*`
/// scope (FranceConnect callers never get identity blocks back).
pub fn granted_scopes(scope: &str) -> HashSet<String> {
    scope
        .split_whitespace()
        .filter(|s| !s.contains("_identite"))
        .map(str::to_string)
        .collect()
}

/// Whether the scopes cover every pivot claim, aliases expanded
/// (`identite_pivot` = `profile` + `birth`).
pub fn grants_pivot(scope: &str) -> bool {
    let mut claims: HashSet<&str> = HashSet::new();
    for s in scope.split_whitespace() {
        match s {
            "identite_pivot" => claims.extend(PROFILE.iter().chain(BIRTH)),
            "profile" => claims.extend(PROFILE),
            "birth" => claims.extend(BIRTH),
            other => {
                claims.insert(other);
            }
        }
    }
    PROFILE.iter().chain(BIRTH).all(|p| claims.contains(p))
}

/// The identity pivot as the providers take it, checked as the identite mode checks
/// names and birth dates (00420–00425).
pub fn civility(ti: &Value) -> Result<Civility, Vec<ApiError>> {
    let text = |name: &str| ti[name].as_str().unwrap_or_default().trim().to_string();
    let mut errors = Vec::new();
    let nom_naissance = text("family_name");
    if !is_name(&nom_naissance) {
        errors.push(
            ApiError::gateway(codes::NOM_MISSING)
                .with_detail("Le nom de naissance donné par FranceConnect est invalide."),
        );
    }
    let given_name = text("given_name");
    let prenoms: Vec<String> = given_name.split_whitespace().map(str::to_string).collect();
    if prenoms.is_empty() || !prenoms.iter().all(|p| is_name(p)) {
        errors.push(
            ApiError::gateway(codes::PRENOMS_MISSING)
                .with_detail("Les prénoms donnés par FranceConnect sont invalides."),
        );
    }
    let naissance = birth_date(&text("birthdate"), &mut errors);
    let commune = text("birthplace");
    let pays = text("birthcountry");
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Civility {
        nom_naissance,
        nom_usage: None,
        prenoms,
        naissance,
        sexe: Some(if ti["gender"] == "male" { Sexe::M } else { Sexe::F }),
        code_pays_naissance: if pays.is_empty() { FRANCE.to_string() } else { pays },
        code_commune_naissance: is_commune_code(&commune).then_some(commune),
        nom_commune_naissance: None,
        code_departement_naissance: None,
    })
}

/// `YYYY-MM-DD`, each part checked in turn as the identite mode does.
fn birth_date(raw: &str, errors: &mut Vec<ApiError>) -> BirthDate {
    let mut parts = raw.splitn(3, '-');
    let mut part = |code: Code, range: std::ops::RangeInclusive<u32>| {
        let value = parts
            .next()
            .and_then(|p| p.parse::<u32>().ok())
            .filter(|v| range.contains(v));
        if value.is_none() {
            errors.push(
                ApiError::gateway(code).with_detail("La date de naissance donnée par FranceConnect est invalide."),
            );
        }
        value
    };
    let annee = part(codes::BIRTH_YEAR_MISSING, 1..=9999).and_then(|v| u16::try_from(v).ok());
    let mois = part(codes::BIRTH_MONTH_MISSING, 1..=12).and_then(|v| u8::try_from(v).ok());
    let jour = part(codes::BIRTH_DAY_MISSING, 1..=31).and_then(|v| u8::try_from(v).ok());
    if let (Some(a), Some(m), Some(j)) = (annee, mois, jour) {
        if NaiveDate::from_ymd_opt(i32::from(a), u32::from(m), u32::from(j)).is_none() {
            errors.push(ApiError::gateway(codes::BIRTH_DATE_INVALID));
        }
    }
    BirthDate { annee, mois, jour }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pivot() -> Value {
        json!({
            "active": true,
            "scope": "openid identite_pivot cnaf_quotient_familial cnous_identite mesri_identite",
            "gender": "female", "family_name": "DUBOIS", "given_name": "Angela Claire Louise",
            "given_name_array": ["Angela", "Claire", "Louise"], "birthdate": "1962-08-24",
            "birthplace": "75107", "birthcountry": "99100"
        })
    }

    fn codes(result: Result<Checked, Vec<ApiError>>) -> Vec<String> {
        result.unwrap_err().into_iter().map(|e| e.code).collect()
    }

    #[test]
    fn identity_and_scopes_of_a_valid_token() {
        let checked = introspection(&json!({"token_introspection": pivot()})).unwrap();
        let c = &checked.civility;
        assert_eq!(c.nom_naissance, "DUBOIS");
        assert_eq!(c.prenoms, ["Angela", "Claire", "Louise"]);
        assert_eq!(c.naissance.formatted(), "1962-08-24");
        assert_eq!(
            (c.sexe, c.code_commune_naissance.as_deref()),
            (Some(Sexe::F), Some("75107"))
        );
        assert_eq!(c.code_pays_naissance, "99100");
        let mut scopes: Vec<_> = checked.scopes.into_iter().collect();
        scopes.sort();
        assert_eq!(scopes, ["cnaf_quotient_familial", "identite_pivot", "openid"]);
    }

    #[test]
    fn inactive_and_missing_pivot() {
        assert_eq!(
            codes(introspection(&json!({"token_introspection": {"active": false}}))),
            ["50002"]
        );
        let mut narrow = pivot();
        narrow["scope"] = json!("openid profile cnaf_quotient_familial");
        let errors = introspection(&json!({"token_introspection": narrow})).unwrap_err();
        assert_eq!(errors[0].code, "50003");
        assert!(
            errors[0].detail.contains("openid profile cnaf_quotient_familial"),
            "{}",
            errors[0].detail
        );
        let mut spelled = pivot();
        spelled["scope"] = json!("openid profile birthplace birthcountry cnaf_quotient_familial");
        assert!(introspection(&json!({"token_introspection": spelled})).is_ok());
        assert_eq!(codes(introspection(&json!({"sub": "x"}))), ["51999"]);
    }

    #[test]
    fn invalid_identity_gives_the_civility_codes() {
        let mut bad = pivot();
        bad["family_name"] = json!("DUB0IS");
        bad["given_name"] = json!("");
        bad["birthdate"] = json!("1962-02-30");
        assert_eq!(
            codes(introspection(&json!({"token_introspection": bad}))),
            ["00420", "00421", "00425"]
        );
        let mut month = pivot();
        month["birthdate"] = json!("1962-13-01");
        assert_eq!(codes(introspection(&json!({"token_introspection": month}))), ["00423"]);
    }

    #[test]
    fn born_abroad_has_no_commune_and_other_genders_are_f() {
        let mut abroad = pivot();
        abroad["birthplace"] = json!("");
        abroad["birthcountry"] = json!("99134");
        abroad["gender"] = json!("male");
        let c = introspection(&json!({"token_introspection": abroad})).unwrap().civility;
        assert_eq!(
            (c.code_commune_naissance, c.code_pays_naissance.as_str(), c.sexe),
            (None, "99134", Some(Sexe::M))
        );
    }

    #[test]
    fn refusals_map_to_the_contract() {
        let code = |status: u16, body: &str| refusal(StatusCode::from_u16(status).unwrap(), body).code;
        assert_eq!(code(400, r#"{"error":"invalid_request"}"#), "50001");
        assert_eq!(code(401, r#"{"error":"invalid_client","error_message":"x"}"#), "50002");
        assert_eq!(code(401, r#"{"error":"other"}"#), "51999");
        assert_eq!(code(500, "oops"), "51999");
    }
}
