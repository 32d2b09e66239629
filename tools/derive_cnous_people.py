#!/usr/bin/env python3
"""Derive the CNOUS (étudiant boursier) simulator data set from the official sandbox cases.

Why: the gateway maps the CNOUS upstream's student record to the public payload. The
simulator needs the reverse: for each recorded public answer (sandbox case), the student
record that makes the gateway produce it, and the search that finds it (an INE, or the
civility body the gateway POSTs). This script reads
  <sandbox>/api_particulier_v{3,4}_cnous_etudiant_boursier_with_{civility,ine,france_connect}/*.y*ml
then <sandbox>/api_particulier_v2_cnous_student_scholarship/*.y*ml (the /api/v2/etudiants-boursiers
route, served by the v3 endpoint: each v2 call is translated to v3 as crates/particulier/src/v2/mod.rs
does, each v2 body turned back into the v3 `data` the v2 render reads), and writes
crates/providers/src/cnous/people.json (deterministic: sorted by folder then file). A v2 case never
replaces the person of a v3/v4 case: when they disagree, v3's is kept and the script says so.

404 cases are left to the simulator's default "not found" answer; 502/504 cases would be
reproduced by a failing answer (none exist in v3/v4; a v2 503 `network_error` is v3's 504 and
becomes a student who answers too late); 409/429/500/503 are gateway-side and skipped.

Usage: tools/derive_cnous_people.py [SANDBOX_DIR]   (default: ../shared/fixtures/sandbox-cases
relative to the repo root). Stdlib + PyYAML only.
"""
import json
import sys

from sandbox_cases import REPO, derive_people, v2_identity

OUT = REPO / "crates/providers/src/cnous/people.json"
ABOUT = ("Derived from the official sandbox cases by tools/derive_cnous_people.py; each entry is one "
         "student as the CNOUS upstream would answer, found by INE or by civility")
FOLDERS = [f"api_particulier_v{v}_cnous_etudiant_boursier_with_{m}"
           for v in (3, 4) for m in ("civility", "ine")]
FOLDERS += [f"api_particulier_v{v}_cnous_etudiant_boursier_with_france_connect" for v in (3, 4)]
# Last, so that every v3/v4 person is known when a v2 case names the same one.
V2_FOLDER = "api_particulier_v2_cnous_student_scholarship"
FOLDERS.append(V2_FOLDER)
# Birthplace names some FranceConnect cases use for the v3 one.
COMMUNE_ALIASES = ["codeCogInseeCommuneNaissance", "codeInseeLieuDeNaissance"]
SKIPPED = {404, 409, 429, 500, 503}
# Longer than the gateway's 10 s budget (as the synthetic slow student).
SLOW_MS = 30_000


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


# ---------------------------------------------------------------------------------
# v2 (/api/v2/etudiants-boursiers)

V2_MEMBERS = ["nom", "prenom", "prenom2", "dateNaissance", "lieuNaissance", "sexe", "boursier",
              "echelonBourse", "email", "dateDeRentree", "dureeVersement", "statut", "statutLibelle",
              "villeEtudes", "etablissement"]
# The FranceConnect identity pivot: a v2 case recorded for a FranceConnect call names it.
FC_CLAIMS = ["given_name", "family_name", "birthdate", "gender", "birthplace"]


def v2_params(params):
    """The v3 parameters the v2 route sends."""
    return v2_identity(params)


def v3_data(body):
    """The v3 `data` whose v2 render (render.rs `etudiants_boursiers`) is `body`. The render
    writes `statut` 0 / `définitif` for a final echelon, null / `provisoire (conditionnel)`
    for a provisional one: nothing else can be turned back."""
    take(body, V2_MEMBERS)
    provisoire = {(0, "définitif"): False, (None, "provisoire (conditionnel)"): True}.get(
        (body["statut"], body["statutLibelle"]))
    if provisoire is None:
        raise Unmappable(f"statut {body['statut']!r} / {body['statutLibelle']!r} is not one the render writes")
    return {
        "est_boursier": body["boursier"],
        "periode_versement_bourse": {"date_rentree": body["dateDeRentree"], "duree": body["dureeVersement"]},
        "etablissement_etudes": {"nom_commune": body["villeEtudes"], "nom_etablissement": body["etablissement"]},
        "echelon_bourse": {"echelon": body["echelonBourse"], "echelon_bourse_regionale_provisoire": provisoire},
        "email": body["email"],
        # v2 writes a missing second first name as "".
        "identite": {"nom": body["nom"], "prenoms": [p for p in (body["prenom"], body["prenom2"]) if p],
                     "date_naissance": body["dateNaissance"], "nom_commune_naissance": body["lieuNaissance"],
                     "sexe": body["sexe"]},
    }


def v2_person(status, params, payload):
    """A v2 case as (search, entry), or None; the mode is the one mod.rs's targets pick."""
    if status == 503 and payload.get("error") == "network_error":
        found = {"answer": {"status": 200, "delay_ms": SLOW_MS, "body": None}}  # v3's 504
    elif status == 200:
        found = {"student": student(v3_data(payload))}
    else:
        return None  # 404: the simulator's default; other statuses are the gateway's
    if any(k in params for k in FC_CLAIMS):
        search = {"franceConnect": {k: str(params[k]) for k in FC_CLAIMS if k in params}}
    elif str(params.get("ine", "")).strip():
        search = {"ine": str(params["ine"]).strip().upper()}
    else:
        search = {"civility": civility_search(v2_params(params))}
    return search, {**search, **found}


# The upstream student fields a v2 body shows (v2 has no removal).
V2_VISIBLE = ["lastName", "firstName", "firstName2", "birthDate", "birthPlace", "civility", "email",
              "grantStatus", "grantEchelon", "studyTown", "schoolName", "backToSchoolDate",
              "paymentDuration", "boursier"]
# Every person of a v3/v4 case, by search key, the first kept (as derive_people does).
DEFINED = {}


def same_for_v2(v3_entry, v2_entry):
    if "student" not in v3_entry or "student" not in v2_entry:
        return v3_entry.get("answer") == v2_entry.get("answer")
    return all(v3_entry["student"].get(k) == v2_entry["student"].get(k) for k in V2_VISIBLE)


def case_person(name, status, params, payload):
    if name == V2_FOLDER:
        found = v2_person(status, params, payload)
        if found is None:
            return None
        search, entry = found
        key = json.dumps(search, sort_keys=True)
        if key in DEFINED:
            if not same_for_v2(DEFINED[key], entry):
                print(f"note: {V2_FOLDER}: {key} is a v3/v4 case's person, whom this v2 case "
                      "describes otherwise: kept the v3/v4 one", file=sys.stderr)
            return None
        return key, entry
    if status in SKIPPED:
        return None
    if status != 200:
        raise Unmappable(f"no failing answer known for status {status}")
    entry = person(name.rsplit("_with_", 1)[1], params, payload)
    key = json.dumps({k: v for k, v in entry.items() if k != "student"}, sort_keys=True)
    DEFINED.setdefault(key, entry)
    return key, entry


def main():
    derive_people(FOLDERS, OUT, ABOUT, case_person, Unmappable)


if __name__ == "__main__":
    main()
