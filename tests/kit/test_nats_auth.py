"""The embedded NATS requires credentials, and each app's user may do only what the app needs.

Against a real nats-server started the way `lgsp run` starts it: anonymous connections are
refused, a producer publishes only on its own subjects, reporting only reads, and nobody but the
operator may delete or purge the stream. The apps' own code paths (the bus creating the stream,
the relay publishing, the reporting consumer) run with those users.
"""

from __future__ import annotations

import asyncio
import json
import socket
import stat
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from sqlalchemy import Column, Integer, String, Table, func, select

from lgsp_kit.bus import Bus, connect_options
from lgsp_kit.consumer import EventConsumer
from lgsp_kit.db import Database, new_metadata
from lgsp_kit.natsserver import (
    CREDENTIALS_FILE,
    app_nats_env,
    free_port,
    nats_credentials,
    operator_url,
    start_nats,
)
from lgsp_kit.outbox import add_events, define_outbox, define_processed
from lgsp_kit.relay import OutboxRelay
from tests.kit.test_event_spine import count_handler, eventually, submitted

pytestmark = pytest.mark.anyio


class Server:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = start_nats(self.data_dir, self.port)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def password(self, user: str) -> str:
        return nats_credentials(self.data_dir)[user]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "var")
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


class Session:
    """A connection as one user, remembering the permission violations the server reported."""

    def __init__(self, nc: Client, errors: list[str]) -> None:
        self.nc = nc
        self.errors = errors
        self.js = nc.jetstream(timeout=1.5)

    def violations(self) -> list[str]:
        return [e for e in self.errors if "permissions violation" in e.lower()]


async def connect(server: Server, user: str) -> Session:
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await nats.connect(
        server.url,
        **connect_options(user, server.password(user)),
        error_cb=on_error,
        allow_reconnect=False,
        connect_timeout=3,
    )
    return Session(nc, errors)


@pytest.fixture
async def as_user(server: Server) -> AsyncIterator[Any]:
    opened: list[Session] = []

    async def open_as(user: str) -> Session:
        session = await connect(server, user)
        opened.append(session)
        return session

    yield open_as
    for session in opened:
        await session.nc.close()


async def stream_subjects(server: Server) -> list[str]:
    nc = await nats.connect(operator_url(server.data_dir, server.port))
    try:
        js = nc.jetstream()
        info = await js.stream_info("LGSP", subjects_filter=">")
        return sorted((info.state.subjects or {}).keys())
    finally:
        await nc.close()


async def make_stream(server: Server) -> None:
    bus = Bus(server.url, user="dossier", password=server.password("dossier"))
    bus.start()
    try:
        await asyncio.wait_for(bus.wait_ready(), 15)
    finally:
        await bus.close()


def info_line(port: int) -> dict[str, Any]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        line = s.makefile("rb").readline()
    assert line.startswith(b"INFO ")
    info: dict[str, Any] = json.loads(line[5:])
    return info


def test_the_embedded_server_announces_that_it_requires_credentials(server: Server) -> None:
    assert info_line(server.port).get("auth_required") is True


async def test_an_anonymous_or_wrongly_authenticated_connection_is_refused(server: Server) -> None:
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(server.url, allow_reconnect=False, connect_timeout=3)
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(
            server.url, user="dossier", password="guess", allow_reconnect=False, connect_timeout=3
        )


async def test_credentials_are_private_and_the_same_after_a_restart(server: Server) -> None:
    path = server.data_dir / CREDENTIALS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((server.data_dir / "nats.conf").stat().st_mode) == 0o600
    before = json.loads(path.read_text())
    assert set(before) == {"dossier", "documents", "reporting", "operator"}
    assert len(set(before.values())) == 4
    env = app_nats_env(server.data_dir)
    assert env["DOSSIER_NATS_USER"] == "dossier"
    assert env["REPORTING_NATS_PASSWORD"] == before["reporting"]
    assert "GATEWAY_NATS_USER" not in env  # the gateway does not use the bus

    server.stop()
    server.start()
    assert json.loads(path.read_text()) == before
    session = await connect(server, "dossier")  # the same password still opens the door
    await session.nc.close()


async def test_a_producer_publishes_on_its_own_subjects_only(server: Server, as_user: Any) -> None:
    await make_stream(server)
    dossier = await as_user("dossier")
    ack = await dossier.js.publish("lgsp.dossier.dossier.submitted", b"{}")
    assert ack.stream == "LGSP"
    with pytest.raises(nats.errors.TimeoutError):
        await dossier.js.publish("lgsp.documents.document.sent", b"{}")
    documents = await as_user("documents")
    with pytest.raises(nats.errors.TimeoutError):
        await documents.js.publish("lgsp.dossier.dossier.received", b"{}")
    await documents.js.publish("lgsp.documents.document.sent", b"{}")

    assert await stream_subjects(server) == [
        "lgsp.documents.document.sent",
        "lgsp.dossier.dossier.submitted",
    ]
    assert any("lgsp.documents.document.sent" in v for v in dossier.violations())
    assert any("lgsp.dossier.dossier.received" in v for v in documents.violations())


