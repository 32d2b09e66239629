#!/usr/bin/env python3
"""Derives the INSEE Sirene simulator's records and the replay cases from the official
sandbox cases of API Entreprise (the `api_entreprise_v{3,4}_insee_*` folders).

The case payloads are the gateway's answers; this script writes them back into the
upstream's shape (Sirene 3.11 `uniteLegale`, `etablissement`, `liensSuccession`) so that
the provider, mapping them forward, gives the recorded `data` again.

It also copies the recorded upstream bodies of the real service's test fixtures
(`upstream-entreprise/insee`: partially diffusible units, the duplicate 532221694 →
778870675, the protected 157000332) as they are.

Usage: tools/derive_insee_sirene.py <sandbox-cases-entreprise folder> <upstream insee folder>
Writes crates/entreprise-providers/src/insee/{sirene.json,cases.json}.
"""
import glob
import json
import os
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import yaml

PARIS = ZoneInfo("Europe/Paris")
OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "entreprise-providers", "src", "insee")
STATUS = {"diffusible": "O", "partiellement_diffusible": "P", "non_diffusible": "N"}
VOIE = {"ALLÉE": "ALL", "AVENUE": "AV", "BOULEVARD": "BD", "CHEMIN": "CHE", "IMPASSE": "IMP", "PLACE": "PL", "ROUTE": "RTE"}
INDICE = {"bis": "B", "ter": "T", "quater": "Q", "quinquies": "C"}


def day(epoch):
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, PARIS).date().isoformat()


def stamp(epoch):
    return f"{day(epoch)}T12:00:00"


def ess(value):
    return {True: "O", False: "N"}.get(value)


def cases(folder):
    for path in sorted(glob.glob(os.path.join(folder, "api_entreprise_v*_insee_*", "*.yaml"))):
        case = yaml.safe_load(open(path, encoding="utf-8"))
        operation = os.path.basename(os.path.dirname(path))
        version = int(operation.split("_")[2][1:])
        resource = operation.split("_insee_")[1]
        identifier = case["params"].get("siren") or case["params"].get("siret")
        yield {
            "operation": operation,
            "case": os.path.basename(path),
            "resource": resource,
            "version": version,
            "identifier": identifier,
            "status": case["status"],
            "payload": json.loads(case["payload"]),
        }


def unit_fields(ul, prefix_flat=False):
    """The unité légale fields common to the full record and the flat embedded one."""
    pp = ul["personne_physique_attributs"]
    pm = ul["personne_morale_attributs"]
    tranche = ul["tranche_effectif_salarie"]
    return {
        "statutDiffusionUniteLegale": STATUS[ul["status_diffusion"]],
        "dateCreationUniteLegale": day(ul["date_creation"]),
        "sigleUniteLegale": pm["sigle"],
        "sexeUniteLegale": pp["sexe"],
        "prenom1UniteLegale": pp["prenom_1"],
        "prenom2UniteLegale": pp["prenom_2"],
        "prenom3UniteLegale": pp["prenom_3"],
        "prenom4UniteLegale": pp["prenom_4"],
        "prenomUsuelUniteLegale": pp["prenom_usuel"],
        "pseudonymeUniteLegale": pp["pseudonyme"],
        "identifiantAssociationUniteLegale": ul["rna"],
        "trancheEffectifsUniteLegale": tranche["code"],
        "anneeEffectifsUniteLegale": tranche["date_reference"],
        "categorieEntreprise": ul["categorie_entreprise"],
        "activitePrincipaleNAF25UniteLegale": None,
    }


def period_fields(ul):
    pp = ul["personne_physique_attributs"]
    return {
        "etatAdministratifUniteLegale": ul["etat_administratif"],
        "nomUniteLegale": pp["nom_naissance"],
        "nomUsageUniteLegale": pp["nom_usage"],
        "denominationUniteLegale": ul["personne_morale_attributs"]["raison_sociale"],
        "denominationUsuelle1UniteLegale": None,
        "denominationUsuelle2UniteLegale": None,
        "denominationUsuelle3UniteLegale": None,
        "categorieJuridiqueUniteLegale": ul["forme_juridique"]["code"],
        "activitePrincipaleUniteLegale": ul["activite_principale"]["code"],
        "nomenclatureActivitePrincipaleUniteLegale": ul["activite_principale"]["nomenclature"],
        "nicSiegeUniteLegale": ul["siret_siege_social"][9:],
        "economieSocialeSolidaireUniteLegale": ess(ul["economie_sociale_et_solidaire"]),
    }


