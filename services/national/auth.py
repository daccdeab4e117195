"""The national gateway's tokens (NGSP.md §1: WSO2 API Manager style).

`POST /token` with the consumer key and secret (HTTP Basic, or `client_id`/`client_secret` in
the form) and `grant_type=client_credentials` answers `{access_token, scope, token_type,
expires_in}`; errors are OAuth 2.0's `{error, error_description}`. Every national API call
carries `Authorization: Bearer <access_token>`; without one, or with one unknown or expired,
the answer is 401 with WSO2's fault object (`900902` Missing Credentials, `900901` Invalid
Credentials). Tokens are random, stored as their SHA-256, and expire after
`NATIONAL_TOKEN_TTL_SECONDS`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from weakref import WeakKeyDictionary

import anyio.to_thread
from fastapi import Depends, Form, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, delete

from lgsp_kit.db import Database
from lgsp_kit.responses import Answered
from lgsp_kit.sessions import APIRouter, WriteSession
from services.national.dependencies import NationalRuntime, SettingsDep
from services.national.models import NgspToken
from services.national.settings import Settings

router = APIRouter(tags=["ngsp-token"])


class TokenAnswer(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "5f1c0c1e-9d0b-3a4e-8f4a-2b1d7c9e0a11",
                    "scope": "default",
                    "token_type": "Bearer",
                    "expires_in": 3600,
                }
            ]
        }
    )

    access_token: str
    scope: str
    token_type: str
    expires_in: int


class OAuthError(BaseModel):
    error: str
    error_description: str


class FaultBody(BaseModel):
    code: int = Field(description="900901 Invalid Credentials, 900902 Missing Credentials")
    message: str
    description: str


class GatewayFault(BaseModel):
    """WSO2's answer to a call without a valid token."""

    fault: FaultBody


OAUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": OAuthError, "description": "unsupported or missing grant type"},
    401: {"model": OAuthError, "description": "unknown consumer or wrong secret"},
}
NEEDS_TOKEN: dict[int | str, dict[str, Any]] = {
    401: {"model": GatewayFault, "description": "no token, or one unknown or expired"}
}


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Basic realm="ngsp"'} if status == 401 else None
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _basic(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    key, sep, secret = decoded.partition(":")
    return (key, secret) if sep else None


def consumer_of(settings: Settings, key: str, secret: str) -> str | None:
    known = settings.consumers.get(key)
    if known is None:
        hmac.compare_digest(secret, secret)  # the same work either way
        return None
    return key if hmac.compare_digest(known.get_secret_value(), secret) else None


@router.post(
    "/token",
    response_model=TokenAnswer,
    summary="A national gateway access token (client credentials)",
    responses=OAUTH_ERRORS,
)
def issue_token(
    session: WriteSession,
    settings: SettingsDep,
    grant_type: Annotated[str | None, Form(max_length=50)] = None,
    client_id: Annotated[str | None, Form(max_length=200)] = None,
    client_secret: Annotated[str | None, Form(max_length=200)] = None,
    authorization: Annotated[str | None, Header(max_length=1000)] = None,
) -> Any:
    """The consumer key and secret (HTTP Basic, or in the form) for a Bearer token."""
    if grant_type != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "grant_type must be client_credentials")
    creds = _basic(authorization) or (
        (client_id, client_secret) if client_id and client_secret is not None else None
    )
    if creds is None:
        return _oauth_error(401, "invalid_client", "Client Authentication failed.")
    consumer = consumer_of(settings, *creds)
    if consumer is None:
        return _oauth_error(401, "invalid_client", "Client Authentication failed.")
    now = datetime.now(UTC)
    session.exec(delete(NgspToken).where(col(NgspToken.expires_at) < now))
    token = str(secrets.token_hex(16))
    token = f"{token[:8]}-{token[8:12]}-{token[12:16]}-{token[16:20]}-{token[20:]}"
    session.add(
        NgspToken(
            token_hash=_digest(token),
            consumer_key=consumer,
            expires_at=now + timedelta(seconds=settings.token_ttl_seconds),
        )
    )
    return TokenAnswer(
        access_token=token,
        scope="default",
        token_type="Bearer",
        expires_in=settings.token_ttl_seconds,
    )


def _refuse(code: int, message: str, description: str) -> Answered:
    body = {"fault": {"code": code, "message": message, "description": description}}
    return Answered(
        JSONResponse(body, status_code=401, headers={"WWW-Authenticate": 'Bearer realm="ngsp"'})
    )


async def caller(
    runtime: NationalRuntime,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> str:
    """The consumer key of the call's Bearer token (401 in WSO2's shape otherwise)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _refuse(
            900902,
            "Missing Credentials",
            "Required OAuth credentials not provided. Make sure your API invocation call has "
            "a header: 'Authorization : Bearer ACCESS_TOKEN'",
        )
    digest = _digest(token.strip())
    known = _KNOWN.setdefault(runtime.db, {})
    found = known.get(digest)
    now = datetime.now(UTC)
    if found is None:
        found = await anyio.to_thread.run_sync(_token_row, runtime.db, digest)
        if found is not None:
            for spent in [k for k, (_, expires) in known.items() if expires <= now]:
                del known[spent]
            known[digest] = found
    if found is None or found[1] <= now:
        raise _refuse(
            900901,
            "Invalid Credentials",
            "Access failure for API, version. Make sure you have given the correct access token",
        )
    return found[0]


# Tokens found, per database: a token row never changes and is deleted only once expired, so
# the consumer and expiry read once answer every later call (one read and thread hop less).
_KNOWN: WeakKeyDictionary[Database, dict[str, tuple[str, datetime]]] = WeakKeyDictionary()


def _token_row(db: Database, digest: str) -> tuple[str, datetime] | None:
    with db.reading() as session:
        row = session.get(NgspToken, digest)
        return None if row is None else (row.consumer_key, row.expires_at)


Caller = Annotated[str, Depends(caller)]
