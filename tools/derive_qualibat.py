#!/usr/bin/env python3
"""Writes the Qualibat provider's own data files from the shared fixtures:
- crates/entreprise-providers/src/qualibat/cases.json: the official API Entreprise
  sandbox cases of the building certification (v3 and v4), which the replay test runs;
- crates/entreprise-providers/src/qualibat/certificats.json: what the simulator answers:
  which establishment gets which PDF, and canned answers for our failure cases;
- crates/entreprise-providers/src/qualibat/pdfs/: one real certificate (the recorded
  company's, encrypted as Qualibat sends them) and small documents we write ourselves:
  the sandbox company's certificate (what its v4 case shows), a two-page certificate
  with an RGE page, and an asbestos certificate (a kind v4 does not read);
- nomenclature.json and insurers.json: the codes' names and the insurers, as far as the
  fixtures show them (the real lists are not in the fixtures).

Usage: tools/derive_qualibat.py <fixtures folder> (holding sandbox-cases-entreprise/ and
upstream-entreprise/qualibat/)
"""
import json
import pathlib
import shutil
import sys

import yaml

HERE = pathlib.Path(__file__).resolve().parent.parent / "crates/entreprise-providers/src/qualibat"
PDFS = HERE / "pdfs"
OPERATIONS = [
    "api_entreprise_v3_qualibat_certifications_batiment",
    "api_entreprise_v4_qualibat_certifications_batiment",
]
# The establishment of the recorded certificate (cassette valid_siret_2).
RECORDED_SIRET = "89785620900019"
RECORDED_PDF = "one_page.pdf"