def unite_legale(data, meta):
    """A `siren/{siren}` record: the open period, and the one before when ceased."""
    record = {"siren": data["siren"], **unit_fields(data)}
    record["dateDernierTraitementUniteLegale"] = stamp(meta["date_derniere_mise_a_jour"])
    current = {"dateFin": None, "dateDebut": day(data["date_creation"]), **period_fields(data)}
    current["changementEtatAdministratifUniteLegale"] = False
    periods = [current]
    if data["date_cessation"] is not None:
        current["dateDebut"] = day(data["date_cessation"])
        current["changementEtatAdministratifUniteLegale"] = True
        before = {**current, "dateFin": None, "etatAdministratifUniteLegale": "A"}
        before["dateDebut"] = day(data["date_creation"])
        before["changementEtatAdministratifUniteLegale"] = False
        before["dateFin"] = day(data["date_cessation"] - 86400)
        periods.append(before)
    record["periodesUniteLegale"] = periods
    return record


def adresse(a):
    voie = a["type_voie"]
    indice = a["indice_repetition_voie"]
    return {
        "complementAdresseEtablissement": a["complement_adresse"],
        "numeroVoieEtablissement": a["numero_voie"],
        "indiceRepetitionEtablissement": INDICE.get(indice, indice),
        "typeVoieEtablissement": VOIE.get(voie, voie),
        "libelleVoieEtablissement": a["libelle_voie"],
        "codePostalEtablissement": a["code_postal"],
        "libelleCommuneEtablissement": a["libelle_commune"],
        "libelleCommuneEtrangerEtablissement": a["libelle_commune_etranger"],
        "distributionSpecialeEtablissement": a["distribution_speciale"],
        "codeCommuneEtablissement": a["code_commune"],
        "codeCedexEtablissement": a["code_cedex"],
        "libelleCedexEtablissement": a["libelle_cedex"],
        "codePaysEtrangerEtablissement": a["code_pays_etranger"],
        "libellePaysEtrangerEtablissement": a["libelle_pays_etranger"],
    }


def etablissement(data, meta):
    """A `siret/{siret}` record with its flat unité légale and its periods."""
    ul = data["unite_legale"]
    flat = {**unit_fields(ul), **period_fields(ul)}
    flat["dateDernierTraitementUniteLegale"] = None
    tranche = data["tranche_effectif_salarie"]
    enseignes = (data["enseigne"] or "").split(", ") if data["enseigne"] else []
    enseignes += [None] * (3 - len(enseignes))
    current = {
        "dateFin": None,
        "dateDebut": day(data["date_creation"]),
        "etatAdministratifEtablissement": data["etat_administratif"],
        "changementEtatAdministratifEtablissement": False,
        "enseigne1Etablissement": enseignes[0],
        "enseigne2Etablissement": enseignes[1],
        "enseigne3Etablissement": enseignes[2],
        "denominationUsuelleEtablissement": None,
        "activitePrincipaleEtablissement": data["activite_principale"]["code"],
        "nomenclatureActivitePrincipaleEtablissement": data["activite_principale"]["nomenclature"],
    }
    periods = [current]
    if data["date_fermeture"] is not None and data["etat_administratif"] != "A":
        current["dateDebut"] = day(data["date_fermeture"])
        current["changementEtatAdministratifEtablissement"] = True
        before = {**current, "etatAdministratifEtablissement": "A"}
        before["changementEtatAdministratifEtablissement"] = False
        before["dateDebut"] = day(data["date_creation"])
        before["dateFin"] = day(data["date_fermeture"] - 86400)
        periods.append(before)
    return {
        "siren": ul["siren"],
        "nic": data["siret"][9:],
        "siret": data["siret"],
        "statutDiffusionEtablissement": STATUS[data["status_diffusion"]],
        "dateCreationEtablissement": day(data["date_creation"]),
        "trancheEffectifsEtablissement": tranche["code"],
        "anneeEffectifsEtablissement": tranche["date_reference"],
        "dateDernierTraitementEtablissement": stamp(meta["date_derniere_mise_a_jour"]),
        "etablissementSiege": data["siege_social"],
        "activitePrincipaleNAF25Etablissement": None,
        "uniteLegale": flat,
        "adresseEtablissement": adresse(data["adresse"]),
        "periodesEtablissement": periods,
    }


def liens(siret, data):
    for item in data["predecesseurs"]:
        yield (item["siret"], siret, item)
    for item in data["successeurs"]:
        yield (siret, item["siret"], item)


class Loader(yaml.SafeLoader):
    pass


Loader.add_constructor("!binary", lambda loader, node: loader.construct_scalar(node))


