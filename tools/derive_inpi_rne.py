#!/usr/bin/env python3
"""Writes the INPI RNE provider's own data files from the shared fixtures:
- crates/entreprise-providers/src/inpi_rne/cases.json: the official API Entreprise sandbox
  cases of the three INPI RNE operations, which the replay test runs;
- crates/entreprise-providers/src/inpi_rne/rne.json: what the simulator answers, in the
  RNE API's own shape: companies (`GET /api/companies/{siren}`), attachments
  (`GET /api/companies/{siren}/attachments`), and canned failures by identifier.

Where the data comes from:
- the official cases' companies are written back in INPI's shape: 552049447 (bénéficiaires
  effectifs case, through the inverse of our mapping, and the extrait case's identity, dirigeant,
  établissement and observation, put into the layout of the recorded PM fixture
  `extrait_rne/valid_rcs_with_observations.json`), 130025265 (actes et bilans case);
- the recorded fixtures (`inpi/rne/beneficiaires_effectifs/*.json`, `extrait_rne/*.json`,
  `actes_bilans/*.json`) under their own SIREN when it passes the Luhn check, else under a
  SIREN of ours (`99997` or `99996` + a tag + `0` + the Luhn key); the BE fixture `valid.json` also
  under the real gateway's ping SIREN 900225095;
- the recorded attachments of 542065479 (the real ping's, cassette
  `cassettes/rne/actes_bilans/valid_siren.yml`), cut to its first ten actes, without its `bilansSaisis` (the
  bilans' figures, 110 kB that nothing reads);
- INPI's `…Present` flags dropped everywhere;
- canned failures of ours (statuses, bodies, delays) under SIRENs `99998…` and document ids
  `ffff…`.

Usage: tools/derive_inpi_rne.py <fixtures folder> (holding sandbox-cases-entreprise/ and
upstream-entreprise/inpi/)
"""
import json
import pathlib
import sys

import yaml

HERE = pathlib.Path(__file__).resolve().parent.parent / "crates/entreprise-providers/src/inpi_rne"
OPERATIONS = [
    "api_entreprise_v3_inpi_rne_actes_bilans",
    "api_entreprise_v3_inpi_rne_beneficiaires_effectifs",
    "api_entreprise_v3_inpi_rne_extrait_rne",
]
PING_SIREN = "900225095"

