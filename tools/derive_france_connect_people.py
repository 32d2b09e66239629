#!/usr/bin/env python3
"""Derive the FranceConnect simulator's citizens from the official sandbox cases.

Why: integrators test FranceConnect endpoints with the sandbox's access tokens (`cnaf_qfv2`,
`cnous`, `all_fc`, ...): each mock of <sandbox>/france_connect/*.y*ml gives a token
(`params.token`) and the introspection FranceConnect answers for it. The official
`*_with_france_connect` cases, on the other hand, are keyed by identity: to replay them
end to end, the simulator also needs one citizen per identity found there. Such a citizen
gets a token named after the identity (`dubois_angela_19620824_75107`) and every data scope
of the FranceConnect endpoints; an identity a mock already has keeps the mock's token.
Cases whose identity is incomplete (no first name or birth date) are the folders' fallback
answers and give no citizen.

Writes crates/providers/src/france_connect/people.json (deterministic: mocks sorted by file,
then cases sorted by folder and file).

Usage: tools/derive_france_connect_people.py [SANDBOX_DIR]   (default:
../shared/fixtures/sandbox-cases relative to the repo root). Stdlib + PyYAML only.
"""
import json
import re
import sys
import unicodedata

from sandbox_cases import REPO, documents, sandbox_dir, write_people

OUT = REPO / "crates/providers/src/france_connect/people.json"
ABOUT = ("Derived from the official sandbox cases by tools/derive_france_connect_people.py; each "
         "entry is one FranceConnect access token and the token_introspection FranceConnect gives")
# Data scopes the mocks' all_fc lacks: the gateway checks the current EAJE names and AEEH.
MORE_SCOPES = ["cnav_allocation_enfant_handicape", "cnav_participation_familiale_eaje_allocataires",
               "cnav_participation_familiale_eaje_enfants", "cnav_participation_familiale_eaje_adresse",
               "cnav_participation_familiale_eaje_parametres_calcul"]
# The cases spell some identity parameters the v2 way, or with typos.
ALIASES = {
    "codeCogInseeCommuneNaissance": ["codeInseeLieuDeNaissance", "codeInseeLieuDaissance"],
    "codeCogInseePaysNaissance": ["codePaysLieuDeNaissance", "codePaysLieuDaissance"],
}


def param(params, name):
    for key in [name] + ALIASES.get(name, []):
        if params.get(key) not in (None, ""):
            return str(params[key])
    return None


def identity(params):
    """The pivot identity a case's parameters describe, or None when incomplete."""
    prenoms = params.get("prenoms")
    if isinstance(prenoms, str):
        prenoms = prenoms.split()
    parts = [params.get(k) for k in ("anneeDateNaissance", "moisDateNaissance", "jourDateNaissance")]
    if not params.get("nomNaissance") or not prenoms or None in parts:
        return None
    sexe = (param(params, "sexeEtatCivil") or "F").upper()
    return {
        "gender": "male" if sexe == "M" else "female",
        "family_name": str(params["nomNaissance"]),
        "given_name": " ".join(str(p) for p in prenoms),
        "given_name_array": [str(p) for p in prenoms],
        "birthdate": "{:04d}-{:02d}-{:02d}".format(*(int(p) for p in parts)),
        "birthplace": param(params, "codeCogInseeCommuneNaissance") or "",
        "birthcountry": param(params, "codeCogInseePaysNaissance") or "99100",
    }


def given(params):
    """The identity claims a case's parameters state (the others are filled in)."""
    fields = ["family_name", "given_name", "birthdate"]
    if param(params, "sexeEtatCivil"):
        fields.append("gender")
    if param(params, "codeCogInseeCommuneNaissance"):
        fields.append("birthplace")
    if param(params, "codeCogInseePaysNaissance"):
        fields.append("birthcountry")
    return fields


def same(who, other, fields):
    return all(str(who[f]).upper() == str(other.get(f, "")).upper() for f in fields)


def slug(text):
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", plain).strip("_")


def token_for(who):
    parts = [who["family_name"], who["given_name_array"][0], who["birthdate"].replace("-", ""),
             who["birthplace"]]
    return "_".join(slug(p) for p in parts if p)


def main():
    sandbox = sandbox_dir()
    people, known, all_scopes = [], [], None
    for case, doc in documents(sandbox, "france_connect"):
        claims = json.loads(doc["payload"])
        ti = claims["token_introspection"]
        token = str(doc["params"]["token"])
        if token == "all_fc":
            all_scopes = ti["scope"]
        people.append({"case": case, "token": token, "token_introspection": ti})
        known.append(ti)
    if all_scopes is None:
        sys.exit("no all_fc mock: cannot give the case citizens their scopes")
    scope = " ".join([all_scopes] + [s for s in MORE_SCOPES if s not in all_scopes.split()])
    folders = sorted(p.name for p in sandbox.iterdir() if p.is_dir() and p.name.endswith("_with_france_connect"))
    for folder in folders:
        for case, doc in documents(sandbox, folder):
            params = doc.get("params") or {}
            who = identity(params)
            if who is None or any(same(who, other, given(params)) for other in known):
                continue
            known.append(who)
            ti = {"active": True, "aud": "passerelle-simulateur", "sub": slug(token_for(who)) + "_sub",
                  "acr": "eidas1", "scope": scope, **who}
            people.append({"case": case, "token": token_for(who), "token_introspection": ti})
    write_people(OUT, ABOUT, people)


if __name__ == "__main__":
    main()
