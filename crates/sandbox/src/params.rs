//! The matching rule: a call and a case are compared on their parameters reduced to a
//! canonical form, the same on both sides.
//!
//! - `recipient` is not a parameter of the person: dropped.
//! - `prenoms[]=A&prenoms[]=B` (query) and `prenoms: [A, B]` (YAML) are the same key,
//!   `prenoms`; a list is compared as its items joined by one space, so the list
//!   `[Angela, Claire]` and the text `Angela Claire` are equal (FranceConnect hands out
//!   first names as one space-separated string, and some official cases record them so).
//! - Empty values (blank text, null, empty list) are dropped.
//! - Text is trimmed and lower-cased; numbers are compared as their decimal text, so
//!   YAML's `moisDateNaissance: 8` equals the query's `moisDateNaissance=08` (leading
//!   zeros of an all-digit value do not count, on both sides).
//! - The v2 and misspelt identity names of some official cases
//!   (`anneeDateDeNaissance`, `sexe`, `codeInseeLieuDeNaissance`, `codePaysLieuDaissance`,
//!   …) are their v3 names.
//! - Keys are kept sorted (a `BTreeMap`), so the order of the query does not matter.

use std::collections::BTreeMap;

use passerelle_core::Query;
use serde_yaml::Value as Yaml;

/// Parameters in canonical form, keyed by their name without `[]`.
pub type Params = BTreeMap<String, String>;

/// The call's parameters as the matching rule sees them.
pub fn from_query(query: &Query) -> Params {
    let mut lists: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, value) in query.pairs() {
        let key = key_name(key);
        if key == "recipient" {
            continue;
        }
        lists.entry(key.to_string()).or_default().push(value.clone());
    }
    lists
        .into_iter()
        .filter_map(|(key, values)| Some((key, joined(values.iter().map(String::as_str))?)))
        .collect()
}

