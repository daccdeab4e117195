"""The simulator's side of the wire: an integrator calling published APIs through the gateway."""

from __future__ import annotations

import time
from typing import Any

import httpx

RETRY_STATUSES = frozenset({429, 502, 503, 504})


def _seconds(retry_after: str | None) -> float:
    try:
        return float(retry_after) if retry_after is not None else 0.0
    except ValueError:  # an HTTP date: fall back on the back-off
        return 0.0


class ApiError(RuntimeError):
    def __init__(self, method: str, path: str, resp: httpx.Response) -> None:
        super().__init__(f"{method} {path} → {resp.status_code}: {resp.text[:500]}")
        self.status = resp.status_code


class Gateway:
    """Calls `/{api}/v1/...` with a client-credentials token, renewed before it expires, and
    retries what a platform under load or restarting answers (429, 502–504, broken connections)."""

    def __init__(self, base_url: str, client_id: str, client_secret: str) -> None:
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=120.0)
        self.client_id = client_id
        self.client_secret = client_secret
        self._token = ""
        self._expires = 0.0

    def close(self) -> None:
        self.http.close()

    def _auth(self) -> dict[str, str]:
        if time.monotonic() > self._expires - 60:
            resp = self.http.post(
                "/token",
                data={"grant_type": "client_credentials"},
                auth=(self.client_id, self.client_secret),
            )
            if resp.status_code != 200:
                raise ApiError("POST", "/token", resp)
            body = resp.json()
            self._token = body["access_token"]
            self._expires = time.monotonic() + float(body.get("expires_in", 300))
        return {"Authorization": f"Bearer {self._token}"}

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        key: str | None = None,
        ok: tuple[int, ...] = (200, 201),
        attempts: int = 8,
    ) -> httpx.Response:
        delay = 0.5
        for attempt in range(attempts):
            try:
                # Renewing the token meets the same outages as the call itself.
                headers = self._auth()
                if key is not None:
                    headers["Idempotency-Key"] = key
                resp = self.http.request(method, path, json=json, params=params, headers=headers)
            except (httpx.TransportError, ApiError) as exc:
                retryable = not isinstance(exc, ApiError) or exc.status in RETRY_STATUSES
                if not retryable or attempt == attempts - 1:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 10)
                continue
            if resp.status_code in ok:
                return resp
            if resp.status_code in RETRY_STATUSES and attempt < attempts - 1:
                # Retry-After is the least wait; the back-off still grows, so that a restart
                # longer than the hint (a database coming back) is waited out.
                wait = max(_seconds(resp.headers.get("Retry-After")), delay)
                time.sleep(min(wait, 30))
                delay = min(delay * 2, 10)
                continue
            if resp.status_code == 401 and attempt < attempts - 1:
                self._expires = 0  # a rotated key or an expired token: get a new one
                continue
            raise ApiError(method, path, resp)
        raise AssertionError("unreachable")
