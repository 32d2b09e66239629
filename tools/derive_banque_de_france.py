#!/usr/bin/env python3
"""Writes the Banque de France provider's own data files from the shared fixtures:
- crates/entreprise-providers/src/banque_de_france/cases.json: the official API
  Entreprise sandbox cases of the bilans;
- crates/entreprise-providers/src/banque_de_france/bilans.json: what the simulator
  answers, per SIREN (the service's own body, figures in thousands of euros):
  * 552049447, the official 200 case's company: one bilan whose computed values, read
    back from the case (euros to thousands, numbers to "+x.xx%"), give the case's;
    the case's form line (2051, code_nref 304651) is no Banque de France figure, so
    the form figures are left blank, as the service leaves unknown figures;
  * 356000000: the real service's recorded test answer (fixture
    bilans_entreprise_valid_data.json);
  * 418166096 (the ping's company): the recorded cassette answer (valid_siren.yml,
    its decimal commas and its "-" ratio), under this SIREN;
  * failures under SIRENs of our own (valid Luhn key, `99999` prefix).
  An unknown SIREN gets the recorded "no data" body (the 404 case's 000000000 among
  them). The bilan years need DGFIP dictionaries: tools/derive_dgfip.py writes them.

Usage: tools/derive_banque_de_france.py <fixtures folder> (holding upstream-entreprise/
and sandbox-cases-entreprise/)
"""
import base64
import json
import pathlib
import sys

import yaml

HERE = pathlib.Path(__file__).resolve().parent.parent / "crates/entreprise-providers/src/banque_de_france"
OPERATION = "api_entreprise_v3_banque_de_france_bilans_entreprise"

# The computed values: contract member -> (figure, evolution), as the service names them.
COMPUTED = {
    "disponibilites": ("disponibilites", "evolutionDisponibilites"),
    "total_dettes_stables": ("totalDettesStables", "evolutionTotaltotalDettesStables"),
    "valeur_ajoutee_bdf": ("valeurAjouteeBdf", "evolutionValeurAjouteeBdf"),
    "besoin_en_fonds_de_roulement": ("besoinEnFondsDeRoulement", "evolutionBesoinEnFondsDeRoulement"),
    "excedent_brut_exploitation": ("ebe", "evolutionEbe"),
    "capacite_autofinancement": ("caf", "evolutionCaf"),
    "fonds_roulement_net_global": ("frng", "evolutionFrng"),
    "ratio_fonds_roulement_net_global_sur_besoin_en_fonds_de_roulement": ("frng/bfr", "evolutionFrng/Bfr"),
    "dettes4_maturite_a_un_an_au_plus": ("dettes4DontAUnAnAuPlus", "evolutionDettes4DontAUnAnAuPlus"),
}
FORM_FIGURES = [
    "totalPassif", "capitauxPropresEtAssimiles", "dontCapitalSocial", "totalProvisionsPourRisquesEtCharges",
    "dettes1EmpruntsObligatairesEtConvertibles", "dettes2AutresEmpruntsObligataires",
    "dettes3EmruntsEtDettesAupresDesEtablissementsdeCredit", "empruntsEtDettesFinancieresDivers",
    "caHT", "resultatExercice", "groupesEtAssocies",
]


def luhn_ok(number):
    total = 0
    for i, digit in enumerate(int(c) for c in reversed(number)):
        if i % 2:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return total % 10 == 0


def siren(stem):
    """The Luhn-valid SIREN `stem` + one check digit."""
    return next(stem + str(d) for d in range(10) if luhn_ok(stem + str(d)))


def read_cases(root):
    folder = root / "sandbox-cases-entreprise" / OPERATION
    cases = []
    for path in sorted(list(folder.glob("*.yml")) + list(folder.glob("*.yaml"))):
        raw = yaml.safe_load(path.read_text())
        cases.append({
            "case": path.name,
            "params": {k: str(v) for k, v in raw["params"].items()},
            "status": raw["status"],
            "payload": json.loads(raw["payload"]),
        })
    return cases


def thousands(euros):
    """"9001" euros -> "9.001" thousands, exactly."""
    sign, digits = ("-", euros[1:]) if euros.startswith("-") else ("", euros)
    whole, fraction = divmod(int(digits), 1000)
    return f"{sign}{whole}" + (f".{fraction:03d}".rstrip("0") if fraction else "")


def percent(value):
    return "" if value is None else f"{value:+.2f}%"


def bilan_of_case(item):
    """The upstream bilan behind an official case's item."""
    data = item["data"]
    bilan = {"dateArrete": data["date_arrete_exercice"].replace("-", ""), "dureeExercice": "12"}
    bilan.update({name: "" for name in FORM_FIGURES})
    bilan.update({f"evolution{name[0].upper()}{name[1:]}": "" for name in FORM_FIGURES})
    bilan["evolutionDettes3EmpruntsEtDettesAupresDesEtablissementsdeCredit"] = bilan.pop(
        "evolutionDettes3EmruntsEtDettesAupresDesEtablissementsdeCredit")
    computed = data["valeurs_calculees"][0]
    for member, (figure, evolution) in COMPUTED.items():
        value = computed[member]["valeur"]
        bilan[figure] = f"{value:.2f}%" if isinstance(value, float) else thousands(value)
        bilan[evolution] = percent(computed[member]["evolution"])
    return bilan


