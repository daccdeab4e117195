"""`lgsp contract-test` and `lgsp contracts generate|check`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

contracts_cli = typer.Typer(
    help="The published contracts: OpenAPI, event JSON Schemas, AsyncAPI.", no_args_is_help=True
)


@contracts_cli.command("generate")
def contracts_generate() -> None:
    """Write contracts/openapi, contracts/events/schemas and contracts/asyncapi from the code."""
    from lgsp.contracts.generate import main

    raise typer.Exit(main([]))


@contracts_cli.command("check")
def contracts_check() -> None:
    """Exit 1 when a committed contract differs from the code (drift)."""
    from lgsp.contracts.generate import main

    raise typer.Exit(main(["--check"]))


def contract_test(
    base_url: Annotated[str, typer.Option(help="the gateway of the deployment under test")],
    client_id: Annotated[str, typer.Option(help="a consumer registered on that gateway")],
    client_secret: Annotated[str, typer.Option(help="its secret")],
    nats: Annotated[
        str | None, typer.Option(help="NATS URL: also check every event seen on lgsp.>")
    ] = None,
    junit: Annotated[Path | None, typer.Option(help="write a JUnit XML report here")] = None,
    max_examples: Annotated[
        int, typer.Option(min=1, help="generated examples per operation and phase")
    ] = 25,
    seed: Annotated[int | None, typer.Option(help="repeat a run exactly")] = None,
) -> None:
    """Certify a deployment against the published contracts (Schemathesis + event schemas)."""
    try:
        from lgsp_kit.contract import SuiteOptions, run_suite, summary, write_junit
    except ModuleNotFoundError as exc:  # schemathesis is the `contract` extra, not in the apps
        raise typer.BadParameter(
            f"the contract test needs the `contract` extra ({exc.name} is not installed): "
            "pip install 'lgsp-sim[contract]', or uv sync --extra contract"
        ) from exc

    options = SuiteOptions(
        base_url=base_url,
        client_id=client_id,
        client_secret=client_secret,
        nats_url=nats,
        max_examples=max_examples,
        seed=seed,
    )
    result = run_suite(options, progress=lambda line: typer.echo(f"… {line}", err=True))
    header = (
        f"contract-test {base_url} ({max_examples} examples per operation"
        f"{', events on ' + nats if nats else ', no event checks (no --nats)'})"
    )
    typer.echo(summary(result, header=header))
    if junit is not None:
        write_junit(result, junit)
        typer.echo(f"JUnit report: {junit}")
    raise typer.Exit(0 if result.ok else 1)
