"""Administration use cases: one unit of work each, plus the in-process effects (the proxy's
consumer cache, the key ring) that make a change bite at once in this process."""

from __future__ import annotations

from zoneinfo import ZoneInfo

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
from lgsp_kit.app import Runtime


def _tz(runtime: Runtime) -> ZoneInfo:
    return ZoneInfo(runtime.settings.timezone)


def register(runtime: Runtime, body: ConsumerCreate) -> ConsumerCreated:
    apis = list(dict.fromkeys(body.apis))
    scopes = list(dict.fromkeys(body.scopes)) if body.scopes is not None else None
    published = list(runtime.extras["proxy"].upstreams)
    scopes = scopes if scopes is not None else service.api_scopes(apis)
    service.check_grants(apis, scopes, published)
    with runtime.db.session() as session:
        row, creds = service.create_consumer(
            session,
            name=body.name,
            organ_code=body.organ_code,
            apis=apis,
            scopes=scopes,
            tier=body.tier,
        )
        out = ConsumerOut.from_row(row, _tz(runtime))
    return ConsumerCreated(**out.model_dump(), client_secret=creds.client_secret)


def page(runtime: Runtime, cursor: str | None, limit: int) -> ConsumerPage:
    with runtime.db.session() as session:
        rows = service.list_consumers(
            session, after=int(cursor) if cursor else None, limit=limit + 1
        )
    more = len(rows) > limit
    rows = rows[:limit]
    tz = _tz(runtime)
    return ConsumerPage(
        items=[ConsumerOut.from_row(r, tz) for r in rows],
        next_cursor=str(rows[-1].id) if more and rows else None,
    )


def describe(runtime: Runtime, client_id: str) -> ConsumerOut:
    with runtime.db.session() as session:
        return ConsumerOut.from_row(service.get_consumer(session, client_id), _tz(runtime))


def switch(runtime: Runtime, client_id: str, enabled: bool, caller: str) -> ConsumerOut:
    with runtime.db.session() as session:
        row = service.set_enabled(session, client_id, enabled, caller=caller)
        out = ConsumerOut.from_row(row, _tz(runtime))
    # This process stops honouring the consumer's tokens now; others within the cache time.
    runtime.extras["proxy"].forget(client_id)
    return out


def new_secret(runtime: Runtime, client_id: str) -> NewSecret:
    with runtime.db.session() as session:
        creds = service.rotate_secret(session, client_id)
    return NewSecret(client_id=creds.client_id, client_secret=creds.client_secret)


def keys(runtime: Runtime) -> SigningKeys:
    signing = runtime.extras["keyring"].signing_kid
    tz = _tz(runtime)
    with runtime.db.session() as session:
        rows = service.list_signing_keys(session)
    return SigningKeys(
        items=[
            SigningKeyOut(
                kid=k.kid, created_at=k.created_at.astimezone(tz), signing=k.kid == signing
            )
            for k in rows
            if k.active
        ]
    )


def rotate_key(runtime: Runtime) -> SigningKeyOut:
    ring = runtime.extras["keyring"]
    with runtime.db.session() as session:
        key = service.rotate_signing_key(
            session, passphrase=ring.passphrase, algorithm=ring.new_key_algorithm
        )
        out = SigningKeyOut(
            kid=key.kid, created_at=key.created_at.astimezone(_tz(runtime)), signing=True
        )
        active = service.signing_keys(session, passphrase=ring.passphrase)
    ring.load(active)
    return out


def retire_key(runtime: Runtime, kid: str) -> RetiredSigningKey:
    with runtime.db.session() as session:
        key = service.retire_signing_key(session, kid)
        out = RetiredSigningKey(
            kid=key.kid,
            created_at=key.created_at.astimezone(_tz(runtime)),
            signing=False,
            retired=True,
        )
    # The session has committed: re-read the ring so this process drops the key (its JWKS and
    # its remembered tokens) now; other processes do so within GATEWAY_KEY_REFRESH_SECONDS.
    ring = runtime.extras["keyring"]
    with runtime.db.session() as session:
        active = service.signing_keys(session, passphrase=ring.passphrase)
    ring.load(active)
    return out
