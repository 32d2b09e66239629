#!/usr/bin/env python3
"""Derive the ANTS (SIV) simulator's vehicles from the upstream fixtures and the official
sandbox cases.

Why: the gateway maps SIV registration files to public payloads. The simulator needs the
reverse: for each recorded public answer (sandbox case), a registration file that makes the
gateway produce it, keyed by plate; and the real SIV answers (upstream fixtures) as they are.
This script reads
  <sandbox>/api_particulier_v3_ants_extrait_immatriculation_vehicule_with_france_connect/*.y*ml
  <fixtures>/upstream/ants/found_*.xml
and writes crates/providers/src/ants/vehicles.json (deterministic: cases sorted by file, then
fixtures sorted by file; the first entry of a plate wins). Each entry is a plate and its
`dossier`, the SIV's <dossier> element as JSON (element names without namespace; repeated
elements as arrays), which the simulator renders back to XML.

404 cases are left to the simulator's default answer (the SIV's "no answer" error); other
non-200 cases are not upstream behaviours and are skipped. Codes are written as recorded;
their labels come from the project's crates/providers/src/ants/labels.json, and a case whose
label differs from that table is reported (its replay will show our label).

Usage: tools/derive_ants_people.py [SANDBOX_DIR]   (default: ../shared/fixtures/sandbox-cases
relative to the repo root; the upstream fixtures are read from SANDBOX_DIR/../upstream/ants).
Stdlib + PyYAML only.
"""
import json
import sys
import xml.etree.ElementTree as ET

from sandbox_cases import REPO, documents, sandbox_dir, write_people

OUT = REPO / "crates/providers/src/ants/vehicles.json"
LABELS = REPO / "crates/providers/src/ants/labels.json"
FOLDER = "api_particulier_v3_ants_extrait_immatriculation_vehicule_with_france_connect"
ABOUT = ("Derived from the official sandbox cases and the SIV upstream fixtures by "
         "tools/derive_ants_people.py; each entry is one plate and its registration file (the SIV's "
         "<dossier> element as JSON)")
TYPES = {"titulaire": "TIT", "cotitulaire": "CTI", "locataire": "LOC"}


class Unmappable(Exception):
    pass


def labels():
    return json.loads(LABELS.read_text(encoding="utf-8"))


def text(value):
    return None if value is None else str(value)


def compact(fields):
    """Leaves out absent fields, as the SIV does."""
    return {k: v for k, v in fields.items() if v is not None}


def raw_class(code, table):
    """A raw `classe_environnement_ce` that the gateway reads back as `code`."""
    if code is None:
        return None
    for entry in table["classe_environnementale"]:
        if entry["code"] == code:
            return "715/2007*" + entry["pattern"]
    return code


def check_label(case, kind, block, table):
    if block["code"] is not None and block["label"] != table[kind].get(block["code"]):
        print(f"note: {case}: {kind} {block['code']} is labelled {block['label']!r} in the case, "
              f"{table[kind].get(block['code'])!r} in labels.json", file=sys.stderr)


def dossier_from_case(case, data, table):
    extra = set(data) - {"identite_particulier", "adresse_particulier", "statut_rattachement",
                         "donnees_immatriculation_vehicule", "caracteristiques_techniques_vehicule"}
    if extra:
        raise Unmappable(f"unmappable fields {sorted(extra)}")
    who, where = data["identite_particulier"], data["adresse_particulier"]
    immat, tech = data["donnees_immatriculation_vehicule"], data["caracteristiques_techniques_vehicule"]
    statut = data["statut_rattachement"]
    if statut not in TYPES:
        raise Unmappable(f"unknown statut_rattachement {statut!r}")
    for kind, block in (("categorie_vehicule", tech["categorie_vehicule"]), ("genre_national", tech["genre_national"]),
                        ("type_carburant", tech["type_carburant"])):
        check_label(case, kind, block, table)
    classe = tech["classe_environnementale"]
    if classe["code"] is not None and classe["label"] != table["classe_environnementale_labels"].get(classe["code"]):
        raise Unmappable(f"environmental class {classe!r} not in labels.json")
    birth = None
    if who["annee_date_naissance"] is not None:
        birth = f"{who['annee_date_naissance']:04d}-{who['mois_date_naissance']:02d}-{who['jour_date_naissance']:02d}"
    return {
        "immatriculation": compact({
            "num_immat": immat["numero_immatriculation"],
            "date_prem_immat": immat["date_premiere_immatriculation"],
            "code_type_immat": "N",
            "libelle_type_immat": "Normale",
            "code_type_loc": immat["statut_location"]["code"],
            "libelle_type_loc": immat["statut_location"]["label"],
        }),
        "vehicule": {"caracteristiques_techniques": compact({
            "marque_vehicule": tech["marque"],
            "tvv": tech["type_variante_version"],
            "denomination_com": tech["denomination_commerciale"],
            "ptac": text(tech["masse_charge_maximale"]),
            "categorie_ce": tech["categorie_vehicule"]["code"],
            "genre_national": tech["genre_national"]["code"],
            "cylindree": text(tech["cylindree"]),
            "energie": tech["type_carburant"]["code"],
            "co2": text(tech["taux_co2"]),
            "classe_environnement_ce": raw_class(classe["code"], table),
        })},
        "personne": {
            "nb_cotitulaires": "0",
            "liste_personnes": {"personne": [{
                "code_type_personne": TYPES[statut],
                "libelle_type_personne": statut,
                "identite_personne": compact({
                    "flag_pers_physique": "oui",
                    "nom_naiss": who["nom"],
                    "prenom": who["prenom"],
                    "sexe": who["sexe_etat_civil"],
                    "date_naissance": birth,
                    "code_dep_naissance": who["code_departement_naissance"],
                }),
                "adresse_personne": compact({
                    "point_remise": where["etage_escalier_appartement"],
                    "compl_adresse": where["complement_information"],
                    "num_voie": where["num_voie"],
                    "extension": where["extension"],
                    "type_voie": where["type_voie"],
                    "libelle_voie": where["libelle_voie"],
                    "lieudit_ou_bp": where["lieu_dit"],
                    "code_postal": where["code_postal_ville"],
                    "libelle_commune": where["libelle_commune"],
                    "pays": where["pays"],
                }),
            }]},
        },
    }


