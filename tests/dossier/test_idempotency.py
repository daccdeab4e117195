"""`Idempotency-Key` on POST: replay the first answer, refuse another body, scoped per client."""

from __future__ import annotations

import pytest

from tests.dossier.conftest import Api
from tests.dossier.test_dossiers import GOOD

pytestmark = pytest.mark.anyio


async def test_same_key_and_body_replays_the_first_answer(api: Api) -> None:
    first = await api.post("/v1/dossiers", GOOD, **{"Idempotency-Key": "k-1"})
    again = await api.post("/v1/dossiers", GOOD, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert len(api.events("lgsp.dossier.submitted")) == 1
    # Key order and spacing do not make another body.
    reordered = dict(reversed(list(GOOD.items())))
    replay = await api.post("/v1/dossiers", reordered, **{"Idempotency-Key": "k-1"})
    assert replay.json()["code"] == first.json()["code"]


async def test_same_key_with_another_body_is_422(api: Api) -> None:
    await api.post("/v1/dossiers", GOOD, **{"Idempotency-Key": "k-2"})
    other = await api.post("/v1/dossiers", {**GOOD, "channel": 1}, **{"Idempotency-Key": "k-2"})
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert len(api.events("lgsp.dossier.submitted")) == 1


async def test_keys_are_scoped_per_client_and_per_operation(api: Api) -> None:
    mine = await api.post("/v1/dossiers", GOOD, **{"Idempotency-Key": "shared"})
    theirs = await api.client.post(
        "/v1/dossiers",
        json=GOOD,
        headers=api.headers(client_id="another-client", **{"Idempotency-Key": "shared"}),
    )
    assert theirs.status_code == 201
    assert theirs.json()["code"] != mine.json()["code"]
    code = mine.json()["code"]
    moved = await api.post(f"/v1/dossiers/{code}/status", {"status": 2}, **{"Idempotency-Key": "s"})
    replay = await api.post(
        f"/v1/dossiers/{code}/status", {"status": 2}, **{"Idempotency-Key": "s"}
    )
    assert moved.status_code == replay.status_code == 200
    assert replay.json() == moved.json()
    assert len(api.events("lgsp.dossier.status_changed")) == 1


async def test_a_refused_request_is_not_remembered(api: Api) -> None:
    d = (await api.post("/v1/dossiers", GOOD)).json()
    url = f"/v1/dossiers/{d['code']}/status"
    refused = await api.post(url, {"status": 9}, **{"Idempotency-Key": "r"})
    assert refused.status_code == 409
    # Nothing was changed nor remembered: the retry runs again (and is refused again).
    assert (await api.post(url, {"status": 9}, **{"Idempotency-Key": "r"})).status_code == 409
    assert (await api.post(url, {"status": 2}, **{"Idempotency-Key": "r2"})).status_code == 200
