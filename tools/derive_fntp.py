#!/usr/bin/env python3
"""Writes the FNTP provider's own data files from the shared fixtures:
- crates/entreprise-providers/src/fntp/cases.json: the official API Entreprise sandbox
  cases of `fntp_carte_professionnelle_travaux_publics`, which the replay test runs;
- crates/entreprise-providers/src/fntp/carte.pdf: the card FNTP answered in its
  recording, which the simulator serves for every company it knows;
- crates/entreprise-providers/src/fntp/cartes.json: those companies (the recorded one,
  the real gateway's ping SIREN, the official 200 case's) and raw answers for failures
  under SIRENs of ours (`99999` + a tag + the Luhn key).

Usage: tools/derive_fntp.py <fixtures folder> (holding sandbox-cases-entreprise/ and
upstream-entreprise/fntp/)
"""
import base64
import json
import pathlib
import sys

import yaml

from sandbox_cases import entreprise_cases

HERE = pathlib.Path(__file__).resolve().parent.parent / "crates/entreprise-providers/src/fntp"
OPERATION = "api_entreprise_v3_fntp_carte_professionnelle_travaux_publics"
PING_SIREN = "385407184"


class Loader(yaml.SafeLoader):
    """VCR writes binary bodies as `!binary` (base64)."""


Loader.add_constructor("!binary", lambda loader, node: base64.b64decode(loader.construct_scalar(node)))


def luhn_key(prefix):
    for key in "0123456789":
        total = 0
        for i, c in enumerate(reversed(prefix + key)):
            d = int(c) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return prefix + key
    raise ValueError(prefix)


def recorded(root, name):
    path = root / "upstream-entreprise/fntp/cassettes/carte_professionnelle_travaux_publics" / f"{name}.yml"
    interaction = yaml.load(path.read_text(), Loader=Loader)["http_interactions"][0]
    return interaction["request"]["uri"], interaction["response"]


def canned(name, tag, status, raw=None, content_type="text/plain", delay_ms=0):
    answer = {"status": status, "delay_ms": delay_ms}
    if raw is not None:
        answer["raw_body"] = raw
        answer["content_type"] = content_type
    return {"id": luhn_key("99999" + tag), "name": name, "answer": answer}


def main(root):
    cases = entreprise_cases(root, [OPERATION])
    uri, response = recorded(root, "valid_siren")
    card = response["body"]["string"]
    assert card.startswith(b"%PDF-"), "the recorded card is a PDF"
    recorded_siren = uri.split("/")[-2]
    cards = [recorded_siren, PING_SIREN] + [c["params"]["siren"] for c in cases if c["status"] == 200]
    answers = [
        canned("server error", "500", 500, "Internal Server Error"),
        canned("unavailable", "503", 503, "Service Unavailable"),
        canned("gateway timeout", "504", 504, "Gateway Timeout"),
        canned("redirect", "302", 302),
        canned("forbidden", "403", 403, "Forbidden"),
        canned("html page", "200", 200, "<html><body>Maintenance</body></html>", "application/pdf"),
        canned("empty", "201", 200, "", "application/pdf"),
        canned("slow", "408", 200, "%PDF-1.4 late", "application/pdf", delay_ms=15000),
    ]
    (HERE / "carte.pdf").write_bytes(card)
    (HERE / "cases.json").write_text(json.dumps({
        "_source": f"Derived by tools/derive_fntp.py from the official API Entreprise sandbox cases ({OPERATION}).",
        "cases": cases,
    }, indent=1, ensure_ascii=False) + "\n")
    (HERE / "cartes.json").write_text(json.dumps({
        "_source": "Derived by tools/derive_fntp.py: the companies with a card (FNTP's recorded one, "
                   "the ping's, the official 200 case's); failures of our own.",
        "cards": cards,
        "answers": answers,
    }, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(pathlib.Path(sys.argv[1]))
