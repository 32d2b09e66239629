#!/usr/bin/env python3
"""Writes the VIES provider's own data files from the shared fixtures:
- crates/entreprise-providers/src/vies/cases.json: the official API Entreprise sandbox
  cases of `european_commission_vies`, which the replay test runs;
- crates/entreprise-providers/src/vies/vies.json: what the simulator answers, by French
  VAT number without `FR` (key + SIREN): the numbers VIES knows as valid (the recorded
  one and those of the official 200 cases), and raw answers for failures.

Usage: tools/derive_vies.py <fixtures folder> (holding sandbox-cases-entreprise/ and
upstream-entreprise/vies/)

The recorded failure payloads (IP_BLOCKED, MS_MAX_CONCURRENT_REQ, MS_UNAVAILABLE) carry
the numbers of real companies; each gets a SIREN of its own here (990000xxx, Luhn-valid)
and its `vatNumber` rewritten. The other failures (block page, garbage, slow…) are ours.
"""
import json
import pathlib
import sys


from sandbox_cases import entreprise_cases

HERE = pathlib.Path(__file__).resolve().parent.parent / "crates/entreprise-providers/src/vies"
CASES = HERE / "cases.json"
DATA = HERE / "vies.json"
OPERATION = "api_entreprise_v3_european_commission_vies"
# What a corporate proxy answers when it blocks the call (the gateway looks for the phrase).
BLOCK_PAGE = (
    "<html><head><title>Access denied</title></head><body><h1>Web page blocked</h1>"
    "<p>The page you requested is blocked by the security policy. If you believe this is "
    "an error, please contact your network support team.</p></body></html>"
)


def luhn_valid(digits):
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def sirens(prefix="990000"):
    """Luhn-valid SIRENs 990000xxx, in order."""
    return (f"{prefix}{n:03d}" for n in range(1000) if luhn_valid(f"{prefix}{n:03d}"))


def number(siren):
    """The French VAT number without `FR`: the two-digit key, then the SIREN."""
    return f"{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"


def answer(status, body=None, raw=None, content_type="application/json", delay_ms=0):
    out = {"status": status, "delay_ms": delay_ms}
    if body is not None:
        out["body"] = body
    if raw is not None:
        out["raw_body"] = raw
        out["content_type"] = content_type
    return out


def main(root):
    recorded = root / "upstream-entreprise" / "vies"
    payloads = {p.stem: json.loads(p.read_text()) for p in recorded.glob("*.json")}
    cases = entreprise_cases(root, [OPERATION])
    valid = payloads["valid"]
    registered = [{"vatNumber": valid["vatNumber"], "name": valid["name"], "address": valid["address"]}]
    for case in cases:
        if case["status"] == 200:
            siren = case["params"]["siren"]
            # The case's own `tva_number` (FR82552049447) has a wrong key: VIES knows the
            # computed number (FR35552049447). The case gives no name nor address either.
            registered.append({"vatNumber": number(siren), "name": "---", "address": "---"})
    own = sirens()
    answers = []

    def add(what, canned):
        siren = next(own)
        answers.append({"siren": siren, "vatNumber": number(siren), "what": what, "answer": canned})

    for stem in ("ip_blocked", "max_concurrent_error", "unavailable"):
        siren = next(own)
        body = dict(payloads[stem], vatNumber=number(siren))
        answers.append({"siren": siren, "vatNumber": number(siren), "what": body["userError"],
                        "answer": answer(200, body)})
    valid_body = json.dumps(valid, indent=2)
    add("proxy block page", answer(403, raw=BLOCK_PAGE, content_type="text/html"))
    add("not JSON", answer(200, raw="<html><body>Bad gateway</body></html>", content_type="text/html"))
    add("JSON cut short", answer(200, raw=valid_body[: len(valid_body) // 2]))
    add("unknown userError", answer(200, dict(valid, isValid=False, userError="GLOBAL_MAX_CONCURRENT_REQ")))
    add("no isValid", answer(200, {k: v for k, v in valid.items() if k != "isValid"}))
    add("slow", answer(200, valid, delay_ms=15000))
    add("valid with HTTP 500", answer(500, valid))
    add("MS_UNAVAILABLE with HTTP 503", answer(503, payloads["unavailable"]))
    add("empty 502", answer(502, raw=""))
    for item in answers:
        body = item["answer"].get("body")
        if isinstance(body, dict) and "vatNumber" in body:
            item["answer"]["body"] = dict(body, vatNumber=item["vatNumber"])
    CASES.write_text(json.dumps({
        "_source": f"Derived by tools/derive_vies.py from the official API Entreprise sandbox cases ({OPERATION}).",
        "cases": cases,
    }, indent=1, ensure_ascii=False) + "\n")
    DATA.write_text(json.dumps({
        "_source": "Derived by tools/derive_vies.py: the recorded VIES payloads (upstream-entreprise/vies) "
                   "and the official cases' numbers; failures of our own.",
        "registered": registered,
        "answers": answers,
    }, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(pathlib.Path(sys.argv[1]))
