//! The SAML 2.0 assertion the SIV wants in the SOAP header, signed (enveloped XML-DSig,
//! exclusive canonicalisation, RSA-SHA256) with the key of the client certificate.
//!
//! The assertion is written directly in its canonical form (attributes in order, no
//! whitespace between elements, explicit end tags, namespaces declared where used), so
//! the digest and the signature are computed over exactly the bytes a verifier's
//! exclusive canonicalisation produces, without a general canonicaliser.

use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use sha2::{Digest, Sha256};

use super::xml::{attribute, text};

const SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

/// The gateway's signing identity: its RSA key and its certificate (DER).
pub struct Signer {
    key: RsaKeyPair,
    certificate: Vec<u8>,
    rng: SystemRandom,
}

impl Signer {
    /// From PEM text holding the certificate (first `CERTIFICATE` block) and the RSA
    /// key (`PRIVATE KEY` in PKCS#8 or `RSA PRIVATE KEY` in PKCS#1).
    pub fn from_pem(pem: &str) -> anyhow::Result<Signer> {
        let blocks = pem_blocks(pem)?;
        let find = |label: &str| blocks.iter().find(|(l, _)| l == label).map(|(_, der)| der.as_slice());
        let certificate = find("CERTIFICATE").context("no CERTIFICATE block")?.to_vec();
        let key = if let Some(der) = find("PRIVATE KEY") {
            RsaKeyPair::from_pkcs8(der).map_err(|e| anyhow::anyhow!("RSA key (PKCS#8): {e}"))?
        } else if let Some(der) = find("RSA PRIVATE KEY") {
            RsaKeyPair::from_der(der).map_err(|e| anyhow::anyhow!("RSA key (PKCS#1): {e}"))?
        } else {
            bail!("no RSA private key block");
        };
        Ok(Signer {
            key,
            certificate,
            rng: SystemRandom::new(),
        })
    }

    fn sign(&self, data: &[u8]) -> anyhow::Result<Vec<u8>> {
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &self.rng, data, &mut signature)
            .map_err(|_| anyhow::anyhow!("RSA signature failed"))?;
        Ok(signature)
    }
}

fn pem_blocks(pem: &str) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut blocks = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in pem.lines().map(str::trim) {
        if let Some(label) = line.strip_prefix("-----BEGIN ").and_then(|l| l.strip_suffix("-----")) {
            current = Some((label.to_string(), String::new()));
        } else if line.starts_with("-----END ") {
            let (label, body) = current.take().context("END without BEGIN")?;
            blocks.push((label, STANDARD.decode(body).context("PEM body is not base64")?));
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
        }
    }
    Ok(blocks)
}

/// What the assertion says: who vouches for the call (the concentrator) and when.
pub struct Assertion<'a> {
    pub id: String,
    pub issuer: &'a str,
    pub code_concentrateur: &'a str,
    pub now: DateTime<Utc>,
}

impl Assertion<'_> {
    /// `_` and 32 random hexadecimal digits, as the SIV expects.
    pub fn new_id() -> String {
        format!("_{:032x}", rand::random::<u128>())
    }

    /// The assertion, signed when a signer is given.
    pub fn to_xml(&self, signer: Option<&Signer>) -> anyhow::Result<String> {
        let (head, tail) = self.parts();
        let Some(signer) = signer else {
            return Ok(format!("{head}{tail}"));
        };
        let digest = STANDARD.encode(Sha256::digest(format!("{head}{tail}").as_bytes()));
        let signed_info = signed_info(&self.id, &digest);
        let signature = STANDARD.encode(signer.sign(signed_info.as_bytes())?);
        let certificate = STANDARD.encode(&signer.certificate);
        Ok(format!(
            "{head}<ds:Signature xmlns:ds=\"{DSIG}\">{signed_info}<ds:SignatureValue>{signature}</ds:SignatureValue>\
             <ds:KeyInfo><ds:X509Data><ds:X509Certificate>{certificate}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>\
             </ds:Signature>{tail}"
        ))
    }

    /// The assertion before and after the place of its signature (after the issuer).
    fn parts(&self) -> (String, String) {
        let instant = self.now.to_rfc3339_opts(SecondsFormat::Secs, true);
        let until = (self.now + Duration::seconds(600)).to_rfc3339_opts(SecondsFormat::Secs, true);
        let issuer = text(self.issuer);
        let head = format!(
            "<saml:Assertion xmlns:saml=\"{SAML}\" ID=\"{id}\" IssueInstant=\"{instant}\" Version=\"2.0\">\
             <saml:Issuer Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:entity\">{issuer}</saml:Issuer>",
            id = attribute(&self.id),
        );
        let tail = format!(
            "<saml:Subject><saml:NameID Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified\">{issuer}</saml:NameID>\
             <saml:SubjectConfirmation Method=\"urn:oasis:names:tc:SAML:2.0:cm:sender-vouches\"></saml:SubjectConfirmation>\
             </saml:Subject><saml:Conditions NotBefore=\"{instant}\" NotOnOrAfter=\"{until}\"></saml:Conditions>\
             <saml:AuthnStatement AuthnInstant=\"{instant}\"><saml:AuthnContext>\
             <saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:XMLDSig</saml:AuthnContextClassRef>\
             </saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement><saml:Attribute Name=\"CodePartenaire\">\
             <saml:AttributeValue>{code}</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion>",
            code = text(self.code_concentrateur),
        );
        (head, tail)
    }
}

