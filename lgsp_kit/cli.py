"""The `lgsp` command line."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli import consumer_cli
from lgsp_kit import db as dbmod
from lgsp_kit.apps import APPS

cli = typer.Typer(help="A provincial LGSP and the systems behind it.", no_args_is_help=True)
db_cli = typer.Typer(help="Database migrations of each app.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(consumer_cli, name="consumer")

AppName = Annotated[
    str | None, typer.Argument(help="gateway, dossier, documents or reporting; all when omitted")
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
    if app is None:
        from lgsp_kit.launcher import run_all

        raise typer.Exit(run_all(_data_dir(), names))
    import uvicorn

    spec = APPS[names[0]]
    settings = spec.settings()
    uvicorn.run(
        spec.factory,
        factory=True,
        host=settings.host,
        port=settings.port,
        log_level=os.environ.get("LGSP_LOG_LEVEL", "info"),
        access_log=False,
        timeout_graceful_shutdown=10,
        # An app whose settings ask for worker processes (the gateway's GATEWAY_WORKERS).
        workers=getattr(settings, "workers", None),
    )


@cli.command()
def nats(
    port: Annotated[int, typer.Option(help="port to listen on")] = 14222,
) -> None:
    """Run the embedded NATS server (JetStream, store under the data dir) in the foreground."""
    from lgsp_kit.natsserver import start_nats

    proc = start_nats(_data_dir(), port)
    typer.echo(f"NATS listening on nats://127.0.0.1:{port}")
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


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
