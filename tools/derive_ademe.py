#!/usr/bin/env python3
"""Writes the ADEME (certificats RGE) provider's own data files from the shared fixtures:
- crates/entreprise-providers/src/ademe/cases.json: the official API Entreprise sandbox
  cases of `ademe_certificats_rge`, which the replay test runs;
- crates/entreprise-providers/src/ademe/historique_rge.json: what the simulator answers:
  the lines of the data-fair dataset `historique-rge` it holds (the recorded ones, filed
  under the SIRET they were asked for and the ping's; the official 200 case's written
  back in the dataset's shape, plus one finished line the query must skip), and raw
  answers for failures, keyed by SIRETs of our own (`99900…`, valid keys).

Usage: tools/derive_ademe.py <fixtures folder> (holding sandbox-cases-entreprise/ and
upstream-entreprise/ademe/)
"""
import base64
import json
import pathlib
import sys
from urllib.parse import parse_qs, urlsplit

import yaml

from sandbox_cases import entreprise_cases

HERE = pathlib.Path(__file__).resolve().parent.parent / "crates/entreprise-providers/src/ademe"
OPERATION = "api_entreprise_v3_ademe_certificats_rge"
PING_SIRET = "50530961700049"


class Loader(yaml.SafeLoader):
    """VCR writes non-ASCII bodies as `!binary` (base64)."""


Loader.add_constructor("!binary", lambda loader, node: base64.b64decode(loader.construct_scalar(node)))


def recorded(root, name):
    """The cassette's first exchange: the SIRET it asked for and the JSON answer."""
    path = root / "upstream-entreprise/ademe/cassettes/certificats_rge" / f"{name}.yml"
    exchange = yaml.load(path.read_text(), Loader=Loader)["http_interactions"][0]
    qs = parse_qs(urlsplit(exchange["request"]["uri"]).query)["qs"][0]
    siret = qs.split()[0].removeprefix("siret:")
    return siret, json.loads(exchange["response"]["body"]["string"])


def written_back(siret, item):
    """A contract item as a line of the dataset."""
    data = item["data"]
    return {
        "siret": siret,
        "organisme": data["organisme"],
        "url_qualification": data["url"],
        "nom_certificat": data["nom_certificat"],
        "domaine": data["domaine"],
        "meta_domaine": data["meta_domaine"],
        "code_qualification": data["qualification"]["code"],
        "nom_qualification": data["qualification"]["nom"],
        "lien_date_debut": data["date_attribution"],
        "lien_date_fin": data["date_expiration"],
        "traitement_termine": data["meta"]["archived"],
        "_updatedAt": data["meta"]["updated_at"] + "T06:00:00.000Z",
        "_id": data["meta"]["internal_id"],
    }


def luhn_complete(prefix):
    """`prefix` and the digit that makes it pass the Luhn check."""
    for last in "0123456789":
        digits = [int(c) for c in prefix + last]
        total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2)
                    for i, d in enumerate(reversed(digits)))
        if total % 10 == 0:
            return prefix + last


def answer(status, body=None, raw=None, content_type="application/json; charset=utf-8", delay_ms=0, **headers):
    out = {"status": status, "delay_ms": delay_ms, **headers}
    if body is not None:
        out["body"] = body
    if raw is not None:
        out["raw_body"] = raw
        out["content_type"] = content_type
    return out


def main(root):
    cases = entreprise_cases(root, [OPERATION])
    asked, valid = recorded(root, "valid_siret_with_limit")
    lines = []
    for siret in (asked, PING_SIRET):
        lines += [{**line, "siret": siret} for line in valid["results"]]
    for case in cases:
        if case["status"] == 200:
            siret = case["params"]["siret"]
            lines += [written_back(siret, item) for item in case["payload"]["data"]]
            finished = written_back(siret, case["payload"]["data"][0])
            lines.append({**finished, "traitement_termine": True, "_id": finished["_id"] + "-termine"})
    page = {"total": len(valid["results"]), "results": valid["results"]}
    whole = json.dumps(page, ensure_ascii=False)
    failures = [
        ("500", answer(500, {"error": "internal error"})),
        ("503", answer(503, raw="Service Unavailable", content_type="text/plain")),
        ("504", answer(504, raw="Gateway Timeout", content_type="text/plain")),
        ("302", answer(302, location="https://data.ademe.example/maintenance")),
        ("html", answer(200, raw="<html><body>Maintenance</body></html>", content_type="text/html")),
        ("cut", answer(200, raw=whole[: len(whole) // 2])),
        ("no_results", answer(200, {"total": 0})),
        ("slow", answer(200, page, delay_ms=15000)),
    ]
    answers = [{"siret": luhn_complete(f"9990000000{n:03d}"), "name": name, "answer": a}
               for n, (name, a) in enumerate(failures)]
    (HERE / "cases.json").write_text(json.dumps({
        "_source": f"Derived by tools/derive_ademe.py from the official API Entreprise sandbox cases ({OPERATION}).",
        "cases": cases,
    }, indent=1, ensure_ascii=False) + "\n")
    (HERE / "historique_rge.json").write_text(json.dumps({
        "_source": "Derived by tools/derive_ademe.py: the dataset's recorded lines "
                   "(upstream-entreprise/ademe/cassettes), the official 200 case; failures of our own.",
        "lines": lines,
        "answers": answers,
    }, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(pathlib.Path(sys.argv[1]))
