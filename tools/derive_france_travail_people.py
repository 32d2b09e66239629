#!/usr/bin/env python3
"""Derive the France Travail simulator data set from the official sandbox cases.

Why: the gateway maps France Travail's answers to public payloads. The simulator needs the
reverse: for each recorded public answer (sandbox case), the upstream answer that makes the
gateway produce it. This script reads
  <sandbox>/api_particulier_v3_france_travail_{statut,indemnites}_with_identifiant/*.y*ml
and writes crates/providers/src/france_travail/people.json (deterministic: sorted by folder
then file). 404 cases are left to the simulator's default "unknown person" answer; 502/504
cases become an upstream that fails the same way; 409/429/500/503 are not upstream behaviours.

Usage: tools/derive_france_travail_people.py [SANDBOX_DIR]   (default:
../shared/fixtures/sandbox-cases relative to the repo root). Stdlib + PyYAML only.
"""

from sandbox_cases import REPO, derive_people

OUT = REPO / "crates/providers/src/france_travail/people.json"
ABOUT = ("Derived from the official sandbox cases by tools/derive_france_travail_people.py; each "
         "entry is one login as a France Travail service would answer for it")
SERVICES = ("statut", "indemnites")
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


def blank(value):
    """The gateway turns blank strings into null: null goes back as a blank."""
    return " " if value is None else value


def instant(day):
    """`YYYY-MM-DD` back to the upstream's timestamp (Paris midnight)."""
    return None if day is None else f"{day}T00:00:00+01:00"


ADRESSE = {"code_cog_insee_commune": "INSEECommune", "code_postal": "codePostal",
           "ligne_complement_adresse": "ligneComplementAdresse",
           "ligne_complement_destinataire": "ligneComplementDestinataire",
           "ligne_complement_distribution": "ligneComplementDistribution",
           "ligne_nom": "ligneNom", "ligne_voie": "ligneVoie", "localite": "localite"}


def statut(d, login):
    take(d, ["identifiant", "identite", "contact", "adresse", "inscription"])
    if d["identifiant"] != login:
        raise Unmappable("identifiant differs from the parameter")
    ident = take(d["identite"], ["civilite", "nom_naissance", "nom_usage", "prenom", "sexe", "date_naissance"])
    contact = take(d["contact"], ["email", "telephone", "telephone2"])
    adresse = take(d["adresse"], ADRESSE)
    insc = take(d["inscription"], ["date_debut", "date_fin", "code_certification_cnav", "categorie"])
    cat = take(insc["categorie"], ["code", "libelle"])
    body = {
        "adresse": {ADRESSE[k]: blank(v) for k, v in adresse.items() if v is not None or k != "ligne_complement_distribution"},
        "categorieInscription": str(cat["code"]),
        "civilite": ident["civilite"],
        "codeCertificationCNAV": insc["code_certification_cnav"],
        "dateInscription": instant(insc["date_debut"]),
        "dateNaissance": instant(ident["date_naissance"]),
        "email": blank(contact["email"]),
        "libellecategorieInscription": cat["libelle"],
        "nom": ident["nom_naissance"],
        "nomUsage": blank(ident["nom_usage"]),
        "prenom": ident["prenom"],
        "sexe": ident["sexe"],
        "telephone": blank(contact["telephone"]),
    }
    # Optional upstream fields are absent rather than blank, as in the real answers.
    if contact["telephone2"] is not None:
        body["telephone2"] = contact["telephone2"]
    if insc["date_fin"] is not None:
        body["dateCessationInscription"] = instant(insc["date_fin"])
    return body


def indemnites(d, login):
    take(d, ["identifiant", "paiements"])
    if d["identifiant"] != login:
        raise Unmappable("identifiant differs from the parameter")
    paiements = []
    for p in d["paiements"]:
        take(p, ["date_versement", "montant_total", "montant_allocations", "montant_aides", "montant_autres"])
        paiements.append({"datePaiement": instant(p["date_versement"]), "montantPaiement": p["montant_total"],
                          "allocations": p["montant_allocations"], "aides": p["montant_aides"],
                          "autresPaiements": p["montant_autres"]})
    if not paiements:
        raise Unmappable("a 200 needs at least one payment")
    return {"statutInscription": True, "listePaiement": paiements}


BUILDERS = {"statut": statut, "indemnites": indemnites}


def build_answer(service, status, payload, login):
    if status == 200:
        return {"status": 200, "body": BUILDERS[service](payload["data"], login)}
    if status == 502:
        sub = str(payload["errors"][0]["code"])[-3:]
        if sub == "999":
            return {"status": 200, "content_type": "text/html", "raw_body": HTML_ERROR}
        if sub == "001":
            return {"status": 503, "body": {"codeErreur": "503", "messageLog": "Service indisponible"}}
        raise Unmappable(f"unknown 502 subcode {sub}")
    if status == 504:
        return {"status": 200, "delay_ms": 30000, "body": {}}
    return None  # 404 (simulator default), 409, 429, 500, 503: not upstream behaviours


def folder(service):
    return f"api_particulier_v3_france_travail_{service}_with_identifiant"


def person(name, status, params, payload):
    service = next(s for s in SERVICES if folder(s) == name)
    login = str(params.get("identifiant", ""))
    answer = build_answer(service, status, payload, login)
    if answer is None:
        return None
    return (service, login.strip().lower()), {"service": service, "login": login, "answer": answer}


def main():
    derive_people([folder(s) for s in SERVICES], OUT, ABOUT, person, Unmappable)


if __name__ == "__main__":
    main()