# The contract's modalités (a JSON pointer under `modalites`) and the RNE field each copies;
# the same table as `mapping.rs`.
MODALITES = [
    ("/detention_de_capital/parts_totale", "detentionPartTotale"),
    ("/detention_de_capital/parts_directes/detention", "detentionPartDirecte"),
    ("/detention_de_capital/parts_directes/pleine_propriete", "partsDirectesPleinePropriete"),
    ("/detention_de_capital/parts_directes/nue_propriete", "partsDirectesNuePropriete"),
    ("/detention_de_capital/parts_indirectes/detention", "detentionPartIndirecte"),
    ("/detention_de_capital/parts_indirectes/par_indivision/total", "partsIndirectesIndivision"),
    ("/detention_de_capital/parts_indirectes/par_indivision/pleine_propriete", "partsIndirectesIndivisionPleinePropriete"),
    ("/detention_de_capital/parts_indirectes/par_indivision/nue_propriete", "partsIndirectesIndivisionNuePropriete"),
    ("/detention_de_capital/parts_indirectes/via_personnes_morales/total", "partsIndirectesPersonnesMorales"),
    ("/detention_de_capital/parts_indirectes/via_personnes_morales/pleine_propriete", "partsIndirectesPmoralesPleinePropriete"),
    ("/detention_de_capital/parts_indirectes/via_personnes_morales/nue_propriete", "partsIndirectesPmoralesNuePropriete"),
    ("/vocation_a_devenir_titulaire_de_parts/parts_directes/pleine_propriete", "vocationTitulaireDirectePleinePropriete"),
    ("/vocation_a_devenir_titulaire_de_parts/parts_directes/nue_propriete", "vocationTitulaireDirecteNuePropriete"),
    ("/vocation_a_devenir_titulaire_de_parts/parts_indirectes/par_indivision/total", "vocationTitulaireIndirecteIndivision"),
    ("/vocation_a_devenir_titulaire_de_parts/parts_indirectes/par_indivision/pleine_propriete", "vocationTitulaireIndirectePleinePropriete"),
    ("/vocation_a_devenir_titulaire_de_parts/parts_indirectes/par_indivision/nue_propriete", "vocationTitulaireIndirecteNuePropriete"),
    ("/vocation_a_devenir_titulaire_de_parts/parts_indirectes/via_personnes_morales/total", "vocationTitulaireIndirectePersonnesMorales"),
    ("/vocation_a_devenir_titulaire_de_parts/parts_indirectes/via_personnes_morales/pleine_propriete", "vocationTitulaireIndirectePmoralesPleinePropriete"),
    ("/vocation_a_devenir_titulaire_de_parts/parts_indirectes/via_personnes_morales/nue_propriete", "vocationTitulaireIndirectePmoralesNuePropriete"),
    ("/droits_de_vote/total", "detentionVoteTotal"),
    ("/droits_de_vote/directes/detention", "detentionVoteDirecte"),
    ("/droits_de_vote/directes/pleine_propriete", "voteDirectePleinePropriete"),
    ("/droits_de_vote/directes/nue_propriete", "voteDirecteNuePropriete"),
    ("/droits_de_vote/directes/usufruit", "voteDirecteUsufruit"),
    ("/droits_de_vote/indirectes/detention", "detentionVoteIndirecte"),
    ("/droits_de_vote/indirectes/par_indivision/total", "voteIndirecteIndivision"),
    ("/droits_de_vote/indirectes/par_indivision/pleine_propriete", "voteIndirecteIndivisionPleinePropriete"),
    ("/droits_de_vote/indirectes/par_indivision/nue_propriete", "voteIndirecteIndivisionNuePropriete"),
    ("/droits_de_vote/indirectes/par_indivision/usufruit", "voteIndirecteIndivisionUsufruit"),
    ("/droits_de_vote/indirectes/via_personnes_morales/total", "voteIndirectePersonnesMorales"),
    ("/droits_de_vote/indirectes/via_personnes_morales/pleine_propriete", "voteIndirectePmoralesPleinePropriete"),
    ("/droits_de_vote/indirectes/via_personnes_morales/nue_propriete", "voteIndirectePmoralesNuePropriete"),
    ("/droits_de_vote/indirectes/via_personnes_morales/usufruit", "voteIndirectePmoralesUsufruit"),
    ("/pouvoirs_de_controle/decision_ag", "detentionPouvoirDecisionAG"),
    ("/pouvoirs_de_controle/nommage_membres_conseil_administratif", "detentionPouvoirNommageMembresConseilAdmin"),
    ("/pouvoirs_de_controle/autres", "detentionAutresMoyensControle"),
    ("/representant_legal", "beneficiaireRepresentantLegal"),
    ("/representant_legal_placement_sans_gestion_deleguee", "representantLegalPlacementSansGestionDelegue"),
]
BILAN_TYPES = {"bilan complet": "C", "bilan simplifié": "S", "bilan consolidé": "K"}


def luhn_ok(digits):
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def luhn_key(prefix):
    return next(prefix + k for k in "0123456789" if luhn_ok(prefix + k))


def ours(prefix, tag):
    return luhn_key(f"{prefix}{tag:02d}0")


def pointer_get(value, pointer):
    for part in pointer.strip("/").split("/"):
        value = value[part]
    return value


def read_cases(root):
    cases = []
    for operation in OPERATIONS:
        for path in sorted((root / "sandbox-cases-entreprise" / operation).glob("*.yaml")):
            raw = yaml.safe_load(path.read_text())
            cases.append({
                "operation": operation,
                "case": path.name,
                "version": 3,
                "params": raw["params"],
                "status": raw["status"],
                "payload": json.loads(raw["payload"]),
            })
    return cases


def beneficiaire(item):
    """An RNE beneficial owner from one of the case's items."""
    data = item["data"]
    person = {
        "dateDeNaissance": f"{data['date_naissance']['annee']}-{data['date_naissance']['mois']}",
        "nom": data["nom"].title(),
        "prenoms": data["prenoms"],
        "nationalite": data["nationalite"],
    }
    if data["nom_usage"] is not None:
        person["nomUsage"] = data["nom_usage"].title()
    modalite = {key: pointer_get(data["modalites"], pointer) for pointer, key in MODALITES}
    return {
        "beneficiaireId": data["beneficiaire_uuid"],
        "beneficiaire": {"descriptionPersonne": person, "adresseDomicile": {"pays": data["pays_residence"]}},
        "modalite": modalite,
    }