/// A case's `params` mapping in canonical form, or why it cannot be compared.
pub fn from_yaml(params: &serde_yaml::Mapping) -> Result<Params, String> {
    let mut out = Params::new();
    for (key, value) in params {
        let Some(key) = key.as_str() else {
            return Err(format!("params: the key {} is not text", describe(key)));
        };
        let key = key_name(key);
        if key == "recipient" {
            continue;
        }
        let value = match value {
            Yaml::Sequence(items) => {
                let items = items
                    .iter()
                    .map(|item| {
                        scalar(item).ok_or_else(|| format!("params.{key}: a list may only hold text or numbers"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                joined(items.iter().flatten().map(String::as_str))
            }
            other => match scalar(other) {
                Some(text) => text.and_then(|t| joined([t.as_str()])),
                None => return Err(format!("params.{key}: a mapping cannot come from a query string")),
            },
        };
        if let Some(value) = value {
            if out.insert(key.to_string(), value).is_some() {
                return Err(format!("params: `{key}` is given twice"));
            }
        }
    }
    Ok(out)
}

/// The query string pairs an integrator writes for a case's `params` (checked by
/// `from_yaml` first): a list repeats `key[]`, numbers are written in decimal.
pub fn to_query(params: &serde_yaml::Mapping) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for (key, value) in params {
        let Some(key) = key.as_str().map(key_name) else {
            continue;
        };
        match value {
            Yaml::Sequence(items) => {
                let items = items.iter().filter_map(|i| scalar(i).flatten());
                pairs.extend(items.map(|i| (format!("{key}[]"), i)));
            }
            other => pairs.extend(scalar(other).flatten().map(|v| (key.to_string(), v))),
        }
    }
    pairs
}

/// Whether a case with `case` parameters answers a call with `call` parameters:
/// the same parameters exactly, or (`within`) the case's parameters all found in the
/// call with the same values.
pub fn matches(case: &Params, call: &Params, within: bool) -> bool {
    if within {
        case.iter().all(|(k, v)| call.get(k) == Some(v))
    } else {
        case == call
    }
}

/// `prenoms[]` and `prenoms` name the same parameter.
fn key_name(key: &str) -> &str {
    let key = key.strip_suffix("[]").unwrap_or(key);
    ALIASES
        .iter()
        .find(|(_, spellings)| spellings.contains(&key))
        .map_or(key, |(name, _)| name)
}

/// Identity names that v2 cases (and some v3 FranceConnect cases) write the v2 way, or
/// with a typo: the identity FranceConnect gives has them under their v3 names, so the
/// case is reached (the official staging reaches it through FranceConnect's test
/// accounts). Both sides of a comparison are read alike, so v2 calls match v2 cases.
const ALIASES: &[(&str, &[&str])] = &[
    ("anneeDateNaissance", &["anneeDateDeNaissance"]),
    ("moisDateNaissance", &["moisDateDeNaissance"]),
    ("jourDateNaissance", &["jourDateDeNaissance"]),
    ("sexeEtatCivil", &["sexe"]),
    ("nomNaissance", &["nomNaissange"]),
    (
        "codeCogInseeCommuneNaissance",
        &["codeInseeLieuDeNaissance", "codeInseeLieuDaissance"],
    ),
    (
        "codeCogInseePaysNaissance",
        &["codePaysLieuDeNaissance", "codePaysLieuDaissance"],
    ),
];

/// Text of a YAML scalar: `Some(None)` for null, `None` for a collection.
fn scalar(value: &Yaml) -> Option<Option<String>> {
    match value {
        Yaml::Null => Some(None),
        Yaml::Bool(b) => Some(Some(b.to_string())),
        Yaml::Number(n) => Some(Some(n.to_string())),
        Yaml::String(s) => Some(Some(s.clone())),
        Yaml::Tagged(tagged) => scalar(&tagged.value),
        Yaml::Sequence(_) | Yaml::Mapping(_) => None,
    }
}

/// The canonical text of one value made of `items`, or `None` when it is empty.
fn joined<'a>(items: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let parts: Vec<String> = items.into_iter().filter_map(canonical).collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

fn canonical(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        let digits = text.trim_start_matches('0');
        return Some(if digits.is_empty() { "0".into() } else { digits.into() });
    }
    Some(text.to_lowercase())
}

fn describe(value: &Yaml) -> String {
    serde_yaml::to_string(value)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn v2_and_misspelt_birth_place_names_are_the_v3_names() {
        let call = from_query(&Query::from_pairs(&[
            ("codeCogInseePaysNaissance", "99100"),
            ("codeCogInseeCommuneNaissance", "75107"),
        ]));
        assert_eq!(
            yaml("codePaysLieuDaissance: '99100'\ncodeInseeLieuDeNaissance: '75107'"),
            call
        );
        assert_eq!(
            yaml("codePaysLieuDeNaissance: 99100\ncodeInseeLieuDaissance: 75107"),
            call
        );
    }

    fn yaml(text: &str) -> Params {
        let value: serde_yaml::Mapping = serde_yaml::from_str(text).unwrap();
        from_yaml(&value).unwrap()
    }

    fn query(pairs: &[(&str, &str)]) -> Params {
        from_query(&Query::from_pairs(pairs))
    }

    #[test]
    fn a_recorded_case_matches_the_call_that_asks_for_it() {
        let case = yaml(
            "codeCogInseeCommuneNaissance: '08480'\nsexeEtatCivil: 'F'\nnomNaissance: 'LEFEBVRE'\n\
             prenoms: ['ALEXIS', 'GÉRÔME', 'JEAN-PHILIPPE']\nanneeDateNaissance: 1982\nmoisDateNaissance: 12\n",
        );
        let call = query(&[
            ("recipient", "13002526500013"),
            ("nomNaissance", "Lefebvre"),
            ("prenoms[]", "alexis"),
            ("prenoms[]", "Gérôme"),
            ("prenoms[]", "Jean-Philippe"),
            ("anneeDateNaissance", "1982"),
            ("moisDateNaissance", "12"),
            ("sexeEtatCivil", "f"),
            ("codeCogInseeCommuneNaissance", "08480"),
            ("nomUsage", ""),
        ]);
        assert!(matches(&case, &call, false));
        assert_eq!(case["prenoms"], "alexis gérôme jean-philippe");
        assert_eq!(case["anneeDateNaissance"], "1982");
    }

    #[test]
    fn one_parameter_more_or_less_is_another_call() {
        let case = yaml("nomNaissance: DUPONT\nanneeDateNaissance: 1982\n");
        let more = query(&[
            ("nomNaissance", "DUPONT"),
            ("anneeDateNaissance", "1982"),
            ("jourDateNaissance", "1"),
        ]);
        let less = query(&[("nomNaissance", "DUPONT")]);
        assert!(!matches(&case, &more, false) && !matches(&case, &less, false));
        assert!(matches(&case, &more, true) && !matches(&case, &less, true));
    }

    #[test]
    fn first_names_as_a_list_or_as_one_text_are_equal() {
        assert_eq!(yaml("prenoms: 'Angela Claire'\n"), yaml("prenoms: [Angela, Claire]\n"));
        assert_eq!(
            query(&[("prenoms", "Angela Claire")]),
            yaml("prenoms: [angela, ' claire ']\n")
        );
    }

    #[test]
    fn unusable_params_are_explained() {
        let nested: serde_yaml::Mapping = serde_yaml::from_str("adresse: {ville: Paris}\n").unwrap();
        assert!(from_yaml(&nested).unwrap_err().contains("params.adresse"));
        let twice: serde_yaml::Mapping = serde_yaml::from_str("prenoms: [A]\nprenoms[]: [B]\n").unwrap();
        assert!(from_yaml(&twice).unwrap_err().contains("twice"));
    }

    fn value() -> impl Strategy<Value = String> {
        "[A-Za-zÉÈéèçÇ' -]{0,12}"
    }

    /// A query value equal to `text` under the rule, written differently.
    fn disguise(text: &str, upper: bool) -> String {
        let cased = if upper {
            text.to_uppercase()
        } else {
            text.to_lowercase()
        };
        format!(" {cased} ")
    }

    proptest! {
        /// A case built from random identities matches the query an integrator writes
        /// for it, whatever the case, the order of keys and `recipient`.
        #[test]
        fn cases_match_their_query(
            name in value(),
            first in prop::collection::vec(value(), 0..4),
            year in 1900u32..2030,
            month in 1u32..13,
            code in "[0-9]{5}",
            upper in any::<bool>(),
            reversed in any::<bool>(),
        ) {
            let text = format!(
                "nomNaissance: {name:?}\nprenoms: {first:?}\nanneeDateNaissance: {year}\nmoisDateNaissance: {month}\ncodeCogInseeCommuneNaissance: '{code}'\n"
            );
            let case = yaml(&text);
            let written: serde_yaml::Mapping = serde_yaml::from_str(&text).unwrap();
            prop_assert_eq!(from_query(&Query::new(to_query(&written))), case.clone());
            let mut pairs = vec![
                ("recipient".to_string(), "13002526500013".to_string()),
                ("nomNaissance".to_string(), disguise(&name, upper)),
                ("anneeDateNaissance".to_string(), year.to_string()),
                ("moisDateNaissance".to_string(), format!("{month:02}")),
                ("codeCogInseeCommuneNaissance".to_string(), code.clone()),
            ];
            if reversed {
                pairs.reverse();
            }
            // First names keep their order: it is part of the identity.
            pairs.extend(first.iter().map(|f| ("prenoms[]".to_string(), disguise(f, !upper))));
            let call = from_query(&Query::new(pairs));
            prop_assert!(matches(&case, &call, false), "{case:?} vs {call:?}");
            prop_assert!(matches(&case, &call, true));
        }

        /// Changing one value (to text that differs beyond case and blanks) breaks the match.
        #[test]
        fn another_value_does_not_match(name in "[a-z]{1,10}", other in "[a-z]{1,10}", year in 1900u32..2030) {
            prop_assume!(name != other);
            let case = yaml(&format!("nomNaissance: {name}\nanneeDateNaissance: {year}\n"));
            let call = query(&[("nomNaissance", &other), ("anneeDateNaissance", &year.to_string())]);
            prop_assert!(!matches(&case, &call, false));
            prop_assert!(!matches(&case, &call, true));
        }

        /// Canonical form is stable: applying the rule to its own output changes nothing.
        #[test]
        fn the_rule_is_idempotent(pairs in prop::collection::vec(("[a-zA-Z]{1,6}(\\[\\])?", "[ a-zA-Z0-9é]{0,8}"), 0..8)) {
            let once = from_query(&Query::new(pairs));
            let again: Vec<(String, String)> = once.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            prop_assert_eq!(from_query(&Query::new(again)), once);
        }
    }
}
