#!/usr/bin/env python3
"""Derive the CNOUS (étudiant boursier) simulator data set from the official sandbox cases.

Why: the gateway maps the CNOUS upstream's student record to the public payload. The
simulator needs the reverse: for each recorded public answer (sandbox case), the student
record that makes the gateway produce it, and the search that finds it (an INE, or the
civility body the gateway POSTs). This script reads
  <sandbox>/api_particulier_v{3,4}_cnous_etudiant_boursier_with_{civility,ine,france_connect}/*.y*ml
and writes crates/providers/src/cnous/people.json (deterministic: sorted by folder then file).

404 cases are left to the simulator's default "not found" answer; 502/504 cases would be
reproduced by a failing answer (none exist today); 409/429/500/503 are gateway-side and skipped.

Usage: tools/derive_cnous_people.py [SANDBOX_DIR]   (default: ../shared/fixtures/sandbox-cases
relative to the repo root). Stdlib + PyYAML only.
"""
import json

from sandbox_cases import REPO, derive_people

OUT = REPO / "crates/providers/src/cnous/people.json"
ABOUT = ("Derived from the official sandbox cases by tools/derive_cnous_people.py; each entry is one "
         "student as the CNOUS upstream would answer, found by INE or by civility")
FOLDERS = [f"api_particulier_v{v}_cnous_etudiant_boursier_with_{m}"
           for v in (3, 4) for m in ("civility", "ine")]
FOLDERS += [f"api_particulier_v{v}_cnous_etudiant_boursier_with_france_connect" for v in (3, 4)]
# Birthplace names some FranceConnect cases use for the v3 one.
COMMUNE_ALIASES = ["codeCogInseeCommuneNaissance", "codeInseeLieuDeNaissance"]
SKIPPED = {404, 409, 429, 500, 503}


class Unmappable(Exception):
    pass


def take(data, allowed):
    """Refuse any key we do not know how to map back."""
    if not isinstance(data, dict):
        raise Unmappable(f"expected an object, got {data!r}")
    extra = set(data) - set(allowed)
    if extra:
        raise Unmappable(f"unmappable fields {sorted(extra)}")
    return data


def instant(date, offset):
    """The upstream's ISO datetimes: the date at local midnight."""
    return None if date is None else f"{date}T00:00:00{offset}"


def student(data):
    take(data, ["est_boursier", "statut_boursier", "periode_versement_bourse",
                "etablissement_etudes", "echelon_bourse", "email", "identite"])
    identite = take(data["identite"], ["nom", "prenoms", "date_naissance",
                                       "nom_commune_naissance", "sexe"])
    prenoms = identite["prenoms"]
    if not 1 <= len(prenoms) <= 2:
        raise Unmappable(f"the upstream has two first names, got {prenoms!r}")
    statut = data.get("statut_boursier") or {
        "est_boursier": data["est_boursier"], "est_radie": False, "date_radiation": None}
    take(statut, ["est_boursier", "est_radie", "date_radiation"])
    echelon = take(data["echelon_bourse"], ["echelon", "echelon_bourse_regionale_provisoire"])
    periode = take(data["periode_versement_bourse"], ["date_rentree", "duree"])
    etablissement = take(data["etablissement_etudes"], ["nom_commune", "nom_etablissement"])
    commune = identite["nom_commune_naissance"]
    return {
        "lastName": identite["nom"],
        "firstName": prenoms[0],
        "firstName2": prenoms[1] if len(prenoms) > 1 else None,
        "firstName3": None,
        "birthDate": instant(identite["date_naissance"], "+01:00"),
        "birthPlace": None if commune is None else {"com": None, "libelle": commune},
        "birthPlaceLibelle": None,
        "civility": identite["sexe"],
        "email": data["email"],
        "grantStatus": 1 if echelon["echelon_bourse_regionale_provisoire"] else 0,
        "grantEchelon": echelon["echelon"],
        "studyTown": etablissement["nom_commune"],
        "schoolName": etablissement["nom_etablissement"],
        "backToSchoolDate": instant(periode["date_rentree"], "+02:00"),
        "paymentDuration": periode["duree"],
        "removed": "O" if statut["est_radie"] else "N",
        "removalDate": instant(statut["date_radiation"], "+02:00"),
        "boursier": statut["est_boursier"],
    }


def civility_search(params):
    """The JSON body the gateway POSTs for these identity parameters."""
    take(params, ["nomNaissance", "prenoms", "anneeDateNaissance", "moisDateNaissance",
                  "jourDateNaissance", "sexeEtatCivil", "codeCogInseeCommuneNaissance",
                  "campaignYear"])
    search = {
        "lastName": params["nomNaissance"],
        "firstNames": ", ".join(params["prenoms"]),
        "birthDate": "{:02d}/{:02d}/{:04d}".format(int(params["jourDateNaissance"]),
                                                   int(params["moisDateNaissance"]),
                                                   int(params["anneeDateNaissance"])),
    }
    if params.get("codeCogInseeCommuneNaissance"):
        search["birthPlace"] = str(params["codeCogInseeCommuneNaissance"])
    if params.get("sexeEtatCivil"):
        search["civility"] = str(params["sexeEtatCivil"]).upper()
    return search


def fc_prenoms(params):
    prenoms = params["prenoms"]
    return prenoms.split() if isinstance(prenoms, str) else [str(p) for p in prenoms]


def fc_search(params):
    """The JSON body the gateway sends for the identity FranceConnect gives (the case's
    parameters; see tools/derive_france_connect_people.py)."""
    commune = next((str(params[k]) for k in COMMUNE_ALIASES if params.get(k)), "")
    return {
        "given_name": ", ".join(fc_prenoms(params)),
        "family_name": str(params["nomNaissance"]),
        "birthdate": "{:02d}/{:02d}/{:04d}".format(int(params["jourDateNaissance"]),
                                                   int(params["moisDateNaissance"]),
                                                   int(params["anneeDateNaissance"])),
        "gender": str(params.get("sexeEtatCivil") or "F").upper(),
        "birthplace": commune,
    }


def fc_identite(params):
    """FranceConnect answers carry no identite block: the student record gets the
    identity searched (two first names at most, as the upstream holds)."""
    return {"nom": str(params["nomNaissance"]), "prenoms": fc_prenoms(params)[:2],
            "date_naissance": "{:04d}-{:02d}-{:02d}".format(int(params["anneeDateNaissance"]),
                                                            int(params["moisDateNaissance"]),
                                                            int(params["jourDateNaissance"])),
            "nom_commune_naissance": None, "sexe": params.get("sexeEtatCivil")}


def person(mode, params, payload):
    entry = {}
    if mode == "france_connect":
        entry["franceConnect"] = fc_search(params)
        payload = {"data": {**payload["data"], "identite": fc_identite(params)}}
    elif mode == "ine":
        take(params, ["ine", "campaignYear"])
        entry["ine"] = str(params["ine"]).upper()
    else:
        entry["civility"] = civility_search(params)
    if params.get("campaignYear") is not None:
        entry["campaignYear"] = int(params["campaignYear"])
    entry["student"] = student(payload["data"])
    return entry


def case_person(name, status, params, payload):
    if status in SKIPPED:
        return None
    if status != 200:
        raise Unmappable(f"no failing answer known for status {status}")
    entry = person(name.rsplit("_with_", 1)[1], params, payload)
    return json.dumps({k: v for k, v in entry.items() if k != "student"}, sort_keys=True), entry


def main():
    derive_people(FOLDERS, OUT, ABOUT, case_person, Unmappable)


if __name__ == "__main__":
    main()