class Loader(yaml.SafeLoader):
    """VCR may write bodies as `!binary` (base64)."""


Loader.add_constructor("!binary", lambda loader, node: base64.b64decode(loader.construct_scalar(node)))


def cassette(root, name):
    path = root / "upstream-entreprise/banque_de_france/cassettes/bilans_entreprises" / name
    interaction = yaml.load(path.read_text(), Loader)["http_interactions"][0]
    return json.loads(interaction["response"]["body"]["string"])


def simulator_data(root, cases):
    upstream = root / "upstream-entreprise/banque_de_france"
    found = next(c for c in cases if c["status"] == 200)
    case_company = {
        "siren": found["params"]["siren"],
        "denominationSociale": "SNCF",
        "code-retour": 200,
        "message": "Service Web OK",
        "date": "2 mars 2026 10:00:00",
        "monnaie": "kEuros",
        "bilans": [bilan_of_case(item) for item in found["payload"]["data"]],
    }
    recorded = cassette(root, "valid_siren.yml")
    ping = {**recorded, "siren": "418166096"}
    fixture = json.loads((upstream / "bilans_entreprise_valid_data.json").read_text())
    one_bilan = fixture["bilans"][0]
    body = lambda bilans: {**fixture, "siren": "999990000", "bilans": bilans}
    raw = lambda status, text, kind="application/json": {"status": status, "raw_body": text, "content_type": kind}
    failures = [
        ("server error", raw(500, "<html><body>Internal Server Error</body></html>", "text/html")),
        ("request timeout", raw(408, "Request Timeout", "text/plain")),
        ("not found status", raw(404, "Not Found", "text/plain")),
        ("unavailable", raw(503, "Service Unavailable", "text/plain")),
        ("gateway timeout", raw(504, "Gateway Timeout", "text/plain")),
        ("redirect", {"status": 302}),
        ("html page", raw(200, "<html><body>Maintenance</body></html>", "text/html")),
        ("cut short", raw(200, json.dumps(fixture)[:200])),
        ("code 400", {"status": 200, "body": {**body(None), "code-retour": 400, "message": "Requete invalide"}}),
        ("code 500", {"status": 200, "body": {**body(None), "code-retour": 500, "message": "Erreur interne"}}),
        ("code 200 without bilans", {"status": 200, "body": {**body(None), "code-retour": 200}}),
        ("slow", {"status": 200, "delay_ms": 3000, "body": body([one_bilan])}),
        ("unreadable figure", {"status": 200, "body": body([{**one_bilan, "caHT": "douze"}])}),
        ("year without dictionary", {"status": 200, "body": body([{**one_bilan, "dateArrete": "201412"}])}),
        ("corrected spelling", {"status": 200, "body": body([{
            **{k: v for k, v in one_bilan.items() if k != "dettes3EmruntsEtDettesAupresDesEtablissementsdeCredit"},
            "dettes3EmpruntsEtDettesAupresDesEtablissementsdeCredit": "77",
        }])}),
        ("undefined duration", {"status": 200, "body": body([{**one_bilan, "dureeExercice": "-", "duree_exercice": "-"}])}),
    ]
    answers = [
        {"id": siren(f"99999{index:03d}"), "name": name, "answer": {"delay_ms": 0, **answer}}
        for index, (name, answer) in enumerate(failures, start=1)
    ]
    return {
        "_source": (
            "Derived by tools/derive_banque_de_france.py. 552049447: the official 200 case's computed values read "
            "back into the service's figures (its form line, 2051/304651, is no Banque de France figure: form "
            "figures left blank). 356000000: the real service's recorded test answer. 418166096: the recorded "
            "cassette answer, under the ping's SIREN. 99999…: our own failures. Unknown SIRENs get the recorded "
            "no-data body."
        ),
        "companies": [
            {"siren": case_company["siren"], "answer": case_company},
            {"siren": fixture["siren"], "answer": fixture},
            {"siren": "418166096", "answer": ping},
        ],
        "answers": answers,
    }


def main():
    fixtures = pathlib.Path(sys.argv[1])
    cases = read_cases(fixtures)
    out = {"_source": f"Derived by tools/derive_banque_de_france.py from the official API Entreprise sandbox cases ({OPERATION}).", "cases": cases}
    (HERE / "cases.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(cases)} cases written")
    (HERE / "bilans.json").write_text(json.dumps(simulator_data(fixtures, cases), indent=1, ensure_ascii=False) + "\n")
    print("simulator data written")


if __name__ == "__main__":
    main()
