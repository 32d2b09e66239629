#!/usr/bin/env python3
"""Writes the CIBTP provider's own data files from the shared fixtures:
- crates/entreprise-providers/src/cibtp/cases.json: the official API Entreprise sandbox
  cases of the CIBTP attestation, which the replay test runs;
- crates/entreprise-providers/src/cibtp/attestation.pdf: the recorded attestation, the
  document the simulator serves for every establishment it knows;
- crates/entreprise-providers/src/cibtp/cibtp.json: what the simulator answers: the
  establishments it knows (the recorded one, the official 200 case's), the recorded
  refusal bodies (404 not connected, 422 contributions not paid, with its SIRET), the
  conflict body (409, from the reference's description), and canned failures under
  SIRETs of our own (Luhn-valid, `99999…`), each named so the tests can find them.

Usage: tools/derive_cibtp.py <fixtures folder> (holding sandbox-cases-entreprise/ and
upstream-entreprise/cibtp/)
"""
import base64
import json
import pathlib
import sys

import yaml

from sandbox_cases import entreprise_cases

HERE = pathlib.Path(__file__).resolve().parent.parent / "crates/entreprise-providers/src/cibtp"
OPERATION = "api_entreprise_v3_cibtp_attestation_cotisations_conges_payes_chomage_intemperies"
CASSETTES = "upstream-entreprise/cibtp/cassettes/attestation_cotisations_conges_payes_chomage_intemperies"


def recorded(root, name):
    """The cassette's attestation call: its SIRET, status and body bytes."""
    interactions = yaml.safe_load((root / CASSETTES / f"{name}.yml").read_text())["http_interactions"]
    call = next(i for i in interactions if "attestationmarche" in i["request"]["uri"])
    body = call["response"]["body"]
    raw = base64.b64decode(body["base64_string"]) if "base64_string" in body else body["string"].encode()
    siret = call["request"]["uri"].rsplit("siret=", 1)[1]
    return siret, call["response"]["status"]["code"], raw


def luhn_ok(number):
    total = 0
    for i, c in enumerate(reversed(number)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def our_sirets():
    """Luhn-valid SIRETs no establishment holds, for the canned failures."""
    return (s for s in (f"999999999000{n:02d}" for n in range(100)) if luhn_ok(s))


def answer(status, raw=None, content_type="text/html", delay_ms=0):
    out = {"status": status, "delay_ms": delay_ms}
    if raw is not None:
        out["raw_body"] = raw
        out["content_type"] = content_type
    return out


JSON = "application/json; charset=utf-8"
CONFLICT = {"type": "Fonctionnelle",
            "message": "Conflict - impossibilité de fournir une attestation (exemple: changement de caisse)"}
FAILURES = [
    ("conflict", answer(409, json.dumps(CONFLICT, ensure_ascii=False), JSON)),
    ("server_error", answer(500, "<html><body>Internal Server Error</body></html>")),
    ("bad_request", answer(400, json.dumps({"type": "Technique", "message": "Bad Request"}), JSON)),
    ("unavailable", answer(503, "<html><body>Service Unavailable</body></html>")),
    ("gateway_timeout", answer(504, "<html><body>Gateway Timeout</body></html>")),
    ("redirect", answer(302)),
    ("not_a_pdf", answer(200, "<html><body>Erreur</body></html>", "application/pdf")),
    ("slow", answer(200, "%PDF-1.4 trop tard", "application/pdf", delay_ms=3000)),
]


def main(root):
    cases = entreprise_cases(root, [OPERATION])
    valid_siret, status, pdf = recorded(root, "valid")
    assert status == 200 and pdf.startswith(b"%PDF-"), "the recorded attestation"
    _, status, not_found = recorded(root, "not_found")
    assert status == 404
    unpaid_siret, status, unpaid = recorded(root, "missing_payments")
    assert status == 422
    known = [valid_siret] + [c["params"]["siret"] for c in cases if c["status"] == 200]
    data = {
        "_source": f"Derived by tools/derive_cibtp.py from the official sandbox cases ({OPERATION}) "
                   "and the CIBTP cassettes.",
        "known": sorted(set(known)),
        "not_found": json.loads(not_found),
        "unpaid": {"siret": unpaid_siret, "body": json.loads(unpaid)},
        "failures": [{"name": name, "siret": siret, "answer": a}
                     for (name, a), siret in zip(FAILURES, our_sirets())],
    }
    (HERE / "attestation.pdf").write_bytes(pdf)
    (HERE / "cibtp.json").write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    source = {"_source": f"Derived by tools/derive_cibtp.py from the official API Entreprise sandbox cases ({OPERATION}).",
              "cases": cases}
    (HERE / "cases.json").write_text(json.dumps(source, ensure_ascii=False, indent=1) + "\n")
    print(f"{len(cases)} cases, {len(data['known'])} establishments, {len(FAILURES)} failures")


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
