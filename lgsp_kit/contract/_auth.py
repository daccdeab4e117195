"""Access tokens for the suite: OAuth2 client credentials at the gateway, renewed before expiry."""

from __future__ import annotations

import threading
import time

import httpx

RENEW_BEFORE_SECONDS = 60.0


class TokenSource:
    """A bearer token of the consumer, fetched once and again when it nears its expiry."""

    def __init__(self, base_url: str, client_id: str, client_secret: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self._token = ""
        self._expires = 0.0
        self._lock = threading.Lock()
        self.fetched = 0

    def token(self, *, fresh: bool = False) -> str:
        with self._lock:
            if fresh or not self._token or time.monotonic() > self._expires - RENEW_BEFORE_SECONDS:
                resp = httpx.post(
                    f"{self.base_url}/token",
                    data={"grant_type": "client_credentials"},
                    auth=(self.client_id, self.client_secret),
                    timeout=30,
                )
                if resp.status_code != 200:
                    raise PermissionError(
                        f"POST /token answered {resp.status_code}: {resp.text[:300]}"
                    )
                body = resp.json()
                self._token = body["access_token"]
                self._expires = time.monotonic() + float(body.get("expires_in", 300))
                self.fetched += 1
            return self._token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}
