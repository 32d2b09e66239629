#!/usr/bin/env python3
"""Derive the DSS (API Sécurité sociale, CNAV) simulator data set from the official sandbox cases.

Why: the gateway maps upstream DSS answers to public payloads. The simulator needs the
reverse: for each recorded public answer (sandbox case), the upstream answer that makes the
gateway produce it. This script reads
  <sandbox>/api_particulier_v3_cnav_*_with_civility/*.y*ml
  <sandbox>/api_particulier_v3_cnav_*_with_france_connect/*.y*ml
and the API Particulier v2 folders
  <sandbox>/api_particulier_v2_cnav_*/*.y*ml
and writes crates/providers/src/dss/people.json (deterministic: v3 folders, then v2 ones,
each sorted by folder then file).
A FranceConnect case's parameters are the identity FranceConnect gives (the FranceConnect
simulator has a citizen for each, see tools/derive_france_connect_people.py); some spell
the birthplace the v2 way (or with a typo), which is read as the v3 name.
A v2 case is a v3 one seen through the v2 route: its parameters are renamed to v3's and
its body is turned back into the v3 `data` (the inverse of crates/particulier/src/v2/render.rs).
A person (prestation and identity, matched as the simulator matches) is defined once: the
first case wins, v3 before v2; a later case giving that person another answer is reported
on stderr, as is each part of a v2 body the gateway cannot give back ("known difference").

Usage: tools/derive_dss_people.py [SANDBOX_DIR]   (default: ../shared/fixtures/sandbox-cases
relative to the repo root). Stdlib + PyYAML only.
"""
import json
import sys
import unicodedata
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


# ---------- v3 answer to upstream answer ----------

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


# ---------- API Particulier v2: back to the v3 data ----------

# v2 parameter names and today's (crates/particulier/src/v2/mod.rs, DSS_NAMES).
V2_NAMES = {
    "anneeDateDeNaissance": "anneeDateNaissance", "moisDateDeNaissance": "moisDateNaissance",
    "jourDateDeNaissance": "jourDateNaissance", "sexe": "sexeEtatCivil",
    "codeInseeLieuDeNaissance": "codeCogInseeCommuneNaissance",
    "codePaysLieuDeNaissance": "codeCogInseePaysNaissance",
    "codeInseeDepartementNaissance": "codeCogInseeDepartementNaissance",
    # Two official cases misspell it; conformance sends it right, as an integrator would.
    "nomNaissange": "nomNaissance",
}


def v2_names(p):
    return {V2_NAMES.get(k, k): v for k, v in p.items()}


def v2_prestation(majoration=False, date_fin=False):
    """Inverse of render.rs `prestation` for the yes/no prestations."""
    def invert(body, gaps):
        take(body, ["status", "dateDebut"] + (["majoration"] if majoration else [])
             + (["dateFin"] if date_fin else []))
        est = {"beneficiaire": True, "non_beneficiaire": False}.get(body["status"])
        if est is None:
            raise Unmappable(f"unknown status {body['status']!r}")
        data = {"est_beneficiaire": est}
        if majoration:
            data["avec_majoration"] = body["majoration"]
        data["date_debut_droit"] = body["dateDebut"]
        end_date(body, date_fin, gaps)
        return data
    return invert


def end_date(body, date_fin, gaps):
    # v3 has no end of right: render.rs always writes `dateFin: null`.
    if date_fin and body["dateFin"] is not None:
        gaps.append(f"dateFin {body['dateFin']!r}: v3 has no end date, the v2 route answers null")


CSS_STATUS = {
    "non_beneficiaire_css": (False, False),
    "beneficiaire_avec_participation_financiere": (True, True),
    "beneficiaire_sans_participation_financiere": (True, False),
}


def v2_css(body, gaps):
    take(body, ["status", "dateDebut", "dateFin"])
    if body["status"] not in CSS_STATUS:
        raise Unmappable(f"unknown status {body['status']!r}")
    est, participation = CSS_STATUS[body["status"]]
    end_date(body, True, gaps)
    return {"est_beneficiaire": est, "avec_participation": participation, "date_debut_droit": body["dateDebut"]}


