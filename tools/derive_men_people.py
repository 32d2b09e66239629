#!/usr/bin/env python3
"""Derive the MEN scolarités simulator data set from the official sandbox cases.

Why: the gateway maps upstream MEN answers to public payloads. The simulator needs the
reverse: for each recorded public answer (sandbox case), the upstream answer that makes the
gateway produce it. This script reads
  <sandbox>/api_particulier_v{3,4,5}_men_scolarites_with_civility/*.y*ml
then <sandbox>/api_particulier_v2_men_scolarites/*.y*ml (the /api/v2/scolarites route, served by
the v3 endpoint: each v2 call is translated to v3 as crates/particulier/src/v2/mod.rs does, each
v2 body turned back into the v3 `data` the v2 render reads), and writes
crates/providers/src/men/people.json (deterministic: sorted by folder then file).
200 cases become pupils with their upstream payload (a pupil seen in several versions is
merged; v5 adds `code-regime`); 404 cases are left to the simulator's default "not found";
504 cases (and v2 503 `network_error`, v3's 504) become a pupil who answers too late, 502 cases
one who answers a 500. A v2 case never replaces a v3-v5 case's pupil: when they disagree, the
v3-v5 one is kept and the script says so.

Usage: tools/derive_men_people.py [SANDBOX_DIR]   (default: ../shared/fixtures/sandbox-cases
relative to the repo root). Stdlib + PyYAML only.
"""
import json
import sys
from pathlib import Path

import yaml

from sandbox_cases import v2_identity

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "crates/providers/src/men/people.json"
ABOUT = ("Derived from the official sandbox cases by tools/derive_men_people.py; each entry is "
         "one pupil as the MEN scolarités upstream would answer")
FOLDERS = [f"api_particulier_v{v}_men_scolarites_with_civility" for v in (3, 4, 5)]
# Last, so that every v3-v5 pupil is known when a v2 case names the same one.
V2_FOLDER = "api_particulier_v2_men_scolarites"
REGIMES = {
    "0": "Externe libre", "1": "Externe surveillé",
    "2": "Demi-pensionnaire dans l'établissement", "3": "Interne dans l'établissement",
    "4": "Interne externé", "5": "Interne hébergé",
    "6": "Demi-pensionnaire hors l'établissement",
}
# Longer than the gateway's 10 s budget: the gateway answers 504 30002.
SLOW_MS = 12_000


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


def sexe(value):
    if value is None:
        return None
    return 1 if str(value).upper() == "M" else 2


def pupil(params):
    prenoms = params.get("prenoms") or []
    y, m, d = (int(params[k]) for k in ("anneeDateNaissance", "moisDateNaissance", "jourDateNaissance"))
    return {
        "nom": str(params["nomNaissance"]),
        "prenom": str(prenoms[0]),
        "sexe": sexe(params.get("sexeEtatCivil")),
        "date-naissance": f"{y:04d}-{m:02d}-{d:02d}",
        "annee-scolaire": str(params["anneeScolaire"]),
        "code-uai": str(params["codeEtablissement"]),
    }


def put(target, key, value):
    """Absent rather than null, as the upstream omits what it does not know."""
    if value is not None:
        target[key] = value


def upstream_body(data):
    take(data, ["identite", "module_elementaire_formation", "annee_scolaire", "est_scolarise",
                "statut_eleve", "etablissement", "est_boursier", "echelon_bourse",
                "regime_pensionnat"])
    ident = take(data["identite"], ["nom", "prenom", "sexe", "date_naissance"])
    etab = take(data["etablissement"], ["code_uai", "nom", "code_ministere_tutelle"])
    mef = take(data["module_elementaire_formation"], ["code_mef_stat", "libelle"])
    statut = take(data["statut_eleve"], ["code", "libelle"])
    etablissement = {"code-uai": etab["code_uai"]}
    put(etablissement, "nom", etab.get("nom"))
    put(etablissement, "ministere-tutelle", etab.get("code_ministere_tutelle"))
    scolarite = {"est-scolarise": data["est_scolarise"]}
    put(scolarite, "code-mef-stat", mef.get("code_mef_stat"))
    put(scolarite, "libelle-long-mef", mef.get("libelle"))
    regime = data.get("regime_pensionnat")
    if regime is not None:
        take(regime, ["code", "libelle"])
        if REGIMES.get(regime["code"]) != regime.get("libelle"):
            raise Unmappable(f"regime {regime!r} does not follow the BCN labels")
        scolarite["code-regime"] = regime["code"]
    scolarite["statut-eleve"] = {"code": statut["code"], "libelle": statut["libelle"]}
    return {
        "identification": {
            "nom": ident["nom"], "prenom": ident["prenom"], "sexe": sexe(ident["sexe"]),
            "date-naissance": ident["date_naissance"], "etablissement": etablissement,
            "annee-scolaire": data["annee_scolaire"],
        },
        "info-scolarite": scolarite,
        "info-bourse": {"est-boursier": data["est_boursier"], "niveau-bourse": data["echelon_bourse"]},
    }