def recorded(fixtures):
    """Upstream bodies of the fixtures: (kind, record) pairs."""
    for name in sorted(glob.glob(os.path.join(fixtures, "partially_diffusible_*.json"))):
        body = json.load(open(name, encoding="utf-8"))
        for kind in ("uniteLegale", "etablissement"):
            if kind in body:
                yield kind, body[kind]
    cassette = yaml.load(open(os.path.join(fixtures, "cassettes", "siren", "redirected.yml"), encoding="utf-8"), Loader=Loader)
    for interaction in cassette["http_interactions"]:
        text = interaction["response"]["body"]["string"]
        if interaction["response"]["status"]["code"] == 200 and "header" in text:
            body = json.loads(text)
            for kind in ("uniteLegale", "etablissement"):
                if kind in body:
                    yield kind, body[kind]


def copy(record, **changes):
    return {**json.loads(json.dumps(record)), **changes}


def commune(unites, etabs, siren, nic, name, address):
    """A fictitious commune, unit and siège, built from the Communauté d'agglomération
    Hérault Méditerranée's records: (unité légale, siège établissement)."""
    numero, type_voie, voie, code_postal, libelle_commune, code_commune = address
    identity = {"denominationUniteLegale": name, "categorieJuridiqueUniteLegale": "7210", "nicSiegeUniteLegale": nic}
    source_unit, source_etab = unites["243400819"], etabs["24340081900120"]
    period = copy(source_unit["periodesUniteLegale"][0], **identity)
    unit = copy(source_unit, siren=siren, statutDiffusionUniteLegale="O", categorieEntreprise="PME",
                nombrePeriodesUniteLegale=1, periodesUniteLegale=[period])
    adresse = copy(source_etab["adresseEtablissement"], numeroVoieEtablissement=numero,
                   typeVoieEtablissement=type_voie, libelleVoieEtablissement=voie,
                   codePostalEtablissement=code_postal, libelleCommuneEtablissement=libelle_commune,
                   codeCommuneEtablissement=code_commune)
    activity = copy(source_etab["periodesEtablissement"][0], enseigne1Etablissement=None,
                    activitePrincipaleEtablissement="84.11Z")
    siege = copy(source_etab, siren=siren, nic=nic, siret=siren + nic, statutDiffusionEtablissement="O",
                 etablissementSiege=True, nombrePeriodesEtablissement=1, adresseEtablissement=adresse,
                 periodesEtablissement=[activity],
                 uniteLegale=copy(source_etab["uniteLegale"], statutDiffusionUniteLegale="O",
                                  categorieEntreprise="PME", **identity))
    return unit, siege


def synthetic(unites, etabs):
    """Our own units for what the sandbox has no case of, built from the SCI SERGENT
    records (fictitious SIRENs 990000xxx, valid Luhn)."""
    unit, etab = unites["350051447"], etabs["35005144700018"]

    def etab_of(siren, nic, **changes):
        return copy(etab, siren=siren, nic=nic, siret=siren + nic, **changes)

    closed_unit = copy(unit, siren="990000002", statutDiffusionUniteLegale="N")
    closed_etab = etab_of("990000002", "00016", statutDiffusionEtablissement="N")
    naf25_unit = copy(unites["775672272"], siren="990000028", activitePrincipaleNAF25UniteLegale="88.91Y")
    naf25_etab = etab_of("990000028", "00011", activitePrincipaleNAF25Etablissement="88.91Y")
    ping = copy(etabs["77567227221138"], siren="306138900", nic="02979", siret="30613890002979")
    # The demo's recipient (DINUM's siège), named on the citizen record's page.
    dinum = copy(etabs["30613890001294"], nic="00013", siret="13002526500013")
    # Two fictitious communes (catégorie juridique 7210) whose agents log in through
    # the ProConnect simulator.
    communes = [
        commune(unites, etabs, "213499106", "00010", "COMMUNE DE SAINTE-COLOMBE-LES-EXEMPLES",
                ("1", "PL", "DE LA MAIRIE", "34990", "SAINTE-COLOMBE-LES-EXEMPLES", "34991")),
        commune(unites, etabs, "213599202", "00016", "COMMUNE DE BOURG-FICTIF",
                ("3", "RUE", "DE L HOTEL DE VILLE", "35990", "BOURG-FICTIF", "35992")),
    ]
    header = lambda status, message: {"header": {"statut": status, "message": message}}
    return {
        "_source": "Our own cases (tools/derive_insee_sirene.py): fictitious units built from the sandbox's records.",
        "unites_legales": [closed_unit, naf25_unit] + [unit for unit, _ in communes],
        "etablissements": [
            closed_etab,
            etab_of("990000010", "00019", etablissementSiege=True),
            etab_of("990000010", "00027", etablissementSiege=True),
            naf25_etab,
            ping,
            dinum,
        ] + [siege for _, siege in communes],
        "liens_succession": [],
        "answers": [
            {"call": "siren", "id": "990000036", "answer": {"status": 200, "raw_body": "<html><body>Maintenance</body></html>", "content_type": "text/html"}},
            {"call": "siren", "id": "990000044", "answer": {"status": 200, "delay_ms": 3000, "body": {"header": {"statut": 200, "message": "OK"}, "uniteLegale": unit}}},
            {"call": "siren", "id": "990000051", "answer": {"status": 500, "body": header(500, "Erreur interne")}},
            {"call": "siren", "id": "990000069", "answer": {"status": 503, "body": header(503, "Service indisponible")}},
            {"call": "siren", "id": "990000077", "answer": {"status": 429, "body": header(429, "Trop de requêtes")}},
        ],
    }


