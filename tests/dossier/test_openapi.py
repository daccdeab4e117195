"""The dossier service's OpenAPI tells the truth: errors declared, bodies with examples."""

from __future__ import annotations

import json
import re
from pathlib import Path

from services.dossier.main import create_app
from services.dossier.settings import Settings


def test_every_operation_declares_errors_and_every_body_has_examples(tmp_path: Path) -> None:
    spec = create_app(Settings(data_dir=tmp_path)).openapi()
    schemas = spec["components"]["schemas"]
    operations = [
        (path, method, op)
        for path, ops in spec["paths"].items()
        if path.startswith("/v1/")
        for method, op in ops.items()
    ]
    assert len(operations) == 9
    for path, method, op in operations:
        declared = set(op["responses"])
        assert {"401", "403", "422", "429"} <= declared, (path, method)
        assert "application/problem+json" in op["responses"]["422"]["content"], (path, method)
        assert op.get("description"), (path, method)
        if "{code}" in path and method != "put":
            assert "404" in declared, (path, method)
        body = op.get("requestBody")
        if body:
            ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
            assert schemas[ref].get("examples"), ref
    assert "/v1/dossiers:sync" in spec["paths"]
    assert schemas["DossierRecord"]["examples"]
    refs = set(re.findall(r"#/components/schemas/([A-Za-z0-9_]+)", json.dumps(spec)))
    assert refs <= set(schemas)
