"""Organs sending to each other at the same moment: no deadlock, no lost document."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.documents.conftest import connect, document

pytestmark = pytest.mark.anyio

A = "000.00.01.H03"  # Sở Nội vụ
B = "000.00.02.H03"  # Sở Tài chính
C = "000.00.31.H03"  # UBND Thành phố Bắc Giang


async def test_crossing_first_sends_all_succeed(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await connect(client, headers, A, B, C)
    pairs = [(A, [B, C]), (B, [A, C]), (C, [A, B])] * 6

    async def post(sender: str, to: list[str], n: int) -> int:
        body = document(sender, to, code_number=str(n))
        resp = await client.post("/v1/documents", json=body, headers=headers)
        return resp.status_code

    codes = await asyncio.gather(*(post(s, to, n) for n, (s, to) in enumerate(pairs)))
    assert codes == [201] * len(pairs)
    for organ, want in ((A, 12), (B, 12), (C, 12)):
        inbox = await client.get(
            f"/v1/organs/{organ}/inbox", params={"limit": 100}, headers=headers
        )
        assert len(inbox.json()["items"]) == want
