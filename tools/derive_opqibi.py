#!/usr/bin/env python3
"""Writes the OPQIBI provider's own data files from the shared fixtures:
- crates/entreprise-providers/src/opqibi/cases.json: the official API Entreprise sandbox
  cases of `opqibi_certifications_ingenierie`, which the replay test runs;
- crates/entreprise-providers/src/opqibi/certificats.json: what the simulator answers:
  the certificates it knows, in OPQIBI's own shape (the recorded one, also under the
  real gateway's ping SIREN, and the official 200 case's, written back), the recorded
  404 text, and raw answers for failures under SIRENs of ours (`99999` + a tag + the
  Luhn key).

Usage: tools/derive_opqibi.py <fixtures folder> (holding sandbox-cases-entreprise/ and
upstream-entreprise/opqibi/)
"""
import json
import pathlib
import sys

import yaml

from sandbox_cases import entreprise_cases

HERE = pathlib.Path(__file__).resolve().parent.parent / "crates/entreprise-providers/src/opqibi"
OPERATION = "api_entreprise_v3_opqibi_certifications_ingenierie"
PING_SIREN = "309103877"


class Loader(yaml.SafeLoader):
    """VCR writes non-UTF-8 texts as `!binary` (base64)."""


Loader.add_constructor("!binary", lambda loader, node: __import__("base64").b64decode(loader.construct_scalar(node)))


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
    path = root / "upstream-entreprise/opqibi/cassettes/certifications_ingenierie" / f"{name}.yml"
    response = yaml.load(path.read_text(), Loader=Loader)["http_interactions"][0]["response"]
    body = response["body"]["string"]
    return body.decode("utf-8") if isinstance(body, bytes) else body


def french_date(iso):
    return "/".join(reversed(iso.split("-"))) if iso else iso


def qualifications(items):
    return [{"CodeQualification": q["code_qualification"], "Nom": q["nom"], "Definition": q["definition"],
             "rge": "1" if q["rge"] else "0"} for q in items]


def upstream_of(data):
    """The official case's `data` written back in OPQIBI's shape."""
    return {
        "numero_certificat": data["numero_certificat"],
        "date_de_delivrance_du_certificat": french_date(data["date_delivrance_certificat"]),
        "duree_de_validite_du_certificat": data["duree_validite_certificat"],
        "assurance": data["assurances"],
        "url": data["url"],
        "qualifications": qualifications(data["qualifications"]),
        "date_de_validite_des_qualification": french_date(data["date_validite_qualifications"]),
        "qualifications_probatoires": qualifications(data["qualifications_probatoires"]),
        "date_de_validite_des_qualifications_probatoires": french_date(data["date_validite_qualifications_probatoires"]),
    }


def canned(name, tag, status, raw=None, content_type="application/json", delay_ms=0):
    answer = {"status": status, "delay_ms": delay_ms}
    if raw is not None:
        answer["raw_body"] = raw
        answer["content_type"] = content_type
    return {"id": luhn_key("99999" + tag), "name": name, "answer": answer}


def main(root):
    cases = entreprise_cases(root, [OPERATION])
    valid_text = recorded(root, "valid_siren")
    valid = json.loads(valid_text)
    certificates = [{"siren": "434717997", "certificate": valid}, {"siren": PING_SIREN, "certificate": valid}]
    for case in cases:
        if case["status"] == 200:
            certificates.append({"siren": case["params"]["siren"], "certificate": upstream_of(case["payload"]["data"])})
    without_number = {k: v for k, v in valid.items() if k != "numero_certificat"}
    answers = [
        canned("server error", "500", 500, "<html><body>Internal Server Error</body></html>", "text/html"),
        canned("unavailable", "503", 503, "Service Unavailable", "text/plain"),
        canned("gateway timeout", "504", 504, "Gateway Timeout", "text/plain"),
        canned("redirect", "302", 302),
        canned("forbidden", "403", 403, "Forbidden", "text/plain"),
        canned("html page", "200", 200, "<html><body>Maintenance</body></html>", "text/html"),
        canned("cut short", "201", 200, valid_text[: len(valid_text) // 2]),
        canned("no number", "202", 200, json.dumps(without_number)),
        canned("slow", "408", 200, valid_text, delay_ms=15000),
    ]
    (HERE / "cases.json").write_text(json.dumps({
        "_source": f"Derived by tools/derive_opqibi.py from the official API Entreprise sandbox cases ({OPERATION}).",
        "cases": cases,
    }, indent=1, ensure_ascii=False) + "\n")
    (HERE / "certificats.json").write_text(json.dumps({
        "_source": "Derived by tools/derive_opqibi.py: OPQIBI's recorded answers "
                   "(upstream-entreprise/opqibi/cassettes) and the official 200 case; failures of our own.",
        "certificates": certificates,
        "not_found": recorded(root, "not_found_siren"),
        "answers": answers,
    }, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(pathlib.Path(sys.argv[1]))
