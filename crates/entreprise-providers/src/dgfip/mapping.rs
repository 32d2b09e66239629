//! Adélie's payloads to API Entreprise's bodies: chiffres d'affaires, liasses fiscales
//! (each value enriched from the year's dictionary) and liens capitalistiques (read
//! from forms 2059-F and 2059-G by their `code_nref`).

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::errors::Failure;

/// One JSON value or an array of them (Adélie sends a lone item unwrapped).
fn items(value: Option<&Value>) -> Vec<&Value> {
    match value {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(one) => vec![one],
    }
}

/// A scalar as text: Adélie writes some numbers (a `millesime`) unquoted.
fn text(value: Option<&Value>) -> Value {
    match value {
        Some(Value::String(s)) => json!(s),
        Some(Value::Number(n)) => json!(n.to_string()),
        _ => Value::Null,
    }
}

/// `{"liste_ca": [{"ca", "dateFinExercice"}]}` to the collection's items; nothing to
/// list is a 404, a body without the list is unreadable.
pub fn chiffres_affaires(body: &[u8]) -> Result<Vec<Value>, Failure> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Failure::NotFound);
    }
    let parsed: Value = serde_json::from_slice(body).map_err(|_| Failure::Unknown)?;
    if parsed.is_null() {
        return Err(Failure::NotFound);
    }
    let list = parsed
        .get("liste_ca")
        .and_then(Value::as_array)
        .ok_or(Failure::Unknown)?;
    if list.is_empty() {
        return Err(Failure::NotFound);
    }
    Ok(list.iter().map(exercice).collect())
}

fn exercice(item: &Value) -> Value {
    let amount = item.get("ca").and_then(|ca| match ca {
        Value::String(s) => s.trim().parse::<i64>().ok(),
        other => other.as_i64(),
    });
    let end = item
        .get("dateFinExercice")
        .and_then(Value::as_str)
        .and_then(|d| d.get(..10));
    json!({
        "data": {"chiffre_affaires": amount, "date_fin_exercice": end},
        "links": {},
        "meta": {},
    })
}

/// A form's values: for each `code_nref` in order of appearance, its values by
/// repetition index (a plain `valeur` takes the next place; holes stay null).
struct Form {
    values: Vec<(String, Vec<Option<String>>)>,
}

impl Form {
    fn of(declaration: &Value) -> Form {
        let mut values: Vec<(String, Vec<Option<String>>)> = Vec::new();
        let donnees = declaration.get("imprime").and_then(|i| i.get("donnees"));
        for donnee in items(donnees) {
            let Some(code) = text(donnee.get("code_nref")).as_str().map(str::to_string) else {
                continue;
            };
            let at = match values.iter().position(|(c, _)| *c == code) {
                Some(at) => at,
                None => {
                    values.push((code, Vec::new()));
                    values.len() - 1
                }
            };
            let slot = &mut values[at].1;
            if let Some(repeated) = donnee.get("valeurs") {
                let index = text(repeated.get("indiceRepetition"))
                    .as_str()
                    .and_then(|i| i.parse::<usize>().ok())
                    .filter(|i| (1..=MAX_REPETITIONS).contains(i));
                if let Some(index) = index {
                    if slot.len() < index {
                        slot.resize(index, None);
                    }
                    slot[index - 1] = text(repeated.get("valeur")).as_str().map(str::to_string);
                }
            } else {
                slot.push(text(donnee.get("valeur")).as_str().map(str::to_string));
            }
        }
        Form { values }
    }

    fn get(&self, code: &str, index: usize) -> Option<&str> {
        self.values
            .iter()
            .find(|(c, _)| c == code)
            .and_then(|(_, v)| v.get(index))
            .and_then(|v| v.as_deref())
    }

    fn first(&self, code: &str) -> Option<&str> {
        self.get(code, 0)
    }

    /// How many repetitions any of `codes` has.
    fn rows(&self, codes: &[&str]) -> usize {
        self.values
            .iter()
            .filter(|(c, _)| codes.contains(&c.as_str()))
            .map(|(_, v)| v.len())
            .max()
            .unwrap_or(0)
    }

