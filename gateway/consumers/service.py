"""Consumers (applications) and the gateway's signing keys: the rules, one unit of work each."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, col, select

from contracts import reference
from gateway.auth.secrets import hash_secret, new_secret
from gateway.auth.tokens import algorithm_of_pem, encrypt_pem, is_encrypted, new_private_pem
from gateway.models import Consumer, SigningKey
from lgsp_kit.access import finer_scopes
from lgsp_kit.errors import Conflict, NotFound, Unprocessable
from lgsp_kit.files import private_dir, private_file, write_private
from lgsp_kit.tokens import ALGORITHM

ADMIN_SCOPE = "lgsp:admin"
TIERS = ("Bronze", "Silver", "Gold", "Unlimited")
DEMO_NAME = "demo"
ADMIN_NAME = "admin"
AXIS_NAME = "national-axis"
# The national document axis at the province: reads the axis outbox, imports its packages.
AXIS_SCOPES = ["documents:read", "documents:write", "documents:axis"]
# The dossier service's sync of its dossiers to DVCQG: the national `dvcqg` context only.
DVCQG_SYNC_NAME = "dvcqg-sync"
DVCQG_SYNC_SCOPES = ["dvcqg:read", "dvcqg:write"]
DEMO_ORGAN = reference.province().organ_code  # the provincial UBND


def api_scopes(apis: list[str]) -> list[str]:
    """The default grants: read and write of every subscribed API."""
    return [f"{api}:{access}" for api in apis for access in ("read", "write")]


def grantable_scopes(apis: list[str]) -> list[str]:
    """Read and write of every subscribed API and the finer scopes its service checks
    (`dossier:catalogue`, `reporting:declare`, `documents:axis`), granted only when a
    registration names them."""
    return api_scopes(apis) + finer_scopes(apis)


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str


def create_consumer(
    session: Session,
    *,
    name: str,
    organ_code: str,
    apis: list[str],
    scopes: list[str],
    tier: str,
) -> tuple[Consumer, Credentials]:
    client_id = secrets.token_hex(12)
    secret = new_secret()
    consumer = Consumer(
        client_id=client_id,
        name=name,
        organ_code=organ_code,
        secret_hash=hash_secret(secret),
        apis=" ".join(apis),
        scopes=" ".join(scopes),
        tier=tier,
        enabled=True,
        created_at=datetime.now(UTC),
    )
    session.add(consumer)
    session.flush()
    return consumer, Credentials(client_id, secret)


def find_consumer(session: Session, client_id: str) -> Consumer | None:
    return session.exec(select(Consumer).where(col(Consumer.client_id) == client_id)).first()


def get_consumer(session: Session, client_id: str) -> Consumer:
    consumer = find_consumer(session, client_id)
    if consumer is None:
        raise NotFound(f"no consumer {client_id!r}", code="consumer_not_found")
    return consumer


def check_grants(apis: list[str], scopes: list[str], published: list[str]) -> None:
    """Subscriptions name published APIs; scopes are `<api>:read|write` or a finer scope of a
    subscribed API (lgsp_kit.access.FINER_SCOPES), or the administration scope."""
    unknown = sorted(set(apis) - set(published))
    if unknown:
        raise Unprocessable(
            f"not published APIs: {', '.join(unknown)}; published: {', '.join(published)}",
            code="unknown_api",
        )
    allowed = set(grantable_scopes(apis)) | {ADMIN_SCOPE}
    refused = sorted(set(scopes) - allowed)
    if refused:
        raise Unprocessable(
            f"scopes not grantable with these subscriptions: {', '.join(refused)}",
            code="scope_not_grantable",
        )


def list_consumers(session: Session, *, after: int | None, limit: int) -> list[Consumer]:
    """Consumers in registration order, `limit` of them after the id `after`."""
    query = select(Consumer).order_by(col(Consumer.id)).limit(limit)
    if after is not None:
        query = query.where(col(Consumer.id) > after)
    return list(session.exec(query))


def set_enabled(session: Session, client_id: str, enabled: bool, *, caller: str) -> Consumer:
    consumer = get_consumer(session, client_id)
    if not enabled and consumer.client_id == caller:
        raise Conflict(
            "an administrator cannot disable the consumer it is calling as",
            code="cannot_disable_self",
        )
    consumer.enabled = enabled
    session.add(consumer)
    session.flush()
    return consumer


def rotate_secret(session: Session, client_id: str) -> Credentials:
    """A new secret replaces the old one at once; tokens already issued stay valid."""
    consumer = get_consumer(session, client_id)
    if not consumer.enabled:
        raise Conflict("the consumer is disabled; enable it first", code="consumer_disabled")
    secret = new_secret()
    consumer.secret_hash = hash_secret(secret)
    session.add(consumer)
    session.flush()
    return Credentials(consumer.client_id, secret)


def rotate_signing_key(
    session: Session, *, passphrase: bytes, algorithm: str = ALGORITHM
) -> SigningKey:
    """A new key signs from now on; the old ones stay published so their tokens keep working."""
    key = SigningKey(
        kid=secrets.token_hex(8),
        private_pem=new_private_pem(passphrase, algorithm),
        created_at=datetime.now(UTC),
    )
    session.add(key)
    session.flush()
    return key


def retire_signing_key(session: Session, kid: str) -> SigningKey:
    """Take a key out of the published set: its tokens stop verifying. The key that signs
    (the newest active one) cannot go; retiring a retired key changes nothing."""
    key = session.get(SigningKey, kid)
    if key is None:
        raise NotFound(f"no signing key {kid!r}", code="signing_key_not_found")
    if not key.active:
        return key
    newest = session.exec(
        select(SigningKey)
        .where(col(SigningKey.active))
        .order_by(col(SigningKey.created_at).desc())
        .limit(1)
    ).first()
    if newest is not None and newest.kid == key.kid:
        raise Conflict(
            f"the key {kid!r} signs new tokens; rotate first, then retire it",
            code="signing_key_in_use",
        )
    key.active = False
    session.add(key)
    session.flush()
    return key


def list_signing_keys(session: Session) -> list[SigningKey]:
    return list(session.exec(select(SigningKey).order_by(col(SigningKey.created_at))))


def signing_keys(
    session: Session, *, passphrase: bytes, algorithm: str = ALGORITHM
) -> list[tuple[str, str]]:
    """Active keys oldest first (their stored PEMs); creates the first key of a new gateway,
    for `algorithm`."""
    keys = list(
        session.exec(
            select(SigningKey).where(col(SigningKey.active)).order_by(col(SigningKey.created_at))
        )
    )
    if not keys:
        keys = [rotate_signing_key(session, passphrase=passphrase, algorithm=algorithm)]
    return [(k.kid, k.private_pem) for k in keys]


def ensure_signing_algorithm(session: Session, *, passphrase: bytes, algorithm: str) -> str | None:
    """When the key that signs is not of `algorithm` (GATEWAY_TOKEN_ALGORITHM changed), rotate
    to a new key of it: the old key stays published, so its tokens verify until they expire or
    it is retired. The new key's kid, or None when nothing changed."""
    kid, pem = signing_keys(session, passphrase=passphrase, algorithm=algorithm)[-1]
    if algorithm_of_pem(pem, passphrase, kid) == algorithm:
        return None
    return rotate_signing_key(session, passphrase=passphrase, algorithm=algorithm).kid


