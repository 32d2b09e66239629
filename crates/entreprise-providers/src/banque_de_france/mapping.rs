//! The Banque de France's answer to API Entreprise's bilans: one item per bilan, its
//! figures in euros (the upstream counts in thousands) shaped like DGFIP liasses
//! (forms 2051, 2052, 2053, 2057 by `code_nref`), then described from the DGFIP
//! dictionary of the bilan's year, and the ratios the Banque de France computes.

use serde_json::{json, Map, Value};

use super::errors::Failure;
use crate::dgfip::Dictionary;

/// The figure of `DETTES3`, as the Banque de France spells it ("Emrunts").
const DETTES3_UPSTREAM: &str = "dettes3EmruntsEtDettesAupresDesEtablissementsdeCredit";
const DETTES3: &str = "dettes3EmpruntsEtDettesAupresDesEtablissementsdeCredit";

/// Each form's lines: `code_nref` and the upstream figure it holds.
const FORMS: [(&str, &[(&str, &str)]); 4] = [
    (
        "2051",
        &[
            ("300476", "totalPassif"),
            ("300438", "capitauxPropresEtAssimiles"),
            ("300414", "dontCapitalSocial"),
            ("302359", "totalProvisionsPourRisquesEtCharges"),
            ("300451", "dettes1EmpruntsObligatairesEtConvertibles"),
            ("300453", "dettes2AutresEmpruntsObligataires"),
            ("300455", DETTES3),
            ("300458", "empruntsEtDettesFinancieresDivers"),
        ],
    ),
    ("2052", &[("300506", "caHT")]),
    ("2053", &[("300606", "resultatExercice")]),
    ("2057", &[("301195", "groupesEtAssocies")]),
];

/// How a computed value is given: euros like the forms, or a percentage as is.
#[derive(Clone, Copy)]
enum Unit {
    Euros,
    Percent,
}

/// The computed values: member, upstream figure, upstream evolution (its own
/// spelling), unit.
const COMPUTED: [(&str, &str, &str, Unit); 9] = [
    (
        "disponibilites",
        "disponibilites",
        "evolutionDisponibilites",
        Unit::Euros,
    ),
    (
        "total_dettes_stables",
        "totalDettesStables",
        "evolutionTotaltotalDettesStables",
        Unit::Euros,
    ),
    (
        "valeur_ajoutee_bdf",
        "valeurAjouteeBdf",
        "evolutionValeurAjouteeBdf",
        Unit::Euros,
    ),
    (
        "besoin_en_fonds_de_roulement",
        "besoinEnFondsDeRoulement",
        "evolutionBesoinEnFondsDeRoulement",
        Unit::Euros,
    ),
    ("excedent_brut_exploitation", "ebe", "evolutionEbe", Unit::Euros),
    ("capacite_autofinancement", "caf", "evolutionCaf", Unit::Euros),
    ("fonds_roulement_net_global", "frng", "evolutionFrng", Unit::Euros),
    (
        "ratio_fonds_roulement_net_global_sur_besoin_en_fonds_de_roulement",
        "frng/bfr",
        "evolutionFrng/Bfr",
        Unit::Percent,
    ),
    (
        "dettes4_maturite_a_un_an_au_plus",
        "dettes4DontAUnAnAuPlus",
        "evolutionDettes4DontAUnAnAuPlus",
        Unit::Euros,
    ),
];

/// One form line: its value in euros and its evolution.
struct Line {
    code_nref: &'static str,
    euros: String,
    evolution: Option<f64>,
}

