//! An `<asso>` record → the public contract: the v3 RNA summary, the v3 RNA documents
//! list, and the v4 unité légale (full or open data). Never a panic on input: a
//! number that does not read is `XX999`; anything optional that is missing is null.

use chrono::{DateTime, NaiveDate};
use chrono_tz::Europe::Paris;
use passerelle_bouquet::{Fetched, Proxied};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::errors::Failure;
use super::xml::Node;

/// How long a proxied document link lives (§25.3: 24 h).
pub const DOCUMENT_LIFETIME_SECS: u64 = 86_400;

/// Where the answer's links and document URLs point.
pub struct Bases<'a> {
    /// The gateway's own public address, for the links to its INSEE routes.
    pub public: &'a str,
    /// The association API's domain, which replaces the upstream's internal one.
    pub upstream: &'a str,
}

/// The upstream's own internal address, which some document URLs still carry.
const INTERNAL_DOCUMENTS: &str = "http://localhost:8181/services";

/// A record the gateway may answer with (§9.5): it has an internal id and either an
/// RNA number, the Alsace-Moselle regime or a legal category of association.
pub fn is_valid(asso: &Node) -> bool {
    let has_id = asso.text("identite/id_correspondance").is_some();
    let rna = asso.text("identite/id_rna").or(asso.text("id_rna")).is_some();
    let alsace_moselle = asso.text("identite/regime") == Some("alsaceMoselle");
    let category = matches!(asso.text("identite/id_forme_juridique"), Some("9220" | "9230" | "9260"));
    has_id && (rna || alsace_moselle || category)
}

/// The not-found marker the API sends with HTTP 200.
pub fn is_not_found(asso: &Node) -> bool {
    asso.child("erreur")
        .is_some_and(|e| e.all_text().contains("statusCode: 404"))
}

fn text(node: &Node, path: &str) -> Value {
    node.text(path).map_or(Value::Null, |t| Value::String(t.to_string()))
}

fn flag(node: &Node, path: &str) -> bool {
    node.text(path).is_some_and(|t| t.trim() == "true")
}

/// `0001-01-01` is the API's "no date"; only the day is kept of a date-time.
fn date(node: &Node, path: &str) -> Value {
    match node.text(path).map(str::trim) {
        Some(raw) if raw.len() >= 10 && !raw.starts_with("0001-01-01") => {
            match NaiveDate::parse_from_str(&raw[..10], "%Y-%m-%d") {
                Ok(day) => json!(day.format("%Y-%m-%d").to_string()),
                Err(_) => Value::Null,
            }
        }
        _ => Value::Null,
    }
}

fn integer(node: &Node, path: &str) -> Result<Value, Failure> {
    match node.text(path) {
        Some(raw) => raw.trim().parse::<i64>().map(Value::from).map_err(|_| Failure::Unknown),
        None => Ok(Value::Null),
    }
}

fn decimal(node: &Node, path: &str) -> Result<Value, Failure> {
    match node.text(path) {
        Some(raw) => raw.trim().parse::<f64>().map(Value::from).map_err(|_| Failure::Unknown),
        None => Ok(Value::Null),
    }
}

/// Phone numbers without their spaces.
fn phone(node: &Node, path: &str) -> Value {
    node.text(path).map_or(Value::Null, |t| {
        json!(t.chars().filter(|c| !c.is_whitespace()).collect::<String>())
    })
}

/// A network member's or federation's phone: all zeros means none.
fn network_phone(node: &Node, path: &str) -> Value {
    match phone(node, path) {
        Value::String(digits) if digits.chars().all(|c| c == '0') => Value::Null,
        other => other,
    }
}

