"""Result files of the benchmarks: one JSON file per benchmark and variant, `bench/results/`.

Every benchmark ends its run with `write(...)`: what ran (the command, its parameters, the commit
and whether the tree had changes), where (cores, CPU model, memory, OS, Python, and a note such as
"shared with other work"), when, the raw figures, and the README rows the run supports. A new run
of the same benchmark and variant overwrites its file; git keeps the history. `python -m
bench.table` builds the README's performance table from these files, so a figure there always
has its run beside it.

A row is {`what`, `measured`, `target`, `met`, `where`}: `measured` is a short text built from
the figures, `met` is true, false, or null when the row has no target.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
# The result files themselves do not make a tree dirty: a run after another one still measures
# the committed code.
RESULTS_PATHSPEC = ":(exclude)bench/results"


@dataclass
class Row:
    """One line of the README's performance table, as a run supports it."""

    what: str
    measured: str
    target: str
    met: bool | None
    where: str


@dataclass(frozen=True)
class Start:
    """When a run began, and the code it ran: the commit is taken then, as the processes
    measured load the tree as it is at that moment."""

    at: datetime
    commit: dict[str, Any]


def start() -> Start:
    return Start(datetime.now(UTC), commit())


def rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def cpu_model(cpuinfo: str) -> str:
    """The CPU's name from /proc/cpuinfo (x86 `model name`; ARM boards name it otherwise)."""
    for key in ("model name", "Hardware", "Processor", "cpu model"):
        for line in cpuinfo.splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key and value.strip():
                return value.strip()
    return platform.processor() or "unknown"


def memory_bytes(meminfo: str) -> int | None:
    for line in meminfo.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return None


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def os_name() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            name = line.split("=", 1)[1].strip('"')
            return f"{name}, {platform.system()} {platform.release()}"
    return platform.platform()


def machine(note: str = "") -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "cpu_model": cpu_model(_read("/proc/cpuinfo")),
        "memory_bytes": memory_bytes(_read("/proc/meminfo")),
        "os": os_name(),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "note": note,
    }


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
    ).stdout


def commit() -> dict[str, Any]:
    """git HEAD and whether the tree had changes (result files aside)."""
    try:
        head = _git("rev-parse", "HEAD").strip()
        changes = _git("status", "--porcelain", "--", ".", RESULTS_PATHSPEC).strip()
    except (OSError, subprocess.CalledProcessError):
        return {"head": None, "dirty": None}
    return {"head": head, "dirty": bool(changes)}


def command(argv: list[str] | None = None, module: str | None = None) -> list[str]:
    """The command as typed: `python -m bench.x …` when run as a module (`module`, found from
    `__main__` unless given; "" for a script), passwords of URLs starred."""
    argv = sys.argv if argv is None else argv
    if module is None:
        spec = getattr(sys.modules.get("__main__"), "__spec__", None)
        module = spec.name.removesuffix(".__main__") if spec is not None and spec.name else ""
    typed = ["python", "-m", module, *argv[1:]] if module else ["python", *argv]
    return [_plain(arg) for arg in typed]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every benchmark takes: where its result goes, and the machine's note."""
    group = parser.add_argument_group("result file")
    group.add_argument(
        "--results",
        type=Path,
        default=RESULTS,
        metavar="DIR",
        help="write the result as JSON into DIR (default bench/results)",
    )
    group.add_argument("--no-results", action="store_true", help="write no result file")
    group.add_argument(
        "--note",
        default="",
        help='said of the machine in the result, e.g. "shared with other work"',
    )


OWN_OPTIONS = ("results", "no_results", "note")
# user:password@ in a database URL: the password stays out of a file meant for git.
URL_PASSWORD = re.compile(r"(://[^/:@\s]+:)[^/@\s]+@")


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str):
        return URL_PASSWORD.sub(r"\1***@", value)
    return value


def parameters(args: argparse.Namespace) -> dict[str, Any]:
    """The run's options, without those of the result file; paths as text, no passwords."""
    return {key: _plain(value) for key, value in vars(args).items() if key not in OWN_OPTIONS}


def file_name(benchmark: str, variant: str = "") -> str:
    return f"{benchmark}-{variant}.json" if variant else f"{benchmark}.json"


def build(
    benchmark: str,
    *,
    started: Start,
    parameters: dict[str, Any],
    figures: dict[str, Any],
    rows: Iterable[Row],
    variant: str = "",
    note: str = "",
    finished_at: datetime | None = None,
    argv: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "benchmark": benchmark,
        "variant": variant,
        "started_at": rfc3339(started.at),
        "finished_at": rfc3339(finished_at or datetime.now(UTC)),
        "machine": machine(note),
        "commit": started.commit,
        "command": command(argv),
        "parameters": parameters,
        "figures": figures,
        "rows": [asdict(row) for row in rows],
    }


def write(
    directory: Path,
    benchmark: str,
    *,
    started: Start,
    parameters: dict[str, Any],
    figures: dict[str, Any],
    rows: Iterable[Row],
    variant: str = "",
    note: str = "",
    finished_at: datetime | None = None,
    argv: list[str] | None = None,
) -> Path:
    """Write (or overwrite) `<directory>/<benchmark>[-<variant>].json`; its path is returned."""
    result = build(
        benchmark,
        started=started,
        parameters=parameters,
        figures=figures,
        rows=rows,
        variant=variant,
        note=note,
        finished_at=finished_at,
        argv=argv,
    )
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / file_name(benchmark, variant)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return path


def write_from_args(
    args: argparse.Namespace,
    benchmark: str,
    *,
    started: Start,
    figures: dict[str, Any],
    rows: Iterable[Row],
    variant: str = "",
) -> Path | None:
    """`write` with the options of `add_arguments`; nothing with `--no-results`."""
    if args.no_results:
        return None
    path = write(
        args.results,
        benchmark,
        started=started,
        parameters=parameters(args),
        figures=figures,
        rows=rows,
        variant=variant,
        note=args.note,
    )
    print(f"result: {path}")
    return path