/// One bilan, read and converted; the dictionary describes it later.
pub struct Bilan {
    pub year: u16,
    annee: String,
    date_arrete: String,
    forms: Vec<(&'static str, Vec<Line>)>,
    computed: Map<String, Value>,
}

/// The answer's bilans; a 404 when the Banque de France has none. The code of its
/// body (`code-retour`) matters only when the bilans are missing.
pub fn read(status: u16, body: &[u8]) -> Result<Vec<Bilan>, Failure> {
    match status {
        200 => {}
        408 | 500 => return Err(Failure::Internal),
        _ => return Err(Failure::Unknown),
    }
    let answer: Value = serde_json::from_slice(body).map_err(|_| Failure::Unknown)?;
    match answer.get("bilans") {
        Some(Value::Array(bilans)) if !bilans.is_empty() => return bilans.iter().map(Bilan::of).collect(),
        Some(Value::Array(_)) | Some(Value::Null) | None => {}
        Some(_) => return Err(Failure::Unknown),
    }
    match answer.get("code-retour").and_then(Value::as_u64) {
        Some(204 | 400) => Err(Failure::NotFound),
        Some(500) => Err(Failure::Internal),
        _ => Err(Failure::Unknown),
    }
}

impl Bilan {
    /// Every bilan is kept, whatever its `dureeExercice` (see the provider's page).
    fn of(item: &Value) -> Result<Bilan, Failure> {
        let item = item.as_object().ok_or(Failure::Unknown)?;
        let date = item.get("dateArrete").and_then(Value::as_str).unwrap_or_default();
        let digits = date.get(..6).filter(|d| d.bytes().all(|b| b.is_ascii_digit()));
        let digits = digits.ok_or(Failure::Unknown)?;
        let (annee, month) = digits.split_at(4);
        let forms = FORMS
            .iter()
            .map(|(number, lines)| Ok((*number, lines.iter().map(|l| line(item, *l)).collect::<Result<_, _>>()?)))
            .collect::<Result<_, Failure>>()?;
        Ok(Bilan {
            year: annee.parse().map_err(|_| Failure::Unknown)?,
            annee: annee.to_string(),
            date_arrete: format!("{annee}-{month}"),
            forms,
            computed: computed(item)?,
        })
    }

    /// The collection item, each line described by `dictionary` (the bilan year's).
    pub fn item(&self, dictionary: &Dictionary) -> Value {
        let declarations: Vec<Value> = self
            .forms
            .iter()
            .map(|(number, lines)| {
                let donnees: Vec<Value> = lines.iter().map(|l| donnee(number, l, dictionary)).collect();
                json!({"numero_imprime": number, "donnees": donnees})
            })
            .collect();
        json!({
            "data": {
                "annee": self.annee,
                "date_arrete_exercice": self.date_arrete,
                "declarations": declarations,
                "valeurs_calculees": [self.computed],
            },
            "links": {},
            "meta": {},
        })
    }
}

fn line(item: &Map<String, Value>, (code_nref, name): (&'static str, &str)) -> Result<Line, Failure> {
    let evolution_name = format!("evolution{}{}", name[..1].to_uppercase(), &name[1..]);
    Ok(Line {
        code_nref,
        euros: euros(figure(item, name)?)?,
        evolution: percent(figure(item, &evolution_name)?)?,
    })
}

/// The dictionary's description of the line, then its own members.
fn donnee(form: &str, line: &Line, dictionary: &Dictionary) -> Value {
    let mut donnee = dictionary.describe(form, line.code_nref).cloned().unwrap_or_default();
    donnee.insert("code_nref".into(), json!(line.code_nref));
    donnee.insert("valeurs".into(), json!([line.euros]));
    donnee.insert("evolution".into(), json!(line.evolution));
    Value::Object(donnee)
}

fn computed(item: &Map<String, Value>) -> Result<Map<String, Value>, Failure> {
    COMPUTED
        .iter()
        .map(|(member, name, evolution, unit)| {
            let raw = figure(item, name)?;
            let valeur = match unit {
                Unit::Euros => json!(euros(raw)?),
                Unit::Percent => json!(percent(raw)?),
            };
            let evolution = percent(figure(item, evolution)?)?;
            Ok((member.to_string(), json!({"valeur": valeur, "evolution": evolution})))
        })
        .collect()
}

/// A figure's text; absent or null is blank. `DETTES3` is also read under the
/// upstream's misspelt name.
fn figure<'a>(item: &'a Map<String, Value>, name: &str) -> Result<&'a str, Failure> {
    let value = item
        .get(name)
        .or_else(|| (name == DETTES3).then(|| item.get(DETTES3_UPSTREAM)).flatten());
    match value {
        None | Some(Value::Null) => Ok(""),
        Some(Value::String(text)) => Ok(text),
        Some(_) => Err(Failure::Unknown),
    }
}

/// The Banque de France writes "-" where a figure cannot be computed.
fn blank(text: &str) -> bool {
    matches!(text.trim(), "" | "-")
}