fn address(node: Option<&Node>) -> Value {
    let empty = Node::default();
    let node = node.unwrap_or(&empty);
    let lines: Vec<&str> = ["cplt_1", "cplt_2", "cplt_3"]
        .iter()
        .filter_map(|line| node.text(line))
        .collect();
    json!({
        "complement": if lines.is_empty() { Value::Null } else { json!(lines.join(" ")) },
        "numero_voie": text(node, "num_voie"),
        "type_voie": text(node, "type_voie"),
        "libelle_voie": text(node, "voie"),
        "distribution": text(node, "bp"),
        "code_insee": text(node, "code_insee"),
        "code_postal": text(node, "cp"),
        "commune": text(node, "commune"),
    })
}

fn code_label(node: &Node, code: &str, label: &str) -> Value {
    json!({"code": text(node, code), "libelle": text(node, label)})
}

/// The upstream's internal document address, rewritten to its public domain.
fn public_url(raw: &str, upstream: &str) -> String {
    match raw.strip_prefix(INTERNAL_DOCUMENTS) {
        Some(rest) => format!("{}/apim/api-asso{rest}", upstream.trim_end_matches('/')),
        None => raw.to_string(),
    }
}

fn hashed(raw: Option<&str>) -> Option<Value> {
    raw.map(|id| json!(hex(&Sha256::digest(id.as_bytes()))))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn empty() -> Node {
    Node::default()
}

/// The v3 RNA summary.
pub fn association_v3(asso: &Node) -> Value {
    let identite = asso.child("identite").cloned().unwrap_or_else(empty);
    json!({
        "rna_id": text(&identite, "id_rna"),
        "titre": text(&identite, "nom"),
        "objet": text(asso, "activites/objet"),
        "siret": text(&identite, "id_siret"),
        "siret_siege_social": text(&identite, "id_siret_siege"),
        "date_creation": date(&identite, "date_creat"),
        "date_declaration": date(&identite, "date_modif_rna"),
        "date_publication": date(&identite, "date_pub_jo"),
        "date_dissolution": date(&identite, "date_dissolution"),
        "adresse_siege": address(asso.at("coordonnees/adresse_siege")),
        "etat": flag(&identite, "active"),
        "groupement": text(&identite, "groupement"),
        "mise_a_jour": date(&identite, "date_modif_rna"),
    })
}

/// The v3 documents list: each RNA document behind a proxied link; `None` when the
/// record counts no RNA document.
pub fn documents_v3(asso: &Node, upstream: &str) -> Result<Fetched, Failure> {
    let documents = asso.child("documents").ok_or(Failure::NotFound)?;
    let count: u64 = match documents.text("nbDocRna") {
        Some(raw) => raw.trim().parse().map_err(|_| Failure::Unknown)?,
        None => 0,
    };
    if count == 0 {
        return Err(Failure::NotFound);
    }
    let mut items = Vec::new();
    let mut proxied = Vec::new();
    for (index, document) in documents.all("document_rna").enumerate() {
        let url = document.text("url").map(|u| public_url(u, upstream));
        if let Some(target) = &url {
            proxied.push(Proxied {
                url_pointer: format!("/{index}/data/url"),
                expiry_pointer: Some(format!("/{index}/data/expires_in")),
                target: target.clone(),
                lifetime_secs: DOCUMENT_LIFETIME_SECS,
            });
        }
        items.push(json!({
            "data": {
                "timestamp": text(document, "time"),
                "type": text(document, "lib_sous_type"),
                "url": url,
                "expires_in": Value::Null,
                "errors": [],
            },
            "links": {},
            "meta": {},
        }));
    }
    let mut fetched = Fetched::from(json!({}));
    fetched.meta.insert("nombre_documents".into(), json!(items.len()));
    fetched.meta.insert("nombre_documents_deficients".into(), json!(0));
    fetched.data = Value::Array(items);
    fetched.proxied = proxied;
    Ok(fetched)
}

/// What the v4 routes leave out in open data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Full,
    OpenData,
}

fn regime(raw: Option<&str>) -> &'static str {
    match raw {
        Some("loi1901") => "Loi 1901",
        Some("alsaceMoselle") => "Alsace-Moselle",
        Some("collectivite") => "Collectivite",
        _ => "Autre",
    }
}

