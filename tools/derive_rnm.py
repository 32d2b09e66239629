#!/usr/bin/env python3
"""Writes the CMA France (RNM) provider's own data files from the shared fixtures:
- crates/entreprise-providers/src/rnm/cases.json: the official API Entreprise sandbox
  cases of `rnm_entreprises_artisanales`, which the replay test runs;
- crates/entreprise-providers/src/rnm/rnm.json: what the simulator answers: the
  register's records (the recorded one, and one per official 200 case written back in
  the upstream's flat shape), the recorded IIS "not found" page, and raw answers for
  failures, keyed by SIRENs of our own (`99900…`, valid keys, no such company).

Usage: tools/derive_rnm.py <fixtures folder> (holding sandbox-cases-entreprise/ and
upstream-entreprise/rnm/)
"""
import base64
import json
import pathlib
import sys

import yaml

from sandbox_cases import entreprise_cases

HERE = pathlib.Path(__file__).resolve().parent.parent / "crates/entreprise-providers/src/rnm"
OPERATION = "api_entreprise_v3_rnm_entreprises_artisanales"


class Loader(yaml.SafeLoader):
    """VCR writes non-UTF-8 bodies and status messages as `!binary` (base64)."""


Loader.add_constructor("!binary", lambda loader, node: base64.b64decode(loader.construct_scalar(node)))


def recorded(root, name):
    path = root / "upstream-entreprise/rnm/cassettes" / f"{name}.yml"
    response = yaml.load(path.read_text(), Loader=Loader)["http_interactions"][0]["response"]
    body = response["body"]["string"]
    return body if isinstance(body, bytes) else body.encode()


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
    valid = json.loads(recorded(root, "valid_siren_json"))
    records = [valid]
    for number, case in enumerate(c for c in cases if c["status"] == 200):
        siren = case["params"]["siren"]
        record = {k: None for k in valid}
        record.update({"id": 900000 + number, "ent_id_siren": siren, "ent_id_num_gestion": siren})
        record.update({"ent_act_" + k: v for k, v in case["payload"]["data"].items()})
        records.append(record)
    not_found = recorded(root, "not_found_siren").decode("latin-1")
    whole = json.dumps(valid, ensure_ascii=False)
    failures = [
        ("500", answer(500, raw="<html><body>Runtime Error</body></html>", content_type="text/html")),
        ("503", answer(503, raw="Service Unavailable", content_type="text/html")),
        ("504", answer(504, raw="Gateway Timeout", content_type="text/html")),
        ("302", answer(302, location="https://rnm.example/maintenance")),
        ("html", answer(200, raw="<html><body>Maintenance</body></html>", content_type="text/html")),
        ("cut", answer(200, raw=whole[: len(whole) // 2])),
        ("empty_id", answer(200, {**valid, "id": ""})),
        ("slow", answer(200, valid, delay_ms=15000)),
    ]
    answers = [{"siren": luhn_complete(f"99900{n:03d}"), "name": name, "answer": a}
               for n, (name, a) in enumerate(failures)]
    (HERE / "cases.json").write_text(json.dumps({
        "_source": f"Derived by tools/derive_rnm.py from the official API Entreprise sandbox cases ({OPERATION}).",
        "cases": cases,
    }, indent=1, ensure_ascii=False) + "\n")
    (HERE / "rnm.json").write_text(json.dumps({
        "_source": "Derived by tools/derive_rnm.py: the register's recorded answers "
                   "(upstream-entreprise/rnm/cassettes) and the official 200 case; failures of our own.",
        "entreprises": records,
        "not_found_page": not_found,
        "answers": answers,
    }, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(pathlib.Path(sys.argv[1]))
