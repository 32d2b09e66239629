//! `passerelle keys …`: the keys that sign tokens and answers, straight on the store.

use clap::Subcommand;
use passerelle_tokens::KeyRing;

use crate::run::open_store;
use crate::StoreArgs;

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Adds a signing key. Token keys: tokens issued from now on are signed with it,
    /// older tokens keep working; a running gateway knows the keys it loaded at start,
    /// so restart it before handing out tokens signed with the new key.
    Rotate {
        /// Rotate the key that signs answers instead. It is published at once at each
        /// bouquet's `/api/answers_jwks` and signs from `--activate-in` seconds on;
        /// older answer keys stay published, so stored answers keep verifying.
        #[arg(long)]
        answers: bool,
        /// Seconds before a new answer key signs: longer than the gateways'
        /// `limits.answer_keys_refresh_secs`, so every replica publishes it first.
        #[arg(long, default_value_t = 300, requires = "answers")]
        activate_in: u32,
    },
    /// Lists the keys: kid, purpose, since when each signs.
    List,
}

pub async fn run(command: KeysCommand, store_args: &StoreArgs) -> anyhow::Result<()> {
    let store = open_store(store_args).await?;
    match command {
        KeysCommand::Rotate { answers: false, .. } => {
            let kid = KeyRing::rotate(store.as_ref()).await?;
            println!("new signing key: {kid}");
        }
        KeysCommand::Rotate {
            answers: true,
            activate_in,
        } => {
            let delay = chrono::Duration::seconds(i64::from(activate_in));
            let (kid, from) = passerelle_signature::rotate(store.as_ref(), delay).await?;
            println!("new answer key: {kid}, signing from {}", from.to_rfc3339());
        }
        KeysCommand::List => {
            for key in store.signing_keys().await? {
                println!("{}  {:<8} {}", key.kid, key.purpose, key.created_at.to_rfc3339());
            }
        }
    }
    Ok(())
}
