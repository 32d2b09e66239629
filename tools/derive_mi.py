#!/usr/bin/env python3
"""Writes the association provider's (`mi`) own data files from the shared fixtures:
- crates/entreprise-providers/src/mi/cases.json: the official API Entreprise sandbox
  cases of the four association operations, which the replay test runs;
- crates/entreprise-providers/src/mi/api_asso.json: what the simulator answers: XML
  records written so that our mapping gives each case's body, the real service's
  recorded records (`upstream-entreprise/mi/*.xml`), one small record for the ping's
  association, and our failure cases;
- crates/entreprise-providers/src/mi/document.pdf: the sample file the simulator serves
  for every document link (a one-page PDF of our own).

Usage: tools/derive_mi.py <fixtures folder> (holding sandbox-cases-entreprise/ and
upstream-entreprise/mi/)

Document URLs: the cases carry the gateway's own links; the records get the upstream's
internal address (`http://localhost:8181/services/documents/<name>`), which the
provider rewrites to the simulator's domain, as the real gateway does.
"""
import datetime
import json
import pathlib
import sys
from xml.sax.saxutils import escape

import yaml

HERE = pathlib.Path(__file__).resolve().parent.parent / "crates/entreprise-providers/src/mi"
CASES = HERE / "cases.json"
DATA = HERE / "api_asso.json"
PDF = HERE / "document.pdf"
OPERATIONS = [
    "api_entreprise_v3_mi_associations",
    "api_entreprise_v3_mi_documents_associations",
    "api_entreprise_v4_mi_unites_legales",
    "api_entreprise_v4_mi_unites_legales_open_data",
]
INTERNAL = "http://localhost:8181/services/documents"
REGIMES = {"Loi 1901": "loi1901", "Alsace-Moselle": "alsaceMoselle", "Collectivite": "collectivite"}
DAC_TYPES = {
    "Budget prévisionnel": "BPA",
    "Comptes du dernier exercice clôt": "CPA",
    "Rapport du commissaire au compte": "RCA",
    "Rapport d'activité (le plus récent)": "RAR",
    "Rapport financier": "RFA",
    "Arrêté de l'agrement": "AGR",
    "Attestation d’affiliation": "AFF",
    "Projet sportif": "PRS",
}


def cases(root):
    out = []
    for operation in OPERATIONS:
        for path in sorted((root / "sandbox-cases-entreprise" / operation).glob("*.y*ml")):
            raw = yaml.safe_load(path.read_text())
            out.append({
                "operation": operation,
                "case": path.name,
                "version": int(operation.split("_")[2][1:]),
                "params": {k: str(v) for k, v in raw["params"].items()},
                "status": raw["status"],
                "payload": json.loads(raw["payload"]),
            })
    return out