    fn any(&self, code: &str) -> bool {
        self.values
            .iter()
            .any(|(c, v)| c == code && v.iter().any(Option::is_some))
    }
}

/// A form's repeated lines are a few dozen at most: an index past this is not a line.
const MAX_REPETITIONS: usize = 1000;

/// The dictionary of a year: form and `code_nref` to what describes the value.
#[derive(Debug, Default, Clone)]
pub struct Dictionary {
    entries: HashMap<(String, String), Map<String, Value>>,
}

const DICTIONARY_FIELDS: [&str; 5] = ["code", "code_EDI", "code_absolu", "code_type_donnee", "intitule"];

impl Dictionary {
    /// `{"dictionnaire": [{"numero_imprime", "millesimes": {"declaration": [...]}}]}`.
    pub fn parse(body: &[u8]) -> Result<Dictionary, Failure> {
        let parsed: Value = serde_json::from_slice(body).map_err(|_| Failure::Unknown)?;
        let forms = parsed.get("dictionnaire").ok_or(Failure::Unknown)?;
        let mut entries = HashMap::new();
        for form in items(Some(forms)) {
            let Some(number) = form.get("numero_imprime").and_then(Value::as_str) else {
                continue;
            };
            for millesime in items(form.get("millesimes")) {
                for entry in items(millesime.get("declaration")) {
                    let Some(code) = text(entry.get("code_nref")).as_str().map(str::to_string) else {
                        continue;
                    };
                    let fields = DICTIONARY_FIELDS
                        .iter()
                        .filter_map(|f| entry.get(*f).map(|v| (f.to_string(), v.clone())))
                        .collect();
                    entries.entry((number.to_string(), code)).or_insert(fields);
                }
            }
        }
        Ok(Dictionary { entries })
    }

    pub(crate) fn describe(&self, form: &str, code: &str) -> Option<&Map<String, Value>> {
        self.entries.get(&(form.to_string(), code.to_string()))
    }
}

/// The upstream liasse: its declarations (a 404 without any) and its company.
pub struct Liasse {
    declarations: Vec<Value>,
    entreprise: Value,
}

impl Liasse {
    pub fn parse(body: &[u8]) -> Result<Liasse, Failure> {
        let parsed: Value = serde_json::from_slice(body).map_err(|_| Failure::Unknown)?;
        let declarations: Vec<Value> = items(parsed.get("declarations")).into_iter().cloned().collect();
        if declarations.is_empty() {
            return Err(Failure::NotFound);
        }
        let entreprise = parsed.get("entreprise").cloned().unwrap_or(Value::Null);
        Ok(Liasse {
            declarations,
            entreprise,
        })
    }

    /// The liasses fiscales body's `data` and `meta`.
    pub fn liasses(&self, dictionary: &Dictionary) -> (Value, Map<String, Value>) {
        let obligations: Vec<Value> = items(self.entreprise.get("setOcfis"))
            .into_iter()
            .map(obligation)
            .collect();
        let declarations: Vec<Value> = self.declarations.iter().map(|d| declaration(d, dictionary)).collect();
        let mut meta = Map::new();
        meta.insert("internal_id_itip".into(), text(self.entreprise.get("itip")));
        (
            json!({"obligations_fiscales": obligations, "declarations": declarations}),
            meta,
        )
    }

    fn form(&self, number: &str) -> Option<Form> {
        self.declarations
            .iter()
            .find(|d| d.get("numero_imprime").and_then(Value::as_str) == Some(number))
            .map(Form::of)
    }

    /// The liens capitalistiques body's `data`: a 404 without form 2059-F nor 2059-G.
    pub fn liens(&self) -> Result<Value, Failure> {
        let (capital, filiales) = (self.form("2059F"), self.form("2059G"));
        if capital.is_none() && filiales.is_none() {
            return Err(Failure::NotFound);
        }
        let empty = Form { values: Vec::new() };
        Ok(json!({
            "capital": capital_of(capital.as_ref().unwrap_or(&empty)),
            "participations": participations(filiales.as_ref().unwrap_or(&empty)),
        }))
    }
}

