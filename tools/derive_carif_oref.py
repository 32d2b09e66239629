#!/usr/bin/env python3
"""Writes the CARIF-OREF (Quiforme: Qualiopi and France compétences) provider's own data
files from the shared fixtures:
- crates/entreprise-providers/src/carif_oref/cases.json: the official API Entreprise
  sandbox cases of `carif_oref_certifications_qualiopi_france_competences`, which the
  replay test runs;
- crates/entreprise-providers/src/carif_oref/quiforme.json: what the simulator answers:
  the organisations it knows (the recorded answers, the official 200 case's written back
  in the upstream's shape, the real gateway's ping SIRET), the recorded "no data" body
  it gives for any other SIRET, and raw answers for failures under SIRETs of our own
  (valid Luhn key, `99999` prefix).

Usage: tools/derive_carif_oref.py <fixtures folder> (holding sandbox-cases-entreprise/
and upstream-entreprise/carif_oref/)
"""
import copy
import json
import pathlib
import sys

import yaml

from sandbox_cases import entreprise_cases

HERE = pathlib.Path(__file__).resolve().parent.parent / "crates/entreprise-providers/src/carif_oref"
CASES = HERE / "cases.json"
DATA = HERE / "quiforme.json"
OPERATION = "api_entreprise_v3_carif_oref_certifications_qualiopi_france_competences"
PING_SIRET = "19753471200017"
# Contract member of `certification_qualiopi` -> upstream member of an `nda` entry.
QUALIOPI = [("action_formation", "qualiopi_action_formation"), ("bilan_competences", "qualiopi_bilan_competence"),
            ("validation_acquis_experience", "qualiopi_vae"), ("apprentissage", "qualiopi_apprentissage")]
OBTENTION = {True: "Qualiopi par propagation via l'unité légale", False: "Qualiopi direct sur le NDA", None: None}


def cassette(path):
    return json.loads(yaml.safe_load(path.read_text())["http_interactions"][0]["response"]["body"]["string"])


def luhn_ok(digits):
    total = 0
    for i, c in enumerate(reversed(digits)):
        n = int(c) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def siret(n):
    """A SIRET of our own: `99999`, `n` on 8 digits, then the Luhn key."""
    stem = f"99999{n:08d}"
    return next(stem + str(k) for k in range(10) if luhn_ok(stem + str(k)))


def day_first(date):
    """`2030-01-30` -> `30/01/2030`, the form Quiforme gives some of its dates in."""
    return "/".join(reversed(date.split("-"))) if date else date


def upstream_nda(d):
    entry = {"nda": d["numero_de_declaration"], "cfa": False, "actif": d["actif"],
             "date_derniere_declaration": d["date_derniere_declaration"],
             "debut_exercice": d["date_debut_exercice"], "fin_exercice": d["date_fin_exercice"]}
    for i in (1, 2, 3):
        s = d["specialites"][f"specialite_{i}"]
        entry[f"code_specialite_{i}"], entry[f"libelle_specialite_{i}"] = s["code"], s["libelle"]
    for ours, theirs in QUALIOPI:
        entry[theirs] = d["certification_qualiopi"][ours]
    entry["obtention_qualiopi"] = OBTENTION[d["certification_qualiopi"]["obtention_via_unite_legale"]]
    return entry


def upstream_habilitation(h):
    return {"code_fc": h["code"], "actif": h["actif"], "etat_habilitation": "Actif",
            "date_habilitation": h["date_actif"], "date_fin_enregistrement": day_first(h["date_fin_enregistrement"]),
            "date_decision": h["date_decision"], "a_former": h["habilitation_pour_former"],
            "a_organiser": h["habilitation_pour_organiser_l_evaluation"],
            "certificateur": [{"siret": s} for s in h["sirets_organismes_certificateurs"]]}


def written_back(data, template):
    """The official 200 case in Quiforme's shape, on the recorded answer's frame."""
    record = copy.deepcopy(template)
    record["siret_actif"] = data["siret"]
    record["etablissement"]["uai"] = data["code_uai"]
    record["etablissement"]["siren"] = data["siret"][:9]
    record["unite_legale"]["multinda"] = data["unite_legale_avec_plusieurs_nda"]
    record["nda"] = [upstream_nda(d) for d in data["declarations_activites_etablissement"]]
    record["habilitations"] = [upstream_habilitation(h) for h in data["habilitations_france_competence"]]
    return record


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
    folder = root / "upstream-entreprise/carif_oref"
    recorded = cassette(folder / "cassettes/certifications_qualiopi_france_competences/valid_siret.yml")
    no_data = cassette(folder / "cassettes/certifications_qualiopi_france_competences/no_data.yml")
    dinum = json.loads((folder / "qualiopi/valid.json").read_text())
    records = [recorded, dinum]
    for case in cases:
        if case["status"] == 200:
            records.append(written_back(case["payload"]["data"], recorded))
    ping = copy.deepcopy(dinum)
    ping["siret_actif"] = PING_SIRET
    records.append(ping)
    pruned = copy.deepcopy(dinum)
    pruned["siret_actif"] = siret(1)
    deleted = copy.deepcopy(pruned["habilitations"][0])
    deleted.update({"code_fc": "RNCP00001", "etat_habilitation": "Supprimé", "actif": False})
    pruned["habilitations"].append(deleted)
    pruned["nda"][0]["obtention_qualiopi"] = None
    records.append(pruned)
    whole = json.dumps(recorded, ensure_ascii=False)
    no_siret = {k: v for k, v in recorded.items() if k != "siret_actif"}
    bad_date = copy.deepcopy(dinum)
    bad_date["habilitations"][0]["date_fin_enregistrement"] = "bientôt"
    failures = [
        (10, "404", answer(404, {"detail": "Not Found"})),
        (11, "500", answer(500, raw="Internal Server Error", content_type="text/plain")),
        (12, "503", answer(503, raw="Service Unavailable", content_type="text/plain")),
        (13, "504", answer(504, raw="Gateway Timeout", content_type="text/plain")),
        (14, "redirect", answer(302, location="https://quiforme.example/maintenance")),
        (15, "not JSON", answer(200, raw="<html><body>Maintenance</body></html>", content_type="text/html")),
        (16, "JSON cut short", answer(200, raw=whole[: len(whole) // 2])),
        (17, "no siret_actif", answer(200, no_siret)),
        (18, "a date no one can read", answer(200, bad_date)),
        (19, "slow", answer(200, recorded, delay_ms=15000)),
    ]
    CASES.write_text(json.dumps({
        "_source": f"Derived by tools/derive_carif_oref.py from the official API Entreprise sandbox cases ({OPERATION}).",
        "cases": cases,
    }, indent=1, ensure_ascii=False) + "\n")
    DATA.write_text(json.dumps({
        "_source": "Derived by tools/derive_carif_oref.py: the recorded answers (upstream-entreprise/carif_oref), "
                   "the official 200 case written back, the ping's SIRET; failures of our own.",
        "organismes": records,
        "no_data": no_data,
        "answers": [{"siret": siret(n), "what": what, "answer": a} for n, what, a in failures],
    }, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(pathlib.Path(sys.argv[1]))
