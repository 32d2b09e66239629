#!/usr/bin/env python3
"""Writes the URSSAF (ACOSS) provider's own data files from the shared fixtures:
- crates/entreprise-providers/src/urssaf/cases.json: the official API Entreprise
  sandbox cases of the attestation de vigilance (v3 and v4), which the replay test runs;
- crates/entreprise-providers/src/urssaf/attestations.json: what the simulator answers:
  which company gets which PDF, and canned answers for our failure cases, shaped like
  the real service's recorded answers (cassettes and `server_error.html`);
- crates/entreprise-providers/src/urssaf/pdfs/: the real service's three test
  attestations and what its own tests expect to read in them (copied), and three small documents we write ourselves: the sandbox
  company's attestation (its case's security code and date), a micro-entrepreneur's
  attestation (the real one was withheld: issued to a person) and a PDF without text.

Usage: tools/derive_urssaf.py <fixtures folder> (holding sandbox-cases-entreprise/ and
upstream-entreprise/urssaf/)
"""
import base64
import json
import pathlib
import shutil
import sys

import yaml

HERE = pathlib.Path(__file__).resolve().parent.parent / "crates/entreprise-providers/src/urssaf"
PDFS = HERE / "pdfs"
OPERATIONS = [
    "api_entreprise_v3_acoss_attestations_sociales",
    "api_entreprise_v4_acoss_attestations_sociales",
]
REAL_PDFS = ["basic.pdf", "hospital_bug_on_period.pdf", "valid_multiple_extra_pages.pdf"]