fn obligation(ocfi: &Value) -> Value {
    let code = ocfi.get("codeObf").and_then(Value::as_str);
    let libelle = match code {
        Some("IS") => Some("Impôt sur les sociétés"),
        Some("BIC") => Some("Bénéfices industriels et commerciaux"),
        Some("IS GROUPE") => Some("Impôt sur les sociétés dû par le groupe"),
        Some("BA") => Some("Bénéfices agricoles"),
        Some("BNC") => Some("Bénéfices non commerciaux"),
        _ => None,
    };
    // Adélie spells the reference `ROF` or `rof` depending on the call.
    let reference = ocfi.get("ROF").or_else(|| ocfi.get("rof"));
    json!({
        "id": text(ocfi.get("numOcfi")),
        "code": code,
        "libelle": libelle,
        "reference": text(reference),
        "regime": text(ocfi.get("regime")),
    })
}

fn regime_libelle(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "RN" => "Réel normal",
        "RS" | "RSI" => "Réel simplifié",
        "RNMEMBRE" => "Réel normal groupe (membre)",
        "RNGROUPE" => "Réel normal groupe (tête)",
        "DECC" => "Déclaration contrôlée",
        _ => return None,
    })
}

fn declaration(declaration: &Value, dictionary: &Dictionary) -> Value {
    let number = declaration
        .get("numero_imprime")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let code = declaration.get("code_regime").and_then(Value::as_str);
    // "365 jours": the leading number.
    let duree = text(declaration.get("duree_exercice")).as_str().and_then(|d| {
        let digits: String = d.trim().chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u64>().ok()
    });
    let donnees: Vec<Value> = Form::of(declaration)
        .values
        .into_iter()
        .map(|(code_nref, valeurs)| {
            let mut donnee = dictionary.describe(number, &code_nref).cloned().unwrap_or_default();
            donnee.insert("code_nref".into(), json!(code_nref));
            donnee.insert("valeurs".into(), json!(valeurs));
            Value::Object(donnee)
        })
        .collect();
    json!({
        "numero_imprime": number,
        "regime": {"code": code, "libelle": regime_libelle(code)},
        "date_declaration": text(declaration.get("date_declaration")),
        "date_fin_exercice": text(declaration.get("fin_exercice")),
        "duree_exercice": duree,
        "millesime": text(declaration.get("millesime")),
        "donnees": donnees,
    })
}

/// Percentages arrive multiplied by 100: `5100` is 51.0 %.
fn percent(raw: Option<&str>) -> Value {
    raw.and_then(|r| r.trim().parse::<f64>().ok())
        .map_or(Value::Null, |p| json!(p / 100.0))
}

/// Counts (parts, shares, holders) arrive multiplied by 100 too.
fn count(raw: Option<&str>) -> Value {
    raw.and_then(|r| r.trim().parse::<i64>().ok())
        .map_or(Value::Null, |n| json!(n / 100))
}

/// The six address lines of a holder or a subsidiary, from the first of six codes.
fn address(form: &Form, codes: [&str; 6], index: usize) -> Value {
    let [numero, voie, lieu_dit, code_postal, ville, pays] = codes.map(|c| form.get(c, index));
    json!({
        "numero": numero, "voie": voie, "lieu_dit_hameau": lieu_dit,
        "code_postal": code_postal, "ville": ville, "pays": pays,
    })
}

