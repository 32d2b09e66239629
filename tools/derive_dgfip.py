#!/usr/bin/env python3
"""Writes the DGFIP provider's own data files from the shared fixtures:
- crates/entreprise-providers/src/dgfip/cases.json: the official API Entreprise
  sandbox cases of the DGFIP operations, which the replay test runs;
- crates/entreprise-providers/src/dgfip/adelie.json: what the simulator answers:
  upstream payloads written to produce each case's body, the real service's recorded
  upstream payloads, and our own error cases.

Usage: tools/derive_dgfip.py <fixtures folder> (holding sandbox-cases-entreprise/ and
upstream-entreprise/dgfip/)

Each case keeps its operation, file, version, path parameters, status and payload.
The v4 attestation's dates are computed from the day of the call: the case records
the day it was made (`today`), read from its `date_delivrance_attestation`.
"""
import json
import pathlib
import sys

import yaml

HERE = pathlib.Path(__file__).resolve().parent.parent / "crates/entreprise-providers/src/dgfip"
OUT = HERE / "cases.json"
DATA = HERE / "adelie.json"


def case(folder, path):
    raw = yaml.safe_load(path.read_text())
    payload = json.loads(raw["payload"])
    entry = {
        "operation": folder.name,
        "case": path.name,
        "version": int(folder.name.split("_")[2][1:]),
        "params": {k: str(v) for k, v in raw["params"].items()},
        "status": raw["status"],
        "payload": payload,
    }
    delivered = payload.get("data", {})
    if isinstance(delivered, dict) and "date_delivrance_attestation" in delivered:
        entry["today"] = delivered["date_delivrance_attestation"]
    return entry


def repeated(code, values):
    """Adélie's repeated lines: one entry per value, indexed from 1."""
    return [
        {"code_nref": code, "valeurs": {"indiceRepetition": str(i), "valeur": v}}
        for i, v in enumerate(values, 1)
        if v is not None
    ]


def liasse_of_case_306138900():
    """The liasse whose mapping is the `liasses_fiscales/200.yml` case."""
    return {
        "declarations": [
            {
                "code_regime": "RN",
                "date_declaration": "2012-12-26",
                "fin_exercice": "2012-12-31",
                "duree_exercice": "365 jours",
                "millesime": "201701",
                "numero_imprime": "2033A",
                "imprime": {"donnees": repeated("304651", ["4245", "5672"])},
            }
        ],
        "entreprise": {
            "denomination": "LE CASE 306138900",
            "itip": "100004763104",
            "siren": "306138900",
            "setOcfis": {"numOcfi": "100209489259", "codeObf": "IS", "ROF": "IS1", "regime": "string"},
        },
    }


def liasse_of_case_552049447():
    """Forms 2059-F and 2059-G whose mapping is the `liens_capitalistiques/200.yaml` case.
    Counts and percentages are sent multiplied by 100, as Adélie does."""
    capital = [
        {"code_nref": "309324", "valeur": "100000"},
        {"code_nref": "309323", "valeur": "100"},
        *repeated("304859", ["519243024"]),
        *repeated("304857", ["SNCF PARTICIPATIONS"]),
        *repeated("306875", ["SAS"]),
        *repeated("304860", ["100000"]),
        *repeated("304861", ["10000"]),
        *repeated("304862", ["0002"]),
        *repeated("304863", ["PLACE AUX ETOILES"]),
        *repeated("304865", ["93200"]),
        *repeated("304866", ["SAINT-DENIS"]),
        *repeated("304867", ["FR"]),
    ]
    filiales = [
        {"code_nref": "309327", "valeur": "100"},
        *repeated("304960", ["130007669"]),
        *repeated("304958", ["ANSII"]),
        *repeated("306876", ["SA"]),
        *repeated("304967", ["4200"]),
        *repeated("304961", ["0051 BOULEVARD DE LA TOUR-MAUBOURG"]),
        *repeated("304964", ["75007"]),
        *repeated("304965", ["PARIS"]),
        *repeated("304966", ["FR"]),
    ]
    common = {"code_regime": "RN", "date_declaration": "2023-05-02", "fin_exercice": "2022-12-31", "duree_exercice": "365 jours"}
    return {
        "declarations": [
            {**common, "millesime": "202201", "numero_imprime": "2059F", "imprime": {"donnees": capital}},
            {**common, "millesime": "202201", "numero_imprime": "2059G", "imprime": {"donnees": filiales}},
        ],
        "entreprise": {
            "denomination": "SNCF",
            "itip": "100001234567",
            "siren": "552049447",
            "setOcfis": {"numOcfi": "100209000001", "codeObf": "IS", "rof": "IS1", "regime": "RNGROUPE"},
        },
    }


DICTIONARY_2024 = {
    "dictionnaire": [
        {
            "numero_imprime": "2033A",
            "millesimes": {
                "millesime": "201701",
                "statut_version": "V",
                "declaration": [
                    {
                        "code_absolu": "2006744",
                        "code_EDI": "GR:C889:7111:1:TBX",
                        "code": "GR",
                        "intitule": "Déposé néant",
                        "code_type_donnee": "CCI",
                        "code_nref": "304651",
                    }
                ],
            },
        }
    ]
}