/// The v4 unité légale, its INSEE links and its meta.
pub fn unite_legale(asso: &Node, audience: Audience, bases: &Bases) -> Result<Fetched, Failure> {
    let identite = asso.child("identite").cloned().unwrap_or_else(empty);
    let mut proxied = Vec::new();
    let mut data = Map::new();
    let id = |path: &str| text(&identite, path);
    for (member, value) in [
        ("rna", id("id_rna")),
        ("ancien_id", id("id_ex")),
        ("siren", id("id_siren")),
        ("nom", id("nom")),
        ("sigle", id("sigle")),
        ("reconnue_utilite_publique", json!(flag(&identite, "util_publique"))),
        ("siret_siege", id("id_siret_siege")),
        (
            "forme_juridique",
            code_label(&identite, "id_forme_juridique", "lib_forme_juridique"),
        ),
        ("regime", json!(regime(identite.text("regime")))),
        ("groupement", id("groupement")),
        ("eligibilite_cec", json!(flag(&identite, "eligibilite_cec"))),
        ("raison_non_eligibilite_cec", id("raison_non_eligibilite_cec")),
        (
            "alsace_moselle",
            json!({
                "tribunal_instance": id("tribunal_instance"),
                "volume": id("volume"),
                "folio": id("folio"),
                "date_publication_registre_association": date(&identite, "date_pub_registre"),
            }),
        ),
        ("impots_commerciaux", json!(flag(&identite, "impots_commerciaux"))),
        ("date_dissolution", date(&identite, "date_dissolution")),
        (
            "date_publication_reconnue_utilite_publique",
            date(&identite, "date_publication_util_publique"),
        ),
        ("date_publication_journal_officiel", date(&identite, "date_pub_jo")),
        (
            "active",
            json!(flag(&identite, "active") && flag(&identite, "active_sirene")),
        ),
        ("date_creation", creation(&identite)),
        ("adresse_siege", address(asso.at("coordonnees/adresse_siege"))),
        ("composition_reseau", Value::Array(members(asso))),
        ("agrements", Value::Array(agrements(asso, bases.upstream))),
        ("adresse_gestion", address(asso.at("coordonnees/adresse_gestion"))),
        ("activites", activites(asso)?),
    ] {
        data.insert(member.into(), value);
    }
    if audience == Audience::Full {
        data.insert("reseaux_affiliation".into(), Value::Array(reseaux(asso)?));
    }
    let etablissements = etablissements(asso, audience, bases.upstream, &mut proxied)?;
    data.insert("etablissements".into(), Value::Array(etablissements));
    if audience == Audience::Full {
        let documents = documents_rna(asso, bases.upstream, &mut proxied);
        data.insert("documents_rna".into(), Value::Array(documents));
    }
    let mut fetched = Fetched::from(Value::Object(data));
    fetched.links = insee_links(identite.text("id_siret_siege"), bases.public);
    fetched.meta = meta(asso, &identite);
    fetched.proxied = proxied;
    Ok(fetched)
}

/// The RNA's creation date, else Sirene's.
fn creation(identite: &Node) -> Value {
    match date(identite, "date_creat") {
        Value::Null => date(identite, "date_creation_sirene"),
        known => known,
    }
}

fn insee_links(siret: Option<&str>, public: &str) -> Map<String, Value> {
    let base = public.trim_end_matches('/');
    let link = |suffix: &str| {
        siret.map_or(Value::Null, |s| {
            json!(format!("{base}/v3/insee/sirene/etablissements/{}{suffix}", s.trim()))
        })
    };
    let mut links = Map::new();
    links.insert("insee_siege_social".into(), link(""));
    links.insert("insee_siege_social_adresse".into(), link("/adresse"));
    links
}

