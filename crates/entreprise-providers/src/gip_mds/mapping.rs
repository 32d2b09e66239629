//! The RCD answer (a JSON array, one object per regime and period) → the contract's
//! `data`. Every member the mapping needs is checked: a malformed one is `31999`.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use passerelle_providers::http;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::errors::{Failure, GIP_MDS};

/// One headcount, read and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    regime: &'static str,
    annee: String,
    mois: String,
    nature: &'static str,
    /// `None` when the upstream says `NC` (no headcount in this regime).
    value: Option<Value>,
    updated: Option<String>,
}

/// The items of an answer, or what its status or body means.
pub fn answer(status: StatusCode, body: &[u8], now: DateTime<Utc>) -> Result<Vec<Item>, Failure> {
    if let Some(error) = http::soft_status_error(GIP_MDS, status) {
        return Err(error.into());
    }
    match status.as_u16() {
        200 => items(body),
        204 | 404 => Err(Failure::NotFound),
        401 | 403 => Err(Failure::Authentication),
        429 => Err(quota(body, now)),
        500 => Err(Failure::Internal),
        _ if technical(body) => Err(Failure::Technical),
        _ => Err(Failure::Unknown),
    }
}

fn technical(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body).is_ok_and(|v| v.get("code").and_then(Value::as_str) == Some("KO_TECHNIQUE"))
}

/// Both regimes must be there; a list where every headcount is `NC` means nothing known.
fn items(body: &[u8]) -> Result<Vec<Item>, Failure> {
    if technical(body) {
        return Err(Failure::Technical);
    }
    let list: Vec<Value> = serde_json::from_slice(body).map_err(|_| Failure::Unknown)?;
    let items = list
        .iter()
        .map(item)
        .collect::<Option<Vec<_>>>()
        .ok_or(Failure::Unknown)?;
    for regime in [AGRICOLE, GENERAL] {
        if !items.iter().any(|i| i.regime == regime) {
            return Err(Failure::Unknown);
        }
    }
    if items.iter().all(|i| i.value.is_none()) {
        return Err(Failure::NotFound);
    }
    Ok(items)
}

const AGRICOLE: &str = "regime_agricole";
const GENERAL: &str = "regime_general";

fn item(raw: &Value) -> Option<Item> {
    let regime = match raw.get("source")?.as_str()? {
        "RA" => AGRICOLE,
        "RG" => GENERAL,
        _ => return None,
    };
    let periode = raw.get("periode")?.as_str()?;
    if periode.len() != 8 || !periode.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDate::parse_from_str(periode, "%Y%m%d").ok()?;
    let nature = nature(raw.get("nature")?.as_str()?)?;
    let (value, updated) = match raw.get("effectifs")? {
        Value::String(nc) if nc == "NC" => (None, None),
        other => (Some(headcount(other)?), Some(date(raw.get("miseAJourRCD")?)?)),
    };
    Some(Item {
        regime,
        annee: periode[..4].to_string(),
        mois: periode[4..6].to_string(),
        nature,
        value,
        updated,
    })
}

fn nature(code: &str) -> Option<&'static str> {
    Some(match code {
        "A01" => "effectif_moyen_annuel",
        "A02" => "effectif_boeth_annuel",
        "A03" => "effectif_ecap_annuel",
        "A04" => "effectif_assujettissement_oeth_annuel",
        "M01" => "effectif_moyen_mensuel",
        "M02" => "effectif_boeth_mensuel",
        "M03" => "effectif_ecap_mensuel",
        "M04" => "effectif_assujettissement_oeth_mensuel",
        _ => return None,
    })
}

/// `"12.34"` (or a JSON number) as a number; whole values stay integers, as the
/// contract's examples write them.
fn headcount(raw: &Value) -> Option<Value> {
    let number = match raw {
        Value::String(text) => text.trim().parse::<f64>().ok()?,
        Value::Number(n) => n.as_f64()?,
        _ => return None,
    };
    if !number.is_finite() || number < 0.0 {
        return None;
    }
    if number.fract() == 0.0 && number < 1e15 {
        return Some(json!(number as u64));
    }
    Some(json!(number))
}

fn date(raw: &Value) -> Option<String> {
    let text = raw.as_str()?;
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(text.to_string())
}

/// The 429 body is a form (`code=900803&message=…&nextAccessTime=2023-Oct-12
/// 20:43:00+0000 UTC`): the caller may retry at `nextAccessTime`, a UTC time.
fn quota(body: &[u8], now: DateTime<Utc>) -> Failure {
    let text = String::from_utf8_lossy(body);
    let Ok(url) = reqwest::Url::parse(&format!("http://form/?{}", text.trim())) else {
        return Failure::Unknown;
    };
    let next = url
        .query_pairs()
        .find(|(key, _)| key == "nextAccessTime")
        .and_then(|(_, value)| {
            // The offset after the seconds is always +0000; a form decoder reads its
            // `+` as a space, so only the date and time are read.
            let head = value.get(..20)?.to_string();
            NaiveDateTime::parse_from_str(&head, "%Y-%b-%d %H:%M:%S").ok()
        });
    match next {
        Some(at) => Failure::Quota {
            retry_in: (at.and_utc() - now).num_seconds().max(0),
        },
        None => Failure::Unknown,
    }
}

