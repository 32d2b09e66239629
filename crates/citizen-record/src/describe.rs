//! A journal row told in plain French: when, which administration, what was asked,
//! what came of it. Never the data: the journal does not hold it.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use chrono_tz::Europe::Paris;
use passerelle_bouquet::Endpoint;
use passerelle_store::{CallerId, JournalRow, Store, TokenRecord};

pub type Named<'a> = Pin<Box<dyn Future<Output = Option<String>> + Send + 'a>>;

/// Names organisations by SIRET (INSEE Sirene in a deployment), so that the citizen
/// reads "Mairie de …" rather than fourteen digits.
pub trait Directory: Send + Sync {
    fn name<'a>(&'a self, siret: &'a str) -> Named<'a>;
}

/// No directory: the SIRET alone.
impl Directory for () {
    fn name<'a>(&'a self, _siret: &'a str) -> Named<'a> {
        Box::pin(async { None })
    }
}

/// One call about the citizen, as the page, the CSV and the PDF show it.
#[derive(Debug, Clone)]
pub struct Line {
    pub when: String,
    pub siret: String,
    pub organisation: Option<String>,
    pub project: Option<String>,
    /// Where to exercise one's rights: the habilitation's data protection officer.
    pub dpo: Option<String>,
    pub asked: String,
    pub blocks: Vec<String>,
    pub how: &'static str,
    pub outcome: &'static str,
    pub request_id: String,
}

impl Line {
    /// The administration as one phrase.
    pub fn who(&self) -> String {
        match &self.organisation {
            Some(name) => format!("{name} (SIRET {})", self.siret),
            None => format!("SIRET {}", self.siret),
        }
    }
}

/// The rows told, with the tokens and names they need looked up once each.
pub async fn lines(rows: &[JournalRow], store: &dyn Store, directory: &dyn Directory) -> Vec<Line> {
    let endpoints = passerelle_catalogue::all();
    let mut tokens: HashMap<uuid::Uuid, Option<TokenRecord>> = HashMap::new();
    let mut names: HashMap<String, Option<String>> = HashMap::new();
    let mut lines = Vec::with_capacity(rows.len());
    for row in rows {
        let token = match &row.caller {
            Some(CallerId::Token(jti)) => {
                if !tokens.contains_key(jti) {
                    tokens.insert(*jti, store.token(*jti).await.ok().flatten());
                }
                tokens[jti].as_ref()
            }
            _ => None,
        };
        let siret = row.purpose.get("recipient").cloned().unwrap_or_default();
        if !names.contains_key(&siret) {
            names.insert(siret.clone(), directory.name(&siret).await);
        }
        let organisation = names[&siret].clone();
        lines.push(line(row, &endpoints, token, siret, organisation));
    }
    if lines.iter().any(|l| l.dpo.is_none()) {
        fill_dpo_by_siret(&mut lines, store).await;
    }
    lines
}

/// A call without a token of its own (FranceConnect) or whose token names no DPO: the
/// DPO another habilitation of the same organisation names.
async fn fill_dpo_by_siret(lines: &mut [Line], store: &dyn Store) {
    let Ok(tokens) = store.tokens().await else { return };
    for line in lines.iter_mut().filter(|l| l.dpo.is_none()) {
        line.dpo = tokens
            .iter()
            .filter(|t| t.siret == line.siret && t.bouquet == passerelle_store::PARTICULIER)
            .find_map(|t| t.dpo_email.clone());
    }
}

