//! `passerelle keys …`: the keys that sign tokens, straight on the store.

use clap::Subcommand;
use passerelle_tokens::KeyRing;

use crate::run::open_store;
use crate::StoreArgs;

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Adds a signing key: tokens issued from now on are signed with it, older tokens
    /// keep working. A running gateway knows the keys it loaded at start: restart it
    /// before handing out tokens signed with the new key.
    Rotate,
}

pub async fn run(command: KeysCommand, store_args: &StoreArgs) -> anyhow::Result<()> {
    let store = open_store(store_args).await?;
    match command {
        KeysCommand::Rotate => {
            let kid = KeyRing::rotate(store.as_ref()).await?;
            println!("new signing key: {kid}");
        }
    }
    Ok(())
}
