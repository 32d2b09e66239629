#!/usr/bin/env python3
"""Derive the MESRI (statut étudiant) simulator data set from the official sandbox cases.

Why: the gateway maps MESRI's upstream answers to public payloads. The simulator needs the
reverse: for each recorded public answer (sandbox case), the upstream answer that makes the
gateway produce it, keyed by what the gateway sends upstream (the INE, or the civility body).
This script reads
  <sandbox>/api_particulier_v3_mesri_statut_etudiant_with_{civility,ine,france_connect}/*.y*ml
and writes crates/providers/src/mesri/people.json (deterministic: sorted by folder then file).
404 cases are left to the simulator's default "not found"; 502/504 cases become an upstream
failing the same way; 409/429/500/503 are not upstream behaviours and are skipped.

Usage: tools/derive_mesri_people.py [SANDBOX_DIR]   (default: ../shared/fixtures/sandbox-cases
relative to the repo root). Stdlib + PyYAML only.
"""
import json

from sandbox_cases import REPO, derive_people

OUT = REPO / "crates/providers/src/mesri/people.json"
ABOUT = ("Derived from the official sandbox cases by tools/derive_mesri_people.py; each entry is one "
         "student as the MESRI upstream would answer for an INE or a civility body")
FOLDERS = ["api_particulier_v3_mesri_statut_etudiant_with_civility",
           "api_particulier_v3_mesri_statut_etudiant_with_ine",
           "api_particulier_v3_mesri_statut_etudiant_with_france_connect"]
REGIMES = {
    "formation initiale": "RF1", "formation initiale hors apprentissage": "RF2",
    "reprise d'études non financée sans convention": "RF3", "contrat d'apprentissage": "RF4",
    "formation continue": "RF5", "formation continue hors contrat professionnel": "RF6",
    "contrat de professionnalisation": "RF7",
}
HTML_ERROR = "<html><body>Erreur interne du service</body></html>"


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


def inscription(a):
    take(a, ["date_debut", "date_fin", "est_inscrit", "regime_formation",
             "code_cog_insee_commune", "etablissement_etudes"])
    regime = take(a["regime_formation"], ["libelle", "code"])
    if REGIMES.get(regime["libelle"]) != regime["code"]:
        raise Unmappable(f"regime {regime!r} is not in the fixed table")
    etab = take(a["etablissement_etudes"], ["uai", "nom"])
    return {
        "dateDebutInscription": a["date_debut"], "dateFinInscription": a["date_fin"],
        "statut": "inscrit" if a["est_inscrit"] else "admis",
        "codeCommune": a["code_cog_insee_commune"],
        "etablissement": {"uai": etab["uai"], "nomEtablissement": etab["nom"]},
        "regime": regime["libelle"],
    }


def student(data, ine=None):
    take(data, ["identite", "admissions"])
    ident = take(data["identite"], ["nom_naissance", "prenom", "date_naissance"])
    body = {"ine": ine} if ine else {}
    body.update({"nomFamille": ident["nom_naissance"], "prenom": ident["prenom"],
                 "dateNaissance": ident["date_naissance"],
                 "inscriptions": [inscription(a) for a in data["admissions"]]})
    return body


def civility_body(p):
    """What the gateway POSTs for these parameters (transcogage aside)."""
    prenoms = p.get("prenoms") or []
    body = {
        "nomFamille": str(p["nomNaissance"]),
        "prenom1": str(prenoms[0]),
        "dateNaissance": f"{int(p['anneeDateNaissance']):04d}-{int(p['moisDateNaissance']):02d}-"
                         f"{int(p['jourDateNaissance']):02d}",
        "sexe": "2" if str(p["sexeEtatCivil"]).upper() == "F" else "1",
    }
    if p.get("codeCogInseeCommuneNaissance"):
        body["lieuNaissance"] = str(p["codeCogInseeCommuneNaissance"])
    return body


def build_answer(status, payload, ine):
    if status == 200:
        return {"status": 200, "body": student(payload["data"], ine)}
    if status == 502:
        sub = str(payload["errors"][0]["code"])[-3:]
        if sub == "999":
            return {"status": 200, "content_type": "text/html", "raw_body": HTML_ERROR}
        if sub == "001":
            return {"status": 503, "body": {"message": "service indisponible"}}
        raise Unmappable(f"unknown 502 subcode {sub}")
    if status == 504:
        return {"status": 200, "delay_ms": 30000, "body": {}}
    return None  # 404 (simulator default), 409, 429, 500, 503: not upstream behaviours


def with_identite(params, payload):
    """FranceConnect answers carry no identite block: the record gets the identity
    searched (the case's parameters are the identity FranceConnect gives)."""
    prenoms = params["prenoms"]
    identite = {"nom_naissance": str(params["nomNaissance"]), "prenom": str(prenoms[0]),
                "date_naissance": f"{int(params['anneeDateNaissance']):04d}-{int(params['moisDateNaissance']):02d}-"
                                  f"{int(params['jourDateNaissance']):02d}"}
    return {**payload, "data": {**payload["data"], "identite": identite}}


def person(name, status, params, payload):
    by_ine = name.endswith("_with_ine")
    if name.endswith("_with_france_connect") and status == 200:
        payload = with_identite(params, payload)
    ine = str(params["ine"]).upper() if by_ine and status == 200 else None
    answer = build_answer(status, payload, ine)
    if answer is None:
        return None
    who = {"ine": str(params["ine"]).upper()} if by_ine else {"civility": civility_body(params)}
    return json.dumps(who, sort_keys=True), {**who, "answer": answer}


def main():
    derive_people(FOLDERS, OUT, ABOUT, person, Unmappable)


if __name__ == "__main__":
    main()
