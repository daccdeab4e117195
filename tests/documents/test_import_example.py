"""The published example of `POST /v1/documents:import` once its recipient is connected (found by
the contract suite against a platform where the national axis had connected that organ: the
example had no SignerInfo, was stored, and its answer failed with 500), and a package that does
not name its signer: refused with 422, nothing stored."""

from __future__ import annotations

import httpx
import pytest

from tests.documents.conftest import DISTRICT, connect

pytestmark = pytest.mark.anyio


async def test_the_published_import_example_is_answered(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    spec = (await client.get("/openapi.json")).json()
    body = spec["paths"]["/v1/documents:import"]["post"]["requestBody"]["content"]
    example: str = body["application/xml"]["example"]
    assert f"<OrganId>{DISTRICT}</OrganId>" in example
    await connect(client, headers, DISTRICT)
    resp = await client.post(
        "/v1/documents:import",
        content=example.encode(),
        headers={**headers, "content-type": "application/xml"},
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["signer"]["position"] == "Phó Chủ nhiệm"


async def example_without(client: httpx.AsyncClient, part: str) -> bytes:
    spec = (await client.get("/openapi.json")).json()
    body = spec["paths"]["/v1/documents:import"]["post"]["requestBody"]["content"]
    example: str = body["application/xml"]["example"]
    assert part in example
    return example.replace(part, "").encode()


@pytest.mark.parametrize(
    ("part", "missing"),
    [
        (
            "<SignerInfo><Competence>KT. BỘ TRƯỞNG, CHỦ NHIỆM</Competence>"
            "<Position>Phó Chủ nhiệm</Position><FullName>Nguyễn Văn A</FullName></SignerInfo>",
            "Position and FullName",
        ),
        ("<FullName>Nguyễn Văn A</FullName>", "FullName"),
    ],
)
async def test_a_package_without_its_signer_is_refused(
    client: httpx.AsyncClient, headers: dict[str, str], part: str, missing: str
) -> None:
    await connect(client, headers, DISTRICT)
    resp = await client.post(
        "/v1/documents:import",
        content=await example_without(client, part),
        headers={**headers, "content-type": "application/xml"},
    )
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["code"] == "signer_missing"
    assert resp.json()["detail"].endswith(f"SignerInfo needs {missing}")
    inbox = await client.get(f"/v1/organs/{DISTRICT}/inbox", headers=headers)
    assert inbox.status_code == 200 and inbox.json()["items"] == []
