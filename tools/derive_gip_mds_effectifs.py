#!/usr/bin/env python3
"""Writes the GIP-MDS effectifs provider's own data files from the shared fixtures:
- crates/entreprise-providers/src/gip_mds/cases.json: the official API Entreprise
  sandbox cases of the two effectifs operations, which the replay test runs;
- crates/entreprise-providers/src/gip_mds/effectifs.json: what the simulator answers:
  RCD headcount objects ({siren|siret, periode, nature, source, effectifs,
  miseAJourRCD}) and canned raw answers for failures, keyed by SIREN.

Usage: tools/derive_gip_mds_effectifs.py <fixtures folder> (holding
sandbox-cases-entreprise/)

No RCD body was ever recorded: the object shape is the one of the real gateway's test
stub (upstream reference §8). From each 200 case we write the objects the RCD would
return for that call:
- the nature code follows the `nature_effectif` the case asked (A02 for `boeth`), even
  where the hand-written example still says `effectif_moyen_*`;
- a regime the example leaves out is written `NC` (the RCD always answers both, and the
  gateway refuses an answer without one of them).
Our own data: the ping's unité légale (552032534, 2023, all four natures), an
établissement with fourteen months of history (for `profondeur`), and failure cases on
SIRENs of ours (Luhn-valid, from 910000000 on).
"""
import json
import pathlib
import sys


from sandbox_cases import entreprise_cases

HERE = pathlib.Path(__file__).resolve().parent.parent / "crates/entreprise-providers/src/gip_mds"
OPERATIONS = (
    "api_entreprise_v3_gip_mds_effectifs_annuels_entreprise",
    "api_entreprise_v3_gip_mds_effectifs_mensuels_etablissement",
)
NATURE_NUMBER = {"boeth": 2, "ecap": 3, "assujettissement_oeth": 4}
SOURCE = {"regime_general": "RG", "regime_agricole": "RA"}
PING_SIREN = "552032534"


def luhn_ok(digits):
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def complete(prefix):
    """`prefix` and the one digit that makes it Luhn-valid."""
    return next(prefix + str(d) for d in range(10) if luhn_ok(prefix + str(d)))


def headcount(value):
    if value is None:
        return "NC"
    return f"{value:.2f}"


def rcd_object(key, ident, periode, nature, source, value, updated):
    obj = {key: ident, "periode": periode, "nature": nature, "source": source, "effectifs": headcount(value)}
    if value is not None:
        obj["miseAJourRCD"] = updated
    return obj


def from_case(case):
    params = case["params"]
    number = NATURE_NUMBER.get(params.get("nature_effectif"), 1)
    data = case["payload"]["data"]
    objects = []
    if "siren" in params:
        periode = f"{data['annee']}1231"
        for item in data["effectifs_annuel"]:
            objects.append(rcd_object("siren", params["siren"], periode, f"A0{number}",
                                      SOURCE[item["regime"]], item["value"], item["date_derniere_mise_a_jour"]))
    else:
        for item in data["effectifs_mensuels"]:
            periode = f"{item['annee']}{item['mois']}01"
            objects.append(rcd_object("siret", params["siret"], periode, f"M0{number}",
                                      SOURCE[item["regime"]], item["value"], item["date_derniere_mise_a_jour"]))
    for periode in sorted({o["periode"] for o in objects}):
        sources = {o["source"] for o in objects if o["periode"] == periode}
        for missing in sorted({"RA", "RG"} - sources):
            key = "siren" if "siren" in params else "siret"
            objects.append(rcd_object(key, params[key], periode, objects[0]["nature"], missing, None, None))
    return objects


def ours():
    objects = []
    for number, (general, agricole) in enumerate([(1250.5, 3), (41, None), (17.25, None), (1180, 3)], 1):
        objects.append(rcd_object("siren", PING_SIREN, "20231231", f"A0{number}", "RG", general, "2024-01-31"))
        objects.append(rcd_object("siren", PING_SIREN, "20231231", f"A0{number}", "RA", agricole, "2024-01-31"))
    siret = complete(PING_SIREN + "0001")
    year, month = 2023, 1
    for i in range(14):
        periode = f"{year}{month:02d}01"
        objects.append(rcd_object("siret", siret, periode, "M01", "RG", 100 + i, f"{year}-{month:02d}-28"))
        objects.append(rcd_object("siret", siret, periode, "M01", "RA", None, None))
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return siret, objects


def failures():
    """(name, answer) in SIREN order from 910000000."""
    waco = {"status": 401, "content_type": "application/json",
            "raw_body": json.dumps({"code": "900901", "message": "Invalid Credentials"})}
    quota = {"status": 429, "content_type": "application/x-www-form-urlencoded",
             "raw_body": "code=900803&message=Message+throttled+out&description=You+have+exceeded+your+quota"
                         "&nextAccessTime={nextAccessTime}"}
    only_general = [{"periode": "20221231", "nature": "A01", "source": "RG",
                     "effectifs": "12.00", "miseAJourRCD": "2023-01-10"}]
    all_nc = [{"periode": "20221231", "nature": "A01", "source": s, "effectifs": "NC"}
              for s in ("RG", "RA")]
    return [
        ("refused", waco),
        ("forbidden", {"status": 403}),
        ("quota", quota),
        ("internal", {"status": 500, "raw_body": "Internal Server Error"}),
        ("unavailable", {"status": 503, "raw_body": "Service Unavailable"}),
        ("no_content", {"status": 204}),
        ("ko_technique", {"status": 200, "body": {"code": "KO_TECHNIQUE", "message": "Erreur technique"}}),
        ("missing_regime", {"status": 200, "body": only_general}),
        ("all_nc", {"status": 200, "body": all_nc}),
        ("garbage", {"status": 200, "content_type": "text/html", "raw_body": "<html><body>Bad gateway</body></html>"}),
        ("slow", {"status": 200, "delay_ms": 8000, "body": []}),
        ("unknown_source", {"status": 200, "body": [dict(only_general[0], source="RX"), all_nc[1]]}),
        ("gateway_timeout", {"status": 504, "raw_body": "Gateway Timeout"}),
        ("redirect", {"status": 302, "location": "https://portail.net-entreprises.fr/"}),
    ]


def main():
    root = pathlib.Path(sys.argv[1])
    cases = entreprise_cases(root, OPERATIONS)
    objects = [o for case in cases if case["status"] == 200 for o in from_case(case)]
    siret, history = ours()
    answers = []
    for i, (name, answer) in enumerate(failures()):
        siren = complete(f"910000{i:02d}")
        for obj in answer.get("body") if isinstance(answer.get("body"), list) else []:
            obj["siren"] = siren
        answers.append({"name": name, "siren": siren, "answer": answer})
    effectifs = {
        "_source": "Derived by tools/derive_gip_mds_effectifs.py from the official API Entreprise sandbox "
                   "cases (api_entreprise_v3_gip_mds_*), plus our own ping, history and failure cases.",
        "history_siret": siret,
        "effectifs": objects + history,
        "answers": answers,
    }
    (HERE / "cases.json").write_text(json.dumps({
        "_source": "Derived by tools/derive_gip_mds_effectifs.py from the official API Entreprise sandbox cases.",
        "cases": cases,
    }, indent=1, ensure_ascii=False) + "\n")
    (HERE / "effectifs.json").write_text(json.dumps(effectifs, indent=1, ensure_ascii=False) + "\n")
    for a in answers:
        print(a["name"], a["siren"])
    print("history", siret)


if __name__ == "__main__":
    main()