fn line(
    row: &JournalRow,
    endpoints: &[&'static Endpoint],
    token: Option<&TokenRecord>,
    siret: String,
    organisation: Option<String>,
) -> Line {
    let endpoint = endpoints
        .iter()
        .find(|e| e.versions.iter().any(|v| e.public_path(*v) == row.endpoint));
    let asked = endpoint.map_or_else(|| row.endpoint.clone(), |e| e.title.to_string());
    let blocks = match (endpoint, token) {
        (Some(e), Some(t)) => blocks(e, &t.scopes),
        _ => Vec::new(),
    };
    Line {
        when: row.at.with_timezone(&Paris).format("%d/%m/%Y à %H:%M").to_string(),
        siret,
        organisation,
        project: token.map(|t| t.name.clone()),
        dpo: token.and_then(|t| t.dpo_email.clone()),
        asked,
        blocks,
        how: match row.caller {
            Some(CallerId::Citizen(_)) => "Avec votre accord, par FranceConnect",
            _ => "Par votre identité (nom, prénoms, date de naissance)",
        },
        outcome: outcome(row.status),
        request_id: row.request_id.clone(),
    }
}

/// The parts of the answer the caller's token could receive, in words.
fn blocks(endpoint: &Endpoint, scopes: &[String]) -> Vec<String> {
    let held = |wanted: &[&str]| wanted.iter().any(|w| scopes.iter().any(|s| s == w));
    let mut out: Vec<String> = Vec::new();
    for mask in endpoint.masks.iter().filter(|m| held(m.scopes)) {
        let top = mask.path.split('.').next().unwrap_or(mask.path).trim_end_matches("[]");
        let words = label(top);
        if !out.contains(&words) {
            out.push(words);
        }
    }
    out
}

/// A field of an answer as the citizen would name it.
fn label(field: &str) -> String {
    let known = match field {
        "quotient_familial" => "votre quotient familial",
        "allocataires" => "les allocataires de votre foyer",
        "enfants" => "les enfants de votre foyer",
        "adresse" | "adresse_particulier" => "votre adresse",
        "est_beneficiaire" => "si vous bénéficiez de la prestation",
        "date_debut_droit" => "la date d'ouverture de vos droits",
        "avec_majoration" => "si la prestation est majorée",
        "avec_participation" => "si vous participez aux frais",
        "parametres_calcul_participation_familiale" => "les éléments de calcul de votre participation",
        "identite" | "identite_particulier" => "votre identité",
        "identifiant" => "votre identifiant",
        "email" => "votre adresse électronique",
        "contact" => "vos coordonnées",
        "admissions" | "inscription" => "vos inscriptions",
        "etablissement" | "etablissement_etudes" => "votre établissement",
        "est_boursier" | "statut_boursier" => "si vous êtes boursier ou boursière",
        "echelon_bourse" => "l'échelon de votre bourse",
        "periode_versement_bourse" => "la période de versement de votre bourse",
        "est_scolarise" | "statut_eleve" => "votre scolarité",
        "annee_scolaire" => "l'année scolaire",
        "module_elementaire_formation" => "votre formation",
        "regime_pensionnat" => "votre régime (externat, demi-pension, internat)",
        "est_sportif_de_haut_niveau" | "a_ete_sportif_de_haut_niveau" => "votre statut de sportif de haut niveau",
        "statut_actuel" | "statut_passe" | "informations_statut" | "informations_statuts_precedents" => {
            "votre statut et son historique"
        }
        "statut_service_national" => "votre situation au regard du service national",
        "statut_rattachement" => "votre rattachement",
        "paiements" => "les paiements reçus",
        "commentaires" => "les commentaires du dossier",
        "donnees_immatriculation_vehicule" => "l'immatriculation de votre véhicule",
        "caracteristiques_techniques_vehicule" => "les caractéristiques de votre véhicule",
        other => return other.replace('_', " "),
    };
    known.to_string()
}

fn outcome(status: u16) -> &'static str {
    match status {
        200..=299 => "Données transmises à l'administration",
        404 => "Aucune donnée trouvée : rien n'a été transmis",
        _ => "Demande refusée ou en échec : rien n'a été transmis",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_say_whether_data_left() {
        assert!(outcome(200).starts_with("Données transmises"));
        assert!(outcome(404).contains("rien n'a été transmis"));
        assert!(outcome(503).contains("rien n'a été transmis"));
    }

    #[test]
    fn blocks_follow_the_token_scopes() {
        let qf = passerelle_catalogue::find("dss/quotient_familial", "identite", 3).unwrap();
        let all: Vec<String> = qf.masks.iter().flat_map(|m| m.scopes).map(|s| s.to_string()).collect();
        let every = blocks(qf, &all);
        assert!(!every.is_empty());
        let one = blocks(qf, &all[..1]);
        assert!(one.len() <= every.len() && !one.is_empty());
        assert!(blocks(qf, &[]).is_empty());
    }
}
