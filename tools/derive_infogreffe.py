#!/usr/bin/env python3
"""Writes the Infogreffe provider's own data files from the shared fixtures:
- crates/entreprise-providers/src/infogreffe/cases.json: the official API Entreprise
  sandbox cases of the two Infogreffe operations, which the replay test runs;
- crates/entreprise-providers/src/infogreffe/registre.json: what the simulator answers,
  by SIREN: `<Extrait>` documents (the real service's recorded ones, and one written
  from the official cases), in-band error texts, and raw HTTP answers for failures.

Usage: tools/derive_infogreffe.py <fixtures folder> (holding sandbox-cases-entreprise/
and upstream-entreprise/infogreffe/)

The recorded fixtures share SIRENs (403123456 appears in three files, 418166096 in two
cassettes); each variant gets its own SIREN here (900000019 and on, Luhn-valid).
The error texts of our failure cases follow the recorded `NNN -TEXT-` form; only `006`
was recorded, the other texts are ours.
"""
import json
import pathlib
import re
import sys
from xml.sax.saxutils import escape, quoteattr

import yaml

from sandbox_cases import entreprise_cases

HERE = pathlib.Path(__file__).resolve().parent.parent / "crates/entreprise-providers/src/infogreffe"
CASES = HERE / "cases.json"
DATA = HERE / "registre.json"
OPERATIONS = (
    "api_entreprise_v3_infogreffe_extraits_rcs",
    "api_entreprise_v3_infogreffe_mandataires_sociaux",
)
MONTHS = [
    "JANVIER", "FEVRIER", "MARS", "AVRIL", "MAI", "JUIN",
    "JUILLET", "AOUT", "SEPTEMBRE", "OCTOBRE", "NOVEMBRE", "DECEMBRE",
]
EXTRAIT = re.compile(r"<Extrait .*</Extrait>", re.S)
SIREN_ATTRIBUTE = re.compile(r'(<num_ident siren=")[^"]*(")')
# The ping's SIREN (the real gateway's ping asks for it and expects a success).
PING_SIREN = "831386297"


def words(iso):
    """A date as the extract writes it in words: 2024-01-15 -> 15 JANVIER 2024."""
    year, month, day = iso.split("-")
    return f"{int(day)} {MONTHS[int(month) - 1]} {year}"


def text(tag, value, **attributes):
    attrs = "".join(f" {k}={quoteattr(v)}" for k, v in attributes.items() if v is not None)
    if value is None:
        return f"<{tag}{attrs}/>"
    return f"<{tag}{attrs}>{escape(value)}</{tag}>"


def adresse(ident, fields):
    names = [
        ("nompostal", "nom_postal"), ("numero", "numero"), ("type", "type"), ("voie", "voie"),
        ("ligne1", "ligne_1"), ("ligne2", "ligne_2"), ("localite", "localite"),
        ("code_postal", "code_postal"), ("bureau_distributeur", "bureau_distributeur"),
        ("pays", "pays"),
    ]
    inner = "".join(text(tag, fields.get(key)) for tag, key in names)
    return f'<adresse id="{ident}">{inner}</adresse>'


def naissance(pays, code, date, lieu):
    return (
        f"<naissance pays={quoteattr(pays)} codePays={quoteattr(code)}>"
        + text("date", words(date), dateISO=date)
        + text("lieu", lieu)
        + "</naissance>"
    )


def dirigeant(short, detailed):
    """One `liste_dirigeant` entry: the extract's item, completed by the collection's
    item for the same person (birth place, country, nationality)."""
    if short["type"] == "personne_morale":
        greffe = ""
        if detailed.get("code_greffe"):
            greffe = text("greffe", detailed["libelle_greffe"], code=detailed["code_greffe"])
        return (
            '<dirigeant type="PM">' + text("qualite", short["fonction"])
            + "<pm>" + text("denomination", short["raison_sociale"]) + greffe
            + text("num_ident", short["numero_identification"]) + "</pm></dirigeant>"
        )
    pp = (
        f"<pp nationalite={quoteattr(detailed['nationalite'])} "
        f"codeNationalite={quoteattr(detailed['code_nationalite'])} adresse=\"AD2\" civilite=\"\">"
        + text("nom", short["nom"]) + text("prenom", short["prenom"])
        + naissance(detailed["pays_naissance"], detailed["code_pays_naissance"],
                    detailed["date_naissance"], detailed["lieu_naissance"])
        + "</pp>"
    )
    return '<dirigeant type="PP" refugie="0">' + text("qualite", short["fonction"]) + pp + "</dirigeant>"