/// `SignedInfo` in canonical form, its namespace declared on itself as exclusive
/// canonicalisation renders it.
fn signed_info(id: &str, digest: &str) -> String {
    format!(
        "<ds:SignedInfo xmlns:ds=\"{DSIG}\"><ds:CanonicalizationMethod Algorithm=\"{EXC_C14N}\"></ds:CanonicalizationMethod>\
         <ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"></ds:SignatureMethod>\
         <ds:Reference URI=\"#{id}\"><ds:Transforms>\
         <ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"></ds:Transform>\
         <ds:Transform Algorithm=\"{EXC_C14N}\"></ds:Transform></ds:Transforms>\
         <ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"></ds:DigestMethod>\
         <ds:DigestValue>{digest}</ds:DigestValue></ds:Reference></ds:SignedInfo>",
        id = attribute(id),
    )
}

/// The signature element of a signed assertion, and the assertion without it.
fn split_signature(assertion: &str) -> Result<(&str, String), &'static str> {
    let start = assertion.find("<ds:Signature ").ok_or("unsigned assertion")?;
    let end = assertion.find("</ds:Signature>").ok_or("unterminated signature")? + "</ds:Signature>".len();
    Ok((
        &assertion[start..end],
        format!("{}{}", &assertion[..start], &assertion[end..]),
    ))
}

fn between<'a>(xml: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let from = xml.find(open)? + open.len();
    let to = xml[from..].find(close)? + from;
    Some(&xml[from..to])
}

/// Checks that the digest of an assertion signed as `to_xml` does is the one of the
/// assertion without its signature (what the simulator can check without the key).
pub fn check_digest(assertion: &str) -> Result<(), &'static str> {
    let (signature, unsigned) = split_signature(assertion)?;
    let digest = between(signature, "<ds:DigestValue>", "</ds:DigestValue>").ok_or("no digest")?;
    if STANDARD.encode(Sha256::digest(unsigned.as_bytes())) != digest {
        return Err("digest mismatch");
    }
    Ok(())
}

/// Checks the digest, then the RSA-SHA256 signature of `SignedInfo` under
/// `public_key` (DER `RSAPublicKey`).
#[cfg(test)]
pub fn verify(assertion: &str, public_key: &[u8]) -> Result<(), &'static str> {
    check_digest(assertion)?;
    let (signature, _) = split_signature(assertion)?;
    let info_start = signature.find("<ds:SignedInfo").ok_or("no SignedInfo")?;
    let info_end = signature.find("</ds:SignedInfo>").ok_or("no SignedInfo")? + "</ds:SignedInfo>".len();
    let value = between(signature, "<ds:SignatureValue>", "</ds:SignatureValue>").ok_or("no signature value")?;
    let value = STANDARD.decode(value).map_err(|_| "signature is not base64")?;
    ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, public_key)
        .verify(&signature.as_bytes()[info_start..info_end], &value)
        .map_err(|_| "bad signature")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ants::xml::Node;

    /// A throw-away key and self-signed certificate made for these tests only.
    const TEST_PEM: &str = include_str!("test_signer.pem");

    fn assertion() -> Assertion<'static> {
        Assertion {
            id: "_0123456789abcdef0123456789abcdef".into(),
            issuer: "passerelle & co",
            code_concentrateur: "C0NC",
            now: DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z").unwrap().to_utc(),
        }
    }

    #[test]
    fn unsigned_assertion_carries_the_attributes() {
        let xml = assertion().to_xml(None).unwrap();
        let node = Node::parse(&xml).unwrap();
        assert_eq!(node.name, "Assertion");
        assert_eq!(node.text_of("Issuer"), Some("passerelle & co"));
        assert_eq!(node.text_of("AttributeValue"), Some("C0NC"));
        assert!(xml.contains("NotBefore=\"2026-11-22T10:00:00Z\" NotOnOrAfter=\"2026-11-22T10:10:00Z\""));
        assert!(xml.contains("sender-vouches") && xml.contains("ac:classes:XMLDSig"));
        assert!(verify(&xml, &[]).is_err());
    }

    #[test]
    fn signed_assertion_verifies_and_tampering_is_caught() {
        let signer = Signer::from_pem(TEST_PEM).unwrap();
        let xml = assertion().to_xml(Some(&signer)).unwrap();
        let public = signer.key.public().as_ref().to_vec();
        assert_eq!(verify(&xml, &public), Ok(()));
        assert!(Node::parse(&xml).unwrap().text_of("X509Certificate").is_some());
        let tampered = xml.replace("C0NC", "C0ND");
        assert_eq!(verify(&tampered, &public), Err("digest mismatch"));
        let forged = xml.replace("#_0123", "#_9123");
        assert_eq!(verify(&forged, &public), Err("bad signature"));
    }

    #[test]
    fn pem_without_key_is_refused() {
        let certificate_only: String = TEST_PEM
            .split_inclusive("-----END CERTIFICATE-----")
            .next()
            .unwrap()
            .to_string();
        assert!(Signer::from_pem(&certificate_only).is_err());
        assert!(Signer::from_pem("nothing").is_err());
    }
}
