"""Administration use cases: each works in the request's unit of work, plus the in-process
effects (the proxy's consumer cache, the key ring) that make a change bite at once in this
process, run once it has committed."""

from __future__ import annotations

from sqlmodel import Session

from gateway.consumers import service
from gateway.consumers.schemas import (
    ConsumerCreate,
    ConsumerCreated,
    ConsumerOut,
    ConsumerPage,
    NewSecret,
    RetiredSigningKey,
    SigningKeyOut,
    SigningKeys,
)
from gateway.state import GatewayState
from lgsp_kit.paging import NUMBER
from lgsp_kit.sessions import after_commit


def register(session: Session, gateway: GatewayState, body: ConsumerCreate) -> ConsumerCreated:
    apis = list(dict.fromkeys(body.apis))
    scopes = list(dict.fromkeys(body.scopes)) if body.scopes is not None else None
    published = gateway.settings.published()
    scopes = scopes if scopes is not None else service.api_scopes(apis)
    service.check_grants(apis, scopes, published)
    row, creds = service.create_consumer(
        session,
        name=body.name,
        organ_code=body.organ_code,
        apis=apis,
        scopes=scopes,
        tier=body.tier,
    )
    out = ConsumerOut.from_row(row)
    return ConsumerCreated(**out.model_dump(), client_secret=creds.client_secret)


def page(session: Session, cursor: str | None, limit: int) -> ConsumerPage:
    rows = service.list_consumers(session, after=NUMBER.key(cursor), limit=limit + 1)
    items, next_cursor = NUMBER.page(rows, limit, key=lambda r: r.id or 0)
    return ConsumerPage(items=[ConsumerOut.from_row(r) for r in items], next_cursor=next_cursor)


def describe(session: Session, client_id: str) -> ConsumerOut:
    return ConsumerOut.from_row(service.get_consumer(session, client_id))


def switch(
    session: Session, gateway: GatewayState, client_id: str, enabled: bool, caller: str
) -> ConsumerOut:
    row = service.set_enabled(session, client_id, enabled, caller=caller)
    # This process stops honouring the consumer's tokens once the change is stored; the others
    # when told through Redis (gateway.shared), else within the cache time.
    after_commit(session, lambda: _forget_everywhere(gateway, client_id))
    return ConsumerOut.from_row(row)


def _forget_everywhere(gateway: GatewayState, client_id: str) -> None:
    gateway.proxy.forget(client_id)
    if gateway.shared is not None:
        gateway.shared.announce("consumer", client_id=client_id)


def new_secret(session: Session, client_id: str) -> NewSecret:
    creds = service.rotate_secret(session, client_id)
    return NewSecret(client_id=creds.client_id, client_secret=creds.client_secret)


def keys(session: Session, gateway: GatewayState) -> SigningKeys:
    signing = gateway.keyring.signing_kid
    rows = service.list_signing_keys(session)
    return SigningKeys(
        items=[
            SigningKeyOut(kid=k.kid, created_at=k.created_at, signing=k.kid == signing)
            for k in rows
            if k.active
        ]
    )


def _reload_ring_after_commit(session: Session, gateway: GatewayState) -> None:
    """Once the change is stored, this process signs with, publishes and accepts the keys it
    leaves (its JWKS and its remembered tokens); other processes do so when told through
    Redis (gateway.shared), else within GATEWAY_KEY_REFRESH_SECONDS."""
    active = service.signing_keys(session, passphrase=gateway.passphrase)

    def effect() -> None:
        gateway.keyring.load(active)
        if gateway.shared is not None:
            gateway.shared.announce("keys")

    after_commit(session, effect)


def rotate_key(session: Session, gateway: GatewayState) -> SigningKeyOut:
    key = service.rotate_signing_key(
        session, passphrase=gateway.passphrase, algorithm=gateway.keyring.new_key_algorithm
    )
    _reload_ring_after_commit(session, gateway)
    return SigningKeyOut(kid=key.kid, created_at=key.created_at, signing=True)


def retire_key(session: Session, gateway: GatewayState, kid: str) -> RetiredSigningKey:
    key = service.retire_signing_key(session, kid)
    _reload_ring_after_commit(session, gateway)
    return RetiredSigningKey(kid=key.kid, created_at=key.created_at, signing=False, retired=True)