def extrait_of_cases(extrait, collection):
    """The `<Extrait>` whose mapping is the `extraits_rcs/200.yaml` case. Its
    dirigeants are the extract's own list (the collection case of the same SIREN
    disagrees with it: see the replay test); the collection case fills in what the
    extract leaves out (birth place, nationality)."""
    data = extrait["payload"]["data"]
    details = [item["data"] for item in collection["payload"]["data"]]
    pp, pm = data["personne_physique"], data["personne_morale"]
    detailed = {
        (d.get("nom"), d.get("prenom"), d.get("numero_identification")): d for d in details
    }

    def details_of(item):
        return detailed.get((item.get("nom"), item.get("prenom"), item.get("numero_identification")), {})

    capital = data["capital"]
    montant = f"{capital['montant']:,.2f}".replace(",", " ").replace(".", ",")
    entreprise = (
        '<entreprise id_adr_siege="AD2">'
        + text("greffe", data["greffe"]["valeur"], code=data["greffe"]["code"])
        + f'<num_ident siren="{data["siren"]}"/>'
        + f"<pp nationalite={quoteattr(pp['nationalite']['valeur'])} "
        f"codeNationalite={quoteattr(pp['nationalite']['code'])} adresse=\"AD2\" civilite=\"MONSIEUR\">"
        + text("nom", pp["nom"]) + text("prenom", pp["prenom"])
        + naissance(pp["naissance"]["pays"]["valeur"], pp["naissance"]["pays"]["code"],
                    pp["naissance"]["date"], pp["naissance"]["lieu"])
        + "</pp>"
        + f"<pm forme_juridique={quoteattr(pm['forme_juridique']['valeur'])} "
        f"codeFormeJuridique={quoteattr(pm['forme_juridique']['code'])}>"
        + "<capital>" + text("montant", montant, devise=capital["devise"], codeDevise=capital["code_devise"])
        + "</capital>"
        + "<duree_ste>" + text("valeur_duree", "JUSQU'AU " + words(pm["date_fin_de_vie"]),
                               dateISO=pm["date_fin_de_vie"]) + "</duree_ste>"
        + text("date_cloture", None, dateISO=pm["date_cloture_exercice_comptable"])
        + "</pm></entreprise>"
    )
    dirigeants = "".join(dirigeant(m, details_of(m)) for m in data["mandataires_sociaux"])
    observations = "".join(
        f'<observation dateISO="{o["date"]}" numero="{o["numero"]}">'
        + text("libelle", " " + o["libelle"] + " ", position=" ") + "</observation>"
        for o in data["observations"]
    )
    principal = data["etablissement_principal"]
    etablissement = (
        '<etablissement type="1" mode="0" adresse="AD2">'
        + text("nom_commercial", data["nom_commercial"])
        + text("activite", principal["activite"])
        + text("origine_fonds", principal["origine_fonds"])
        + text("mode_exploit", principal["mode_exploitation"])
        + text("codeAPE", principal["code_ape"])
        + "</etablissement>"
    )
    dossier = (
        f'<dossier id_adr_greffe="AD1" date_immat="{words(data["date_immatriculation"])}" '
        f'dateISO_immat="{data["date_immatriculation"]}" date_extrait="{words(data["date_extrait"])}">'
        + entreprise
        + f"<liste_dirigeant>{dirigeants}</liste_dirigeant>"
        + f"<liste_observations>{observations}</liste_observations>"
        + etablissement + "</dossier>"
    )
    return '<Extrait type="2">' + dossier + adresse("AD2", pp["adresse"]) + "</Extrait>"


def extrait_of(document, siren=None):
    found = EXTRAIT.search(document).group(0)
    if siren is not None:
        found = SIREN_ATTRIBUTE.sub(lambda m: m.group(1) + siren + m.group(2), found, count=1)
    return found


def cassette_bodies(folder):
    bodies = {}
    for path in sorted(folder.glob("*.yml")):
        interaction = yaml.safe_load(path.read_text())["http_interactions"][0]
        bodies[path.stem] = interaction["response"]["body"]["string"]
    return bodies


def answer(status, body=None, content_type="text/xml; charset=UTF-8", delay_ms=0):
    entry = {"status": status}
    if body is not None:
        entry["raw_body"] = body
        entry["content_type"] = content_type
    if delay_ms:
        entry["delay_ms"] = delay_ms
    return entry


SOAP_FAULT = (
    "<?xml version='1.0' encoding='UTF-8'?><SOAP-ENV:Envelope "
    "xmlns:SOAP-ENV='http://schemas.xmlsoap.org/soap/envelope/'><SOAP-ENV:Body><SOAP-ENV:Fault>"
    "<faultcode>SOAP-ENV:Server</faultcode><faultstring>java.lang.NullPointerException</faultstring>"
    "</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>"
)


