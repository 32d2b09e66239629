#!/usr/bin/env python3
"""Derive the France Travail simulator data set from the official sandbox cases.

Why: the gateway maps France Travail's answers to public payloads. The simulator needs the
reverse: for each recorded public answer (sandbox case), the upstream answer that makes the
gateway produce it. This script reads
  <sandbox>/api_particulier_v3_france_travail_{statut,indemnites}_with_identifiant/*.y*ml
then <sandbox>/api_particulier_v2_pole_emploi_{statut,indemnites}/*.y*ml (/api/v2/situations-pole-emploi
and /api/v2/paiements-pole-emploi, served by the v3 endpoints with the same `identifiant`: each v2
body is turned back into the v3 `data` the v2 render reads), and writes
crates/providers/src/france_travail/people.json (deterministic: sorted by folder then file).
404 cases are left to the simulator's default "unknown person" answer; 502/504 cases (and v2 503
`network_error`, v3's 504) become an upstream that fails the same way; 409/429/500/503 are not
upstream behaviours. A v2 case never replaces the login of a v3 case: when they disagree, v3's is
kept and the script says so.

Usage: tools/derive_france_travail_people.py [SANDBOX_DIR]   (default:
../shared/fixtures/sandbox-cases relative to the repo root). Stdlib + PyYAML only.
"""
import sys

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


# ---------------------------------------------------------------------------------
# v2: flat bodies (render.rs `situation_france_travail`, `paiements_france_travail`)

V2_FOLDERS = {"api_particulier_v2_pole_emploi_statut": "statut",
              "api_particulier_v2_pole_emploi_indemnites": "indemnites"}
V2_ADRESSE = {v2: v3 for v3, v2 in ADRESSE.items()}


def v2_statut(body):
    take(body, ["identifiant", "civilite", "nom", "nomUsage", "prenom", "sexe", "codeCertificationCNAV",
                "libelleCategorieInscription", "email", "telephone", "telephone2", "adresse",
                "dateNaissance", "dateInscription", "dateCessationInscription", "codeCategorieInscription"])
    adresse = take(body["adresse"], V2_ADRESSE)
    return {
        "identifiant": body["identifiant"],
        "identite": {"civilite": body["civilite"], "nom_naissance": body["nom"], "nom_usage": body["nomUsage"],
                     "prenom": body["prenom"], "sexe": body["sexe"], "date_naissance": body["dateNaissance"]},
        "contact": {"email": body["email"], "telephone": body["telephone"], "telephone2": body["telephone2"]},
        "adresse": {V2_ADRESSE[k]: v for k, v in adresse.items()},
        "inscription": {"date_debut": body["dateInscription"], "date_fin": body["dateCessationInscription"],
                        "code_certification_cnav": body["codeCertificationCNAV"],
                        "categorie": {"code": body["codeCategorieInscription"],
                                      "libelle": body["libelleCategorieInscription"]}},
    }


def v2_indemnites(body):
    take(body, ["identifiant", "paiements"])
    paiements = []
    for p in body["paiements"]:
        take(p, ["date", "montant", "allocations", "aides", "autres"])
        paiements.append({"date_versement": p["date"], "montant_total": p["montant"],
                          "montant_allocations": p["allocations"], "montant_aides": p["aides"],
                          "montant_autres": p["autres"]})
    return {"identifiant": body["identifiant"], "paiements": paiements}


V2_DATA = {"statut": v2_statut, "indemnites": v2_indemnites}


def v2_answer(service, status, payload, login):
    """The v3 case the v2 one stands for, then what a v3 case gives."""
    if status == 200:
        return build_answer(service, 200, {"data": V2_DATA[service](payload)}, login)
    if status == 503 and payload.get("error") == "network_error":
        return build_answer(service, 504, None, login)
    return None  # 404: the default; other statuses are the gateway's


# Every login of a v3 case, the first kept (as derive_people does).
DEFINED = {}


def person(name, status, params, payload):
    login = str(params.get("identifiant", ""))
    if name in V2_FOLDERS:
        service = V2_FOLDERS[name]
        answer = v2_answer(service, status, payload, login)
    else:
        service = next(s for s in SERVICES if folder(s) == name)
        answer = build_answer(service, status, payload, login)
    if answer is None:
        return None
    key, entry = (service, login.strip().lower()), {"service": service, "login": login, "answer": answer}
    if name not in V2_FOLDERS:
        DEFINED.setdefault(key, entry)
    elif key in DEFINED:
        if DEFINED[key]["answer"] != answer:
            print(f"note: {name}: {service} login {login!r} is a v3 case's, whom this v2 case describes "
                  "otherwise: kept the v3 one", file=sys.stderr)
        return None
    return key, entry


def main():
    # v2 last, so that every v3 login is known when a v2 case names the same one.
    derive_people([folder(s) for s in SERVICES] + sorted(V2_FOLDERS), OUT, ABOUT, person, Unmappable)


if __name__ == "__main__":
    main()