V2_ADRESSE = {"identite": "destinataire", "complementInformation": "complement_information",
              "complementInformationGeographique": "complement_information_geographique",
              "numeroLibelleVoie": "numero_libelle_voie", "lieuDit": "lieu_dit",
              "codePostalVille": "code_postal_ville", "pays": "pays"}
V2_DATE = ("anneeDateDeNaissance", "moisDateDeNaissance", "jourDateDeNaissance")
# Regimes as a few recorded v2 answers spell them, for the v3 `fournisseur`.
V2_REGIME_ALIASES = {"CAF": "CNAF"}


def v2_membre(m, gaps):
    take(m, ["nomNaissance", "nomUsuel", "nomUsage", "prenoms", *V2_DATE, "sexe"])
    if "nomUsage" in m:
        gaps.append("members say nomUsage where the v2 route says nomUsuel")
    parts = [m.get(k) for k in V2_DATE]
    if all(x is None for x in parts):
        date = "0000-00-00"  # what v3 says for no date; render.rs turns it into nulls
    elif all(isinstance(x, str) and x.isdigit() for x in parts):
        date = "-".join(parts)
    else:
        raise Unmappable(f"unmappable birth date {parts!r}")
    return {"nom_naissance": m.get("nomNaissance"), "nom_usage": m.get("nomUsuel", m.get("nomUsage")),
            "prenoms": m.get("prenoms"), "date_naissance": date, "sexe": m.get("sexe")}


def v2_quotient_familial(body, gaps):
    take(body, ["regime", "allocataires", "enfants", "adresse", "quotientFamilial", "annee", "mois"])
    fournisseur = body["regime"]
    if fournisseur in V2_REGIME_ALIASES:
        gaps.append(f"regime {fournisseur!r}: the v3 fournisseur is {V2_REGIME_ALIASES[fournisseur]!r}")
        fournisseur = V2_REGIME_ALIASES[fournisseur]
    adresse = body["adresse"]
    return {
        "allocataires": [v2_membre(m, gaps) for m in body["allocataires"]],
        "enfants": [v2_membre(m, gaps) for m in body["enfants"]],
        "adresse": None if adresse is None else rename(adresse, V2_ADRESSE),
        # v2 says the requested period only (the month the case was recorded): it stands
        # for the calculation period too, which v2 does not show.
        "quotient_familial": {"fournisseur": fournisseur, "valeur": body["quotientFamilial"],
                              "annee": body["annee"], "mois": body["mois"],
                              "annee_calcul": body["annee"], "mois_calcul": body["mois"]},
    }


V2_INVERSES = {
    "allocation_adulte_handicape": v2_prestation(),
    "allocation_soutien_familial": v2_prestation(date_fin=True),
    "complementaire_sante_solidaire": v2_css,
    "prime_activite": v2_prestation(majoration=True, date_fin=True),
    "revenu_solidarite_active": v2_prestation(majoration=True, date_fin=True),
    "quotient_familial_v2": v2_quotient_familial,
}


def v2_as_v3(prestation, status, payload, gaps):
    """The v3 status and payload a v2 answer comes from (errors: v2/mod.rs `error`)."""
    if status == 200:
        if prestation not in V2_INVERSES:
            raise Unmappable(f"unknown v2 prestation {prestation}")
        return 200, {"data": V2_INVERSES[prestation](payload, gaps)}
    if status == 503 and payload.get("error") == "network_error":
        return 504, {}
    if status == 503 and str(payload.get("code", "")).startswith("37"):
        # One case records the v3 error object: a provider failure, v3's 502.
        gaps.append("the body is a v3 error object, the v2 route answers a flat v2 error")
        return 502, {"errors": [payload]}
    if status == 503:
        raise Unmappable(f"unknown v2 503 {payload.get('error')!r}")
    return status, payload


# ---------- driver ----------

# Letters passerelle_core::translit::fold spells out that NFD does not decompose.
FOLD_LETTERS = str.maketrans({"Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "ß": "ss", "Þ": "TH",
                              "þ": "th", "Ð": "D", "ð": "d", "Ø": "O", "ø": "o"})


