//! `passerelle ip-bans …`: the client IPs the gateways banned, straight on the store.

use chrono::{SecondsFormat, Utc};
use clap::Subcommand;

use crate::run::open_store;
use crate::StoreArgs;

#[derive(Subcommand)]
pub enum IpBansCommand {
    /// The bans in force (with `--all`, every ban ever made, lifted and over too).
    List {
        #[arg(long)]
        all: bool,
    },
    /// Lifts the ban of an IP now; every replica lets it call again within
    /// `ip_limits.bans_refresh_ms`.
    Lift { ip: std::net::IpAddr },
}

pub async fn run(command: IpBansCommand, store_args: &StoreArgs) -> anyhow::Result<()> {
    let store = open_store(store_args).await?;
    let now = Utc::now();
    match command {
        IpBansCommand::List { all } => {
            let bans = store.ip_bans((!all).then_some(now)).await?;
            if bans.is_empty() {
                println!("no IP banned");
            }
            let time = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
            for ban in bans {
                let state = match ban.lifted_at {
                    Some(at) => format!("lifted {}", time(at)),
                    None if ban.until <= now => "over".to_string(),
                    None => "in force".to_string(),
                };
                println!(
                    "{}  banned {}  until {}  {state}  ({})",
                    ban.ip,
                    time(ban.banned_at),
                    time(ban.until),
                    ban.reason
                );
            }
        }
        IpBansCommand::Lift { ip } => match store.lift_ip_ban(&ip.to_string(), now).await? {
            0 => anyhow::bail!("{ip} is not banned"),
            _ => println!("ban of {ip} lifted"),
        },
    }
    Ok(())
}
