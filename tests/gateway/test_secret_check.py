"""Client secrets are checked on two dedicated threads, whatever the number of token requests.

scrypt takes 16 MiB a call and glibc keeps that block in the malloc arena of the thread that
freed it; the soak (`bench/soak.py`) found the gateway growing by hundreds of MiB, for good,
once a burst of token requests had spread the checks over the request thread pool.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from gateway.auth import router
from tests.gateway.conftest import Gateway

pytestmark = pytest.mark.anyio


async def test_token_burst_checks_secrets_on_two_threads_only(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = await gw.consumer(apis=["echo"])
    threads: set[str] = set()
    verify = router.verify_secret

    def recording(secret: str, stored: str) -> Any:
        threads.add(threading.current_thread().name)
        return verify(secret, stored)

    monkeypatch.setattr(router, "verify_secret", recording)
    tokens = await asyncio.gather(
        *(gw.token(created["client_id"], created["client_secret"]) for _ in range(16))
    )

    assert all(tokens)
    assert len(threads) <= 2, threads
    assert all(name.startswith("lgsp-secret-check") for name in threads), threads