def luhn(number):
    total = 0
    for i, c in enumerate(reversed(number)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def with_check_digit(prefix):
    """The 14-digit SIRET starting with the 13 digits `prefix` that passes the checksum."""
    return next(prefix + str(d) for d in range(10) if luhn(prefix + str(d)))


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


def escape(line):
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf(pages):
    """A minimal uncompressed PDF, one content stream per page, each line placed by a
    `Tm` and shown by a `Tj` of WinAnsi text."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", None,
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"]
    kids = []
    for lines in pages:
        text = "".join(f"1 0 0 1 40 {800 - 14 * i} Tm ({escape(line)}) Tj\n" for i, line in enumerate(lines))
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


def french(iso):
    year, month, day = iso.split("-")
    return f"{day}/{month}/{year}"


def first_page(data, title="CERTIFICAT QUALIBAT"):
    """Page 1 of a certificate carrying `data` (the v4 shape)."""
    entity = data["entity"]
    travaux, civile = entity["assurance_responsabilite_travaux"], entity["assurance_responsabilite_civile"]
    lines = [
        title,
        "Entreprise de d\u00e9monstration",
        f"\u00c9dit\u00e9 le {french(data['date_emission'])}",
        f"Valable jusqu'au {french(data['date_fin_validite'])}",
        "Assurance Responsabilit\u00e9 Travaux",
        f"{travaux['nom']}{' ' * 10}{travaux['identifiant']}",
        "Assurance Responsabilit\u00e9 Civile",
        f"{civile['nom']}{' ' * 10}{civile['identifiant']}",
        "Code Qualification Date d'attribution",
    ]
    return lines + [entry(c) for c in entity["certifications"] if not c["rge"]]


def entry(certification):
    return f"{certification['code']} {certification['libelle']} {french(certification['date_attribution'])}"


def own_pdfs(v4_case):
    data = v4_case["payload"]["data"]
    rge_data = {
        "date_emission": "2023-03-20",
        "date_fin_validite": "2024-02-05",
        "entity": {
            "assurance_responsabilite_travaux": {"nom": "AXA FRANCE IARD", "identifiant": "0000010556911104"},
            "assurance_responsabilite_civile": {"nom": "AVIVA", "identifiant": "78959636"},
            "certifications": [
                {"code": "3101", "libelle": "Tuiles \u00e0 emboitement", "rge": False, "date_attribution": "2023-06-13"},
                {"code": "8611", "libelle": "Eco Artisan", "rge": False, "date_attribution": "2021-01-18"},
            ],
        },
    }
    rge_page = [
        "CERTIFICAT QUALIBAT - RGE",
        "Reconnu Garant de l'Environnement",
        "Code Qualification Date d'attribution",
        "8611 Eco Artisan 18/01/2023",
    ]
    asbestos = dict(data, entity=data["entity"])
    return {
        "exemple-qualibat.pdf": pdf([first_page(data)]),
        "two_pages_rge.pdf": pdf([first_page(rge_data), rge_page]),
        "amiante.pdf": pdf([first_page(asbestos, "CERTIFICAT QUALIBAT - TRAITEMENT DE L'AMIANTE")]),
    }


def canned(status, raw_body, content_type="application/json", delay_ms=0):
    answer = {"status": status, "raw_body": raw_body, "content_type": content_type}
    if delay_ms:
        answer["delay_ms"] = delay_ms
    return answer


def failure_answers():
    server_error = json.dumps({"detail": "Internal Server Error"})
    return [
        ("9999999000001", "a 500: 06000", canned(500, server_error)),
        ("9999999000002", "a real 404: 06003", canned(404, json.dumps({"detail": "Not Found"}))),
        ("9999999000003", "an empty 200: 06056", canned(200, "", "application/pdf")),
        ("9999999000004", "an HTML page under a 200: 06055", canned(200, "<html>maintenance</html>", "text/html")),
        ("9999999000005", "a 403: 06999", canned(403, json.dumps({"detail": "Forbidden"}))),
        ("9999999000006", "a 503 from the front: 06001", canned(503, "Service Unavailable", "text/plain")),
        ("9999999000007", "slower than any read timeout: 06002", canned(200, "%PDF-1.4", "application/pdf", 30000)),
    ]


def nomenclature(fixtures, v4_case):
    expected = json.loads((fixtures / "upstream-entreprise/qualibat/pdfs/certifications_batiment/expected_extractions.json").read_text(encoding="utf-8"))
    names, insurers = {}, set()
    for item in expected["cases"]:
        entity = item["expected"].get("entity") or {}
        for c in entity.get("certifications") or []:
            names[c["code"]] = c["nom"]
        for key in ("assurance_responsabilite_travaux", "assurance_responsabilite_civile"):
            if (entity.get(key) or {}).get("nom"):
                insurers.add(entity[key]["nom"])
    entity = v4_case["payload"]["data"]["entity"]
    for c in entity["certifications"]:
        names[c["code"]] = c["libelle"]
    insurers |= {entity[k]["nom"] for k in ("assurance_responsabilite_travaux", "assurance_responsabilite_civile")}
    return dict(sorted(names.items())), sorted(insurers)


def main():
    fixtures = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/fixtures")
    cases = []
    for name in OPERATIONS:
        folder = fixtures / "sandbox-cases-entreprise" / name
        cases += [case(folder, p) for p in sorted(folder.iterdir()) if p.suffix in (".yaml", ".yml")]
    v4_ok = next(c for c in cases if c["version"] == 4 and c["status"] == 200)

    PDFS.mkdir(exist_ok=True)
    shutil.copyfile(fixtures / "upstream-entreprise/qualibat/pdfs/certifications_batiment" / RECORDED_PDF, PDFS / RECORDED_PDF)
    for name, content in own_pdfs(v4_ok).items():
        (PDFS / name).write_bytes(content)

    documents = [{"siret": c["params"]["siret"], "pdf": "exemple-qualibat.pdf"} for c in cases if c["status"] == 200]
    documents = [dict(t) for t in {tuple(d.items()) for d in documents}]
    documents += [
        {"siret": RECORDED_SIRET, "pdf": RECORDED_PDF},
        {"siret": with_check_digit("9999999100001"), "pdf": "two_pages_rge.pdf"},
        {"siret": with_check_digit("9999999100002"), "pdf": "amiante.pdf"},
    ]
    answers = [{"siret": with_check_digit(p), "about": about, "answer": a} for p, about, a in failure_answers()]

    (HERE / "cases.json").write_text(json.dumps({
        "_source": "Derived by tools/derive_qualibat.py from the official API Entreprise sandbox cases "
                   "(api_entreprise_v{3,4}_qualibat_certifications_batiment).",
        "cases": cases,
    }, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (HERE / "certificats.json").write_text(json.dumps({
        "_source": "Derived by tools/derive_qualibat.py: the official cases' establishments, the recorded "
                   "certificate and our failure cases. Any other SIRET gets Qualibat's recorded "
                   "'Entreprise non certifiée' answer (a 200).",
        "documents": documents,
        "answers": answers,
    }, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    names, insurers = nomenclature(fixtures, v4_ok)
    (HERE / "nomenclature.json").write_text(json.dumps(names, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (HERE / "insurers.json").write_text(json.dumps(insurers, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for d in documents[1:] + answers:
        print(d["siret"], d.get("about", d.get("pdf")))


if __name__ == "__main__":
    main()
