#!/usr/bin/env python3
"""Writes the Qualifelec provider's own data files from the shared fixtures:
- crates/entreprise-providers/src/qualifelec/cases.json: the official API Entreprise
  sandbox cases of `qualifelec_certificats`, which the replay test runs;
- crates/entreprise-providers/src/qualifelec/certificats.json: what the simulator
  answers: the establishments it knows with their certificates in Qualifelec's own shape
  (the recorded list, under the real gateway's ping SIRET, and the official 200 case's,
  written back with its days as Paris midnights in Unix seconds), the recorded 404 and
  refused-login bodies, and raw answers for failures under SIRETs of ours (`99999` + a
  tag + zeros + the Luhn key).

Usage: tools/derive_qualifelec.py <fixtures folder> (holding sandbox-cases-entreprise/
and upstream-entreprise/qualifelec/)
"""
import datetime
import json
import pathlib
import sys
import zoneinfo


from sandbox_cases import entreprise_cases

HERE = pathlib.Path(__file__).resolve().parent.parent / "crates/entreprise-providers/src/qualifelec"
OPERATION = "api_entreprise_v3_qualifelec_certificats"
PING_SIRET = "42054064300376"
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def luhn_key(prefix):
    for key in "0123456789":
        total = 0
        for i, c in enumerate(reversed(prefix + key)):
            d = int(c) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return prefix + key
    raise ValueError(prefix)


def epoch(day):
    """`2023-02-01` -> the Unix second of that midnight in Paris."""
    if day is None:
        return None
    d = datetime.date.fromisoformat(day)
    return int(datetime.datetime(d.year, d.month, d.day, tzinfo=PARIS).timestamp())


def labelled(items):
    return [{"label": i["label"], "code": i["code"]} for i in items]


def upstream_of(data):
    """One certificate of the official case written back in Qualifelec's shape."""
    q = data["qualification"]
    c = q["classification"]
    out = {
        "url": data["document_url"],
        "label": q["label"],
        "num": data["numero"],
        "rge": data["rge"],
        "start_date": epoch(data["date_debut"]),
        "end_date": epoch(data["date_fin"]),
        "qualification_start_date": epoch(q["date_debut"]),
        "qualification_end_date": epoch(q["date_fin"]),
        "classification": {"label": c["label"], "code": c["code"]} if c["code"] is not None else [],
        "indexes": labelled(q["indices"]),
        "mentions": labelled(q["mentions"]),
        "domains": labelled(q["domaines"]),
    }
    for ours, theirs in [("assurance_decennale", "decennial_insurance"), ("assurance_civile", "liability_insurance")]:
        out[theirs] = data[ours]["nom"]
        out[f"{theirs}_start_date"] = epoch(data[ours]["date_debut"])
        out[f"{theirs}_end_date"] = epoch(data[ours]["date_fin"])
    return out


def canned(name, tag, status, raw=None, content_type="application/json", delay_ms=0):
    answer = {"status": status, "delay_ms": delay_ms}
    if raw is not None:
        answer["raw_body"] = raw
        answer["content_type"] = content_type
    return {"id": luhn_key("99999" + tag + "00000"), "name": name, "answer": answer}


def main(root):
    cases = entreprise_cases(root, [OPERATION])
    fixtures = root / "upstream-entreprise/qualifelec"
    valid = json.loads((fixtures / "valid_siret_with_certificates.json").read_text(encoding="utf-8"))
    establishments = [{"siret": PING_SIRET, "certificates": valid}]
    for case in cases:
        if case["status"] == 200:
            items = [upstream_of(item["data"]) for item in case["payload"]["data"]]
            establishments.append({"siret": case["params"]["siret"], "certificates": items})
    whole = json.dumps(valid, ensure_ascii=False)
    no_url = [{k: v for k, v in valid[0].items() if k != "url"}]
    answers = [
        canned("server error", "500", 500, json.dumps({"code": 500, "message": "Internal Server Error"})),
        canned("unavailable", "503", 503, "Service Unavailable", "text/plain"),
        canned("gateway timeout", "504", 504, "Gateway Timeout", "text/plain"),
        canned("redirect", "302", 302),
        canned("forbidden", "403", 403, json.dumps({"code": 403, "message": "Access Denied."})),
        canned("no certificate", "200", 200, "[]"),
        canned("html page", "201", 200, "<html><body>Maintenance</body></html>", "text/html"),
        canned("cut short", "202", 200, whole[: len(whole) // 2]),
        canned("no url", "203", 200, json.dumps(no_url, ensure_ascii=False)),
        canned("slow", "408", 200, whole, delay_ms=15000),
    ]
    (HERE / "cases.json").write_text(json.dumps({
        "_source": f"Derived by tools/derive_qualifelec.py from the official API Entreprise sandbox cases ({OPERATION}).",
        "cases": cases,
    }, indent=1, ensure_ascii=False) + "\n")
    (HERE / "certificats.json").write_text(json.dumps({
        "_source": "Derived by tools/derive_qualifelec.py: Qualifelec's recorded answers "
                   "(upstream-entreprise/qualifelec) and the official 200 case; failures of our own.",
        "establishments": establishments,
        "not_found": json.loads((fixtures / "404.json").read_text(encoding="utf-8")),
        "unauthorized": {"code": 401, "message": "JWT Token not found"},
        "answers": answers,
    }, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(pathlib.Path(sys.argv[1]))
