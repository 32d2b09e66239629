//! DataSubvention's grants → the contract's `data`: one item per grant, each with its
//! application (`demande_subvention`, null without one) and its payments. Every upstream
//! leaf is a wrapper `{value, provider, last_update, type}`: only `value` is kept, but
//! the provider and date of one chosen leaf say where the item comes from.

use serde_json::{json, Map, Value};

use super::Failure;

type Object = Map<String, Value>;

/// The `data` of a 200 answer: a list of `{data, links, meta}` items. No grant at all
/// is `52003`; a missing list or a member of the wrong shape is `52999`.
pub fn grants(body: &[u8]) -> Result<Value, Failure> {
    let answer: Value = serde_json::from_slice(body).map_err(|_| Failure::Unknown)?;
    let list = answer
        .get("subventions")
        .and_then(Value::as_array)
        .ok_or(Failure::Unknown)?;
    if list.is_empty() {
        return Err(Failure::NotFound);
    }
    list.iter().map(grant).collect::<Result<Vec<_>, _>>().map(Value::Array)
}

fn grant(item: &Value) -> Result<Value, Failure> {
    let item = item.as_object().ok_or(Failure::Unknown)?;
    let demande = match group(item, "application")? {
        Some(application) => demande(application)?,
        None => Value::Null,
    };
    let paiements = list(item, "payments")?
        .iter()
        .map(|p| paiement(p.as_object().ok_or(Failure::Unknown)?))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({
        "data": {"demande_subvention": demande, "paiements": paiements},
        "links": {},
        "meta": {},
    }))
}

/// The application; its source is that of its `siret` leaf.
fn demande(application: &Object) -> Result<Value, Failure> {
    let (fournisseur, date) = origin(application, "siret")?;
    let montants = group(application, "montants")?;
    let amount = |key| montants.map_or(Ok(Value::Null), |m| value(m, key));
    let projets = list(application, "actions_proposee")?
        .iter()
        .map(|a| projet(a.as_object().ok_or(Failure::Unknown)?))
        .collect::<Result<Vec<_>, _>>()?;
    let mut description = Map::new();
    if montants.is_some_and(|m| m.contains_key("total")) {
        description.insert("estimation_cout_total".into(), amount("total")?);
    }
    description.insert("projet".into(), Value::Array(projets));
    Ok(json!({
        "fournisseur": fournisseur,
        "date_mise_a_jour_information": date,
        "annee_exercice_demande": value(application, "annee_demande")?,
        "identifiant_engagement_juridique": value(application, "ej")?,
        "jointure_demandes_et_versements": value(application, "versementKey")?,
        "subvention_demandee": {
            "dispositif": value(application, "dispositif")?,
            "sous_dispositif": value(application, "sous_dispositif")?,
            "montant_demande": amount("demande")?,
        },
        "description_des_projets": description,
        "instruction": {
            "service_instructeur": value(application, "service_instructeur")?,
            "date_commission": value(application, "date_commision")?,
            "statut_demande": value(application, "statut_label")?,
            "montant_accorde": amount("accorde")?,
        },
    }))
}

fn projet(action: &Object) -> Result<Value, Failure> {
    let cofinanceurs = match group(action, "cofinanceurs")? {
        Some(c) => value(c, "noms")?,
        None => Value::Null,
    };
    Ok(json!({
        "rang": value(action, "rang")?,
        "intitule": value(action, "intitule")?,
        "objectifs": value(action, "objectifs")?,
        "objectifs_operationnels": value(action, "objectifs_operationnels")?,
        "description": value(action, "description")?,
        "aide": {"nature": value(action, "nature_aide")?, "modalite": value(action, "modalite_aide")?},
        "modalite_ou_dispositif": value(action, "modalite_ou_dispositif")?,
        "indicateurs": value(action, "indicateurs")?,
        "cofinanceurs": cofinanceurs,
    }))
}

/// A payment; its source is that of its `ej` leaf, its programme's that of `programme`.
fn paiement(payment: &Object) -> Result<Value, Failure> {
    let (fournisseur, date) = origin(payment, "ej")?;
    let programme = match group(payment, "programme")? {
        Some(numero) => json!({
            "numero": numero.get("value").cloned().unwrap_or(Value::Null),
            "libelle": value(payment, "libelleProgramme")?,
            "fournisseur": numero.get("provider").cloned().unwrap_or(Value::Null),
        }),
        None => Value::Null,
    };
    Ok(json!({
        "fournisseur": fournisseur,
        "date_mise_a_jour_information": date,
        "jointure_demandes_et_versements": value(payment, "versementKey")?,
        "montant_verse": value(payment, "amount")?,
        "date_versement": value(payment, "dateOperation")?,
        "centre_financier": value(payment, "centreFinancier")?,
        "domaine_fonctionnel": value(payment, "domaineFonctionnel")?,
        "activitee": value(payment, "activitee")?,
        "numero_bop": value(payment, "bop")?,
        "programme": programme,
    }))
}

/// An object member (a wrapper or a group of them); absent or null is `None`.
fn group<'a>(record: &'a Object, key: &str) -> Result<Option<&'a Object>, Failure> {
    match record.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(object)) => Ok(Some(object)),
        Some(_) => Err(Failure::Unknown),
    }
}

/// A list; absent or null is empty.
fn list<'a>(record: &'a Object, key: &str) -> Result<&'a [Value], Failure> {
    match record.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(Failure::Unknown),
    }
}

/// The `value` of a wrapped leaf; null when the leaf is absent.
fn value(record: &Object, key: &str) -> Result<Value, Failure> {
    Ok(group(record, key)?
        .and_then(|w| w.get("value"))
        .cloned()
        .unwrap_or(Value::Null))
}

/// The `provider` and `last_update` of a wrapped leaf.
fn origin(record: &Object, key: &str) -> Result<(Value, Value), Failure> {
    let wrapper = group(record, key)?;
    let member = |name| wrapper.and_then(|w| w.get(name)).cloned().unwrap_or(Value::Null);
    Ok((member("provider"), member("last_update")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(value: Value) -> Value {
        json!({"value": value, "provider": "Chorus", "last_update": "2021-03-15T00:00:00.000Z", "type": "string"})
    }

    #[test]
    fn a_payment_alone_has_a_null_application_and_its_own_source() {
        let body = json!({"subventions": [{"application": null, "payments": [
            {"ej": leaf(json!("2103847562")), "amount": leaf(json!(1250))}]}]});
        let data = grants(body.to_string().as_bytes()).unwrap();
        let item = &data[0]["data"];
        assert_eq!(item["demande_subvention"], Value::Null);
        assert_eq!(item["paiements"][0]["fournisseur"], "Chorus");
        assert_eq!(item["paiements"][0]["montant_verse"], 1250);
        assert_eq!(item["paiements"][0]["programme"], Value::Null);
    }

    #[test]
    fn the_total_cost_appears_only_when_given() {
        let body = json!({"subventions": [{"application": {"montants": {"demande": leaf(json!(300))}}}]});
        let data = grants(body.to_string().as_bytes()).unwrap();
        let demande = &data[0]["data"]["demande_subvention"];
        assert_eq!(demande["subvention_demandee"]["montant_demande"], 300);
        assert_eq!(demande["description_des_projets"], json!({"projet": []}));
        assert_eq!(grants(br#"{"subventions": []}"#), Err(Failure::NotFound));
    }
}