def case_company(extrait_company, be_case):
    """The company behind the bénéficiaires effectifs and extrait cases (552049447): the
    record from which our extrait mapping gives the extrait case (`extrait_case_company.json`,
    derived with that mapping's tests), with the owners of the bénéficiaires effectifs case."""
    company = {k: v for k, v in extrait_company.items() if k != "_source"}
    pm = company["formality"]["content"]["personneMorale"]
    pm["beneficiairesEffectifs"] = [beneficiaire(item) for item in be_case["payload"]["data"]]
    company["nombreBeneficiairesEffectifsActifs"] = len(pm["beneficiairesEffectifs"])
    return company


def case_attachments(case):
    """The attachments behind the actes et bilans case (130025265)."""
    data = case["payload"]["data"]
    siren = case["params"]["siren"]
    actes = [{
        "updatedAt": f"{a['date_mise_a_jour']}T09:30:00+01:00", "siren": siren, "denomination": "UNITE DU BAC A SABLE",
        "dateDepot": a["date_depot"], "numChrono": f"{40000 + i}", "nomDocument": a["nom_document"],
        "confidentiality": "Public", "deleted": False, "id": a["id"],
        "typeRdd": [{"typeActe": t["type_acte"], **({"decision": t["type_decision"]} if "type_decision" in t else {})}
                    for t in a["types_actes"]],
    } for i, a in enumerate(data["actes"])]
    bilans = [{
        "updatedAt": f"{b['date_mise_a_jour']}T09:30:00+01:00", "siren": siren, "denomination": "UNITE DU BAC A SABLE",
        "dateDepot": b["date_depot"], "nomDocument": b["nom_document"], "confidentiality": "Public", "deleted": False,
        "numNat": f"K0005{i:07d}", "id": b["id"], "dateCloture": b["date_cloture"], "typeBilan": BILAN_TYPES[b["type"]],
        "version": "2.0",
    } for i, b in enumerate(data["bilans"])]
    return {"actes": actes, "bilans": bilans}


def without_flags(value):
    """Drops INPI's `…Present` booleans (one per field, saying whether it is filled), which
    nothing reads, to keep the file small."""
    if isinstance(value, dict):
        return {k: without_flags(v) for k, v in value.items() if not k.endswith("Present")}
    if isinstance(value, list):
        return [without_flags(v) for v in value]
    return value


def resiren(company, siren):
    company = without_flags(company)
    company["siren"] = company["formality"]["siren"] = siren
    for kind in ("personneMorale", "personnePhysique"):
        entreprise = company["formality"]["content"].get(kind, {}).get("identite", {}).get("entreprise")
        if entreprise is not None:
            entreprise["siren"] = siren
    return company


def failures():
    """Canned answers of ours: SIRENs `99998…` for the company and attachments routes,
    24-hex ids `ffff…` for the document downloads."""
    siren = lambda tag: ours("99998", tag)
    doc = lambda tag: f"ffffffffffffffffffff{tag:04d}"
    html = "<html><body>Service momentanément indisponible</body></html>"
    return [
        {"name": "not json", "id": siren(1), "answer": {"status": 200, "raw_body": html, "content_type": "text/html"}},
        {"name": "rate limited", "id": siren(2), "answer": {"status": 429, "body": {"code": 429, "message": "Too Many Requests"}}},
        {"name": "server error", "id": siren(3), "answer": {"status": 500, "body": {"code": "500", "message": "Internal Server Error"}}},
        {"name": "teapot", "id": siren(4), "answer": {"status": 418}},
        {"name": "unavailable", "id": siren(5), "answer": {"status": 503, "raw_body": html, "content_type": "text/html"}},
        {"name": "gateway timeout", "id": siren(6), "answer": {"status": 504}},
        {"name": "redirect", "id": siren(7), "answer": {"status": 302, "location": "https://www.inpi.fr/"}},
        {"name": "slow", "id": siren(8), "answer": {"status": 200, "delay_ms": 3000, "body": {}}},
        {"name": "empty object", "id": siren(9), "answer": {"status": 200, "body": {}}},
        {"name": "no documents", "id": siren(10), "answer": {"status": 200, "body": {"actes": [], "bilans": []}}},
        {"name": "not a company", "id": siren(11), "answer": {"status": 200, "body": {"formality": "none"}}},
        {"name": "bad acte", "id": siren(12), "answer": {"status": 200, "body": {"actes": [{"id": 12}], "bilans": []}}},
        {"name": "document not pdf", "id": doc(1), "answer": {"status": 200, "raw_body": html, "content_type": "application/pdf"}},
        {"name": "document forbidden", "id": doc(2), "answer": {"status": 403, "raw_body": "<html>Attention Required! | Cloudflare</html>", "content_type": "text/html"}},
        {"name": "document gone", "id": doc(3), "answer": {"status": 404, "body": {"code": "404", "message": "Impossible de trouver la ressource demandée", "type": "notFound"}}},
        {"name": "document rate limited", "id": doc(4), "answer": {"status": 429}},
        {"name": "document server error", "id": doc(5), "answer": {"status": 500}},
        {"name": "document unavailable", "id": doc(6), "answer": {"status": 503}},
    ]


