"""The `lgsp` command line."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli import audit_cli, consumer_cli
from lgsp.apps import APPS
from lgsp.contracts.cli import contract_test, contracts_cli
from lgsp_kit import db as dbmod
from lgsp_kit.files import private_umask
from services.reporting.rebuild import cli as reporting_cli

cli = typer.Typer(help="A provincial LGSP and the systems behind it.", no_args_is_help=True)
db_cli = typer.Typer(help="Database migrations of each app.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(consumer_cli, name="consumer")
cli.add_typer(audit_cli, name="audit")
cli.add_typer(reporting_cli, name="reporting")
cli.add_typer(contracts_cli, name="contracts")
cli.command("contract-test")(contract_test)
edxml_cli = typer.Typer(help="edXML packages (QCVN 102:2016).", no_args_is_help=True)
cli.add_typer(edxml_cli, name="edxml")

AppName = Annotated[
    str | None,
    typer.Argument(help="gateway, dossier, documents, reporting or national; all when omitted"),
]


def _apps(name: str | None) -> list[str]:
    if name is None:
        return list(APPS)
    if name not in APPS:
        raise typer.BadParameter(f"unknown app {name!r}; one of {', '.join(APPS)}")
    return [name]


def _data_dir() -> Path:
    return Path(os.environ.get("LGSP_DATA_DIR", "var"))


@cli.command()
def run(app: AppName = None) -> None:
    """Start the platform (NATS and every app), or one app in the foreground."""
    names = _apps(app)
    private_umask()  # what the apps write (databases, credentials) is the owner's only
    if app is None:
        from lgsp.launcher import run_all

        raise typer.Exit(run_all(_data_dir(), names))
    import uvicorn

    from lgsp_kit.app import GC_FREEZE_ENV
    from lgsp_kit.server import GuardedHttpToolsProtocol

    spec = APPS[names[0]]
    settings = spec.settings()
    os.environ.setdefault(GC_FREEZE_ENV, "1")  # inherited by worker processes; 0 turns it off
    uvicorn.run(
        spec.factory,
        factory=True,
        host=settings.host,
        port=settings.port,
        log_level=os.environ.get("LGSP_LOG_LEVEL", "info"),
        access_log=False,
        timeout_graceful_shutdown=10,
        # uvicorn's protocol with head/body timeouts and head size limits (slow-loris clients).
        http=GuardedHttpToolsProtocol,
        # An app whose settings ask for worker processes (the gateway's GATEWAY_WORKERS).
        workers=settings.workers,
        # The supervisor kills a worker that does not answer its ping within this (uvicorn's
        # default: 5 s). A worker still importing the app on a busy machine answered late, was
        # killed and replaced, for ever: with 2 workers on this 2-core machine under a load
        # average of 10, the dossier service never came up (a worker took over 30 s to start).
        timeout_worker_healthcheck=60,
    )


@cli.command()
def nats(
    port: Annotated[int, typer.Option(help="port to listen on")] = 14222,
) -> None:
    """Run the embedded NATS server (JetStream, store under the data dir) in the foreground.

    It requires credentials: the users and passwords are in `<data dir>/nats-credentials.json`."""
    from lgsp_kit.natsserver import CREDENTIALS_FILE, start_nats

    private_umask()  # the JetStream store is the owner's only
    proc = start_nats(_data_dir(), port)
    typer.echo(f"NATS listening on nats://127.0.0.1:{port}")
    typer.echo(f"NATS users and passwords in {_data_dir() / CREDENTIALS_FILE}")
    try:
        proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGTERM)
        proc.wait()


@db_cli.command("upgrade")
def db_upgrade(app: AppName = None) -> None:
    """Apply every migration to each app's database."""
    for name in _apps(app):
        spec = APPS[name]
        dbmod.upgrade(spec.migrations_dir, spec.settings().resolved_database_url())
        typer.echo(f"{name}: at head")


@db_cli.command("check")
def db_check(app: AppName = None) -> None:
    """Fail when an app's models and its migrations differ (`alembic check`)."""
    for name in _apps(app):
        spec = APPS[name]
        url = spec.settings().resolved_database_url()
        dbmod.upgrade(spec.migrations_dir, url)
        dbmod.check(spec.migrations_dir, url)
        typer.echo(f"{name}: models and migrations agree")


@db_cli.command("revision")
def db_revision(
    app: Annotated[str, typer.Argument(help="the app whose models changed")],
    message: Annotated[str, typer.Option("-m", "--message")],
) -> None:
    """Write a new migration from the difference between the models and the database."""
    from alembic import command

    spec = APPS[_apps(app)[0]]
    url = spec.settings().resolved_database_url()
    dbmod.upgrade(spec.migrations_dir, url)
    command.revision(dbmod.alembic_config(spec.migrations_dir, url), message, autogenerate=True)


def _credentials(client_id: str | None, client_secret: str | None) -> tuple[str, str]:
    """Options first, else the demo consumer that `lgsp run` wrote to the data dir."""
    if client_id and client_secret:
        return client_id, client_secret
    demo = _data_dir() / "demo-client.json"
    if not demo.exists():
        raise typer.BadParameter(f"give --client-id and --client-secret (no {demo})")
    creds = json.loads(demo.read_text())
    return creds["client_id"], creds["client_secret"]


