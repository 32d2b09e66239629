#!/usr/bin/env python3
"""Derive the MESRI (statut étudiant) simulator data set from the official sandbox cases.

Why: the gateway maps MESRI's upstream answers to public payloads. The simulator needs the
reverse: for each recorded public answer (sandbox case), the upstream answer that makes the
gateway produce it, keyed by what the gateway sends upstream (the INE, or the civility body).
This script reads
  <sandbox>/api_particulier_v3_mesri_statut_etudiant_with_{civility,ine,france_connect}/*.y*ml
  <sandbox>/api_particulier_v2_mesri_student_status/*.y*ml
and writes crates/providers/src/mesri/people.json (deterministic: sorted by folder then file).
404 cases are left to the simulator's default "not found"; 502/504 cases become an upstream
failing the same way; 409/429/500/503 are not upstream behaviours and are skipped.

A v2 case (GET /api/v2/etudiants) is read as the gateway serves it: its parameters become
v3's (crates/particulier/src/v2/mod.rs), its body is turned back into v3 `data` (the inverse
of `etudiants` in crates/particulier/src/v2/render.rs), then handled as a v3 case. v3 cases
come first: a person a v3 case defines keeps the v3 answer, and a v2 case that says
otherwise about them is reported on stderr.

Usage: tools/derive_mesri_people.py [SANDBOX_DIR]   (default: ../shared/fixtures/sandbox-cases
relative to the repo root). Stdlib + PyYAML only.
"""
import json
import sys

from sandbox_cases import REPO, documents, sandbox_dir, write_people, v2_identity

OUT = REPO / "crates/providers/src/mesri/people.json"
ABOUT = ("Derived from the official sandbox cases by tools/derive_mesri_people.py; each entry is one "
         "student as the MESRI upstream would answer for an INE or a civility body")
FOLDERS = ["api_particulier_v3_mesri_statut_etudiant_with_civility",
           "api_particulier_v3_mesri_statut_etudiant_with_ine",
           "api_particulier_v3_mesri_statut_etudiant_with_france_connect"]
V2_FOLDER = "api_particulier_v2_mesri_student_status"
REGIMES = {
    "formation initiale": "RF1", "formation initiale hors apprentissage": "RF2",
    "reprise d'études non financée sans convention": "RF3", "contrat d'apprentissage": "RF4",
    "formation continue": "RF5", "formation continue hors contrat professionnel": "RF6",
    "contrat de professionnalisation": "RF7",
}
HTML_ERROR = "<html><body>Erreur interne du service</body></html>"
# The v2 render folds RF1-RF4 into "formation initiale" and RF5-RF7 into "formation
# continue": each v2 label goes back to the upstream label of the same name.
V2_REGIMES = ["formation initiale", "formation continue"]


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


def v2_params(params):
    """The v3 parameters the gateway calls with for a v2 case (v2/mod.rs), and the mode."""
    if str(params.get("ine") or "").strip():
        return "_with_ine", {"ine": str(params["ine"]).strip()}
    if "family_name" in params:
        # FranceConnect: the identity is the claims'.
        year, month, day = str(params["birthdate"]).split("-")
        return "_with_france_connect", {
            "nomNaissance": str(params["family_name"]), "prenoms": str(params["given_name"]).split(),
            "anneeDateNaissance": year, "moisDateNaissance": month, "jourDateNaissance": day,
            "sexeEtatCivil": "F" if params["gender"] == "female" else "M",
            "codeCogInseeCommuneNaissance": str(params.get("birthplace") or ""),
        }
    identity = v2_identity(params)
    identity.setdefault("codeCogInseeCommuneNaissance", "")
    return "_with_civility", identity


