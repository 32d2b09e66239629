#!/usr/bin/env python3
"""Derive the GIP-MDS (service civique) simulator data set from the official sandbox cases.

Why: the gateway maps upstream GIP-MDS answers to public payloads. The simulator needs the
reverse: for each recorded public answer (sandbox case), the upstream answer that makes the
gateway produce it, keyed by the search the gateway sends (nom, prenom, dateNaissance).
This script reads
  <sandbox>/api_particulier_v3_gip_mds_service_civique_with_{civility,france_connect}/*.y*ml
and writes crates/providers/src/gip_mds/people.json (deterministic: sorted by file).
404 cases are left to the simulator's default answer (NOT_FOUND_INDIVIDU); 409/429/500/503
cases are not upstream behaviours and are skipped.

Usage: tools/derive_gip_mds_people.py [SANDBOX_DIR]   (default: ../shared/fixtures/sandbox-cases
relative to the repo root). Stdlib + PyYAML only.
"""

from sandbox_cases import REPO, derive_by_identity

OUT = REPO / "crates/providers/src/gip_mds/people.json"
# The FranceConnect cases' parameters are the identity FranceConnect gives.
FOLDERS = ["api_particulier_v3_gip_mds_service_civique_with_civility",
           "api_particulier_v3_gip_mds_service_civique_with_france_connect"]
ABOUT = ("Derived from the official sandbox cases by tools/derive_gip_mds_people.py; each entry is "
         "one person (the search as the gateway sends it) and the GIP-MDS upstream's answer")
STATUS_KEYS = {"contrat_trouve", "organisme_accueil", "date_debut_contrat", "date_fin_contrat"}


class Unmappable(Exception):
    pass


def identite(p):
    return {
        "nom": str(p["nomNaissance"]).upper(),
        "prenom": str(p["prenoms"][0]),
        "dateNaissance": f"{int(p['jourDateNaissance']):02d}{int(p['moisDateNaissance']):02d}"
                         f"{int(p['anneeDateNaissance']):04d}",
    }


def contract(status, current):
    """One upstream contract (with its host organisation) giving this public status."""
    extra = set(status) - STATUS_KEYS
    if extra:
        raise Unmappable(f"unmappable fields {sorted(extra)}")
    fin = status["date_fin_contrat"]
    if not current and fin is None:
        raise Unmappable("a past contract needs an end date")
    # A running contract with an end date is one whose motifRupture is 99.
    motif = "99" if current and fin is not None else (None if current else "01")
    org = status["organisme_accueil"]
    siret = org["siret"]
    return {
        "siren": siret[:9] if siret else None,
        "raisonSociale": org["raison_sociale"],
        "etablissement": [{"siret": siret, "contrat": [{
            "dateDebutContrat": status["date_debut_contrat"], "natureContrat": "89",
            "dateFinContrat": fin, "motifRupture": motif}]}],
    }


def build_answer(status, payload, who):
    if status == 200:
        data = payload["data"]
        if set(data) != {"statut_actuel", "statut_passe"}:
            raise Unmappable(f"unexpected fields {sorted(data)}")
        entreprises = [contract(data[k], k == "statut_actuel")
                       for k in ("statut_actuel", "statut_passe") if data[k]["contrat_trouve"]]
        if not entreprises:
            message = (f"Aucun contrat trouvé conforme aux critères saisis pour l'individu "
                       f"{who['nom']}, {who['prenom'].upper()}, {who['dateNaissance']}.")
            return {"status": 404, "body": {"erreurs": [{"code": "NOT_FOUND_CONTRAT", "message": message}]}}
        return {"status": 200, "body": {
            "individu": {"nomFamilleSngi": who["nom"], "prenomsSngi": who["prenom"].upper(),
                         "dateNaissanceSngi": who["dateNaissance"], "entreprise": entreprises},
            "retour": {"codeRetour": "OK", "message": "Pas d'erreur."}}}
    if status == 502:
        sub = str(payload["errors"][0]["code"])[-3:]
        if sub == "999":
            return {"status": 500, "body": {"erreurs": [{"code": "ERREUR_INTERNE",
                                                          "message": "Erreur interne du service."}]}}
        if sub == "001":
            return {"status": 503, "body": {"erreurs": [{"code": "INDISPONIBLE",
                                                          "message": "Service indisponible."}]}}
        raise Unmappable(f"unknown 502 subcode {sub}")
    if status == 504:
        return {"status": 200, "delay_ms": 30000, "body": {}}
    return None


def main():
    derive_by_identity(FOLDERS, OUT, ABOUT, identite, build_answer, Unmappable)


if __name__ == "__main__":
    main()
