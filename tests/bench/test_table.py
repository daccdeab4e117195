"""The README's performance table: generated from the result files, and checked against them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import results, table

README = """\
# Project

## Performance

<!-- bench:table:begin -->
| a figure typed by hand | 9,999 req/s | | | | |
<!-- bench:table:end -->

More prose.
"""


def write(directory: Path, benchmark: str, variant: str, met: bool | None, at: int) -> None:
    results.write(
        directory,
        benchmark,
        variant=variant,
        started=results.Start(
            datetime(2026, 12, 5, 21, at, tzinfo=UTC), {"head": "0123456789" * 4, "dirty": True}
        ),
        parameters={},
        figures={},
        rows=[
            results.Row(
                f"{benchmark} {variant}", "**1.00 ×** | 2 ms", "≥ 0.6 ×", met, f"`{benchmark}`"
            )
        ],
        note="shared with other work",
        argv=[f"bench/{benchmark}.py", "--short"],
    )


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path]:
    readme, found = tmp_path / "README.md", tmp_path / "results"
    readme.write_text(README)
    write(found, "soak", "sqlite", None, 1)
    write(found, "dossier_sync", "sqlite", False, 2)
    write(found, "gateway", "python", True, 3)
    return readme, found


def test_rows_in_the_benchmarks_order_each_naming_its_run(repo: tuple[Path, Path]) -> None:
    _, found = repo
    block = table.render(table.load(found))
    lines = block.splitlines()
    rows = [line for line in lines if line.startswith("| ") and "---" not in line][1:]
    assert [row.split(" | ")[0] for row in rows] == [
        "| gateway python",
        "| dossier_sync sqlite",
        "| soak sqlite",
    ]
    assert rows[0] == (
        "| gateway python | **1.00 ×** \\| 2 ms | ≥ 0.6 × | yes | `gateway` "
        "| [1](bench/results/gateway-python.json) |"
    )
    assert "| **no** |" in rows[1]
    assert "| — |" in rows[2]
    note = next(line for line in lines if line.startswith("1. "))
    assert note.startswith("1. [gateway-python](bench/results/gateway-python.json): ")
    assert "2026-12-05 21:03 UTC" in note
    assert "commit `0123456` with uncommitted changes" in note
    assert "shared with other work" in note
    assert note.endswith("`python bench/gateway.py --short`")


def test_check_fails_until_the_table_is_regenerated(repo: tuple[Path, Path]) -> None:
    readme, found = repo
    options = ["--readme", str(readme), "--results", str(found)]
    assert table.main([*options, "--check"]) == 1
    assert readme.read_text() == README
    assert table.main(options) == 0
    text = readme.read_text()
    assert "9,999" not in text
    assert text.endswith("<!-- bench:table:end -->\n\nMore prose.\n")
    assert table.main([*options, "--check"]) == 0
    # A figure edited by hand is caught.
    readme.write_text(text.replace("**1.00 ×**", "**1.10 ×**"))
    assert table.main([*options, "--check"]) == 1


def test_one_run_writing_several_files_is_named_once(tmp_path: Path) -> None:
    started = results.Start(datetime(2026, 12, 5, tzinfo=UTC), {"head": None, "dirty": None})
    for variant in ("documents", "static"):
        results.write(
            tmp_path,
            "gateway",
            variant=variant,
            started=started,
            parameters={},
            figures={},
            rows=[results.Row(variant, "1", "", None, "")],
            argv=["g.py"],
        )
    block = table.render(table.load(tmp_path))
    assert "| [1](bench/results/gateway-documents.json) |" in block
    assert "| [1](bench/results/gateway-static.json) |" in block
    first = "\n1. [gateway-documents](bench/results/gateway-documents.json), [gateway-static]"
    assert first in block
    assert "commit unknown" in block
    assert "\n2. " not in block


def test_a_readme_without_the_markers_is_refused(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# no table here\n")
    assert table.main(["--readme", str(readme), "--results", str(tmp_path), "--check"]) == 2


def test_the_readme_is_what_the_result_files_give() -> None:
    """The repository's README against bench/results/: `python -m bench.table` after a run."""
    old, new = table.regenerate(table.README, results.RESULTS)
    assert old == new, "README.md differs from bench/results/: run `python -m bench.table`"


def test_the_note_is_not_said_twice() -> None:
    command = ["python", "-m", "bench.soak", "--note", "shared", "--minutes", "1", "--note=x"]
    assert table.shown(command) == ["python", "-m", "bench.soak", "--minutes", "1"]