fn meta(asso: &Node, identite: &Node) -> Map<String, Value> {
    let mut meta = Map::new();
    let internal = identite.text("id_correspondance").or(asso.text("id_correspondance"));
    meta.insert("internal_id".into(), internal.map_or(Value::Null, |t| json!(t.trim())));
    meta.insert(
        "date_derniere_mise_a_jour_sirene".into(),
        date(identite, "date_modif_siren"),
    );
    meta.insert("date_derniere_mise_a_jour_rna".into(), date(identite, "date_modif_rna"));
    meta
}

fn activites(asso: &Node) -> Result<Value, Failure> {
    let a = asso.child("activites").cloned().unwrap_or_else(empty);
    Ok(json!({
        "objet": text(&a, "objet"),
        "objet_social1": code_label(&a, "id_objet_social1", "lib_objet_social1"),
        "objet_social2": code_label(&a, "id_objet_social2", "lib_objet_social2"),
        "champ_action_territorial": text(&a, "champ_action_territorial"),
        "activite_principale": {
            "code": text(&a, "id_activite_principale"),
            "libelle": text(&a, "lib_activite_principale"),
            "annee": text(&a, "annee_activite_principale"),
        },
        "tranche_effectif": {
            "code": text(&a, "id_tranche_effectif"),
            "libelle": text(&a, "lib_tranche_effectif"),
            "annee": text(&a, "annee_effectif_salarie_cent"),
        },
        "economie_sociale_et_solidaire": a.text("appartenance_ess").map(str::trim) == Some("O"),
        "date_appartenance_ess": date(&a, "date_appartenance_ess"),
    }))
}

fn members(asso: &Node) -> Vec<Value> {
    let Some(network) = asso.child("composition_reseau") else {
        return Vec::new();
    };
    network
        .all("membre")
        .map(|m| {
            json!({
                "nom": text(m, "nom"),
                "rna": text(m, "id_rna"),
                "siret": text(m, "id_siret"),
                "telephone": network_phone(m, "telephone"),
                "courriel": text(m, "courriel"),
                "objet": text(m, "objet"),
                "adresse": address(m.child("adresse")),
                "site_web": text(m, "site_web"),
            })
        })
        .collect()
}

fn agrements(asso: &Node, upstream: &str) -> Vec<Value> {
    let Some(list) = asso.child("agrements") else {
        return Vec::new();
    };
    list.all("agrement")
        .map(|a| {
            json!({
                "numero": text(a, "numero"),
                "date_attribution": date(a, "date_attribution"),
                "type": text(a, "type"),
                "niveau": text(a, "niveau"),
                "attributeur": text(a, "attributeur"),
                "url": a.text("url").map(|u| public_url(u, upstream)),
            })
        })
        .collect()
}

fn reseaux(asso: &Node) -> Result<Vec<Value>, Failure> {
    let Some(list) = asso.child("reseaux_affiliation") else {
        return Ok(Vec::new());
    };
    list.all("reseau_affiliation")
        .map(|r| {
            Ok(json!({
                "nom": text(r, "nom"),
                "numero": text(r, "numero"),
                "rna": text(r, "id_rna"),
                "siret": text(r, "id_siret"),
                "objet": text(r, "objet"),
                "adresse": address(r.child("adresse")),
                "telephone": network_phone(r, "telephone"),
                "courriel": text(r, "courriel"),
                "attestation_affiliation_url": text(r, "url"),
                "nombre_licencies": {
                    "hommes": integer(r, "nb_licencies_h")?,
                    "femmes": integer(r, "nb_licencies_f")?,
                    "total": integer(r, "nb_licencies")?,
                },
            }))
        })
        .collect()
}

/// The records of `list/item` that belong to `siret`.
fn of_siret<'a>(asso: &'a Node, list: &'a str, item: &'a str, siret: &'a str) -> impl Iterator<Item = &'a Node> {
    asso.child(list)
        .into_iter()
        .flat_map(move |l| l.all(item))
        .filter(move |n| n.text("id_siret").map(str::trim) == Some(siret))
}

