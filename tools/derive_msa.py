#!/usr/bin/env python3
"""Writes the MSA (conformité des cotisations) provider's own data files from the shared
fixtures:
- crates/entreprise-providers/src/msa/cases.json: the official API Entreprise sandbox
  cases of `msa_conformites_cotisations`, which the replay test runs;
- crates/entreprise-providers/src/msa/msa.json: what the simulator answers. No MSA
  answer was ever recorded, so the records are written in the shape the reference
  describes (`TopRMPResponse` with a one-letter `topRegMarchePublic`): the official
  cases' SIRETs (a 200 gives back its status letter, a 404 the letter `S`), the real
  gateway's ping SIRET, one SIRET per other letter, and raw answers for failures, each
  under a SIRET of our own (valid Luhn key, `99999` prefix).

Usage: tools/derive_msa.py <fixtures folder> (holding sandbox-cases-entreprise/)
"""
import json
import pathlib
import sys


from sandbox_cases import entreprise_cases

HERE = pathlib.Path(__file__).resolve().parent.parent / "crates/entreprise-providers/src/msa"
CASES = HERE / "cases.json"
DATA = HERE / "msa.json"
OPERATION = "api_entreprise_v3_msa_conformites_cotisations"
LETTER = {"up_to_date": "O", "outdated": "N", "under_investigation": "A"}
PING_SIRET = "95086311800010"


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


def record(number, letter):
    return {"TopRMPResponse": {"identifiantDebiteur": number, "topRegMarchePublic": letter}}


def answer(status, body=None, raw=None, content_type="application/json", delay_ms=0):
    out = {"status": status, "delay_ms": delay_ms}
    if body is not None:
        out["body"] = body
    if raw is not None:
        out["raw_body"] = raw
        out["content_type"] = content_type
    return out


def main(root):
    cases = entreprise_cases(root, [OPERATION])
    letters = {PING_SIRET: "O", siret(1): "N", siret(2): "A", siret(3): "X"}
    for case in cases:
        number = case["params"]["siret"]
        letters[number] = LETTER[case["payload"]["data"]["status"]] if case["status"] == 200 else "S"
    proxy_error = {"Erreur": {"Code": "soap:Server", "Message": "502 Bad Gateway"}}
    proxy_timeout = {"Erreur": {"Code": "soap:Server", "Message": "504 Gateway Timeout"}}
    other_error = {"Erreur": {"Code": "soap:Client", "Message": "Requête invalide"}}
    whole = json.dumps(record(siret(10), "O"))
    failures = [
        (10, "500", answer(500, raw="Internal Server Error", content_type="text/plain")),
        (11, "proxy 502 relayed in a 200", answer(200, proxy_error)),
        (12, "proxy 504 relayed in a 500", answer(500, proxy_timeout)),
        (13, "another Erreur", answer(400, other_error)),
        (14, "503", answer(503, raw="Service Unavailable", content_type="text/plain")),
        (15, "504", answer(504, raw="Gateway Timeout", content_type="text/plain")),
        (16, "not JSON", answer(200, raw="<html><body>Maintenance</body></html>", content_type="text/html")),
        (17, "JSON cut short", answer(200, raw=whole[: len(whole) // 2])),
        (18, "no TopRMPResponse", answer(200, {"identifiantDebiteur": siret(18)})),
        (19, "slow", answer(200, record(siret(19), "O"), delay_ms=15000)),
    ]
    CASES.write_text(json.dumps({
        "_source": f"Derived by tools/derive_msa.py from the official API Entreprise sandbox cases ({OPERATION}).",
        "cases": cases,
    }, indent=1, ensure_ascii=False) + "\n")
    DATA.write_text(json.dumps({
        "_source": "Derived by tools/derive_msa.py: the official cases' SIRETs and the ping's, in the "
                   "shape of the upstream reference (§11); other letters and failures of our own.",
        "letters": [{"siret": k, "topRegMarchePublic": v} for k, v in letters.items()],
        "answers": [{"siret": siret(n), "what": what, "answer": a} for n, what, a in failures],
    }, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(pathlib.Path(sys.argv[1]))