def v2_params(params):
    """The v3 parameters the v2 route sends."""
    return v2_identity(params)


def v3_data(body):
    """The v3 `data` whose v2 render (render.rs `scolarites`) is `body`. What v2 does not
    show (the MEF, the school's name and ministry) is unknown: null. No `niveau_bourse` is
    an unknown echelon."""
    take(body, ["eleve", "code_etablissement", "annee_scolaire", "est_scolarise", "est_boursier",
                "niveau_bourse", "status_eleve"])
    return {
        "identite": take(body["eleve"], ["nom", "prenom", "sexe", "date_naissance"]),
        "module_elementaire_formation": {"code_mef_stat": None, "libelle": None},
        "annee_scolaire": body["annee_scolaire"],
        "est_scolarise": body["est_scolarise"],
        "statut_eleve": body["status_eleve"],
        "etablissement": {"code_uai": body["code_etablissement"]},
        "est_boursier": body["est_boursier"],
        "echelon_bourse": body.get("niveau_bourse"),
    }


def v2_answer(status, payload):
    """The upstream answer behind a v2 case, or None (404: the default; other statuses are
    the gateway's)."""
    if status == 200:
        return {"status": 200, "body": upstream_body(v3_data(payload))}
    if status == 503 and payload.get("error") == "network_error":
        return {"status": 200, "delay_ms": SLOW_MS, "body": None}
    return None


def shows(v3_body, v2_body):
    """Whether what the v2 case says of a pupil is what the v3 one holds: every member the
    v2 body fills (an unknown echelon fills none)."""
    if isinstance(v2_body, dict) and isinstance(v3_body, dict):
        return all(k in v3_body and shows(v3_body[k], v)
                   for k, v in v2_body.items() if not (k == "niveau-bourse" and v is None))
    return v3_body == v2_body


def merge(old, new, case):
    """The same pupil in several versions: equal but for v5's `code-regime`."""
    strip = lambda b: {**b, "info-scolarite": {k: v for k, v in b["info-scolarite"].items() if k != "code-regime"}}
    if strip(old) != strip(new):
        raise Unmappable(f"{case}: the same pupil answers differently across versions")
    if "code-regime" in new["info-scolarite"]:
        old["info-scolarite"]["code-regime"] = new["info-scolarite"]["code-regime"]


def main():
    sandbox = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO.parent / "shared/fixtures/sandbox-cases"
    people, by_pupil, skipped = [], {}, []
    for folder in FOLDERS + [V2_FOLDER]:
        for path in sorted((sandbox / folder).glob("*.y*ml")):
            case = f"{folder}/{path.name}"
            for doc in yaml.safe_load_all(path.read_text()):
                if not doc:
                    continue
                status = doc["status"]
                if folder == V2_FOLDER:
                    p = pupil(v2_params(doc["params"]))
                    answer = v2_answer(status, json.loads(doc["payload"]))
                    key = json.dumps(p, sort_keys=True)
                    if answer is None:
                        skipped.append(f"{case} ({status})")
                    elif key not in by_pupil:
                        by_pupil[key] = {"cases": [case], "pupil": p, "answer": answer}
                        people.append(by_pupil[key])
                    elif shows(by_pupil[key]["answer"], answer):
                        by_pupil[key]["cases"].append(case)
                    else:
                        print(f"note: {case}: a v3-v5 case's pupil, whom it describes otherwise: kept the v3-v5 one",
                              file=sys.stderr)
                    continue
                p = pupil(doc["params"])
                if status == 200:
                    answer = {"status": 200, "body": upstream_body(json.loads(doc["payload"])["data"])}
                elif status == 504:
                    answer = {"status": 200, "delay_ms": SLOW_MS, "body": None}
                elif status == 502:
                    answer = {"status": 500, "body": {"type": "Erreur backend", "status": "INTERNAL_SERVER_ERROR"}}
                else:
                    skipped.append(f"{case} ({status})")
                    continue
                key = json.dumps(p, sort_keys=True)
                if key in by_pupil:
                    merge(by_pupil[key]["answer"]["body"], answer["body"], case)
                    by_pupil[key]["cases"].append(case)
                    continue
                entry = {"cases": [case], "pupil": p, "answer": answer}
                by_pupil[key] = entry
                people.append(entry)
    OUT.write_text(json.dumps({"about": ABOUT, "people": people}, ensure_ascii=False, indent=2) + "\n")
    print(f"{len(people)} pupils written to {OUT.relative_to(REPO)}; left to the default answer: {', '.join(skipped)}")


if __name__ == "__main__":
    main()
