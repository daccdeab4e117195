"""`lgsp consumer ...`: the consumer administration API from the command line; `lgsp audit
verify`: the audit chain checked."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from contracts import reference

consumer_cli = typer.Typer(
    help="Consumers (ứng dụng khai thác) of the gateway, through its admin API.",
    no_args_is_help=True,
)

GatewayUrl = Annotated[
    str,
    typer.Option(
        "--gateway",
        envvar="LGSP_GATEWAY_URL",
        help="the gateway's base URL",
    ),
]
ClientId = Annotated[
    str | None,
    typer.Option(help="admin client id; default: <data dir>/admin-client.json"),
]
ClientSecret = Annotated[str | None, typer.Option(help="admin client secret")]
DataDir = Annotated[
    Path | None, typer.Option(help="where admin-client.json is; default LGSP_DATA_DIR or var")
]
DEFAULT_GATEWAY = "http://127.0.0.1:8000"


class Admin:
    """An httpx client holding an `lgsp:admin` token."""

    def __init__(
        self,
        gateway: str,
        client_id: str | None,
        client_secret: str | None,
        data_dir: Path | None,
    ) -> None:
        if not client_id or not client_secret:
            path = (data_dir or Path(os.environ.get("LGSP_DATA_DIR", "var"))) / "admin-client.json"
            if not path.exists():
                raise typer.BadParameter(
                    f"give --client-id and --client-secret, or have {path} (written by a "
                    "gateway in the dev environment)"
                )
            saved = json.loads(path.read_text())
            client_id, client_secret = saved["client_id"], saved["client_secret"]
        self.http = httpx.Client(base_url=gateway.rstrip("/"), timeout=10)
        resp = self.http.post(
            "/token",
            data={"grant_type": "client_credentials", "scope": "lgsp:admin"},
            auth=(client_id, client_secret),
        )
        self.check(resp)
        self.http.headers["Authorization"] = f"Bearer {resp.json()['access_token']}"

    @staticmethod
    def check(resp: httpx.Response) -> Any:
        if resp.status_code >= 400:
            try:
                problem = resp.json()
                message = f"{resp.status_code} {problem.get('code')}: {problem.get('detail')}"
            except ValueError:
                message = f"{resp.status_code}: {resp.text[:200]}"
            typer.echo(f"error: {message}", err=True)
            raise typer.Exit(1)
        return resp.json()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.check(self.http.request(method, path, **kwargs))


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


@consumer_cli.command("create")
def create(
    name: Annotated[str, typer.Option(help="the application's name")],
    organ: Annotated[str, typer.Option(help="the consumer organ's mã định danh")],
    api: Annotated[list[str], typer.Option(help="a subscribed API context; repeatable")],
    tier: Annotated[str, typer.Option(help="Bronze, Silver, Gold or Unlimited")] = "Bronze",
    scope: Annotated[
        list[str] | None,
        typer.Option(help="a granted scope; repeatable; default read and write of each API"),
    ] = None,
    gateway: GatewayUrl = DEFAULT_GATEWAY,
    client_id: ClientId = None,
    client_secret: ClientSecret = None,
    data_dir: DataDir = None,
) -> None:
    """Register a consumer; prints its client id and its secret (shown this once)."""
    admin = Admin(gateway, client_id, client_secret, data_dir)
    body: dict[str, Any] = {"name": name, "organ_code": organ, "apis": api, "tier": tier}
    if scope:
        body["scopes"] = scope
    _print(admin.call("POST", "/admin/consumers", json=body))


@consumer_cli.command("list")
def list_(
    gateway: GatewayUrl = DEFAULT_GATEWAY,
    client_id: ClientId = None,
    client_secret: ClientSecret = None,
    data_dir: DataDir = None,
) -> None:
    """List every consumer, one per line: client id, state, tier, organ, APIs, name."""
    admin = Admin(gateway, client_id, client_secret, data_dir)
    cursor: str | None = None
    while True:
        params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = admin.call("GET", "/admin/consumers", params=params)
        for c in page["items"]:
            state = "enabled" if c["enabled"] else "disabled"
            apis = ",".join(c["apis"]) or "-"
            typer.echo(
                f"{c['client_id']}\t{state}\t{c['tier']}\t{c['organ_code']}\t{apis}\t{c['name']}"
            )
        cursor = page["next_cursor"]
        if cursor is None:
            return


ConsumerArg = Annotated[str, typer.Argument(help="the consumer's client id")]


def _action(name: str, doc: str) -> None:
    """`lgsp consumer <name> CLIENT_ID`: POST /admin/consumers/{id}/<name>, print the answer."""

    def command(
        consumer: ConsumerArg,
        gateway: GatewayUrl = DEFAULT_GATEWAY,
        client_id: ClientId = None,
        client_secret: ClientSecret = None,
        data_dir: DataDir = None,
    ) -> None:
        admin = Admin(gateway, client_id, client_secret, data_dir)
        _print(admin.call("POST", f"/admin/consumers/{consumer}/{name}"))

    command.__doc__ = doc
    consumer_cli.command(name)(command)


_action("disable", "Disable a consumer: no new tokens, and its tokens stop working within seconds.")
_action("enable", "Enable a disabled consumer again.")
_action("rotate-secret", "Give a consumer a new secret (printed once); the old one stops working.")


@consumer_cli.command("keys")
def keys(
    gateway: GatewayUrl = DEFAULT_GATEWAY,
    client_id: ClientId = None,
    client_secret: ClientSecret = None,
    data_dir: DataDir = None,
) -> None:
    """List the token signing keys, one per line: kid, created, `signing` or `-`."""
    admin = Admin(gateway, client_id, client_secret, data_dir)
    for k in admin.call("GET", "/admin/signing-keys")["items"]:
        typer.echo(f"{k['kid']}\t{k['created_at']}\t{'signing' if k['signing'] else '-'}")


@consumer_cli.command("rotate-key")
def rotate_key(
    gateway: GatewayUrl = DEFAULT_GATEWAY,
    client_id: ClientId = None,
    client_secret: ClientSecret = None,
    data_dir: DataDir = None,
) -> None:
    """Make a new token signing key; older keys stay published so issued tokens keep working."""
    admin = Admin(gateway, client_id, client_secret, data_dir)
    _print(admin.call("POST", "/admin/signing-keys/rotate"))


@consumer_cli.command("retire-key")
def retire_key(
    kid: Annotated[str, typer.Argument(help="the key id (16 hex digits; see `keys`)")],
    gateway: GatewayUrl = DEFAULT_GATEWAY,
    client_id: ClientId = None,
    client_secret: ClientSecret = None,
    data_dir: DataDir = None,
) -> None:
    """Retire a token signing key: out of the JWKS, tokens it signed are refused.

    The key that signs cannot be retired: rotate first.
    """
    admin = Admin(gateway, client_id, client_secret, data_dir)
    _print(admin.call("POST", f"/admin/signing-keys/{kid}/retire"))


@consumer_cli.command("bootstrap-admin")
def bootstrap_admin(
    name: Annotated[str, typer.Option(help="the administrator's application name")] = "admin",
    organ: Annotated[
        str, typer.Option(help="its organ code (mã định danh); default: the provincial UBND")
    ] = reference.province().organ_code,
) -> None:
    """Register a first administrator directly in the gateway's database (any environment).

    For a new deployment, where no administrator exists to call the admin API: it uses the
    gateway's own database settings (`GATEWAY_DATABASE_URL`), applies its migrations, and
    prints the credentials once.
    """
    from gateway.consumers.service import ADMIN_SCOPE, create_consumer
    from gateway.main import MIGRATIONS
    from gateway.settings import get_settings
    from lgsp_kit import db as dbmod

    settings = get_settings()
    url = settings.resolved_database_url()
    dbmod.upgrade(MIGRATIONS, url)
    database = dbmod.Database(url)
    try:
        with database.session() as session:
            _, creds = create_consumer(
                session, name=name, organ_code=organ, apis=[], scopes=[ADMIN_SCOPE], tier="Gold"
            )
    finally:
        database.dispose()
    _print({"client_id": creds.client_id, "client_secret": creds.client_secret})
    typer.echo("store the secret now: it is shown once", err=True)


audit_cli = typer.Typer(help="The gateway's audit log (nhật ký giám sát).", no_args_is_help=True)


def _anchor(value: str) -> tuple[int, str]:
    found = re.fullmatch(r"\s*([0-9]{1,18})\s*:\s*([0-9a-fA-F]{64})\s*", value)
    if found is None:
        raise typer.BadParameter(f"{value!r}: give SEQ:HASH (a seq and a 64-hex-digit hash)")
    return int(found[1]), found[2].lower()


@audit_cli.command("verify")
def audit_verify(
    anchor: Annotated[
        list[str] | None,
        typer.Option(help="SEQ:HASH, a head noted earlier that must still be in the chain"),
    ] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            help="a signed checkpoint file (audit-checkpoints.jsonl): every line's HMAC is "
            "checked and each checkpointed seq must still be in the chain with its hash"
        ),
    ] = None,
    checkpoint_key_file: Annotated[
        Path | None,
        typer.Option(
            help="the checkpoint key; default GATEWAY_AUDIT_CHECKPOINT_KEY, else "
            "GATEWAY_AUDIT_CHECKPOINT_KEY_FILE or <data dir>/audit-checkpoint.key"
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="the gateway's database; default GATEWAY_DATABASE_URL or its SQLite file"
        ),
    ] = None,
) -> None:
    """Walk the audit chain in seq order and check every link.

    Prints `chain intact: N records, head <hash>` and exits 0, or the first broken link (its
    seq, record id and what differs) and exits 1. With --checkpoint, a checkpoint line whose
    HMAC is wrong (forged or edited) exits 1, and so does a checkpointed record that is gone
    (`truncated`) or differs (`checkpoint_mismatch`). Reads only; streams the table.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from gateway.audit import checkpoint as cp
    from gateway.audit.chain import verify
    from gateway.settings import get_settings
    from lgsp_kit import db as dbmod

    anchors = [_anchor(a) for a in anchor or []]
    settings = get_settings()
    signed: list[cp.Checkpoint] = []
    if checkpoint is not None:
        try:
            key = cp.load_key(
                None if checkpoint_key_file else settings.checkpoint_key_setting(),
                checkpoint_key_file or settings.checkpoint_key_file(),
                create=False,
            )
            signed, forged = cp.read(checkpoint, key)
        except cp.CheckpointError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        if forged is not None:
            typer.echo(f"checkpoint forged: {checkpoint} {forged}")
            raise typer.Exit(1)
        if not signed:
            typer.echo(f"error: no checkpoint in {checkpoint}", err=True)
            raise typer.Exit(2)
    url = dbmod.normalise_url(database_url or settings.resolved_database_url())
    if url.startswith("sqlite") and not Path(url.split("///", 1)[-1]).exists():
        typer.echo(f"error: no database at {url}", err=True)
        raise typer.Exit(2)
    database = dbmod.Database(url, pool_size=1)
    try:
        verdict = verify(database, anchors=anchors, checkpoints=[(c.seq, c.hash) for c in signed])
    except SQLAlchemyError as exc:
        reason = str(exc).splitlines()[0]
        typer.echo(
            f"error: cannot read the audit chain ({reason}); is the database migrated?", err=True
        )
        raise typer.Exit(2) from None
    finally:
        database.dispose()
    if verdict.broken is None:
        typer.echo(f"chain intact: {verdict.records} records, head {verdict.head_hash}")
        if signed:
            newest = max(signed, key=lambda c: c.seq)
            typer.echo(
                f"{len(signed)} signed checkpoints match; the newest is seq {newest.seq} "
                f"({newest.at})"
            )
        return
    typer.echo(f"chain broken at {verdict.broken}")
    typer.echo(f"intact up to seq {verdict.head_seq} (hash {verdict.head_hash})", err=True)
    raise typer.Exit(1)
