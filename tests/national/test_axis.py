"""The national document axis with the province's documents service: a document from a
province organ to the government office (000.00.00.G22) leaves the province's axis outbox as
its signed edXML package and is kept on the axis; a package a national organ sends to a
province organ is delivered into that organ's inbox (the real sample from the axis)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from contracts import edxml as codec
from services.documents.main import create_app as documents_app
from services.documents.settings import Settings as DocumentsSettings
from services.national.axis.worker import AxisWorker
from services.national.main import create_app
from services.national.settings import Settings
from tests.conftest import TokenMint, serve, service_settings
from tests.documents.conftest import DISTRICT, PROVINCE, WRITE, connect, document, send
from tests.documents.samples import FROM_AXIS, SAMPLES, addressed_to, sample

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"the edXML samples are not at {SAMPLES}"),
]

VPCP = "000.00.00.G22"
XML = {"content-type": codec.MEDIA_TYPE}


@pytest.fixture
async def province(
    tmp_path: Path, nats_url: str, mint: TokenMint
) -> AsyncIterator[httpx.AsyncClient]:
    settings: DocumentsSettings = service_settings(
        DocumentsSettings,
        tmp_path / "documents",
        f"sqlite:///{tmp_path / 'documents.db'}",
        nats_url,
        mint,
    )
    async with serve(documents_app(settings)) as client:
        yield client


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    # The worker is driven by the test, round by round, against the documents service itself
    # (the gateway's `/documents` prefix is then empty).
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        axis_enabled=False,
        province_documents_path="",
    )


@pytest.fixture
async def national(
    settings: Settings, province: httpx.AsyncClient
) -> AsyncIterator[tuple[httpx.AsyncClient, AxisWorker]]:
    app = create_app(settings)
    async with serve(app) as client:
        yield client, AxisWorker(settings, app.state.runtime.db, client=province)


class MintedLink:
    """The axis's registration at the province: a token with `documents:axis`."""

    def __init__(self, mint: TokenMint) -> None:
        self.mint = mint

    async def headers(self) -> dict[str, str]:
        return self.mint.headers([*WRITE, "documents:axis"])

    def forget(self) -> None:
        pass


async def test_a_document_to_the_government_office_reaches_the_axis(
    province: httpx.AsyncClient,
    national: tuple[httpx.AsyncClient, AxisWorker],
    mint: TokenMint,
) -> None:
    client, worker = national
    headers = mint.headers(WRITE)
    await connect(province, headers, PROVINCE, DISTRICT)
    sent = await send(province, headers, document(PROVINCE, [DISTRICT, VPCP], code_number="7"))

    link = MintedLink(mint)
    taken = await worker.take(await link.headers())
    assert taken == 1
    outbox = await province.get("/v1/axis/outbox", headers=await link.headers())
    assert outbox.json()["items"] == []

    [item] = (await client.get("/axis/packages", params={"source": "province"})).json()["items"]
    assert item["province_document_id"] == sent["id"]
    assert item["from_organ"] == PROVINCE
    assert VPCP in item["to_organs"]
    assert item["delivery"] == "none"  # the province delivered its own organs' copies
    raw = (await client.get(f"/axis/packages/{item['id']}/edxml")).content
    exported = await province.get(f"/v1/documents/{sent['id']}/edxml", headers=headers)
    assert raw == exported.content
    read = codec.read(raw)
    assert isinstance(read, codec.DocumentPackage)
    assert read.from_.organ_id == PROVINCE

    # Taken once: another round finds nothing and keeps nothing twice.
    assert await worker.take(await link.headers()) == 0
    assert len((await client.get("/axis/packages")).json()["items"]) == 1


async def test_a_package_from_a_national_organ_lands_in_a_province_inbox(
    province: httpx.AsyncClient,
    national: tuple[httpx.AsyncClient, AxisWorker],
    mint: TokenMint,
    auth: dict[str, str],
) -> None:
    client, worker = national
    headers = mint.headers(WRITE)
    await connect(province, headers, DISTRICT)

    elsewhere = await client.post(
        "/axis/packages", content=sample(FROM_AXIS), headers={**auth, **XML}
    )
    assert elsewhere.status_code == 201, elsewhere.text
    assert elsewhere.json()["delivery"] == "none"  # to H41, H14, G17: none of the province's
    assert elsewhere.json()["from_organ"] == VPCP

    raw = addressed_to(sample(FROM_AXIS), DISTRICT, "UBND Thành phố Bắc Giang")
    resp = await client.post("/axis/packages", content=raw, headers={**auth, **XML})
    assert resp.status_code == 201, resp.text
    package = resp.json()
    assert (package["delivery"], package["to_organs"]) == ("pending", [DISTRICT])
    same = await client.post("/axis/packages", content=raw, headers={**auth, **XML})
    assert (same.status_code, same.json()["id"]) == (200, package["id"])

    assert await worker.deliver(await MintedLink(mint).headers()) == 1
    done = (await client.get(f"/axis/packages/{package['id']}")).json()
    assert (done["delivery"], done["attempts"]) == ("delivered", 1)
    inbox = await province.get(f"/v1/organs/{DISTRICT}/inbox", headers=headers)
    assert inbox.status_code == 200, inbox.text
    [entry] = inbox.json()["items"]
    assert entry["from_organ"] == VPCP
    # Delivered once.
    assert await worker.deliver(await MintedLink(mint).headers()) == 0


async def test_refused_packages(
    national: tuple[httpx.AsyncClient, AxisWorker], auth: dict[str, str]
) -> None:
    client, _ = national
    bad = await client.post("/axis/packages", content=b"<edXML><oops", headers={**auth, **XML})
    assert bad.status_code == 422
    assert (bad.json()["code"], bad.json()["reason"]) == ("invalid_package", "not_well_formed")
    status = sample("resources_status_inbox_01.edxml")
    not_doc = await client.post("/axis/packages", content=status, headers={**auth, **XML})
    assert (not_doc.status_code, not_doc.json()["code"]) == (422, "not_a_document")
    as_json = await client.post("/axis/packages", json={"a": 1}, headers=auth)
    assert as_json.status_code == 415
    no_token = await client.post("/axis/packages", content=sample(FROM_AXIS), headers=XML)
    assert no_token.status_code == 401
    assert (await client.get("/axis/packages")).json()["items"] == []


async def test_a_province_refusal_fails_the_delivery(
    province: httpx.AsyncClient,
    national: tuple[httpx.AsyncClient, AxisWorker],
    mint: TokenMint,
    auth: dict[str, str],
) -> None:
    client, worker = national
    # The district is not connected to document exchange: the province refuses the package.
    raw = addressed_to(sample(FROM_AXIS), "000.00.99.H03", "Không có trong danh bạ")
    resp = await client.post("/axis/packages", content=raw, headers={**auth, **XML})
    assert resp.json()["delivery"] == "pending"
    assert await worker.deliver(await MintedLink(mint).headers()) == 0
    failed = (await client.get(f"/axis/packages/{resp.json()['id']}")).json()
    assert failed["delivery"] == "failed"
    assert failed["last_error"].startswith("422")
