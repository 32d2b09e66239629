//! `passerelle verify-answer`: checks a signed answer with the body, its signature and
//! the gateway's published keys, a URL or a saved file (offline).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use passerelle_signature::{verify, Jwks, SIGNATURE_HEADER};

#[derive(Args)]
pub struct Options {
    /// The key set: the bouquet's `/api/answers_jwks` URL, or a file it was saved to.
    #[arg(long)]
    jwks: String,
    /// The answer's body, byte for byte as received.
    #[arg(long)]
    body: PathBuf,
    /// The signature: the `X-JWS-Signature` value, alone or as its header line.
    #[arg(long)]
    signature: PathBuf,
}

/// Key sets are small; a larger answer is not one.
const JWKS_LIMIT: usize = 1024 * 1024;

pub async fn run(options: Options) -> anyhow::Result<()> {
    let jwks = Jwks::parse(&key_set(&options.jwks).await?)?;
    let body = std::fs::read(&options.body)?;
    let signature = std::fs::read_to_string(&options.signature)?;
    let claims = verify(&jwks, &body, header_value(&signature))?;
    println!("signature OK");
    println!("{}", serde_json::to_string_pretty(&claims)?);
    Ok(())
}

/// The JWS, from a file holding it alone or as `X-JWS-Signature: …` (curl -D).
fn header_value(text: &str) -> &str {
    let text = text.trim();
    match text.split_once(':') {
        Some((name, value)) if name.trim().eq_ignore_ascii_case(SIGNATURE_HEADER) => value.trim(),
        _ => text,
    }
}

async fn key_set(source: &str) -> anyhow::Result<String> {
    if !(source.starts_with("http://") || source.starts_with("https://")) {
        return Ok(std::fs::read_to_string(source)?);
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let mut response = client.get(source).send().await?.error_for_status()?;
    let mut text = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        text.extend_from_slice(&chunk);
        anyhow::ensure!(text.len() <= JWKS_LIMIT, "the key set at {source} is larger than 1 MiB");
    }
    Ok(String::from_utf8(text)?)
}

#[cfg(test)]
mod tests {
    use super::header_value;

    #[test]
    fn the_signature_is_read_alone_or_as_a_header_line() {
        assert_eq!(header_value("abc..def\n"), "abc..def");
        assert_eq!(header_value("X-JWS-Signature: abc..def\r\n"), "abc..def");
        assert_eq!(header_value("x-jws-signature:abc..def"), "abc..def");
    }
}
