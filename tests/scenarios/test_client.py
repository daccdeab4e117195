"""The simulator's client rides out a platform restarting, token renewal included."""

from __future__ import annotations

import httpx
import pytest

from scenarios import client as client_mod
from scenarios.client import ApiError, Gateway


def gateway(answers: dict[str, list[int]], seen: list[str]) -> Gateway:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        status = answers[request.url.path].pop(0)
        if request.url.path == "/token" and status == 200:
            return httpx.Response(200, json={"access_token": "t", "expires_in": 300})
        if status == 0:
            raise httpx.ConnectError("connection refused")
        headers = {"Retry-After": "1"} if status == 503 else {}
        return httpx.Response(status, json={"status": status}, headers=headers)

    gw = Gateway("http://gw.test", "id", "secret")
    gw.http = httpx.Client(base_url="http://gw.test", transport=httpx.MockTransport(handle))
    return gw


def test_a_token_renewal_during_an_outage_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    # Found by the fault drill (bench/drills.py): a token due for renewal while the gateway or
    # its database restarted made the simulator give up on a 503 or a refused connection.
    monkeypatch.setattr(client_mod.time, "sleep", lambda _s: None)
    seen: list[str] = []
    gw = gateway({"/token": [0, 503, 200], "/x": [200]}, seen)
    assert gw.call("GET", "/x").status_code == 200
    assert seen == ["/token", "/token", "/token", "/x"]


def test_a_refused_token_is_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_mod.time, "sleep", lambda _s: None)
    seen: list[str] = []
    gw = gateway({"/token": [401, 200], "/x": [200]}, seen)
    with pytest.raises(ApiError) as err:
        gw.call("GET", "/x")
    assert err.value.status == 401
    assert seen == ["/token"]


def test_retry_after_is_the_least_wait_and_the_back_off_still_grows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Found by the fault drill with a 10 s PostgreSQL outage: answers of 503 with Retry-After: 1
    # made the client wait 1 s each time and give up after 8 s, before the database was back.
    slept: list[float] = []
    monkeypatch.setattr(client_mod.time, "sleep", slept.append)
    seen: list[str] = []
    gw = gateway({"/token": [200], "/x": [503, 503, 503, 503, 503, 200]}, seen)
    assert gw.call("GET", "/x").status_code == 200
    assert slept == [1.0, 1.0, 2.0, 4.0, 8.0]
