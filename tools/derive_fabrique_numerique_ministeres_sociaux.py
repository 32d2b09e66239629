#!/usr/bin/env python3
"""Writes the Fabrique numérique des ministères sociaux (conventions collectives)
provider's own data files from the shared fixtures:
- crates/entreprise-providers/src/fabrique_numerique_ministeres_sociaux/cases.json: the
  official API Entreprise sandbox cases of the operation, which the replay test runs;
- crates/entreprise-providers/src/fabrique_numerique_ministeres_sociaux/conventions.json:
  what the simulator answers: each establishment's `{"siret", "conventions"}` entry (the
  recorded ones, the official 200 case's written back in the upstream's shape, and the
  ping's SIRET with the recorded fixture's conventions), and raw answers for failures,
  keyed by SIRETs of our own (`99900…`, valid keys, no such establishment).

Usage: tools/derive_fabrique_numerique_ministeres_sociaux.py <fixtures folder>
"""
import base64
import json
import pathlib
import sys

import yaml

from sandbox_cases import entreprise_cases

NAME = "fabrique_numerique_ministeres_sociaux"
HERE = pathlib.Path(__file__).resolve().parent.parent / "crates/entreprise-providers/src" / NAME
OPERATION = "api_entreprise_v3_fabrique_numerique_ministeres_sociaux_conventions_collectives"
PING_SIRET = "89337342300019"
ETATS = {"vigueur": "VIGUEUR", "vigueur_etendue": "VIGUEUR_ETEN"}


class Loader(yaml.SafeLoader):
    """VCR writes non-ASCII bodies as `!binary` (base64)."""


Loader.add_constructor("!binary", lambda loader, node: base64.b64decode(loader.construct_scalar(node)))


def recorded(root, name):
    path = root / "upstream-entreprise" / NAME / "cassettes/conventions_collectives" / f"{name}.yml"
    response = yaml.load(path.read_text(), Loader=Loader)["http_interactions"][0]["response"]
    return json.loads(response["body"]["string"])


def written_back(item):
    """A contract item in the upstream's shape."""
    data = item["data"]
    convention = {
        "active": data["active"],
        "etat": ETATS.get(data["etat"], data["etat"]),
        "id": item["meta"]["internal_id"],
        "nature": "IDCC",
        "num": data["numero_idcc"],
        "shortTitle": data["titre_court"],
        "title": data["titre"],
        "url": data["url"],
        "synonymes": data["synonymes"],
    }
    if data["date_publication"] is not None:
        convention["date_publi"] = data["date_publication"] + "T00:00:00.000Z"
    return convention


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
    fixture = json.loads((root / "upstream-entreprise" / NAME / "conventions_collectives"
                          / "valid_with_missing_date_publication.json").read_text())
    entries = recorded(root, "valid_siret") + recorded(root, "not_found_siret") + fixture
    entries.append({"siret": PING_SIRET, "conventions": fixture[0]["conventions"]})
    for case in cases:
        if case["status"] == 200:
            conventions = [written_back(item) for item in case["payload"]["data"]]
            entries.append({"siret": case["params"]["siret"], "conventions": conventions})
    valid = entries[0]
    whole = json.dumps([valid], ensure_ascii=False)
    failures = [
        ("404", answer(404, {"error": "Not Found"})),
        ("500", answer(500, raw="Internal Server Error", content_type="text/plain")),
        ("503", answer(503, raw="Service Unavailable", content_type="text/plain")),
        ("504", answer(504, raw="Gateway Timeout", content_type="text/plain")),
        ("302", answer(302, location="https://code.travail.example/maintenance")),
        ("html", answer(200, raw="<html><body>Maintenance</body></html>", content_type="text/html")),
        ("cut", answer(200, raw=whole[: len(whole) // 2])),
        ("object", answer(200, valid)),
        ("slow", answer(200, [valid], delay_ms=15000)),
    ]
    answers = [{"siret": luhn_complete(f"9990000000{n:03d}"), "name": name, "answer": a}
               for n, (name, a) in enumerate(failures)]
    (HERE / "cases.json").write_text(json.dumps({
        "_source": f"Derived by tools/derive_{NAME}.py from the official API Entreprise sandbox cases ({OPERATION}).",
        "cases": cases,
    }, indent=1, ensure_ascii=False) + "\n")
    (HERE / "conventions.json").write_text(json.dumps({
        "_source": f"Derived by tools/derive_{NAME}.py: the service's recorded answers (upstream-entreprise/{NAME}), "
                   "the official 200 case, the ping's SIRET; failures of our own.",
        "etablissements": entries,
        "answers": answers,
    }, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(pathlib.Path(sys.argv[1]))
