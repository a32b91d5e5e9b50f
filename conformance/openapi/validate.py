"""Checks Sigil's OpenAPI document, and live answers against it.

    validate.py SPEC.json < checks.json

First validates SPEC.json as an OpenAPI 3.1 document with
openapi-spec-validator (exits 1 with the reason when it is not). Then reads
from stdin a JSON list of checks, each

    {"method": "get", "path": "/scim/v2/Users/{id}", "status": 200, "body": {...}}

with `path` a path template of the document. For each, finds the schema
the document declares for that operation's response with that status and
validates `body` against it with jsonschema (draft 2020-12, the dialect of
OpenAPI 3.1), references resolved in the document. Prints a JSON list with,
per check, null when the body matches, or the reasons it does not. A check
whose operation, status or schema the document lacks fails too.
"""

import json
import sys

from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_URI = "urn:sigil:openapi"


def pointer(*parts):
    """A JSON pointer fragment to the document's `parts`."""
    return "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def check(spec, registry, item):
    method, path, status = item["method"].lower(), item["path"], str(item["status"])
    operation = spec.get("paths", {}).get(path, {}).get(method)
    if operation is None:
        return [f"the document has no {method.upper()} {path}"]
    response = operation.get("responses", {}).get(status)
    if response is None:
        return [f"{method.upper()} {path} declares no {status} response"]
    content = response.get("content", {})
    if not content:
        if item.get("body") is None:
            return None
        return [f"{method.upper()} {path} {status} declares no body, but one came"]
    media_type = next(iter(content))
    if "schema" not in content[media_type]:
        return [f"{method.upper()} {path} {status} declares no schema"]
    where = pointer("paths", path, method, "responses", status, "content", media_type, "schema")
    validator = Draft202012Validator({"$ref": SPEC_URI + where}, registry=registry)
    errors = sorted(validator.iter_errors(item["body"]), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    return [f"at /{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    try:
        validate(spec)
    except Exception as error:  # the validator's own error types vary by version
        print(f"not a valid OpenAPI document: {str(error)[:2000]}", file=sys.stderr)
        sys.exit(1)
    registry = Registry().with_resource(SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012))
    checks = json.load(sys.stdin)
    print(json.dumps([check(spec, registry, item) for item in checks]))


if __name__ == "__main__":
    main()
