#!/usr/bin/env python3
"""Writes the DataSubvention provider's own data files from the shared fixtures:
- crates/entreprise-providers/src/data_subvention/cases.json: the official API
  Entreprise sandbox cases of `data_subvention_subventions`, which the replay test runs;
- crates/entreprise-providers/src/data_subvention/data_subvention.json: what the
  simulator answers: the recorded login answer (its token and expiry replaced at run
  time), the grants of each association it knows (the official 200 case written back in
  the upstream's shape, every leaf wrapped as `{value, provider, last_update, type}`;
  the recorded `valid.json` under the real gateway's ping SIREN), the not-found body,
  and raw answers for failures under RNA numbers of our own (`W9999…`).

Usage: tools/derive_data_subvention.py <fixtures folder> (holding
sandbox-cases-entreprise/ and upstream-entreprise/data_subvention/)
"""
import copy
import json
import pathlib
import sys


from sandbox_cases import entreprise_cases

HERE = pathlib.Path(__file__).resolve().parent.parent / "crates/entreprise-providers/src/data_subvention"
CASES = HERE / "cases.json"
DATA = HERE / "data_subvention.json"
OPERATION = "api_entreprise_v3_data_subvention_subventions"
PING_SIREN = "780603734"


def wrap(value, provider, last_update):
    kind = {bool: "boolean", int: "number", float: "number", str: "string"}.get(type(value), "object")
    return {"value": value, "provider": provider, "last_update": last_update, "type": kind}


def application(d):
    """A `demande_subvention` back in DataSubvention's shape."""
    w = lambda v: wrap(v, d["fournisseur"], d["date_mise_a_jour_information"])
    asked, projects, instruction = d["subvention_demandee"], d["description_des_projets"], d["instruction"]
    actions = [{
        "rang": w(p["rang"]), "intitule": w(p["intitule"]), "objectifs": w(p["objectifs"]),
        "objectifs_operationnels": w(p["objectifs_operationnels"]), "description": w(p["description"]),
        "nature_aide": w(p["aide"]["nature"]), "modalite_aide": w(p["aide"]["modalite"]),
        "modalite_ou_dispositif": w(p["modalite_ou_dispositif"]), "indicateurs": w(p["indicateurs"]),
        "cofinanceurs": {"noms": w(p["cofinanceurs"])},
    } for p in projects["projet"]]
    montants = {"demande": w(asked["montant_demande"]), "accorde": w(instruction["montant_accorde"])}
    if "estimation_cout_total" in projects:
        montants["total"] = w(projects["estimation_cout_total"])
    return {
        "annee_demande": w(d["annee_exercice_demande"]), "siret": w("78945612300045"),
        "service_instructeur": w(instruction["service_instructeur"]), "dispositif": w(asked["dispositif"]),
        "sous_dispositif": w(asked["sous_dispositif"]), "statut_label": w(instruction["statut_demande"]),
        "ej": w(d["identifiant_engagement_juridique"]), "versementKey": w(d["jointure_demandes_et_versements"]),
        "date_commision": w(instruction["date_commission"]), "montants": montants, "actions_proposee": actions,
    }


def payment(p):
    w = lambda v: wrap(v, p["fournisseur"], p["date_mise_a_jour_information"])
    out = {
        "ej": w(p["jointure_demandes_et_versements"]), "versementKey": w(p["jointure_demandes_et_versements"]),
        "amount": w(p["montant_verse"]), "dateOperation": w(p["date_versement"]),
        "centreFinancier": w(p["centre_financier"]), "domaineFonctionnel": w(p["domaine_fonctionnel"]),
        "activitee": w(p["activitee"]), "bop": w(p["numero_bop"]),
    }
    programme = p.get("programme")
    if programme:
        out["programme"] = wrap(programme["numero"], programme["fournisseur"], p["date_mise_a_jour_information"])
        out["libelleProgramme"] = wrap(programme["libelle"], programme["fournisseur"], p["date_mise_a_jour_information"])
    return out


def written_back(items):
    return {"subventions": [{
        "application": application(i["data"]["demande_subvention"]) if i["data"]["demande_subvention"] else None,
        "payments": [payment(p) for p in i["data"]["paiements"]],
    } for i in items]}


def answer(status, body=None, raw=None, content_type="application/json", delay_ms=0, **headers):
    out = {"status": status, "delay_ms": delay_ms, **headers}
    if body is not None:
        out["body"] = body
    if raw is not None:
        out["raw_body"] = raw
        out["content_type"] = content_type
    return out


def main(root):
    cases = entreprise_cases(root, [OPERATION])
    folder = root / "upstream-entreprise/data_subvention/subventions"
    valid = json.loads((folder / "valid.json").read_text())
    login = json.loads((folder / "authenticate.json").read_text())
    not_found = json.loads((folder / "404.json").read_text())
    grants = {PING_SIREN: valid}
    for case in cases:
        if case["status"] == 200:
            grants[case["params"]["siren_or_siret_or_rna"]] = written_back(case["payload"]["data"])
    whole = json.dumps(valid, ensure_ascii=False)
    odd = copy.deepcopy(valid)
    odd["subventions"][0]["application"]["montants"] = "beaucoup"
    failures = [
        ("W999900010", "no grant", answer(200, {"subventions": []})),
        ("W999900011", "400", answer(400, {"message": "Identifiant invalide", "code": 400})),
        ("W999900012", "500", answer(500, raw="Internal Server Error", content_type="text/plain")),
        ("W999900013", "503", answer(503, raw="Service Unavailable", content_type="text/plain")),
        ("W999900014", "504", answer(504, raw="Gateway Timeout", content_type="text/plain")),
        ("W999900015", "redirect", answer(302, location="https://datasubvention.example/maintenance")),
        ("W999900016", "not JSON", answer(200, raw="<html><body>Maintenance</body></html>", content_type="text/html")),
        ("W999900017", "JSON cut short", answer(200, raw=whole[: len(whole) // 2])),
        ("W999900018", "no subventions", answer(200, {"grants": []})),
        ("W999900019", "a member of the wrong type", answer(200, odd)),
        ("W999900020", "slow", answer(200, valid, delay_ms=15000)),
    ]
    CASES.write_text(json.dumps({
        "_source": f"Derived by tools/derive_data_subvention.py from the official API Entreprise sandbox cases ({OPERATION}).",
        "cases": cases,
    }, indent=1, ensure_ascii=False) + "\n")
    DATA.write_text(json.dumps({
        "_source": "Derived by tools/derive_data_subvention.py: the recorded answers "
                   "(upstream-entreprise/data_subvention/subventions), the official 200 case written back; "
                   "failures of our own.",
        "login": login,
        "not_found": not_found,
        "grants": [{"id": k, "body": v} for k, v in grants.items()],
        "answers": [{"id": i, "what": what, "answer": a} for i, what, a in failures],
    }, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(pathlib.Path(sys.argv[1]))