def main(root):
    root = pathlib.Path(root)
    inpi = root / "upstream-entreprise/inpi/rne"
    cases = read_cases(root)
    by_name = {(c["operation"], c["status"]): c for c in cases}
    be_case = by_name[("api_entreprise_v3_inpi_rne_beneficiaires_effectifs", 200)]
    extrait_case = by_name[("api_entreprise_v3_inpi_rne_extrait_rne", 200)]
    actes_case = by_name[("api_entreprise_v3_inpi_rne_actes_bilans", 200)]

    companies = []
    tag = iter(range(1, 99))
    extrait_company = json.loads((HERE / "extrait_case_company.json").read_text())
    assert extrait_company["siren"] == extrait_case["params"]["siren"] == be_case["params"]["siren"]
    companies.append({"name": "official cases (bénéficiaires effectifs, extrait)", "siren": be_case["params"]["siren"],
                      "company": case_company(extrait_company, be_case)})
    fixtures = sorted((inpi / "beneficiaires_effectifs").glob("*.json")) + sorted((inpi / "extrait_rne").glob("*.json"))
    for path in fixtures:
        company = json.loads(path.read_text())
        siren = company["siren"]
        taken = any(c["siren"] == siren for c in companies)
        if not luhn_ok(siren) or taken:
            siren = ours("99997", next(tag))
        name = f"{path.parent.name}/{path.name}"
        companies.append({"name": name, "siren": siren, "company": resiren(company, siren)})
        if name == "beneficiaires_effectifs/valid.json":
            companies.append({"name": f"{name} (ping)", "siren": PING_SIREN, "company": resiren(company, PING_SIREN)})

    attachments = [{"name": "official case", "siren": actes_case["params"]["siren"], "attachments": case_attachments(actes_case)}]
    cassette = yaml.safe_load((root / "upstream-entreprise/inpi/cassettes/rne/actes_bilans/valid_siren.yml").read_text())
    recorded = json.loads(cassette["http_interactions"][1]["response"]["body"]["string"])
    recorded["actes"] = recorded["actes"][:10]
    recorded.pop("bilansSaisis", None)
    attachments.append({"name": "cassette valid_siren.yml (ping, ten first actes, no bilansSaisis)", "siren": "542065479", "attachments": recorded})
    for path in sorted((inpi / "actes_bilans").glob("*.json")):
        body = json.loads(path.read_text())
        siren = ours("99996", next(tag))
        for item in body.get("actes", []) + body.get("bilans", []):
            item["siren"] = siren
        attachments.append({"name": f"actes_bilans/{path.name}", "siren": siren, "attachments": body})

    data = {
        "_source": "Derived by tools/derive_inpi_rne.py from the official API Entreprise sandbox cases "
                   "(api_entreprise_v3_inpi_rne_*) and INPI's recorded answers (upstream-entreprise/inpi); "
                   "failures of our own.",
        "companies": companies,
        "attachments": attachments,
        "answers": failures(),
    }
    (HERE / "rne.json").write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    (HERE / "cases.json").write_text(json.dumps({
        "_source": "Derived by tools/derive_inpi_rne.py from the official API Entreprise sandbox cases "
                   "(api_entreprise_v3_inpi_rne_actes_bilans, _beneficiaires_effectifs, _extrait_rne).",
        "cases": cases,
    }, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
