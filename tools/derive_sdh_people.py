#!/usr/bin/env python3
"""Derive the SDH (statut sportif) simulator data set from the official sandbox cases.

Why: the gateway maps the SDH upstream's athlete record to public payloads. The simulator
needs the reverse: for each recorded public answer (sandbox case), the upstream record that
makes the gateway produce it. This script reads
  <sandbox>/api_particulier_v3_sdh_statut_sportif_with_identifiant/*.y*ml
and writes crates/providers/src/sdh/people.json (deterministic: sorted by file).
404 cases are left to the simulator's default (404, empty body); a 422 00366 becomes an
upstream 400; 502/504 cases become an upstream that fails the same way; 409/429/500/503 are
not upstream behaviours.

Note: the current status is the HN fiche whose rights cover the day of the call, so a
recorded case whose period has ended since it was recorded no longer answers as recorded.

Usage: tools/derive_sdh_people.py [SANDBOX_DIR]   (default: ../shared/fixtures/sandbox-cases
relative to the repo root). Stdlib + PyYAML only.
"""

from sandbox_cases import REPO, derive_people

OUT = REPO / "crates/providers/src/sdh/people.json"
FOLDER = "api_particulier_v3_sdh_statut_sportif_with_identifiant"
ABOUT = ("Derived from the official sandbox cases by tools/derive_sdh_people.py; each entry is "
         "one athlete as the SDH upstream would answer for their identifier")
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


def stamp(day):
    return None if day is None else f"{day}T00:00:00"


def number(code):
    """Codes are numbers upstream and strings in the contract."""
    return None if code is None else int(code)


def fiche_hn(statut, fiche_id, person):
    take(statut, ["fiche", "periode", "federation", "etablissement", "region", "categorie", "sportif_de_haut_niveau"])
    periode = take(statut["periode"], ["date_debut_statut", "date_fin_statut"])
    fed = take(statut["federation"], ["code_federation", "nom_federation", "nom_court_federation"])
    cat = take(statut["categorie"], ["code_categorie", "nom_categorie", "valeur"])
    return {"fiche": fiche_id, "personne": person, "debutDroits": stamp(periode["date_debut_statut"]),
            "finDroits": stamp(periode["date_fin_statut"]), "federation": number(fed["code_federation"]),
            "nomFederation": fed["nom_federation"], "nomCourtFederation": fed["nom_court_federation"],
            "categorie": number(cat["code_categorie"]), "libCategorie": cat["nom_categorie"],
            "hautNiveau": statut["sportif_de_haut_niveau"], "valeur": number(cat["valeur"])}


def fiche_sportif(statut, fiche_id, person, active):
    etab = take(statut["etablissement"], ["code_etablissement", "nom_etablissement"])
    region = take(statut["region"], ["code_region", "nom_region"])
    periode = statut["periode"]
    return {"fiche": fiche_id, "personne": person, "active": active,
            "etablissement": number(etab["code_etablissement"]), "nomEtablissement": etab["nom_etablissement"],
            "region": number(region["code_region"]), "nomRegion": region["nom_region"],
            "debut": stamp(periode["date_debut_statut"]), "fin": stamp(periode["date_fin_statut"])}


def record(d, identifiant):
    take(d, ["identite", "est_sportif_de_haut_niveau", "a_ete_sportif_de_haut_niveau",
             "informations_statut", "informations_statuts_precedents"])
    ident = take(d["identite"], ["nom_naissance", "nom_usage", "prenoms", "date_naissance", "sexe"])
    person = int(identifiant)
    fiches_hn, fiches_sportif = [], []
    current = d["informations_statut"]
    if current is not None:
        fiches_hn.append(fiche_hn(current, person * 10, person))
        fiches_sportif.append(fiche_sportif(current, person * 10 + 1, person, True))
    for i, previous in enumerate(d["informations_statuts_precedents"]):
        fiches_hn.append(fiche_hn(previous, previous["fiche"], person))
        fiches_sportif.append(fiche_sportif(previous, person * 10 + 2 + i, person, False))
    return {"id": person, "nom": ident["nom_naissance"], "prenom": ident["prenoms"],
            "nomUsage": ident["nom_usage"], "dateNaissance": stamp(ident["date_naissance"]),
            "sexe": ident["sexe"] == "F", "genre": ident["sexe"],
            "fichesHN": fiches_hn, "fichesClub": [], "fichesSportif": fiches_sportif}


def build_answer(status, payload, identifiant):
    if status == 200:
        return {"status": 200, "body": record(payload["data"], identifiant)}
    if status == 422:
        code = str(payload["errors"][0]["code"])
        if code != "00366":
            raise Unmappable(f"422 {code} is not an upstream refusal")
        return {"status": 400, "body": {"message": "Identifiant invalide"}}
    if status == 502:
        sub = str(payload["errors"][0]["code"])[-3:]
        if sub == "999":
            return {"status": 200, "content_type": "text/html", "raw_body": HTML_ERROR}
        if sub == "001":
            return {"status": 503}
        raise Unmappable(f"unknown 502 subcode {sub}")
    if status == 504:
        return {"status": 200, "delay_ms": 30000, "body": {}}
    return None  # 404 (simulator default), 409, 429, 500, 503: not upstream behaviours


def person(_folder, status, params, payload):
    identifiant = str(params.get("identifiant", ""))
    answer = build_answer(status, payload, identifiant)
    return None if answer is None else (identifiant, {"identifiant": identifiant, "answer": answer})


def main():
    derive_people([FOLDER], OUT, ABOUT, person, Unmappable)


if __name__ == "__main__":
    main()