def luhn(number):
    total = 0
    for i, c in enumerate(reversed(number)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def case(folder, path):
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {
        "operation": folder.name,
        "case": path.name,
        "version": int(folder.name.split("_")[2][1:]),
        "params": {k: str(v) for k, v in raw["params"].items()},
        "status": raw["status"],
        "payload": json.loads(raw["payload"]),
    }


def pdf(pages):
    """A minimal uncompressed PDF, one content stream per page, each line a `Tj` of
    WinAnsi text (the encoding of the real attestations)."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", None, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"]
    kids = []
    for lines in pages:
        text = "".join(
            f"1 0 0 1 40 {800 - 14 * i} Tm ({escape(line)}) Tj\n" for i, line in enumerate(lines)
        )
        stream = f"BT /F1 9 Tf\n{text}ET".encode("cp1252")
        objects.append(f"<< /Length {len(stream)} >>\nstream\n".encode("ascii") + stream + b"\nendstream")
        content = len(objects)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents {content} 0 R >>"
        )
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        body = body if isinstance(body, bytes) else body.encode("ascii")
        out += f"{number} 0 obj\n".encode("ascii") + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode("ascii")
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode("ascii")
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode("ascii")
    return bytes(out)


def escape(line):
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def attestation(siren, code, closing_sentence):
    first = ["URSSAF DEMONSTRATION", f"N\u00b0SIREN {siren}", "Page 1/2", "CODE DE S\u00c9CURIT\u00c9", code]
    second = [
        "CODE DE S\u00c9CURIT\u00c9",
        code,
        "ATTESTATION DE L'UNION DE RECOUVREMENT",
        "Le Directeur soussign\u00e9 certifie que l'entreprise est \u00e0 jour de ses obligations",
        closing_sentence,
    ]
    return pdf([first, second])


def sandbox_pdfs(v4_case):
    """The sandbox company's attestation, carrying what its v4 case shows."""
    data = v4_case["payload"]["data"]
    day, month, year = reversed(data["date_debut_validite"].split("-"))
    siren = v4_case["params"]["siren"]
    return {
        f"sandbox_{siren}.pdf": attestation(
            siren,
            data["code_securite"],
            f"en mati\u00e8re de cotisations et contributions sociales \u00e0 la date du {day}/{month}/{year}.",
        ),
        # The micro-entrepreneur wording, with the expectations the real service's tests
        # assert for its withheld document.
        "micro_entrepreneur.pdf": attestation(
            "999999121",
            "KCT3ZDTCBLMHIEK",
            "au titre de la contribution \u00e0 la formation professionnelle - CFP) exigibles au 31/12/2022.",
        ),
        "unreadable.pdf": pdf([[]]),
    }


def canned(status, raw_body, content_type="application/json;charset=UTF-8", delay_ms=0):
    answer = {"status": status, "raw_body": raw_body, "content_type": content_type}
    if delay_ms:
        answer["delay_ms"] = delay_ms
    return answer


def errors(code, message, description):
    return json.dumps([{"code": code, "message": message, "description": description}], ensure_ascii=False)


def failure_answers(fixtures):
    html = (fixtures / "upstream-entreprise/urssaf/server_error.html").read_text(encoding="utf-8")
    not_pdf = base64.b64encode("Ceci n'est pas un PDF.\n".encode("utf-8")).decode("ascii")
    return [
        ("999999006", "refusal to deliver: v3 04503, v4 200 refus_de_delivrance",
         canned(400, errors("FUNC502", "Attestation non délivrable", "La situation du compte ne permet pas de délivrer l'attestation"))),
        ("999999014", "manual review: 04501",
         canned(400, errors("FUNC503", "Analyse manuelle en cours", "Une analyse manuelle de la situation du compte est en cours"))),
        ("999999022", "software processing: 04502",
         canned(400, errors("FUNC504", "Traitement logiciel en cours", "Une demande de traitement logiciel est en cours"))),
        ("999999030", "rate limited upstream: 04008",
         canned(429, errors("FUNC429", "Trop de requêtes", "Le quota de requêtes est dépassé"))),
        ("999999048", "technical error code: 04000",
         canned(400, errors("FUNC511", "Erreur technique", "Une erreur technique est survenue"))),
        ("999999055", "a code the gateway does not know: 04999",
         canned(400, errors("FUNC599", "Erreur", "Code non documenté"))),
        ("999999063", "a JSON object instead of the error array: 04999",
         canned(400, json.dumps({"code": "FUNC517", "message": "Le Siren est inconnu"}))),
        ("999999071", "the HAWAI error page with a 404: 04000",
         canned(404, html, "text/html;charset=UTF-8")),
        ("999999089", "an empty body: 04000", canned(200, "")),
        ("999999097", "garbage instead of base64: v4 04999, v3 04051",
         canned(200, "JVBERi0xLjQK%%%pas du base64%%%")),
        ("999999147", "base64 of something that is not a PDF: 04055", canned(200, not_pdf)),
        ("999999154", "slower than any read timeout: 04002", canned(200, "JVBERi0=", delay_ms=30000)),
        ("999999162", "a 503 from the front: 04001", canned(503, "Service Unavailable", "text/plain")),
    ]


def main():
    fixtures = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/fixtures")
    cases = []
    for name in OPERATIONS:
        folder = fixtures / "sandbox-cases-entreprise" / name
        cases += [case(folder, p) for p in sorted(folder.iterdir()) if p.suffix in (".yaml", ".yml")]
    v4_ok = next(c for c in cases if c["version"] == 4 and c["status"] == 200)

    PDFS.mkdir(exist_ok=True)
    for name in REAL_PDFS + ["expected_extractions.json"]:
        shutil.copyfile(fixtures / "upstream-entreprise/urssaf/pdfs/attestations_vigilance" / name, PDFS / name)
    for name, content in sandbox_pdfs(v4_ok).items():
        (PDFS / name).write_bytes(content)

    documents = [
        {"siren": c["params"]["siren"], "pdf": "basic.pdf"}
        for c in cases
        if c["status"] == 200 and c["version"] == 3
    ]
    documents += [
        {"siren": v4_ok["params"]["siren"], "pdf": f"sandbox_{v4_ok['params']['siren']}.pdf"},
        {"siren": "999999105", "pdf": "hospital_bug_on_period.pdf"},
        {"siren": "999999113", "pdf": "valid_multiple_extra_pages.pdf"},
        {"siren": "999999121", "pdf": "micro_entrepreneur.pdf"},
        {"siren": "999999139", "pdf": "unreadable.pdf"},
    ]
    answers = [{"siren": s, "about": about, "answer": a} for s, about, a in failure_answers(fixtures)]
    for siren in [d["siren"] for d in documents[-4:]] + [a["siren"] for a in answers]:
        assert luhn(siren), siren

    (HERE / "cases.json").write_text(json.dumps({
        "_source": "Derived by tools/derive_urssaf.py from the official API Entreprise sandbox cases "
                   "(api_entreprise_v{3,4}_acoss_attestations_sociales).",
        "cases": cases,
    }, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (HERE / "attestations.json").write_text(json.dumps({
        "_source": "Derived by tools/derive_urssaf.py: the official cases' companies and our failure cases. "
                   "Any other SIREN gets URSSAF's recorded FUNC517 answer.",
        "documents": documents,
        "answers": answers,
    }, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(cases)} cases, {len(documents)} documents, {len(answers)} canned answers", file=sys.stderr)


if __name__ == "__main__":
    main()
