"""`POST /token` (OAuth2 client credentials) and the published keys."""

from __future__ import annotations

import base64
import binascii
from functools import partial
from typing import Annotated, Any

from fastapi import Form, Header, Request
from pydantic import BaseModel, Field

from gateway.audit.events import TokenAuditedRoute
from gateway.auth.service import authenticate
from gateway.consumers.service import ADMIN_SCOPE, grantable_scopes
from gateway.state import GatewayDep
from lgsp_kit.errors import ProblemError
from lgsp_kit.responses import problem_responses
from lgsp_kit.sessions import APIRouter

router = APIRouter(tags=["oauth2"], route_class=TokenAuditedRoute)
TOKEN_REQUEST_EXAMPLE: dict[str, Any] = {
    "requestBody": {
        "content": {
            "application/x-www-form-urlencoded": {
                "example": {
                    "grant_type": "client_credentials",
                    "client_id": "cong-dvc-tinh",
                    "client_secret": "the secret shown once at registration",
                }
            }
        }
    }
}


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = Field(default="Bearer", examples=["Bearer"])
    expires_in: int = Field(description="seconds until the token expires")
    scope: str = Field(description="granted scopes, space separated")


class OAuthError(ProblemError):
    """An OAuth2 error (RFC 6749 §5.2) told as problem+json, with `error` for OAuth2 clients."""

    def __init__(self, error: str, detail: str, status: int = 400) -> None:
        headers = {"WWW-Authenticate": 'Basic realm="lgsp"'} if status == 401 else None
        super().__init__(detail, status=status, code=error, headers=headers, extra={"error": error})


def _basic(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OAuthError("invalid_client", "malformed Basic credentials", 401) from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise OAuthError("invalid_client", "malformed Basic credentials", 401)
    return client_id, secret


@router.post(
    "/token",
    response_model=TokenResponse,
    summary="Get an access token",
    responses=problem_responses(400, 401, 422, 429, 503),
    openapi_extra=TOKEN_REQUEST_EXAMPLE,
)
async def issue_token(
    gateway: GatewayDep,
    grant_type: Annotated[str, Form(examples=["client_credentials"])],
    client_id: Annotated[str | None, Form(max_length=128)] = None,
    client_secret: Annotated[str | None, Form(max_length=256)] = None,
    scope: Annotated[str | None, Form(max_length=1000)] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> TokenResponse:
    """OAuth2 client credentials: HTTP Basic `client_id:client_secret`, or the form fields."""
    if grant_type != "client_credentials":
        raise OAuthError("unsupported_grant_type", "only client_credentials is supported")
    basic = _basic(authorization)
    if basic is not None:
        client_id, client_secret = basic
    if not client_id or not client_secret:
        raise OAuthError("invalid_client", "client credentials are required", 401)
    consumer = await gateway.secret_checks.run(
        client_id, partial(authenticate, gateway.runtime.db, client_id, client_secret)
    )
    if consumer is None or not consumer.enabled:
        raise OAuthError("invalid_client", "unknown client or wrong secret", 401)
    granted = consumer.scopes.split()
    if scope:
        asked = scope.split()
        if not set(asked) <= set(granted):
            raise OAuthError(
                "invalid_scope", f"not granted: {' '.join(sorted(set(asked) - set(granted)))}"
            )
        granted = asked
    ttl = gateway.settings.token_ttl_seconds
    token = gateway.keyring.issue(
        client_id=consumer.client_id, organ=consumer.organ_code, scopes=granted, ttl=ttl
    )
    return TokenResponse(access_token=token, expires_in=ttl, scope=" ".join(granted))


@router.get("/.well-known/jwks.json", summary="Token signing keys (JWKS)")
async def jwks(gateway: GatewayDep) -> dict[str, Any]:
    """The public keys that verify access tokens; backends fetch them too."""
    return gateway.keyring.jwks()


class AuthorizationServerMetadata(BaseModel):
    """OAuth 2.0 Authorization Server Metadata (RFC 8414) of the gateway's token endpoint."""

    issuer: str = Field(description="the tokens' `iss`")
    token_endpoint: str
    jwks_uri: str
    grant_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    response_types_supported: list[str] = Field(
        description="none: the gateway has no authorization endpoint (client credentials only)"
    )
    scopes_supported: list[str]
    access_token_signing_alg_values_supported: list[str] = Field(
        description="the JWS algorithms of the published keys; the newest key's first"
    )
    service_documentation: str


@router.get(
    "/.well-known/oauth-authorization-server",
    response_model=AuthorizationServerMetadata,
    summary="OAuth 2.0 authorization server metadata (RFC 8414)",
)
async def metadata(request: Request, gateway: GatewayDep) -> AuthorizationServerMetadata:
    """What an OAuth client library needs to configure itself: where to ask for a token, how
    to authenticate there, and where the keys that verify the tokens are."""
    settings = gateway.settings
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    ring = gateway.keyring
    algorithms = [ring.algorithm, *(a for a in ring.algorithms if a != ring.algorithm)]
    return AuthorizationServerMetadata(
        issuer=settings.issuer,
        token_endpoint=f"{base}/token",
        jwks_uri=f"{base}/.well-known/jwks.json",
        grant_types_supported=["client_credentials"],
        token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"],
        response_types_supported=[],
        scopes_supported=[*grantable_scopes(settings.published()), ADMIN_SCOPE],
        access_token_signing_alg_values_supported=algorithms,
        service_documentation=f"{base}/docs",
    )
