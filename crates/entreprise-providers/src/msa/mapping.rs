//! MSA's answer → the contract's `data`: `{"status": …}` from the one-letter
//! `topRegMarchePublic`.

use serde_json::{json, Value};

use super::Failure;

/// The messages of MSA's proxy when the service behind it failed.
const PROXY_FAILURES: [&str; 2] = ["502 Bad Gateway", "504 Gateway Timeout"];

/// The `data` of an answer (its status and body), or why there is none. A 200 without
/// `TopRMPResponse` is `10999` (the real gateway crashes on it).
pub fn conformity(status: u16, body: &[u8]) -> Result<Value, Failure> {
    let answer: Option<Value> = serde_json::from_slice(body).ok();
    if proxy_failure(answer.as_ref()) || status == 500 {
        return Err(Failure::Internal);
    }
    if status != 200 {
        return Err(Failure::Unknown);
    }
    let letter = answer
        .as_ref()
        .and_then(|a| a.get("TopRMPResponse"))
        .and_then(|r| r.get("topRegMarchePublic"))
        .and_then(Value::as_str)
        .ok_or(Failure::Unknown)?;
    let status = match letter {
        "O" => "up_to_date",
        "N" => "outdated",
        "A" => "under_investigation",
        "S" => return Err(Failure::NotFound),
        _ => return Err(Failure::Unknown),
    };
    Ok(json!({ "status": status }))
}

fn proxy_failure(answer: Option<&Value>) -> bool {
    answer
        .and_then(|a| a.get("Erreur"))
        .and_then(|e| e.get("Message"))
        .and_then(Value::as_str)
        .is_some_and(|m| PROXY_FAILURES.contains(&m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(letter: &str) -> Vec<u8> {
        json!({"TopRMPResponse": {"identifiantDebiteur": "20005379100014", "topRegMarchePublic": letter}})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn each_letter_has_its_answer() {
        assert_eq!(conformity(200, &body("O")), Ok(json!({"status": "up_to_date"})));
        assert_eq!(conformity(200, &body("N")), Ok(json!({"status": "outdated"})));
        assert_eq!(
            conformity(200, &body("A")),
            Ok(json!({"status": "under_investigation"}))
        );
        assert_eq!(conformity(200, &body("S")), Err(Failure::NotFound));
        assert_eq!(conformity(200, &body("o")), Err(Failure::Unknown));
        assert_eq!(conformity(404, &body("O")), Err(Failure::Unknown));
    }

    #[test]
    fn only_the_proxys_gateway_failures_are_internal() {
        let relayed = br#"{"Erreur": {"Code": "soap:Server", "Message": "504 Gateway Timeout"}}"#;
        assert_eq!(conformity(200, relayed), Err(Failure::Internal));
        let other = br#"{"Erreur": {"Code": "soap:Client", "Message": "Bad Request"}}"#;
        assert_eq!(conformity(400, other), Err(Failure::Unknown));
        assert_eq!(conformity(500, b"oops"), Err(Failure::Internal));
    }
}
