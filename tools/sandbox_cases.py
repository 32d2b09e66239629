"""Shared by the derive_*.py scripts: reading official sandbox cases and writing a
simulator's people file, so that each script only holds its provider's reverse mapping."""
import json
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


def sandbox_dir():
    """The sandbox folder given as first argument, else the shared one beside the repo."""
    return Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "../shared/fixtures/sandbox-cases"


def documents(sandbox, folder_name):
    """Yields (case name, YAML document) for every case of one operation-id folder, sorted."""
    folder = sandbox / folder_name
    if not folder.is_dir():
        sys.exit(f"no {folder_name} folder under {sandbox}")
    for f in sorted(f for f in folder.iterdir() if f.suffix in (".yaml", ".yml")):
        for doc in yaml.safe_load_all(f.read_text(encoding="utf-8")):
            if doc:
                yield f"{folder_name}/{f.name}", doc


def write_people(out, about, people):
    out.write_text(json.dumps({"about": about, "people": people}, indent=2, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    print(f"wrote {len(people)} entries to {out.relative_to(REPO)}", file=sys.stderr)


def derive_people(folder_names, out, about, person, unmappable):
    """Reads every case of the folders and writes the people file. person(folder, status,
    params, payload) gives (key, entry) for a case, or None to skip it; a case it cannot
    map (unmappable or a missing field) stops the script, a duplicate key is warned about."""
    sandbox, people, seen = sandbox_dir(), [], set()
    for name in folder_names:
        for case, doc in documents(sandbox, name):
            status = int(doc["status"])
            try:
                payload = json.loads(doc["payload"]) if doc.get("payload") else {}
                found = person(name, status, doc.get("params") or {}, payload)
            except (unmappable, KeyError, TypeError, IndexError, ValueError) as e:
                print(f"error: {case} (status {status}): {e!r}", file=sys.stderr)
                sys.exit(1)
            if found is None:
                continue
            key, entry = found
            if key in seen:
                print(f"warning: {case}: duplicate person, kept the first", file=sys.stderr)
                continue
            seen.add(key)
            people.append({"case": case, **entry})
    write_people(out, about, people)


def derive_by_identity(folder_names, out, about, identity, build_answer, unmappable):
    """People keyed by the identity the gateway sends: identity(params) gives it,
    build_answer(status, payload, identity) the upstream's answer (None: skip the case).
    folder_names is one folder name or a list of them."""
    def person(_folder, status, params, payload):
        who = identity(params)
        answer = build_answer(status, payload, who)
        return None if answer is None else (json.dumps(who, sort_keys=True), {"identite": who, "answer": answer})

    names = [folder_names] if isinstance(folder_names, str) else folder_names
    derive_people(names, out, about, person, unmappable)


def entreprise_cases(root, operations, version=3):
    """The official API Entreprise cases of the operation-id folders `operations` under
    root/sandbox-cases-entreprise, as the providers' cases.json files hold them."""
    cases = []
    for operation in operations:
        folder = Path(root) / "sandbox-cases-entreprise" / operation
        for path in sorted(folder.glob("*.y*ml")):
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            cases.append({
                "operation": operation,
                "case": path.name,
                "version": version,
                "params": {k: str(v) for k, v in raw["params"].items()},
                "status": raw["status"],
                "payload": json.loads(raw["payload"]),
            })
    return cases


def v2_identity(params):
    """The v3 parameters API Particulier v2's MEN and student routes send for a v2 call
    (crates/particulier/src/v2/mod.rs `split_identity`): `nom`, `prenom` (one, trimmed) or
    `prenoms` (split on blanks), `sexe` upper-cased, `dateNaissance` or `dateDeNaissance`
    split in three, `lieuDeNaissance` as the birth commune; the others as sent."""
    out = {}
    for key, value in params.items():
        value = str(value)
        if key == "nom":
            out["nomNaissance"] = value
        elif key == "prenom":
            out.setdefault("prenoms", []).append(value.strip())
        elif key in ("prenoms", "prenoms[]"):
            out.setdefault("prenoms", []).extend(value.split())
        elif key == "sexe":
            out["sexeEtatCivil"] = value.strip().upper()
        elif key == "lieuDeNaissance":
            out["codeCogInseeCommuneNaissance"] = value
        elif key in ("dateNaissance", "dateDeNaissance"):
            year, month, day = value.strip().split("-")
            out.update(anneeDateNaissance=year, moisDateNaissance=month, jourDateNaissance=day)
        else:
            out[key] = value
    return out
