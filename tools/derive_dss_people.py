#!/usr/bin/env python3
"""Derive the DSS (API Sécurité sociale, CNAV) simulator data set from the official sandbox cases.

Why: the gateway maps upstream DSS answers to public payloads. The simulator needs the
reverse: for each recorded public answer (sandbox case), the upstream answer that makes the
gateway produce it. This script reads
  <sandbox>/api_particulier_v3_cnav_*_with_civility/*.y*ml
  <sandbox>/api_particulier_v3_cnav_*_with_france_connect/*.y*ml
and writes crates/providers/src/dss/people.json (deterministic: sorted by folder then file).
A FranceConnect case's parameters are the identity FranceConnect gives (the FranceConnect
simulator has a citizen for each, see tools/derive_france_connect_people.py); some spell
the birthplace the v2 way (or with a typo), which is read as the v3 name.

Usage: tools/derive_dss_people.py [SANDBOX_DIR]   (default: ../shared/fixtures/sandbox-cases
relative to the repo root). Stdlib + PyYAML only.
"""
import json
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "crates/providers/src/dss/people.json"
ABOUT = ("Derived from the official sandbox cases by tools/derive_dss_people.py; each entry is one "
         "person as the DSS upstream would answer for one prestation")

REGIMES = {"CNAF": "00810011", "MSA": "00171001", "RNCPS": "99430000"}
# Labels as recorded in the upstream fixtures (fixtures/upstream/cnav/*).
LABELS = {
    "FA3101": "RSA non majoré", "FA3102": "RSA majoré",
    "FA3105": "Prime Activité", "FA3106": "Prime Activité majoré",
    "FA1001": "Allocation adultes handicapés", "FA0115": "Allocation de soutien familial",
    "FA1510": "AEEH", "MA1510": "AEEH",
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


def rename(data, mapping):
    take(data, mapping)
    return {mapping[k]: v for k, v in data.items()}


# ---------- query ----------

# Birthplace names some FranceConnect cases use for the v3 ones.
ALIASES = {
    "codeCogInseeCommuneNaissance": ["codeInseeLieuDeNaissance", "codeInseeLieuDaissance"],
    "codeCogInseePaysNaissance": ["codePaysLieuDeNaissance", "codePaysLieuDaissance"],
}


def v3_names(p):
    p = dict(p)
    for name, aliases in ALIASES.items():
        for alias in aliases:
            if alias in p:
                p.setdefault(name, p.pop(alias))
    return p


def birth_date(p):
    y, m, d = p.get("anneeDateNaissance"), p.get("moisDateNaissance"), p.get("jourDateNaissance")
    if y is None:
        m = d = None
    if m is None:
        d = None
    return f"{int(y or 0):04d}-{int(m or 0):02d}-{int(d or 0):02d}"


def build_query(p):
    q = {}
    if p.get("nomNaissance") is not None:
        q["nomNaissance"] = str(p["nomNaissance"])
    if p.get("nomUsage") is not None:
        q["nomUsage"] = str(p["nomUsage"])
    if p.get("prenoms"):
        q["listePrenoms"] = " ".join(str(x) for x in p["prenoms"])
    q["dateNaissance"] = birth_date(p)
    pays = p.get("codeCogInseePaysNaissance")
    if pays is not None and str(pays) == "99100" and p.get("codeCogInseeCommuneNaissance") is not None:
        q["codeLieuNaissance"] = str(p["codeCogInseeCommuneNaissance"])
    if pays is not None:
        q["codePaysNaissance"] = str(pays)
    if p.get("nomCommuneNaissance") is not None:
        q["villeNaissance"] = str(p["nomCommuneNaissance"])
    if p.get("codeCogInseeDepartementNaissance") is not None:
        q["depNaissance"] = str(p["codeCogInseeDepartementNaissance"])
    if p.get("sexeEtatCivil") is not None:
        q["genre"] = str(p["sexeEtatCivil"]).upper()
    return q


# ---------- reverse mapping per prestation ----------

def prestation_item(code, date, qualite="ALLOCATAIRE"):
    return {
        "cd": code, "libelle": LABELS[code], "dtOuvertureDroit": date,
        "etat": {"cd": 10, "libelle": "Actif", "dtEffet": date},
        "qualiteBeneficiaire": qualite,
        "organismeRattachement": {"cd": 1, "libelle": "CAISSE NATIONALE DES ALLOCATIONS FAMILIALES"},
        "organismeGestionnaire": {"cd": 751, "libelle": "CAF DE PARIS"},
    }


def non_beneficiaire():
    return {"indicateur": "NON_BENEFICIAIRE", "dateIndicateur": None, "listePrestation": []}


def simple(code_normal, code_majore=None):
    def build(d):
        keys = ["est_beneficiaire", "date_debut_droit"] + (["avec_majoration"] if code_majore else [])
        take(d, keys)
        if not d["est_beneficiaire"]:
            return non_beneficiaire(), None
        code = code_majore if code_majore and d.get("avec_majoration") else code_normal
        date = d["date_debut_droit"]
        return {"indicateur": "BENEFICIAIRE", "dateIndicateur": date,
                "listePrestation": [prestation_item(code, date)]}, None
    return build


def aeeh(d):
    take(d, ["status", "date_debut_droit"])
    status = d["status"]
    if status == "non_beneficiaire":
        return non_beneficiaire(), None
    codes = {"allocataire": "FA1510", "ouvrant_droit": "MA1510"}
    if status not in codes:
        raise Unmappable(f"unknown status {status!r}")
    date = d["date_debut_droit"]
    return {"indicateur": status.upper(), "dateIndicateur": date,
            "listePrestation": [prestation_item(codes[status], date, status.upper())]}, None


def css(d):
    take(d, ["est_beneficiaire", "avec_participation", "date_debut_droit"])
    if not d["est_beneficiaire"]:
        ind = "NON_BENEFICIAIRE_CSS"
    elif d["avec_participation"]:
        ind = "BENEFICIAIRE_AVEC_PARTICIPATION_FINANCIERE"
    else:
        ind = "BENEFICIAIRE_SANS_PARTICIPATION_FINANCIERE"
    return {"indicateur": ind, "dateIndicateur": d["date_debut_droit"]}, None


PERSON = {"nom_naissance": "nomNaissance", "nom_usage": "nomUsage", "prenoms": "listePrenoms",
          "date_naissance": "dateNaissance", "sexe": "genre"}
ADRESSE = {"destinataire": "identite", "complement_information": "complementInformation",
           "complement_information_geographique": "complementInformationGeo",
           "numero_libelle_voie": "numeroLibelleVoie", "lieu_dit": "lieuDit",
           "code_postal_ville": "codePostalVille", "pays": "pays"}


def family(d, person_map):
    body = {}
    for key in ("allocataires", "enfants"):
        if key in d:
            body[key] = [rename(x, person_map) for x in d[key]]
    if "adresse" in d:
        body["adresse"] = None if d["adresse"] is None else rename(d["adresse"], ADRESSE)
    return body


def quotient_familial(d):
    take(d, ["allocataires", "enfants", "adresse", "quotient_familial"])
    body = family(d, PERSON)
    qf = take(d["quotient_familial"], ["fournisseur", "valeur", "annee", "mois", "annee_calcul", "mois_calcul"])
    if qf["fournisseur"] not in REGIMES:
        raise Unmappable(f"unknown fournisseur {qf['fournisseur']!r}")
    body.update({"quotientFamilial": qf["valeur"], "annee": qf["annee_calcul"], "mois": qf["mois_calcul"]})
    return body, REGIMES[qf["fournisseur"]]


def eaje(d):
    take(d, ["allocataires", "enfants", "adresse", "parametres_calcul_participation_familiale"])
    body = family(d, {**PERSON, "code_cog_insee_commune_naissance": "cogNaissance"})
    pc = take(d["parametres_calcul_participation_familiale"],
              ["nombre_enfants_beneficiaire_aeeh", "nombre_enfants_a_charge", "base_ressources_annuelles"])
    base = take(pc["base_ressources_annuelles"], ["valeur", "annee_calcul"])
    body.update({"nombreBeneficiaireAEH": pc["nombre_enfants_beneficiaire_aeeh"],
                 "nombreEnfantACharge": pc["nombre_enfants_a_charge"],
                 "montantRessources": base["valeur"], "annee": base["annee_calcul"]})
    return body, "00810011"


BUILDERS = {
    "revenu_solidarite_active": simple("FA3101", "FA3102"),
    "prime_activite": simple("FA3105", "FA3106"),
    "allocation_adulte_handicape": simple("FA1001"),
    "allocation_soutien_familial": simple("FA0115"),
    "allocation_enfant_handicape": aeeh,
    "complementaire_sante_solidaire": css,
    "quotient_familial_v2": quotient_familial,
    "participation_familiale_eaje": eaje,
}


# ---------- driver ----------

def build_answer(prestation, status, payload):
    if status == 200:
        if prestation not in BUILDERS:
            raise Unmappable(f"unknown prestation {prestation}")
        body, regime = BUILDERS[prestation](payload["data"])
        answer = {"status": 200}
        if regime:
            answer["regime"] = regime
        answer["body"] = body
        return answer
    if status == 502:
        sub = str(payload["errors"][0]["code"])[-3:]
        if sub == "999":
            return {"status": 200, "content_type": "text/html", "raw_body": HTML_ERROR}
        if sub == "000":
            return {"status": 500, "body": {"errorCode": 50000, "error": "Erreur interne"}}
        if sub == "001":
            return {"status": 503, "body": {"errorCode": 50300, "error": "Service indisponible"}}
        raise Unmappable(f"unknown 502 subcode {sub}")
    if status == 504:
        return {"status": 200, "delay_ms": 30000, "body": {}}
    return None  # 404 (simulator default), 409, 429, 500, 503: not upstream behaviours


def main():
    sandbox = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "../shared/fixtures/sandbox-cases"
    people, seen = [], set()
    folders = sorted(p for p in sandbox.glob("api_particulier_v3_cnav_*_with_civility") if p.is_dir())
    if not folders:
        sys.exit(f"no api_particulier_v3_cnav_*_with_civility folder under {sandbox}")
    folders += sorted(p for p in sandbox.glob("api_particulier_v3_cnav_*_with_france_connect") if p.is_dir())
    for folder in folders:
        x = folder.name[len("api_particulier_v3_cnav_"):].rsplit("_with_", 1)[0]
        prestation = "quotient_familial_v2" if x == "quotient_familial" else x
        files = sorted(f for f in folder.iterdir() if f.suffix in (".yaml", ".yml"))
        for f in files:
            case = f"{folder.name}/{f.name}"
            for doc in yaml.safe_load_all(f.read_text(encoding="utf-8")):
                if not doc:
                    continue
                status = int(doc["status"])
                try:
                    payload = json.loads(doc["payload"]) if doc.get("payload") else {}
                    answer = build_answer(prestation, status, payload)
                except (Unmappable, KeyError, TypeError, IndexError, ValueError) as e:
                    print(f"error: {case} (status {status}): {e!r}", file=sys.stderr)
                    sys.exit(1)
                if answer is None:
                    continue
                query = build_query(v3_names(doc.get("params") or {}))
                key = (prestation, json.dumps(query, sort_keys=True))
                if key in seen:
                    print(f"warning: {case}: duplicate (prestation, query), kept the first", file=sys.stderr)
                    continue
                seen.add(key)
                people.append({"case": case, "prestation": prestation, "query": query, "answer": answer})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"about": ABOUT, "people": people}, indent=2, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    print(f"wrote {len(people)} entries to {OUT.relative_to(REPO)}", file=sys.stderr)


if __name__ == "__main__":
    main()