fn etablissements(
    asso: &Node,
    audience: Audience,
    upstream: &str,
    proxied: &mut Vec<Proxied>,
) -> Result<Vec<Value>, Failure> {
    let Some(list) = asso.child("etablissements") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (index, e) in list.all("etablissement").enumerate() {
        let siret = e.text("id_siret").map(str::trim).unwrap_or_default();
        let mut item = json!({
            "siren": text(e, "id_siren"),
            "siret": text(e, "id_siret"),
            "actif": flag(e, "actif"),
            "siege": flag(e, "est_siege"),
            "nom": text(e, "nom"),
            "telephone": phone(e, "telephone"),
            "courriel": text(e, "courriel"),
            "date_debut_activite": date(e, "date_actif"),
            "adresse": address(e.child("adresse")),
            "activite_principale": code_label(e, "id_activite_principale", "lib_activite_principale"),
            "tranche_effectif": code_label(e, "id_tranche_effectif", "lib_tranche_effectif"),
        });
        let members = item.as_object_mut().ok_or(Failure::Unknown)?;
        if audience == Audience::Full {
            members.insert("representants_legaux".into(), Value::Array(representants(asso, siret)));
        }
        members.insert("rhs".into(), Value::Array(rhs(asso, siret)?));
        members.insert("comptes".into(), Value::Array(comptes(asso, siret)?));
        if audience == Audience::Full {
            let documents = documents_dac(asso, siret, index, upstream, proxied);
            members.insert("documents_dac".into(), Value::Array(documents));
        }
        out.push(item);
    }
    Ok(out)
}

/// Active legal representatives only: not deleted, and flagged as such when the
/// flag is sent.
fn representants(asso: &Node, siret: &str) -> Vec<Value> {
    of_siret(asso, "representants_legaux", "representant_legal", siret)
        .filter(|r| !flag(r, "deleted"))
        .filter(|r| r.text("est_representant_legal").is_none_or(|t| t.trim() == "true"))
        .map(|r| {
            json!({
                "civilite": text(r, "civilite"),
                "nom": r.text("nom").map(str::to_uppercase),
                "prenom": text(r, "prenom"),
                "fonction": text(r, "fonction"),
                "valideur_cec": flag(r, "valideur_cec"),
                "publication_internet": flag(r, "publication_internet"),
                "telephone": phone(r, "telephone"),
                "courriel": text(r, "courriel"),
            })
        })
        .collect()
}

fn rhs(asso: &Node, siret: &str) -> Result<Vec<Value>, Failure> {
    of_siret(asso, "rhs", "rh", siret)
        .map(|rh| {
            Ok(json!({
                "annee": rh.attribute("annee"),
                "nombre_benevoles": integer(rh, "nb_benevoles")?,
                "nombre_volontaires": integer(rh, "nb_volontaires")?,
                "nombre_salaries": integer(rh, "nb_salaries")?,
                "nombre_salaries_etpt": decimal(rh, "nb_salaries_etpt")?,
                "nombre_emplois_aides": integer(rh, "nb_emplois_aides")?,
                "nombre_personnels_detaches": integer(rh, "nb_personnels_detaches")?,
                "nombre_adherents": {
                    "hommes": integer(rh, "nb_adherents_h")?,
                    "femmes": integer(rh, "nb_adherents_f")?,
                    "total": integer(rh, "nb_adherents")?,
                },
            }))
        })
        .collect()
}

fn comptes(asso: &Node, siret: &str) -> Result<Vec<Value>, Failure> {
    of_siret(asso, "comptes", "compte", siret)
        .map(|c| {
            Ok(json!({
                "annee": c.attribute("annee"),
                "commisaire_aux_comptes": flag(c, "cac"),
                "montant_dons": decimal(c, "dons")?,
                "cause_subventions": text(c, "subv_cause"),
                "montant_subventions": decimal(c, "subv")?,
                "montant_aides_sur_3ans": decimal(c, "aides_3ans")?,
                "total_charges": decimal(c, "charges")?,
                "total_resultat": decimal(c, "resultat")?,
                "total_produits": decimal(c, "produits")?,
            }))
        })
        .collect()
}