def fold(value):
    """As the simulator matches (passerelle_core::translit::fold, then upper case)."""
    decomposed = unicodedata.normalize("NFD", value.strip().translate(FOLD_LETTERS))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def seen_as(data, prestation):
    """What a client sees of a v3 `data`: QF periods left out (the requested one is the
    current month when none is asked, and v2 does not show the calculation one)."""
    if prestation == "quotient_familial_v2" and isinstance(data, dict):
        data = json.loads(json.dumps(data))
        for k in ("annee", "mois", "annee_calcul", "mois_calcul"):
            (data.get("quotient_familial") or {}).pop(k, None)
    return data


def first_difference(a, b, at=""):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if a.get(k, "<absent>") != b.get(k, "<absent>"):
                return first_difference(a.get(k, "<absent>"), b.get(k, "<absent>"), f"{at}/{k}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return first_difference(x, y, f"{at}/{i}")
    return f"{at or '/'}: {json.dumps(b, ensure_ascii=False)} here, {json.dumps(a, ensure_ascii=False)} there"


def cases(sandbox):
    """(folder, prestation, is v2, file) of every case file, in output order."""
    v3 = sorted(p for p in sandbox.glob("api_particulier_v3_cnav_*_with_civility") if p.is_dir())
    if not v3:
        sys.exit(f"no api_particulier_v3_cnav_*_with_civility folder under {sandbox}")
    v3 += sorted(p for p in sandbox.glob("api_particulier_v3_cnav_*_with_france_connect") if p.is_dir())
    v2 = sorted(p for p in sandbox.glob("api_particulier_v2_cnav_*") if p.is_dir())
    for folder in v3 + v2:
        is_v2 = folder in v2
        if is_v2:
            prestation = folder.name[len("api_particulier_v2_cnav_"):]
        else:
            x = folder.name[len("api_particulier_v3_cnav_"):].rsplit("_with_", 1)[0]
            prestation = "quotient_familial_v2" if x == "quotient_familial" else x
        for f in sorted(f for f in folder.iterdir() if f.suffix in (".yaml", ".yml")):
            yield folder, prestation, is_v2, f


def main():
    sandbox = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "../shared/fixtures/sandbox-cases"
    people, defined, not_found = [], {}, []
    counts = {False: 0, True: 0}
    for folder, prestation, is_v2, f in cases(sandbox):
        case = f"{folder.name}/{f.name}"
        for doc in yaml.safe_load_all(f.read_text(encoding="utf-8")):
            if not doc:
                continue
            status, gaps = int(doc["status"]), []
            try:
                payload = json.loads(doc["payload"]) if doc.get("payload") else {}
                if is_v2:
                    status, payload = v2_as_v3(prestation, status, payload, gaps)
                answer = build_answer(prestation, status, payload)
            except (Unmappable, KeyError, TypeError, IndexError, ValueError) as e:
                print(f"error: {case} (status {doc['status']}): {e!r}", file=sys.stderr)
                sys.exit(1)
            for gap in dict.fromkeys(gaps):
                print(f"known difference: {case}: {gap}", file=sys.stderr)
            params = doc.get("params") or {}
            query = build_query(v3_names(v2_names(params) if is_v2 else params))
            key = (prestation, json.dumps({k: fold(v) for k, v in query.items()}, sort_keys=True))
            if status == 404:
                not_found.append((case, key))
            if answer is None:
                continue
            seen = seen_as(payload.get("data"), prestation) if status == 200 else f"status {status}"
            if key in defined:
                first, first_seen = defined[key]
                if first_seen != seen:
                    why = first_difference(first_seen, seen)
                    print(f"warning: {case}: {first} gives this person another answer "
                          f"(first difference {why}), kept {first}'s", file=sys.stderr)
                continue
            defined[key] = (case, seen)
            counts[is_v2] += 1
            people.append({"case": case, "prestation": prestation, "query": query, "answer": answer})
    for case, key in not_found:
        if key in defined:
            print(f"warning: {case}: recorded 404, but {defined[key][0]} defines this person", file=sys.stderr)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"about": ABOUT, "people": people}, indent=2, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    print(f"wrote {len(people)} entries ({counts[False]} from v3 cases, {counts[True]} from v2 cases) "
          f"to {OUT.relative_to(REPO)}", file=sys.stderr)


if __name__ == "__main__":
    main()
