//! INSEE's code tables the mapping turns into labels. The effectif bands, street types
//! and repetition indexes are INSEE's complete lists; the legal categories and NAF
//! labels hold only the codes our simulator's units use plus a few common ones (an
//! unknown code is labelled `non référencé`, as the real gateway does).

/// `(code, de, a, intitulé)` of the Sirene effectif bands.
const TRANCHES: &[(&str, Option<u32>, Option<u32>, &str)] = &[
    ("NN", None, None, "Unités non employeuses"),
    ("00", Some(0), Some(0), "0 salarié"),
    ("01", Some(1), Some(2), "1 ou 2 salariés"),
    ("02", Some(3), Some(5), "3 à 5 salariés"),
    ("03", Some(6), Some(9), "6 à 9 salariés"),
    ("11", Some(10), Some(19), "10 à 19 salariés"),
    ("12", Some(20), Some(49), "20 à 49 salariés"),
    ("21", Some(50), Some(99), "50 à 99 salariés"),
    ("22", Some(100), Some(199), "100 à 199 salariés"),
    ("31", Some(200), Some(249), "200 à 249 salariés"),
    ("32", Some(250), Some(499), "250 à 499 salariés"),
    ("41", Some(500), Some(999), "500 à 999 salariés"),
    ("42", Some(1000), Some(1999), "1 000 à 1 999 salariés"),
    ("51", Some(2000), Some(4999), "2 000 à 4 999 salariés"),
    ("52", Some(5000), Some(9999), "5 000 à 9 999 salariés"),
    ("53", Some(10000), None, "10 000 salariés et plus"),
];

/// The band of `code`: bounds and label; `None` when INSEE does not know it.
pub fn tranche(code: &str) -> Option<(Option<u32>, Option<u32>, &'static str)> {
    TRANCHES
        .iter()
        .find(|(c, ..)| *c == code)
        .map(|(_, de, a, intitule)| (*de, *a, *intitule))
}

const CATEGORIES_JURIDIQUES: &[(&str, &str)] = &[
    ("1000", "Entrepreneur individuel"),
    ("5499", "Société à responsabilité limitée (sans autre indication)"),
    ("5599", "SA à conseil d'administration (s.a.i.)"),
    ("5710", "SAS, société par actions simplifiée"),
    ("6540", "Société civile immobilière"),
    ("7120", "Service central d'un ministère"),
    ("7348", "Commune et commune nouvelle"),
    ("9220", "Association déclarée"),
    ("9230", "Association déclarée, reconnue d'utilité publique"),
    ("9260", "Association de droit local (Bas-Rhin, Haut-Rhin et Moselle)"),
];

pub fn categorie_juridique(code: &str) -> Option<&'static str> {
    CATEGORIES_JURIDIQUES.iter().find(|(c, _)| *c == code).map(|(_, l)| *l)
}

/// NAF rév. 2 labels, keyed without the dot (INSEE writes `88.99B`, some callers `8899B`).
const NAF_REV2: &[(&str, &str)] = &[
    ("4764Z", "Commerce de détail d'articles de sport en magasin spécialisé"),
    ("6201Z", "Programmation informatique"),
    ("7410Z", "Activités spécialisées de design"),
    ("8411Z", "Administration publique générale"),
    ("8899B", "Action sociale sans hébergement n.c.a."),
    ("9499Z", "Autres organisations fonctionnant par adhésion volontaire"),
];

pub fn naf_rev2(code: &str) -> Option<&'static str> {
    let key: String = code.chars().filter(|c| *c != '.').collect();
    NAF_REV2.iter().find(|(c, _)| *c == key).map(|(_, l)| *l)
}

const TYPES_VOIE: &[(&str, &str)] = &[
    ("ALL", "ALLÉE"),
    ("AV", "AVENUE"),
    ("BD", "BOULEVARD"),
    ("CAR", "CARREFOUR"),
    ("CHE", "CHEMIN"),
    ("CHS", "CHAUSSÉE"),
    ("CITE", "CITÉ"),
    ("COR", "CORNICHE"),
    ("CRS", "COURS"),
    ("DOM", "DOMAINE"),
    ("DSC", "DESCENTE"),
    ("ECA", "ÉCART"),
    ("ESP", "ESPLANADE"),
    ("FG", "FAUBOURG"),
    ("GR", "GRANDE RUE"),
    ("HAM", "HAMEAU"),
    ("HLE", "HALLE"),
    ("IMP", "IMPASSE"),
    ("LD", "LIEU-DIT"),
    ("LOT", "LOTISSEMENT"),
    ("MAR", "MARCHÉ"),
    ("MTE", "MONTÉE"),
    ("PAS", "PASSAGE"),
    ("PL", "PLACE"),
    ("PLN", "PLAINE"),
    ("PLT", "PLATEAU"),
    ("PRO", "PROMENADE"),
    ("PRV", "PARVIS"),
    ("QUA", "QUARTIER"),
    ("QUAI", "QUAI"),
    ("RES", "RÉSIDENCE"),
    ("RLE", "RUELLE"),
    ("ROC", "ROCADE"),
    ("RPT", "ROND-POINT"),
    ("RTE", "ROUTE"),
    ("RUE", "RUE"),
    ("SEN", "SENTIER"),
    ("SQ", "SQUARE"),
    ("TPL", "TERRE-PLEIN"),
    ("TRA", "TRAVERSE"),
    ("VLA", "VILLA"),
    ("VLGE", "VILLAGE"),
];

/// The street type spelled out; an unknown code passes through.
pub fn type_voie(code: &str) -> String {
    TYPES_VOIE
        .iter()
        .find(|(c, _)| *c == code)
        .map_or_else(|| code.to_string(), |(_, l)| l.to_string())
}

/// The repetition index spelled out (`B` → `bis`); an unknown one passes through.
pub fn indice_repetition(code: &str) -> String {
    match code {
        "B" => "bis",
        "T" => "ter",
        "Q" => "quater",
        "C" => "quinquies",
        other => other,
    }
    .to_string()
}