/// The annual `data`: the year is the first item's.
pub fn annual(siren: &str, items: &[Item]) -> Value {
    let list: Vec<Value> = items
        .iter()
        .map(|i| {
            json!({
                "regime": i.regime,
                "nature": i.nature,
                "value": i.value,
                "date_derniere_mise_a_jour": i.updated,
            })
        })
        .collect();
    json!({
        "siren": siren,
        "annee": items.first().map(|i| i.annee.as_str()),
        "effectifs_annuel": list,
    })
}

/// The monthly `data`: one entry per regime and month, in the upstream's order.
pub fn monthly(siret: &str, items: &[Item]) -> Value {
    let list: Vec<Value> = items
        .iter()
        .map(|i| {
            json!({
                "regime": i.regime,
                "annee": i.annee,
                "mois": i.mois,
                "nature": i.nature,
                "value": i.value,
                "date_derniere_mise_a_jour": i.updated,
            })
        })
        .collect();
    json!({"siret": siret, "effectifs_mensuels": list})
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2023, 10, 12, 20, 42, 0).unwrap()
    }

    fn valid() -> Value {
        json!([
            {"siren": "130025265", "periode": "20221231", "nature": "A01", "source": "RG",
             "effectifs": "12.34", "miseAJourRCD": "2023-01-10"},
            {"siren": "130025265", "periode": "20221231", "nature": "A01", "source": "RA",
             "effectifs": "NC"}
        ])
    }

    fn map(body: &[u8]) -> Result<Value, Failure> {
        answer(StatusCode::OK, body, now()).map(|items| annual("130025265", &items))
    }

    #[test]
    fn a_valid_answer_maps_to_the_contract() {
        let data = map(valid().to_string().as_bytes()).unwrap();
        assert_eq!(
            data,
            json!({"siren": "130025265", "annee": "2022", "effectifs_annuel": [
                {"regime": "regime_general", "nature": "effectif_moyen_annuel", "value": 12.34,
                 "date_derniere_mise_a_jour": "2023-01-10"},
                {"regime": "regime_agricole", "nature": "effectif_moyen_annuel", "value": null,
                 "date_derniere_mise_a_jour": null}
            ]})
        );
    }

    #[test]
    fn whole_headcounts_stay_integers() {
        assert_eq!(headcount(&json!("12")), Some(json!(12)));
        assert_eq!(headcount(&json!("0.5")), Some(json!(0.5)));
        assert_eq!(headcount(&json!("douze")), None);
        assert_eq!(headcount(&json!("-1")), None);
        assert_eq!(headcount(&json!("NaN")), None);
    }

    #[test]
    fn the_quota_body_gives_the_seconds_until_the_next_access() {
        let body = b"code=900803&message=Message+throttled+out&description=You+have+exceeded+your+quota&nextAccessTime=2023-Oct-12 20:43:00+0000 UTC";
        assert_eq!(quota(body, now()), Failure::Quota { retry_in: 60 });
        let later = now() + chrono::Duration::minutes(5);
        assert_eq!(quota(body, later), Failure::Quota { retry_in: 0 });
        assert_eq!(quota(b"code=900803", now()), Failure::Unknown);
    }

    #[test]
    fn an_unknown_source_or_nature_is_unknown() {
        for (member, bad) in [
            ("source", "RX"),
            ("nature", "A09"),
            ("periode", "2022-12-31"),
            ("periode", "20221331"),
        ] {
            let mut body = valid();
            body[0][member] = json!(bad);
            assert_eq!(
                map(body.to_string().as_bytes()).unwrap_err().into_error().code,
                "31999",
                "{member}"
            );
        }
    }

    /// `value` without the member at the JSON pointer `pointer`.
    fn without(value: &Value, pointer: &str) -> Value {
        let mut copy = value.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        match copy.pointer_mut(parent).unwrap() {
            Value::Object(object) => {
                object.remove(key);
            }
            Value::Array(items) => {
                items.remove(key.parse::<usize>().unwrap());
            }
            _ => unreachable!(),
        }
        copy
    }

    proptest! {
        /// Empty, cut short, or missing a member the mapping reads: `31999` (502),
        /// never data, never a panic.
        #[test]
        fn incomplete_bodies_are_31999(cut in 0usize..10_000, pick in 0usize..64) {
            let required = [
                "/0/source", "/0/periode", "/0/nature", "/0/effectifs", "/0/miseAJourRCD",
                "/1/source", "/1/periode", "/1/nature", "/1/effectifs", "/0", "/1",
            ];
            let text = valid().to_string();
            prop_assert!(map(text.as_bytes()).is_ok());
            let bodies = [
                b"{}".to_vec(),
                b"[]".to_vec(),
                text.as_bytes()[..cut % text.len()].to_vec(),
                without(&valid(), required[pick % required.len()]).to_string().into_bytes(),
            ];
            for body in bodies {
                let error = map(&body).unwrap_err().into_error();
                prop_assert_eq!((error.code.as_str(), error.status()), ("31999", 502));
            }
        }
    }
}