def banque_de_france_dictionaries(recorded):
    """The years of the Banque de France simulator's bilans (see
    tools/derive_banque_de_france.py): the recorded dictionary's form 2051 each year;
    2022 also describes the line of the official bilans case (2051, 304651) as that
    case does."""
    form_2051 = next(form for form in recorded["dictionnaire"] if form["numero_imprime"] == "2051")
    case_line = {**DICTIONARY_2024["dictionnaire"][0]["millesimes"]["declaration"][0]}
    millesimes = form_2051["millesimes"]
    with_case_line = {**form_2051, "millesimes": {**millesimes, "declaration": [*millesimes["declaration"], case_line]}}
    years = [{"annee": year, "answer": {"dictionnaire": [form_2051]}} for year in ("2021", "2020", "2016", "2015")]
    return [{"annee": "2022", "answer": {"dictionnaire": [with_case_line]}}, *years]


TEMPORARY = {"status": 500, "body": {"erreur": {"code": "ERR-TECH", "message": "Erreur technique, veuillez réessayer"}}}


def simulator_data(upstream):
    fixture = lambda name: json.loads((upstream / name).read_text())
    error_page = (upstream / "liasses_fiscales/server_error.html").read_text()
    return {
        "_source": (
            "Derived by tools/derive_dgfip.py. Case companies: payloads written so that the official sandbox "
            "cases of api_entreprise_v{3,4}_dgfip_* come out of the mapping. 130025265 and 30613890000007: "
            "the real service's recorded Adélie payloads (its test fixtures). 99000…: our own error cases."
        ),
        "attestations": [
            {"siren": "418166096", "document": "basic"},
            {"siren": "000000002", "document": "not_delivered"},
            {"siren": "130025265", "document": "basic"},
            {"siren": "990000093", "document": "not_delivered"},
        ],
        "chiffres_affaires": [
            {"siret": "13002526500001", "answer": {"liste_ca": [{"ca": "900001", "dateFinExercice": "2022-12-01T00:00:00+01:00"}]}},
            {"siret": "30613890000007", "answer": fixture("chiffre_affaires/valid.json")},
        ],
        "liasses": [
            {"siren": "306138900", "annee": "2024", "answer": liasse_of_case_306138900()},
            {"siren": "552049447", "annee": "2022", "answer": liasse_of_case_552049447()},
            {"siren": "130025265", "annee": "2017", "answer": fixture("liasses_fiscales/obligation_fiscale_simplified.json")},
            {"siren": "130025265", "annee": "2023", "answer": fixture("liasses_fiscales/liens_capitalistiques.json")},
            {"siren": "990000077", "annee": "2023", "answer": fixture("liasses_fiscales/no_declarations.json")},
        ],
        "dictionnaires": [
            {"annee": "2024", "answer": DICTIONARY_2024},
            {"annee": "2017", "answer": fixture("dictionary.json")},
            {"annee": "2023", "answer": {"dictionnaire": []}},
            *banque_de_france_dictionaries(fixture("dictionary.json")),
        ],
        "answers": [
            {"call": "attestationFiscale", "id": "990000010", "answer": TEMPORARY},
            {"call": "attestationFiscale", "id": "990000028", "answer": {"status": 200, "raw_body": "<html>Maintenance</html>", "content_type": "text/html"}},
            {"call": "attestationFiscale", "id": "990000036", "answer": {"status": 200, "delay_ms": 3000, "raw_body": "%PDF-1.7 late", "content_type": "application/pdf"}},
            {"call": "attestationFiscale", "id": "990000044", "answer": {"status": 503}},
            {"call": "chiffreAffaires", "id": "99000000200008", "answer": TEMPORARY},
            {"call": "chiffreAffaires", "id": "99000000200016", "answer": {"status": 200, "raw_body": "null", "content_type": "application/json"}},
            {"call": "chiffreAffaires", "id": "99000000200024", "answer": {"status": 200, "body": {"liste": []}}},
            {"call": "chiffreAffaires", "id": "99000000200032", "answer": {"status": 204}},
            {"call": "chiffreAffaires", "id": "99000000200040", "answer": {"status": 200, "body": {"liste_ca": []}}},
            {"call": "getLiasseFiscale", "id": "990000051/2023", "answer": {"status": 500, "raw_body": error_page, "content_type": "text/html"}},
            {"call": "getLiasseFiscale", "id": "990000069/2023", "answer": {"status": 503}},
            {"call": "getLiasseFiscale", "id": "990000085/2023", "answer": {"status": 200, "raw_body": "{\"declarations\": [", "content_type": "application/json"}},
        ],
    }


def main():
    fixtures = pathlib.Path(sys.argv[1])
    root = fixtures / "sandbox-cases-entreprise"
    cases = [
        case(folder, path)
        for folder in sorted(root.glob("api_entreprise_v*_dgfip_*"))
        for path in sorted(folder.iterdir())
        if path.suffix in (".yaml", ".yml")
    ]
    out = {
        "_source": "Derived by tools/derive_dgfip.py from the official API Entreprise sandbox cases (api_entreprise_v{3,4}_dgfip_*).",
        "cases": cases,
    }
    OUT.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(cases)} cases written to {OUT}")
    DATA.write_text(json.dumps(simulator_data(fixtures / "upstream-entreprise/dgfip"), indent=1, ensure_ascii=False) + "\n")
    print(f"simulator data written to {DATA}")


if __name__ == "__main__":
    main()
