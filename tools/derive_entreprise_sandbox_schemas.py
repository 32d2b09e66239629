#!/usr/bin/env python3
"""Writes crates/sandbox/data/api-entreprise-200.json: the official API Entreprise
OpenAPI file cut down to what `passerelle sandbox` needs to build the 200 it answers
when no case matches (contract §12): for each data operation, its operation id, its
path and the 200 response schema, keeping only the keys the example builder reads
(`type`, `properties`, `required`, `items`, `example`, `enum`, `oneOf`, `anyOf`).
An `enum` is cut to its first value and dropped under an `example`, since the builder
takes the example first, then the first enum value. The result is still an OpenAPI
document, so `passerelle sandbox --openapi` takes either file.

    tools/derive_entreprise_sandbox_schemas.py ../shared/reference/openapi/api-entreprise.yaml \
        > crates/sandbox/data/api-entreprise-200.json
"""

import json
import sys

import yaml

KEPT = ("type", "required", "example")


def trim(schema):
    if isinstance(schema, list):
        return [trim(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: schema[k] for k in KEPT if k in schema}
    if "enum" in schema and "example" not in schema:
        out["enum"] = schema["enum"][:1]
    if "properties" in schema:
        out["properties"] = {name: trim(s) for name, s in schema["properties"].items()}
    for key in ("items", "oneOf", "anyOf"):
        if key in schema:
            out[key] = trim(schema[key])
    return out


def main(path):
    with open(path, encoding="utf-8") as f:
        document = yaml.safe_load(f)
    paths = {}
    for route, operations in sorted(document["paths"].items()):
        get = operations.get("get") or {}
        ok = get.get("responses", {}).get("200", {})
        # The official file keeps the id as `x-operationId` inside the 200 response.
        operation_id = get.get("operationId") or ok.get("x-operationId")
        schema = ok.get("content", {}).get("application/json", {}).get("schema")
        if not operation_id or not operation_id.startswith("api_entreprise_v") or schema is None:
            continue
        content = {"application/json": {"schema": trim(schema)}}
        paths[route] = {"get": {"operationId": operation_id, "responses": {"200": {"content": content}}}}
    trimmed = {
        "openapi": document.get("openapi", "3.0.0"),
        "info": {
            "title": "API Entreprise: 200 response schemas (derived)",
            "description": "Derived from the official API Entreprise OpenAPI file by "
            "tools/derive_entreprise_sandbox_schemas.py, for the sandbox's generated answers.",
            "version": str(document.get("info", {}).get("version", "")),
        },
        "paths": paths,
    }
    json.dump(trimmed, sys.stdout, ensure_ascii=False, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