const LEGAL_HOLDER: [&str; 12] = [
    "304859", "304857", "304858", "306875", "304860", "304861", "304862", "304863", "304864", "304865", "304866",
    "304867",
];
const NATURAL_HOLDER: [&str; 15] = [
    "304868", "304869", "306874", "304878", "905900", "905901", "905902", "304870", "304871", "304872", "304873",
    "304874", "304875", "304876", "304877",
];
const LEGAL_ADDRESS: [&str; 6] = ["304862", "304863", "304864", "304865", "304866", "304867"];
const NATURAL_ADDRESS: [&str; 6] = ["304872", "304873", "304874", "304875", "304876", "304877"];
const SUBSIDIARY: [&str; 11] = [
    "304960", "304958", "304959", "306876", "304967", "304961", "304962", "304963", "304964", "304965", "304966",
];
const SUBSIDIARY_ADDRESS: [&str; 6] = ["304961", "304962", "304963", "304964", "304965", "304966"];

/// Row `index` of the form exists when any of `codes` has a value there.
fn filled(form: &Form, codes: &[&str], index: usize) -> bool {
    codes.iter().any(|c| form.get(c, index).is_some())
}

fn capital_of(form: &Form) -> Value {
    let legal = (0..form.rows(&LEGAL_HOLDER)).filter(|i| filled(form, &LEGAL_HOLDER, *i));
    let natural = (0..form.rows(&NATURAL_HOLDER)).filter(|i| filled(form, &NATURAL_HOLDER, *i));
    let mut actionnaires: Vec<Value> = legal.map(|i| legal_holder(form, i)).collect();
    actionnaires.extend(natural.map(|i| natural_holder(form, i)));
    json!({
        "actionnaires": actionnaires,
        "repartition": {
            "personnes_physiques": {"total_actions": count(form.first("309326")), "nombre": count(form.first("309325"))},
            "personnes_morales": {"total_actions": count(form.first("309324")), "nombre": count(form.first("309323"))},
        },
        "depose_neant": form.any("305767"),
    })
}

fn legal_holder(form: &Form, i: usize) -> Value {
    json!({
        "type": "personne_morale",
        "pourcentage": percent(form.get("304861", i)),
        "nombre_parts": count(form.get("304860", i)),
        "personne_physique_attributes": {
            "civilite": null, "nom_patronymique_et_prenoms": null, "nom_marital": null,
            "date_naissance": {"annee": null, "mois": null},
        },
        "personne_morale_attributes": {
            "siren": form.get("304859", i),
            "denomination": form.get("304857", i),
            "complement_denomination": form.get("304858", i),
            "forme_juridique": form.get("306875", i),
        },
        "adresse": address(form, LEGAL_ADDRESS, i),
    })
}

/// The birth date arrives as `YYYYMMDD`; the day and the birth place are not given out.
fn natural_holder(form: &Form, i: usize) -> Value {
    let born = form.get("304878", i).filter(|d| d.len() == 8 && d.is_ascii());
    json!({
        "type": "personne_physique",
        "pourcentage": percent(form.get("304871", i)),
        "nombre_parts": count(form.get("304870", i)),
        "personne_physique_attributes": {
            "civilite": form.get("306874", i),
            "nom_patronymique_et_prenoms": form.get("304868", i),
            "nom_marital": form.get("304869", i),
            "date_naissance": {"annee": born.map(|d| &d[..4]), "mois": born.map(|d| &d[4..6])},
        },
        "personne_morale_attributes": {
            "siren": null, "denomination": null, "complement_denomination": null, "forme_juridique": null,
        },
        "adresse": address(form, NATURAL_ADDRESS, i),
    })
}

fn participations(form: &Form) -> Value {
    let filiales: Vec<Value> = (0..form.rows(&SUBSIDIARY))
        .filter(|i| filled(form, &SUBSIDIARY, *i))
        .map(|i| {
            json!({
                "siren": form.get("304960", i),
                "denomination": form.get("304958", i),
                "complement_denomination": form.get("304959", i),
                "forme_juridique": form.get("306876", i),
                "pourcentage_detention": percent(form.get("304967", i)),
                "adresse": address(form, SUBSIDIARY_ADDRESS, i),
            })
        })
        .collect();
    json!({
        "filiales": filiales,
        "nombre_filiales": count(form.first("309327")),
        "depose_neant": form.any("305768"),
    })
}
