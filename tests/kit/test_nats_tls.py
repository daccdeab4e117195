"""`nats_tls_ca` set: the bus speaks TLS from the first byte and verifies the server's
certificate, so a password never travels in clear (not even to a server that offers no TLS)."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from lgsp_kit.bus import Bus
from lgsp_kit.natsserver import free_port, nats_server_binary, wait_for_port

pytestmark = pytest.mark.anyio


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_pki(root: Path, cn: str = "LGSP test CA") -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it: (ca, cert, key)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("nats"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    root.mkdir(parents=True, exist_ok=True)
    paths = root / "ca.crt", root / "server.crt", root / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def run_server(root: Path, port: int, tls: str) -> subprocess.Popen[bytes]:
    conf = root / "nats.conf"
    conf.write_text(
        f'port: {port}\nhost: "127.0.0.1"\njetstream {{ store_dir: "{root / "js"}" }}\n'
        'authorization { users: [ { user: "dossier", password: "s3cret" } ] }\n' + tls
    )
    proc = subprocess.Popen(
        [nats_server_binary(), "-c", str(conf)],
        stdout=(root / "nats.log").open("ab"),
        stderr=subprocess.STDOUT,
    )
    wait_for_port(port)
    return proc


@pytest.fixture
def pki(tmp_path: Path) -> tuple[Path, Path, Path]:
    return make_pki(tmp_path / "pki")


@pytest.fixture
def tls_server(tmp_path: Path, pki: tuple[Path, Path, Path]) -> Iterator[str]:
    _ca, cert, key = pki
    port = free_port()
    # The same block as deploy/nats/nats.conf.
    proc = run_server(
        tmp_path,
        port,
        f'tls {{ cert_file: "{cert}", key_file: "{key}", handshake_first: auto }}\n',
    )
    yield f"nats://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


async def ready(bus: Bus, within: float) -> bool:
    bus.start()
    try:
        await asyncio.wait_for(bus.wait_ready(), within)
        return True
    except TimeoutError:
        return False
    finally:
        await bus.close()


async def test_the_bus_connects_over_tls_verifying_the_server(
    tls_server: str, pki: tuple[Path, Path, Path]
) -> None:
    ca, _cert, _key = pki
    bus = Bus(tls_server, user="dossier", password="s3cret", tls_ca=str(ca))
    assert await ready(bus, 15)


async def test_a_server_signed_by_another_ca_is_refused(tls_server: str, tmp_path: Path) -> None:
    other, _cert, _key = make_pki(tmp_path / "other", cn="Someone else")
    bus = Bus(tls_server, user="dossier", password="s3cret", tls_ca=str(other))
    assert not await ready(bus, 3)


async def test_a_server_without_tls_never_sees_the_password(
    tmp_path: Path, pki: tuple[Path, Path, Path]
) -> None:
    ca, _cert, _key = pki
    port = free_port()
    proc = run_server(tmp_path, port, "")  # the same users, but plain text
    try:
        bus = Bus(f"nats://127.0.0.1:{port}", user="dossier", password="s3cret", tls_ca=str(ca))
        assert not await ready(bus, 3)
    finally:
        proc.terminate()
        proc.wait(10)