/// The labels of the DAC document type codes.
fn dac_type(code: &str) -> &str {
    match code {
        "BPA" => "Budget prévisionnel",
        "CPA" => "Comptes du dernier exercice clôt",
        "RCA" => "Rapport du commissaire au compte",
        "RAR" => "Rapport d'activité (le plus récent)",
        "RFA" => "Rapport financier",
        "AGR" => "Arrêté de l'agrement",
        "AFF" => "Attestation d’affiliation",
        "PRS" => "Projet sportif",
        other => other,
    }
}

/// An établissement's DAC documents, RIBs and deleted ones aside, each URL proxied.
fn documents_dac(
    asso: &Node,
    siret: &str,
    etablissement: usize,
    upstream: &str,
    proxied: &mut Vec<Proxied>,
) -> Vec<Value> {
    let all = asso.child("documents").into_iter().flat_map(|d| d.all("document_dac"));
    let mut out = Vec::new();
    for document in all.filter(|d| d.text("meta/id_siret").map(str::trim) == Some(siret)) {
        let kind = document.text("meta/type").map(str::trim).unwrap_or_default();
        if kind == "RIB" || document.text("meta/etat").map(str::trim) == Some("supprimé") {
            continue;
        }
        let url = document.text("url").map(|u| public_url(u, upstream));
        if let Some(target) = &url {
            proxied.push(Proxied {
                url_pointer: format!("/etablissements/{etablissement}/documents_dac/{}/url", out.len()),
                expiry_pointer: None,
                target: target.clone(),
                lifetime_secs: DOCUMENT_LIFETIME_SECS,
            });
        }
        let mut item = Map::new();
        if let Some(id) = hashed(document.text("uuid")) {
            item.insert("id".into(), id);
        }
        for (member, value) in [
            ("nom", text(document, "nom")),
            ("commentaire", text(document, "commentaire")),
            ("type", json!(dac_type(kind))),
            ("annee_validite", text(document, "meta/annee_validite")),
            ("etat", text(document, "meta/etat")),
            ("date_depot", date(document, "time_depot")),
            ("url", json!(url)),
        ] {
            item.insert(member.into(), value);
        }
        out.push(Value::Object(item));
    }
    out
}

/// A deposit time (Unix seconds) as Paris local time with its offset.
fn deposit_time(raw: Option<&str>) -> Value {
    raw.and_then(|t| t.trim().parse::<i64>().ok())
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
        .map_or(Value::Null, |at| {
            json!(at.with_timezone(&Paris).format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string())
        })
}

fn documents_rna(asso: &Node, upstream: &str, proxied: &mut Vec<Proxied>) -> Vec<Value> {
    let all = asso.child("documents").into_iter().flat_map(|d| d.all("document_rna"));
    let mut out = Vec::new();
    for document in all {
        let url = document.text("url").map(|u| public_url(u, upstream));
        if let Some(target) = &url {
            proxied.push(Proxied {
                url_pointer: format!("/documents_rna/{}/url", out.len()),
                expiry_pointer: None,
                target: target.clone(),
                lifetime_secs: DOCUMENT_LIFETIME_SECS,
            });
        }
        let kind = match document.text("type").map(str::trim) {
            Some("PIECE") => "Pièce",
            _ => "Récipicé",
        };
        let mut item = Map::new();
        if let Some(id) = hashed(document.text("id")) {
            item.insert("id".into(), id);
        }
        for (member, value) in [
            ("type", json!(kind)),
            ("sous_type", code_label(document, "sous_type", "lib_sous_type")),
            ("date_depot", deposit_time(document.text("time"))),
            ("annee_depot", text(document, "annee")),
            ("url", json!(url)),
        ] {
            item.insert(member.into(), value);
        }
        out.push(Value::Object(item));
    }
    out
}
