#!/usr/bin/env python3
"""Writes the CNETP provider's own data files from the shared fixtures:
- crates/entreprise-providers/src/cnetp/cases.json: the official API Entreprise sandbox
  cases of the CNETP attestation, which the replay test runs;
- crates/entreprise-providers/src/cnetp/attestation.pdf: the recorded attestation, the
  document the simulator serves for every company it knows;
- crates/entreprise-providers/src/cnetp/cnetp.json: what the simulator answers: the
  companies it knows (the recorded one, the official 200 case's, the real gateway's ping
  SIREN), the recorded not-found text, and canned failures under SIRENs of our own
  (Luhn-valid, `99999…`), each named so the tests can find them.

Usage: tools/derive_cnetp.py <fixtures folder> (holding sandbox-cases-entreprise/ and
upstream-entreprise/cnetp/)
"""
import base64
import json
import pathlib
import sys

import yaml

from sandbox_cases import entreprise_cases

HERE = pathlib.Path(__file__).resolve().parent.parent / "crates/entreprise-providers/src/cnetp"
OPERATION = "api_entreprise_v3_cnetp_attestation_cotisations_conges_payes_chomage_intemperies"
CASSETTES = "upstream-entreprise/cnetp/cassettes/attestation_cotisations_conges_payes_chomage_intemperies"
PING_SIREN = "352745749"


class Loader(yaml.SafeLoader):
    """VCR stores binary bodies as `!binary` base64."""


Loader.add_constructor("!binary", lambda loader, node: base64.b64decode(loader.construct_scalar(node)))


def recorded(root, name):
    """The cassette's request SIREN and response (status, body bytes)."""
    text = (root / CASSETTES / f"{name}.yml").read_text()
    interaction = yaml.load(text, Loader=Loader)["http_interactions"][0]
    siren = interaction["request"]["uri"].rsplit("siren=", 1)[1]
    response = interaction["response"]
    return siren, response["status"]["code"], response["body"]["string"]


def luhn_ok(number):
    total = 0
    for i, c in enumerate(reversed(number)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def our_sirens():
    """Luhn-valid SIRENs no company holds, for the canned failures."""
    return (s for s in (f"9999999{n:02d}" for n in range(100)) if luhn_ok(s))


def answer(status, raw=None, content_type="text/html", delay_ms=0):
    out = {"status": status, "delay_ms": delay_ms}
    if raw is not None:
        out["raw_body"] = raw
        out["content_type"] = content_type
    return out


FAILURES = [
    ("server_error", answer(500, "<html><body>Internal Server Error</body></html>")),
    ("unavailable", answer(503, "<html><body>Service Unavailable</body></html>")),
    ("gateway_timeout", answer(504, "<html><body>Gateway Timeout</body></html>")),
    ("refused", answer(401, "")),
    ("redirect", answer(302)),
    ("not_a_pdf", answer(200, "<html><body>Maintenance en cours</body></html>", "application/pdf")),
    ("slow", answer(200, "%PDF-1.4 trop tard", "application/pdf", delay_ms=3000)),
]


def main(root):
    cases = entreprise_cases(root, [OPERATION])
    valid_siren, status, pdf = recorded(root, "valid_siren")
    assert status == 200 and pdf.startswith(b"%PDF-"), "the recorded attestation"
    _, status, not_found = recorded(root, "not_found_siren")
    assert status == 404
    known = [valid_siren, PING_SIREN] + [c["params"]["siren"] for c in cases if c["status"] == 200]
    data = {
        "_source": f"Derived by tools/derive_cnetp.py from the official sandbox cases ({OPERATION}) "
                   "and the CNETP cassettes.",
        "known": sorted(set(known)),
        "not_found": not_found.decode("latin-1"),
        "failures": [{"name": name, "siren": siren, "answer": a}
                     for (name, a), siren in zip(FAILURES, our_sirens())],
    }
    (HERE / "attestation.pdf").write_bytes(pdf)
    (HERE / "cnetp.json").write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    source = {"_source": f"Derived by tools/derive_cnetp.py from the official API Entreprise sandbox cases ({OPERATION}).",
              "cases": cases}
    (HERE / "cases.json").write_text(json.dumps(source, ensure_ascii=False, indent=1) + "\n")
    print(f"{len(cases)} cases, {len(data['known'])} companies, {len(FAILURES)} failures")


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
