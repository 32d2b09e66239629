"""Shared by the derive_*_people.py scripts: reading official sandbox cases and writing a
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


def derive_by_identity(folder_name, out, about, identity, build_answer, unmappable):
    """People keyed by the identity the gateway sends: identity(params) gives it,
    build_answer(status, payload, identity) the upstream's answer (None: skip the case)."""
    people, seen = [], set()
    for case, doc in documents(sandbox_dir(), folder_name):
        status = int(doc["status"])
        try:
            payload = json.loads(doc["payload"]) if doc.get("payload") else {}
            who = identity(doc.get("params") or {})
            answer = build_answer(status, payload, who)
        except (unmappable, KeyError, TypeError, IndexError, ValueError) as e:
            print(f"error: {case} (status {status}): {e!r}", file=sys.stderr)
            sys.exit(1)
        if answer is None:
            continue
        key = json.dumps(who, sort_keys=True)
        if key in seen:
            print(f"warning: {case}: duplicate identity, kept the first", file=sys.stderr)
            continue
        seen.add(key)
        people.append({"case": case, "identite": who, "answer": answer})
    write_people(out, about, people)