GatewayOpt = Annotated[str, typer.Option(help="the gateway's base URL")]
ClientIdOpt = Annotated[str | None, typer.Option(help="consumer id (default: the demo one)")]
SecretOpt = Annotated[str | None, typer.Option(help="consumer secret")]


@cli.command()
def simulate(
    targets: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="targets YAML")],
    scale: Annotated[float, typer.Option(min=0.0, max=1.0, help="fraction of the volumes")] = 1.0,
    seed: Annotated[int, typer.Option(help="same seed, same year")] = 2023,
    gateway: GatewayOpt = "http://127.0.0.1:8000",
    client_id: ClientIdOpt = None,
    client_secret: SecretOpt = None,
    state: Annotated[Path | None, typer.Option(help="progress file (resume)")] = None,
    interactive_every: Annotated[
        int, typer.Option(help="one dossier in N goes through ordinary calls (0: none)")
    ] = 500,
    compare: Annotated[bool, typer.Option(help="wait for reporting and compare")] = True,
) -> None:
    """Replay a province's year through the gateway and compare the report with the truth."""
    from scenarios.client import Gateway
    from scenarios.run import Simulation, national_summary
    from scenarios.targets import load

    wanted = load(targets).scaled(scale)
    cid, secret = _credentials(client_id, client_secret)
    gw = Gateway(gateway, cid, secret)
    state_path = state or _data_dir() / f"simulate-{targets.stem}-{seed}-{scale:g}.json"
    state_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        sim = Simulation(gw, wanted, seed=seed, state_path=state_path,
                         interactive_every=interactive_every)  # fmt: skip
        typer.echo(f"{wanted.name}: {len(sim.plans)} procedures, seed {seed}, scale {scale:g}")
        sim.run()
        if not compare:
            return
        typer.echo("waiting for reporting to catch up…")
        diffs = sim.compare()
        if diffs:
            typer.echo("the report differs from what was generated:\n  " + "\n  ".join(diffs))
        else:
            typer.echo("the report equals what was generated, row by row")
        typer.echo("waiting for the national sync…")
        typer.echo(national_summary(sim.national()))
    finally:
        gw.close()
    if diffs:
        raise typer.Exit(1)


@cli.command()
def report(
    period: Annotated[str, typer.Option(help="2023, 2023-H1, 2023-Q4 or 2023-11")],
    format: Annotated[str, typer.Option(help="table, csv or xlsx")] = "table",
    targets: Annotated[Path | None, typer.Option(exists=True, dir_okay=False)] = None,
    scale: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="the fraction `lgsp simulate` replayed")
    ] = 1.0,
    output: Annotated[Path | None, typer.Option(help="file for csv/xlsx (default stdout)")] = None,
    gateway: GatewayOpt = "http://127.0.0.1:8000",
    client_id: ClientIdOpt = None,
    client_secret: SecretOpt = None,
) -> None:
    """Print Phụ lục II for a period, beside the targets when given (≠ marks a difference),
    scaled as the simulation was (`--scale`); exit 1 when a row differs."""
    from scenarios.client import Gateway
    from scenarios.report import matches, table
    from scenarios.targets import load
    from scenarios.truth import from_targets

    if format not in ("table", "csv", "xlsx"):
        raise typer.BadParameter("format is table, csv or xlsx")
    gw = Gateway(gateway, *_credentials(client_id, client_secret))
    try:
        params = {"period": period, "format": "json" if format == "table" else format}
        resp = gw.call("GET", "/reporting/v1/reports/phu-luc-ii", params=params)
    finally:
        gw.close()
    if format != "table":
        if output is not None:
            output.write_bytes(resp.content)
        else:
            sys.stdout.buffer.write(resp.content)
        return
    rows = resp.json()["rows"]
    expected = from_targets(load(targets).scaled(scale)) if targets is not None else None
    typer.echo(table(rows, expected))
    if expected is not None:
        by_stt = {str(r["stt"]): r for r in rows}
        wrong = [s for s, e in expected.items() if s not in by_stt or not matches(by_stt[s], e)]
        if wrong:
            typer.echo(f"differs from the targets: {', '.join(wrong)}")
            raise typer.Exit(1)


@edxml_cli.command("inspect")
def edxml_inspect(
    file: Annotated[Path, typer.Argument(help="an edXML package (document or status)")],
    cert: Annotated[
        list[Path] | None, typer.Option(help="a trusted PEM certificate of the sender")
    ] = None,
    allow_sha1: Annotated[bool, typer.Option(help="accept RSA-SHA1 (legacy senders)")] = False,
) -> None:
    """Print a package's header, business operation, attachments, status and signature."""
    from contracts.edxml import EdxmlError, inspect

    try:
        raw = file.read_bytes()
        trusted = [path.read_text() for path in cert or []]
    except OSError as exc:
        typer.echo(f"cannot read {exc.filename}: {exc.strerror}", err=True)
        raise typer.Exit(2) from exc
    try:
        summary = inspect(raw, trusted, allow_sha1=allow_sha1)
    except EdxmlError as exc:
        typer.echo(f"{file}: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
