#!/usr/bin/env python3
"""Writes the PRO BTP provider's own data files from the shared fixtures:
- crates/entreprise-providers/src/probtp/cases.json: the official API Entreprise sandbox
  cases of the attestation and the conformité des cotisations retraite;
- crates/entreprise-providers/src/probtp/probtp.json: what the simulator answers, per
  SIRET and per service (`getAttestationCotisation`, `getStatutCotisation`): the
  recorded answers of the cassettes under their own SIRETs, the same answers under the
  official cases' SIRETs (a 200 gets the eligible company's, a 404 is left unknown, which
  the simulator answers with PRO BTP's `code 8`), and failures under SIRETs of our own
  (valid Luhn key, `99999` prefix) answering alike on both services.

Usage: tools/derive_probtp.py <fixtures folder> (holding upstream-entreprise/ and
sandbox-cases-entreprise/)
"""
import base64
import json
import pathlib
import sys

import yaml

from sandbox_cases import entreprise_cases

HERE = pathlib.Path(__file__).resolve().parent.parent / "crates/entreprise-providers/src/probtp"
OPERATIONS = {
    "api_entreprise_v3_probtp_attestations_cotisation_retraite": "attestation",
    "api_entreprise_v3_probtp_conformites_cotisations_retraite": "eligibilite",
}
SERVICE = {"attestation": "getAttestationCotisation", "eligibilite": "getStatutCotisation"}


class Loader(yaml.SafeLoader):
    """VCR writes non-ASCII bodies as `!binary` (base64)."""


Loader.add_constructor("!binary", lambda loader, node: base64.b64decode(loader.construct_scalar(node)))


def recorded(root, kind):
    """The cassettes of a service: {cassette name: (siret, answer body as JSON)}."""
    out = {}
    for path in sorted((root / "upstream-entreprise/probtp/cassettes" / kind).glob("*.yml")):
        interaction = yaml.load(path.read_text(), Loader)["http_interactions"][0]
        siret = json.loads(interaction["request"]["body"]["string"])["corps"]
        body = interaction["response"]["body"]["string"]
        if isinstance(body, bytes):
            body = body.decode("utf-8")
        assert interaction["response"]["status"]["code"] == 200, path
        out[path.stem] = (siret, json.loads(body))
    return out


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


def answer(status, body=None, raw=None, content_type="application/json", delay_ms=0):
    out = {"status": status, "delay_ms": delay_ms}
    if body is not None:
        out["body"] = body
    if raw is not None:
        out["raw_body"] = raw
        out["content_type"] = content_type
    return out


def failures():
    ok = {"entete": {"code": "0"}, "corps": "00 Compte éligible pour attestation de cotisation"}
    whole = json.dumps(ok, ensure_ascii=False)
    not_pdf = base64.b64encode(b"<html>Attestation</html>").decode()
    return [
        (10, "500", answer(500, raw="Internal Server Error", content_type="text/plain")),
        (11, "code 4, PRO BTP's own failure", answer(200, {"entete": {"code": "4", "message": "Service indisponible"}})),
        (12, "not JSON", answer(200, raw="<html><body>Maintenance</body></html>", content_type="text/html")),
        (13, "JSON cut short", answer(200, raw=whole[: len(whole) // 2])),
        (14, "503", answer(503, raw="Service Unavailable", content_type="text/plain")),
        (15, "504", answer(504, raw="Gateway Timeout", content_type="text/plain")),
        (16, "400", answer(400, {"message": "Bad Request"})),
        (17, "slow", answer(200, ok, delay_ms=15000)),
        (18, "attestation not base64", answer(200, {"entete": {"code": "0"}, "data": "%%% pas du base64 %%%"})),
        (19, "attestation not a PDF", answer(200, {"entete": {"code": "0"}, "data": not_pdf})),
        (20, "another code, no content", answer(200, {"entete": {"code": "2"}})),
        (21, "no entete", answer(200, {"corps": "00 Compte éligible pour attestation de cotisation"})),
    ]


def main(root):
    cases = entreprise_cases(root, OPERATIONS)
    answers = {kind: {} for kind in SERVICE}
    for kind in SERVICE:
        for number, body in recorded(root, kind).values():
            answers[kind][number] = body
    eligible = {kind: recorded(root, kind)["with_eligible_siret"][1] for kind in SERVICE}
    for case in cases:
        if case["status"] == 200:
            kind = OPERATIONS[case["operation"]]
            answers[kind][case["params"]["siret"]] = eligible[kind]
    (HERE / "cases.json").write_text(json.dumps({
        "_source": "Derived by tools/derive_probtp.py from the official API Entreprise sandbox cases ("
                   + ", ".join(OPERATIONS) + ").",
        "cases": cases,
    }, indent=1, ensure_ascii=False) + "\n")
    (HERE / "probtp.json").write_text(json.dumps({
        "_source": "Derived by tools/derive_probtp.py from PRO BTP's recorded answers (cassettes), "
                   "given again under the official cases' SIRETs; failures of our own.",
        "services": {SERVICE[k]: [{"siret": s, "body": b} for s, b in v.items()] for k, v in answers.items()},
        "failures": [{"siret": siret(n), "what": what, "answer": a} for n, what, a in failures()],
    }, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(pathlib.Path(sys.argv[1]))
