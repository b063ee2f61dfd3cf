#!/usr/bin/env python3
"""Checks the generated OpenAPI document against the OpenAPI 3.1 specification
with a real validator (openapi-spec-validator), as CI does after the tests.

The API tests write the document the router serves at GET /api/openapi.json
to <target>/tmp/openapi.json (test `openapi::the_document_is_openapi_3_1_of_threadsync_without_auth`),
so run them first:

    cargo test -p threadsync-api --test api openapi
    python3 scripts/check-openapi.py

The validator is installed with pip when it is missing.
"""

import importlib.util
import os
import pathlib
import subprocess
import sys

VALIDATOR = "openapi-spec-validator==0.9.0"


def main() -> int:
    root = pathlib.Path(__file__).resolve().parent.parent
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", root / "target"))
    document = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else target / "tmp" / "openapi.json"
    if not document.is_file():
        print(f"error: {document} is missing: run `cargo test -p threadsync-api --test api openapi` first",
              file=sys.stderr)
        return 1
    if importlib.util.find_spec("openapi_spec_validator") is None:
        print(f"installing {VALIDATOR}")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", VALIDATOR], check=True)
    result = subprocess.run([sys.executable, "-m", "openapi_spec_validator", str(document)])
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