def v2_admission(i):
    take(i, ["dateDebutInscription", "dateFinInscription", "statut", "codeCommune", "etablissement", "regime"])
    if i["statut"] not in ("inscrit", "admis"):
        raise Unmappable(f"statut {i['statut']!r}")
    if i["regime"] not in V2_REGIMES:
        raise Unmappable(f"regime {i['regime']!r} is not one of v2's")
    etab = take(i["etablissement"], ["uai", "nomEtablissement"])
    return {
        "date_debut": i["dateDebutInscription"], "date_fin": i["dateFinInscription"],
        "est_inscrit": i["statut"] == "inscrit", "code_cog_insee_commune": i["codeCommune"],
        "etablissement_etudes": {"uai": etab["uai"], "nom": etab["nomEtablissement"]},
        "regime_formation": {"libelle": i["regime"], "code": REGIMES[i["regime"]]},
    }


def v2_data(body):
    """The v3 `data` the v2 render turns into `body`. The recorded INE cases say `nom`, the
    others `nomFamille`; either is the birth name. `ine` is not in v3 data (see v2_person)."""
    take(body, ["ine", "nom", "nomFamille", "prenom", "dateNaissance", "inscriptions"])
    if ("nom" in body) == ("nomFamille" in body):
        raise Unmappable("expected one of nom and nomFamille")
    return {
        "identite": {"nom_naissance": body.get("nomFamille", body.get("nom")), "prenom": body["prenom"],
                     "date_naissance": body["dateNaissance"]},
        "admissions": [v2_admission(i) for i in body["inscriptions"]],
    }


def v2_person(status, params, payload):
    mode, v3 = v2_params(params)
    by_ine = mode == "_with_ine"
    who = {"ine": v3["ine"].upper()} if by_ine else {"civility": civility_body(v3)}
    if status == 200:
        # v2 passed the upstream's body through: its `ine` (or none) is the upstream's.
        answer = {"status": 200, "body": student(v2_data(payload), payload.get("ine"))}
    elif status == 503 and payload.get("error") == "network_error":
        answer = build_answer(504, {}, None)
    elif status in (404, 409, 429, 500):
        answer = None  # as for v3: the simulator's "not found", or not an upstream behaviour
    else:
        raise Unmappable(f"v2 status {status} {payload.get('error')!r}")
    if answer is None:
        return None
    return json.dumps(who, sort_keys=True), {**who, "answer": answer}


def what_maps(entry):
    """What the gateway makes of an answer: the upstream's `ine` is not mapped."""
    answer = entry["answer"]
    if isinstance(answer.get("body"), dict):
        answer = {**answer, "body": {k: v for k, v in answer["body"].items() if k != "ine"}}
    return answer


def lend_ine(first, v2_entry):
    """A v3 case cannot say the student's INE (v3 data has none); a v2 case of the same
    person, answering alike, can: MESRI's body then carries it, as the real one does."""
    body, v2_body = first["answer"].get("body"), v2_entry["answer"].get("body")
    if isinstance(body, dict) and isinstance(v2_body, dict) and "ine" in v2_body and "ine" not in body:
        first["answer"]["body"] = {"ine": v2_body["ine"], **body}


def main():
    sandbox, people, kept = sandbox_dir(), [], {}
    for name in FOLDERS + [V2_FOLDER]:
        for case, doc in documents(sandbox, name):
            status = int(doc["status"])
            params = doc.get("params") or {}
            try:
                payload = json.loads(doc["payload"]) if doc.get("payload") else {}
                found = (v2_person(status, params, payload) if name == V2_FOLDER
                         else person(name, status, params, payload))
            except (Unmappable, KeyError, TypeError, IndexError, ValueError) as e:
                print(f"error: {case} (status {status}): {e!r}", file=sys.stderr)
                sys.exit(1)
            if found is None:
                continue
            key, entry = found
            if key in kept:
                first = kept[key]
                if what_maps(first) != what_maps(entry):
                    print(f"report: {case} answers otherwise than {first['case']} for {key}; "
                          f"kept {first['case']}", file=sys.stderr)
                elif name != V2_FOLDER:
                    print(f"warning: {case}: duplicate person, kept the first", file=sys.stderr)
                else:
                    lend_ine(first, entry)
                continue
            kept[key] = {"case": case, **entry}
            people.append(kept[key])
    write_people(OUT, ABOUT, people)


if __name__ == "__main__":
    main()