def el(name, value, attrs=""):
    """An element, left out when the value is null (the API omits what it lacks)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        value = "true" if value else "false"
    if isinstance(value, list):
        return f"<{name}{attrs}>{''.join(value)}</{name}>"
    return f"<{name}{attrs}>{escape(str(value))}</{name}>"


def address(name, a):
    if a is None:
        return ""
    complement = [a["complement"]] if a.get("complement") else []
    return el(name, [
        *(el(f"cplt_{i}", c) for i, c in enumerate(complement, 1)),
        el("num_voie", a.get("numero_voie")),
        el("type_voie", a.get("type_voie")),
        el("voie", a.get("libelle_voie")),
        el("bp", a.get("distribution")),
        el("code_insee", a.get("code_insee")),
        el("cp", a.get("code_postal")),
        el("commune", a.get("commune")),
    ])


def document_url(counter):
    counter[0] += 1
    return f"{INTERNAL}/document-{counter[0]}"


def record_of_v3(data):
    """The record behind the v3 summary case."""
    return "<asso>" + el("identite", [
        el("nom", data["titre"]),
        el("id_rna", data["rna_id"]),
        el("id_siret", data["siret"]),
        el("id_siret_siege", data["siret_siege_social"]),
        el("id_correspondance", "900001"),
        el("date_pub_jo", data["date_publication"] or "0001-01-01"),
        el("date_creat", data["date_creation"]),
        el("date_dissolution", data["date_dissolution"] or "0001-01-01"),
        el("date_modif_rna", data["mise_a_jour"]),
        el("active", data["etat"]),
        el("groupement", data["groupement"]),
        el("regime", "loi1901"),
    ]) + el("activites", [el("objet", data["objet"])]) + el("coordonnees", [
        address("adresse_siege", data["adresse_siege"])
    ])


def documents_of_v3(items, counter):
    """The `<documents>` behind the v3 documents case."""
    rna = [
        el("document_rna", [
            el("type", "PIECE"),
            el("time", item["data"]["timestamp"]),
            el("url", document_url(counter)),
            el("lib_sous_type", item["data"]["type"]),
        ])
        for item in items
    ]
    return el("documents", [el("nbDocDac", 0), el("nbDocRna", len(rna)), *rna])


def epoch(iso):
    return str(int(datetime.datetime.fromisoformat(iso).timestamp()))


def record_of_v4(data, meta, rna_documents=True):
    """The record behind a v4 case: the inverse of the mapping, field by field."""
    counter = [0]
    activites = data["activites"]
    identite = el("identite", [
        el("nom", data["nom"]),
        el("sigle", data["sigle"]),
        el("id_rna", data["rna"]),
        el("id_ex", data["ancien_id"]),
        el("id_siren", data["siren"]),
        el("id_siret_siege", data["siret_siege"]),
        el("id_correspondance", meta["internal_id"]),
        el("id_forme_juridique", data["forme_juridique"]["code"]),
        el("lib_forme_juridique", data["forme_juridique"]["libelle"]),
        el("date_pub_jo", data["date_publication_journal_officiel"] or "0001-01-01"),
        el("date_creat", data["date_creation"]),
        el("date_dissolution", data["date_dissolution"] or "0001-01-01"),
        el("date_modif_rna", meta["date_derniere_mise_a_jour_rna"]),
        el("date_modif_siren", meta["date_derniere_mise_a_jour_sirene"]),
        el("active", data["active"]),
        el("active_sirene", data["active"]),
        el("util_publique", data["reconnue_utilite_publique"]),
        el("date_publication_util_publique", data["date_publication_reconnue_utilite_publique"]),
        el("groupement", data["groupement"]),
        el("eligibilite_cec", data["eligibilite_cec"]),
        el("raison_non_eligibilite_cec", data["raison_non_eligibilite_cec"]),
        el("regime", REGIMES.get(data["regime"], "autre")),
        el("impots_commerciaux", data["impots_commerciaux"]),
        el("tribunal_instance", data["alsace_moselle"]["tribunal_instance"]),
        el("volume", data["alsace_moselle"]["volume"]),
        el("folio", data["alsace_moselle"]["folio"]),
        el("date_pub_registre", data["alsace_moselle"]["date_publication_registre_association"]),
    ])
    activites = el("activites", [
        el("objet", activites["objet"]),
        el("id_objet_social1", activites["objet_social1"]["code"]),
        el("lib_objet_social1", activites["objet_social1"]["libelle"]),
        el("id_objet_social2", activites["objet_social2"]["code"]),
        el("lib_objet_social2", activites["objet_social2"]["libelle"]),
        el("id_activite_principale", activites["activite_principale"]["code"]),
        el("lib_activite_principale", activites["activite_principale"]["libelle"]),
        el("annee_activite_principale", activites["activite_principale"]["annee"]),
        el("champ_action_territorial", activites["champ_action_territorial"]),
        el("id_tranche_effectif", activites["tranche_effectif"]["code"]),
        el("lib_tranche_effectif", activites["tranche_effectif"]["libelle"]),
        el("annee_effectif_salarie_cent", activites["tranche_effectif"]["annee"]),
        el("appartenance_ess", "O" if activites["economie_sociale_et_solidaire"] else "N"),
        el("date_appartenance_ess", activites["date_appartenance_ess"]),
    ])
    coordonnees = el("coordonnees", [
        address("adresse_siege", data["adresse_siege"]),
        address("adresse_gestion", data["adresse_gestion"]),
    ])
    reseaux = el("reseaux_affiliation", [
        el("reseau_affiliation", [
            el("nom", r["nom"]), el("numero", r["numero"]), el("id_rna", r["rna"]),
            el("id_siret", r["siret"]), el("objet", r["objet"]), address("adresse", r["adresse"]),
            el("telephone", r["telephone"]), el("courriel", r["courriel"]),
            el("url", r["attestation_affiliation_url"]),
            el("nb_licencies", r["nombre_licencies"]["total"]),
            el("nb_licencies_h", r["nombre_licencies"]["hommes"]),
            el("nb_licencies_f", r["nombre_licencies"]["femmes"]),
        ])
        for r in data.get("reseaux_affiliation", [])
    ])
    etablissements, representants, rhs, dacs = [], [], [], []
    for e in data["etablissements"]:
        siret = e["siret"]
        etablissements.append(el("etablissement", [
            el("id_siret", siret), el("id_siren", e["siren"]), el("nom", e["nom"]),
            el("courriel", e["courriel"]), el("telephone", e["telephone"]),
            el("est_siege", e["siege"]), el("actif", e["actif"]), el("date_actif", e["date_debut_activite"]),
            address("adresse", e["adresse"]),
            el("id_activite_principale", e["activite_principale"]["code"]),
            el("lib_activite_principale", e["activite_principale"]["libelle"]),
            el("id_tranche_effectif", e["tranche_effectif"]["code"]),
            el("lib_tranche_effectif", e["tranche_effectif"]["libelle"]),
        ]))
        for r in e.get("representants_legaux", []):
            representants.append(el("representant_legal", [
                el("civilite", r["civilite"]), el("nom", r["nom"]), el("prenom", r["prenom"]),
                el("fonction", r["fonction"]), el("valideur_cec", r["valideur_cec"]),
                el("publication_internet", r["publication_internet"]),
                el("telephone", r["telephone"]), el("courriel", r["courriel"]),
                el("id_siret", siret), el("deleted", False), el("est_representant_legal", True),
            ]))
        for rh in e["rhs"]:
            rhs.append(el("rh", [
                el("nb_benevoles", rh["nombre_benevoles"]), el("nb_volontaires", rh["nombre_volontaires"]),
                el("nb_salaries", rh["nombre_salaries"]), el("nb_salaries_etpt", rh["nombre_salaries_etpt"]),
                el("id_siret", siret), el("nb_emplois_aides", rh["nombre_emplois_aides"]),
                el("nb_personnels_detaches", rh["nombre_personnels_detaches"]),
                el("nb_adherents", rh["nombre_adherents"]["total"]),
                el("nb_adherents_h", rh["nombre_adherents"]["hommes"]),
                el("nb_adherents_f", rh["nombre_adherents"]["femmes"]),
            ], f' annee="{rh["annee"]}"'))
        assert not e["comptes"], "no case has comptes"
        for d in e.get("documents_dac", []):
            dacs.append(el("document_dac", [
                el("meta", [
                    el("id_siret", siret), el("type", DAC_TYPES.get(d["type"], d["type"])),
                    el("etat", d["etat"]), el("annee_validite", d["annee_validite"]),
                ]),
                el("time_depot", d["date_depot"] and d["date_depot"] + " 10:00:00"),
                el("nom", d["nom"]), el("commentaire", d["commentaire"]),
                el("url", document_url(counter)),
            ]))
    rna = []
    for d in data.get("documents_rna", []) if rna_documents else []:
        rna.append(el("document_rna", [
            el("type", "PIECE" if d["type"] == "Pièce" else "RECEPISSE"),
            el("annee", d["annee_depot"]), el("sous_type", d["sous_type"]["code"]),
            el("time", d["date_depot"] and epoch(d["date_depot"])),
            el("url", document_url(counter)), el("lib_sous_type", d["sous_type"]["libelle"]),
        ]))
    return "<asso>" + "".join([
        identite, activites, coordonnees, reseaux,
        el("representants_legaux", representants), el("rhs", rhs),
        el("etablissements", [el("nb_actifs", len(etablissements)), *etablissements]),
        el("documents", [el("nbDocDac", len(dacs)), el("nbDocRna", len(rna)), *dacs, *rna]),
    ]) + "</asso>"


def ids_of(xml_text):
    """Every identifier the API finds a record by: RNA, SIREN, the SIRETs."""
    import xml.etree.ElementTree as ET
    root = ET.fromstring(xml_text)
    ids = {root.findtext(p) for p in ["id_rna", "id_siren", "identite/id_rna", "identite/id_siren",
                                      "identite/id_siret_siege", "identite/id_siret"]}
    ids |= {e.findtext("id_siret") for e in root.iter("etablissement")}
    return sorted(i.strip() for i in ids if i and i.strip())


def structures(root, all_cases):
    by_id = {}
    for c in all_cases:
        if c["status"] != 200:
            continue
        payload = c["payload"]
        key = c["params"].get("siret_or_rna") or c["params"].get("siren_or_rna")
        if c["operation"].endswith("_mi_associations"):
            by_id.setdefault(key, {})["v3"] = payload["data"]
        elif c["operation"].endswith("_documents_associations"):
            by_id.setdefault(key, {})["documents"] = payload["data"]
        else:
            by_id.setdefault(key, {})["v4"] = (payload["data"], payload["meta"])
    out = []
    for key, parts in by_id.items():
        if "v4" in parts:
            xml_text = record_of_v4(*parts["v4"])
        else:
            counter = [0]
            xml_text = record_of_v3(parts["v3"]) + documents_of_v3(parts.get("documents", []), counter) + "</asso>"
        out.append({"source": f"case {key}", "ids": sorted(set(ids_of(xml_text)) | {key}), "xml": xml_text})
    for path in sorted((root / "upstream-entreprise/mi").glob("*.xml")):
        text = path.read_text()
        if path.name.endswith("-1dac.xml"):
            continue  # the same association; the fuller recording wins
        out.append({"source": f"upstream-entreprise/mi/{path.name}", "ids": ids_of(text), "xml": text})
    out.append({"source": "the ping's association (ours)", "ids": ["W131015526"], "xml": ping_record()})
    out.extend(failure_records())
    return out


def ping_record():
    return ("<asso><identite><nom>ASSOCIATION DU PING</nom><id_rna>W131015526</id_rna>"
            "<id_correspondance>900002</id_correspondance><regime>loi1901</regime>"
            "<active>true</active><active_sirene>true</active_sirene></identite></asso>")


def failure_records():
    """Records that are valid XML but fail later: a number that does not read, no RNA
    document, a DAC document of each failing file name."""
    names = ["absent", "interdit", "limite", "panne", "passerelle", "indisponible", "delai",
             "methode", "lent", "redirige", "enorme", "flot"]
    dacs = "".join(
        f"<document_dac><meta><id_siret>99999999900018</id_siret><type>BPA</type><etat>courant</etat></meta>"
        f"<nom>{n}.pdf</nom><url>{INTERNAL}/{n}</url></document_dac>" for n in names)
    base = ("<identite><nom>ASSOCIATION {nom}</nom><id_rna>{rna}</id_rna>"
            "<id_correspondance>{ic}</id_correspondance><regime>loi1901</regime></identite>")
    return [
        {"source": "ours: a number that does not read", "ids": ["W999999008"],
         "xml": "<asso>" + base.format(nom="MAL CHIFFREE", rna="W999999008", ic="900008")
                + "<etablissements><etablissement><id_siret>99999999800010</id_siret></etablissement></etablissements>"
                + "<rhs><rh annee=\"2022\"><nb_benevoles>beaucoup</nb_benevoles><id_siret>99999999800010</id_siret></rh></rhs></asso>"},
        {"source": "ours: no RNA document", "ids": ["W999999009"],
         "xml": "<asso>" + base.format(nom="SANS DOCUMENT", rna="W999999009", ic="900009")
                + "<documents><nbDocDac>0</nbDocDac><nbDocRna>0</nbDocRna></documents></asso>"},
        {"source": "ours: documents whose files fail", "ids": ["W999999012"],
         "xml": "<asso>" + base.format(nom="AUX FICHIERS CASSES", rna="W999999012", ic="900012")
                + "<etablissements><etablissement><id_siret>99999999900018</id_siret><id_siren>999999999</id_siren><nom>SIEGE</nom><actif>true</actif></etablissement></etablissements>"
                + f"<documents><nbDocDac>{len(names)}</nbDocDac><nbDocRna>0</nbDocRna>{dacs}</documents></asso>"},
        {"source": "ours: not an association (no RNA number, another legal category)", "ids": ["W999999013"],
         "xml": "<asso><identite><nom>SOCIETE</nom><id_correspondance>900013</id_correspondance>"
                "<id_forme_juridique>5710</id_forme_juridique></identite></asso>"},
    ]


FAILURES = {
    "W999999001": "slow",
    "W999999002": "status:503",
    "W999999003": "garbage",
    "W999999004": "empty",
    "W999999005": "status:500:W131015526",
    "W999999006": "status:500",
    "W999999007": "huge",
    "W999999010": "status:504",
    "W999999011": "redirect",
}


def pdf():
    """A one-page PDF with a line of text, its cross-reference table computed."""
    stream = b"BT /F1 12 Tf 72 720 Td (Document d'association - simulateur Passerelle) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def main():
    root = pathlib.Path(sys.argv[1])
    all_cases = cases(root)
    CASES.write_text(json.dumps({
        "_source": "Derived by tools/derive_mi.py from the official API Entreprise sandbox cases "
                   "(api_entreprise_v3_mi_*, api_entreprise_v4_mi_*).",
        "cases": all_cases,
    }, ensure_ascii=False, indent=1) + "\n")
    DATA.write_text(json.dumps({
        "_source": "Derived by tools/derive_mi.py: records behind the sandbox cases, the real "
                   "service's recordings (upstream-entreprise/mi), our ping and failure records.",
        "structures": structures(root, all_cases),
        "failures": FAILURES,
    }, ensure_ascii=False, indent=1) + "\n")
    PDF.write_bytes(pdf())
    print(f"{len(all_cases)} cases, {DATA.name} and {PDF.name} written")


if __name__ == "__main__":
    main()
