#!/usr/bin/env python3
"""Derive the DSNJ (service national) simulator data set from the official sandbox cases.

Why: the gateway maps upstream DSNJ answers to public payloads. The simulator needs the
reverse: for each recorded public answer (sandbox case), the upstream answer that makes the
gateway produce it, keyed by the identity pivot the gateway sends. This script reads
  <sandbox>/api_particulier_v3_dsnj_service_national_with_civility/*.y*ml
and writes crates/providers/src/dsnj/people.json (deterministic: sorted by file).
404 cases are left to the simulator's default answer (NON_TROUVE); 409/429/500/503 cases
are not upstream behaviours and are skipped.

Usage: tools/derive_dsnj_people.py [SANDBOX_DIR]   (default: ../shared/fixtures/sandbox-cases
relative to the repo root). Stdlib + PyYAML only.
"""
import unicodedata

from sandbox_cases import REPO, derive_by_identity

OUT = REPO / "crates/providers/src/dsnj/people.json"
FOLDER = "api_particulier_v3_dsnj_service_national_with_civility"
ABOUT = ("Derived from the official sandbox cases by tools/derive_dsnj_people.py; each entry is one "
         "person (identity pivot as the gateway sends it) and the DSNJ upstream's answer")
STATUTS = {"en_regle": "En règle", "pas_en_regle": "Pas en règle",
           "indetermine": "Indéterminé", "non_concerne": "Non concerné"}
HTML_ERROR = "<html><body>Erreur interne du service</body></html>"


class Unmappable(Exception):
    pass


def fold(text):
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def pivot(p):
    """The identity pivot the gateway sends for these query parameters."""
    prenom = str(p["prenoms"][0]).strip()
    pays = str(p["codeCogInseePaysNaissance"])
    commune = p.get("codeCogInseeCommuneNaissance")
    return {
        "given_name": fold(prenom[:1].upper() + prenom[1:].lower()),
        "family_name": fold(str(p["nomNaissance"]).upper()),
        "birthdate": f"{int(p['anneeDateNaissance']):04d}-{int(p['moisDateNaissance']):02d}-"
                     f"{int(p['jourDateNaissance']):02d}",
        "gender": "male" if str(p["sexeEtatCivil"]).upper() == "M" else "female",
        "birthplace": str(commune) if pays == "99100" and commune is not None else None,
        "birthcountry": pays,
    }


def build_answer(status, payload, identite):
    if status == 200:
        data = payload["data"]
        extra = set(data) - {"statut_service_national", "commentaires"}
        if extra:
            raise Unmappable(f"unmappable fields {sorted(extra)}")
        statut = data["statut_service_national"]
        if statut not in STATUTS:
            raise Unmappable(f"unknown statut {statut!r}")
        result = {"code": "OK", "identite_pivot": identite, "en_regle": STATUTS[statut],
                  "complement": data.get("commentaires")}
        return {"status": 200, "body": {"return_code": "OK", "results": [result]}}
    if status == 502:
        sub = str(payload["errors"][0]["code"])[-3:]
        if sub == "999":
            return {"status": 200, "content_type": "text/html", "raw_body": HTML_ERROR}
        if sub == "001":
            return {"status": 503, "body": {"return_code": "ERREUR_TECHNIQUE", "error_msg": "Service indisponible"}}
        raise Unmappable(f"unknown 502 subcode {sub}")
    if status == 504:
        return {"status": 200, "delay_ms": 30000, "body": {}}
    return None


def main():
    derive_by_identity(FOLDER, OUT, ABOUT, pivot, build_answer, Unmappable)


if __name__ == "__main__":
    main()
