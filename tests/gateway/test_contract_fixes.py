"""Gateway fixes found by the contract suite: what the schema says about a consumer's name and
the token request is what the gateway does."""

from __future__ import annotations

from pathlib import Path

from gateway.main import create_app
from gateway.settings import Settings
from lgsp.contracts.openapi import _fastapi


def test_the_published_document_tells_the_truth(tmp_path: Path) -> None:
    spec = _fastapi(create_app(Settings(data_dir=tmp_path))).openapi()
    name = spec["components"]["schemas"]["ConsumerCreate"]["properties"]["name"]
    assert name["pattern"] == r"\S"
    token = spec["paths"]["/token"]["post"]
    assert "422" in token["responses"]
    assert "application/problem+json" in token["responses"]["422"]["content"]
    assert token["requestBody"]["content"]["application/x-www-form-urlencoded"]["example"]
    assert "422" in spec["paths"]["/apis/{context}/openapi.json"]["get"]["responses"]