/// Thousands of euros to euros, exactly, as text: "1234" is "1234000", "9,001" is
/// "9001"; blank is "0". Anything else is not a figure.
pub(crate) fn euros(thousands: &str) -> Result<String, Failure> {
    if blank(thousands) {
        return Ok("0".into());
    }
    let text = thousands.trim();
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = unsigned.split_once(['.', ',']).unwrap_or((unsigned, ""));
    let digits = |s: &str, max: usize| !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole, 15) || !(fraction.is_empty() || digits(fraction, 3)) {
        return Err(Failure::Unknown);
    }
    let whole: i64 = whole.parse().map_err(|_| Failure::Unknown)?;
    let fraction: i64 = format!("{fraction:0<3}").parse().map_err(|_| Failure::Unknown)?;
    let amount = whole * 1000 + fraction;
    Ok(if negative { -amount } else { amount }.to_string())
}

/// "+9.45%" (or "+9,45%") to 9.45, rounded to two decimals; blank is null.
pub(crate) fn percent(text: &str) -> Result<Option<f64>, Failure> {
    if blank(text) {
        return Ok(None);
    }
    let number = text.trim().trim_end_matches('%').trim().replace(',', ".");
    let value: f64 = number.parse().map_err(|_| Failure::Unknown)?;
    if !value.is_finite() {
        return Err(Failure::Unknown);
    }
    Ok(Some((value * 100.0).round() / 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_become_euros_exactly() {
        for (thousands, euros_text) in [
            ("1234", "1234000"),
            ("-987654", "-987654000"),
            ("+12", "12000"),
            ("0", "0"),
            ("-0", "0"),
            ("0012", "12000"),
            ("9.001", "9001"),
            ("9,5", "9500"),
            ("", "0"),
            (" - ", "0"),
        ] {
            assert_eq!(euros(thousands).unwrap(), euros_text, "{thousands}");
        }
        for garbage in ["abc", "12a", "1.2345", "1e3", "--1", "1 234", ".5", "1234567890123456"] {
            assert_eq!(euros(garbage).unwrap_err(), Failure::Unknown, "{garbage}");
        }
    }

    #[test]
    fn evolutions_are_numbers_with_two_decimals() {
        for (text, value) in [
            ("+9.45%", Some(9.45)),
            ("-23.00%", Some(-23.0)),
            ("-2,34%", Some(-2.34)),
            ("101.26%", Some(101.26)),
            ("12.345%", Some(12.35)),
            ("0.00%", Some(0.0)),
            ("", None),
            ("-", None),
        ] {
            assert_eq!(percent(text).unwrap(), value, "{text}");
        }
        for garbage in ["abc%", "inf", "NaN", "1e999"] {
            assert_eq!(percent(garbage).unwrap_err(), Failure::Unknown, "{garbage}");
        }
    }

    #[test]
    fn statuses_and_return_codes() {
        let body = |code: &str, bilans: &str| format!(r#"{{"code-retour": {code}, "bilans": {bilans}}}"#).into_bytes();
        assert!(matches!(read(408, b""), Err(Failure::Internal)));
        assert!(matches!(read(500, b""), Err(Failure::Internal)));
        assert!(matches!(read(404, b""), Err(Failure::Unknown)));
        assert!(matches!(read(200, b"<html>"), Err(Failure::Unknown)));
        assert!(matches!(read(200, &body("204", "null")), Err(Failure::NotFound)));
        assert!(matches!(read(200, &body("400", "[]")), Err(Failure::NotFound)));
        assert!(matches!(read(200, &body("500", "null")), Err(Failure::Internal)));
        assert!(matches!(read(200, &body("200", "null")), Err(Failure::Unknown)));
        assert!(matches!(read(200, &body("204", "\"x\"")), Err(Failure::Unknown)));
        // Bilans present: the return code no longer matters.
        let one = body("500", r#"[{"dateArrete": "202112"}]"#);
        assert_eq!(read(200, &one).unwrap()[0].year, 2021);
    }

    #[test]
    fn a_bilan_needs_its_closing_month() {
        for date in [r#""2021""#, r#""20211a""#, "null", "202112"] {
            let body = format!(r#"{{"bilans": [{{"dateArrete": {date}}}]}}"#);
            assert!(matches!(read(200, body.as_bytes()), Err(Failure::Unknown)), "{date}");
        }
    }
}