def main(folder, fixtures):
    all_cases = list(cases(folder))
    unites, etabs, links = {}, {}, []
    for case in all_cases:
        payload, resource = case["payload"], case["resource"]
        if case["status"] != 200 or case["version"] != 3:
            continue
        data, meta = payload["data"], payload["meta"]
        if resource == "unites_legales":
            unites[data["siren"]] = unite_legale(data, meta)
        elif resource in ("etablissements", "sieges_unites_legales"):
            etabs[data["siret"]] = etablissement(data, meta)
        elif resource == "successions":
            for pred, succ, item in liens(case["identifier"], data):
                links.append({
                    "siretEtablissementPredecesseur": pred,
                    "siretEtablissementSuccesseur": succ,
                    "dateLienSuccession": item["date_succession"],
                    "transfertSiege": item["transfert_siege"],
                    "continuiteEconomique": item["continuite_economique"],
                    "dateDernierTraitementLienSuccession": None,
                })
    for kind, record in recorded(fixtures):
        if kind == "uniteLegale":
            unites.setdefault(record["siren"], record)
        else:
            etabs.setdefault(record["siret"], record)
    # The adresse cases carry their own update date; the établissement record keeps
    # the one of the établissement cases (they agree in this set).
    records = {
        "_source": "Derived by tools/derive_insee_sirene.py from the official API Entreprise sandbox cases (api_entreprise_v{3,4}_insee_*).",
        "unites_legales": sorted(unites.values(), key=lambda r: r["siren"]),
        "etablissements": sorted(etabs.values(), key=lambda r: r["siret"]),
        "liens_succession": links,
        # The sandbox's error cases: 404s are absent records; its 502 successions case
        # is a protected établissement (INSEE answers 403, the route makes it 01999).
        "answers": [
            {"call": "successions", "id": "61229628734734", "answer": {"status": 403, "body": {"header": {"statut": 403, "message": "Établissement non diffusable (61229628734734)"}}}},
            # Recorded: the duplicate 532221694 points to 778870675 (Location keeps the
            # older path style); the gendarmerie's units are protected.
            {"call": "siren", "id": "532221694", "answer": {"status": 301, "location": "/entreprises/sirene/V3.11/siren/778870675", "body": {"header": {"statut": 301, "message": "Unité légale doublon, redirection vers l'unité légale : 778870675"}}}},
            {"call": "siret", "id": "53222169400013", "answer": {"status": 301, "location": "/entreprises/sirene/V3.11/siret/77887067500015", "body": {"header": {"statut": 301, "message": "Établissement doublon, redirection vers l'établissement : 77887067500015"}}}},
            {"call": "siren", "id": "157000332", "answer": {"status": 403, "body": {"header": {"statut": 403, "message": "Unité légale non diffusable (157000332)"}}}},
            {"call": "siret", "id": "15700033200013", "answer": {"status": 403, "body": {"header": {"statut": 403, "message": "Établissement non diffusable (15700033200013)"}}}},
        ],
    }
    with open(os.path.join(OUT, "sirene.json"), "w", encoding="utf-8") as f:
        json.dump(records, f, ensure_ascii=False, indent=1)
        f.write("\n")
    with open(os.path.join(OUT, "sirene_synthetic.json"), "w", encoding="utf-8") as f:
        json.dump(synthetic(unites, etabs), f, ensure_ascii=False, indent=1)
        f.write("\n")
    replay = [{k: c[k] for k in ("operation", "case", "version", "identifier", "status", "payload")} for c in all_cases]
    with open(os.path.join(OUT, "cases.json"), "w", encoding="utf-8") as f:
        json.dump({"_source": records["_source"], "cases": replay}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{len(unites)} unités légales, {len(etabs)} établissements, {len(links)} liens, {len(replay)} cases")


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "/work/shared/fixtures/sandbox-cases-entreprise",
        sys.argv[2] if len(sys.argv) > 2 else "/work/shared/fixtures/upstream-entreprise/insee",
    )
