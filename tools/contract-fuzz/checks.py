"""Schemathesis checks for Passerelle: what a client of the contract may rely on.

- A 5xx is allowed only as the contract's provider error: 502, 503 or 504 whose
  every error names a provider (`meta.provider`) and carries a provider code (not a
  gateway `00xxx` code). Anything else (500, 503 `00503`, a bare 502) fails.
- A 200 must validate against the published schema of its operation.
"""

import json

import schemathesis

PROVIDER_STATUSES = {502, 503, 504}


def _errors(response):
    try:
        body = json.loads(response.text)
    except ValueError:
        return None
    errors = body.get("errors") if isinstance(body, dict) else None
    return errors if isinstance(errors, list) and errors else None


@schemathesis.check
def only_provider_errors_as_5xx(ctx, response, case):
    status = response.status_code
    if status < 500:
        return None
    if status not in PROVIDER_STATUSES:
        raise AssertionError(f"server error {status}: {response.text[:300]}")
    errors = _errors(response)
    if errors is None:
        raise AssertionError(f"{status} without the contract's error body: {response.text[:300]}")
    for error in errors:
        code = str(error.get("code", ""))
        provider = (error.get("meta") or {}).get("provider")
        if code.startswith("00") or not provider:
            raise AssertionError(f"{status} is not a provider error: {error}")
    return None


@schemathesis.check
def success_matches_the_schema(ctx, response, case):
    if response.status_code != 200:
        return None
    return case.operation.validate_response(response, case=case)