def element_json(element):
    """An element as JSON: text for leaves, an object of children otherwise (repeated
    names become arrays; `personne` items of a list are always an array)."""
    children = list(element)
    if not children:
        return (element.text or "").strip()
    out = {}
    for child in children:
        name = child.tag.split("}")[-1]
        value = element_json(child)
        if name in out:
            if not isinstance(out[name], list):
                out[name] = [out[name]]
            out[name].append(value)
        elif name == "personne" and element.tag.split("}")[-1] == "liste_personnes":
            out[name] = [value]
        else:
            out[name] = value
    return out


def fixture_document(path):
    """Reads a fixture; one of them was saved as an escaped string (\\" and \\n, a
    trailing quote), which is undone first."""
    raw = path.read_text(encoding="utf-8")
    raw = raw.replace('\\"', '"').replace("\\n", "").strip().rstrip('"')
    return ET.fromstring(raw.encode("utf-8"))


def fixture_vehicles(fixtures):
    vehicles = []
    for path in sorted(fixtures.glob("found_*.xml")):
        root = fixture_document(path)
        dossier = next((e for e in root.iter() if e.tag.split("}")[-1] == "dossier"), None)
        if dossier is None:
            sys.exit(f"error: {path.name}: no dossier")
        value = element_json(dossier)
        vehicles.append((f"upstream/ants/{path.name}", value["immatriculation"]["num_immat"], value))
    return vehicles


def case_vehicles(sandbox, table):
    """(case, plate, dossier) of every 200 case; 404s must be the "not found" of the SIV."""
    vehicles = []
    for case, doc in documents(sandbox, FOLDER):
        status = int(doc["status"])
        payload = json.loads(doc["payload"]) if doc.get("payload") else {}
        try:
            if status == 200:
                plate = str(doc["params"]["immatriculation"]).upper()
                if payload["data"]["donnees_immatriculation_vehicule"]["numero_immatriculation"] != plate:
                    raise Unmappable("the plate asked for is not the plate answered")
                vehicles.append((case, plate, dossier_from_case(case, payload["data"], table)))
            elif status == 404 and payload["errors"][0]["code"] != "42003":
                raise Unmappable("a 404 other than 42003")
        except (Unmappable, KeyError, TypeError, IndexError, ValueError) as e:
            sys.exit(f"error: {case} (status {status}): {e!r}")
    return vehicles


def main():
    sandbox, table = sandbox_dir(), labels()
    fixtures = sandbox.parent / "upstream" / "ants"
    if not fixtures.is_dir():
        sys.exit(f"no upstream fixtures folder {fixtures}")
    vehicles, seen = [], set()
    for case, plate, dossier in case_vehicles(sandbox, table) + fixture_vehicles(fixtures):
        if plate in seen:
            print(f"warning: {case}: plate {plate} already known, kept the first", file=sys.stderr)
            continue
        seen.add(plate)
        vehicles.append({"case": case, "num_immat": plate, "dossier": dossier})
    write_people(OUT, ABOUT, vehicles)


if __name__ == "__main__":
    main()