def encrypt_plain_keys(session: Session, *, passphrase: bytes) -> list[str]:
    """Encrypt the signing keys (retired ones too) stored in plain text before encryption at
    rest; returns their kids. Run at the gateway's start: no migration needs the passphrase."""
    done = []
    for key in session.exec(select(SigningKey).order_by(col(SigningKey.created_at))):
        if not is_encrypted(key.private_pem):
            key.private_pem = encrypt_pem(key.private_pem, passphrase)
            session.add(key)
            done.append(key.kid)
    session.flush()
    return done


def ensure_demo_consumer(session: Session, apis: list[str], path: Path) -> Credentials:
    """Register the demo consumer (the province's organ, every API and scope but
    administration: the simulator writes the catalogue and declares rows) and write its
    credentials to `path`; an existing consumer whose file is gone gets a new secret."""
    return _ensure_dev_consumer(session, DEMO_NAME, apis, grantable_scopes(apis), "Unlimited", path)


def ensure_admin_consumer(session: Session, path: Path) -> Credentials:
    """Register the development administrator (scope `lgsp:admin`, no API subscription) and
    write its credentials to `path`."""
    return _ensure_dev_consumer(session, ADMIN_NAME, [], [ADMIN_SCOPE], "Unlimited", path)


def ensure_axis_consumer(session: Session, path: Path) -> Credentials:
    """Register the national axis (the province's organ, the documents API with
    `documents:axis`: it takes the axis outbox and imports packages from national organs) and
    write its credentials to `path`, which the national simulator reads in dev."""
    return _ensure_dev_consumer(session, AXIS_NAME, ["documents"], AXIS_SCOPES, "Unlimited", path)


def ensure_dvcqg_sync_consumer(session: Session, path: Path) -> Credentials:
    """Register the dossier service's DVCQG sync (the province's organ, the `dvcqg` context)
    and write its credentials to `path`, which the dossier service reads in dev."""
    return _ensure_dev_consumer(
        session, DVCQG_SYNC_NAME, ["dvcqg"], DVCQG_SYNC_SCOPES, "Unlimited", path
    )


def _ensure_dev_consumer(
    session: Session, name: str, apis: list[str], scopes: list[str], tier: str, path: Path
) -> Credentials:
    consumer = session.exec(
        select(Consumer).where(col(Consumer.name) == name).order_by(col(Consumer.id))
    ).first()
    if consumer is not None and path.exists():
        saved = json.loads(path.read_text())
        if saved.get("client_id") == consumer.client_id:
            consumer.apis = " ".join(apis)
            consumer.scopes = " ".join(scopes)
            consumer.enabled = True
            session.add(consumer)
            private_file(path)  # written 0644 by versions before
            return Credentials(saved["client_id"], saved["client_secret"])
    if consumer is None:
        consumer, creds = create_consumer(
            session, name=name, organ_code=DEMO_ORGAN, apis=apis, scopes=scopes, tier=tier
        )
    else:
        secret = new_secret()
        consumer.secret_hash = hash_secret(secret)
        consumer.apis = " ".join(apis)
        consumer.scopes = " ".join(scopes)
        consumer.enabled = True
        session.add(consumer)
        creds = Credentials(consumer.client_id, secret)
    private_dir(path.parent)
    write_private(
        path,
        json.dumps({"client_id": creds.client_id, "client_secret": creds.client_secret}, indent=1),
    )
    return creds