async def test_reporting_cannot_publish_anything(server: Server, as_user: Any) -> None:
    await make_stream(server)
    reporting = await as_user("reporting")
    for subject in ("lgsp.dossier.dossier.submitted", "lgsp.documents.document.sent"):
        with pytest.raises(nats.errors.TimeoutError):
            await reporting.js.publish(subject, b"{}")
    await reporting.nc.publish("lgsp.dossier.dossier.received", b"{}")  # core NATS too
    await reporting.nc.flush()
    await asyncio.sleep(0.2)
    assert await stream_subjects(server) == []
    assert len(reporting.violations()) == 3


@pytest.mark.parametrize("user", ["dossier", "documents", "reporting"])
async def test_no_app_listens_on_the_bus_or_on_another_apps_replies(
    server: Server, as_user: Any, user: str
) -> None:
    session = await as_user(user)
    for subject in ("lgsp.>", "_INBOX.>", "_INBOX.reporting.>", "$JS.>"):
        if subject == f"_INBOX.{user}.>":
            continue
        await session.nc.subscribe(subject)
    await session.nc.flush()
    await asyncio.sleep(0.2)
    denied = [v for v in session.violations() if "subscription" in v.lower()]
    assert len(denied) == (3 if user == "reporting" else 4)


@pytest.mark.parametrize("user", ["dossier", "documents", "reporting"])
async def test_no_app_can_delete_or_purge_the_stream_only_the_operator(
    server: Server, as_user: Any, user: str
) -> None:
    await make_stream(server)
    session = await as_user(user)
    with pytest.raises(nats.errors.TimeoutError):
        await session.js.delete_stream("LGSP")
    with pytest.raises(nats.errors.TimeoutError):
        await session.js.purge_stream("LGSP")
    with pytest.raises(nats.errors.TimeoutError):  # nor replace it with another stream
        await session.js.update_stream(name="LGSP", subjects=["nothing.>"])
    assert len(session.violations()) == 3

    operator = await as_user("operator")
    assert (await operator.js.stream_info("LGSP")).config.subjects == ["lgsp.>"]
    assert await operator.js.delete_stream("LGSP")


async def test_the_apps_own_code_works_with_their_users(server: Server, tmp_path: Path) -> None:
    """Bus, relay and consumer as the apps run them: the stream created by a producer, events
    published by the relay, read and acknowledged by reporting's durable consumer."""
    metadata = new_metadata()
    outbox = define_outbox(metadata)
    processed = define_processed(metadata)
    counts = Table(
        "counts",
        metadata,
        Column("type", String(200), primary_key=True),
        Column("n", Integer, nullable=False),
    )
    db = Database(f"sqlite:///{tmp_path / 'spine.db'}")
    metadata.create_all(db.engine)
    # Reporting first: it may not create the stream and waits for a producer to.
    reader = Bus(
        server.url,
        user="reporting",
        password=server.password("reporting"),
        create_stream=False,
    )
    writer = Bus(server.url, user="dossier", password=server.password("dossier"))
    reader.start()
    consumer = EventConsumer(db, processed, reader, count_handler(counts), durable="reporting")
    consumer.start()
    await asyncio.sleep(0.5)
    writer.start()
    relay = OutboxRelay(db, outbox, writer)
    relay.start()
    try:
        with db.session() as session:
            add_events(session, outbox, [submitted(i) for i in range(30)])

        def applied() -> int:
            with db.session() as session:
                return int(session.execute(select(func.sum(counts.c.n))).scalar_one() or 0)

        await eventually(lambda: asyncio.to_thread(lambda: applied() == 30), within=30)
        await eventually(lambda: _no_pending(consumer), within=15)
        assert relay.backlog() == 0
    finally:
        await consumer.stop()
        await relay.stop()
        await reader.close()
        await writer.close()
        db.dispose()


async def _no_pending(consumer: EventConsumer) -> bool:
    return await consumer.pending() == 0


def test_each_app_reads_its_own_nats_user_and_the_shared_ca(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.dossier.settings import Settings as DossierSettings
    from services.reporting.settings import Settings as ReportingSettings

    monkeypatch.setenv("DOSSIER_NATS_USER", "dossier")
    monkeypatch.setenv("DOSSIER_NATS_PASSWORD", "d-secret")
    monkeypatch.setenv("REPORTING_NATS_USER", "reporting")
    monkeypatch.setenv("REPORTING_NATS_PASSWORD", "r-secret")
    monkeypatch.setenv("NATS_TLS_CA", "/etc/lgsp/nats-tls/ca.crt")
    dossier, reporting = DossierSettings(), ReportingSettings()
    assert (dossier.nats_user, dossier.nats_password.get_secret_value()) == ("dossier", "d-secret")
    assert reporting.nats_password.get_secret_value() == "r-secret"
    assert "r-secret" not in repr(reporting)
    assert dossier.nats_tls_ca == reporting.nats_tls_ca == "/etc/lgsp/nats-tls/ca.crt"
