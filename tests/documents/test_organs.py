"""The organ directory: seeding with events, paging, connections per system."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from contracts import reference
from contracts.events import OrganConnectionChanged, OrganRegistered
from services.documents.settings import Settings
from tests.conftest import TokenMint
from tests.documents.conftest import (
    COMMUNE,
    DISTRICT,
    DISTRICT_2,
    PROVINCE,
    WRITE,
    of_type,
    published,
)

pytestmark = pytest.mark.anyio

REGISTERED = OrganRegistered.event_type
CHANGED = OrganConnectionChanged.event_type


async def test_directory_is_seeded_once_with_one_event_per_organ(
    client: httpx.AsyncClient, headers: dict[str, str], settings: Settings
) -> None:
    codes: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/organs", params=params, headers=headers)).json()
        codes += [o["code"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # The province's 240 organs and the national organs of the axis (national_organs.json).
    assert len(codes) == len(set(codes)) == 240 + 84
    assert codes == sorted(codes)
    national = await client.get(
        "/v1/organs", params={"level": "national", "limit": 100}, headers=headers
    )
    items = national.json()["items"]
    assert len(items) == 84
    by_code = {o["code"]: o for o in items}
    # Named by the edXML samples: the government office, Nghệ An (H41) and Cao Bằng (H14).
    assert by_code["000.00.00.G22"]["name"] == "Văn phòng Chính phủ"
    assert by_code["000.00.00.H41"]["name"] == "Ủy ban nhân dân tỉnh Nghệ An"
    assert by_code["000.00.00.H14"]["name"] == "Ủy ban nhân dân tỉnh Cao Bằng"
    assert by_code["000.00.00.G22"]["connections"]["qlvb"] is True
    assert by_code["000.00.00.G22"]["parent_code"] is None
    # H03 is this province's suffix: no national organ takes it; H06 is Bắc Ninh's.
    assert not [c for c in by_code if c.endswith(".H03")]
    assert by_code["000.00.00.H06"]["name"] == "Ủy ban nhân dân tỉnh Bắc Ninh"
    communes = await client.get(
        "/v1/organs", params={"level": "commune", "limit": 500}, headers=headers
    )
    assert len(communes.json()["items"]) == 209
    district = (await client.get(f"/v1/organs/{DISTRICT}", headers=headers)).json()
    assert district["level"] == "district"
    assert district["parent_code"] == PROVINCE
    assert district["connections"] == {"qlvb": False, "motcua": False}

    events = await published(settings.nats_url, lambda es: len(es) >= 240)
    registered = of_type(events, REGISTERED)
    assert len(registered) == 240
    # National organs are not the province's: no event, so reports do not count them.
    assert {e.data.code for e in registered} == set(codes) - set(by_code)
    levels = [e.data.level for e in registered]
    assert (levels.count("province_organ"), levels.count("district")) == (20, 10)
    # Registered as of the directory's date, so reports of the years it stands for count them.
    assert {e.time for e in registered} == {reference.directory_since()}
    assert reference.directory_since().year == 2020


async def test_unknown_and_malformed_codes(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    missing = await client.get("/v1/organs/000.99.99.H06", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["code"] == "organ_not_found"
    malformed = await client.get("/v1/organs/31-H06", headers=headers)
    assert malformed.status_code == 422
    assert malformed.headers["content-type"] == "application/problem+json"
    bad_level = await client.get("/v1/organs", params={"level": "ward"}, headers=headers)
    assert bad_level.status_code == 422


async def test_connect_and_disconnect_are_events_and_a_no_op_records_nothing(
    client: httpx.AsyncClient, headers: dict[str, str], settings: Settings
) -> None:
    url = f"/v1/organs/{DISTRICT_2}/connections"
    on = {"system": "qlvb", "connected": True, "at": "2023-02-01T08:00:00+07:00"}
    first = await client.post(url, json=on, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["changed"] is True
    organ = first.json()["organ"]
    assert organ["connections"] == {"qlvb": True, "motcua": False}
    assert organ["connections_changed_at"]["qlvb"] == "2023-02-01T08:00:00+07:00"

    again = await client.post(url, json={**on, "at": "2023-02-05T08:00:00+07:00"}, headers=headers)
    assert again.status_code == 200
    assert again.json()["changed"] is False
    assert again.json()["organ"]["connections_changed_at"]["qlvb"] == "2023-02-01T08:00:00+07:00"

    motcua = {"system": "motcua", "connected": True, "at": "2023-02-02T01:00:00Z"}
    assert (await client.post(url, json=motcua, headers=headers)).json()["changed"] is True
    off = {"system": "qlvb", "connected": False, "at": "2023-06-30T17:00:00+07:00"}
    assert (await client.post(url, json=off, headers=headers)).json()["changed"] is True
    earlier = {"system": "qlvb", "connected": True, "at": "2023-03-01T08:00:00+07:00"}
    late = await client.post(url, json=earlier, headers=headers)
    assert late.status_code == 409
    assert late.json()["code"] == "out_of_order"

    events = await published(settings.nats_url, lambda es: len(of_type(es, CHANGED)) >= 3)
    changes = [(e.data.system, e.data.connected, e.time) for e in of_type(events, CHANGED)]
    assert changes == [
        ("qlvb", True, datetime(2023, 2, 1, 1, tzinfo=UTC)),
        ("motcua", True, datetime(2023, 2, 2, 1, tzinfo=UTC)),
        ("qlvb", False, datetime(2023, 6, 30, 10, tzinfo=UTC)),
    ]
    assert {e.data.level for e in of_type(events, CHANGED)} == {"district"}


@pytest.mark.parametrize(
    "body",
    [
        {"system": "email", "connected": True},
        {"system": "qlvb", "connected": "true"},
        {"system": "qlvb", "connected": 1},
        {"system": "qlvb", "connected": True, "at": "2023-02-01T08:00:00"},
        {"system": "qlvb", "connected": True, "extra": 1},
    ],
)
async def test_connection_input_is_strict(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> None:
    resp = await client.post(f"/v1/organs/{DISTRICT}/connections", json=body, headers=headers)
    assert resp.status_code == 422
    assert resp.json()["code"] == "validation_failed"


async def test_a_consumer_changes_only_organs_in_its_scope(
    client: httpx.AsyncClient, mint: TokenMint
) -> None:
    district_app = mint.headers(WRITE, organ=DISTRICT)
    body = {"system": "motcua", "connected": True}
    own_commune = await client.post(
        f"/v1/organs/{COMMUNE}/connections", json=body, headers=district_app
    )
    assert own_commune.status_code == 200
    other = await client.post(
        f"/v1/organs/{DISTRICT_2}/connections", json=body, headers=district_app
    )
    assert other.status_code == 403
    assert other.json()["code"] == "organ_out_of_scope"
    above = await client.post(f"/v1/organs/{PROVINCE}/connections", json=body, headers=district_app)
    assert above.status_code == 403
