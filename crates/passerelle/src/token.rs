//! `passerelle token …`: the operator's token commands, straight on the store (a
//! running gateway sees changes within its token cache delay).

use chrono::Utc;
use clap::Subcommand;
use passerelle_core::Siret;
use passerelle_store::TokenRecord;
use passerelle_tokens::{KeyRing, TokenRequest, TokenState, DEFAULT_DAYS};
use uuid::Uuid;

use crate::run::open_store;
use crate::StoreArgs;

/// The bouquets this binary serves, whose tokens it issues.
const BOUQUETS: &[&str] = &[passerelle_particulier::NAME, passerelle_entreprise::NAME];

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Issues a token; the JWT is the last line printed.
    Issue {
        /// Title of the habilitation (the JWT's `sub`).
        #[arg(long)]
        name: String,
        /// SIRET of the administration that holds the habilitation.
        #[arg(long)]
        siret: String,
        /// The bouquet whose routes the token opens.
        #[arg(long, default_value = passerelle_particulier::NAME)]
        bouquet: String,
        /// Comma-separated scopes, or `all` for every scope the gateway knows.
        #[arg(long)]
        scopes: String,
        #[arg(long, default_value_t = DEFAULT_DAYS)]
        expires_in_days: i64,
        /// Own limit, in calls per minute: instead of 20 per second on API Particulier,
        /// on top of the throttle groups on API Entreprise.
        #[arg(long)]
        rate_limit_per_minute: Option<u32>,
        /// Comma-separated IPs or CIDR blocks allowed to use the token.
        #[arg(long, value_delimiter = ',')]
        allowed_ips: Vec<String>,
        /// The habilitation's data protection officer: citizens whose data the token
        /// fetches see this address on their record, to exercise their rights.
        #[arg(long)]
        dpo_email: Option<String>,
        /// Print the token as the header of an API Particulier v2 key
        /// (`X-Api-Key: …`): the same token opens the /api/v2/ routes.
        #[arg(long)]
        v2: bool,
    },
    /// Lists tokens (never the JWTs).
    List,
    /// Revokes a token at once.
    Revoke { jti: Uuid },
    /// Gives a token a new expiry, `--days` from now (18 months by default).
    Prolong {
        jti: Uuid,
        #[arg(long, default_value_t = DEFAULT_DAYS)]
        days: i64,
    },
}

/// The scopes asked for a token of `bouquet`, each one the bouquet knows.
pub fn parse_scopes(bouquet: &str, raw: &str) -> anyhow::Result<Vec<String>> {
    let known = if bouquet == passerelle_entreprise::NAME {
        passerelle_entreprise::all_scopes()
    } else {
        passerelle_catalogue::all_scopes()
    };
    if raw.trim() == "all" {
        return Ok(known.iter().map(|s| s.to_string()).collect());
    }
    let scopes: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    anyhow::ensure!(!scopes.is_empty(), "--scopes is empty");
    if let Some(unknown) = scopes.iter().find(|s| !known.contains(&s.as_str())) {
        anyhow::bail!("unknown scope `{unknown}` (known: {})", known.join(", "));
    }
    Ok(scopes)
}

pub async fn run(command: TokenCommand, store_args: &StoreArgs) -> anyhow::Result<()> {
    let store = open_store(store_args).await?;
    match command {
        TokenCommand::Issue {
            name,
            siret,
            bouquet,
            scopes,
            expires_in_days,
            rate_limit_per_minute,
            allowed_ips,
            dpo_email,
            v2,
        } => {
            anyhow::ensure!(Siret::parse(&siret).is_some(), "`{siret}` is not a valid SIRET");
            anyhow::ensure!(
                BOUQUETS.contains(&bouquet.as_str()),
                "unknown bouquet `{bouquet}` (known: {})",
                BOUQUETS.join(", ")
            );
            anyhow::ensure!(expires_in_days > 0, "--expires-in-days must be positive");
            anyhow::ensure!(
                dpo_email.as_deref().is_none_or(is_email),
                "--dpo-email: not an e-mail address"
            );
            anyhow::ensure!(
                !v2 || bouquet == passerelle_particulier::NAME,
                "--v2: only API Particulier has v2 keys"
            );
            let keys = KeyRing::load_or_create(store.as_ref()).await?;
            let request = TokenRequest {
                scopes: parse_scopes(&bouquet, &scopes)?,
                name,
                siret,
                bouquet,
                expires_in_days,
                rate_limit_per_minute,
                allowed_ips,
                dpo_email,
            };
            let (record, jwt) = passerelle_tokens::issue(store.as_ref(), &keys, request, Utc::now()).await?;
            println!("jti: {}", record.jti);
            println!("expires: {}", record.expires_at.to_rfc3339());
            if v2 {
                println!("X-Api-Key: {jwt}");
            } else {
                println!("{jwt}");
            }
        }
        TokenCommand::List => print_list(&passerelle_tokens::list(store.as_ref()).await?),
        TokenCommand::Revoke { jti } => {
            passerelle_tokens::revoke(store.as_ref(), jti, Utc::now()).await?;
            println!("revoked {jti}");
        }
        TokenCommand::Prolong { jti, days } => {
            let until = passerelle_tokens::prolong(store.as_ref(), jti, days, Utc::now()).await?;
            println!("{jti} now expires {}", until.to_rfc3339());
        }
    }
    Ok(())
}

fn print_list(tokens: &[TokenRecord]) {
    println!(
        "{:<36}  {:<12}  {:<10}  {:<25}  {:<14}  name / scopes",
        "jti", "bouquet", "state", "expires", "siret"
    );
    let now = Utc::now();
    for t in tokens {
        println!(
            "{:<36}  {:<12}  {:<10}  {:<25}  {:<14}  {} [{}]",
            t.jti,
            t.bouquet,
            TokenState::of(t, now).as_str(),
            t.expires_at.to_rfc3339(),
            t.siret,
            t.name,
            t.scopes.join(",")
        );
    }
}

/// A plausible address: one `@`, a dotted domain, nothing that would break a `mailto:`.
fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    let plain = |part: &str| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c));
    text.len() <= 254 && plain(local) && plain(domain) && domain.contains('.')
}
