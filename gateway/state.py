"""What the gateway's lifespan builds besides the kit's runtime, typed: `app.state.gateway`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from lgsp_kit.app import Runtime

if TYPE_CHECKING:
    from gateway.auth.service import SecretChecks
    from gateway.auth.tokens import KeyRing
    from gateway.catalogue.service import Catalogue
    from gateway.fastpath.audit import AuditLog
    from gateway.fastpath.proxy import Proxy
    from gateway.settings import Settings
    from gateway.shared import SharedState


@dataclass
class GatewayState:
    runtime: Runtime[Settings]
    # The token signing keys: issues tokens, verifies them, publishes the JWKS.
    keyring: KeyRing
    # `/token`'s client secret checks: their queue and the failures per client id.
    secret_checks: SecretChecks
    proxy: Proxy
    catalogue: Catalogue
    # None when the audit log is switched off.
    audit: AuditLog | None
    # Redis shared by the gateway processes; None when LGSP_REDIS_URL is not set.
    shared: SharedState | None = None

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def passphrase(self) -> bytes:
        """Encrypts the signing keys at rest (GATEWAY_KEY_PASSPHRASE)."""
        return self.settings.key_passphrase.get_secret_value().encode()


async def gateway_state(request: Request) -> GatewayState:
    state: GatewayState = request.app.state.gateway
    return state


def gateway_state_or_none(request: Request) -> GatewayState | None:
    """The state once the lifespan has built it (an admin route answering before, never)."""
    state: GatewayState | None = getattr(request.app.state, "gateway", None)
    return state


GatewayDep = Annotated[GatewayState, Depends(gateway_state)]