def main(root):
    cases = entreprise_cases(root, OPERATIONS)
    by_name = {(c["operation"], c["case"]): c for c in cases}
    upstream = root / "upstream-entreprise/infogreffe"
    bodies = cassette_bodies(upstream / "cassettes")
    template = (upstream / "without_etablissement.xml.erb").read_text()
    extraits = [
        {
            "siren": "552049447",
            "source": "written from extraits_rcs/200.yaml (and mandataires_sociaux/200.yaml)",
            "xml": extrait_of_cases(
                by_name[(OPERATIONS[0], "200.yaml")], by_name[(OPERATIONS[1], "200.yaml")]
            ),
        },
        {"siren": "418166096", "source": "cassette with_valid_siren_personne_morale",
         "xml": extrait_of(bodies["with_valid_siren_personne_morale"])},
        {"siren": "403860265", "source": "cassette with_valid_siren_personne_physique",
         "xml": extrait_of(bodies["with_valid_siren_personne_physique"])},
        {"siren": "900000050", "source": "cassette with_valid_siren_no_greffe_code",
         "xml": extrait_of(bodies["with_valid_siren_no_greffe_code"], "900000050")},
        {"siren": PING_SIREN, "source": "with_pp_and_pm.xml (the ping's SIREN)",
         "xml": extrait_of((upstream / "with_pp_and_pm.xml").read_text(), PING_SIREN)},
        {"siren": "900000019", "source": "with_pp_and_pm.xml",
         "xml": extrait_of((upstream / "with_pp_and_pm.xml").read_text(), "900000019")},
        {"siren": "900000027", "source": "without_mandataire.xml",
         "xml": extrait_of((upstream / "without_mandataire.xml").read_text(), "900000027")},
        {"siren": "900000035", "source": "without_personne_physique_naissance.xml",
         "xml": extrait_of((upstream / "without_personne_physique_naissance.xml").read_text(), "900000035")},
        {"siren": "900000043", "source": "without_etablissement.xml.erb",
         "xml": extrait_of(template.replace("<%= siren %>", "900000043"))},
        {"siren": "900000183", "source": "ours: with_pp_and_pm.xml with a birth date that is no date",
         "xml": extrait_of((upstream / "with_pp_and_pm.xml").read_text(), "900000183")
         .replace('dateISO="1990-01-10"', 'dateISO="10/01/1990"')},
    ]
    not_found = re.search(r"<return[^>]*>([^<]*)</return>", bodies["with_siren_not_found"]).group(1)
    codes = [
        {"siren": "432268993", "source": "cassette with_siren_not_found", "text": not_found},
        {"siren": "900000068", "text": "003 -ERREUR TEMPORAIRE D'IDENTIFICATION-"},
        {"siren": "900000076", "text": "014 -ERREUR LORS DE LA GENERATION DE LA COMMANDE-"},
        {"siren": "900000084", "text": "999 -SERVICE INDISPONIBLE-"},
        {"siren": "900000092", "text": "081 -DOSSIER RADIE DEPUIS PLUS DE 10 ANS-"},
        {"siren": "900000100", "text": "042 -ERREUR NON REPERTORIEE-"},
    ]
    whole = bodies["with_valid_siren_personne_morale"]
    answers = [
        {"siren": "900000118", "answer": answer(500, SOAP_FAULT)},
        {"siren": "900000126", "answer": answer(503, "Service Unavailable", "text/plain")},
        {"siren": "900000134", "answer": answer(504, "Gateway Timeout", "text/plain")},
        {"siren": "900000142", "answer": answer(200, whole[: len(whole) // 2])},
        {"siren": "900000159", "answer": answer(200, whole, delay_ms=15000)},
        {"siren": "900000167", "answer": answer(200, "<html><body>Maintenance</body></html>", "text/html")},
        {"siren": "900000175", "answer": {**answer(302), "location": "https://infogreffe.example/maintenance"}},
    ]
    CASES.write_text(json.dumps({
        "_source": "Derived by tools/derive_infogreffe.py from the official API Entreprise sandbox "
                   "cases (api_entreprise_v3_infogreffe_*).",
        "cases": cases,
    }, indent=1, ensure_ascii=False) + "\n")
    DATA.write_text(json.dumps({
        "_source": "Derived by tools/derive_infogreffe.py: Extraits from the real service's recorded "
                   "payloads and from the official cases; error texts and failures of our own.",
        "extraits": extraits,
        "codes": codes,
        "answers": answers,
    }, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(pathlib.Path(sys.argv[1]))
