"""Picks, for each operation id of the official sandbox cases, one example 200 answer and
writes them where the public catalogue embeds them (crates/public-site/data/), so that the
catalogue shows real sandbox answers without reading the sandbox folders at run time.

    python3 tools/derive_catalogue_examples.py [PARTICULIER_CASES [ENTREPRISE_CASES]]

Defaults: ../shared/fixtures/sandbox-cases and ../shared/fixtures/sandbox-cases-entreprise
beside the repository. The case picked is the first 200 (file name order) that the
sandbox marks as its example (`example: true`), else the first whose name says
"nominal", else the first 200 at all; a case whose payload is not a JSON object with a
`data` member is skipped.
"""
import json
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "crates/public-site/data"
SOURCES = [
    ("particulier", "api_particulier_", REPO / "../shared/fixtures/sandbox-cases"),
    ("entreprise", "api_entreprise_", REPO / "../shared/fixtures/sandbox-cases-entreprise"),
]
# API Particulier v2 is a legacy contract outside the catalogue (its answers have no `data`).
LEGACY = "api_particulier_v2_"


def cases(folder):
    """Yields (file name, YAML document) for every case of one operation id, sorted."""
    for f in sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml")):
        for doc in yaml.safe_load_all(f.read_text(encoding="utf-8")):
            if isinstance(doc, dict):
                yield f.name, doc


def answer(doc):
    """The case's body when it is a 200 with a `data` member, else None."""
    if str(doc.get("status")) != "200" or not doc.get("payload"):
        return None
    try:
        body = json.loads(doc["payload"])
    except ValueError:
        return None
    return body if isinstance(body, dict) and "data" in body else None


def rank(name, doc):
    """Lower is preferred: the sandbox's own example, then a nominal case, then any."""
    if doc.get("example") is True:
        return 0
    return 1 if "nominal" in name.lower() and "limite" not in name.lower() else 2


def pick(folder):
    """The preferred 200 case of one operation id's folder, or None."""
    found = [(rank(name, doc), i, name, doc, body)
             for i, (name, doc) in enumerate(cases(folder))
             if (body := answer(doc)) is not None]
    if not found:
        return None
    _, _, name, doc, body = min(found, key=lambda f: (f[0], f[1]))
    return {
        "case": f"{folder.name}/{name}",
        "description": str(doc.get("description") or doc.get("title") or "").strip(),
        "params": doc.get("params") or {},
        "body": body,
    }


def derive(bouquet, prefix, sandbox):
    if not sandbox.is_dir():
        sys.exit(f"no sandbox cases at {sandbox}")
    examples, missing = {}, []
    for folder in sorted(p for p in sandbox.iterdir() if p.is_dir() and p.name.startswith(prefix)
                         and not p.name.startswith(LEGACY)):
        example = pick(folder)
        if example is None:
            missing.append(folder.name)
        else:
            examples[folder.name] = example
    about = (f"One example 200 answer per operation id of {bouquet}, taken from the official sandbox cases "
             f"by tools/derive_catalogue_examples.py; regenerate rather than edit.")
    # One operation a line: compact, yet a regeneration's diff stays readable.
    lines = [json.dumps(op, ensure_ascii=False) + ":" + json.dumps(ex, ensure_ascii=False, separators=(",", ":"))
             for op, ex in examples.items()]
    text = '{"about":' + json.dumps(about) + ',"examples":{\n' + ",\n".join(lines) + "\n}}\n"
    out = OUT / f"examples-{bouquet}.json"
    out.write_text(text, encoding="utf-8")
    print(f"wrote {len(examples)} examples to {out.relative_to(REPO)}", file=sys.stderr)
    for name in missing:
        print(f"  no 200 case in {name}", file=sys.stderr)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for i, (bouquet, prefix, default) in enumerate(SOURCES):
        sandbox = Path(sys.argv[i + 1]) if len(sys.argv) > i + 1 else default
        derive(bouquet, prefix, sandbox.resolve())


if __name__ == "__main__":
    main()
