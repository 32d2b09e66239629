#!/usr/bin/env python3
"""Writes the DGDDI (EORI) provider's own data files from the shared fixtures:
- crates/entreprise-providers/src/dgddi/cases.json: the official API Entreprise sandbox
  cases of `dgddi_eori`, which the replay test runs;
- crates/entreprise-providers/src/dgddi/douanes.json: what the simulator answers: the
  EORI records it knows (the real service's recorded ones and the official 200 case's,
  written back in the upstream's shape), the recorded error bodies, and raw answers
  for failures, keyed by identifiers of our own (`ZZ…`, a country prefix no one has).

Usage: tools/derive_dgddi.py <fixtures folder> (holding sandbox-cases-entreprise/ and
upstream-entreprise/dgddi/)
"""
import json
import pathlib
import sys

import yaml

from sandbox_cases import entreprise_cases

HERE = pathlib.Path(__file__).resolve().parent.parent / "crates/entreprise-providers/src/dgddi"
CASES = HERE / "cases.json"
DATA = HERE / "douanes.json"
OPERATION = "api_entreprise_v3_dgddi_eori"
# Contract member -> upstream member.
MEMBERS = [
    ("id", "identifiant"), ("actif", "actif"), ("libelle", "libelle"), ("rue", "rue"),
    ("code_postal", "codePostal"), ("ville", "ville"), ("pays", "pays"), ("code_pays", "codePays"),
]


class Loader(yaml.SafeLoader):
    """VCR writes non-UTF-8 status messages as `!binary`; they are not used."""


Loader.add_constructor("!binary", lambda loader, node: loader.construct_scalar(node))


def cassettes(root):
    """Each cassette's recorded response: its status and its JSON body."""
    out = {}
    for path in sorted((root / "upstream-entreprise/dgddi/cassettes/eori").glob("*.yml")):
        response = yaml.load(path.read_text(), Loader=Loader)["http_interactions"][0]["response"]
        out[path.stem] = (response["status"]["code"], json.loads(response["body"]["string"]))
    return out


def answer(status, body=None, raw=None, content_type="application/json;charset=UTF-8", delay_ms=0, **headers):
    out = {"status": status, "delay_ms": delay_ms, **headers}
    if body is not None:
        out["body"] = body
    if raw is not None:
        out["raw_body"] = raw
        out["content_type"] = content_type
    return out


def main(root):
    cases = entreprise_cases(root, [OPERATION])
    recorded = cassettes(root)
    records = [recorded["valid_eori"][1]["EORI"], recorded["valid_spanish_eori"][1]["EORI"]]
    for case in cases:
        if case["status"] == 200:
            data = case["payload"]["data"]
            records.append({upstream: data[ours] for ours, upstream in MEMBERS})
    valid = recorded["valid_eori"][1]
    whole = json.dumps(valid, ensure_ascii=False)
    no_id = {"EORI": {k: v for k, v in valid["EORI"].items() if k != "identifiant"}}
    server_error = {"erreur": {"status": "500", "message": "Internal Server Error", "code": "TECH001",
                               "libelle": "Erreur technique"}}
    answers = [
        {"id": "ZZ500", "what": "500 with an erreur body", "answer": answer(500, server_error)},
        {"id": "ZZ503", "what": "503", "answer": answer(503, raw="Service Unavailable", content_type="text/plain")},
        {"id": "ZZ504", "what": "504", "answer": answer(504, raw="Gateway Timeout", content_type="text/plain")},
        {"id": "ZZ302", "what": "redirect", "answer": answer(302, location="https://douane.example/maintenance")},
        {"id": "ZZHTML", "what": "not JSON", "answer": answer(200, raw="<html><body>Maintenance</body></html>",
                                                              content_type="text/html")},
        {"id": "ZZCUT", "what": "JSON cut short", "answer": answer(200, raw=whole[: len(whole) // 2])},
        {"id": "ZZNOID", "what": "no identifiant", "answer": answer(200, no_id)},
        {"id": "ZZSLOW", "what": "slow", "answer": answer(200, valid, delay_ms=15000)},
    ]
    CASES.write_text(json.dumps({
        "_source": f"Derived by tools/derive_dgddi.py from the official API Entreprise sandbox cases ({OPERATION}).",
        "cases": cases,
    }, indent=1, ensure_ascii=False) + "\n")
    DATA.write_text(json.dumps({
        "_source": "Derived by tools/derive_dgddi.py: the real service's recorded answers "
                   "(upstream-entreprise/dgddi/cassettes/eori) and the official 200 case; failures of our own.",
        "eori": records,
        "not_found": recorded["non_existing_eori"][1],
        "bad_format": recorded["invalid_eori_format"][1],
        "answers": answers,
    }, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(pathlib.Path(sys.argv[1]))
