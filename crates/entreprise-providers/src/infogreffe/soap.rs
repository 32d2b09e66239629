//! Infogreffe's SOAP 1.1 exchange (rpc/encoded): the envelope asking for one extract,
//! and the reading of the answer, an `<Extrait>` or an in-band error text.

use super::errors::Failure;
use super::xml::{escape, Element};

/// The SOAP action and operation name.
pub const ACTION: &str = "getProduitsWebServicesXML";

/// The subscriber's account, sent inside every request body.
pub struct Account<'a> {
    pub code_abonne: &'a str,
    pub mot_passe: &'a str,
}

/// The envelope asking for the extract of `siren`: the `<demande>` document goes as
/// child elements of `arg0` (not as escaped text), the values inside it escaped.
pub fn envelope(account: &Account<'_>, siren: &str) -> String {
    format!(
        "<soapenv:Envelope xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance' \
xmlns:xsd='http://www.w3.org/2001/XMLSchema' xmlns:soapenv='http://schemas.xmlsoap.org/soap/envelope/' \
xmlns:urn='urn:WebServicesProduits'> <soapenv:Header/> <soapenv:Body> \
<urn:{ACTION} soapenv:encodingStyle='http://schemas.xmlsoap.org/soap/encoding/'> \
<arg0 xsi:type='xsd:string'> <demande> <emetteur> <code_abonne>{}</code_abonne> \
<mot_passe>{}</mot_passe> <code_requete> <type_profil>A</type_profil> \
<origine_emetteur>IC</origine_emetteur> <nature_requete>C</nature_requete> \
<type_document>KB</type_document> <type_requete>S</type_requete> \
<mode_diffusion> <mode type='XL'/> </mode_diffusion> <media>WS</media> </code_requete> \
</emetteur> <commande> <num_siren>{}</num_siren> </commande> </demande> </arg0> \
</urn:{ACTION}> </soapenv:Body> </soapenv:Envelope>\n",
        escape(account.code_abonne),
        escape(account.mot_passe),
        escape(siren),
    )
}

/// The `<Extrait>` of a 200 answer. A success needs an extract whose `num_ident`
/// carries a `siren`; otherwise the text of `return` decides, by its leading code.
pub fn extrait(status: u16, body: &[u8]) -> Result<Element, Failure> {
    if status != 200 {
        return Err(Failure::Unknown);
    }
    let envelope = Element::parse(body).map_err(|_| Failure::Unknown)?;
    let answer = envelope
        .child("Body")
        .and_then(|b| b.child("getProduitsWebServicesXMLResponse"))
        .and_then(|r| r.child("return"))
        .ok_or(Failure::Unknown)?;
    match answer.child("Extrait") {
        Some(extrait) if has_siren(extrait) => Ok(extrait.clone()),
        _ => Err(in_band(answer.text.trim())),
    }
}

fn has_siren(extrait: &Element) -> bool {
    extrait
        .at(&["dossier", "entreprise", "num_ident"])
        .and_then(|n| n.attribute("siren"))
        .is_some()
}

/// An error text `NNN -MESSAGE-`, by its code.
fn in_band(text: &str) -> Failure {
    let digits = text.get(..2).is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()));
    if !digits {
        return Failure::Unknown;
    }
    let code = text.get(..3).unwrap_or(text);
    match code {
        "006" | "008" | "065" | "081" => Failure::NotFound {
            code: code.to_string(),
            message: between_dashes(text),
        },
        "003" => Failure::Identification,
        "014" => Failure::OrderGeneration,
        "999" => Failure::Unavailable,
        _ => Failure::Unknown,
    }
}

/// `006 -DOSSIER NON TROUVE-` → `DOSSIER NON TROUVE`.
fn between_dashes(text: &str) -> String {
    let inner = match (text.find('-'), text.rfind('-')) {
        (Some(first), Some(last)) if first < last => &text[first + 1..last],
        (Some(first), _) => &text[first + 1..],
        _ => text,
    };
    inner.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(inner: &str) -> Vec<u8> {
        format!(
            "<?xml version='1.0' encoding='UTF-8'?><SOAP-ENV:Envelope xmlns:SOAP-ENV='http://schemas.xmlsoap.org/soap/envelope/'>\
<SOAP-ENV:Body><ns0:getProduitsWebServicesXMLResponse xmlns:ns0='urn:local'><return>{inner}</return>\
</ns0:getProduitsWebServicesXMLResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>"
        )
        .into_bytes()
    }

    #[test]
    fn the_envelope_escapes_the_account_and_holds_the_demande_as_elements() {
        let account = Account {
            code_abonne: "ab<c",
            mot_passe: "p&'\"w",
        };
        let sent = envelope(&account, "418166096");
        let root = Element::parse(sent.as_bytes()).unwrap();
        let demande = root.find("demande").unwrap();
        assert_eq!(demande.find("code_abonne").unwrap().text, "ab<c");
        assert_eq!(demande.find("mot_passe").unwrap().text, "p&'\"w");
        assert_eq!(demande.find("num_siren").unwrap().text, "418166096");
        assert_eq!(demande.find("mode").unwrap().attribute("type"), Some("XL"));
    }

    #[test]
    fn in_band_codes_decide_the_failure() {
        let failure = |text: &str| extrait(200, &answer(text)).unwrap_err();
        assert_eq!(
            failure("006 -DOSSIER NON TROUVE DANS LA BASE DE GREFFES-"),
            Failure::NotFound {
                code: "006".into(),
                message: "DOSSIER NON TROUVE DANS LA BASE DE GREFFES".into()
            }
        );
        assert!(matches!(failure("081 -X-"), Failure::NotFound { .. }));
        assert_eq!(failure("003 -X-"), Failure::Identification);
        assert_eq!(failure("014 -X-"), Failure::OrderGeneration);
        assert_eq!(failure("999 -X-"), Failure::Unavailable);
        assert_eq!(failure("042 -X-"), Failure::Unknown);
        assert_eq!(failure("DOSSIER NON TROUVE"), Failure::Unknown);
        assert_eq!(failure(""), Failure::Unknown);
        // An extract without its SIREN is no success either.
        assert_eq!(failure("<Extrait><dossier/></Extrait>"), Failure::Unknown);
    }

    #[test]
    fn only_a_200_carries_an_extract() {
        let body = answer("<Extrait><dossier><entreprise><num_ident siren='1'/></entreprise></dossier></Extrait>");
        assert!(extrait(200, &body).is_ok());
        assert_eq!(extrait(500, &body).unwrap_err(), Failure::Unknown);
    }
}
