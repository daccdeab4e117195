"""Consumers (applications) and the gateway's signing keys."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, col, select

from gateway.auth.secrets import hash_secret, new_secret
from gateway.auth.tokens import new_private_pem
from gateway.models import Consumer, SigningKey

ADMIN_SCOPE = "lgsp:admin"
TIERS = ("Bronze", "Silver", "Gold", "Unlimited")
DEMO_NAME = "demo"
DEMO_ORGAN = "000.00.00.H06"


def api_scopes(apis: list[str]) -> list[str]:
    return [f"{api}:{access}" for api in apis for access in ("read", "write")]


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


def signing_keys(session: Session) -> list[tuple[str, str]]:
    """Active keys oldest first; creates the first key of a new gateway."""
    keys = list(
        session.exec(
            select(SigningKey).where(col(SigningKey.active)).order_by(col(SigningKey.created_at))
        )
    )
    if not keys:
        key = SigningKey(
            kid=secrets.token_hex(8),
            private_pem=new_private_pem(),
            created_at=datetime.now(UTC),
        )
        session.add(key)
        session.flush()
        keys = [key]
    return [(k.kid, k.private_pem) for k in keys]


def ensure_demo_consumer(session: Session, apis: list[str], path: Path) -> Credentials:
    """Register the demo consumer (every API and scope but administration) and write its
    credentials to `path`; an existing consumer whose file is gone gets a new secret."""
    consumer = session.exec(
        select(Consumer).where(col(Consumer.name) == DEMO_NAME).order_by(col(Consumer.id))
    ).first()
    if consumer is not None and path.exists():
        saved = json.loads(path.read_text())
        if saved.get("client_id") == consumer.client_id:
            return Credentials(saved["client_id"], saved["client_secret"])
    if consumer is None:
        consumer, creds = create_consumer(
            session,
            name=DEMO_NAME,
            organ_code=DEMO_ORGAN,
            apis=apis,
            scopes=api_scopes(apis),
            tier="Unlimited",
        )
    else:
        secret = new_secret()
        consumer.secret_hash = hash_secret(secret)
        consumer.apis = " ".join(apis)
        consumer.scopes = " ".join(api_scopes(apis))
        session.add(consumer)
        creds = Credentials(consumer.client_id, secret)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"client_id": creds.client_id, "client_secret": creds.client_secret}, indent=1)
    )
    path.chmod(0o600)
    return creds
